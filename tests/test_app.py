"""The reference destination over real HTTP: every status and body of the contract."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import orjson
import pytest
import requests

from reference_impl import Faults, Store, create_app, running_server
from schemas import load_schema, schema_registry
from tests.conftest import API_KEY, basic_auth

TS = "2020-05-31T17:55:47.263Z"
RECOMMENDED = {
    "type": "identify",
    "timestamp": TS,
    "traits": {"email": "peter@example.com"},
    "page": {"url": "https://example.com"},
}


def _validator(pointer: str) -> jsonschema.Draft202012Validator:
    name, _, definition = pointer.partition("#")
    return jsonschema.Draft202012Validator(
        {"$ref": f"{load_schema(name)['$id']}#{definition}"},
        registry=schema_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


SUCCESS = _validator("nat-response#/$defs/success")
ERROR = _validator("nat-response#/$defs/error")
CONTACT = _validator("nat-contact#/$defs/contact")
TIMELINE = _validator("nat-contact#/$defs/timeline")


def json_bytes(payload: Any) -> bytes:
    return orjson.dumps(payload)


def post(http: requests.Session, url: str, payload: Any, **kwargs: Any) -> requests.Response:
    return http.post(f"{url}/segment", json=payload, **kwargs)


def assert_error(response: requests.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    ERROR.validate(body)
    assert field in [error["field"] for error in body["errors"]]
    return body


def timeline(http: requests.Session, url: str, email: str) -> list[dict[str, Any]]:
    response = http.get(f"{url}/contacts/{email}/timeline")
    assert response.status_code == 200, response.text
    TIMELINE.validate(response.json())
    return response.json()["entries"]


def test_the_docs_three_formats_are_accepted(http: requests.Session, destination_url: str) -> None:
    formats = [
        RECOMMENDED,
        {"timestamp": TS, "type": "identify", "email": "test@example.com"},
        {"timestamp": TS, "type": "identify", "email": "event@example.com", "event": "Logged in"},
    ]
    bodies = [post(http, destination_url, payload).json() for payload in formats]
    for body in bodies:
        SUCCESS.validate(body)
    assert [(b["outcome"], b["description_source"]) for b in bodies] == [
        ("created", "page.url"),
        ("created", "standard"),
        ("created", "event"),
    ]


def test_a_second_call_the_same_day_is_deduplicated(
    http: requests.Session, destination_url: str
) -> None:
    first = post(http, destination_url, RECOMMENDED).json()
    later = {**RECOMMENDED, "timestamp": "2020-05-31T23:59:59Z", "page": {"url": "https://x.io"}}
    second = post(http, destination_url, later).json()
    assert (second["outcome"], second["entry_id"]) == ("deduplicated", first["entry_id"])
    entries = timeline(http, destination_url, "peter@example.com")
    assert [(e["day"], e["description"]) for e in entries] == [
        ("2020-05-31", "https://example.com")
    ]


def test_events_either_side_of_utc_midnight_make_two_entries(
    http: requests.Session, destination_url: str
) -> None:
    for timestamp in ("2020-05-31T23:30:00-00:30", "2020-06-01T01:30:00+02:00"):
        post(http, destination_url, {**RECOMMENDED, "timestamp": timestamp})
    # 23:30-00:30 is 00:00 UTC on June 1st; 01:30+02:00 is 23:30 UTC on May 31st.
    days = [e["day"] for e in timeline(http, destination_url, "peter@example.com")]
    assert days == ["2020-05-31", "2020-06-01"]


def test_case_and_whitespace_variants_are_one_contact(
    http: requests.Session, destination_url: str
) -> None:
    for email in ("Peter@Example.com", " peter@example.COM ", "PETER@EXAMPLE.COM"):
        post(http, destination_url, {**RECOMMENDED, "traits": {"email": email}})
    assert len(timeline(http, destination_url, "PeTeR@example.com")) == 1


def test_a_retried_message_id_gets_the_same_answer_marked_replayed(
    http: requests.Session, destination_url: str
) -> None:
    payload = {**RECOMMENDED, "messageId": "ajs-retry-1"}
    first = post(http, destination_url, payload).json()
    retry = post(http, destination_url, {**payload, "timestamp": "2020-07-01T00:00:00Z"}).json()
    assert retry == {**first, "replayed": True}
    assert len(timeline(http, destination_url, "peter@example.com")) == 1


def test_traits_arriving_out_of_order_end_at_the_latest_timestamp(
    http: requests.Session, destination_url: str
) -> None:
    for timestamp, member in (("2020-05-31T15:00:00Z", False), ("2020-05-31T09:00:00Z", True)):
        traits = {"email": "peter@example.com", "order_completed_last_30_days": member}
        post(http, destination_url, {**RECOMMENDED, "timestamp": timestamp, "traits": traits})
    contact = http.get(f"{destination_url}/contacts/peter@example.com").json()
    CONTACT.validate(contact)
    assert contact["properties"]["order_completed_last_30_days"]["value"] is False


def test_32_concurrent_posts_for_one_contact_and_day_make_one_entry(
    destination_url: str,
) -> None:
    def send(i: int) -> dict[str, Any]:
        payload = {**RECOMMENDED, "messageId": f"burst-{i}"}
        response = requests.post(f"{destination_url}/segment", json=payload, headers=basic_auth())
        return response.json()

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(send, range(32)))
    assert [a["outcome"] for a in answers].count("created") == 1
    with requests.Session() as http:
        http.headers.update(basic_auth())
        assert len(timeline(http, destination_url, "peter@example.com")) == 1


@pytest.mark.parametrize(
    ("payload", "status", "field", "message_start"),
    [
        ({"type": "identify", "timestamp": TS}, 400, "traits.email", "Missing email address"),
        ({"type": "identify", "email": "a@b.co"}, 400, "timestamp", "Missing timestamp"),
        ({"type": "identify", "timestamp": TS, "email": "nope"}, 400, "email", "email is not a"),
        ({"type": "track", "event": "Order Completed"}, 501, "type", "Nat only accepts identify"),
        ("just a string", 400, "body", "Body must be a JSON object"),
    ],
    ids=["missing-email", "missing-timestamp", "invalid-email", "track", "string-body"],
)
def test_malformed_messages_get_a_4xx_or_501_naming_the_field(
    http: requests.Session,
    destination_url: str,
    payload: Any,
    status: int,
    field: str,
    message_start: str,
) -> None:
    body = assert_error(post(http, destination_url, payload), status, field)
    assert body["message"].startswith(message_start)
    assert http.get(f"{destination_url}/stats").json()["timeline"] == 0


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        (b"", {"Content-Type": "application/json"}, 400),
        (b"{oops", {"Content-Type": "application/json"}, 400),
        (b"{}", {"Content-Type": "text/plain"}, 415),
        (b"x" * 70_000, {"Content-Type": "application/json"}, 413),
    ],
    ids=["empty", "not-json", "text-plain", "over-64kb"],
)
def test_bodies_are_refused_with_json_errors(
    http: requests.Session, destination_url: str, data: bytes, headers: dict[str, str], status: int
) -> None:
    assert_error(
        http.post(f"{destination_url}/segment", data=data, headers=headers), status, "body"
    )


def test_a_chunked_body_over_64kb_is_refused(http: requests.Session, destination_url: str) -> None:
    chunks: Iterator[bytes] = (b"x" * 8192 for _ in range(9))
    response = http.post(f"{destination_url}/segment", data=chunks)
    assert_error(response, 413, "body")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "missing_key"),
        ("Basic " + base64.b64encode(b"wrong:").decode(), "wrong_key"),
        ("Bearer wrong", "wrong_key"),
        ("Basic !!!", "malformed_authorization"),
        ("Digest abc", "malformed_authorization"),
    ],
    ids=["none", "wrong-basic", "wrong-bearer", "bad-base64", "other-scheme"],
)
def test_requests_without_the_key_get_401(
    destination_url: str, authorization: str | None, code: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.post(f"{destination_url}/segment", json=RECOMMENDED, headers=headers)
    body = assert_error(response, 401, "Authorization")
    assert body["errors"][0]["code"] == code
    assert API_KEY not in response.text


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode(),
        "Basic " + base64.b64encode(API_KEY.encode()).decode(),
        f"Bearer {API_KEY}",
    ],
    ids=["basic-as-segment-sends", "basic-without-colon", "bearer"],
)
def test_the_key_is_accepted_as_basic_or_bearer(destination_url: str, authorization: str) -> None:
    response = requests.post(
        f"{destination_url}/segment", json=RECOMMENDED, headers={"Authorization": authorization}
    )
    assert response.status_code == 200, response.text


def test_the_read_api_needs_the_key_too(destination_url: str) -> None:
    for path in ("/stats", "/contacts/a@b.co", "/contacts/a@b.co/timeline"):
        assert_error(requests.get(f"{destination_url}{path}"), 401, "Authorization")
    assert_error(requests.post(f"{destination_url}/reset"), 401, "Authorization")


def test_unknown_paths_and_methods_get_json_404_and_405(
    http: requests.Session, destination_url: str
) -> None:
    assert_error(http.get(f"{destination_url}/nope"), 404, "path")
    body = assert_error(http.get(f"{destination_url}/segment"), 405, "method")
    assert "use POST" in body["message"]
    assert_error(http.get(f"{destination_url}/contacts/nobody@example.com"), 404, "email")


def test_reset_empties_the_destination(http: requests.Session, destination_url: str) -> None:
    post(http, destination_url, RECOMMENDED)
    assert http.post(f"{destination_url}/reset").status_code == 200
    assert http.get(f"{destination_url}/stats").json() == {
        "contacts": 0,
        "timeline": 0,
        "messages": 0,
    }


def test_day_zone_option_moves_the_day_boundary(store: Store) -> None:
    app = create_app(store, API_KEY, day_zone=ZoneInfo("America/New_York"))
    with running_server(app) as url, requests.Session() as http:
        http.headers.update(basic_auth())
        # 02:00 UTC on June 1st is still May 31st in New York, like 20:00 UTC.
        for timestamp in ("2020-05-31T20:00:00Z", "2020-06-01T02:00:00Z"):
            post(http, url, {**RECOMMENDED, "timestamp": timestamp})
        assert [e["day"] for e in timeline(http, url, "peter@example.com")] == ["2020-05-31"]


def test_injected_failures_store_nothing(store: Store) -> None:
    app = create_app(store, API_KEY, faults=Faults(fail_rate=1.0, fail_status=503))
    with running_server(app) as url, requests.Session() as http:
        http.headers.update(basic_auth())
        assert_error(post(http, url, RECOMMENDED), 503, "body")
    assert store.counts()["timeline"] == 0


def _nested(depth: int, leaf: str = '"x"') -> str:
    """JSON text of `leaf` inside `depth` arrays (orjson cannot write past 254 levels)."""
    return "[" * depth + leaf + "]" * depth


def _identify_with(field_json: str, email: str = "deep@example.com") -> bytes:
    """The recommended call plus one raw JSON member (`"name": value`)."""
    return (
        f'{{"type":"identify","timestamp":"{TS}","traits":{{"email":"{email}"}},{field_json}}}'
    ).encode()


@pytest.mark.parametrize(
    ("member", "field"),
    [
        (f'"url":{_nested(1000)}', "url"),
        (f'"page":{{"url":{_nested(600)}}}', "page.url"),
        (f'"context":{{"page":{{"url":{_nested(990)}}}}}', "context.page.url"),
        (f'"event":{_nested(1020)}', "event"),
        (f'"url":{_nested(254)}', "url"),
    ],
    ids=["url-1000", "page-url-600", "context-page-url-990", "event-1020", "url-just-over"],
)
def test_values_nested_past_the_limit_get_400_naming_the_field(
    http: requests.Session, destination_url: str, member: str, field: str
) -> None:
    response = http.post(
        f"{destination_url}/segment",
        data=_identify_with(member),
        headers={"Content-Type": "application/json"},
    )
    body = assert_error(response, 400, field)
    assert body["errors"][0]["code"] == "too_deep"
    assert http.get(f"{destination_url}/stats").json()["timeline"] == 0


def test_a_deep_value_within_the_limit_is_a_warning_not_an_error(
    http: requests.Session, destination_url: str
) -> None:
    # The body and 253 arrays: 254 levels, the most the serializer takes.
    response = http.post(
        f"{destination_url}/segment",
        data=_identify_with(f'"event":{_nested(253)}'),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert [w["field"] for w in response.json()["warnings"]] == ["event"]


def test_bad_events_sent_alongside_valid_ones_fail_alone(store: Store) -> None:
    """Concurrent requests share a group commit: events no store can hold must not fail it."""
    valid = [
        json_bytes({**RECOMMENDED, "traits": {"email": f"ok-{n}@example.com", "n": n}})
        for n in range(48)
    ]
    bad = [_identify_with(f'"traits":{{"email":"bad@example.com","deep":{_nested(300)}}}')] * 48
    bodies = [body for pair in zip(valid, bad, strict=True) for body in pair]
    with running_server(create_app(store, API_KEY)) as url:

        def send(body: bytes) -> requests.Response:
            return requests.post(
                f"{url}/segment",
                data=body,
                headers={**basic_auth(), "Content-Type": "application/json"},
            )

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(send, bodies))
    assert [a.status_code for a in answers] == [200, 400] * 48, [a.text for a in answers]
    for refused in answers[1::2]:
        assert [e["field"] for e in refused.json()["errors"]] == ["traits.deep"]
    assert store.counts()["timeline"] == 48
    found = store.contact("ok-47@example.com")
    assert found is not None and found.properties["n"].value == 47


@pytest.mark.parametrize(
    "authorization",
    [b"Basic \xff", "Basic é".encode(), b"Basic \xe9", b"Bearer \xff\xfe", b"Basic w6k6\xff"],
    ids=["basic-ff", "basic-utf8-e-acute", "basic-latin1-e-acute", "bearer-not-utf8", "trailing"],
)
def test_non_ascii_credentials_get_401_on_every_route(
    destination_url: str, authorization: bytes
) -> None:
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    routes = [
        ("POST", "/segment"),
        ("GET", "/contacts/peter@example.com"),
        ("GET", "/contacts/peter@example.com/timeline"),
        ("POST", "/reset"),
    ]
    for method, path in routes:
        response = requests.request(
            method, f"{destination_url}{path}", data=json_bytes(RECOMMENDED), headers=headers
        )
        body = assert_error(response, 401, "Authorization")
        assert body["errors"][0]["code"] == "malformed_authorization"


@pytest.mark.parametrize(
    "path", ["/segment/", "/health/", "/stats/", "/contacts/a@b.co/timeline/", "/openapi.json/"]
)
def test_a_trailing_slash_gets_a_json_404_not_a_redirect(
    http: requests.Session, destination_url: str, path: str
) -> None:
    method = "POST" if path == "/segment/" else "GET"
    response = http.request(
        method, f"{destination_url}{path}", json=RECOMMENDED, allow_redirects=False
    )
    if path.startswith("/contacts/"):  # {email:path} takes the slash: no such contact
        assert_error(response, 404, "email")
        return
    body = assert_error(response, 404, "path")
    assert "/segment" in body["message"]


def test_health_answers_anyone_the_same_and_reveals_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, API_KEY)) as url:
        before = requests.get(f"{url}/health")
        requests.post(f"{url}/segment", json=RECOMMENDED, headers=basic_auth())
        answers = [
            requests.get(f"{url}/health", headers=headers)
            for headers in ({}, basic_auth(), basic_auth("wrong"), {"Authorization": "Basic \xff"})
        ]
        counts = requests.get(f"{url}/stats", headers=basic_auth()).json()
        store.close()  # /health never touches the store: it still answers
        after_close = requests.get(f"{url}/health")
    for answer in [before, *answers, after_close]:
        assert (answer.status_code, answer.headers["content-type"]) == (200, "application/json")
        assert answer.content == b'{"status":"ok"}'
    assert counts == {"contacts": 1, "timeline": 1, "messages": 0}


def test_stats_count_what_the_store_holds(http: requests.Session, destination_url: str) -> None:
    for n, day in enumerate(("2020-05-31", "2020-05-31", "2020-06-01")):
        payload = {**RECOMMENDED, "timestamp": f"{day}T10:00:00Z", "messageId": f"m-{n}"}
        post(http, destination_url, payload)
    post(http, destination_url, {**RECOMMENDED, "traits": {"email": "bo@example.com"}})
    post(http, destination_url, {**RECOMMENDED, "messageId": "m-0"})  # a replay
    stats = http.get(f"{destination_url}/stats")
    assert stats.json() == {"contacts": 2, "timeline": 3, "messages": 3}
