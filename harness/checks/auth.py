"""Checks on authentication: a call without the destination's key is refused with 401."""

from __future__ import annotations

from harness.checks.base import (
    CheckFailed,
    Observation,
    any_step,
    check,
    segment_fate,
)
from scenarios.model import Scenario

__all__ = ["unauthenticated_call_is_refused_401"]


def _unauthenticated(step: Scenario) -> bool:
    return step.request.auth in ("none", "wrong")


@check("MUST", applies=any_step(_unauthenticated))
def unauthenticated_call_is_refused_401(observation: Observation) -> None:
    """A call with a missing or wrong API key is refused with 401 (403 at most), never stored."""
    for step, exchange, status in observation.answered(_unauthenticated):
        if status not in (401, 403):
            what = "no API key" if step.request.auth == "none" else "a wrong API key"
            raise CheckFailed(
                f"HTTP {step.expect.status} for a call with {what} ({step.id}); "
                f"{segment_fate(status)}",
                exchange=exchange,
            )
