"""The tracking API answers as Segment's does: limits, gzip, write keys, and the journal routes."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from harness.segment import (
    DeliveryEndpoint,
    SegmentSimulator,
    SegmentSimulatorConfig,
    running_simulator,
)
from reference_impl import Store, create_app, running_server
from tests.conftest import API_KEY, basic_auth
from tests.helpers import segment_identify

WRITE_KEY = "segment-write-key"

# Each test gets its own destination and simulator: what one test sends never shows in another's
# journal, counts or store.


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    fresh = Store(tmp_path / "nat.db")
    yield fresh
    fresh.close()


@pytest.fixture
def destination_url(store: Store) -> Iterator[str]:
    with running_server(create_app(store, API_KEY)) as url:
        yield url


def make_simulator(destination_url: str, **config: Any) -> SegmentSimulator:
    return SegmentSimulator(
        SegmentSimulatorConfig(
            DeliveryEndpoint.at(destination_url, API_KEY), concurrency=4, **config
        )
    )


@pytest.fixture
def simulator(destination_url: str) -> SegmentSimulator:
    return make_simulator(destination_url)


@pytest.fixture
def tracking_api(simulator: SegmentSimulator) -> Iterator[str]:
    with running_simulator(simulator) as url:
        yield url


@pytest.fixture
def guarded_tracking_api(destination_url: str) -> Iterator[str]:
    """A tracking API that takes only WRITE_KEY."""
    with running_simulator(make_simulator(destination_url, write_key=WRITE_KEY)) as url:
        yield url


identify = partial(segment_identify, person="person")


def journal(url: str, **query: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{url}/journal", params=query, timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["entries"]


def test_identify_reaches_the_destination(
    tracking_api: str, simulator: SegmentSimulator, store: Store
) -> None:
    answer = requests.post(
        f"{tracking_api}/v1/identify", json=identify("one"), auth=(WRITE_KEY, ""), timeout=5
    )
    assert (answer.status_code, answer.json()) == (200, {"success": True})
    assert simulator.wait_until_idle(10)
    entries = store.timeline("person-one@example.com")
    assert entries is not None and [entry.message_id for entry in entries] == ["message-one"]
    assert [e["status"] for e in journal(tracking_api, messageId="message-one")] == [
        "accepted",
        "delivered",
    ]


def test_track_is_acknowledged_but_filtered(
    tracking_api: str, simulator: SegmentSimulator, store: Store
) -> None:
    event = {
        "userId": "u1",
        "event": "Order Completed",
        "messageId": "track-1",
        "writeKey": "w",
        "traits": {"email": "tracked@example.com"},
    }
    answer = requests.post(f"{tracking_api}/v1/track", json=event, timeout=5)
    assert answer.status_code == 200
    assert simulator.wait_until_idle(10)
    entries = journal(tracking_api, messageId="track-1")
    assert [(e["status"], e["type"], e["reason"]) for e in entries] == [
        ("accepted", "track", None),
        ("filtered", "track", "type"),
    ]
    assert store.contact("tracked@example.com") is None


def test_gzip_batch_is_accepted(
    tracking_api: str, simulator: SegmentSimulator, store: Store
) -> None:
    body = gzip.compress(
        orjson.dumps({"batch": [identify(f"gz{n}") for n in range(5)], "writeKey": WRITE_KEY})
    )
    answer = requests.post(
        f"{tracking_api}/v1/batch",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    assert simulator.wait_until_idle(10)
    for number in range(5):
        assert store.contact(f"person-gz{number}@example.com") is not None


@pytest.mark.parametrize(
    ("path", "body", "headers", "code"),
    [
        ("/v1/identify", b"{not json", {}, "invalid_json"),
        ("/v1/batch", b'{"batch": [', {}, "invalid_json"),
        ("/v1/identify", b"[1, 2]", {}, "invalid_request"),
        ("/v1/batch", b'{"batch": {"type": "identify"}}', {}, "invalid_request"),
        ("/v1/batch", b"not gzip at all", {"Content-Encoding": "gzip"}, "invalid_request"),
        ("/v1/batch", gzip.compress(b'{"batch": []}')[:-8], {"Content-Encoding": "gzip"}, None),
        ("/v1/batch", b'{"batch": []}', {"Content-Encoding": "br"}, "invalid_request"),
        (
            "/v1/identify",
            orjson.dumps(identify(1, traits={"blob": "x" * 33_000})),
            {},
            "payload_too_large",
        ),
        (
            "/v1/batch",
            orjson.dumps({"batch": [identify(n, traits={"b": "x" * 20_000}) for n in range(26)]}),
            {},
            "payload_too_large",
        ),
        (
            "/v1/batch",
            orjson.dumps({"batch": [identify(1, traits={"blob": "x" * 33_000})]}),
            {},
            "payload_too_large",
        ),
        ("/v1/batch", orjson.dumps({"batch": [{}] * 2501}), {}, "payload_too_large"),
        (
            "/v1/batch",
            gzip.compress(orjson.dumps({"batch": [identify(1)] * 2000, "pad": "x" * 600_000})),
            {"Content-Encoding": "gzip"},
            "payload_too_large",
        ),
    ],
    ids=[
        "invalid-json",
        "invalid-json-batch",
        "not-an-object",
        "batch-not-an-array",
        "bad-gzip",
        "truncated-gzip",
        "unsupported-encoding",
        "event-over-32kb",
        "batch-over-500kb",
        "batch-event-over-32kb",
        "over-2500-events",
        "gzip-bomb-over-500kb",
    ],
)
def test_bad_requests_get_400_with_a_code_and_message(
    tracking_api: str, path: str, body: bytes, headers: dict[str, str], code: str | None
) -> None:
    answer = requests.post(
        f"{tracking_api}{path}",
        data=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["success"] is False
    assert error["message"]
    if code is not None:
        assert error["code"] == code


def test_batch_limits_are_inclusive(tracking_api: str) -> None:
    answer = requests.post(
        f"{tracking_api}/v1/batch",
        json={"batch": [{"type": "track"}] * 2500},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("auth", "body_key", "status"),
    [
        ((WRITE_KEY, ""), None, 200),
        (None, WRITE_KEY, 200),
        (("wrong", ""), None, 401),
        (None, "wrong", 401),
        (None, None, 401),
    ],
    ids=["basic", "in-body", "wrong-basic", "wrong-in-body", "missing"],
)
def test_write_key_is_checked_when_configured(
    guarded_tracking_api: str,
    auth: tuple[str, str] | None,
    body_key: str | None,
    status: int,
) -> None:
    event = identify("key") if body_key is None else identify("key", writeKey=body_key)
    answer = requests.post(f"{guarded_tracking_api}/v1/identify", json=event, auth=auth, timeout=5)
    assert answer.status_code == status, answer.text
    if status == 401:
        assert answer.json()["code"] == "unauthorized"


def test_any_write_key_passes_when_none_is_configured(tracking_api: str) -> None:
    answer = requests.post(f"{tracking_api}/v1/identify", json=identify(1), timeout=5)
    assert answer.status_code == 200


def test_journal_route_filters_and_validates(
    tracking_api: str, simulator: SegmentSimulator
) -> None:
    before = simulator.journal.counts()
    events = [identify(f"j{n}") for n in range(3)] + [{"type": "page", "anonymousId": "a"}]
    requests.post(f"{tracking_api}/v1/batch", json={"batch": events}, timeout=5)
    assert simulator.wait_until_idle(10)
    delivered = journal(tracking_api, status="delivered", limit="3")
    assert sorted(entry["messageId"] for entry in delivered) == [f"message-j{n}" for n in range(3)]
    assert len(journal(tracking_api, status="accepted", limit="2")) == 2
    for query in ({"status": "lost"}, {"limit": "ten"}):
        answer = requests.get(f"{tracking_api}/journal", params=query, timeout=5)
        assert answer.status_code == 400
        assert answer.json()["message"]
    status = requests.get(f"{tracking_api}/status", timeout=5).json()
    assert status["outstanding"] == 0
    assert status["counts"]["accepted"] - before["accepted"] == 4
    assert status["counts"]["filtered"] - before["filtered"] == 1


def test_unknown_route_and_method_get_json_errors(tracking_api: str) -> None:
    missing = requests.post(f"{tracking_api}/v1/purchase", json={}, timeout=5)
    assert missing.status_code == 404
    assert "POST /v1/identify" in missing.json()["message"]
    wrong_method = requests.get(f"{tracking_api}/v1/identify", timeout=5)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["success"] is False


def test_reference_read_api_sees_delivered_traits(
    tracking_api: str, simulator: SegmentSimulator, destination_url: str
) -> None:
    event = identify("pro", traits={"email": "person-pro@example.com", "plan": "pro"})
    requests.post(f"{tracking_api}/v1/identify", json=event, timeout=5)
    assert simulator.wait_until_idle(10)
    contact = requests.get(
        f"{destination_url}/contacts/person-pro@example.com", headers=basic_auth(), timeout=5
    ).json()
    assert contact["properties"]["plan"]["value"] == "pro"


# Nothing a client sends gets a 5xx or loses an event (issue 8, item 4).


def nested(depth: int) -> Any:
    """A JSON value `depth` arrays deep."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "fields",
    [
        {"originalTimestamp": "0001-01-01T00:00:00+01:00"},
        {"timestamp": "9999-12-31T23:59:59-01:00"},
        {"originalTimestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z"},
        {"originalTimestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00:00Z"},
    ],
    ids=["before-year-one-in-utc", "after-year-9999-in-utc", "correction-under", "correction-over"],
)
def test_out_of_range_times_are_acknowledged_and_delivered(
    tracking_api: str, simulator: SegmentSimulator, store: Store, fields: dict[str, Any]
) -> None:
    """Segment takes an event whatever its times; one it cannot correct keeps its receipt time."""
    event = identify("old", **fields)
    answer = requests.post(f"{tracking_api}/v1/identify", json=event, timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"success": True})
    assert simulator.wait_until_idle(10)
    [accepted, outcome] = journal(tracking_api, messageId="message-old")
    assert accepted["status"] == "accepted"
    assert outcome["status"] in ("delivered", "dropped"), outcome  # the destination's own call


