"""The runner and the target client: planning and selection, isolation, events, Segment's
headers, curl lines, read-back polling, and what happens when the target is not there."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contract.endpoints import endpoint_of, read_api_base_of
from contract.limits import MAX_BODY_BYTES
from harness.checks import default_registry
from harness.config import RunConfig
from harness.errors import SettingError, TargetUnreachable, option_words
from harness.runner import (
    CheckResult,
    RunFinished,
    RunStarted,
    exit_code_of,
    plan,
    run,
    verdict_of,
)
from harness.target import Destination, poll
from reference_impl import Store, create_app, running_server
from scenarios import isolate
from scenarios.expect import expect_for, expect_sequence
from scenarios.model import Request, Scenario, Sequence
from schemas import ACCEPTED, load_schema
from tests.conftest import API_KEY
from tests.helpers import TIMESTAMP, free_port, identify

TS = TIMESTAMP
REGISTRY = default_registry()


def _scenario(name: str, payload: Any, **request: Any) -> Scenario:
    made = Request(payload, **request)
    return Scenario(name, name.split("/")[0], made, expect_for(made))


def _sequence(name: str, payloads: list[dict[str, Any]], *, concurrent: bool = False) -> Sequence:
    requests = [Request(payload) for payload in payloads]
    expects, final = expect_sequence(requests)
    steps = tuple(
        Scenario(f"{name}/{index}", "sequence", request, expect)
        for index, (request, expect) in enumerate(zip(requests, expects, strict=True))
    )
    return Sequence(name, steps, final, concurrent=concurrent)


SUBJECTS = (
    _scenario(
        "recommended/with-page-url", identify("ann@example.com", page={"url": "https://a.io"})
    ),
    _scenario("alternative/flat-email-event", {**identify("x@x.io"), "event": "Logged In"}),
    _scenario("malformed/missing-email", {"type": "identify", "timestamp": TS}),
    _scenario("malformed/other-type-track", {"type": "track", "timestamp": TS, "email": "t@t.io"}),
    _scenario("malformed/wrong-key", identify("k@k.io"), auth="wrong"),
    _sequence(
        "sequence/case-and-midnight",
        [
            identify("Bob@Example.com", timestamp="2020-05-31T23:59:59Z", messageId="m-1"),
            identify("bob@example.com", timestamp="2020-05-31T08:00:00+02:00"),
            identify("BOB@example.com", timestamp="2020-06-01T00:00:00Z"),
            identify("Bob@Example.com", timestamp="2020-05-31T23:59:59Z", messageId="m-1"),
        ],
    ),
    _sequence("sequence/burst", [identify("cat@example.com")] * 6, concurrent=True),
)


@pytest.fixture
def reference_target(tmp_path: Any) -> Iterator[str]:
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, API_KEY)) as url:
        yield url + "/segment"
    store.close()


# -- planning ------------------------------------------------------------------------------------


def _pairs(select: list[str]) -> set[str]:
    return {
        f"{item.id}[{planned.subject.id}]"
        for planned in plan(SUBJECTS, REGISTRY, select)
        for item in planned.checks
    }


def test_without_select_every_applicable_check_runs_on_every_subject() -> None:
    planned = plan(SUBJECTS, REGISTRY)
    assert [item.subject.id for item in planned] == [subject.id for subject in SUBJECTS]
    for item in planned:
        assert {check.id for check in item.checks} == {
            check.id for check in REGISTRY.values() if check.applies(item.subject)
        }


@pytest.mark.parametrize(
    ("pattern", "expected_subjects", "expected_checks"),
    [
        (
            "malformed/*",
            {"malformed/missing-email", "malformed/other-type-track", "malformed/wrong-key"},
            None,
        ),
        (
            "one_entry_per_contact_per_day",
            {"sequence/case-and-midnight"},
            {"one_entry_per_contact_per_day"},
        ),
        ("dedup", {"sequence/case-and-midnight", "sequence/burst"}, None),
        (
            "other_type_is_answered_501[malformed/other-type-track]",
            {"malformed/other-type-track"},
            {"other_type_is_answered_501"},
        ),
    ],
    ids=["scenario-glob", "check-id", "family", "check-on-scenario"],
)
def test_select_matches_check_ids_families_and_scenario_ids(
    pattern: str, expected_subjects: set[str], expected_checks: set[str] | None
) -> None:
    pairs = _pairs([pattern])
    assert {pair.partition("[")[2].rstrip("]") for pair in pairs} == expected_subjects
    if expected_checks is not None:
        assert {pair.partition("[")[0] for pair in pairs} == expected_checks


def test_an_empty_selection_is_a_setting_error_that_points_to_list() -> None:
    assert plan(SUBJECTS, REGISTRY, ["no-such-thing"]) == ()
    with pytest.raises(SettingError, match="--list") as error:
        list(run(RunConfig(select=("no-such-thing",)), subjects=SUBJECTS))
    assert option_words(error.value).startswith("--select 'no-such-thing' matches no check")


def _result(outcome: str, level: str = "MUST") -> CheckResult:
    return CheckResult("some_check", level, "family", "subject", outcome)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcomes", "strict", "code"),
    [
        (["passed", "skipped"], False, 0),
        (["passed", "warned"], False, 0),
        (["passed", "warned"], True, 1),
        (["passed", "failed"], False, 1),
        (["passed", "error"], False, 3),
    ],
    ids=["passed", "warning", "warning-strict", "failure", "crashed-check"],
)
def test_the_exit_code_fails_on_must_failures_and_on_warnings_when_strict(
    outcomes: list[str], strict: bool, code: int
) -> None:
    assert exit_code_of([_result(outcome) for outcome in outcomes], strict=strict) == code


def test_a_run_that_judged_nothing_or_no_must_check_does_not_pass() -> None:
    code, note = verdict_of([_result("skipped"), _result("skipped", "SHOULD")], strict=False)
    assert code == 1 and note.startswith("nothing was judged: all 2 results were skipped")
    musts_skipped = [_result("skipped"), _result("passed", "SHOULD")]
    code, note = verdict_of(musts_skipped, strict=False)
    assert code == 1 and note.startswith("no MUST check could be judged")
    # Only SHOULD checks selected, and judged: nothing of a MUST was planned to skip.
    assert verdict_of([_result("passed", "SHOULD")], strict=False) == (0, "")
    code, note = verdict_of([_result("error")], strict=False)
    assert code == 3 and "bug in nat-harness" in note


def test_a_bare_origin_targets_segment_and_the_probe_sits_next_to_it() -> None:
    assert endpoint_of("http://127.0.0.1:8765") == "http://127.0.0.1:8765/segment"
    assert endpoint_of("https://nat.example/hooks/segment") == "https://nat.example/hooks/segment"
    assert read_api_base_of("https://nat.example/hooks/segment") == "https://nat.example/hooks"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": "127.0.0.1:8765"}, "--target '127.0.0.1:8765' is not an http(s) URL"),
        ({"target": "http://127.0.0.1:8765"}, "--api-key is missing"),
        ({"probe": "sometimes"}, "--probe 'sometimes' is not an http(s) URL"),
        ({"concurrency": 0}, "--concurrency must be at least 1"),
        ({"timeout": 0}, "--timeout must be a positive number"),
    ],
    ids=["target-not-url", "target-without-key", "probe-unknown", "no-workers", "no-time"],
)
def test_bad_configuration_is_refused_with_a_specific_message(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingError) as error:
        RunConfig(**changes)
    assert message in option_words(error.value)  # as the CLI says it
    assert "--" not in str(error.value)  # the library's own words name no option


# -- isolation -----------------------------------------------------------------------------------


def test_isolation_tags_emails_and_message_ids_and_the_expectations_follow() -> None:
    sequence = SUBJECTS[5]
    assert isinstance(sequence, Sequence)
    tagged = isolate(sequence, "h1a2b3c")
    assert isinstance(tagged, Sequence)
    assert tagged.final.contact == "bob+h1a2b3c@example.com"
    assert tagged.final.timeline_days == sequence.final.timeline_days
    local, _, domain = sequence.final.properties["email"].rpartition("@")
    assert tagged.final.properties["email"] == f"{local}+h1a2b3c@{domain}"
    for original, step in zip(sequence.steps, tagged.steps, strict=True):
        assert step.expect.contact == "bob+h1a2b3c@example.com"
        assert step.expect.outcome == original.expect.outcome
        assert step.expect.replayed == original.expect.replayed
    assert tagged.steps[0].request.payload["messageId"] == "m-1.h1a2b3c"
    assert tagged.steps[3].request.payload["messageId"] == "m-1.h1a2b3c"


def test_isolation_leaves_a_request_alone_when_the_tag_would_change_the_verdict() -> None:
    domain = "@example.com"
    longest = "a" * (load_schema(ACCEPTED)["$defs"]["email"]["maxLength"] - len(domain)) + domain
    scenario = _scenario("edge/longest-email", identify(longest))
    assert scenario.expect.outcome == "created"
    assert isolate(scenario, "h1a2b3c") == scenario


def test_isolation_keeps_a_body_at_the_size_limit_at_the_size_limit() -> None:
    payload = identify("big@example.com", messageId="m-big")
    padding = MAX_BODY_BYTES - len(
        orjson.dumps({**payload, "traits": {**payload["traits"], "notes": ""}})
    )
    payload["traits"]["notes"] = "x" * padding
    scenario = _scenario("edge/body-exactly-32kb", payload)
    assert len(scenario.request.body()) == MAX_BODY_BYTES and scenario.expect.status == 200
    tagged = isolate(scenario, "h1a2b3c")
    assert len(tagged.request.body()) == MAX_BODY_BYTES
    assert tagged.expect.contact == "big+h1a2b3c@example.com"


# -- running -------------------------------------------------------------------------------------


def test_a_run_against_the_reference_yields_started_results_finished_and_passes(
    reference_target: str,
) -> None:
    config = RunConfig(target=reference_target, api_key=API_KEY, seed=11, concurrency=3)
    events = list(run(config, subjects=SUBJECTS))
    started, *results, finished = events
    assert isinstance(started, RunStarted) and isinstance(finished, RunFinished)
    assert started.seed == 11 and started.target == reference_target
    assert started.probe == reference_target.rpartition("/")[0]
    assert started.isolation_tag.startswith("h")
    assert all(isinstance(result, CheckResult) for result in results)
    assert len(results) == started.planned == sum(len(p.checks) for p in plan(SUBJECTS, REGISTRY))
    assert {result.outcome for result in results} == {"passed"}
    assert finished.summary.exit_code == 0
    assert finished.summary.counts["passed"] == len(results)


def test_the_same_seed_twice_against_one_target_passes_twice(reference_target: str) -> None:
    config = RunConfig(target=reference_target, api_key=API_KEY, seed=3)
    for _ in range(2):
        *_, finished = run(config, subjects=SUBJECTS)
        assert isinstance(finished, RunFinished)
        assert finished.summary.counts["passed"] > 0 and finished.summary.exit_code == 0


def test_without_a_probe_read_back_checks_are_skipped_never_passed(reference_target: str) -> None:
    config = RunConfig(target=reference_target, api_key=API_KEY, seed=1, probe="none")
    results = [event for event in run(config, subjects=SUBJECTS) if isinstance(event, CheckResult)]
    read_back = {
        "accepted_call_is_stored",
        "description_follows_precedence",
        "one_entry_per_contact_per_day",
        "concurrent_duplicates_make_one_entry",
        "retried_message_id_is_replayed",
        "latest_trait_value_wins",
    }
    judged = {result.check_id: set() for result in results}
    for result in results:
        judged[result.check_id].add(result.outcome)
    for check_id in read_back:
        assert judged[check_id] == {"skipped"}, check_id
    assert all("no probe" in r.reason for r in results if r.check_id in read_back)
    assert judged["accepted_call_is_answered_2xx"] == {"passed"}


def test_a_run_whose_must_checks_all_need_the_probe_fails_without_one(
    reference_target: str,
) -> None:
    config = RunConfig(
        target=reference_target, api_key=API_KEY, seed=1, probe="none", select=("dedup",)
    )
    *_, finished = run(config, subjects=SUBJECTS)
    assert isinstance(finished, RunFinished)
    assert finished.summary.counts["skipped"] > 0 and finished.summary.counts["passed"] == 0
    assert finished.summary.exit_code == 1
    assert finished.summary.note.startswith("nothing was judged")


def test_without_a_target_the_reference_destination_is_started() -> None:
    events = list(run(RunConfig(seed=5, select=("malformed/*",)), subjects=SUBJECTS))
    started, finished = events[0], events[-1]
    assert isinstance(started, RunStarted) and started.embedded
    assert started.isolation_tag == ""  # a fresh database needs no tags
    assert isinstance(finished, RunFinished) and finished.summary.exit_code == 0


def test_an_unreachable_target_raises_before_any_result() -> None:
    url = f"http://127.0.0.1:{free_port()}/segment"
    events = run(RunConfig(target=url, api_key="k", seed=1), subjects=SUBJECTS)
    with pytest.raises(TargetUnreachable) as error:
        next(events)
    assert url in str(error.value) and "refused" in str(error.value).lower()
    assert TargetUnreachable.exit_code == 2


# -- the target client ---------------------------------------------------------------------------


@pytest.fixture
def held() -> Iterator[threading.Event]:
    """Set it to let the `?hold` answers of `capture` go (it is set at the end of the test)."""
    release = threading.Event()
    yield release
    release.set()


@pytest.fixture
def capture(held: threading.Event) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A destination that records the headers of every request and answers 200: after `?sleep`
    seconds (a slow server), or once `held` is set (`?hold`: no answer until the test says)."""
    seen: list[dict[str, str]] = []

    async def record(request: HttpRequest) -> Response:
        seen.append(dict(request.headers))
        await request.body()
        delay = float(request.query_params.get("sleep", "0"))
        if delay:
            await asyncio.sleep(delay)
        if "hold" in request.query_params:
            await asyncio.to_thread(held.wait, 60)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/segment", record, methods=["POST", "GET"])])
    with running_server(app) as url:
        yield url + "/segment", seen
        held.set()  # a held answer goes before the server stops


