"""Checks on retries: a repeated `messageId` changes nothing and gets the first answer again."""

from __future__ import annotations

from typing import Any

from harness.checks.base import (
    CheckFailed,
    CheckSkipped,
    Observation,
    Subject,
    answer_object,
    check,
    steps_of,
)
from harness.target import Exchange
from scenarios.model import Scenario, Sequence

__all__ = ["retried_message_id_is_replayed"]

#: Fields of a success answer that legitimately differ between the first answer and a replay.
_REPLAY_FLAG = "replayed"


def _message_id(step: Scenario) -> Any:
    payload = step.request.payload
    return payload.get("messageId") if isinstance(payload, dict) else None


def _has_retry(subject: Subject) -> bool:
    if not isinstance(subject, Sequence) or subject.concurrent:
        return False
    return any(step.expect.replayed for step in steps_of(subject))


@check("MUST", applies=_has_retry)
def retried_message_id_is_replayed(observation: Observation) -> None:
    """A retry (same `messageId`) gets the first answer again, marked as a replay if the answer
    says so, and changes nothing."""
    first: dict[Any, tuple[Scenario, Exchange]] = {}
    for step, exchange in observation.pairs():
        message_id = _message_id(step)
        if not step.expect.replayed:
            if message_id is not None:
                first.setdefault(message_id, (step, exchange))
            continue
        if message_id not in first:
            raise CheckSkipped(f"{step.id} repeats a messageId no earlier step sent")
        original_step, original = first[message_id]
        if not (original.answered and exchange.answered):
            raise CheckSkipped(f"no answer to {original_step.id} or {step.id}")
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
    first_body, retry_body = answer_object(original), answer_object(retry)
    if first_body is None or retry_body is None:
        return  # nothing more the answers can show
    if _REPLAY_FLAG in retry_body and retry_body[_REPLAY_FLAG] is not True:
        raise CheckFailed(
            f'"{_REPLAY_FLAG}": true in the answer to the retry {step.id}',
            sent=sent,
            received=received,
        )
    differing = sorted(
        key
        for key in (set(first_body) | set(retry_body)) - {_REPLAY_FLAG}
        if first_body.get(key) != retry_body.get(key)
    )
    if differing:
        raise CheckFailed(
            f"the first call's answer again for the retry {step.id}; {', '.join(differing)} differ",
            sent=sent,
            received=received,
        )
