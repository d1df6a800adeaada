"""What a check is: a stable id, a level, the contract clauses it rests on, which subjects it
applies to, and a verdict function.

A check looks at an `Observation` (a scenario or sequence, the exchanges its requests produced,
a read-back probe, and what the preflight learnt about the destination) and either returns
(passed), raises `CheckFailed` (failed: what was sent, what came back, what was expected, and
the clause) or raises `CheckSkipped` (could not be judged, and why). A check never passes what
it could not judge: `Observation.answered` skips the check when a call it selects got no answer
it can use, and when it selects nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from contract.retry import is_success
from harness.clauses import Clause, clause_of_field, require_clause
from harness.target import Exchange, ReadBack
from scenarios.model import Scenario, Sequence

__all__ = [
    "LEVELS",
    "Check",
    "CheckFailed",
    "CheckSkipped",
    "Level",
    "Observation",
    "Registry",
    "Subject",
    "accepted",
    "answer_object",
    "any_step",
    "as_expected",
    "check",
    "in_order",
    "named_clause",
    "steps_of",
    "success_needed",
]

#: MUST: harms the customer's data or Segment's delivery, and fails the run. SHOULD: the rest
#: of the contract, a warning (a failure under --strict). What the contract leaves open is no
#: check at all (CONTRACT C).
Level = Literal["MUST", "SHOULD"]
LEVELS: tuple[Level, ...] = ("MUST", "SHOULD")
#: What a check judges: one scenario (one request) or a sequence of steps for one contact.
Subject = Scenario | Sequence
#: How many of a sequence's requests a failure message shows as curl lines.
_SHOWN_STEPS = 4
#: Where a reason sends people when an earlier failure left nothing to judge.
SEE_ACCEPTED = "accepted_call_is_answered_2xx"
SEE_LATENCY = "answered_within_segment_timeout"


def accepted(step: Scenario) -> bool:
    """Whether the contract accepts this request (the day's entry is created or found)."""
    return step.expect.outcome != "rejected"


def any_step(predicate: Callable[[Scenario], bool]) -> Callable[[Subject], bool]:
    """An `applies` function: the subject has at least one step for which `predicate` holds."""

    def applies(subject: Subject) -> bool:
        return any(predicate(step) for step in steps_of(subject))

    return applies


def answer_object(exchange: Exchange) -> dict[str, Any] | None:
    """The answer's body when it is a JSON object, else None."""
    document = exchange.document()
    return document if isinstance(document, dict) else None


def named_clause(exchange: Exchange) -> Clause | None:
    """The clause of the first field an error answer names (`timestamp` is B.4), if any: the
    destination's own word on which rule it applied."""
    body = answer_object(exchange)
    errors = body.get("errors") if body is not None else None
    for error in errors if isinstance(errors, list) else ():
        clause = clause_of_field(error.get("field")) if isinstance(error, dict) else None
        if clause is not None:
            return clause
    return None


def steps_of(subject: Subject) -> tuple[Scenario, ...]:
    """The requests of a subject, in sending order: the scenario itself or the sequence's steps."""
    return subject.steps if isinstance(subject, Sequence) else (subject,)


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything a check may look at for one subject, after its requests were answered."""

    subject: Subject
    #: One exchange per step, in the order of `steps_of(subject)`.
    exchanges: tuple[Exchange, ...]
    #: The read-back probe, or None when the run has none (`--probe none`).
    read_back: ReadBack | None
    #: Seconds an answer may take (Segment's timeout unless the run says otherwise).
    latency_budget: float
    #: Whether the destination accepted the documented identify call of the preflight: only
    #: then does its answer to another type say anything about types.
    accepts_identify: bool = True
    #: Read-backs already made for this subject, by URL, so two checks share one GET.
    _reads: dict[str, Exchange] = field(default_factory=dict, compare=False, repr=False)

    @property
    def steps(self) -> tuple[Scenario, ...]:
        return steps_of(self.subject)

    def pairs(self) -> Iterator[tuple[Scenario, Exchange]]:
        """(step, exchange) for every request of the subject."""
        return zip(self.steps, self.exchanges, strict=True)

    def answered(
        self,
        predicate: Callable[[Scenario], bool],
        *,
        judgeable: Callable[[Scenario, int], str | None] | None = None,
    ) -> Iterator[tuple[Scenario, Exchange, int]]:
        """(step, exchange, status) for each step `predicate` selects and the check can judge.

        A step is not judgeable when it got no answer, or when `judgeable(step, status)` returns
        a reason (the call was answered 500, and the check needs a success). Once every selected
        step has been seen, the check is skipped with the first reason if any step could not be
        judged, and when `predicate` selected nothing: a pass means every call it was meant to
        look at held. A failure raised while iterating wins over the skip.
        """
        selected = 0
        reasons: list[str] = []
        single = isinstance(self.subject, Scenario)
        for step, exchange in self.pairs():
            if not predicate(step):
                continue
            selected += 1
            call = "the call" if single else f"the call {step.id}"
            if exchange.status is None:
                reasons.append(f"{call} got no answer ({exchange.error}), see {SEE_LATENCY}")
                continue
            reason = judgeable(step, exchange.status) if judgeable is not None else None
            if reason is not None:
                reasons.append(f"{call} {reason}")
                continue
            yield step, exchange, exchange.status
        if reasons:
            more = f" (and {len(reasons) - 1} more calls)" if len(reasons) > 1 else ""
            raise CheckSkipped(reasons[0] + more)
        if not selected:
            raise CheckSkipped("no call of this subject is one this check judges")

    def require_read_back(self) -> ReadBack:
        """The probe, or skip: without a read-back the state cannot be judged (never a pass)."""
        if self.read_back is None:
            raise CheckSkipped("no probe: the destination's state cannot be read back")
        return self.read_back

    def timeline(self, contact: str, until: Callable[[Exchange], bool]) -> Exchange:
        """The contact's timeline read back (polled until `until` holds), shared between the
        subject's checks when an earlier read already shows what `until` waits for."""
        return self._read("timeline", contact, until)

    def contact(self, contact: str, until: Callable[[Exchange], bool]) -> Exchange:
        """The contact's user properties read back, like `timeline`."""
        return self._read("contact", contact, until)

    def _read(self, kind: str, contact: str, until: Callable[[Exchange], bool]) -> Exchange:
        read_back = self.require_read_back()
        key = f"{kind}:{contact}"
        held = self._reads.get(key)
        if held is not None and until(held):
            return held
        fetch = read_back.timeline if kind == "timeline" else read_back.contact
        probe = fetch(contact, until=until)
        self._reads[key] = probe
        return probe

    def sent_text(self) -> str:
        """Curl lines of the subject's requests (the first few of a long sequence)."""
        lines = [exchange.sent.curl() for exchange in self.exchanges[:_SHOWN_STEPS]]
        hidden = len(self.exchanges) - _SHOWN_STEPS
        if hidden > 0:
            lines.append(f"# … and {hidden} more requests")
        return "\n".join(lines)


def success_needed(step: Scenario, status: int) -> str | None:
    """A `judgeable` rule for checks of accepted calls: the answer must be a 2xx."""
    return None if is_success(status) else f"was answered {status}, see {SEE_ACCEPTED}"


def as_expected(step: Scenario, status: int) -> str | None:
    """A `judgeable` rule for checks of a sequence's state: each call was accepted or refused as
    the contract says, so the state the contract expects is the one to compare with."""
    if accepted(step) and not is_success(status):
        return f"was answered {status}, see {SEE_ACCEPTED}"
    if not accepted(step) and is_success(status):
        return f"was answered {status}, see invalid_call_is_not_accepted"
    return None


def in_order() -> Callable[[Scenario, int], str | None]:
    """A `judgeable` rule for checks of each answer of a sequence: once a call was not accepted
    or refused as the contract says, what the later ones should answer is unknown."""
    first: list[str] = []

    def judgeable(step: Scenario, status: int) -> str | None:
        if first:
            return f"comes after {first[0]}, which was not answered as the contract expects"
        reason = as_expected(step, status)
        if reason is not None:
            first.append(step.id)
        return reason

    return judgeable


class CheckFailed(Exception):
    """A check's property does not hold: what was sent, what came back, what was expected.

    Pass the `exchange` that shows the problem, or `sent` and `received` texts when several
    requests or a read-back are involved. `clause` names the contract clause the failure rests
    on when it is not the check's first one; the runner keeps it when the check declares it,
    and names the check's first clause otherwise. The runner adds the check's id and level.
    """

    def __init__(
        self,
        expected: str,
        *,
        exchange: Exchange | None = None,
        sent: str | None = None,
        received: str | None = None,
        clause: Clause | None = None,
    ) -> None:
        super().__init__(expected)
        self.expected = expected
        self.clause = clause
        self.sent = sent if sent is not None else (exchange.sent.curl() if exchange else "")
        self.received = (
            received if received is not None else (exchange.received() if exchange else "")
        )


class CheckSkipped(Exception):
    """The check could not be judged for this subject; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Check:
    """One property a Nat destination must (or should) have, with a stable id."""

    id: str
    level: Level
    #: The CONTRACT.md clauses the check judges; a failure names the first unless it says.
    clauses: tuple[Clause, ...]
    #: The check's module: acceptance, rejection, auth, dedup, ...
    family: str
    #: The property in one line, for reports and `--list`.
    summary: str
    applies: Callable[[Subject], bool]
    verify: Callable[[Observation], None]

    @property
    def clause(self) -> Clause:
        """The clause a failure names unless it names another of `clauses`."""
        return self.clauses[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "clauses": list(self.clauses),
            "family": self.family,
            "summary": self.summary,
        }


def check(
    level: Level, *clauses: Clause, applies: Callable[[Subject], bool]
) -> Callable[[Callable[[Observation], None]], Check]:
    """Make a function a `Check` judging `clauses` of CONTRACT.md: its name is the id, its
    module the family, its docstring's first paragraph the summary. Collect checks into a
    `Registry`, which rejects duplicate ids."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    judged = require_clause(clauses)

    def decorate(verify: Callable[[Observation], None]) -> Check:
        paragraph = (verify.__doc__ or "").strip().split("\n\n")[0]
        summary = " ".join(line.strip() for line in paragraph.splitlines())
        if not summary:
            raise ValueError(f"check {verify.__name__} needs a docstring saying what must hold")
        return Check(
            id=verify.__name__,
            level=level,
            clauses=judged,
            family=verify.__module__.rpartition(".")[2],
            summary=summary,
            applies=applies,
            verify=verify,
        )

    return decorate


class Registry(Mapping[str, Check]):
    """Checks by id, in registration order; a second check with an id already taken is an error."""

    def __init__(self, checks: Iterable[Check] = ()) -> None:
        self._checks: dict[str, Check] = {}
        for item in checks:
            self.add(item)

    def add(self, item: Check) -> Check:
        if item.id in self._checks:
            raise ValueError(f"duplicate check id {item.id!r} (in {item.family})")
        self._checks[item.id] = item
        return item

    def __getitem__(self, check_id: str) -> Check:
        return self._checks[check_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._checks)

    def __len__(self) -> int:
        return len(self._checks)
