"""Checks on authentication: a call without the destination's key is never let in."""

from __future__ import annotations

from harness.checks._leeway import unauthenticated
from harness.checks.base import (
    CheckFailed,
    Observation,
    any_step,
    check,
    is_success,
    segment_fate,
)

__all__ = ["unauthenticated_call_is_refused"]

_WHAT = {"none": "no API key", "wrong": "a wrong API key", "wrong-bearer": "a wrong Bearer token"}


@check("MUST", "B.2", applies=any_step(unauthenticated))
def unauthenticated_call_is_refused(observation: Observation) -> None:
    """A call with a missing or wrong API key is refused (401) and never stored: anyone could
    write to the customer's contacts otherwise."""
    for step, exchange, status in observation.answered(unauthenticated):
        if is_success(status):
            raise CheckFailed(
                f"HTTP {step.expect.status} for a call with {_WHAT[step.request.auth]} "
                f"({step.id}); {segment_fate(status)}: the call was let in",
                exchange=exchange,
            )
