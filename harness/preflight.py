"""Before the contract: is the target a Nat destination at all, and does it take the key?

A handful of calls decide (CONTRACT C): a TCP connection; the doc's recommended identify call
with the key (a 2xx with a JSON body); the same call with a wrong key; a `track` call; and, with a
probe, one read of the probe. A target that speaks no HTTP (or no TLS) as asked, sends nothing
within the latency budget, refuses the key, has nothing at the path or answers every call the
same way ends the run at once with `NotANatDestination` (exit 2) and one sentence saying which.
A destination that lets a wrong key in or accepts a `track` call is still judged: those are
contract failures, which the checks report with their clauses.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from contract.retry import is_success, segment_retries
from contract.timestamps import format_segment_time
from harness.errors import NotANatDestination
from harness.target import Destination, Exchange, ReadBack
from scenarios.model import Request

__all__ = ["PREFLIGHT_DOMAIN", "Preflight", "preflight"]

#: The preflight's contact is on a reserved domain, with a token per run: it never meets a
#: contact of the contract's scenarios.
PREFLIGHT_DOMAIN = "example.com"
#: A documented call answered with a status Segment retries is sent again this often in all,
#: so that a destination with occasional 503s is still judged.
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Preflight:
    """What the preflight calls got: the checks may rely on a target that passed it."""

    identify: Exchange
    wrong_key: Exchange
    track: Exchange
    #: The probe's read of the preflight contact's timeline; None without a probe.
    probe: Exchange | None = None

    @property
    def accepts_identify(self) -> bool:
        return is_success(self.identify.status)


def preflight(destination: Destination, read_back: ReadBack | None) -> Preflight:
    """Run the preflight against `destination` (and the probe, if any); raise
    `NotANatDestination` with one sentence when the target cannot be judged."""
    token = secrets.token_hex(4)
    email = f"nat-harness-preflight+{token}@{PREFLIGHT_DOMAIN}"
    identify = _send_documented(destination, _documented_call(email, token, "identify"))
    _require_http(destination, identify)
    wrong_key = destination.send(
        Request(_documented_call(email, token + "w", "identify"), auth="wrong")
    )
    track = destination.send(Request(_documented_call(email, token + "t", "track")))
    found = Preflight(identify, wrong_key, track)
    _judge(destination, found)
    if read_back is None:
        return found
    return Preflight(identify, wrong_key, track, _check_probe(read_back, email))


def _documented_call(email: str, token: str, call_type: str) -> dict[str, Any]:
    """The doc's recommended format, with a messageId as Segment sends one."""
    now = format_segment_time(datetime.now(UTC))
    return {
        "type": call_type,
        "messageId": f"nat-harness-preflight-{token}",
        "timestamp": now,
        "traits": {"email": email},
        "page": {"url": "https://nat-harness.dev/preflight"},
    }


def _send_documented(destination: Destination, payload: dict[str, Any]) -> Exchange:
    """The documented call, sent again (a retry, same messageId) while it gets a retried status."""
    request = Request(payload)
    exchange = destination.send(request)
    for _ in range(_ATTEMPTS - 1):
        if exchange.status is None or not segment_retries(exchange.status):
            break
        exchange = destination.send(request)
    return exchange


def _require_http(destination: Destination, exchange: Exchange) -> None:
    """Stop when the first call got no HTTP answer at all: no TLS, no HTTP, or silence."""
    if exchange.answered:
        return
    endpoint = destination.endpoint
    error = exchange.error or ""
    if exchange.timed_out:
        raise NotANatDestination(
            f"the target {endpoint} accepted the connection but sent nothing within "
            f"{destination.timeout:g} s"
        )
    https = urlsplit(endpoint).scheme == "https"
    if error.startswith("SSLError"):
        raise NotANatDestination(
            f"the target {endpoint} does not speak TLS ({error}): is it http://?"
            if https
            else f"the target {endpoint} failed TLS ({error})"
        )
    hint = "is it the right port?" if https else "is it the right port, or a TLS server (https://)?"
    raise NotANatDestination(f"the target {endpoint} does not answer HTTP ({error}): {hint}")


def _judge(destination: Destination, found: Preflight) -> None:
    """Stop when the answers show the target is not a Nat destination that takes the key."""
    identify, wrong_key, track = found.identify, found.wrong_key, found.track
    path = urlsplit(destination.endpoint).path or "/"
    statuses = {identify.status, wrong_key.status, track.status}
    status = identify.status
    assert status is not None  # `_require_http` made sure
    if len(statuses) == 1:
        shown = f"HTTP {status}" + (f" ({identify.content_type})" if identify.content_type else "")
        if status in (401, 403):
            raise NotANatDestination(
                f"every call was answered {status}: the destination refused the key "
                "(check --api-key or NAT_API_KEY)"
            )
        if status == 404:
            raise NotANatDestination(f"nothing at {path}: every call got 404, is the path right?")
        if status == 405:
            raise NotANatDestination(
                f"{path} does not take POST: every call got 405, is the path right?"
            )
        if is_success(status):
            raise NotANatDestination(
                f"the target answers every call the same way ({shown} to the documented identify "
                "call, to a wrong key and to a track call): it judges no call, so it is not a "
                "Nat destination"
            )
        raise NotANatDestination(
            f"every call was answered {shown}, the documented identify call too: this is not a "
            f"Nat destination, or not at {path}"
        )
    if status in (401, 403):
        raise NotANatDestination(
            f"the documented identify call was answered {status}: the destination refused the "
            "key (check --api-key or NAT_API_KEY)"
        )
    if status == 404:
        raise NotANatDestination(
            f"nothing at {path}: the documented identify call got 404, is the path right?"
        )
    if 300 <= status < 400:
        location = identify.location or "another URL"
        raise NotANatDestination(
            f"the target redirects the documented identify call ({status}) to {location}: give "
            "that URL as --target"
        )
    if not is_success(status):
        raise NotANatDestination(
            f"the documented identify call was answered {identify.received()}: a Nat destination "
            "accepts it, so the contract cannot be judged here"
        )
    if not isinstance(identify.document(), dict):
        raise NotANatDestination(
            f"the documented identify call was answered {status} but not with a JSON object "
            f"({identify.received()}): is this a Nat destination?"
        )


def _check_probe(read_back: ReadBack, email: str) -> Exchange:
    """Read the preflight contact back; stop when nothing that reads like the read API answers."""

    def shown(exchange: Exchange) -> bool:
        return exchange.status == 200 or exchange.status is None

    probe = read_back.timeline(email, until=shown)
    base = read_back.base
    advice = (
        "give the read API's base URL with --probe URL, or --probe none to skip the checks "
        "that read state back"
    )
    if not probe.answered:
        if probe.timed_out:
            raise NotANatDestination(
                f"the read-back probe at {base} accepted the connection but sent nothing within "
                f"{read_back.timeout:g} s: {advice}"
            )
        raise NotANatDestination(
            f"the read-back probe at {base} cannot be reached ({probe.error}): {advice}"
        )
    if probe.status in (401, 403):
        raise NotANatDestination(
            f"the read-back probe at {base} refused the key ({probe.status}): {advice}"
        )
    document = probe.document()
    if not isinstance(document, dict):
        raise NotANatDestination(
            f"the read-back probe at {base} answered {probe.received()}, not JSON: there is no "
            f"read API there; {advice}"
        )
    if probe.status == 200 and not isinstance(document.get("entries"), list):
        raise NotANatDestination(
            f"the read-back probe at {base} answered a contact's timeline without an `entries` "
            f"list ({probe.received()}): {advice}"
        )
    return probe
