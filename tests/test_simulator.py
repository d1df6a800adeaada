"""The `responses` simulator: the reference destination's answers and state, with no network."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import responses

from harness.errors import UsageError
from harness.nat_simulator import DEFAULT_BASE_URL, NatSimulator
from reference_impl import Store, create_app, running_server
from tests.conftest import basic_auth

KEY = "sim-key"
AUTH = basic_auth(KEY)
TS = "2020-05-31T17:55:47.263Z"
IDENTIFY = {
    "type": "identify",
    "timestamp": TS,
    "messageId": "m-1",
    "traits": {"email": "Peter@Example.com", "plan": "pro"},
    "page": {"url": "https://example.com/pricing"},
}


#: A session of requests (method, path, headers, JSON body or raw bytes) covering every route
#: and the main answers; sent in order, so later ones see the state earlier ones made.
SCRIPT: list[tuple[str, str, dict[str, str], Any]] = [
    ("POST", "/segment", {}, IDENTIFY),
    ("POST", "/segment", basic_auth("wrong"), IDENTIFY),
    ("POST", "/segment", AUTH, IDENTIFY),
    ("POST", "/segment", AUTH, IDENTIFY),
    ("POST", "/segment", AUTH, {**IDENTIFY, "messageId": "m-2", "event": "Later"}),
    ("POST", "/segment", AUTH, {**IDENTIFY, "messageId": "m-3", "timestamp": "2020-06-01"}),
    ("POST", "/segment", AUTH, {**IDENTIFY, "type": "track", "messageId": "m-4"}),
    ("POST", "/segment", {**AUTH, "Content-Type": "text/plain"}, b"{}"),
    ("POST", "/segment", AUTH, b"{not json"),
    ("POST", "/segment", AUTH, b"x" * 70_000),
    ("POST", "/segment", {"Authorization": f"Bearer {KEY}"}, {**IDENTIFY, "messageId": None}),
    ("GET", "/contacts/peter@example.com", AUTH, None),
    ("GET", "/contacts/PETER%40example.com/timeline?fresh=1", AUTH, None),
    ("GET", "/contacts/nobody@example.com/timeline", AUTH, None),
    ("GET", "/contacts/peter@example.com", {}, None),
    ("GET", "/health", {}, None),
    ("GET", "/stats", AUTH, None),
    ("GET", "/stats", {}, None),
    ("GET", "/openapi.json", {}, None),
    ("POST", "/reset", basic_auth("wrong"), None),
    ("POST", "/reset", AUTH, None),
    ("GET", "/health", basic_auth("wrong"), None),
    ("GET", "/stats", AUTH, None),
]


def _send(session: requests.Session, base: str, step: tuple[str, str, dict[str, str], Any]) -> Any:
    method, path, headers, body = step
    kwargs: dict[str, Any] = {"headers": headers}
    if isinstance(body, bytes):
        kwargs["data"] = body
    elif body is not None:
        kwargs["json"] = body
    response = session.request(method, base + path, **kwargs)
    return response.status_code, response.headers["Content-Type"], response.json()


@pytest.fixture
def nat() -> Iterator[NatSimulator]:
    simulator = NatSimulator(api_key=KEY)
    with simulator:
        yield simulator
    simulator.close()


def test_every_answer_is_the_served_reference_destinations() -> None:
    store = Store()
    with running_server(create_app(store, KEY)) as url, requests.Session() as session:
        served = [_send(session, url, step) for step in SCRIPT]
    store.close()
    with NatSimulator(api_key=KEY) as nat, requests.Session() as session:
        simulated = [_send(session, DEFAULT_BASE_URL, step) for step in SCRIPT]
    nat.close()
    for step, mine, theirs in zip(SCRIPT, simulated, served, strict=True):
        assert mine == theirs, f"{step[0]} {step[1]}"
    # The script did reach the store: something was created, and then reset.
    assert [status for status, _, _ in simulated[:3]] == [401, 401, 200]
    assert simulated[-1][2]["contacts"] == 0


def test_state_and_calls_are_readable_for_assertions(nat: NatSimulator) -> None:
    first = requests.post(nat.endpoint, json=IDENTIFY, headers={"Authorization": nat.authorization})
    requests.post(nat.endpoint, json={**IDENTIFY, "messageId": "m-2", "traits": {
        "email": "peter@example.com", "plan": "free"}}, headers=AUTH)  # fmt: skip
    assert first.json()["outcome"] == "created"
    assert [(e["day"], e["description"]) for e in nat.timeline(" PETER@example.com")] == [
        ("2020-05-31", "https://example.com/pricing")
    ]
    contact = nat.contact("peter@example.com")
    assert contact is not None
    assert contact["properties"]["plan"]["value"] == "free"
    assert nat.timeline("nobody@example.com") == []
    assert nat.contact("nobody@example.com") is None
    assert [(c.route, c.status, c.answer["outcome"]) for c in nat.calls] == [
        ("POST /segment", 200, "created"),
        ("POST /segment", 200, "deduplicated"),
    ]
    assert nat.calls[0].payload == IDENTIFY
    assert nat.calls[0].headers["authorization"] == nat.authorization


def test_reset_forgets_state_and_calls(nat: NatSimulator) -> None:
    requests.post(nat.endpoint, json=IDENTIFY, headers=AUTH)
    nat.reset()
    assert (nat.timeline("peter@example.com"), nat.calls) == ([], ())
    again = requests.post(nat.endpoint, json=IDENTIFY, headers=AUTH).json()
    assert (again["outcome"], again["replayed"]) == ("created", False)


def test_an_unknown_host_is_refused_with_every_route_and_why(nat: NatSimulator) -> None:
    with pytest.raises(requests.ConnectionError) as refusal:
        requests.post("https://elsewhere.example/segment", json=IDENTIFY)
    message = str(refusal.value)
    assert "POST https://elsewhere.example/segment" in message
    for route in nat.routes:
        assert f"- {route} URL does not match: this route is on https://nat.example" in message
    assert [(r.method, r.url) for r in nat.refused] == [
        ("POST", "https://elsewhere.example/segment")
    ]
    assert nat.calls == ()


@pytest.mark.parametrize(
    ("method", "path", "reason"),
    [
        ("GET", "/segment", "- POST https://nat.example/segment Method does not match: "
         "/segment takes POST"),
        ("PUT", "/contacts/a@b.co", "- GET https://nat.example/contacts/{email} Method does "
         "not match"),
        ("POST", "/segments", "- POST https://nat.example/segment URL does not match: the path "
         "is not /segment"),
        ("GET", "/segment/", "- GET https://nat.example/health URL does not match"),
    ],
    ids=["wrong-method", "wrong-method-on-read-api", "unknown-path", "trailing-slash"],
)  # fmt: skip
def test_anything_the_reference_would_404_or_405_is_refused(
    nat: NatSimulator, method: str, path: str, reason: str
) -> None:
    with pytest.raises(requests.ConnectionError, match="doesn't match any registered mock") as e:
        requests.request(method, DEFAULT_BASE_URL + path, headers=AUTH)
    assert reason in str(e.value)
    assert len(nat.refused) == 1


def test_no_request_reaches_the_network(nat: NatSimulator) -> None:
    store = Store()
    refusal = pytest.raises(requests.ConnectionError, match="Connection refused by Responses")
    with running_server(create_app(store, KEY)) as url, refusal:
        requests.get(f"{url}/health", headers=AUTH)
    assert store.counts() == {"contacts": 0, "timeline": 0, "messages": 0}
    store.close()
    assert "Passthru" not in nat.refused[0].reason


def test_routes_never_called_are_not_an_error() -> None:
    with NatSimulator() as nat:
        pass
    assert nat.calls == ()
    nat.close()


def test_a_base_url_with_a_path_prefix() -> None:
    with NatSimulator("http://localhost:9/nat/v1/", api_key=KEY) as nat:
        assert nat.endpoint == "http://localhost:9/nat/v1/segment"
        assert requests.post(nat.endpoint, json=IDENTIFY, headers=AUTH).status_code == 200
        with pytest.raises(requests.ConnectionError):
            requests.post("http://localhost:9/segment", json=IDENTIFY, headers=AUTH)
        timeline = requests.get(
            "http://localhost:9/nat/v1/contacts/peter@example.com/timeline", headers=AUTH
        )
    assert timeline.json()["entries"][0]["day"] == "2020-05-31"
    nat.close()


def test_the_day_follows_the_configured_zone() -> None:
    late_evening_in_new_york = {**IDENTIFY, "timestamp": "2020-06-01T03:00:00Z"}
    with NatSimulator(api_key=KEY, day_zone=ZoneInfo("America/New_York")) as nat:
        answer = requests.post(nat.endpoint, json=late_evening_in_new_york, headers=AUTH)
    assert answer.json()["day"] == "2020-05-31"
    nat.close()


def test_concurrent_deliveries_make_one_entry_per_day(nat: NatSimulator) -> None:
    def deliver(number: int) -> str:
        payload = {**IDENTIFY, "messageId": f"m-{number}"}
        return requests.post(nat.endpoint, json=payload, headers=AUTH).json()["outcome"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(deliver, range(16)))
    assert sorted(outcomes) == ["created"] + ["deduplicated"] * 15
    assert len(nat.timeline("peter@example.com")) == 1
    assert len(nat.calls) == 16


def test_it_can_share_a_requests_mock_the_test_already_uses() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get("https://crm.example/ping", json={"pong": True})
        nat = NatSimulator(api_key=KEY, requests_mock=mock).start()
        assert requests.post(nat.endpoint, json=IDENTIFY, headers=AUTH).status_code == 200
        assert requests.get("https://crm.example/ping").json() == {"pong": True}
        nat.stop()
        assert requests.get("https://crm.example/ping").json() == {"pong": True}
        with pytest.raises(requests.ConnectionError):
            requests.post(nat.endpoint, json=IDENTIFY, headers=AUTH)
    assert len(nat.timeline("peter@example.com")) == 1
    nat.close()


def test_a_file_store_passed_in_keeps_the_state(tmp_path: Any) -> None:
    store = Store(tmp_path / "nat.db")
    with NatSimulator(api_key=KEY, store=store) as nat:
        requests.post(nat.endpoint, json=IDENTIFY, headers=AUTH)
    nat.close()
    assert store.counts()["timeline"] == 1
    store.close()


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [("nat.example", r"not an http\(s\) URL"), ("https://nat.example/?x=1", "query or fragment")],
    ids=["no-scheme", "query"],
)
def test_a_bad_base_url_is_a_usage_error(base_url: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        NatSimulator(base_url)


def test_an_empty_key_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="API key"):
        NatSimulator(api_key="")
