"""Checks on the timeline entry's description: the first of page.url, context.page.url, url and
event, else the standard message; the first call of the day keeps it; an unusable url is
skipped with a warning, not an error."""

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
    success_needed,
)
from harness.target import Exchange
from scenarios.expect import expect_for
from scenarios.model import Scenario, Sequence

__all__ = ["description_follows_precedence", "ignored_url_is_reported_as_warning"]

#: The places a description URL is read from (CONTRACT B.6): an unusable one is a warning.
_URL_PLACES = ("page.url", "context.page.url", "url")


def _creates_entry(step: Scenario) -> bool:
    expect = step.expect
    return expect.outcome == "created" and expect.description is not None and bool(expect.contact)


def _describable(subject: Subject) -> bool:
    if isinstance(subject, Sequence) and subject.concurrent:
        return False  # which call of the burst creates the entry is not specified
    return any(_creates_entry(step) for step in steps_of(subject))


@check("MUST", "B.6", "B.7", applies=_describable)
def description_follows_precedence(observation: Observation) -> None:
    """The day's timeline entry is described by page.url, context.page.url, url (each only if
    an absolute http(s) URL), event, or the standard message, in that order, and keeps the
    description of the day's first call."""
    observation.require_read_back()
    wanted: dict[str, dict[str, Scenario]] = {}
    for step, _, _ in observation.answered(_creates_entry, judgeable=success_needed):
        assert step.expect.contact is not None
        wanted.setdefault(step.expect.contact, {})[str(step.expect.day)] = step

    for contact, by_day in wanted.items():

        def described(probe: Exchange, by_day: dict[str, Scenario] = by_day) -> bool:
            return _mismatches(probe, by_day) == ([], [])

        probe = observation.timeline(contact, until=described)
        problems, missing = _mismatches(probe, by_day)
        if problems:
            clauses = [
                "B.7" if _later_description_of(observation, step, found) else "B.6"
                for step, found in problems
            ]
            raise CheckFailed(
                "; ".join(_problem(observation, step, found) for step, found in problems),
                sent=observation.sent_text() + "\n# then read back:\n" + probe.sent.curl(),
                received=probe.received(),
                clause=clauses[0],
            )
        if missing:
            see = (
                "accepted_call_is_stored"
                if isinstance(observation.subject, Scenario)
                else "one_entry_per_contact_per_day"
            )
            raise CheckSkipped(f"no entry for the contact on {missing[0]} to describe, see {see}")


#: A timeline that cannot be read: no description to compare.
_UNREADABLE = object()


def _mismatches(
    probe: Exchange, by_day: dict[str, Scenario]
) -> tuple[list[tuple[Scenario, Any]], list[str]]:
    """(creating step, description found) for each entry described otherwise, and the days
    with no entry at all."""
    entries = entries_of(probe)
    if entries is None:
        return [(next(iter(by_day.values())), _UNREADABLE)], []
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        found.setdefault(str(entry.get("day")), entry)
    problems: list[tuple[Scenario, Any]] = []
    missing: list[str] = []
    for day, step in by_day.items():
        on_day = found.get(day)
        if on_day is None:
            missing.append(day)
        elif on_day.get("description") != step.expect.description:
            problems.append((step, on_day.get("description")))
    return problems, missing


def _problem(observation: Observation, step: Scenario, found: Any) -> str:
    expect = step.expect
    if found is _UNREADABLE:
        return "a readable timeline (JSON with an `entries` list)"
    later = _later_description_of(observation, step, found)
    return (
        f"the entry of {expect.day} described {expect.description!r} "
        f"(from {expect.description_source}, {step.id}), not {found!r}"
        + (f", the description of the later call {later} that day" if later else "")
    )


def _later_description_of(observation: Observation, first: Scenario, description: Any) -> str:
    """The id of a later call of the first one's contact and day whose own description the
    entry shows (it was overwritten), or ""."""
    if description is _UNREADABLE:
        return ""
    later = False
    for step in observation.steps:
        if step is first:
            later = True
            continue
        if not later or not accepted(step):
            continue
        same_day = (step.expect.contact, step.expect.day) == (
            first.expect.contact,
            first.expect.day,
        )
        if same_day and expect_for(step.request).description == description:
            return step.id
    return ""


def _warns(step: Scenario) -> bool:
    return accepted(step) and any(field in _URL_PLACES for field in step.expect.warning_fields)


def _warned_fields(body: dict[str, Any]) -> list[Any]:
    warnings = body.get("warnings")
    return warnings if isinstance(warnings, list) else []


def _names(warning: Any, field: str) -> bool:
    """A warning names a field: an object with that `field`, or a text that mentions it."""
    if isinstance(warning, dict):
        return warning.get("field") == field
    return isinstance(warning, str) and field in warning


@check("SHOULD", "B.6", applies=any_step(_warns))
def ignored_url_is_reported_as_warning(observation: Observation) -> None:
    """A url that cannot describe the entry (not an absolute http(s) URL) comes back as a
    warning naming the field, not as an error."""
    for step, exchange, _ in observation.answered(_warns, judgeable=success_needed):
        warnings = _warned_fields(answer_object(exchange) or {})
        missing = [
            field
            for field in step.expect.warning_fields
            if field in _URL_PLACES and not any(_names(warning, field) for warning in warnings)
        ]
        if missing:
            raise CheckFailed(
                f'a "warnings" list naming {", ".join(missing)} in the answer to {step.id}',
                exchange=exchange,
            )
