"""Checks on the timeline entry's description: the first of page.url, context.page.url, url and
event, else the standard message; an unusable url is skipped with a warning, not an error."""

from __future__ import annotations

from typing import Any

from harness.checks._read import entries_of
from harness.checks.base import (
    CheckFailed,
    CheckSkipped,
    Observation,
    Subject,
    accepted,
    answer_object,
    any_step,
    check,
    steps_of,
)
from harness.target import Exchange
from scenarios.model import Scenario, Sequence

__all__ = ["description_follows_precedence", "ignored_url_is_reported_as_warning"]


def _creates_entry(step: Scenario) -> bool:
    expect = step.expect
    return expect.outcome == "created" and expect.description is not None and bool(expect.contact)


def _describable(subject: Subject) -> bool:
    if isinstance(subject, Sequence) and subject.concurrent:
        return False  # which call of the burst creates the entry is not specified
    return any(_creates_entry(step) for step in steps_of(subject))


@check("MUST", applies=_describable)
def description_follows_precedence(observation: Observation) -> None:
    """The day's timeline entry is described by page.url, context.page.url, url, event, or the
    standard message, in that order, and keeps the first call's description."""
    read_back = observation.require_read_back()
    wanted: dict[str, dict[str, Scenario]] = {}
    for step, _, status in observation.answered(_creates_entry):
        if not 200 <= status < 300:
            raise CheckSkipped(f"{step.id} was not accepted (see accepted_call_is_answered_2xx)")
        assert step.expect.contact is not None
        wanted.setdefault(step.expect.contact, {})[str(step.expect.day)] = step

    for contact, by_day in wanted.items():

        def described(probe: Exchange, by_day: dict[str, Scenario] = by_day) -> bool:
            return not _mismatches(probe, by_day)

        probe = read_back.timeline(contact, until=described)
        problems = _mismatches(probe, by_day)
        if problems:
            raise CheckFailed(
                "; ".join(problems),
                sent=observation.sent_text() + "\n# then read back:\n" + probe.sent.curl(),
                received=probe.received(),
            )


def _mismatches(probe: Exchange, by_day: dict[str, Scenario]) -> list[str]:
    entries = entries_of(probe)
    if entries is None:
        return ["a readable timeline (JSON with an `entries` list)"]
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        found.setdefault(str(entry.get("day")), entry)
    problems = []
    for day, step in by_day.items():
        entry = found.get(day)
        expect = step.expect
        if entry is None:
            problems.append(f"a timeline entry for {expect.contact} on {day} (from {step.id})")
        elif entry.get("description") != expect.description:
            problems.append(
                f"the entry of {day} described {expect.description!r} "
                f"(from {expect.description_source}, {step.id}), "
                f"not {entry.get('description')!r}"
            )
    return problems


def _warns(step: Scenario) -> bool:
    return accepted(step) and bool(step.expect.warning_fields)


@check("SHOULD", applies=any_step(_warns))
def ignored_url_is_reported_as_warning(observation: Observation) -> None:
    """Optional data that cannot be used (a url that is not absolute http(s)) comes back as a
    warning naming the field, not as an error."""
    for step, exchange, status in observation.answered(_warns):
        if not 200 <= status < 300:
            continue  # accepted_call_is_answered_2xx reports it
        body = answer_object(exchange) or {}
        warnings = body.get("warnings")
        named = {
            warning.get("field")
            for warning in (warnings if isinstance(warnings, list) else [])
            if isinstance(warning, dict)
        }
        missing = [field for field in step.expect.warning_fields if field not in named]
        if missing:
            raise CheckFailed(
                f'a "warnings" list naming {", ".join(missing)} in the answer to {step.id}',
                exchange=exchange,
            )
