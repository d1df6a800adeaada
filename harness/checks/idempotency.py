"""Checks on retries: a repeated `messageId` changes nothing and gets the first answer again."""

from __future__ import annotations

from typing import Any

from harness.checks._read import properties_of, timeline_days
from harness.checks.base import (
    CheckFailed,
    Observation,
    Subject,
    accepted,
    answer_object,
    as_expected,
    check,
    success_needed,
)
from harness.target import Exchange
from scenarios.model import Scenario, Sequence

__all__ = ["retried_message_id_is_replayed", "retry_gets_the_first_answer"]

#: The answer fields a replay repeats from the first answer (CONTRACT B.8, B.10).
_REPEATED = ("outcome", "contact", "entry_id", "day")
#: A property the contract expects not to be there.
_ABSENT = object()


def _message_id(step: Scenario) -> Any:
    payload = step.request.payload
    return payload.get("messageId") if isinstance(payload, dict) else None


def _has_retry(subject: Subject) -> bool:
    return isinstance(subject, Sequence) and any(step.expect.replayed for step in subject.steps)


def _has_ordered_retry(subject: Subject) -> bool:
    return _has_retry(subject) and isinstance(subject, Sequence) and not subject.concurrent


def _every_step(step: Scenario) -> bool:
    return True


@check("MUST", "B.8", "A.4", applies=_has_retry)
def retried_message_id_is_replayed(observation: Observation) -> None:
    """A retry (a `messageId` already accepted) changes nothing: no second timeline entry, and
    no user property takes a value the retry carries."""
    observation.require_read_back()
    for _ in observation.answered(_every_step, judgeable=as_expected):
        pass
    assert isinstance(observation.subject, Sequence)
    final = observation.subject.final
    expected_days = sorted(final.timeline_days)
    sent = observation.sent_text() + "\n# then read back:\n"

    def settled(probe: Exchange) -> bool:
        return timeline_days(probe) == expected_days

    timeline = observation.timeline(final.contact, until=settled)
    if timeline_days(timeline) != expected_days:
        raise CheckFailed(
            f"the retries of {final.contact}'s messageIds add no entry: days {expected_days}, "
            f"found {timeline_days(timeline)}",
            sent=sent + timeline.sent.curl(),
            received=timeline.received(),
        )
    retried = {
        name: final.properties.get(name, _ABSENT)
        for step in observation.steps
        if step.expect.replayed
        for name in _traits_of(step)
    }

    def unchanged(probe: Exchange) -> bool:
        return not _changed(properties_of(probe), retried)

    probe = observation.contact(final.contact, until=unchanged)
    changed = _changed(properties_of(probe), retried)
    if changed:
        raise CheckFailed(
            f"user properties of {final.contact} untouched by the retries: " + "; ".join(changed),
            sent=sent + probe.sent.curl(),
            received=probe.received(),
        )


def _traits_of(step: Scenario) -> dict[str, Any]:
    payload = step.request.payload
    traits = payload.get("traits") if isinstance(payload, dict) else None
    return traits if isinstance(traits, dict) else {}


def _changed(found: dict[str, Any] | None, expected: dict[str, Any]) -> list[str]:
    if found is None:
        return ['a readable contact (JSON with a "properties" object)']
    problems = []
    for name, value in expected.items():
        held = found.get(name, _ABSENT)
        if held == value or (held is _ABSENT and value is _ABSENT):
            continue
        if value is _ABSENT:
            problems.append(f"{name} is {held!r}, which only a retry carries")
        else:
            problems.append(f"{name}={value!r}, not {held!r}")
    return problems


@check("SHOULD", "B.8", "B.10", applies=_has_ordered_retry)
def retry_gets_the_first_answer(observation: Observation) -> None:
    """A retry gets the first call's answer again (outcome, contact, entry id, day), marked
    `"replayed": true`."""
    first: dict[Any, tuple[Scenario, Exchange]] = {}
    for step, exchange, _ in observation.answered(accepted, judgeable=success_needed):
        message_id = _message_id(step)
        if not step.expect.replayed:
            if message_id is not None:
                first.setdefault(message_id, (step, exchange))
            continue
        if message_id not in first:
            continue  # its first call could not be judged: `answered` skips the check
        original_step, original = first[message_id]
        _compare(step, exchange, original_step, original)


def _compare(step: Scenario, retry: Exchange, original_step: Scenario, original: Exchange) -> None:
    sent = original.sent.curl() + "\n# then the retry:\n" + retry.sent.curl()
    received = f"first: {original.received()}\nretry: {retry.received()}"
    if retry.status != original.status:
        raise CheckFailed(
            f"the retry {step.id} answered like the first call {original_step.id} "
            f"(HTTP {original.status})",
            sent=sent,
            received=received,
        )
    first_body, retry_body = answer_object(original) or {}, answer_object(retry) or {}
    if retry_body.get("replayed") is not True:
        raise CheckFailed(
            f'"replayed": true in the answer to the retry {step.id}',
            sent=sent,
            received=received,
        )
    differing = [key for key in _REPEATED if first_body.get(key) != retry_body.get(key)]
    if differing:
        raise CheckFailed(
            f"the first call's answer again for the retry {step.id}; {', '.join(differing)} differ",
            sent=sent,
            received=received,
        )
