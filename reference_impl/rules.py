"""The Nat acceptance rules: a request body in, an accepted event or a rejection out.

Pure and total: no HTTP, no database, and no JSON value makes them raise. The regular expressions
for emails and timestamps are read from the published schema (`nat-accepted.json`), so the rules
and the schema cannot drift apart on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

import orjson

from contract.limits import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_ID_LENGTH,
    MAX_NESTING_DEPTH,
)
from contract.timestamps import parse_rfc3339
from schemas import ACCEPTED, load_schema

__all__ = [
    "DESCRIPTION_SOURCES",
    "EMAIL_PLACES",
    "STANDARD_DESCRIPTION",
    "Accepted",
    "Issue",
    "Rejected",
    "body_too_large",
    "contact_key_of",
    "evaluate",
    "parse_body",
    "parse_timestamp",
]

#: The timeline description when the call carries no usable url or event.
STANDARD_DESCRIPTION = "Identified via Segment"
#: Where the email is looked for, in order; the first one present (not null) is the contact's.
EMAIL_PLACES: tuple[str, ...] = ("traits.email", "context.traits.email", "email")
#: Where the description is looked for, in order; the last one is the fallback.
DESCRIPTION_SOURCES: tuple[str, ...] = ("page.url", "context.page.url", "url", "event", "standard")

_URL_PLACES = ("page.url", "context.page.url", "url")
_CONTAINERS = ("traits", "context", "page", "context.traits", "context.page")
_TIMESTAMP_EXAMPLE = "2020-05-31T17:55:47.263Z"
_EMAIL_PLACES_TEXT = "traits.email (recommended), context.traits.email or top-level email"

_INTEGER_RANGE = range(-(2**63), 2**64)  # what orjson and a 64-bit store hold

_DEFS = load_schema(ACCEPTED)["$defs"]
_EMAIL_RE = re.compile(_DEFS["email"]["pattern"])
_EMAIL_MAX_LENGTH: int = _DEFS["email"]["maxLength"]
_TIMESTAMP_RE = re.compile(_DEFS["timestamp"]["pattern"])
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one field: an error rejects the call, a warning reports skipped data."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Accepted:
    """A call Nat accepts: what goes on the contact's timeline and user properties."""

    contact_key: str
    email_field: str
    occurred_at: datetime
    day: date
    description: str
    description_source: str
    traits: dict[str, Any]
    message_id: str | None
    warnings: tuple[Issue, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A call Nat refuses, with the status Segment understands and a body that says why."""

    status: int
    message: str
    errors: tuple[Issue, ...] = field(default=())

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errors": [issue.as_dict() for issue in self.errors]}


def _reject(status: int, *errors: Issue) -> Rejected:
    return Rejected(status, "; ".join(error.message for error in errors), errors)


def parse_body(body: bytes, content_type: str | None = None) -> Any | Rejected:
    """Decode a body as Segment sends it: at most 64 KB of JSON, declared as JSON if at all."""
    if content_type and not _is_json_media_type(content_type):
        return _reject(
            415,
            Issue(
                "body",
                "unsupported_media_type",
                f"Content-Type {content_type.split(';')[0].strip()!r} is not JSON: "
                "send application/json",
            ),
        )
    if len(body) > MAX_BODY_BYTES:
        return body_too_large(len(body))
    if not body.strip():
        return _reject(400, Issue("body", "empty", "Empty body: send one JSON object"))
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return _reject(400, Issue("body", "not_json", f"Body is not valid JSON: {error}"))


def body_too_large(size: int) -> Rejected:
    """The 413 for a body of `size` bytes, over the destination's limit."""
    return _reject(
        413,
        Issue(
            "body",
            "too_large",
            f"Body is {size} bytes or more: Nat takes bodies of at most {MAX_BODY_BYTES} bytes",
        ),
    )


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def evaluate(payload: Any, *, day_zone: tzinfo = UTC) -> Accepted | Rejected:
    """Apply the Nat contract to one decoded message; `day_zone` decides which day counts."""
    if not isinstance(payload, dict):
        return _reject(
            400,
            Issue("body", "not_object", f"Body must be a JSON object, got {_json_type(payload)}"),
        )
    type_rejection = _check_type(payload.get("type"))
    if type_rejection is not None:
        return type_rejection

    errors: list[Issue] = []
    containers = _containers(payload, errors)
    email_field, contact_key = _find_contact(payload, containers, errors)
    occurred_at = _check_timestamp(payload.get("timestamp"), errors)
    message_id = _check_message_id(payload.get("messageId"), errors)
    _check_storable(payload, errors)
    if errors:
        return _reject(400, *errors)
    assert contact_key is not None and occurred_at is not None and email_field is not None

    warnings: list[Issue] = []
    description_source, description = _describe(payload, containers, warnings)
    traits = containers["traits"]
    return Accepted(
        contact_key=contact_key,
        email_field=email_field,
        occurred_at=occurred_at,
        day=occurred_at.astimezone(day_zone).date(),
        description=description,
        description_source=description_source,
        traits=dict(traits) if traits else {},
        message_id=message_id,
        warnings=tuple(warnings),
    )


def _check_type(message_type: Any) -> Rejected | None:
    if message_type is None:
        return _reject(
            400,
            Issue(
                "type", "missing", 'Missing type: Nat accepts identify calls ("type": "identify")'
            ),
        )
    if not isinstance(message_type, str):
        return _reject(
            400,
            Issue(
                "type",
                "invalid_type",
                f'type must be the string "identify", got {_json_type(message_type)}',
            ),
        )
    if not (message_type.isascii() and message_type.lower() == "identify"):
        return _reject(
            501,
            Issue(
                "type",
                "unsupported_type",
                f"Nat only accepts identify calls, not {_shorten(message_type)!r}",
            ),
        )
    return None


def _containers(payload: dict[str, Any], errors: list[Issue]) -> dict[str, dict[str, Any] | None]:
    """The nested objects the rules read; null is absent, any other non-object an error."""
    found: dict[str, dict[str, Any] | None] = {}
    for path in _CONTAINERS:
        parent_path, _, key = path.rpartition(".")
        parent = found.get(parent_path) if parent_path else payload
        value = parent.get(key) if parent else None
        if value is None or isinstance(value, dict):
            found[path] = value
        else:
            found[path] = None
            errors.append(
                Issue(path, "invalid_type", f"{path} must be an object, got {_json_type(value)}")
            )
    return found


def _find_contact(
    payload: dict[str, Any], containers: dict[str, dict[str, Any] | None], errors: list[Issue]
) -> tuple[str | None, str | None]:
    """The first email present (not null), and its contact key; an error if none or not valid."""
    for place in EMAIL_PLACES:
        parent_path, _, key = place.rpartition(".")
        parent = containers[parent_path] if parent_path else payload
        value = parent.get(key) if parent else None
        if value is None:
            continue
        problem = _email_problem(value)
        if problem is None:
            return place, contact_key_of(value)
        code = "invalid_type" if not isinstance(value, str) else "invalid_format"
        errors.append(Issue(place, code, f"{place} {problem}"))
        return None, None
    errors.append(
        Issue(
            "traits.email",
            "missing",
            f"Missing email address: put it in {_EMAIL_PLACES_TEXT}",
        )
    )
    return None, None


def contact_key_of(email: str) -> str:
    """The key that makes case and surrounding-space variants of one address one contact."""
    return email.strip(" \t").lower()


def _email_problem(value: Any) -> str | None:
    """None for a valid address; otherwise what is wrong with it, in words."""
    if not isinstance(value, str):
        return f"must be a string holding an email address, got {_json_type(value)}"
    if len(value) <= _EMAIL_MAX_LENGTH and "\n" not in value and _EMAIL_RE.match(value):
        return None
    shown = _shorten(value)
    address = value.strip(" \t")
    if not address:
        reason = "is empty"
    elif len(value) > _EMAIL_MAX_LENGTH:
        reason = f"is {len(value)} characters long (at most {_EMAIL_MAX_LENGTH})"
    elif address.count("@") != 1:
        reason = "must contain exactly one '@'"
    elif "." not in address.rpartition("@")[2]:
        reason = "needs a domain with a dot, like example.com"
    else:
        reason = "has characters or dots where an address cannot have them"
    return f"is not a valid email address: {shown!r} {reason} (expected name@example.com)"


def parse_timestamp(value: str) -> datetime | None:
    """The UTC instant of an RFC 3339 date-time with a zone in the schema's layout (years
    1000-2999, at most nine fraction digits), or None when it is not one."""
    return parse_rfc3339(value, _TIMESTAMP_RE)


def _check_timestamp(value: Any, errors: list[Issue]) -> datetime | None:
    if value is None:
        errors.append(
            Issue(
                "timestamp",
                "missing",
                "Missing timestamp: send an RFC 3339 date-time with a zone, "
                f"like {_TIMESTAMP_EXAMPLE}",
            )
        )
        return None
    if not isinstance(value, str):
        errors.append(
            Issue(
                "timestamp",
                "invalid_type",
                f"timestamp must be a string like {_TIMESTAMP_EXAMPLE}, got {_json_type(value)}",
            )
        )
        return None
    moment = parse_timestamp(value)
    if moment is None:
        errors.append(Issue("timestamp", "invalid_format", _timestamp_problem(value)))
    return moment


def _timestamp_problem(value: str) -> str:
    shown = _shorten(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value.strip()):
        reason = "has no time zone"
    elif _TIMESTAMP_RE.match(value):
        reason = "is not a real date and time"
    else:
        reason = "is not an RFC 3339 date-time (years 1000-2999)"
    return (
        f"timestamp {shown!r} {reason}: send an RFC 3339 date-time with Z or an offset, "
        f"like {_TIMESTAMP_EXAMPLE} or 2020-05-31T19:55:47+02:00"
    )


def _check_message_id(value: Any, errors: list[Issue]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(
            Issue(
                "messageId",
                "invalid_type",
                f"messageId must be a string, got {_json_type(value)}",
            )
        )
        return None
    if len(value) > MAX_MESSAGE_ID_LENGTH:
        errors.append(
            Issue(
                "messageId",
                "too_long",
                f"messageId is {len(value)} characters long (at most {MAX_MESSAGE_ID_LENGTH})",
            )
        )
        return None
    return value


def _check_storable(payload: dict[str, Any], errors: list[Issue]) -> None:
    """An error naming the field when the body holds a value no store can hold (CONTRACT B.5)."""
    try:
        orjson.dumps(payload)  # the fast path: what the serializer takes is storable
    except orjson.JSONEncodeError:
        errors.append(_unstorable(payload))


def _unstorable(payload: dict[str, Any]) -> Issue:
    """The first value the serializer refuses, found without recursion (bodies nest 1,000 deep):
    nesting past MAX_NESTING_DEPTH, an integer out of 64-bit range, text that is not Unicode.
    The field is named by its first three keys, up to the first array (`traits.deep`,
    `context.page.url`)."""
    stack: list[tuple[str, bool, int, Any]] = [("body", True, 1, payload)]
    while stack:
        field_name, naming, depth, value = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_NESTING_DEPTH:
                return Issue(
                    field_name,
                    "too_deep",
                    f"{field_name} nests objects and arrays more than {MAX_NESTING_DEPTH} levels "
                    f"deep (the body counts as one): Nat stores at most {MAX_NESTING_DEPTH}",
                )
            if isinstance(value, dict):
                for key in value:
                    if not (isinstance(key, str) and _is_unicode(key)):
                        return Issue(
                            field_name, "invalid_key", f"{field_name} has a key that is not text"
                        )
                naming = naming and depth <= 3
                stack.extend(
                    (
                        _child_name(field_name, key) if naming else field_name,
                        naming,
                        depth + 1,
                        child,
                    )
                    for key, child in reversed(value.items())
                )
            else:
                stack.extend((field_name, False, depth + 1, child) for child in reversed(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if value not in _INTEGER_RANGE:
                return Issue(
                    field_name,
                    "out_of_range",
                    f"{field_name} holds an integer of {value.bit_length()} bits: Nat stores "
                    "integers from -2^63 to 2^64-1 (send a larger number as a string)",
                )
        elif isinstance(value, str):
            if not _is_unicode(value):
                return Issue(
                    field_name, "invalid_text", f"{field_name} holds text that is not Unicode"
                )
        elif not (value is None or isinstance(value, bool | float)):
            return Issue(field_name, "not_json", f"{field_name} holds a {type(value).__name__}")
    return Issue("body", "not_storable", "Body holds a value Nat cannot store")


def _child_name(parent: str, key: str) -> str:
    """The name of the member `key` of the field `parent` (the body's keys stand alone)."""
    return key if parent == "body" else f"{parent}.{key}"


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which only a lenient parser returns
        return False
    return True


def _describe(
    payload: dict[str, Any], containers: dict[str, dict[str, Any] | None], warnings: list[Issue]
) -> tuple[str, str]:
    """(source, text) of the timeline description; unusable optional values become warnings."""
    for place in _URL_PLACES:
        parent_path, _, key = place.rpartition(".")
        parent = containers[parent_path] if parent_path else payload
        value = parent.get(key) if parent else None
        if value is None:
            continue
        if isinstance(value, str) and _is_absolute_http_url(value):
            return place, value
        warnings.append(
            Issue(
                place,
                "ignored_url",
                f"{place} ignored: {_shorten(value)!r} is not an absolute http(s) URL",
            )
        )
    event = payload.get("event")
    if isinstance(event, str) and event.strip():
        return "event", event
    if event is not None:
        warnings.append(
            Issue(
                "event",
                "ignored_event",
                f"event ignored: {_shorten(event)!r} is not a non-empty string",
            )
        )
    return "standard", STANDARD_DESCRIPTION


def _is_absolute_http_url(value: str) -> bool:
    if _WHITESPACE.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - JSON has no other types


def _shorten(value: Any, limit: int = 60) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = orjson.dumps(value).decode()
        except orjson.JSONEncodeError:  # too deep, or no JSON: never repr(), which recurses
            text = f"<{_json_type(value)}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