def test_a_batch_with_an_event_nested_too_deep_is_refused_whole_and_its_retry_delivers(
    tracking_api: str, simulator: SegmentSimulator, store: Store
) -> None:
    """Before: the events ahead of the bad one were journaled and remembered but never queued,
    so the client's retry was filtered as a duplicate and they never arrived."""
    good = [identify(f"deep{n}") for n in range(3)]
    bad = identify("deep-bad", traits={"email": "deep-bad@example.com", "tree": nested(300)})
    before = simulator.journal.counts()
    answer = requests.post(
        f"{tracking_api}/v1/batch", json={"batch": [*good[:2], bad, good[2]]}, timeout=5
    )
    assert answer.status_code == 400, answer.text
    refusal = answer.json()
    assert refusal["success"] is False and refusal["code"] == "invalid_request"
    assert refusal["message"].startswith("batch[2].traits nests deeper than 255 levels")
    assert simulator.journal.counts() == before, "nothing of a refused batch is journaled"
    retry = requests.post(f"{tracking_api}/v1/batch", json={"batch": good}, timeout=5)
    assert retry.status_code == 200, retry.text
    assert simulator.wait_until_idle(10)
    for number in range(3):
        statuses = [e["status"] for e in journal(tracking_api, messageId=f"message-deep{number}")]
        assert statuses == ["accepted", "delivered"], statuses
        assert store.contact(f"person-deep{number}@example.com") is not None


