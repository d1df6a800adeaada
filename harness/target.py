"""Talking to a Nat destination: POSTing requests as Segment does, reading back, curl lines.

`Destination` sends a `scenarios.model.Request` with Segment's headers and the auth the request
asks for, and returns an `Exchange` (what was sent, what came back, how long it took). An answer
slower than the latency budget is still waited for a little, so "too slow" is observed and
reported rather than hanging the run. `ReadBack` polls the reference read API until the state a
check expects shows up or a deadline passes. Failure messages show requests as `curl` lines that
name the key `$NAT_API_KEY` instead of printing it.
"""

from __future__ import annotations

import re
import shlex
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
import requests
from requests.adapters import HTTPAdapter

from contract.credentials import basic_authorization, bearer_authorization
from contract.delivery import SEGMENT_HEADERS, SEGMENT_TIMEOUT_S, settings_header
from contract.endpoints import SEGMENT_PATH, address_of
from contract.read_api import contact_url, timeline_url
from harness.errors import TargetUnreachable
from scenarios.model import Auth, Request

__all__ = [
    "LOST_AFTER",
    "WRONG_KEY",
    "Destination",
    "Exchange",
    "ReadBack",
    "Sent",
    "authorization_for",
    "poll",
    "reference_destination",
]

#: The key sent by requests whose auth is "wrong" (or `WRONG_KEY + "-2"` if it is the real one).
WRONG_KEY = "not-the-api-key"
#: How much longer than the latency budget the harness waits for an answer before giving up (at
#: most the budget again, so a short test budget stays short).
_GRACE_S = 1.0
#: Answers longer than this are shortened where they are shown to people.
_SHOWN_BYTES = 600
#: This many calls in a row without an answer mean the target stopped answering.
LOST_AFTER = 3

T = TypeVar("T")


def authorization_for(auth: Auth, api_key: str) -> str | None:
    """The Authorization header value for an auth mode: Basic `key:` as Segment sends it, etc."""
    if auth == "none":
        return None
    if auth == "bearer":
        return bearer_authorization(api_key)
    if auth == "wrong-bearer":
        return bearer_authorization(_wrong_key(api_key))
    return basic_authorization(api_key if auth == "basic" else _wrong_key(api_key))


def _wrong_key(api_key: str) -> str:
    return WRONG_KEY if api_key != WRONG_KEY else WRONG_KEY + "-2"


@dataclass(frozen=True, slots=True)
class Sent:
    """One HTTP request as the harness sent it, without the key (only how it authenticated)."""

    method: str
    url: str
    auth: Auth
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None

    def curl(self) -> str:
        """A shell line that repeats the request exactly, body and all (one line, so that it
        pastes into a shell); the key is read from `$NAT_API_KEY`."""
        words = ["curl", "-sS", "-i"]
        if self.method != ("POST" if self.body is not None else "GET"):
            words += ["-X", self.method]
        words.append(shlex.quote(self.url))
        if self.auth == "basic":
            words += ["-u", '"$NAT_API_KEY:"']
        elif self.auth == "bearer":
            words += ["-H", '"Authorization: Bearer $NAT_API_KEY"']
        elif self.auth == "wrong":
            words += ["-u", shlex.quote(f"{WRONG_KEY}:")]
        elif self.auth == "wrong-bearer":
            words += ["-H", shlex.quote(f"Authorization: Bearer {WRONG_KEY}")]
        for name, value in self.headers:
            words += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            words += ["--data-binary", _shell_quoted(self.body)]
        return " ".join(words)