@pytest.mark.parametrize(
    ("auth", "authorization"),
    [
        ("basic", "Basic " + base64.b64encode(b"s3cret:").decode()),
        ("bearer", "Bearer s3cret"),
        ("wrong", "Basic " + base64.b64encode(b"not-the-api-key:").decode()),
        ("none", None),
    ],
    ids=["basic-as-segment", "bearer", "wrong-key", "no-key"],
)
def test_requests_carry_segments_headers_and_the_auth_asked_for(
    capture: tuple[str, list[dict[str, str]]], auth: str, authorization: str | None
) -> None:
    url, seen = capture
    with Destination(url, "s3cret", settings={"region": "eu"}) as destination:
        exchange = destination.send(Request(identify("a@example.com"), auth=auth))  # type: ignore[arg-type]
    assert exchange.status == 200 and exchange.document() == {"ok": True}
    headers = seen[-1]
    assert headers.get("authorization") == authorization
    assert headers["user-agent"] == "Segment.io/1.0"
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "*/*" and headers["cache-control"] == "no-cache"
    assert orjson.loads(base64.b64decode(headers["x-segment-settings"])) == {"region": "eu"}


def test_an_answer_later_than_the_budget_is_measured(
    capture: tuple[str, list[dict[str, str]]],
) -> None:
    url, _ = capture
    # A slow server: it answers 1.2 s after the request, past the 1 s budget and well inside the
    # 2 s the harness waits in all (the budget again, at most one second more).
    with Destination(url + "?sleep=1.2", "k", timeout=1.0) as destination:
        late = destination.send(Request(identify("a@example.com")))
    # A late answer is kept and timed (never before the server's own delay), not given up.
    assert late.status == 200 and late.elapsed >= 1.2


