"""Checks on user properties: every trait is kept, the value with the latest `timestamp` wins."""

from __future__ import annotations

from typing import Any

from harness.checks._read import properties_of
from harness.checks.base import CheckFailed, Observation, Subject, as_expected, check
from harness.target import Exchange
from scenarios.model import Scenario, Sequence

__all__ = ["latest_trait_value_wins"]


def _has_properties(subject: Subject) -> bool:
    return isinstance(subject, Sequence) and bool(subject.final.properties)


def _every_step(step: Scenario) -> bool:
    return True


@check("MUST", "B.9", "A.6", applies=_has_properties)
def latest_trait_value_wins(observation: Observation) -> None:
    """Traits of every accepted call (deduplicated ones too) are kept as user properties, each
    with the value of the latest `timestamp`, even when calls arrive out of order (an audience
    that flips true then false ends false)."""
    observation.require_read_back()
    for _ in observation.answered(_every_step, judgeable=as_expected):
        pass
    assert isinstance(observation.subject, Sequence)
    final = observation.subject.final

    def settled(probe: Exchange) -> bool:
        return not _differences(properties_of(probe), final.properties)

    probe = observation.contact(final.contact, until=settled)
    differences = _differences(properties_of(probe), final.properties)
    if differences:
        raise CheckFailed(
            f"user properties of {final.contact}: " + "; ".join(differences),
            sent=observation.sent_text() + "\n# then read back:\n" + probe.sent.curl(),
            received=probe.received(),
        )


def _differences(found: dict[str, Any] | None, expected: dict[str, Any]) -> list[str]:
    if found is None:
        return ['a readable contact (JSON with a "properties" object)']
    problems = []
    for name, value in expected.items():
        if name not in found:
            problems.append(f"{name}={value!r} (missing)")
        elif found[name] != value or isinstance(found[name], bool) != isinstance(value, bool):
            problems.append(f"{name}={value!r}, not {found[name]!r}")
    return problems