@dataclass(frozen=True, slots=True)
class Exchange:
    """A request and the destination's answer, or why there was none (timeout, connection error)."""

    sent: Sent
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    #: Seconds from sending the request to having the whole answer (or to giving up).
    elapsed: float = 0.0
    #: Why no answer came: None when one did.
    error: str | None = None
    timed_out: bool = False
    #: The answer's Location header (a redirect's target), or "".
    location: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None

    def document(self) -> Any:
        """The answer's body as JSON, or None when it is empty or not JSON."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None

    def received(self) -> str:
        """The answer as people read it in a failure: status, content type and (short) body."""
        if not self.answered:
            return f"no answer: {self.error}"
        kind = f" ({self.content_type})" if self.content_type else ""
        body = _shown(self.body) if self.body else "<empty body>"
        return f"HTTP {self.status}{kind} after {self.elapsed:.3f} s: {body}"


#: Characters a single-quoted shell word cannot hold on one line.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def _shell_quoted(body: bytes) -> str:
    """The body as one shell word on one line: single-quoted, or `$'...'` (bash, zsh) with
    escapes when it holds line breaks, control characters or bytes that are not UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _UNPRINTABLE.search(text):
        return shlex.quote(text)
    escaped = []
    for byte in body if text is None else text.encode("utf-8"):
        char = chr(byte)
        if char in "\\'":
            escaped.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            escaped.append(char)
        else:
            escaped.append(f"\\x{byte:02x}")
    return "$'" + "".join(escaped) + "'"


def _shown(body: bytes) -> str:
    text = body[:_SHOWN_BYTES].decode("utf-8", errors="backslashreplace")
    return text + ("…" if len(body) > _SHOWN_BYTES else "")


class Destination:
    """A Nat destination under test, reached over HTTP at `endpoint` with `api_key`.

    Each thread gets its own `requests.Session` (a pooled keep-alive connection), so workers
    and concurrent bursts never share one. `timeout` is the latency budget (Segment's 5 s): the
    harness waits up to a second longer, so a slow answer is measured, not just lost. After
    `LOST_AFTER` calls in a row without an answer, `lost` says why the target is taken for
    gone; after `stop()`, no more requests are sent (each send returns at once, unanswered).
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        timeout: float = SEGMENT_TIMEOUT_S,
        settings: dict[str, object] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._api_key = api_key
        self._settings_header = settings_header(settings)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._silent = 0
        self._lost: str | None = None
        self._stopped = threading.Event()

    @property
    def lost(self) -> str | None:
        """Why the target is taken to have stopped answering, or None while it answers."""
        return self._lost

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Send nothing more: the run is over (interrupted, or the target is lost)."""
        self._stopped.set()

    def connect(self) -> None:
        """Raise `TargetUnreachable` unless a TCP connection to the endpoint's host succeeds."""
        try:
            with socket.create_connection(address_of(self.endpoint), timeout=self.timeout):
                pass
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise TargetUnreachable(
                f"cannot reach the target {self.endpoint}: {reason}. Check the URL and that the "
                "destination is running (`nat-harness serve` starts the reference one), or run "
                "without --target to test the embedded reference destination."
            ) from None

    def send(self, request: Request) -> Exchange:
        """POST one scenario request to the endpoint, as Segment would deliver it."""
        headers = [("X-Segment-Settings", self._settings_header)]
        if request.content_type is not None:
            headers.insert(0, ("Content-Type", request.content_type))
        sent = Sent("POST", self.endpoint, request.auth, tuple(headers), request.body())
        return self._exchange(sent)

    def get(self, url: str) -> Exchange:
        """GET a read-API URL with the destination's key."""
        return self._exchange(Sent("GET", url, "basic", ()))

    def close(self) -> None:
        """Close every session any thread opened."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # No proxies, netrc or environment auth: exactly the headers a check asks for.
            session.trust_env = False
            session.headers.clear()
            session.headers.update(SEGMENT_HEADERS)
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _exchange(self, sent: Sent) -> Exchange:
        if self._stopped.is_set():
            return Exchange(sent, error="not sent: the run was stopped")
        exchange = self._round_trip(sent)
        with self._sessions_lock:
            if exchange.answered:
                self._silent = 0
            elif not self._stopped.is_set():
                self._silent += 1
                if self._silent >= LOST_AFTER and self._lost is None:
                    self._lost = f"{LOST_AFTER} calls in a row got no answer ({exchange.error})"
        return exchange

    def _round_trip(self, sent: Sent) -> Exchange:
        headers = dict(sent.headers)
        authorization = authorization_for(sent.auth, self._api_key)
        if authorization is not None:
            headers["Authorization"] = authorization
        started = time.perf_counter()
        try:
            response = self._session().request(
                sent.method,
                sent.url,
                data=sent.body,
                headers=headers,
                timeout=(self.timeout, self.timeout + min(_GRACE_S, self.timeout)),
                allow_redirects=False,
            )
            body = response.content
        except requests.Timeout:
            waited = time.perf_counter() - started
            return Exchange(
                sent, elapsed=waited, error=f"timed out after {waited:.1f} s", timed_out=True
            )
        except requests.RequestException as error:
            return Exchange(
                sent, elapsed=time.perf_counter() - started, error=_connection_problem(error)
            )
        return Exchange(
            sent,
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            body=body,
            elapsed=time.perf_counter() - started,
            location=response.headers.get("Location", ""),
        )


def _connection_problem(error: requests.RequestException) -> str:
    """The reason a request got no answer (refused, reset, ...), in one short line."""
    text = str(error)
    errno = re.search(r"\[Errno -?\d+\] [^'\")]+", text)
    if errno is not None:
        return f"{type(error).__name__}: {errno.group(0)}"
    tls = re.search(r"\[SSL: [^\]]+\][^'\")(]*", text)
    if tls is not None:
        return f"{type(error).__name__}: {tls.group(0).strip()}"
    reason = re.search(r"(RemoteDisconnected|BadStatusLine|ProtocolError)\(['\"]?([^'\")]*)", text)
    if reason is not None:
        return f"{type(error).__name__}: {reason.group(1)}: {reason.group(2)}".rstrip(": ")
    return f"{type(error).__name__}: {text[:200]}"


def poll(
    fetch: Callable[[], T],
    until: Callable[[T], bool],
    wait: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fetch` until `until` holds or `wait` seconds have passed; return the last result.

    Polls quickly at first (10 ms, doubling to 200 ms), so a destination that already has the
    state costs one call, and one that never gets there costs at most `wait` seconds.
    """
    deadline = clock() + wait
    interval = 0.01
    while True:
        result = fetch()
        remaining = deadline - clock()
        if until(result) or remaining <= 0:
            return result
        sleep(min(interval, remaining))
        interval = min(interval * 2, 0.2)


