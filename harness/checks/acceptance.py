"""Checks on calls the contract accepts: a 2xx, and an answer that tells the truth about them."""

from __future__ import annotations

from harness.checks.base import (
    CheckFailed,
    Observation,
    Subject,
    accepted,
    answer_object,
    any_step,
    check,
    segment_fate,
    steps_of,
)
from scenarios.model import Sequence

__all__ = ["accepted_call_is_answered_2xx", "success_answer_matches_contract"]


@check("MUST", applies=any_step(accepted))
def accepted_call_is_answered_2xx(observation: Observation) -> None:
    """Every call the contract accepts (any accepted format, either auth) is answered 2xx."""
    for step, exchange, status in observation.answered(accepted):
        if not 200 <= status < 300:
            raise CheckFailed(
                f"a 2xx answer: the contract accepts this call ({step.id}); "
                f"{segment_fate(status)}, so the contact's interaction is lost",
                exchange=exchange,
            )


def _reports_outcomes(subject: Subject) -> bool:
    concurrent = isinstance(subject, Sequence) and subject.concurrent
    return not concurrent and any(accepted(step) for step in steps_of(subject))


@check("SHOULD", applies=_reports_outcomes)
def success_answer_matches_contract(observation: Observation) -> None:
    """A success body says the outcome, contact, day and replay flag the contract expects."""
    for step, exchange, status in observation.answered(accepted):
        if not 200 <= status < 300:
            continue  # accepted_call_is_answered_2xx reports it
        body = answer_object(exchange)
        expected = {
            "outcome": step.expect.outcome,
            "contact": step.expect.contact,
            "day": step.expect.day,
            "replayed": step.expect.replayed,
        }
        if step.expect.outcome == "created":
            expected["description"] = step.expect.description
            expected["description_source"] = step.expect.description_source
        expected = {key: value for key, value in expected.items() if value is not None}
        if body is None:
            raise CheckFailed(
                f"a JSON object with {', '.join(expected)} (CONTRACT B.10)", exchange=exchange
            )
        wrong = {key: value for key, value in expected.items() if body.get(key) != value}
        if wrong:
            shown = ", ".join(f"{key}={value!r}" for key, value in wrong.items())
            raise CheckFailed(f"{shown} in the answer to {step.id}", exchange=exchange)
