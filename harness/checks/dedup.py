"""Checks on the one-entry-per-contact-per-day rule, read back from the destination's timeline:
in order, out of order, at the edges of the UTC day, across case variants, and under a burst."""

from __future__ import annotations

from collections import Counter

from harness.checks._read import timeline_days
from harness.checks.base import (
    CheckFailed,
    CheckSkipped,
    Observation,
    Subject,
    accepted,
    answer_object,
    check,
)
from harness.target import Exchange, ReadBack
from scenarios.model import Sequence

__all__ = ["concurrent_duplicates_make_one_entry", "one_entry_per_contact_per_day"]


def _in_order(subject: Subject) -> bool:
    return isinstance(subject, Sequence) and not subject.concurrent


def _burst(subject: Subject) -> bool:
    return isinstance(subject, Sequence) and subject.concurrent


@check("MUST", applies=_in_order)
def one_entry_per_contact_per_day(observation: Observation) -> None:
    """A contact gets one timeline entry per UTC day of `timestamp`, whatever the email's case
    or the order of arrival; later calls that day are answered as deduplicated."""
    read_back = observation.require_read_back()
    _require_answers(observation)
    for step, exchange in observation.pairs():
        body = answer_object(exchange)
        reported = body.get("outcome") if body is not None else None
        if accepted(step) and reported is not None and reported != step.expect.outcome:
            raise CheckFailed(
                f"outcome {step.expect.outcome!r} for {step.id} (day {step.expect.day} of "
                f"{step.expect.contact}), not {reported!r}",
                exchange=exchange,
            )
    _check_timeline(observation, read_back)


@check("MUST", applies=_burst)
def concurrent_duplicates_make_one_entry(observation: Observation) -> None:
    """Duplicates sent at the same moment still make one entry per contact per day (the rule
    holds in the database, not in a check-then-insert race)."""
    read_back = observation.require_read_back()
    _require_answers(observation)
    assert isinstance(observation.subject, Sequence)
    created: Counter[str] = Counter()
    for step, exchange in observation.pairs():
        body = answer_object(exchange)
        if (
            accepted(step)
            and body is not None
            and body.get("outcome") == "created"
            and not body.get("replayed")
        ):
            created[str(body.get("day", step.expect.day))] += 1
    twice = sorted(day for day, count in created.items() if count > 1)
    if twice:
        raise CheckFailed(
            f"one answer with outcome 'created' per day, the others 'deduplicated'; "
            f"{', '.join(f'{day}: {created[day]}' for day in twice)} answers said 'created'",
            sent=observation.sent_text(),
            received="\n".join(exchange.received() for exchange in observation.exchanges[:4]),
        )
    _check_timeline(observation, read_back)


def _require_answers(observation: Observation) -> None:
    for step, exchange in observation.pairs():
        if not exchange.answered:
            raise CheckSkipped(f"no answer to {step.id} ({exchange.error})")


def _check_timeline(observation: Observation, read_back: ReadBack) -> None:
    assert isinstance(observation.subject, Sequence)
    final = observation.subject.final
    expected = sorted(final.timeline_days)

    def settled(probe: Exchange) -> bool:
        return timeline_days(probe) == expected

    probe = read_back.timeline(final.contact, until=settled)
    found = timeline_days(probe)
    if found != expected:
        shown = "an unreadable timeline" if found is None else f"days {found}"
        raise CheckFailed(
            f"exactly one timeline entry per UTC day for {final.contact}: days {expected}, "
            f"found {shown}",
            sent=observation.sent_text() + "\n# then read back:\n" + probe.sent.curl(),
            received=probe.received(),
        )