class ReadBack:
    """The reference read API at `base`: a contact's timeline entries and user properties.

    `GET {base}/contacts/{email}/timeline` answers `{"contact", "entries": [{"day",
    "description", ...}]}` and `GET {base}/contacts/{email}` answers `{"contact", "properties":
    {name: {"value", "set_at"}}, "entries"}`; an unknown contact is a 404.
    """

    def __init__(self, destination: Destination, base: str, *, wait: float) -> None:
        self.base = base.rstrip("/")
        self.wait = wait
        self._destination = destination

    @property
    def timeout(self) -> float:
        """Seconds a read waits for an answer (the destination's latency budget)."""
        return self._destination.timeout

    def timeline(self, email: str, until: Callable[[Exchange], bool]) -> Exchange:
        """The contact's timeline, polled until `until` holds or the deadline passes."""
        url = timeline_url(self.base, email)
        return poll(lambda: self._destination.get(url), until, self.wait)

    def contact(self, email: str, until: Callable[[Exchange], bool]) -> Exchange:
        """The contact's user properties, polled until `until` holds or the deadline passes."""
        url = contact_url(self.base, email)
        return poll(lambda: self._destination.get(url), until, self.wait)


@contextmanager
def reference_destination(api_key: str) -> Iterator[str]:
    """Serve the reference destination on a free loopback port with a temporary database.

    Yields the URL to POST events to; the server stops and the database is deleted on exit.
    """
    from reference_impl import Store, create_app, running_server

    with tempfile.TemporaryDirectory(prefix="nat-harness-") as directory:
        store = Store(Path(directory) / "nat.db")
        try:
            with running_server(create_app(store, api_key)) as base_url:
                yield base_url + SEGMENT_PATH
        finally:
            store.close()
