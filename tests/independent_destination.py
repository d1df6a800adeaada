"""A second Nat destination, written from ../shared/CONTRACT.md alone, to prove the harness right.

It imports nothing from `reference_impl` or `scenarios`, and wherever the contract leaves a
choice it chooses otherwise than the reference does: 501 for a call without a type, optional
fields of the wrong JSON type ignored (not refused), `email` named for a missing email, warnings
as plain texts, no answer fields beyond the contract's, string entry ids, properties read back as
plain values, a body limit of 64 KB exactly. `nat-harness run --strict` must pass against it; the
broken destinations (`tests/broken_destinations.py`) are subclasses that each get one thing wrong.

Each rule is a method, so that a defect is one override away from the contract. State lives in
memory; the handlers never await between reading and writing it, so one event loop makes every
call atomic (the race defect adds the await that breaks this).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["IndependentNat", "Refusal"]

#: CONTRACT B.5: the reference takes bodies up to 64 KB; so does this one.
LIMIT_BYTES = 64 * 1024
#: CONTRACT B.6: the description when nothing better is there.
STANDARD_DESCRIPTION = "Identified via Segment"
#: CONTRACT B.3: where the email is looked for, in order.
EMAIL_PLACES: tuple[tuple[str, ...], ...] = (
    ("traits", "email"),
    ("context", "traits", "email"),
    ("email",),
)
#: CONTRACT B.6: where a description URL is looked for, in order (then `event`).
URL_PLACES: tuple[tuple[str, ...], ...] = (("page", "url"), ("context", "page", "url"), ("url",))

_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_NO_ZONE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
)
_EXAMPLE_TIMESTAMP = "2020-05-31T17:55:47.263Z"


@dataclass
class Refusal(Exception):
    """A call this destination refuses: the status and the one error it names."""

    status: int
    field: str
    code: str
    message: str

    def answer(self) -> JSONResponse:
        error = {"field": self.field, "code": self.code, "message": self.message}
        return JSONResponse({"message": self.message, "errors": [error]}, self.status)


@dataclass
class _Held:
    """A user property: its value and the timestamp it was set at."""

    value: Any
    at: datetime


@dataclass
class _State:
    #: Timeline entries by contact, in the order they were made.
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    properties: dict[str, dict[str, _Held]] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_entry: int = 1


def _at(document: Any, path: tuple[str, ...]) -> Any:
    """The value at `path` in nested objects; None where a step is missing or not an object."""
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 60 else text[:59] + "…"


class IndependentNat:
    """The Nat destination contract, one method per rule; `app` serves it."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.state = _State()

    # -- HTTP ------------------------------------------------------------------------------------

    @property
    def app(self) -> Starlette:
        async def not_found(request: Request, error: Exception) -> Response:
            status = error.status_code if isinstance(error, HTTPException) else 404
            what = "No such route" if status == 404 else "Method not allowed"
            return Refusal(status, "path", "no_route", f"{what}: POST /segment").answer()

        return Starlette(
            routes=[
                Route("/segment", self._segment, methods=["POST"]),
                Route("/contacts/{email:path}/timeline", self._timeline, methods=["GET"]),
                Route("/contacts/{email:path}", self._contact, methods=["GET"]),
            ],
            exception_handlers={404: not_found, 405: not_found},
        )

    async def _segment(self, request: Request) -> Response:
        try:
            self.authorize(request.headers)
            body = await request.body()
            payload = self.decode(body, request.headers.get("content-type"))
            answer = await self.accept(payload)
        except Refusal as refusal:
            return self.refused(refusal)
        return JSONResponse(answer)

    async def _timeline(self, request: Request) -> Response:
        try:
            self.authorize(request.headers)
        except Refusal as refusal:
            return refusal.answer()
        contact = self.contact_key(request.path_params["email"])
        entries = self.state.entries.get(contact, [])
        if not entries:
            return Refusal(404, "email", "unknown", f"No contact {contact!r}").answer()
        shown = [{"id": e["id"], "day": e["day"], "description": e["description"]} for e in entries]
        return JSONResponse({"contact": contact, "entries": sorted(shown, key=lambda e: e["day"])})

    async def _contact(self, request: Request) -> Response:
        try:
            self.authorize(request.headers)
        except Refusal as refusal:
            return refusal.answer()
        contact = self.contact_key(request.path_params["email"])
        held = self.state.properties.get(contact)
        if held is None:
            return Refusal(404, "email", "unknown", f"No contact {contact!r}").answer()
        properties = {name: item.value for name, item in held.items()}
        return JSONResponse({"contact": contact, "properties": properties})

    def refused(self, refusal: Refusal) -> Response:
        """The answer to a refused call (CONTRACT B.10: `message` and `errors`)."""
        return refusal.answer()

    # -- CONTRACT B.2: auth ----------------------------------------------------------------------

    def authorize(self, headers: Mapping[str, str]) -> None:
        authorization = headers.get("authorization", "").strip()
        if not authorization:
            raise Refusal(401, "authorization", "missing", "No API key: send Basic base64(key:)")
        key = self.key_in(authorization)
        if key is None or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            raise Refusal(401, "authorization", "wrong", "Wrong API key")

    def key_in(self, authorization: str) -> str | None:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            return credentials or None
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0]

    # -- CONTRACT B.5: the body ------------------------------------------------------------------

    def decode(self, body: bytes, content_type: str | None) -> dict[str, Any]:
        if content_type and content_type.strip() and not self.is_json(content_type):
            raise Refusal(415, "content-type", "not_json", f"{content_type!r} is not JSON")
        if len(body) > self.limit_bytes():
            raise Refusal(413, "$", "too_large", f"{len(body)} bytes: at most {self.limit_bytes()}")
        try:
            text = body.decode("utf-8")
            if not text.strip():
                raise Refusal(400, "$", "empty", "Empty body")
            payload = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSON errors too
            raise Refusal(400, "$", "not_json", f"Not a JSON document: {error}") from None
        if not isinstance(payload, dict):
            raise Refusal(400, "$", "not_object", "The body must be one JSON object")
        return payload

    def limit_bytes(self) -> int:
        return LIMIT_BYTES

    def is_json(self, content_type: str) -> bool:
        media = content_type.split(";")[0].strip().lower()
        return media == "application/json" or media.endswith("+json")

    # -- the call --------------------------------------------------------------------------------

    async def accept(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.check_type(payload.get("type"))
        _, contact = self.contact_of(payload)
        moment = self.moment_of(payload.get("timestamp"))
        description, warnings = self.describe(payload)
        message_id = payload.get("messageId")
        return await self.record(
            contact=contact,
            day=self.day_of(moment, payload),
            moment=moment,
            description=description,
            traits=self.traits_of(payload),
            message_id=message_id if isinstance(message_id, str) else None,
            warnings=warnings,
        )

    def check_type(self, value: Any) -> None:
        """CONTRACT B.5: identify, in any letter case; anything else is 501 (a call without a
        type too: the contract allows 501 there, and Segment drops both)."""
        if not isinstance(value, str):
            raise Refusal(501, "type", "no_type", "Nat only accepts identify calls (no type)")
        if not self.is_identify(value):
            raise Refusal(501, "type", "unsupported", "Nat only accepts identify calls")

    def is_identify(self, value: str) -> bool:
        return value.casefold() == "identify"

    def part(self, payload: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
        """An optional object of the call; one of the wrong JSON type is ignored (B.5)."""
        found = _at(payload, path)
        return found if isinstance(found, dict) else None

    def value_at(self, payload: dict[str, Any], place: tuple[str, ...]) -> Any:
        parent = self.part(payload, place[:-1]) if len(place) > 1 else payload
        return parent.get(place[-1]) if parent is not None else None

    # -- CONTRACT B.3: the email -----------------------------------------------------------------

    def email_places(self) -> tuple[tuple[str, ...], ...]:
        return EMAIL_PLACES

    def contact_of(self, payload: dict[str, Any]) -> tuple[str, str]:
        for place in self.email_places():
            value = self.value_at(payload, place)
            if self.absent(value):
                continue
            name = ".".join(place)
            problem = self.email_problem(value)
            if problem is not None:
                raise Refusal(400, name, "invalid", f"{name} {problem}")
            return name, self.contact_key(value)
        return self.missing_email()

    def missing_email(self) -> tuple[str, str]:
        raise Refusal(400, "email", "missing", "Missing email address")

    def absent(self, value: Any) -> bool:
        """A JSON null counts as absent (CONTRACT B.3)."""
        return value is None

    def email_problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string holding an email address"
        address = value.strip()
        if not address or len(address) > 254:
            return "is empty or too long"
        if address.count("@") != 1:
            return f"{_short(address)!r} must hold exactly one @"
        local, domain = address.split("@")
        if not _LOCAL_PART.fullmatch(local):
            return f"{_short(address)!r} has a local part no address can have"
        labels = domain.split(".")
        good = all(
            0 < len(label) <= 63
            and not label.startswith("-")
            and not label.endswith("-")
            and all(char.isalnum() or char == "-" for char in label)
            for label in labels
        )
        if len(labels) < 2 or not good or labels[-1].isdigit():
            return f"{_short(address)!r} needs a domain like example.com"
        return None

    def contact_key(self, email: str) -> str:
        """The address trimmed and lowercased (CONTRACT B.3)."""
        return email.strip().lower()

    # -- CONTRACT B.4 and B.7: the timestamp and its day -----------------------------------------

    def moment_of(self, value: Any) -> datetime:
        if value is None:
            raise Refusal(400, "timestamp", "missing", "Missing timestamp")
        if not isinstance(value, str):
            raise Refusal(
                400, "timestamp", "invalid", f"timestamp must be text like {_EXAMPLE_TIMESTAMP}"
            )
        moment = self.parse_timestamp(value)
        if moment is None:
            reason = "has no time zone" if _NO_ZONE.fullmatch(value) else "is not RFC 3339"
            raise Refusal(
                400,
                "timestamp",
                "invalid",
                f"timestamp {_short(value)!r} {reason}: send one like {_EXAMPLE_TIMESTAMP}",
            )
        return moment

    def parse_timestamp(self, value: str) -> datetime | None:
        match = _RFC3339.fullmatch(value)
        if match is None:
            return None
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        fraction, zulu, sign, offset_hours, offset_minutes = match.groups()[6:]
        if zulu:
            zone = UTC
        else:
            if int(offset_hours) > 23 or int(offset_minutes) > 59:
                return None
            zone = self.zone(sign, int(offset_hours), int(offset_minutes))
            if zone is None:
                return None
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=zone)
        except ValueError:
            return None
        if fraction:
            moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
        return moment.astimezone(UTC)

    def zone(self, sign: str, hours: int, minutes: int) -> timezone | None:
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if sign == "-" else offset)

    def day_of(self, moment: datetime, payload: dict[str, Any]) -> str:
        """The calendar day of the timestamp in UTC (CONTRACT B.7)."""
        return moment.astimezone(UTC).date().isoformat()

    # -- CONTRACT B.6: the description -----------------------------------------------------------

    def url_places(self) -> tuple[tuple[str, ...], ...]:
        return URL_PLACES

    def describe(self, payload: dict[str, Any]) -> tuple[str, list[Any]]:
        warnings: list[Any] = []
        for place in self.url_places():
            value = self.value_at(payload, place)
            if value is None:
                continue
            if self.usable_url(value):
                return value, warnings
            name = ".".join(place)
            warnings.append(f"{name} ignored: {_short(value)!r} is not an absolute http(s) URL")
        event = payload.get("event")
        if isinstance(event, str) and event.strip():
            return event, warnings
        return STANDARD_DESCRIPTION, warnings

    def usable_url(self, value: Any) -> bool:
        if not isinstance(value, str) or any(char.isspace() for char in value):
            return False
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            return False
        return parts.scheme.lower() in ("http", "https") and bool(host)

    # -- CONTRACT B.7 to B.9: what is kept -------------------------------------------------------

    def traits_of(self, payload: dict[str, Any]) -> dict[str, Any]:
        return dict(self.part(payload, ("traits",)) or {})

    async def record(
        self,
        *,
        contact: str,
        day: str,
        moment: datetime,
        description: str,
        traits: dict[str, Any],
        message_id: str | None,
        warnings: list[Any],
    ) -> dict[str, Any]:
        state = self.state
        if message_id is not None and message_id in state.answers:
            return self.replay(state.answers[message_id], contact, day, moment, traits)
        entry = self.find_entry(contact, day)
        if entry is None:
            await self.between_look_and_write(contact, day)
            entry = self.create_entry(contact, day, description)
            outcome = "created"
        else:
            outcome = "deduplicated"
            self.seen_again(entry, description)
        self.keep_traits(contact, traits, moment, deduplicated=outcome == "deduplicated")
        answer = {
            "outcome": outcome,
            "contact": contact,
            "entry_id": entry["id"],
            "day": day,
            "replayed": False,
            "warnings": warnings,
        }
        if message_id is not None:
            state.answers[message_id] = answer
        return answer

    def find_entry(self, contact: str, day: str) -> dict[str, Any] | None:
        """The contact's entry of the day, if there is one (CONTRACT B.7)."""
        return next((e for e in self.state.entries.get(contact, []) if e["day"] == day), None)

    async def between_look_and_write(self, contact: str, day: str) -> None:
        """Nothing: no await between looking for the day's entry and making it."""

    def create_entry(self, contact: str, day: str, description: str) -> dict[str, Any]:
        state = self.state
        entry = {"id": f"e{state.next_entry}", "day": day, "description": description}
        state.next_entry += 1
        state.entries.setdefault(contact, []).append(entry)
        return entry

    def seen_again(self, entry: dict[str, Any], description: str) -> None:
        """A later call of the day: the entry keeps its first description (CONTRACT B.7)."""

    def replay(
        self,
        first: dict[str, Any],
        contact: str,
        day: str,
        moment: datetime,
        traits: dict[str, Any],
    ) -> dict[str, Any]:
        """A retry: the first answer again, and nothing changes (CONTRACT B.8)."""
        return {**first, "replayed": True}

    def keep_traits(
        self, contact: str, traits: dict[str, Any], moment: datetime, *, deduplicated: bool
    ) -> None:
        """Every trait of every accepted call (a deduplicated one too), the value with the
        latest timestamp winning (CONTRACT B.9)."""
        held = self.state.properties.setdefault(contact, {})
        for name, value in traits.items():
            if name not in held or moment >= held[name].at:
                held[name] = _Held(value, moment)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is out of range")
    return number
