"""Checks on the one-entry-per-contact-per-day rule, read back from the destination's timeline:
in order, out of order, at the edges of the UTC day, across case variants, and under a burst."""

from __future__ import annotations

from harness.checks._read import timeline_days
from harness.checks.base import CheckFailed, Observation, Subject, as_expected, check
from harness.target import Exchange
from scenarios.model import Scenario, Sequence

__all__ = ["concurrent_duplicates_make_one_entry", "one_entry_per_contact_per_day"]


def _in_order(subject: Subject) -> bool:
    return isinstance(subject, Sequence) and not subject.concurrent


def _burst(subject: Subject) -> bool:
    return isinstance(subject, Sequence) and subject.concurrent


def _every_step(step: Scenario) -> bool:
    return True


@check("MUST", "B.7", applies=_in_order)
def one_entry_per_contact_per_day(observation: Observation) -> None:
    """A contact gets one timeline entry per UTC day of `timestamp`, whatever the email's case
    or the order of arrival."""
    observation.require_read_back()
    for _ in observation.answered(_every_step, judgeable=as_expected):
        pass
    _check_timeline(observation)


@check("MUST", "B.7", applies=_burst)
def concurrent_duplicates_make_one_entry(observation: Observation) -> None:
    """Duplicates sent at the same moment still make one entry per contact per day (the rule
    holds in the database, not in a check-then-insert race)."""
    observation.require_read_back()
    for _ in observation.answered(_every_step, judgeable=as_expected):
        pass
    _check_timeline(observation)


def _check_timeline(observation: Observation) -> None:
    assert isinstance(observation.subject, Sequence)
    final = observation.subject.final
    expected = sorted(final.timeline_days)

    def settled(probe: Exchange) -> bool:
        return timeline_days(probe) == expected

    probe = observation.timeline(final.contact, until=settled)
    found = timeline_days(probe)
    if found != expected:
        shown = "an unreadable timeline" if found is None else f"days {found}"
        raise CheckFailed(
            f"exactly one timeline entry per UTC day for {final.contact}: days {expected}, "
            f"found {shown}",
            sent=observation.sent_text() + "\n# then read back:\n" + probe.sent.curl(),
            received=probe.received(),
        )
