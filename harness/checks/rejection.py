"""Checks on calls the contract refuses: a 4xx Segment will not retry, 501 for other types, and an
error body that tells the customer what was wrong."""

from __future__ import annotations

from harness.checks.base import (
    CheckFailed,
    Observation,
    accepted,
    answer_object,
    any_step,
    check,
    require_answer,
    segment_fate,
    segment_retries,
)
from scenarios.model import Scenario

__all__ = [
    "error_body_has_message",
    "error_names_the_field",
    "malformed_call_is_rejected_4xx",
    "other_type_is_answered_501",
    "rejection_status_matches_contract",
]

_AUTH_STATUSES = (401, 403)


def _is_malformed(step: Scenario) -> bool:
    status = step.expect.status
    return not accepted(step) and 400 <= status < 500 and status not in _AUTH_STATUSES


def _is_other_type(step: Scenario) -> bool:
    return not accepted(step) and step.expect.status == 501


@check("MUST", applies=any_step(_is_malformed))
def malformed_call_is_rejected_4xx(observation: Observation) -> None:
    """A call the contract refuses gets a 4xx that Segment does not retry (not 2xx, 5xx or 429)."""
    for step, exchange, status in observation.answered(_is_malformed):
        if 200 <= status < 300:
            raise CheckFailed(
                f"a 4xx such as {step.expect.status}: the contract refuses {step.id}, "
                f"but {segment_fate(status)} and the call is stored or silently lost",
                exchange=exchange,
            )
        if not 400 <= status < 500 or segment_retries(status):
            raise CheckFailed(
                f"a 4xx such as {step.expect.status} for the client's mistake in {step.id}: "
                f"{segment_fate(status)}, and every retry fails the same way",
                exchange=exchange,
            )


@check("SHOULD", applies=any_step(_is_malformed))
def rejection_status_matches_contract(observation: Observation) -> None:
    """A refused call gets the contract's status: 400 malformed, 413 too large, 415 not JSON."""
    for step, exchange, status in observation.answered(_is_malformed):
        if status != step.expect.status and 400 <= status < 500:
            raise CheckFailed(f"HTTP {step.expect.status} for {step.id}", exchange=exchange)


@check("MUST", applies=any_step(_is_other_type))
def other_type_is_answered_501(observation: Observation) -> None:
    """A call of another type than identify gets 501, which Segment does not retry."""
    for step, exchange, status in observation.answered(_is_other_type):
        if status != 501:
            raise CheckFailed(
                f"HTTP 501 (Nat only accepts identify calls) for {step.id}; {segment_fate(status)}",
                exchange=exchange,
            )


@check("SHOULD", applies=any_step(lambda step: not accepted(step)))
def error_body_has_message(observation: Observation) -> None:
    """An error answer is a JSON object with a non-empty `message`, which Segment shows."""
    for step, exchange in observation.pairs():
        if accepted(step):
            continue
        status = require_answer(exchange).status
        if status is None or status < 400:
            continue  # the status checks report it
        body = answer_object(exchange)
        message = body.get("message") if body is not None else None
        if not isinstance(message, str) or not message.strip():
            raise CheckFailed(
                'a JSON body {"message": "..."} saying what is wrong with the call '
                f"({step.id}): Segment shows it to the customer",
                exchange=exchange,
            )


@check("SHOULD", applies=any_step(lambda step: step.expect.error_field is not None))
def error_names_the_field(observation: Observation) -> None:
    """An error body lists `errors` with the field at fault (`traits.email`, `timestamp`, ...)."""
    for step, exchange in observation.pairs():
        field = step.expect.error_field
        if field is None or accepted(step):
            continue
        status = require_answer(exchange).status
        if status is None or status < 400:
            continue
        body = answer_object(exchange) or {}
        errors = body.get("errors")
        named = (
            [error.get("field") for error in errors if isinstance(error, dict)]
            if isinstance(errors, list)
            else []
        )
        if field not in named:
            raise CheckFailed(
                f'an "errors" list naming the field {field!r} (CONTRACT B.10) for {step.id}',
                exchange=exchange,
            )
