"""What a check is: a stable id, a level, which subjects it applies to, and a verdict function.

A check looks at an `Observation` (a scenario or sequence, the exchanges its requests produced,
and a read-back probe) and either returns (passed), raises `CheckFailed` (failed: what was sent,
what came back, what was expected) or raises `CheckSkipped` (could not be judged, and why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

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
    "check",
    "require_answer",
    "segment_fate",
    "segment_retries",
    "steps_of",
]

#: MUST: the run fails when it does not hold. SHOULD: a warning (a failure under --strict).
Level = Literal["MUST", "SHOULD"]
LEVELS: tuple[Level, ...] = ("MUST", "SHOULD")
#: What a check judges: one scenario (one request) or a sequence of steps for one contact.
Subject = Scenario | Sequence
#: How many of a sequence's requests a failure message shows as curl lines.
_SHOWN_STEPS = 4


def segment_retries(status: int) -> bool:
    """Whether Segment retries a message answered with `status` (CONTRACT A.3)."""
    return status in (408, 423, 429) or (status >= 500 and status != 501)


def segment_fate(status: int) -> str:
    """What Segment does with a message answered with `status`, in words for failure messages."""
    if 200 <= status < 300:
        return f"Segment counts a {status} as delivered"
    if segment_retries(status):
        return (
            f"Segment retries a message answered {status} with backoff for up to four hours, "
            "then drops it"
        )
    return f"Segment drops a message answered {status} without retrying"


def accepted(step: Scenario) -> bool:
    """Whether the contract accepts this request (the day's entry is created or found)."""
    return step.expect.outcome != "rejected"


def any_step(predicate: Callable[[Scenario], bool]) -> Callable[[Subject], bool]:
    """An `applies` function: the subject has at least one step for which `predicate` holds."""

    def applies(subject: Subject) -> bool:
        return any(predicate(step) for step in steps_of(subject))

    return applies


def require_answer(exchange: Exchange) -> Exchange:
    """The exchange if an answer came; otherwise skip (the latency check reports the failure)."""
    if not exchange.answered:
        raise CheckSkipped(f"no answer to judge ({exchange.error})")
    return exchange


def answer_object(exchange: Exchange) -> dict[str, Any] | None:
    """The answer's body when it is a JSON object, else None."""
    document = exchange.document()
    return document if isinstance(document, dict) else None


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

    @property
    def steps(self) -> tuple[Scenario, ...]:
        return steps_of(self.subject)

    def pairs(self) -> Iterator[tuple[Scenario, Exchange]]:
        """(step, exchange) for every request of the subject."""
        return zip(self.steps, self.exchanges, strict=True)

    def answered(
        self, predicate: Callable[[Scenario], bool]
    ) -> Iterator[tuple[Scenario, Exchange, int]]:
        """(step, exchange, status) for the steps `predicate` selects; skips the check when one
        of them got no answer (the latency check reports that)."""
        for step, exchange in self.pairs():
            if predicate(step):
                status = require_answer(exchange).status
                assert status is not None  # an answered exchange has a status
                yield step, exchange, status

    def require_read_back(self) -> ReadBack:
        """The probe, or skip: without a read-back the state cannot be judged (never a pass)."""
        if self.read_back is None:
            raise CheckSkipped("no probe: the destination's state cannot be read back")
        return self.read_back

    def sent_text(self) -> str:
        """Curl lines of the subject's requests (the first few of a long sequence)."""
        lines = [exchange.sent.curl() for exchange in self.exchanges[:_SHOWN_STEPS]]
        hidden = len(self.exchanges) - _SHOWN_STEPS
        if hidden > 0:
            lines.append(f"# … and {hidden} more requests")
        return "\n".join(lines)


class CheckFailed(Exception):
    """A check's property does not hold: what was sent, what came back, what was expected.

    Pass the `exchange` that shows the problem, or `sent` and `received` texts when several
    requests or a read-back are involved. The runner adds the check's id and level.
    """

    def __init__(
        self,
        expected: str,
        *,
        exchange: Exchange | None = None,
        sent: str | None = None,
        received: str | None = None,
    ) -> None:
        super().__init__(expected)
        self.expected = expected
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
    #: The check's module: acceptance, rejection, auth, dedup, ...
    family: str
    #: The property in one line, for reports and `--list`.
    summary: str
    applies: Callable[[Subject], bool]
    verify: Callable[[Observation], None]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "family": self.family, "summary": self.summary}


def check(
    level: Level, applies: Callable[[Subject], bool]
) -> Callable[[Callable[[Observation], None]], Check]:
    """Make a function a `Check`: its name is the id, its module the family, its docstring's
    first paragraph the summary. Collect checks into a `Registry`, which rejects duplicate ids."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")

    def decorate(verify: Callable[[Observation], None]) -> Check:
        paragraph = (verify.__doc__ or "").strip().split("\n\n")[0]
        summary = " ".join(line.strip() for line in paragraph.splitlines())
        if not summary:
            raise ValueError(f"check {verify.__name__} needs a docstring saying what must hold")
        return Check(
            id=verify.__name__,
            level=level,
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
