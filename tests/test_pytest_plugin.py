"""The pytest plugin, run the way users run it (pytester): contract items, options, fixtures."""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import harness.nat_simulator
import harness.runner
import scenarios
from reference_impl import Store, create_app, running_server
from tests.broken_destinations import Defect, broken_destination
from tests.test_preflight import HangsAfter

# Imported here so that pytester's in-process runs, which forget the modules they import, find
# them already loaded instead of importing (and building the schemas and pools) again each run.
# (hypothesis's pytest plugin imports all of hypothesis at the end of every run.) The plugin itself
# is not preloaded: `-p` would warn that an already imported module cannot be assert-rewritten.
_PRELOADED = (harness.runner, harness.nat_simulator, hypothesis, scenarios)

pytest_plugins = ["pytester"]

KEY = "plugin-key"
ITEM_ID = re.compile(r"^nat::[a-z]+/[a-z0-9-]+::[a-z0-9_]+$")


@pytest.fixture
def reference_url(tmp_path: Path) -> Iterator[str]:
    """The reference destination on a fresh database for each test."""
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, KEY)) as url:
        yield url
    store.close()


def _accepts_everything() -> Starlette:
    """A broken destination: every POST is a 200 that says a contact was created."""

    async def anything(request: Request) -> Response:
        return JSONResponse({"outcome": "created", "warnings": []})

    return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


