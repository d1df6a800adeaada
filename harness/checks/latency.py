"""Checks on timing: Segment gives a destination about 5 s, then retries the message."""

from __future__ import annotations

from contract.retry import RETRY_WINDOW
from harness.checks.base import CheckFailed, Observation, Subject, check

__all__ = ["answered_within_segment_timeout"]


def _always(subject: Subject) -> bool:
    return True


@check("MUST", "A.3", applies=_always)
def answered_within_segment_timeout(observation: Observation) -> None:
    """Every call is answered within Segment's timeout (5 s): a later answer means a retry."""
    budget = observation.latency_budget
    for step, exchange in observation.pairs():
        if exchange.answered and exchange.elapsed <= budget:
            continue
        took = (
            f"answered after {exchange.elapsed:.2f} s"
            if exchange.answered
            else f"no answer ({exchange.error})"
        )
        raise CheckFailed(
            f"an answer within {budget:g} s to {step.id} ({took}): Segment times out, retries "
            f"the message with the same messageId for up to {RETRY_WINDOW}, then drops it",
            exchange=exchange,
        )
