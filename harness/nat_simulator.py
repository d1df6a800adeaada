"""A `responses`-backed stand-in for Nat: code under test talks `requests` to a fake base URL and
gets the reference destination's real answers and state, with no server and no network.

    with NatSimulator("https://nat.example", api_key="k") as nat:
        code_under_test.deliver(...)            # POSTs to https://nat.example/segment
        assert [e["day"] for e in nat.timeline("peter@example.com")] == ["2020-05-31"]

Any request no route takes (another host, path or method) is refused with responses'
`ConnectionError`, listing every route and why it did not match; nothing is passed through.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
import requests
import responses
from requests.structures import CaseInsensitiveDict

from contract.credentials import basic_authorization
from contract.endpoints import SEGMENT_PATH, is_http_url
from contract.read_api import CONTACT_PATH, HEALTH_PATH, RESET_PATH, STATS_PATH, TIMELINE_PATH
from harness.errors import UsageError
from reference_impl import http_core, rules
from reference_impl.http_core import Answer
from reference_impl.openapi import openapi_document
from reference_impl.store import Store

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_BASE_URL",
    "NatSimulator",
    "RefusedRequest",
    "SimulatedCall",
]

#: Where the simulator answers unless told otherwise (`.example` never resolves to a real host).
DEFAULT_BASE_URL = "https://nat.example"
#: The API key the simulator expects unless told otherwise.
DEFAULT_API_KEY = "nat-simulator-key"

_JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    """One request a route answered, and the answer: what a test asserts on."""

    #: The route that answered, as `METHOD /path` (`POST /segment`, `GET /contacts/{email}`).
    route: str
    method: str
    url: str
    headers: CaseInsensitiveDict[str]
    body: bytes
    status: int
    answer: dict[str, Any]

    @property
    def payload(self) -> Any:
        """The request body decoded as JSON, or None when it is empty or not JSON."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None


@dataclass(frozen=True, slots=True)
class RefusedRequest:
    """A request no route took: it was answered with `requests.ConnectionError(reason)`."""

    method: str
    url: str
    reason: str


#: What a route answers with: the simulator, the decoded path parameters, headers and body.
_Handler = Callable[["NatSimulator", dict[str, str], Mapping[str, str], bytes], Answer]
#: What responses expects back from a callback: status, headers, body.
_Reply = tuple[int, dict[str, str], bytes]


