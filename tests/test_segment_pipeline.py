"""Segment's processing between tracking API and destination: dedup, times, filters."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from harness.errors import SettingError, option_words
from harness.segment.faults import DeliveryFaults
from harness.segment.pipeline import DAY, Filtered, Forward, Pipeline, enabled_for
from tests import helpers
from tests.helpers import ABSENT

RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Wall:
    return Wall(RECEIVED)


@pytest.fixture
def pipeline(clock: Wall) -> Pipeline:
    return Pipeline(clock)


identify = partial(
    helpers.identify, "peter@example.com", timestamp=ABSENT, userId="u1", messageId="m1"
)


def test_identify_is_forwarded_with_segments_fields(pipeline: Pipeline) -> None:
    verdict = pipeline.process(
        identify(writeKey="secret", timestamp="2024-05-01T11:59:00Z"),
        sent_at="2024-05-01T11:59:30Z",
    )
    assert isinstance(verdict, Forward)
    message = verdict.message
    assert "writeKey" not in message
    assert message["receivedAt"] == "2024-05-01T12:00:00.000Z"
    assert message["originalTimestamp"] == "2024-05-01T11:59:00Z"
    assert message["sentAt"] == "2024-05-01T11:59:30Z"
    # timestamp = receivedAt - (sentAt - originalTimestamp) = 12:00:00 - 30 s
    assert message["timestamp"] == "2024-05-01T11:59:30.000Z"
    assert message["traits"] == {"email": "peter@example.com"}


def test_timestamp_correction_removes_client_clock_skew(pipeline: Pipeline) -> None:
    """A device clock an hour fast: the delivered timestamp is on the server's clock."""
    verdict = pipeline.process(
        identify(originalTimestamp="2024-05-01T13:00:00+00:00", sentAt="2024-05-01T13:00:02+00:00")
    )
    assert isinstance(verdict, Forward)
    assert verdict.message["timestamp"] == "2024-05-01T11:59:58.000Z"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"timestamp": "2024-04-30T08:00:00.500Z"}, "2024-04-30T08:00:00.500Z"),
        ({}, "2024-05-01T12:00:00.000Z"),
        ({"timestamp": "yesterday"}, "2024-05-01T12:00:00.000Z"),
        ({"timestamp": "2024-04-30T08:00:00"}, "2024-04-30T08:00:00.000Z"),
    ],
    ids=["no-sentAt-keeps-timestamp", "no-time-at-all", "unparsable", "no-zone-is-utc"],
)
def test_timestamp_without_skew_correction(
    pipeline: Pipeline, fields: dict[str, Any], expected: str
) -> None:
    verdict = pipeline.process(identify(**fields))
    assert isinstance(verdict, Forward)
    assert verdict.message["timestamp"] == expected


def test_message_id_is_added_when_missing(pipeline: Pipeline) -> None:
    event = identify()
    del event["messageId"]
    verdict = pipeline.process(event)
    assert isinstance(verdict, Forward)
    assert verdict.message_id.startswith("api-")
    assert verdict.message["messageId"] == verdict.message_id


def test_path_type_wins_over_the_body(pipeline: Pipeline) -> None:
    verdict = pipeline.process(identify(type="track", event="x"), path_type="identify")
    assert isinstance(verdict, Forward)
    assert verdict.message["type"] == "identify"


def test_duplicate_message_id_is_dropped_within_the_window(pipeline: Pipeline, clock: Wall) -> None:
    assert isinstance(pipeline.process(identify()), Forward)
    clock.advance(DAY - 1)
    again = pipeline.process(identify())
    assert isinstance(again, Filtered)
    assert again.reason == "duplicate"
    assert again.message_id == "m1"


def test_message_id_is_forgotten_after_the_window(pipeline: Pipeline, clock: Wall) -> None:
    assert isinstance(pipeline.process(identify()), Forward)
    clock.advance(DAY + 1)
    assert isinstance(pipeline.process(identify()), Forward)


def test_dedup_window_is_configurable(clock: Wall) -> None:
    short = Pipeline(clock, dedup_window=60)
    assert isinstance(short.process(identify()), Forward)
    clock.advance(30)
    assert isinstance(short.process(identify()), Filtered)
    clock.advance(61)
    assert isinstance(short.process(identify()), Forward)


