"""The model of the contract explore compares a target with: the reference's rules and store, in
process, and the judgement of one step's answers and read-back against it (CONTRACT C).

Only what the contract decides is judged: a 2xx for an accepted call, a final (non-retried)
refusal for a refused one, the `outcome` and `replayed` an answer states, the timeline's days and
descriptions and the user properties read back. Exact refusal statuses, error bodies and
warnings are left alone (the contract allows several answers there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from contract.retry import is_success, segment_retries
from harness.checks._read import entries_of, properties_of
from harness.checks.base import named_clause
from harness.target import Exchange
from reference_impl.rules import Accepted, Rejected, evaluate
from reference_impl.store import Receipt, Store

__all__ = ["Divergence", "Expected", "Model", "judge_answers", "judge_read_back"]

#: The clause a refusal rests on, by the field its first error names.
_REFUSAL_CLAUSES = {"timestamp": "B.4", "type": "B.5", "authorization": "B.2"}


@dataclass(frozen=True, slots=True)
class Expected:
    """What the contract says about one call: refused (status) or accepted (the receipt)."""

    status: int
    receipt: Receipt | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.receipt is None:
            return f"refused with a final status such as {self.status} ({self.reason})"
        shown = "a replay of the first answer" if self.receipt.replayed else self.receipt.outcome
        return (
            f"2xx with outcome {shown!r} (contact {self.receipt.contact}, day {self.receipt.day})"
        )


class Divergence(AssertionError):
    """The target did not do what the contract says, at one step: which clause, and how."""

    def __init__(self, step: int, clause: str, answered: str, contract: str) -> None:
        super().__init__(f"step {step} ({clause}): the target {answered}; the contract: {contract}")
        self.step = step
        self.clause = clause
        self.answered = answered
        self.contract = contract


class Model:
    """The contract's state for one example: an in-memory reference store fed in call order."""

    def __init__(self) -> None:
        self._store = Store(":memory:")

    def close(self) -> None:
        self._store.close()

    def call(self, payload: Any, *, authorized: bool = True) -> Expected:
        """Apply one call to the model and say what the target should answer."""
        if not authorized:
            return Expected(401, reason="a wrong or missing key, B.2")
        verdict: Accepted | Rejected = evaluate(payload)
        if isinstance(verdict, Rejected):
            field = verdict.errors[0].field if verdict.errors else "body"
            return Expected(verdict.status, reason=f"{verdict.message}, field {field}")
        return Expected(200, self._store.record(verdict))

    def timeline(self, contact: str) -> list[tuple[str, str]]:
        """The contact's (day, description) entries, oldest first."""
        entries = self._store.timeline(contact) or []
        return sorted((entry.day, entry.description) for entry in entries)

    def properties(self, contact: str) -> dict[str, Any]:
        """The contact's user properties, name to value."""
        found = self._store.contact(contact)
        if found is None:
            return {}
        return {name: held.value for name, held in found.properties.items()}


def _clause_of(expected: Expected, payload: Any) -> str:
    if expected.status == 401:
        return "B.2"
    field = expected.reason.rsplit("field ", 1)[-1]
    head = field.split(".")[-1] if "." in field else field
    return _REFUSAL_CLAUSES.get(
        head, _REFUSAL_CLAUSES.get(field, "B.3" if "email" in field else "B.5")
    )


def _answered(exchange: Exchange) -> str:
    return f"answered {exchange.received()}" if exchange.answered else exchange.received()


