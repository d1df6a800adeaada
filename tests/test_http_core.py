"""The pure HTTP answers: they agree with the served app, request by request, status and body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from contract.limits import MAX_BODY_BYTES
from reference_impl import Accepted, Store, create_app, running_server
from reference_impl.http_core import (
    Answer,
    authorize,
    handle_segment,
    header_value,
    judge_segment,
    read_contact,
    read_health,
    read_stats,
    read_timeline,
    reset_store,
)
from tests.conftest import API_KEY, basic_auth

TS = "2020-05-31T17:55:47.263Z"
JSON = {"Content-Type": "application/json"}
SEGMENT = {**basic_auth(), **JSON}
IDENTIFY = {"type": "identify", "timestamp": TS, "traits": {"email": "Peter@Example.com"}}


def _json(payload: Any) -> bytes:
    return orjson.dumps(payload)


#: Each case is a list of (headers, body) POSTed in order to a fresh destination.
SEGMENT_CASES: dict[str, list[tuple[dict[str, str], bytes]]] = {
    "no-authorization": [(JSON, _json(IDENTIFY))],
    "wrong-key": [({**basic_auth("nope"), **JSON}, _json(IDENTIFY))],
    "bearer-key": [({"Authorization": f"Bearer {API_KEY}", **JSON}, _json(IDENTIFY))],
    "unreadable-basic": [({"Authorization": "Basic %%%", **JSON}, _json(IDENTIFY))],
    "unknown-scheme": [({"Authorization": f"Token {API_KEY}", **JSON}, _json(IDENTIFY))],
    "lowercase-header-names": [
        ({k.lower(): v for k, v in SEGMENT.items()}, _json(IDENTIFY)),
    ],
    "not-json-content-type": [({**basic_auth(), "Content-Type": "text/plain"}, b"{}")],
    "oversized-and-wrong-type": [
        ({**basic_auth(), "Content-Type": "text/plain"}, b"x" * (MAX_BODY_BYTES + 1))
    ],
    "oversized": [(SEGMENT, b" " * (MAX_BODY_BYTES + 1))],
    "empty-body": [(SEGMENT, b"")],
    "not-json": [(SEGMENT, b"{nope")],
    "not-an-object": [(SEGMENT, b"[1, 2]")],
    "track-call": [(SEGMENT, _json({**IDENTIFY, "type": "track"}))],
    "missing-email": [(SEGMENT, _json({"type": "identify", "timestamp": TS}))],
    "accepted-with-bad-url-warning": [(SEGMENT, _json({**IDENTIFY, "url": "not a url"}))],
    "same-day-deduplicated": [
        (SEGMENT, _json(IDENTIFY)),
        (SEGMENT, _json({**IDENTIFY, "event": "Later", "timestamp": "2020-05-31T23:00:00Z"})),
    ],
    "retry-replayed": [
        (SEGMENT, _json({**IDENTIFY, "messageId": "m-1"})),
        (SEGMENT, _json({**IDENTIFY, "messageId": "m-1", "timestamp": "2021-01-01T00:00:00Z"})),
    ],
}

#: Read API requests (method, path, headers) made after one accepted identify.
READ_CASES: dict[str, tuple[str, str, dict[str, str]]] = {
    "contact": ("GET", "/contacts/PETER@example.com", basic_auth()),
    "timeline": ("GET", "/contacts/peter@example.com/timeline", basic_auth()),
    "unknown-contact": ("GET", "/contacts/nobody@example.com", basic_auth()),
    "unknown-timeline": ("GET", "/contacts/nobody@example.com/timeline", basic_auth()),
    "health": ("GET", "/health", {}),
    "health-with-key": ("GET", "/health", basic_auth()),
    "health-with-a-wrong-key": ("GET", "/health", basic_auth("nope")),
    "stats": ("GET", "/stats", basic_auth()),
    "stats-without-key": ("GET", "/stats", {}),
    "reset-wrong-key": ("POST", "/reset", basic_auth("nope")),
    "reset": ("POST", "/reset", basic_auth()),
}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Store]]:
    """One app for the module, over an in-memory store each test resets."""
    store = Store()
    with running_server(create_app(store, API_KEY)) as url:
        yield url, store
    store.close()


@pytest.fixture
def app_url(served: tuple[str, Store]) -> str:
    url, store = served
    store.reset()
    return url


def _served_answer(response: requests.Response) -> Answer:
    assert response.headers["content-type"] == "application/json"
    return Answer(response.status_code, response.json())


def _core_read(store: Store, method: str, path: str, headers: dict[str, str]) -> Answer:
    if path == "/health":
        return read_health()
    denied = authorize(headers, API_KEY)
    if denied is not None:
        return denied
    if method == "POST":
        return reset_store(store)
    if path == "/stats":
        return read_stats(store)
    email = path.removeprefix("/contacts/")
    if email.endswith("/timeline"):
        return read_timeline(store, email.removesuffix("/timeline"))
    return read_contact(store, email)


@pytest.mark.parametrize("case", list(SEGMENT_CASES), ids=str)
def test_post_segment_answers_like_the_served_app(app_url: str, case: str) -> None:
    core_store = Store()
    for headers, body in SEGMENT_CASES[case]:
        served = _served_answer(requests.post(f"{app_url}/segment", data=body, headers=headers))
        assert handle_segment(core_store, API_KEY, headers, body) == served
    core_store.close()


@pytest.mark.parametrize("case", list(READ_CASES), ids=str)
def test_read_api_answers_like_the_served_app(app_url: str, case: str) -> None:
    method, path, headers = READ_CASES[case]
    core_store = Store()
    for url_store in (None, core_store):
        body = _json(IDENTIFY)
        if url_store is None:
            requests.post(f"{app_url}/segment", data=body, headers=SEGMENT)
        else:
            handle_segment(url_store, API_KEY, SEGMENT, body)
    served = _served_answer(requests.request(method, f"{app_url}{path}", headers=headers))
    assert _core_read(core_store, method, path, headers) == served
    core_store.close()


def test_an_accepted_call_is_recorded_in_the_store() -> None:
    store = Store()
    answer = handle_segment(store, API_KEY, SEGMENT, _json(IDENTIFY))
    assert (answer.status, answer.body["outcome"], answer.body["contact"]) == (
        200,
        "created",
        "peter@example.com",
    )
    assert [entry.day for entry in store.timeline("peter@example.com") or []] == ["2020-05-31"]
    store.close()


def test_a_refused_call_changes_nothing() -> None:
    store = Store()
    answer = handle_segment(store, "other-key", SEGMENT, _json(IDENTIFY))
    assert answer.status == 401
    assert answer.body["errors"][0]["code"] == "wrong_key"
    assert store.counts() == {"contacts": 0, "timeline": 0, "messages": 0}
    store.close()


def test_header_names_are_case_insensitive() -> None:
    headers = {"CONTENT-type": "application/json"}
    assert header_value(headers, "Content-Type") == "application/json"
    assert header_value(headers, "authorization") is None


def test_the_verdict_comes_before_the_store() -> None:
    verdict = judge_segment(_json(IDENTIFY), "application/json")
    assert isinstance(verdict, Accepted)
    assert (verdict.contact_key, verdict.day.isoformat()) == ("peter@example.com", "2020-05-31")
    refused = judge_segment(b"x" * (MAX_BODY_BYTES + 1), "text/plain")
    assert refused == Answer(413, refused.body)
    assert refused.body["errors"][0]["code"] == "too_large"
