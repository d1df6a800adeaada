"""Checks on calls the contract accepts: a 2xx, the call stored for its contact and day, and an
answer that tells the truth about it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from contract.retry import segment_fate, segment_retries
from harness.checks._read import entries_of
from harness.checks.base import (
    CheckFailed,
    Observation,
    Subject,
    accepted,
    answer_object,
    any_step,
    check,
    in_order,
    named_clause,
    steps_of,
    success_needed,
)
from harness.target import Exchange
from scenarios.model import Scenario, Sequence

__all__ = [
    "accepted_call_is_answered_2xx",
    "accepted_call_is_stored",
    "accepted_variant_is_answered_2xx",
    "success_answer_matches_contract",
]

#: The content type Segment declares on every delivery (CONTRACT A.1).
_SEGMENT_CONTENT_TYPE = "application/json"
#: The clause a refusal's status points to when its body names no field (CONTRACT B.5).
_STATUS_CLAUSES = {413: "B.5", 415: "B.5", 501: "B.5"}


def _as_segment_sends(step: Scenario) -> bool:
    """An accepted call as Segment delivers it: Basic auth and `application/json`."""
    request = step.request
    return (
        accepted(step) and request.auth == "basic" and request.content_type == _SEGMENT_CONTENT_TYPE
    )


def _variant(step: Scenario) -> bool:
    """An accepted call in a form Segment never sends (a Bearer key, another JSON type)."""
    return accepted(step) and not _as_segment_sends(step)


@check("MUST", "B.3", "B.4", "B.5", "B.6", "B.9", "A.3", applies=any_step(_as_segment_sends))
def accepted_call_is_answered_2xx(observation: Observation) -> None:
    """Every call the contract accepts, as Segment delivers it, is answered 2xx: a refused one
    loses the contact's interaction."""
    for step, exchange, status in observation.answered(_as_segment_sends):
        if 200 <= status < 300:
            continue
        # A final refusal names the rule the destination applied; a retried status is its
        # own failure, whatever its body says, and the call is lost once retries run out.
        clause = (
            "A.3"
            if segment_retries(status)
            else named_clause(exchange) or _STATUS_CLAUSES.get(status)
        )
        raise CheckFailed(
            f"a 2xx answer: the contract accepts this call ({step.id}); "
            f"{segment_fate(status)}, so the contact's interaction is lost",
            exchange=exchange,
            clause=clause,
        )


@check("SHOULD", "B.2", "B.5", applies=any_step(_variant))
def accepted_variant_is_answered_2xx(observation: Observation) -> None:
    """A call Segment never sends this way but the contract accepts (the key as a Bearer token,
    `application/json; charset=utf-8`, another JSON media type, no content type) is answered 2xx."""
    for step, exchange, status in observation.answered(_variant):
        if 200 <= status < 300:
            continue
        bearer = step.request.auth == "bearer"
        what = (
            "the key as a Bearer token" if bearer else f"Content-Type {step.request.content_type}"
        )
        raise CheckFailed(
            f"a 2xx answer to {step.id}: the contract accepts {what}",
            exchange=exchange,
            clause="B.2" if bearer else "B.5",
        )


def _creates_entry(step: Scenario) -> bool:
    return step.expect.outcome == "created" and bool(step.expect.contact)


def _single_accepted(subject: Subject) -> bool:
    return isinstance(subject, Scenario) and _creates_entry(subject)


@check("MUST", "B.12", "B.3", "B.7", applies=_single_accepted)
def accepted_call_is_stored(observation: Observation) -> None:
    """An accepted call is on its contact's timeline: the contact is the first email present,
    trimmed and lowercased, and the entry's day is the UTC day of `timestamp`; a 2xx that
    stores nothing loses the call."""
    for step, exchange, _ in observation.answered(_creates_entry, judgeable=success_needed):
        contact, day = str(step.expect.contact), str(step.expect.day)

        def stored(probe: Exchange, day: str = day) -> bool:
            return any(str(entry.get("day")) == day for entry in entries_of(probe) or ())

        probe = observation.timeline(contact, until=stored)
        if stored(probe):
            continue
        raise _not_stored(observation, step, exchange, probe)