def _judge_one(
    step: int,
    exchange: Exchange,
    expected: Expected,
    payload: Any,
    timeout: float,
    *,
    outcome_known: bool = True,
) -> None:
    if not exchange.answered:
        raise Divergence(step, "A.3", _answered(exchange), f"an answer within {timeout:g} s")
    if exchange.elapsed > timeout:
        raise Divergence(
            step, "A.3", f"took {exchange.elapsed:.2f} s", f"an answer within {timeout:g} s"
        )
    status = exchange.status
    assert status is not None
    if expected.receipt is None:
        if is_success(status):
            raise Divergence(
                step, _clause_of(expected, payload), _answered(exchange), str(expected)
            )
        if segment_retries(status):
            raise Divergence(
                step, "C", _answered(exchange), f"{expected}; never a status Segment retries"
            )
        return
    if not is_success(status):
        # The clause of the field the target's refusal names: its own word on the rule it applied.
        clause = named_clause(exchange) or ("B.2" if status == 401 else "B.3")
        raise Divergence(step, str(clause), _answered(exchange), str(expected))
    document = exchange.document()
    if not isinstance(document, dict) or not outcome_known:
        return
    outcome, replayed = document.get("outcome"), document.get("replayed")
    receipt = expected.receipt
    if replayed is not None and replayed is not receipt.replayed:
        raise Divergence(step, "B.8", _answered(exchange), str(expected))
    if outcome is not None and outcome != receipt.outcome and not receipt.replayed:
        raise Divergence(step, "B.7", _answered(exchange), str(expected))
    # The contact and day an answer names (B.10) are the contract's decisions (B.3, B.7).
    contact, day = document.get("contact"), document.get("day")
    if isinstance(contact, str) and contact != receipt.contact:
        raise Divergence(step, "B.3", _answered(exchange), str(expected))
    if isinstance(day, str) and day != receipt.day:
        raise Divergence(step, "B.7", _answered(exchange), str(expected))


def judge_answers(
    step: int,
    exchanges: list[Exchange],
    expectations: list[Expected],
    payloads: list[Any],
    *,
    timeout: float,
    concurrent: bool = False,
) -> None:
    """Raise `Divergence` unless every answer of a step is what the contract says.

    Concurrent calls may be decided in any order, so their outcomes are compared as a count.
    """
    if not concurrent:
        for exchange, expected, payload in zip(exchanges, expectations, payloads, strict=True):
            _judge_one(step, exchange, expected, payload, timeout)
        return
    outcomes: Counter[str] = Counter()
    for exchange, expected, payload in zip(exchanges, expectations, payloads, strict=True):
        if expected.receipt is None:
            _judge_one(step, exchange, expected, payload, timeout)
            continue
        _judge_one(step, exchange, expected, payload, timeout, outcome_known=False)
        document = exchange.document()
        if isinstance(document, dict) and isinstance(document.get("outcome"), str):
            outcomes[document["outcome"]] += 1
    created = sum(
        1 for e in expectations if e.receipt is not None and e.receipt.outcome == "created"
    )
    if outcomes and outcomes["created"] != created:
        raise Divergence(
            step,
            "B.7",
            f"answered outcome 'created' to {outcomes['created']} of {len(exchanges)} concurrent "
            "calls for one contact and day",
            f"{created} created, the rest deduplicated",
        )


def judge_read_back(
    step: int, contact: str, model: Model, timeline: Exchange, properties: Exchange | None
) -> None:
    """Raise `Divergence` unless the target's timeline (and properties) read back as the model's."""
    entries = entries_of(timeline)
    if entries is None:
        raise Divergence(
            step, "B.11", f"read back {timeline.received()}", "a timeline with an `entries` list"
        )
    expected = model.timeline(contact)
    if entries and all("description" in entry for entry in entries):
        got = sorted((str(entry.get("day")), str(entry.get("description"))) for entry in entries)
        want: list[Any] = expected
    else:
        got = sorted((str(entry.get("day")), "") for entry in entries)
        want = [(day, "") for day, _ in expected]
    if got != want:
        clause = (
            "B.7" if len(got) != len(want) or [d for d, _ in got] != [d for d, _ in want] else "B.6"
        )
        raise Divergence(
            step,
            clause,
            f"reads back the timeline of {contact} as {_entries_text(got)}",
            f"{_entries_text(want)}",
        )
    if properties is None:
        return
    held = properties_of(properties)
    if held is None:
        raise Divergence(
            step, "B.11", f"read back {properties.received()}", "a contact with `properties`"
        )
    wanted = model.properties(contact)
    if held != wanted:
        raise Divergence(
            step,
            "B.9",
            f"reads back the user properties of {contact} as {held}",
            f"{wanted} (every trait kept, the latest timestamp winning)",
        )


def _entries_text(entries: list[Any]) -> str:
    if not entries:
        return "no entries"
    return ", ".join(
        f"{day} {description!r}" if description else day for day, description in entries
    )
