"""Before the contract: a target that is not a Nat destination taking the key ends the run at
once with one sentence (exit 2), and a target that stops answering mid-run ends it saying how far
it got, with what was judged still reported."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.config import RunConfig
from harness.errors import NotANatDestination
from harness.reports import record
from harness.runner import CheckResult, RunFinished, load_subjects, run
from reference_impl import Store, create_app, running_server
from scenarios.expect import expect_for
from scenarios.model import Request, Scenario
from tests.conftest import API_KEY

SEED = 5
SELECTION = ("recommended/*", "malformed/missing-email", "sequence/same-day-n-calls")
_CALL = Request(
    {"type": "identify", "timestamp": "2020-05-31T17:55:47.263Z", "traits": {"email": "a@b.io"}}
)
#: One scenario is enough for a run that stops before its first check.
ONE = (Scenario("recommended/one", "recommended", _CALL, expect_for(_CALL)),)


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[str]:
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, API_KEY)) as url:
        yield url
    store.close()


def _refusal(target: str, **config: Any) -> str:
    """The sentence a run against `target` stops with, before any event."""
    settings = {"api_key": API_KEY, "seed": SEED, **config}
    events = run(RunConfig(target=target, **settings), subjects=ONE)
    with pytest.raises(NotANatDestination) as stopped:
        next(events)
    assert NotANatDestination.exit_code == 2
    return str(stopped.value)


def _answering(answer: Callable[[HttpRequest], Response]) -> Starlette:
    async def endpoint(request: HttpRequest) -> Response:
        await request.body()
        return answer(request)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def test_a_plain_web_server_is_not_a_nat_destination() -> None:
    # `python3 -m http.server` answers every POST 501 with an HTML page.
    app = _answering(lambda request: HTMLResponse("<h1>Unsupported method</h1>", 501))
    with running_server(app) as url:
        sentence = _refusal(url)
    assert sentence.startswith("every call was answered HTTP 501 (text/html")
    assert sentence.endswith("this is not a Nat destination, or not at /segment")


def test_a_wrong_key_stops_the_run_saying_the_key_was_refused(reference: str) -> None:
    sentence = _refusal(reference, api_key="not-the-key")
    assert sentence == (
        "every call was answered 401: the destination refused the key "
        "(check --api-key or NAT_API_KEY)"
    )


def test_a_wrong_path_stops_the_run_asking_about_the_path(reference: str) -> None:
    sentence = _refusal(reference + "/api/segment")
    assert sentence == "nothing at /api/segment: every call got 404, is the path right?"


def test_a_target_that_answers_everything_alike_judges_nothing() -> None:
    app = _answering(lambda request: JSONResponse({"outcome": "created", "warnings": []}))
    with running_server(app) as url:
        sentence = _refusal(url)
    assert sentence.startswith("the target answers every call the same way (HTTP 200")
    assert "so it is not a Nat destination" in sentence


def test_https_against_a_plain_http_destination_says_it_speaks_no_tls(reference: str) -> None:
    sentence = _refusal(reference.replace("http://", "https://"))
    assert "does not speak TLS" in sentence and sentence.endswith("is it http://?")


@contextmanager
def _raw_server(reply: bytes | None) -> Iterator[str]:
    """A TCP server that answers every connection with `reply` (None: holds it, says nothing)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    closing = threading.Event()

    def serve() -> None:
        while not closing.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            if reply is None:
                held.append(connection)
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        closing.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        listener.close()
        thread.join(timeout=5)
        for connection in held:
            connection.close()


def test_a_server_that_speaks_no_http_is_named_so() -> None:
    with _raw_server(b"SSH-2.0-OpenSSH_9.6\r\n") as url:
        sentence = _refusal(url)
    assert sentence.startswith(f"the target {url}/segment does not answer HTTP (")
    assert "BadStatusLine" in sentence and "or a TLS server (https://)?" in sentence


def test_a_target_that_never_answers_stops_within_the_latency_budget() -> None:
    with _raw_server(None) as url:
        sentence = _refusal(url, timeout=0.2)
    assert sentence == (
        f"the target {url}/segment accepted the connection but sent nothing within 0.2 s"
    )