@pytest.mark.parametrize(
    ("depth", "code", "message"),
    [
        (300, "invalid_request", "traits nests deeper than 255 levels"),
        (1100, "invalid_json", "the body is not valid JSON"),
    ],
    ids=["past-the-serializer", "past-the-parser"],
)
def test_a_single_event_nested_too_deep_gets_400_naming_the_field(
    tracking_api: str, simulator: SegmentSimulator, depth: int, code: str, message: str
) -> None:
    body = orjson.dumps(identify("deep")).replace(
        b'"traits":{', b'"traits":{"tree":' + b"[" * depth + b"]" * depth + b","
    )
    answer = requests.post(
        f"{tracking_api}/v1/identify",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 400, answer.text
    assert (answer.json()["code"], answer.json()["message"][: len(message)]) == (code, message)
    assert simulator.journal.counts()["accepted"] == 0


def test_events_nested_just_within_the_limit_are_delivered(
    tracking_api: str, simulator: SegmentSimulator, store: Store
) -> None:
    event = identify("shallow", traits={"email": "person-shallow@example.com", "t": nested(250)})
    answer = requests.post(f"{tracking_api}/v1/identify", json=event, timeout=5)
    assert answer.status_code == 200, answer.text
    assert simulator.wait_until_idle(10)
    assert "accepted" in [e["status"] for e in journal(tracking_api, messageId="message-shallow")]


@pytest.mark.parametrize(
    "authorization",
    [b"Basic \xff", "Basic é".encode(), b"Basic \xc3\xa9\xff==", b"Basic"],
    ids=["latin-1-byte", "utf-8-letter", "mixed", "no-credentials"],
)
def test_unreadable_basic_credentials_get_401_from_a_guarded_api(
    guarded_tracking_api: str, authorization: bytes
) -> None:
    answer = requests.post(
        f"{guarded_tracking_api}/v1/identify",
        data=orjson.dumps(identify("bytes")),
        headers={"Content-Type": "application/json", "Authorization": authorization},  # type: ignore[dict-item]
        timeout=5,
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "unauthorized"


def test_unreadable_basic_credentials_pass_when_any_key_does(tracking_api: str) -> None:
    answer = requests.post(
        f"{tracking_api}/v1/identify",
        data=orjson.dumps(identify("bytes")),
        headers={"Content-Type": "application/json", "Authorization": b"Basic \xff"},  # type: ignore[dict-item]
        timeout=5,
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "authorization",
    [b"Basic \xff", "Basic é".encode(), b"Basic \xe9", b"Basic w6k6\xff"],
    ids=["basic-ff", "basic-utf8-e-acute", "basic-latin1-e-acute", "trailing-byte"],
)
def test_unreadable_basic_credentials_get_401_not_500(
    guarded_tracking_api: str, authorization: bytes
) -> None:
    for path in ("/v1/identify", "/v1/batch"):
        payload = {"batch": [identify("bad-auth")]} if path == "/v1/batch" else identify("x")
        answer = requests.post(
            f"{guarded_tracking_api}{path}",
            data=orjson.dumps(payload),
            headers={"Authorization": authorization, "Content-Type": "application/json"},
            timeout=5,
        )
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "unauthorized"
