"""Small Nat destinations with exactly one defect each, to prove the harness catches it.

Each is a starlette app that answers through the reference's pure parts (`http_core.authorize`,
`http_core.judge_segment`, the rules) and keeps its state in a plain in-memory store, so that a
defect is one `if` away from correct behaviour. `Defect.NONE` is the control: it must pass
every check, which shows that each failing run fails because of its one defect.
"""

from __future__ import annotations

import asyncio
import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference_impl import http_core, rules
from reference_impl.app import JSONResponse
from reference_impl.rules import Accepted, Issue

__all__ = ["Defect", "broken_destination"]


class Defect(enum.Enum):
    """One way to get the Nat contract wrong; the value is a readable test id."""

    NONE = "no-defect"
    ACCEPTS_EVERYTHING = "accepts-everything"
    MISSING_EMAIL_500 = "500-for-missing-email"
    NO_DEDUPLICATION = "no-deduplication"
    LOCAL_DAY = "dedup-by-local-day"
    CASE_SENSITIVE_EMAIL = "dedup-by-case-sensitive-email"
    CHECK_THEN_INSERT_RACE = "check-then-insert-race"
    ALTERNATIVE_FORMATS_REJECTED = "alternative-formats-rejected"
    AUTH_NOT_CHECKED = "auth-not-checked"
    OTHER_TYPES_ACCEPTED = "other-types-accepted"
    EVENT_IGNORED = "event-ignored-as-description"
    SERVER_TIME_FOR_MISSING_TIMESTAMP = "missing-timestamp-replaced-by-server-time"
    SLOW_ANSWER = "answer-slower-than-timeout"
    #: Only SHOULD-level: error bodies carry a message but no `errors` list naming the field.
    ERRORS_WITHOUT_FIELDS = "errors-without-field-list"


#: How long the race defect waits between looking for the day's entry and inserting it (the
#: await of an async database call, say): long enough for a burst to interleave.
RACE_WINDOW_S = 0.02
_OFFSET = re.compile(r"(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2})$")


@dataclass
class _Memory:
    """Timeline entries, user properties and answered messageIds, in plain dicts."""

    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1

    def find(self, contact: str, day: str) -> dict[str, Any] | None:
        return next((e for e in self.entries.get(contact, []) if e["day"] == day), None)

    def insert(self, event: Accepted, contact: str, day: str) -> dict[str, Any]:
        entry = {
            "id": self.next_id,
            "day": day,
            "occurred_at": event.occurred_at.isoformat(),
            "description": event.description,
            "description_source": event.description_source,
            "message_id": event.message_id,
        }
        self.next_id += 1
        self.entries.setdefault(contact, []).append(entry)
        return entry

    def keep_traits(self, event: Accepted, contact: str) -> None:
        held = self.properties.setdefault(contact, {})
        set_at = event.occurred_at.isoformat()
        for name, value in event.traits.items():
            if name not in held or set_at >= held[name]["set_at"]:
                held[name] = {"value": value, "set_at": set_at}


def _error(status: int, field_name: str, code: str, message: str) -> JSONResponse:
    answer = http_core.error_answer(status, Issue(field_name, code, message))
    return JSONResponse(answer.body, answer.status)