def test_a_documented_call_refused_or_redirected_stops_the_run() -> None:
    def answer(request: HttpRequest) -> Response:
        if request.headers.get("authorization", "").startswith("Basic bm90"):  # the wrong key
            return JSONResponse({"message": "wrong key"}, 401)
        return JSONResponse({"message": "boom"}, 500)

    with running_server(_answering(answer)) as url:
        sentence = _refusal(url)
    assert sentence.startswith("the documented identify call was answered HTTP 500")
    redirect = _answering(lambda request: RedirectResponse("https://nat.example/segment", 308))
    with running_server(redirect) as url:
        sentence = _refusal(url)
    assert sentence == "every call was answered HTTP 308, the documented identify call too: " + (
        "this is not a Nat destination, or not at /segment"
    )


def test_a_documented_call_answered_503_is_sent_again_before_judging(tmp_path: Path) -> None:
    store = Store(tmp_path / "flaky.db")
    reference = create_app(store, API_KEY)
    failures = [2]

    async def flaky(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/segment" and failures[0]:
            failures[0] -= 1
            await JSONResponse({"message": "down"}, 503)(scope, receive, send)
            return
        await reference(scope, receive, send)

    with running_server(flaky) as url:  # type: ignore[arg-type]
        report = record(run(RunConfig(target=url, api_key=API_KEY, seed=SEED, select=SELECTION)))
    store.close()
    assert failures == [0] and report.summary.exit_code == 0


def test_an_unreachable_or_foreign_probe_stops_the_run(reference: str) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{unused.getsockname()[1]}"
        sentence = _refusal(reference, probe=nowhere)
    assert sentence.startswith(f"the read-back probe at {nowhere} cannot be reached")
    assert sentence.endswith("or --probe none to skip the checks that read state back")
    web_page = _answering(lambda request: HTMLResponse("<p>hello</p>", 200))
    with running_server(web_page) as other:
        sentence = _refusal(reference, probe=other)
    assert sentence.startswith(f"the read-back probe at {other} answered HTTP 200 (text/html")
    assert "there is no read API there" in sentence


class HangsAfter:
    """The reference destination, until it has answered `count` calls to /segment: then every
    call hangs until `release()` (a destination that stopped answering mid-run)."""

    def __init__(self, store: Store, count: int, api_key: str = API_KEY) -> None:
        self._app = create_app(store, api_key)
        self._left = count
        self._loop: asyncio.AbstractEventLoop | None = None
        self._released: asyncio.Event | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/segment":
            if self._left <= 0:
                if self._released is None:
                    self._loop, self._released = asyncio.get_running_loop(), asyncio.Event()
                await self._released.wait()
                # The harness gave up long ago: answer without reading what it sent.
                await JSONResponse({"message": "released"}, 503)(scope, receive, send)
                return
            self._left -= 1
        await self._app(scope, receive, send)

    def release(self) -> None:
        if self._loop is not None and self._released is not None:
            self._loop.call_soon_threadsafe(self._released.set)


def test_a_target_that_stops_answering_ends_the_run_with_exit_2_and_what_was_judged(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "nat.db")
    hanging = HangsAfter(store, count=25)
    subjects = load_subjects(SEED)
    config = RunConfig(api_key=API_KEY, seed=SEED, timeout=0.2, concurrency=2)
    with running_server(hanging) as url:  # type: ignore[arg-type]
        try:
            events = list(run(RunConfig(**{**_fields(config), "target": url}), subjects=subjects))
        finally:
            hanging.release()
    store.close()
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    summary = finished.summary
    assert summary.exit_code == 2
    assert summary.note.startswith("the target stopped answering after ")
    assert f"of {len(subjects)} scenarios and sequences" in summary.note
    assert "3 calls in a row got no answer (timed out after" in summary.note
    results = [event for event in events if isinstance(event, CheckResult)]
    assert results and sum(summary.counts.values()) == len(results)
    assert len({result.subject_id for result in results}) < len(subjects)


def _fields(config: RunConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}
