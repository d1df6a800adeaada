"""Checks on authentication: a call without the destination's key is never let in."""

from __future__ import annotations

from dataclasses import replace

from contract.retry import is_success, segment_fate
from harness.checks._leeway import unauthenticated
from harness.checks._read import entries_of
from harness.checks.base import (
    CheckFailed,
    Observation,
    any_step,
    check,
)
from scenarios.expect import expect_for
from scenarios.model import Scenario

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
    if observation.read_back is None:
        return  # refused is all the answers can show; with a probe, nothing may be stored
    for step in observation.steps:
        contact = _contact_with_the_key(step) if unauthenticated(step) else None
        if contact is None:
            continue
        probe = observation.timeline(contact, until=lambda probe: True)
        if entries_of(probe):
            raise CheckFailed(
                f"no timeline entry for {contact}: the call with {_WHAT[step.request.auth]} "
                f"({step.id}) was refused, yet stored",
                sent=observation.sent_text() + "\n# then read back:\n" + probe.sent.curl(),
                received=probe.received(),
            )


def _contact_with_the_key(step: Scenario) -> str | None:
    """The contact the call would reach with the right key (None if it is invalid anyway)."""
    return expect_for(replace(step.request, auth="basic")).contact
