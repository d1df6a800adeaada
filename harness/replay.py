"""Replaying a recording: re-send its POSTs in order and report every answer that differs from
the recorded one (status, `outcome`, `replayed`) or from what the contract says (the reference's
rules and store, in process, fed the same calls)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from harness.explore.oracle import Divergence, Expected, Model, judge_answers
from harness.recording import MASKED, Recorded, Recording
from harness.target import Destination, Exchange
from reference_impl.rules import Rejected, parse_body
from scenarios.model import Auth, Request

__all__ = ["ReplayDifference", "ReplayResult", "parse_speed", "replay"]


@dataclass(frozen=True, slots=True)
class ReplayDifference:
    """One answer of the replay that is not what it should be, and against what."""

    index: int
    #: "recorded" (differs from the recording) or "contract" (differs from the contract).
    against: str
    clause: str
    answered: str
    expected: str
    curl: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "against": self.against,
            "clause": self.clause,
            "answered": self.answered,
            "expected": self.expected,
            "curl": self.curl,
        }


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """How a replay went: how many calls were re-sent, and every difference found."""

    sent: int
    skipped: int
    differences: tuple[ReplayDifference, ...]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "nat-harness-replay/1",
            "sent": self.sent,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "differences": [difference.to_dict() for difference in self.differences],
        }


def parse_speed(text: str) -> float | None:
    """`max` (None: no waiting) or a factor like `1x`, `2x`, `0.5x`; `SettingError` otherwise."""
    from harness.errors import SettingError

    if text == "max":
        return None
    try:
        factor = float(text.removesuffix("x"))
    except ValueError:
        factor = 0.0
    if not text.endswith("x") or factor <= 0:
        raise SettingError("speed", f"{text!r} is no speed: give 'max' or a factor like 1x or 10x")
    return factor


def _auth_of(headers: dict[str, str]) -> tuple[Auth, dict[str, str]]:
    """How the recorded call authenticated; a masked key becomes the replay's key."""
    rest = {name: value for name, value in headers.items() if name.lower() != "authorization"}
    authorization = next((v for n, v in headers.items() if n.lower() == "authorization"), None)
    if authorization is None:
        return "none", rest
    scheme = authorization.split(" ", 1)[0].lower()
    if MASKED in authorization:
        return ("bearer" if scheme == "bearer" else "basic"), rest
    return ("wrong-bearer" if scheme == "bearer" else "wrong"), rest


def _content_type(headers: dict[str, str]) -> str | None:
    return next((v for n, v in headers.items() if n.lower() == "content-type"), None)


def _expected(model: Model, body: bytes, content_type: str | None, auth: Auth) -> Expected:
    if auth not in ("basic", "bearer"):
        return model.call(None, authorized=False)
    payload = parse_body(body, content_type)
    if isinstance(payload, Rejected):
        return Expected(payload.status, reason=f"{payload.message}, field body")
    return model.call(payload)


def _recorded_difference(recorded: Recorded, exchange: Exchange) -> str | None:
    status = recorded.answered.status
    if status != exchange.status:
        return f"HTTP {status}" if status is not None else f"no answer ({recorded.answered.error})"
    try:
        then = orjson.loads(recorded.answered.body) if recorded.answered.body else None
    except orjson.JSONDecodeError:
        then = None
    now = exchange.document()
    if isinstance(then, dict) and isinstance(now, dict):
        for name in ("outcome", "replayed", "contact", "day"):
            if then.get(name) != now.get(name):
                return f"HTTP {status} with {name} {then.get(name)!r}"
    return None


def replay(
    recording: Recording,
    destination: Destination,
    *,
    speed: float | None = None,
    on_sent: Callable[[int], None] = lambda index: None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayResult:
    """Re-send the recording's POSTs to `destination` in order, paced by `speed` (None: at once)."""
    model = Model()
    differences: list[ReplayDifference] = []
    started = time.monotonic()
    sent = skipped = 0
    try:
        for index, recorded in enumerate(recording.exchanges, start=1):
            if recorded.sent.method != "POST":
                skipped += 1
                continue
            if speed is not None:
                wait = recorded.offset / speed - (time.monotonic() - started)
                if wait > 0:
                    sleep(wait)  # pacing as recorded, not synchronisation
            auth, headers = _auth_of(recorded.sent.headers)
            body = recorded.sent.body.encode("utf-8")
            content_type = _content_type(headers)
            exchange = destination.send(
                Request(raw_body=body, content_type=content_type, auth=auth)
            )
            sent += 1
            on_sent(index)
            curl = exchange.sent.curl()
            was = _recorded_difference(recorded, exchange)
            if was is not None:
                differences.append(
                    ReplayDifference(
                        index,
                        "recorded",
                        "-",
                        f"answered {exchange.received()}",
                        f"as recorded: {was}",
                        curl,
                    )
                )
            expected = _expected(model, body, content_type, auth)
            try:
                judge_answers(index, [exchange], [expected], [None], timeout=destination.timeout)
            except Divergence as divergence:
                differences.append(
                    ReplayDifference(
                        index,
                        "contract",
                        divergence.clause,
                        divergence.answered,
                        divergence.contract,
                        curl,
                    )
                )
    finally:
        model.close()
    return ReplayResult(sent, skipped, tuple(differences), time.monotonic() - started)
