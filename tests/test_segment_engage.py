"""Engage audience syncs: a seeded population, syncs of changes only, and the membership check
that passes on the reference destination and fails on one that drops `false` updates."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from contract.delivery import delivery_headers
from contract.timestamps import format_segment_time
from harness.cli import app
from harness.errors import SettingError, option_words
from harness.segment import DeliveryEndpoint
from harness.segment.engage import (
    EngageConfig,
    EngageSimulation,
    check_membership,
    run_engage,
    snake_case,
)
from reference_impl import Faults, Store, create_app, running_server
from scenarios.sampler import EMAIL_DOMAINS
from tests.conftest import API_KEY

START = datetime(2024, 5, 1, tzinfo=UTC)
AUDIENCE = "Order Completed Last 30 Days"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Order Completed Last 30 Days", "order_completed_last_30_days"),
        ("  High-Value  Users! ", "high_value_users"),
        ("trialEndingSoon", "trial_ending_soon"),
        ("VIP", "vip"),
        ("already_snake_case", "already_snake_case"),
    ],
    ids=["issue-example", "punctuation", "camel-case", "acronym", "snake"],
)
def test_audience_keys_are_snake_cased_as_engage_does(name: str, key: str) -> None:
    assert snake_case(name) == key


@pytest.mark.parametrize(
    "config",
    [
        {"audience": "!!!"},
        {"audience": AUDIENCE, "population": 0},
        {"audience": AUDIENCE, "days": -1},
        {"audience": AUDIENCE, "churn": 1.5},
    ],
    ids=["no-letters", "empty-population", "negative-days", "churn-above-one"],
)
def test_bad_engage_settings_say_what_is_accepted(config: dict[str, Any]) -> None:
    with pytest.raises(SettingError) as error:
        EngageConfig(**config)
    assert re.match(r"--audience|--population|--days|--churn", option_words(error.value))


def simulation(**config: Any) -> EngageSimulation:
    settings = {"audience": AUDIENCE, "population": 200, "days": 2.0, "churn": 0.3, "seed": 4}
    return EngageSimulation(EngageConfig(**{**settings, **config}), start=START)


def test_population_is_seeded() -> None:
    first, again, other = simulation(), simulation(), simulation(seed=5)
    assert first.profiles == again.profiles
    assert first.members == again.members
    assert first.profiles != other.profiles
    assert len({profile.email for profile in first.profiles}) == 200


def test_first_sync_sends_every_member_and_later_syncs_only_changes() -> None:
    engage = simulation()
    syncs = list(engage.syncs())
    first = syncs[0]
    audience_calls = [c for c in first.calls if "order_completed_last_30_days" in c["traits"]]
    assert len(audience_calls) == first.members > 0
    assert all(c["traits"]["order_completed_last_30_days"] is True for c in audience_calls)
    members = {c["userId"] for c in audience_calls}
    for sync in syncs[1:]:
        changes = {
            c["userId"]: c["traits"]["order_completed_last_30_days"]
            for c in sync.calls
            if "order_completed_last_30_days" in c["traits"]
        }
        assert len(changes) == sync.entered + sync.exited
        for user_id, member in changes.items():
            assert (user_id in members) is not member, "a sync sent something that did not change"
            (members.add if member else members.discard)(user_id)
        assert len(members) == sync.members
    assert sum(sync.exited for sync in syncs[1:]) > 0
    assert sum(sync.entered for sync in syncs[1:]) > 0


def test_syncs_come_every_two_to_three_simulated_hours() -> None:
    syncs = list(simulation(days=3.0).syncs())
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(syncs)]
    assert all(timedelta(hours=2) <= gap <= timedelta(hours=3) for gap in gaps)
    assert syncs[-1].at <= START + timedelta(days=3)
    assert len(syncs) >= 24


def test_calls_look_like_engage_calls() -> None:
    calls = next(simulation().syncs()).calls
    audience = next(c for c in calls if "order_completed_last_30_days" in c["traits"])
    trait = next(c for c in calls if "lifetime_orders" in c["traits"])
    for call, computation_class in ((audience, "audience"), (trait, "trait")):
        assert call["type"] == "identify"
        assert call["integrations"] == {"All": False, "Nat": True}
        assert "@" in call["traits"]["email"]
        personas = call["context"]["personas"]
        assert personas["computation_class"] == computation_class
        assert personas["space_id"].startswith("spa_")
        assert {"computation_id", "computation_key", "namespace"} <= personas.keys()
        assert call["timestamp"] == "2024-05-01T00:00:00.000Z"
    assert audience["context"]["personas"]["computation_key"] == "order_completed_last_30_days"
    assert isinstance(trait["traits"]["lifetime_orders"], int)
    string_trait = next(c for c in calls if "favorite_category" in c["traits"])
    assert isinstance(string_trait["traits"]["favorite_category"], str)


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = Store(tmp_path / "nat.db")
    try:
        with running_server(
            create_app(store, API_KEY, faults=Faults(fail_rate=0.2, seed=2))
        ) as url:
            yield url, store
    finally:
        store.close()


def test_after_syncs_the_destination_properties_equal_the_audience(
    reference: tuple[str, Store],
) -> None:
    url, store = reference
    engage = simulation()
    summary = run_engage(engage, DeliveryEndpoint.at(url, API_KEY), concurrency=8)
    assert summary.check is not None and summary.check.ok, summary.check
    assert summary.check.checked == 200
    assert summary.initial_members + summary.entered - summary.exited == summary.members
    assert summary.members == len(engage.members)
    assert summary.delivered == summary.calls
    assert summary.retried > 0  # the destination failed 20% of the calls
    assert summary.dropped == 0
    member = engage.profiles[next(iter(engage.members))]
    contact = store.contact(member.email)
    assert contact is not None
    assert contact.properties["order_completed_last_30_days"].value is True


def drops_false_updates() -> Starlette:
    """A destination that silently ignores traits whose value is false (a real-world bug)."""
    properties: dict[str, dict[str, Any]] = {}

    async def segment(request: Request) -> Response:
        message = orjson.loads(await request.body())
        traits = message.get("traits") or {}
        held = properties.setdefault(traits["email"].lower(), {})
        held.update({name: value for name, value in traits.items() if value is not False})
        return Response(b'{"outcome":"created"}', 200, media_type="application/json")

    async def contact(request: Request) -> Response:
        held = properties.get(request.path_params["email"].lower())
        if held is None:
            return Response(b'{"message":"unknown"}', 404, media_type="application/json")
        body = {"properties": {name: {"value": value} for name, value in held.items()}}
        return Response(orjson.dumps(body), 200, media_type="application/json")

    return Starlette(
        routes=[
            Route("/segment", segment, methods=["POST"]),
            Route("/contacts/{email:path}", contact, methods=["GET"]),
        ]
    )


def test_check_fails_on_a_destination_that_drops_false_updates() -> None:
    engage = simulation()
    with running_server(drops_false_updates()) as url:
        summary = run_engage(engage, DeliveryEndpoint.at(url, API_KEY), concurrency=8)
    assert summary.check is not None and not summary.check.ok
    mismatches = summary.check.mismatches
    assert len(mismatches) == len({m.email for m in mismatches}), "one mismatch per exited profile"
    assert {(m.name, m.expected, m.found) for m in mismatches} == {
        ("order_completed_last_30_days", False, True)
    }
    exited_now = {
        engage.profiles[number].email
        for number in range(len(engage.profiles))
        if engage.expected_properties(number).get("order_completed_last_30_days") is False
    }
    assert {m.email for m in mismatches} == exited_now
    assert "should be False, destination has True" in mismatches[0].describe()


def test_check_reports_a_never_member_marked_as_member(reference: tuple[str, Store]) -> None:
    url, _ = reference
    engage = simulation(computed_traits=False)
    run_engage(engage, DeliveryEndpoint.at(url, API_KEY), concurrency=8, check=False)
    outsider = next(
        profile
        for number, profile in enumerate(engage.profiles)
        if not engage.expected_properties(number)
    )
    stray = {
        "type": "identify",
        "timestamp": "2024-05-05T00:00:00Z",
        "traits": {"email": outsider.email, "order_completed_last_30_days": True},
    }
    statuses = []
    for _ in range(20):  # the reference destination fails 20% of requests on purpose
        answer = requests.post(
            f"{url}/segment", data=orjson.dumps(stray), headers=delivery_headers(API_KEY), timeout=5
        )
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            break
    assert statuses[-1] == 200, statuses
    report = check_membership(engage, url, API_KEY)
    assert [(m.email, m.name, m.found) for m in report.mismatches] == [
        (outsider.email, "order_completed_last_30_days", True)
    ]


def recording_destination(received: list[dict[str, Any]]) -> Starlette:
    """A destination that takes every call and keeps its body."""

    async def segment(request: Request) -> Response:
        received.append(orjson.loads(await request.body()))
        return Response(b'{"outcome":"created"}', 200, media_type="application/json")

    return Starlette(routes=[Route("/segment", segment, methods=["POST"])])


def test_engage_calls_are_received_at_their_simulated_sync_time() -> None:
    """The one place events carry simulated times: a sync on a simulated day is received then,
    not at the real moment the simulation runs."""
    engage = simulation(days=1.0, population=30)
    syncs = list(simulation(days=1.0, population=30).syncs())
    received: list[dict[str, Any]] = []
    with running_server(recording_destination(received)) as url:
        run_engage(engage, DeliveryEndpoint.at(url, API_KEY), concurrency=2, check=False)
    sync_at = {format_segment_time(sync.at): index for index, sync in enumerate(syncs)}
    assert len(received) == sum(len(sync.calls) for sync in syncs) > 0
    ends = [sync.at for sync in syncs[1:]] + [START + timedelta(days=2)]
    for message in received:
        assert message["timestamp"] == message["originalTimestamp"] in sync_at, message
        index = sync_at[message["timestamp"]]
        received_at = datetime.fromisoformat(message["receivedAt"])
        assert datetime.fromisoformat(message["timestamp"]) <= received_at < ends[index], message


def all_calls(engage: EngageSimulation) -> list[dict[str, Any]]:
    return [call for sync in engage.syncs() for call in sync.calls]


def test_the_same_seed_gives_byte_identical_calls_to_reserved_domains_only() -> None:
    first, again, other = (
        all_calls(simulation()),
        all_calls(simulation()),
        all_calls(simulation(seed=5)),
    )
    assert orjson.dumps(first) == orjson.dumps(again)
    assert {call["messageId"] for call in first}.isdisjoint(call["messageId"] for call in other)
    assert len({call["messageId"] for call in first}) == len(first), "messageIds are unique"
    domains = {call["traits"]["email"].rpartition("@")[2] for call in first + other}
    assert domains <= set(EMAIL_DOMAINS), domains


def test_a_tag_marks_every_email_and_message_id_and_nothing_else() -> None:
    untagged = all_calls(simulation())
    tagged = {tag: all_calls(simulation(tag=tag)) for tag in ("t1", "t2")}
    for tag, calls in tagged.items():
        assert all(
            call["traits"]["email"].endswith(tuple(f"+{tag}@{d}" for d in EMAIL_DOMAINS))
            for call in calls
        )
        assert all(call["messageId"].endswith(f".{tag}") for call in calls)
        untag = (
            orjson.dumps(calls)
            .replace(f"+{tag}@".encode(), b"@")
            .replace(f'.{tag}"'.encode(), b'"')
        )
        assert untag == orjson.dumps(untagged), "the tag changes emails and messageIds only"
    emails = {tag: {call["traits"]["email"] for call in calls} for tag, calls in tagged.items()}
    assert emails["t1"].isdisjoint(emails["t2"])


def test_a_tag_that_cannot_go_into_an_email_is_refused() -> None:
    with pytest.raises(SettingError) as error:
        EngageConfig(audience=AUDIENCE, tag="two words")
    assert "--tag 'two words' cannot go into an email address" in option_words(error.value)


def test_reruns_against_one_destination_get_their_own_tag_and_contacts(tmp_path: Path) -> None:
    """`simulate engage --destination` tags each run, as `nat-harness run` does."""
    store = Store(tmp_path / "nat.db")
    try:
        with running_server(create_app(store, API_KEY)) as url:
            command = [
                "simulate",
                "engage",
                "--audience",
                "VIP",
                "--population",
                "20",
                "--days",
                "0.5",
                "--destination",
                url,
                "--api-key",
                API_KEY,
                "--json",
            ]
            summaries = []
            for _ in range(2):
                result = CliRunner().invoke(app, command)
                assert result.exit_code == 0, result.output
                summaries.append(orjson.loads(result.stdout))
        tags = [summary["tag"] for summary in summaries]
        assert tags[0] != tags[1] and all(re.fullmatch(r"e[0-9a-f]{6}", tag) for tag in tags)
        assert all(summary["check"]["ok"] for summary in summaries)
        calls = summaries[0]["calls"]
        assert store.counts()["messages"] == calls + summaries[1]["calls"], "no messageId shared"
    finally:
        store.close()