@pytest.mark.parametrize(
    ("integrations", "enabled"),
    [
        (None, True),
        ({}, True),
        ({"All": False}, False),
        ({"All": False, "Nat": True}, True),
        ({"All": True, "Nat": False}, False),
        ({"Nat": False}, False),
        ({"All": False, "Nat": {"someOption": 1}}, True),
        ({"All": False, "Nat.app": True}, True),
        ({"All": False, "Mixpanel": True}, False),
        ("not an object", True),
    ],
    ids=[
        "absent",
        "empty",
        "all-off",
        "all-off-nat-on",
        "all-on-nat-off",
        "nat-off",
        "nat-options-object",
        "nat-app-name",
        "other-destination-only",
        "not-an-object",
    ],
)
def test_integrations_rule(integrations: Any, enabled: bool, pipeline: Pipeline) -> None:
    assert enabled_for(integrations, ("Nat", "Nat.app")) is enabled
    event = identify() if integrations is None else identify(integrations=integrations)
    verdict = pipeline.process(event)
    assert isinstance(verdict, Forward) is enabled
    if not enabled:
        assert isinstance(verdict, Filtered)
        assert verdict.reason == "integrations"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "track", "userId": "u", "event": "Order Completed"}, "type"),
        ({"type": "page", "anonymousId": "a"}, "type"),
        ({"type": "group", "userId": "u", "groupId": "g"}, "type"),
        ({"type": "alias", "userId": "u", "previousId": "p"}, "type"),
        ({"type": "identify", "traits": {"email": "a@example.com"}}, "invalid"),
        ({"type": "track", "userId": "u"}, "invalid"),
        ({"type": "group", "userId": "u"}, "invalid"),
        ({"type": "alias", "userId": "u"}, "invalid"),
        ({"type": "purchase", "userId": "u"}, "invalid"),
        ({"userId": "u"}, "invalid"),
        ({"type": "identify", "userId": "u", "messageId": 12}, "invalid"),
        (["not", "an", "object"], "invalid"),
    ],
    ids=[
        "track",
        "page",
        "group",
        "alias",
        "no-user-or-anonymous-id",
        "track-without-event",
        "group-without-group-id",
        "alias-without-previous-id",
        "unknown-type",
        "no-type",
        "numeric-message-id",
        "not-an-object",
    ],
)
def test_filtered_events_say_why(pipeline: Pipeline, event: Any, reason: str) -> None:
    verdict = pipeline.process(event)
    assert isinstance(verdict, Filtered)
    assert verdict.reason == reason
    assert verdict.detail


def test_filtered_type_still_counts_for_dedup(pipeline: Pipeline) -> None:
    """Segment deduplicates at ingest, before any destination's filter."""
    track = {"type": "track", "userId": "u", "event": "x", "messageId": "shared"}
    first = pipeline.process(track)
    assert isinstance(first, Filtered) and first.reason == "type"
    second = pipeline.process(identify(messageId="shared"))
    assert isinstance(second, Filtered) and second.reason == "duplicate"


@pytest.mark.parametrize(
    ("rate", "window"),
    [(-0.1, 0.0), (1.5, 0.0), (float("nan"), 0.0), (0.0, -1.0), (0.0, float("inf"))],
    ids=["negative-rate", "rate-above-one", "nan-rate", "negative-window", "infinite-window"],
)
def test_bad_faults_say_what_is_accepted(rate: float, window: float) -> None:
    with pytest.raises(SettingError) as error:
        DeliveryFaults(rate, window)
    assert re.match(r"--duplicate-rate|--reorder-window", option_words(error.value))


def test_faults_duplicate_about_their_rate_within_the_window() -> None:
    faults = DeliveryFaults(duplicate_rate=0.25, reorder_window=10.0, seed=5)
    rng = random.Random(faults.seed)
    plans = [faults.delays(rng) for _ in range(4000)]
    duplicated = sum(len(plan) == 2 for plan in plans) / len(plans)
    assert 0.22 < duplicated < 0.28
    delays = [delay for plan in plans for delay in plan]
    assert all(0.0 <= delay <= 10.0 for delay in delays)
    assert max(delays) > 9.0 and min(delays) < 1.0


def test_no_faults_means_one_immediate_copy() -> None:
    assert DeliveryFaults().delays(random.Random(0)) == [0.0]


def test_screening_remembers_nothing_until_the_request_is_stored(
    pipeline: Pipeline, clock: Wall
) -> None:
    """The simulator remembers a request's messageIds only once it has taken the whole request,
    so a client's retry of a refused request is no duplicate."""
    received = clock()
    prepared = [pipeline.prepare(identify(), received=received) for _ in range(2)]
    first, again = pipeline.screen(prepared, received)
    assert isinstance(first, Forward)
    assert isinstance(again, Filtered) and again.reason == "duplicate", "same id, same request"
    assert isinstance(pipeline.screen(prepared[:1], received)[0], Forward), "nothing remembered"
    pipeline.remember([first], received)
    [retry] = pipeline.screen(prepared[:1], received)
    assert isinstance(retry, Filtered) and retry.reason == "duplicate"


@pytest.mark.parametrize(
    "fields",
    [
        {"originalTimestamp": "0001-01-01T00:00:00+01:00"},
        {"originalTimestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z"},
        {"originalTimestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00:00Z"},
        {"timestamp": ["not", "a", "time"], "sentAt": {"nor": "this"}},
    ],
    ids=["no-utc-instant", "correction-under-year-one", "correction-over-year-9999", "not-text"],
)
def test_times_that_cannot_be_corrected_keep_the_receipt_time(
    pipeline: Pipeline, fields: dict[str, Any]
) -> None:
    verdict = pipeline.process(identify(**fields))
    assert isinstance(verdict, Forward)
    assert (
        verdict.message["timestamp"] == verdict.message["receivedAt"] == "2024-05-01T12:00:00.000Z"
    )