def _terse_success(store: Store) -> Starlette:
    """The reference destination, except that a success answer's body is empty: a SHOULD."""
    reference = create_app(store, KEY)

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        async def terse(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start" and message["status"] == 200:
                message = {**message, "headers": [(b"content-type", b"application/json")]}
            elif message["type"] == "http.response.body" and scope["path"] == "/segment":
                message = {**message, "body": b"{}"}
            await send(message)

        await reference(scope, receive, terse)

    return app  # type: ignore[return-value]


@pytest.fixture
def plugin(pytestconfig: pytest.Config, pytester: pytest.Pytester) -> tuple[str, ...]:
    """Arguments of every inner run: the plugin by its `pytest11` entry point once the package
    is installed with it (then `-p` would register it twice), else with `-p`; and the inner
    run's own directory as its root, whatever config files stand in the directories above."""
    root = ("--rootdir", str(pytester.path))
    if pytestconfig.pluginmanager.has_plugin("nat"):
        return root
    return (*root, "-p", "harness.pytest_plugin")


def _contract(
    pytester: pytest.Pytester, plugin: tuple[str, ...], target: str, *args: str
) -> pytest.RunResult:
    return pytester.runpytest(*plugin, "--nat-target", target, "--nat-api-key", KEY, *args)


def test_without_a_target_nothing_is_added(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_ordinary="def test_ordinary():\n    assert True\n")
    result = pytester.runpytest(*plugin, "-v")
    assert result.parseoutcomes() == {"passed": 1}
    assert [line for line in result.outlines if "::" in line] == [
        "test_ordinary.py::test_ordinary PASSED                                   [100%]"
    ]


def test_the_reference_destination_passes_the_contract(
    pytester: pytest.Pytester, plugin: tuple[str, ...], reference_url: str
) -> None:
    pytester.makepyfile(test_ordinary="def test_ordinary():\n    assert True\n")
    result = _contract(pytester, plugin, reference_url, "-v")
    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert set(outcomes) <= {"passed", "skipped"}
    assert outcomes["passed"] > 100
    ids = [line.split(" ")[0] for line in result.outlines if line.startswith("nat::")]
    assert "nat::recommended/with-page-url::accepted_call_is_answered_2xx" in ids
    assert "nat::sequence/same-day-n-calls::one_entry_per_contact_per_day" in ids
    assert all(ITEM_ID.match(item_id) for item_id in ids), ids
    assert "test_ordinary.py::test_ordinary PASSED" in result.stdout.str()
    result.stdout.fnmatch_lines([f"nat-harness: contract against {reference_url}/segment (seed 0*"])


def test_a_target_that_answers_everything_alike_stops_the_run_with_one_message(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    with running_server(_accepts_everything()) as url:
        result = _contract(pytester, plugin, url, "-k", "recommended")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*nat-harness: the target answers every call the same way*"])
    assert "failed" not in result.parseoutcomes()


def test_a_destination_that_accepts_malformed_calls_fails_with_readable_ids(
    pytester: pytest.Pytester,
    plugin: tuple[str, ...],
) -> None:
    with running_server(broken_destination(Defect.ACCEPTS_INVALID, KEY)) as url:
        result = _contract(
            pytester, plugin, url, "-k", "invalid_call_is_not_accepted", "--nat-probe=none"
        )
    assert result.ret == 1
    failed = [line for line in result.outlines if line.startswith("FAILED nat::")]
    assert len(failed) == result.parseoutcomes()["failed"] > 10
    result.stdout.fnmatch_lines(
        ["*_ nat::malformed/missing-email::invalid_call_is_not_accepted _*"]
    )
    text = result.stdout.str()
    assert (
        "invalid_call_is_not_accepted (MUST, rejection, CONTRACT B.3 (Email)) failed on "
        "malformed/missing-email"
    ) in text
    assert "curl -sS -i" in text and "$NAT_API_KEY" in text and KEY not in text
    assert "HTTP 200" in text


def test_an_unmet_should_is_xfailed_unless_strict(
    pytester: pytest.Pytester, plugin: tuple[str, ...], tmp_path: Path
) -> None:
    store = Store(tmp_path / "terse.db")
    select = ("-k", "success_answer_matches_contract and recommended")
    with running_server(_terse_success(store)) as url:
        lenient = _contract(pytester, plugin, url, *select, "-rx")
        strict = _contract(pytester, plugin, url, *select, "--nat-strict")
    store.close()
    assert lenient.ret == 0
    assert set(lenient.parseoutcomes()) == {"xfailed", "deselected"}
    assert "SHOULD not met (fails with --nat-strict)" in lenient.stdout.str()
    assert strict.ret == 1
    assert strict.parseoutcomes()["failed"] == lenient.parseoutcomes()["xfailed"]


def test_items_can_be_chosen_by_marker_level_and_family(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_ordinary="def test_ordinary():\n    assert True\n")
    chosen_by = ("-m", "nat", "-k", "acceptance and SHOULD", "--collect-only", "-q")
    result = _contract(pytester, plugin, "http://127.0.0.1:9", *chosen_by)
    chosen = [line for line in result.outlines if "::" in line]
    assert len(chosen) > 3
    assert all(ITEM_ID.match(line) for line in chosen), chosen
    assert {line.rpartition("::")[2] for line in chosen} == {
        "success_answer_matches_contract",
        "accepted_variant_is_answered_2xx",
    }


def test_a_target_without_a_key_is_a_usage_error(
    pytester: pytest.Pytester, plugin: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NAT_API_KEY", raising=False)
    result = pytester.runpytest(*plugin, "--nat-target", "http://127.0.0.1:9/segment")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--nat-target needs the destination's API key*NAT_API_KEY*"])


def test_a_target_that_is_not_a_url_is_a_usage_error(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    result = _contract(pytester, plugin, "ftp://nat.example")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'ftp://nat.example' is not an http(s) URL*"])


def test_an_unreachable_target_stops_the_run_with_one_message(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    with socket.socket() as bound_not_listening:
        bound_not_listening.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound_not_listening.getsockname()[1]}"
        result = _contract(pytester, plugin, url, "-k", "recommended")
    assert result.ret == 2
    result.stdout.fnmatch_lines([f"*nat-harness: cannot reach the target {url}/segment*"])
    assert "failed" not in result.parseoutcomes()


def test_a_target_that_stops_answering_stops_the_session_saying_how_far_it_got(
    pytester: pytest.Pytester, plugin: tuple[str, ...], tmp_path: Path
) -> None:
    store = Store(tmp_path / "hang.db")
    hanging = HangsAfter(store, count=20, api_key=KEY)
    with running_server(hanging) as url:  # type: ignore[arg-type]
        try:
            result = _contract(pytester, plugin, url, "--nat-timeout", "0.2")
        finally:
            hanging.release()
    store.close()
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*nat-harness: the target stopped answering after *"])


def test_the_nat_simulator_fixture(pytester: pytest.Pytester, plugin: tuple[str, ...]) -> None:
    pytester.makeini("[pytest]\nnat_simulator_url = https://nat.test/api\n")
    pytester.makepyfile(
        """
        import pytest
        import requests

        IDENTIFY = {"type": "identify", "timestamp": "2020-05-31T17:55:47Z",
                    "traits": {"email": "peter@example.com"}}

        def test_the_sender_reaches_nat(nat_simulator):
            assert nat_simulator.endpoint == "https://nat.test/api/segment"
            headers = {"Authorization": nat_simulator.authorization}
            answer = requests.post(nat_simulator.endpoint, json=IDENTIFY, headers=headers)
            assert answer.json()["outcome"] == "created"
            assert [e["day"] for e in nat_simulator.timeline("peter@example.com")] == [
                "2020-05-31"]

        def test_state_is_fresh_for_each_test(nat_simulator):
            assert nat_simulator.timeline("peter@example.com") == []

        def test_other_hosts_are_refused(nat_simulator):
            with pytest.raises(requests.ConnectionError, match="https://nat.test/api/segment"):
                requests.get("https://api.segment.io/v1/batch")
        """
    )
    assert pytester.runpytest(*plugin).parseoutcomes() == {"passed": 3}
    override = pytester.runpytest(*plugin, "--nat-simulator-url", "https://other.test")
    override.stdout.fnmatch_lines(["*assert 'https://other.test/segment' == *"])


def _digest_of_catalogue(seed: int) -> str:
    import scenarios

    return hashlib.sha256(
        orjson.dumps([scenario.to_dict() for scenario in scenarios.catalogue(seed=seed)])
    ).hexdigest()


def test_the_nat_scenarios_fixture_follows_the_seed(
    pytester: pytest.Pytester, plugin: tuple[str, ...]
) -> None:
    seven = _digest_of_catalogue(7)
    assert seven != _digest_of_catalogue(0)
    pytester.makepyfile(
        f"""
        import hashlib

        import orjson

        def test_catalogue(nat_scenarios):
            document = orjson.dumps([scenario.to_dict() for scenario in nat_scenarios])
            assert hashlib.sha256(document).hexdigest() == {seven!r}
        """
    )
    assert pytester.runpytest(*plugin, "--nat-seed", "7").parseoutcomes() == {"passed": 1}