def _rewrite(defect: Defect, body: bytes) -> bytes | JSONResponse:
    """The body as a defect that edits the message before the rules see it would have it."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(payload, dict):
        return body
    if defect is Defect.ALTERNATIVE_FORMATS_REJECTED:
        traits = payload.get("traits")
        if not (isinstance(traits, dict) and traits.get("email")):
            return _error(400, "traits.email", "missing", "Missing traits.email")
    if defect is Defect.OTHER_TYPES_ACCEPTED and isinstance(payload.get("type"), str):
        payload["type"] = "identify"
    if defect is Defect.EVENT_IGNORED:
        payload.pop("event", None)
    if defect is Defect.SERVER_TIME_FOR_MISSING_TIMESTAMP and payload.get("timestamp") is None:
        payload["timestamp"] = datetime.now(UTC).isoformat()
    return orjson.dumps(payload)


def _contact_and_day(defect: Defect, event: Accepted, body: bytes) -> tuple[str, str]:
    """Which (contact, day) the event counts for: the contract's, or the defect's."""
    contact, day = event.contact_key, event.day.isoformat()
    payload = orjson.loads(body)
    if defect is Defect.CASE_SENSITIVE_EMAIL:
        email: Any = payload
        for key in event.email_field.split("."):
            email = email[key]
        contact = email.strip()
    if defect is Defect.LOCAL_DAY:
        # The wall-clock day in the sender's own offset, not the UTC day.
        offset = _OFFSET.search(payload["timestamp"])
        shift = timedelta(0)
        if offset is not None:
            sign = -1 if offset["sign"] == "-" else 1
            shift = sign * timedelta(hours=int(offset["hours"]), minutes=int(offset["minutes"]))
        day = (event.occurred_at + shift).date().isoformat()
    return contact, day


def broken_destination(defect: Defect, api_key: str, *, slow_seconds: float = 1.0) -> Starlette:
    """A destination that gets the contract right except for `defect`."""
    memory = _Memory()

    def key_of(email: str) -> str:
        return (
            email.strip() if defect is Defect.CASE_SENSITIVE_EMAIL else rules.contact_key_of(email)
        )

    async def segment(request: Request) -> Response:
        if defect is not Defect.AUTH_NOT_CHECKED:
            denied = http_core.authorize(request.headers, api_key)
            if denied is not None:
                return JSONResponse(denied.body, denied.status)
        body = await request.body()
        if defect is Defect.SLOW_ANSWER and b'"event"' in body:  # slow at one kind of call
            await asyncio.sleep(slow_seconds)
        rewritten = _rewrite(defect, body)
        if isinstance(rewritten, Response):
            return rewritten
        verdict = http_core.judge_segment(rewritten, request.headers.get("content-type"))
        if isinstance(verdict, http_core.Answer):
            if defect is Defect.ACCEPTS_EVERYTHING:
                return JSONResponse({"outcome": "created", "warnings": []})
            missing_email = any(
                error["field"] == "traits.email" and error["code"] == "missing"
                for error in verdict.body["errors"]
            )
            if defect is Defect.MISSING_EMAIL_500 and missing_email:
                return _error(500, "server", "internal_error", "KeyError: 'email'")
            if defect is Defect.ERRORS_WITHOUT_FIELDS:
                return JSONResponse({"message": verdict.body["message"]}, verdict.status)
            return JSONResponse(verdict.body, verdict.status)
        return JSONResponse(await record(verdict, rewritten))

    async def record(event: Accepted, body: bytes) -> dict[str, Any]:
        if event.message_id is not None and event.message_id in memory.answers:
            return {**memory.answers[event.message_id], "replayed": True}
        contact, day = _contact_and_day(defect, event, body)
        entry = memory.find(contact, day)
        if defect is Defect.CHECK_THEN_INSERT_RACE:
            await asyncio.sleep(RACE_WINDOW_S)
        if entry is None or defect is Defect.NO_DEDUPLICATION:
            outcome, entry = "created", memory.insert(event, contact, day)
        else:
            outcome = "deduplicated"
        memory.keep_traits(event, contact)
        answer = {
            "outcome": outcome,
            "contact": contact,
            "entry_id": entry["id"],
            "day": day,
            "description": entry["description"],
            "description_source": entry["description_source"],
            "message_id": event.message_id,
            "replayed": False,
            "warnings": [warning.as_dict() for warning in event.warnings],
        }
        if event.message_id is not None:
            memory.answers[event.message_id] = answer
        return answer

    async def timeline(request: Request) -> Response:
        denied = http_core.authorize(request.headers, api_key)
        if denied is not None:
            return JSONResponse(denied.body, denied.status)
        contact = key_of(request.path_params["email"])
        if contact not in memory.entries:
            return _error(404, "email", "unknown_contact", f"No contact {contact!r}")
        entries = sorted(memory.entries[contact], key=lambda entry: (entry["day"], entry["id"]))
        return JSONResponse({"contact": contact, "entries": entries})

    async def contact(request: Request) -> Response:
        denied = http_core.authorize(request.headers, api_key)
        if denied is not None:
            return JSONResponse(denied.body, denied.status)
        key = key_of(request.path_params["email"])
        if key not in memory.entries:
            return _error(404, "email", "unknown_contact", f"No contact {key!r}")
        return JSONResponse(
            {
                "contact": key,
                "properties": memory.properties.get(key, {}),
                "entries": len(memory.entries[key]),
            }
        )

    return Starlette(
        routes=[
            Route("/segment", segment, methods=["POST"]),
            Route("/contacts/{email:path}/timeline", timeline, methods=["GET"]),
            Route("/contacts/{email:path}", contact, methods=["GET"]),
        ]
    )
