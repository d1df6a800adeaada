"""Checks on calls the contract refuses: never stored, never answered with a status Segment
retries, the contract's status among the final ones, and an error body that tells the customer
what was wrong."""

from __future__ import annotations

from contract.retry import is_success, segment_fate, segment_retries
from harness.checks._leeway import allowed_error_fields, allowed_statuses, refusal, unauthenticated
from harness.checks.base import (
    CheckFailed,
    CheckSkipped,
    Observation,
    answer_object,
    any_step,
    check,
)
from harness.clauses import clause_of_field
from scenarios.model import Scenario

__all__ = [
    "client_mistake_is_not_retried",
    "error_body_has_message",
    "error_names_the_field",
    "invalid_call_is_not_accepted",
    "other_type_is_answered_501",
    "rejection_status_matches_contract",
]

_SEE_NOT_ACCEPTED = "invalid_call_is_not_accepted"
_SEE_NOT_RETRIED = "client_mistake_is_not_retried"


def _refused(step: Scenario) -> bool:
    return refusal(step) is not None


def _must_refuse(step: Scenario) -> bool:
    """A call that must not be stored: no valid email, timestamp or type, or not a JSON object."""
    return refusal(step) == "must" and not unauthenticated(step)


def _other_type(step: Scenario) -> bool:
    return _refused(step) and step.expect.status == 501


def _has_status_rule(step: Scenario) -> bool:
    return _refused(step) and not _other_type(step)


def _clause_of(step: Scenario) -> str:
    if unauthenticated(step):
        return "B.2"
    return clause_of_field(step.expect.error_field) or "B.5"


@check("MUST", "B.3", "B.4", "B.5", applies=any_step(_must_refuse))
def invalid_call_is_not_accepted(observation: Observation) -> None:
    """A call without a valid email or timestamp, of another type than identify, or that is no
    JSON object is refused: a 2xx stores it (or silently drops it) as if it were a good call."""
    for step, exchange, status in observation.answered(_must_refuse):
        if is_success(status):
            raise CheckFailed(
                f"a refusal such as HTTP {step.expect.status}: the contract refuses {step.id}, "
                f"but {segment_fate(status)} and the call is stored or silently lost",
                exchange=exchange,
                clause=_clause_of(step),
            )


@check("MUST", "B.13", "A.3", applies=any_step(_refused))
def client_mistake_is_not_retried(observation: Observation) -> None:
    """A call refused for the client's mistake (its content, its key, its size) gets a status
    Segment does not retry: not a 5xx (other than 501), 408, 423 or 429."""
    for step, exchange, status in observation.answered(_refused):
        if segment_retries(status):
            raise CheckFailed(
                f"a status Segment does not retry, such as {step.expect.status}, for the client's "
                f"mistake in {step.id}: {segment_fate(status)}, and every retry fails the same way",
                exchange=exchange,
                clause="B.13" if status >= 500 else "A.3",
            )


def _final_refusal(step: Scenario, status: int) -> str | None:
    """A `judgeable` rule: the status is a refusal Segment does not retry (a 2xx or a retried
    status is another check's failure, and says nothing about which final status was chosen)."""
    if is_success(status) and refusal(step) == "must":
        return f"was answered {status}, see {_SEE_NOT_ACCEPTED}"
    if segment_retries(status):
        return f"was answered {status}, see {_SEE_NOT_RETRIED}"
    return None


@check("SHOULD", "A.2", "B.2", "B.5", applies=any_step(_has_status_rule))
def rejection_status_matches_contract(observation: Observation) -> None:
    """A refused call gets the contract's status: 400 malformed (or 501 for a missing type),
    401 without the right key, 413 too large, 415 not JSON."""
    for step, exchange, status in observation.answered(_has_status_rule, judgeable=_final_refusal):
        allowed = allowed_statuses(step)
        if status in allowed or (is_success(status) and refusal(step) == "may"):
            continue
        shown = " or ".join(f"HTTP {code}" for code in sorted(allowed))
        raise CheckFailed(
            f"{shown} for {step.id}, not {status}",
            exchange=exchange,
            clause="B.2" if unauthenticated(step) else "B.5" if status != 400 else "A.2",
        )


@check("SHOULD", "B.5", applies=any_step(_other_type))
def other_type_is_answered_501(observation: Observation) -> None:
    """A call of another type than identify gets 501 (Nat only accepts identify calls), from a
    destination that accepts the documented identify call."""
    if not observation.accepts_identify:
        raise CheckSkipped(
            "the destination did not accept the documented identify call, so its answer to "
            "another type says nothing about types"
        )
    for step, exchange, status in observation.answered(_other_type, judgeable=_final_refusal):
        if status != 501:
            raise CheckFailed(
                f"HTTP 501 (Nat only accepts identify calls) for {step.id}; {segment_fate(status)}",
                exchange=exchange,
            )


def _error_answer(step: Scenario, status: int) -> str | None:
    """A `judgeable` rule: the call was refused with a final status, so there is an error body
    about the call to look at (a retried status is the destination's own failure)."""
    if segment_retries(status):
        return f"was answered {status}, see {_SEE_NOT_RETRIED}"
    if not is_success(status):
        return None
    if refusal(step) == "may":
        return f"was accepted ({status}), which the contract allows: no error body to judge"
    see = _SEE_NOT_ACCEPTED if refusal(step) == "must" else "rejection_status_matches_contract"
    if unauthenticated(step):
        see = "unauthenticated_call_is_refused"
    return f"was answered {status}, no error body to judge (see {see})"


@check("SHOULD", "B.10", "A.2", "B.13", applies=any_step(_refused))
def error_body_has_message(observation: Observation) -> None:
    """An error answer is a JSON object with a non-empty `message`, which Segment shows the
    customer."""
    for step, exchange, _ in observation.answered(_refused, judgeable=_error_answer):
        body = answer_object(exchange)
        message = body.get("message") if body is not None else None
        if not isinstance(message, str) or not message.strip():
            raise CheckFailed(
                'a JSON body {"message": "..."} saying what is wrong with the call '
                f"({step.id}): Segment shows it to the customer",
                exchange=exchange,
                clause="B.13" if body is None else None,
            )


@check("SHOULD", "B.10", "B.3", "B.5", applies=any_step(_refused))
def error_names_the_field(observation: Observation) -> None:
    """An error body lists `errors` of `{field, code, message}`, one naming the field at fault
    (`traits.email`, `timestamp`, ...; for a missing email any of its three places)."""
    for step, exchange, _ in observation.answered(_refused, judgeable=_error_answer):
        body = answer_object(exchange) or {}
        errors = body.get("errors")
        well_formed = isinstance(errors, list) and all(
            isinstance(error, dict)
            and all(isinstance(error.get(key), str) for key in ("field", "code", "message"))
            for error in errors
        )
        if not well_formed or not errors:
            raise CheckFailed(
                f'an "errors" list of {{"field", "code", "message"}} objects for {step.id}',
                exchange=exchange,
            )
        allowed = allowed_error_fields(step)
        named = {error["field"] for error in errors}
        if allowed is not None and not named & allowed:
            shown = " or ".join(repr(field) for field in sorted(allowed))
            raise CheckFailed(
                f'an "errors" list naming the field {shown} for {step.id}, not '
                f"{', '.join(repr(field) for field in sorted(named))}",
                exchange=exchange,
                clause=_clause_of(step),
            )