def _not_stored(
    observation: Observation, step: Scenario, answer: Exchange, probe: Exchange
) -> CheckFailed:
    contact, day = step.expect.contact, step.expect.day
    sent = observation.sent_text() + "\n# then read back:\n" + probe.sent.curl()
    received = f"{answer.received()}\nread back: {probe.received()}"
    entries = entries_of(probe)
    if entries is None:
        return CheckFailed(
            f"a readable timeline for {contact} (JSON with an `entries` list) after {step.id} "
            "was answered 2xx",
            sent=sent,
            received=received,
        )
    days = sorted({str(entry.get("day")) for entry in entries})
    if days:
        return CheckFailed(
            f"the entry of {step.id} on {day}, the UTC calendar day of its timestamp "
            f"{_timestamp_of(step)!r}; {contact} has entries on {', '.join(days)}",
            sent=sent,
            received=received,
            clause="B.7",
        )
    body = answer_object(answer) or {}
    said = body.get("contact")
    if isinstance(said, str) and said != contact:
        return CheckFailed(
            f"the call stored for the contact {contact!r} (the first email place present, "
            f"trimmed and lowercased); the answer names {said!r}",
            sent=sent,
            received=received,
            clause="B.3",
        )
    return CheckFailed(
        f"a timeline entry for {contact} on {day} after {step.id} was answered "
        f"{answer.status}: a 2xx means the call is committed, and nothing is there",
        sent=sent,
        received=received,
    )


def _timestamp_of(step: Scenario) -> Any:
    payload = step.request.payload
    return payload.get("timestamp") if isinstance(payload, dict) else None


def _every_step(step: Scenario) -> bool:
    return True


def _reports_outcomes(subject: Subject) -> bool:
    return any(accepted(step) for step in steps_of(subject))


@check("SHOULD", "B.10", "B.7", "B.8", applies=_reports_outcomes)
def success_answer_matches_contract(observation: Observation) -> None:
    """A success body is a JSON object with the outcome, contact key, entry id, day, replay
    flag and warnings list the contract expects (more fields are free)."""
    if isinstance(observation.subject, Sequence) and observation.subject.concurrent:
        _one_created_per_day(observation)
        return
    for step, exchange, _ in observation.answered(_every_step, judgeable=in_order()):
        if not accepted(step):
            continue  # refused as the contract says: no success body
        body = answer_object(exchange)
        expect = step.expect
        expected = {
            "outcome": expect.outcome,
            "contact": expect.contact,
            "day": expect.day,
            "replayed": expect.replayed,
        }
        if body is None:
            raise CheckFailed(
                f"a JSON object with {', '.join(expected)}, entry_id and warnings",
                exchange=exchange,
            )
        wrong = {key: value for key, value in expected.items() if body.get(key) != value}
        if wrong:
            shown = ", ".join(f"{key}={value!r}" for key, value in wrong.items())
            clause = "B.7" if "outcome" in wrong else "B.8" if "replayed" in wrong else None
            raise CheckFailed(
                f"{shown} in the answer to {step.id}", exchange=exchange, clause=clause
            )
        missing = [key for key in ("entry_id", "warnings") if body.get(key) is None]
        if missing or not isinstance(body.get("warnings"), list):
            raise CheckFailed(
                f"an entry_id and a warnings list in the answer to {step.id} "
                f"({', '.join(missing) or 'warnings'} missing or not a list)",
                exchange=exchange,
            )


def _one_created_per_day(observation: Observation) -> None:
    """A burst's answers: per day, exactly one says `created` (not replayed)."""
    created: Counter[str] = Counter()
    days: set[str] = set()
    for step, exchange, _ in observation.answered(accepted, judgeable=success_needed):
        body = answer_object(exchange) or {}
        day = str(step.expect.day)
        days.add(day)
        if body.get("outcome") == "created" and body.get("replayed") is not True:
            created[day] += 1
    wrong = sorted(day for day in days if created[day] != 1)
    if wrong:
        counts = ", ".join(f"{day}: {created[day]}" for day in wrong)
        raise CheckFailed(
            "one answer with outcome 'created' per day, the others 'deduplicated' or replays; "
            f"answers that said 'created': {counts}",
            sent=observation.sent_text(),
            received="\n".join(exchange.received() for exchange in observation.exchanges[:4]),
            clause="B.7",
        )
