"""Every expectation holds against the reference destination, served over HTTP on loopback.

The reference's real answers are judged against the reviewed golden file (status, outcome, error
field, description source, warnings), and against the scenarios' expectations for what varies
with the seed (contact, day, description), which come from `scenarios.expect`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from reference_impl import Store, create_app, running_server
from scenarios import Request, Scenario, Sequence, catalogue, generate, sequences
from tests.conftest import basic_auth
from tests.helpers import golden

API_KEY = "scenario-key"


class _Destination:
    """The served reference destination: its base URL and a session without default auth."""

    def __init__(self, url: str, session: requests.Session) -> None:
        self.url = url
        self.session = session

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.session.post(self.url + path, data=body, headers=headers, timeout=10)

    def get(self, path: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        return self.session.get(self.url + path, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def _served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    """One server for the module (starting uvicorn costs about 0.2 s); tests reset its store."""
    store = Store(tmp_path_factory.mktemp("reference") / "nat.db")
    with running_server(create_app(store, API_KEY)) as url:
        yield url, store
    store.close()


@pytest.fixture
def destination(_served: tuple[str, Store]) -> Iterator[_Destination]:
    """The served destination with an empty store: no test sees another's contacts."""
    url, store = _served
    store.reset()
    with requests.Session() as session:
        session.trust_env = False  # no .netrc credentials, no proxies
        yield _Destination(url, session)


def _headers(request: Request) -> dict[str, str]:
    headers = {}
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    key = {"basic": API_KEY, "bearer": API_KEY, "wrong": "not-the-key"}.get(request.auth)
    key = "not-the-key" if request.auth == "wrong-bearer" else key
    if request.auth in ("bearer", "wrong-bearer"):
        headers["Authorization"] = f"Bearer {key}"
    elif key is not None:
        headers.update(basic_auth(key))
    return headers


def _send(destination: _Destination, scenario: Scenario) -> tuple[int, dict[str, Any]]:
    request = scenario.request
    answer = destination.post("/segment", request.body(), _headers(request))
    return answer.status_code, answer.json()


def _assert_answer(scenario: Scenario, status: int, body: dict[str, Any]) -> None:
    expect = scenario.expect
    assert status == expect.status, (scenario.id, body)
    if status != 200:
        assert expect.error_field in {error["field"] for error in body["errors"]}, scenario.id
        return
    seen = (
        body["outcome"],
        body["contact"],
        body["day"],
        body["description"],
        body["description_source"],
        body["replayed"],
        tuple(warning["field"] for warning in body["warnings"]),
    )
    wanted = (
        expect.outcome,
        expect.contact,
        expect.day,
        expect.description,
        expect.description_source,
        expect.replayed,
        expect.warning_fields,
    )
    assert seen == wanted, scenario.id


def _assert_reviewed(name: str, reviewed: dict[str, Any], status: int, body: Any) -> None:
    """The destination's real answer is the one in the reviewed golden file."""
    assert status == reviewed["status"], (name, body)
    if status != 200:
        assert reviewed["error_field"] in {error["field"] for error in body["errors"]}, name
        return
    seen = {"status": status, "outcome": body["outcome"]}
    if "description_source" in reviewed:
        seen["description_source"] = body["description_source"]
    if body["replayed"]:
        seen["replayed"] = True
    if body["warnings"]:
        seen["warnings"] = [warning["field"] for warning in body["warnings"]]
    assert seen == reviewed, name


def _get(destination: _Destination, path: str) -> dict[str, Any]:
    answer = destination.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_catalogue_gets_the_expected_answers(destination: _Destination) -> None:
    reviewed = golden()["catalogue"]
    for scenario in catalogue(seed=31):
        status, body = _send(destination, scenario)
        _assert_reviewed(scenario.id, reviewed[scenario.id], status, body)
        _assert_answer(scenario, status, body)


def test_bulk_traffic_gets_the_expected_answers(destination: _Destination) -> None:
    every_family = {"recommended": 3, "alternative": 2, "segment": 3, "engage": 2}
    every_family |= {"malformed": 2, "edge": 2}
    for scenario in generate(300, seed=31, mix=every_family):
        _assert_answer(scenario, *_send(destination, scenario))


@pytest.mark.parametrize("sequence", sequences(seed=31), ids=lambda sequence: sequence.id)
def test_each_sequence_ends_in_the_expected_state(
    destination: _Destination, sequence: Sequence
) -> None:
    reviewed = golden()["sequences"][sequence.id]
    assert len(reviewed["steps"]) == len(sequence.steps)
    for step, reviewed_step in zip(sequence.steps, reviewed["steps"], strict=True):
        # A concurrent burst sent in order is one of its orderings.
        status, body = _send(destination, step)
        _assert_reviewed(step.id, reviewed_step, status, body)
        _assert_answer(step, status, body)
    contact = quote(sequence.final.contact, safe="")
    timeline = _get(destination, f"/contacts/{contact}/timeline")
    assert tuple(entry["day"] for entry in timeline["entries"]) == sequence.final.timeline_days
    assert len(timeline["entries"]) == reviewed["timeline_days"]
    properties = _get(destination, f"/contacts/{contact}")["properties"]
    values = {name: found["value"] for name, found in properties.items()}
    assert values == sequence.final.properties