def test_an_answer_that_never_comes_is_given_up_after_twice_the_budget(
    capture: tuple[str, list[dict[str, str]]], held: threading.Event
) -> None:
    url, seen = capture
    with Destination(url + "?hold", "k", timeout=0.1) as destination:
        lost = destination.send(Request(identify("a@example.com")))
    assert not held.is_set() and len(seen) == 1  # the server had the call and never answered
    assert not lost.answered and lost.timed_out
    # The time is the one waited: 0.2 s, or a little more on a busy machine.
    assert re.fullmatch(r"no answer: timed out after \d+\.\d s", lost.received())
    assert lost.elapsed >= 0.2


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_curl_line_repeats_the_request_without_printing_the_key(reference_target: str) -> None:
    with Destination(reference_target, "test-key") as destination:
        shell_hostile = {"url": "https://x.io/a?b=c&d='e'$HOME"}
        exchange = destination.send(Request(identify("curl@example.com", page=shell_hostile)))
    line = exchange.sent.curl()
    assert "test-key" not in line and base64.b64encode(b"test-key:").decode() not in line
    replay = subprocess.run(
        line, shell=True, capture_output=True, text=True, env={**os.environ, "NAT_API_KEY": API_KEY}
    )
    status_line, _, rest = replay.stdout.partition("\n")
    assert " 200" in status_line
    answer = orjson.loads(rest.rpartition("\n")[2])
    assert answer["outcome"] == "deduplicated"  # the same call again, the same day
    assert answer["description"] == "https://x.io/a?b=c&d='e'$HOME"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "identify",\n "note": "a line break, a tab\t and \\ in the body"}',
        orjson.dumps(
            identify("big@example.com", traits={"email": "big@example.com", "x": "y" * 9000})
        ),
    ],
    ids=["line-breaks", "large-body"],
)
def test_a_curl_line_is_one_line_with_the_whole_body(capture: Any, body: bytes) -> None:
    url, _ = capture
    with Destination(url, "k") as destination:
        exchange = destination.send(Request(raw_body=body))
    line = exchange.sent.curl()
    assert "\n" not in line
    body_word = line.partition(" --data-binary ")[2]  # the shell word the body became
    replayed = subprocess.run(
        ["bash", "-c", "printf %s " + body_word], capture_output=True, check=True
    ).stdout
    assert replayed == body


def test_poll_returns_at_once_when_the_state_is_there_and_gives_up_at_the_deadline() -> None:
    now = [0.0]
    calls: list[float] = []

    def fetch() -> int:
        calls.append(now[0])
        return len(calls)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert poll(fetch, lambda n: n >= 1, 2.0, clock=lambda: now[0], sleep=sleep) == 1
    assert calls == [0.0]
    calls.clear()
    assert poll(fetch, lambda n: False, 1.0, clock=lambda: now[0], sleep=sleep) == len(calls)
    assert calls[-1] <= now[0] and now[0] - calls[0] == pytest.approx(1.0)
    intervals = [later - earlier for earlier, later in pairwise(calls)]
    assert intervals[0] == pytest.approx(0.01) and max(intervals) <= 0.2 + 1e-9
