"""Deduplication, idempotency and ordering sequences: each shows what its id says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from scenarios import Sequence, expect_sequence, sequences
from tests.golden.make_golden import golden_step
from tests.helpers import golden


@pytest.fixture(scope="module", params=[21, 5])
def plans(request: pytest.FixtureRequest) -> dict[str, Sequence]:
    return {sequence.id: sequence for sequence in sequences(seed=request.param)}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_same_seed_gives_byte_identical_sequences() -> None:
    first = orjson.dumps([sequence.to_dict() for sequence in sequences(seed=5)])
    assert first == orjson.dumps([sequence.to_dict() for sequence in sequences(seed=5)])
    assert first != orjson.dumps([sequence.to_dict() for sequence in sequences(seed=6)])


def test_ids_are_unique_and_steps_are_named_after_them(plans: dict[str, Sequence]) -> None:
    assert len(plans) == len(sequences(seed=21))
    for sequence_id, sequence in plans.items():
        assert sequence_id.startswith("sequence/") and sequence.summary
        assert [step.id for step in sequence.steps] == [
            f"{sequence_id}/{index}" for index in range(len(sequence.steps))
        ]


def test_each_sequence_has_its_own_contact(plans: dict[str, Sequence]) -> None:
    contacts = [sequence.final.contact for sequence in plans.values()]
    assert len(contacts) == len(set(contacts))
    for sequence in plans.values():
        step_contacts = {step.expect.contact for step in sequence.steps if step.expect.contact}
        assert step_contacts == {sequence.final.contact}, sequence.id


def test_the_sequences_are_the_reviewed_golden_file(plans: dict[str, Sequence]) -> None:
    """Each step's answer, whether the steps are concurrent, and the number of timeline days are
    the ones a person reviewed against CONTRACT.md (tests/golden/catalogue.json)."""
    reviewed = golden()["sequences"]
    assert set(plans) == set(reviewed), "regenerate and review: tests/golden/make_golden.py"
    for sequence_id, sequence in plans.items():
        seen = {
            "concurrent": sequence.concurrent,
            "steps": [golden_step(step.expect) for step in sequence.steps],
            "timeline_days": len(sequence.final.timeline_days),
        }
        assert seen == reviewed[sequence_id], sequence_id


def test_in_another_day_zone_either_side_of_utc_midnight_is_one_day(
    plans: dict[str, Sequence],
) -> None:
    """The day is the calendar day in the server's zone (B.7): in Kiritimati (UTC+14), 23:59:59
    and 00:00:00 UTC are 13:59:59 and 14:00:00 of one local day: the second call is deduplicated."""
    zone = ZoneInfo("Pacific/Kiritimati")
    sequence = plans["sequence/either-side-of-utc-midnight"]
    expects, final = expect_sequence((step.request for step in sequence.steps), day_zone=zone)
    assert [expect.outcome for expect in expects] == ["created", "deduplicated"]
    before = _instant(sequence.steps[0].request.payload["timestamp"])
    assert final.timeline_days == ((before + timedelta(hours=14)).date().isoformat(),)


def test_n_calls_in_one_day_make_one_entry(plans: dict[str, Sequence]) -> None:
    sequence = plans["sequence/same-day-n-calls"]
    days = {_instant(step.request.payload["timestamp"]).date() for step in sequence.steps}
    assert len(sequence.steps) >= 3 and len(days) == 1
    outcomes = [step.expect.outcome for step in sequence.steps]
    assert outcomes == ["created"] + ["deduplicated"] * (len(outcomes) - 1)
    first_description = sequence.steps[0].expect.description
    assert {step.expect.description for step in sequence.steps} == {first_description}
    assert sequence.final.timeline_days == (days.pop().isoformat(),)


def test_either_side_of_utc_midnight_makes_two_entries(plans: dict[str, Sequence]) -> None:
    sequence = plans["sequence/either-side-of-utc-midnight"]
    before, after = (_instant(step.request.payload["timestamp"]) for step in sequence.steps)
    assert (before.hour, before.minute, before.second) == (23, 59, 59)
    assert (after.hour, after.minute, after.second) == (0, 0, 0)
    assert after - before < timedelta(seconds=2)
    assert [step.expect.outcome for step in sequence.steps] == ["created", "created"]
    assert sequence.final.timeline_days == (before.date().isoformat(), after.date().isoformat())


def test_local_dates_on_either_side_of_midnight_can_be_one_utc_day(
    plans: dict[str, Sequence],
) -> None:
    sequence = plans["sequence/offsets-one-utc-day"]
    stamps = [step.request.payload["timestamp"] for step in sequence.steps]
    assert stamps[0][:10] != stamps[1][:10]
    assert len(sequence.final.timeline_days) == 1


def test_case_and_space_variants_are_one_contact(plans: dict[str, Sequence]) -> None:
    sequence = plans["sequence/email-case-variants"]
    spellings = set()
    for step in sequence.steps:
        payload = step.request.payload
        spellings.add(
            (payload.get("traits") or {}).get("email")
            or (payload.get("context") or {}).get("traits", {}).get("email")
            or payload.get("email")
        )
    assert len(spellings) == len(sequence.steps) >= 3
    assert {spelling.strip().lower() for spelling in spellings} == {sequence.final.contact}
    assert len(sequence.final.timeline_days) == 1


def test_a_retried_message_id_is_replayed_and_changes_nothing(
    plans: dict[str, Sequence],
) -> None:
    sequence = plans["sequence/retried-message-id"]
    first, retry, moved = sequence.steps
    assert retry.request.payload == first.request.payload
    assert moved.request.payload["messageId"] == first.request.payload["messageId"]
    assert moved.request.payload["timestamp"][:10] != first.request.payload["timestamp"][:10]
    assert first.expect.outcome == "created" and not first.expect.replayed
    for step in (retry, moved):
        assert step.expect.replayed
        assert (step.expect.outcome, step.expect.day) == ("created", first.expect.day)
    assert sequence.final.timeline_days == (first.expect.day,)
    assert sequence.final.properties.get("plan") != "changed"


@pytest.mark.parametrize(
    "sequence_id", ["sequence/concurrent-duplicates", "sequence/concurrent-retries"]
)
def test_a_concurrent_burst_makes_one_entry(plans: dict[str, Sequence], sequence_id: str) -> None:
    sequence = plans[sequence_id]
    assert sequence.concurrent and len(sequence.steps) >= 5
    assert len(sequence.final.timeline_days) == 1


def test_audience_exit_arriving_first_still_ends_false(plans: dict[str, Sequence]) -> None:
    sequence = plans["sequence/audience-out-of-order"]
    exited, entered = (step.request.payload for step in sequence.steps)
    key = exited["context"]["personas"]["computation_key"]
    assert (exited["traits"][key], entered["traits"][key]) == (False, True)
    assert _instant(exited["timestamp"]) > _instant(entered["timestamp"])
    assert sequence.final.properties[key] is False


def test_the_latest_computed_trait_value_wins(plans: dict[str, Sequence]) -> None:
    sequence = plans["sequence/computed-trait-out-of-order"]
    payloads = [step.request.payload for step in sequence.steps]
    latest = max(payloads, key=lambda payload: _instant(payload["timestamp"]))
    assert latest is payloads[0], "the latest value must arrive first"
    assert sequence.final.properties["logins_30d"] == latest["traits"]["logins_30d"]


def test_a_refused_call_does_not_use_up_its_message_id(plans: dict[str, Sequence]) -> None:
    refused, fixed = plans["sequence/rejected-then-fixed"].steps
    assert refused.request.payload["messageId"] == fixed.request.payload["messageId"]
    assert refused.expect.status == 400
    assert (fixed.expect.outcome, fixed.expect.replayed) == ("created", False)