class _Route(responses.CallbackResponse):
    """One route of the destination, matched on host and path the way starlette matches it.

    `url` is the template shown in responses' refusal message; matching is by `_path` (a regular
    expression over the percent-decoded path, the query ignored). As in starlette the first
    route wins: a path an earlier route of the same method takes is not this route's.
    """

    def __init__(
        self,
        method: str,
        origin: str,
        prefix: str,
        template: str,
        answer: Callable[[_Route, requests.PreparedRequest], _Reply],
        earlier: tuple[_Route, ...] = (),
    ) -> None:
        super().__init__(
            method,
            origin + prefix + template,
            lambda request: answer(self, request),
            content_type=None,
        )
        self.template = template
        self._origin = origin.lower()
        self._path = re.compile(re.escape(prefix) + _path_pattern(template))
        self._earlier = tuple(route for route in earlier if route.method == method)

    def path_params(self, url: str) -> dict[str, str] | None:
        """The decoded path parameters if `url` is on this route's host and path, else None."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}".lower() != self._origin:
            return None
        found = self._path.fullmatch(unquote(parts.path))
        if found is None or any(route.path_params(url) is not None for route in self._earlier):
            return None
        return found.groupdict()

    def matches(self, request: requests.PreparedRequest) -> tuple[bool, str]:
        url = str(request.url)
        if self.path_params(url) is None:
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}".lower() != self._origin:
                return False, f"URL does not match: this route is on {self._origin}"
            return False, f"URL does not match: the path is not {self.template}"
        if request.method != self.method:
            return False, f"Method does not match: {self.template} takes {self.method}"
        return True, ""


def _path_pattern(template: str) -> str:
    """`/contacts/{email}/timeline` as a regex; `{email}` takes any text, slashes too."""
    pieces = re.split(r"\{(\w+)\}", template)
    return "".join(
        re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>.+?)"
        for index, piece in enumerate(pieces)
    )


class NatSimulator:
    """Nat at `base_url`, answering `requests` calls as the reference destination does.

    State lives in `store` (by default a fresh in-memory SQLite store). Use it as a context
    manager, or `start()` and `stop()`. `requests_mock` registers the routes into an active
    `responses.RequestsMock` the test already uses (which then decides what is refused);
    without one the simulator runs its own, with passthrough off and no assert that every
    route was called. State stays readable after `stop()`; `close()` releases the store.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = DEFAULT_API_KEY,
        *,
        day_zone: tzinfo = UTC,
        store: Store | None = None,
        requests_mock: responses.RequestsMock | None = None,
    ) -> None:
        if not is_http_url(base_url):
            raise UsageError(
                f"simulator base URL {base_url!r} is not an http(s) URL: "
                "give one like https://nat.example"
            )
        parts = urlsplit(base_url)
        if parts.query or parts.fragment:
            raise UsageError(
                f"simulator base URL {base_url!r} has a query or fragment: give only "
                "scheme, host and an optional path prefix, like https://nat.example/api"
            )
        if not api_key:
            raise UsageError("the simulator needs a non-empty API key, as Nat does")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.day_zone = day_zone
        self.store = store if store is not None else Store(":memory:")
        self._owns_store = store is None
        self._shared_mock = requests_mock
        self._mock: responses.RequestsMock | None = None
        self._routes: list[_Route] = []
        self._calls: list[SimulatedCall] = []
        self._refused: list[RefusedRequest] = []
        #: How many of the mock's calls `_collect_refusals` has already looked at.
        self._seen_refusals = 0
        self._lock = threading.Lock()

    # -- what code under test is told ------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The URL Segment POSTs events to: `{base_url}/segment`."""
        return f"{self.base_url}{SEGMENT_PATH}"

    @property
    def authorization(self) -> str:
        """The Authorization header value Segment sends with this key: `Basic base64(key:)`."""
        return basic_authorization(self.api_key)

    @property
    def routes(self) -> tuple[str, ...]:
        """Every route, as `METHOD URL-template`, in the order they are matched."""
        return tuple(f"{method} {self.base_url}{template}" for method, template, _ in _ROUTES)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> NatSimulator:
        """Register the routes (and start patching `requests` unless a shared mock is given)."""
        if self._mock is not None:
            return self
        mock = self._shared_mock or responses.RequestsMock(
            assert_all_requests_are_fired=False, passthru_prefixes=()
        )
        parts = urlsplit(self.base_url)
        origin, prefix = f"{parts.scheme}://{parts.netloc}", parts.path
        routes: list[_Route] = []
        for method, template, handler in _ROUTES:
            route = _Route(method, origin, prefix, template, self._answerer(handler), tuple(routes))
            routes.append(route)
            mock.add(route)
        self._routes = routes
        self._seen_refusals = len(mock.calls)
        if self._shared_mock is None:
            mock.start()
        self._mock = mock
        return self

    def stop(self) -> None:
        """Stop answering: unregister the routes; the state stays readable."""
        mock, self._mock = self._mock, None
        if mock is None:
            return
        self._collect_refusals(mock)
        if self._shared_mock is None:
            mock.stop(allow_assert=False)
            mock.reset()
        else:
            for route in self._routes:
                mock.remove(route)
        self._routes = []

    def close(self) -> None:
        """Stop, and close the store if the simulator made it."""
        self.stop()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> NatSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what a test asserts on ------------------------------------------------------------

    @property
    def calls(self) -> tuple[SimulatedCall, ...]:
        """Every request a route answered, in the order the answers were given."""
        with self._lock:
            return tuple(self._calls)

    @property
    def refused(self) -> tuple[RefusedRequest, ...]:
        """Every request no route took (each was answered with a `ConnectionError`)."""
        if self._mock is not None:
            self._collect_refusals(self._mock)
        with self._lock:
            return tuple(self._refused)

    def timeline(self, email: str) -> list[dict[str, Any]]:
        """The contact's timeline entries, oldest day first ([] for a contact never accepted)."""
        return http_core.timeline_body(self.store.timeline(rules.contact_key_of(email)) or [])

    def contact(self, email: str) -> dict[str, Any] | None:
        """The contact's user properties and entry count, or None if it was never accepted."""
        found = self.store.contact(rules.contact_key_of(email))
        return None if found is None else http_core.contact_body(found)

    def reset(self) -> None:
        """Forget every contact, entry, messageId, call and refusal (as `POST /reset` and more)."""
        self.store.reset()
        with self._lock:
            self._calls.clear()
            self._refused.clear()
            if self._mock is not None:
                self._seen_refusals = len(self._mock.calls)

    # -- answering --------------------------------------------------------------------------

    def _answerer(self, handler: _Handler) -> Callable[[_Route, requests.PreparedRequest], _Reply]:
        """The responses callback of a route: answer through `handler`, and record the call."""

        def answer(route: _Route, request: requests.PreparedRequest) -> _Reply:
            url = str(request.url)
            body = _body_bytes(request.body)
            reply = handler(self, route.path_params(url) or {}, request.headers, body)
            with self._lock:
                self._calls.append(
                    SimulatedCall(
                        route=f"{route.method} {route.template}",
                        method=route.method,
                        url=url,
                        headers=CaseInsensitiveDict(request.headers),
                        body=body,
                        status=reply.status,
                        answer=reply.body,
                    )
                )
            return reply.status, dict(_JSON_HEADERS), orjson.dumps(reply.body)

        return answer

    def _segment(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        return http_core.handle_segment(
            self.store, self.api_key, headers, body, day_zone=self.day_zone
        )

    def _guarded(self, headers: Mapping[str, str], read: Callable[[], Answer]) -> Answer:
        return http_core.authorize(headers, self.api_key) or read()

    def _contact(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        return self._guarded(headers, lambda: http_core.read_contact(self.store, params["email"]))

    def _timeline(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        return self._guarded(headers, lambda: http_core.read_timeline(self.store, params["email"]))

    def _health(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        return http_core.read_health()

    def _stats(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        return self._guarded(headers, lambda: http_core.read_stats(self.store))

    def _reset(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        return self._guarded(headers, lambda: http_core.reset_store(self.store))

    def _openapi(self, params: dict[str, str], headers: Mapping[str, str], body: bytes) -> Answer:
        return Answer(200, openapi_document())

    def _collect_refusals(self, mock: responses.RequestsMock) -> None:
        """Move the requests the mock refused since last time into `refused`."""
        with self._lock:
            calls = list(mock.calls)
            for call in calls[self._seen_refusals :]:
                if isinstance(call.response, requests.ConnectionError):
                    self._refused.append(
                        RefusedRequest(
                            method=str(call.request.method),
                            url=str(call.request.url),
                            reason=str(call.response),
                        )
                    )
            self._seen_refusals = len(calls)


def _body_bytes(body: Any) -> bytes:
    """A prepared request's body as bytes (requests leaves str, bytes, None or an iterable)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return b"".join(chunk if isinstance(chunk, bytes) else str(chunk).encode() for chunk in body)


#: The routes in matching order, as the reference app declares them (timeline before contact).
_ROUTES: tuple[tuple[str, str, _Handler], ...] = (
    ("POST", SEGMENT_PATH, NatSimulator._segment),
    ("GET", TIMELINE_PATH, NatSimulator._timeline),
    ("GET", CONTACT_PATH, NatSimulator._contact),
    ("GET", HEALTH_PATH, NatSimulator._health),
    ("GET", STATS_PATH, NatSimulator._stats),
    ("POST", RESET_PATH, NatSimulator._reset),
    ("GET", "/openapi.json", NatSimulator._openapi),
)
