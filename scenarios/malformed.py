"""Requests Nat must refuse: each breaks one rule of the contract, and only that one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from contract.limits import MAX_BODY_BYTES, MAX_MESSAGE_ID_LENGTH
from scenarios.model import Request
from scenarios.sampler import Person, Sampler
from scenarios.sizing import pad_to
from scenarios.variant import Variant

__all__ = ["VARIANTS", "valid_payload"]


def valid_payload(sampler: Sampler, person: Person | None = None) -> dict[str, Any]:
    """A recommended-format identify that Nat accepts, for a fresh contact unless one is given."""
    person = person or sampler.person()
    return {
        "type": "identify",
        "messageId": sampler.uuid4(),
        "timestamp": sampler.iso(sampler.moment()),
        "traits": sampler.traits(person),
        "page": {"url": sampler.url()},
    }


def _edit(change: Callable[[Sampler, dict[str, Any]], Any]) -> Callable[[Sampler], Request]:
    """A builder that breaks a valid payload in place with `change`."""

    def build(sampler: Sampler) -> Request:
        payload = valid_payload(sampler)
        change(sampler, payload)
        return Request(payload)

    return build


def _without_email(payload: dict[str, Any]) -> None:
    del payload["traits"]["email"]


def _set_email(value: Any) -> Callable[[Sampler, dict[str, Any]], None]:
    def change(sampler: Sampler, payload: dict[str, Any]) -> None:
        payload["traits"]["email"] = value

    return change


_Change = Callable[[Sampler, dict[str, Any]], Any]


def _set_timestamp(make: Callable[[Sampler, str], Any]) -> _Change:
    def change(sampler: Sampler, payload: dict[str, Any]) -> None:
        payload["timestamp"] = make(sampler, payload["timestamp"])

    return change


def missing_email(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["traits"] = sampler.traits(sampler.person(), email=False, extra=3)


def missing_email_no_traits(sampler: Sampler, payload: dict[str, Any]) -> None:
    del payload["traits"]


def missing_email_empty_objects(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["traits"] = {}
    payload["context"] = {"traits": {}, "page": {"url": payload.pop("page")["url"]}}


def null_email_everywhere(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["traits"]["email"] = None
    payload["context"] = {"traits": {"email": None}}
    payload["email"] = None


def invalid_context_email(sampler: Sampler, payload: dict[str, Any]) -> None:
    email = payload.pop("traits")["email"]
    payload["context"] = {"traits": {"email": email.replace("@", " at ")}}


def invalid_flat_email(sampler: Sampler, payload: dict[str, Any]) -> None:
    email = payload.pop("traits")["email"]
    payload["email"] = email.partition("@")[0] + "@"


def display_name_email(sampler: Sampler, payload: dict[str, Any]) -> None:
    person = sampler.person()
    payload["traits"]["email"] = f"{person.name} <{person.email}>"


def _shift_email(make: Callable[[str], str]) -> Callable[[Sampler, dict[str, Any]], None]:
    def change(sampler: Sampler, payload: dict[str, Any]) -> None:
        payload["traits"]["email"] = make(payload["traits"]["email"])

    return change


def _wrap(
    key: str, make: Callable[[dict[str, Any]], Any]
) -> Callable[[Sampler, dict[str, Any]], None]:
    def change(sampler: Sampler, payload: dict[str, Any]) -> None:
        payload[key] = make(payload)

    return change


def _remove(key: str) -> Callable[[Sampler, dict[str, Any]], None]:
    def change(sampler: Sampler, payload: dict[str, Any]) -> None:
        del payload[key]

    return change


def _raw(make: Callable[[Sampler, dict[str, Any]], bytes]) -> Callable[[Sampler], Request]:
    """A builder whose body is the given bytes (no longer a JSON object, or not JSON at all)."""

    def build(sampler: Sampler) -> Request:
        payload = valid_payload(sampler)
        body = make(sampler, payload)
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            decoded = None
        return Request(decoded, raw_body=body)

    return build


def _not_object(make: Callable[[dict[str, Any]], Any]) -> Callable[[Sampler], Request]:
    def build(sampler: Sampler) -> Request:
        return Request(make(valid_payload(sampler)))

    return build


def _other_type(message_type: str) -> Callable[[Sampler], Request]:
    """A realistic analytics.js call of another Spec type, the contact's email in context."""

    def build(sampler: Sampler) -> Request:
        person = sampler.person()
        moment = sampler.moment()
        page = sampler.page()
        payload: dict[str, Any] = {
            "anonymousId": sampler.uuid4(),
            "context": {
                "library": {"name": "analytics.js", "version": "npm:next-1.70.0"},
                "page": page,
                "traits": {"email": person.email},
            },
            "integrations": {},
            "messageId": f"ajs-next-{moment}-{sampler.uuid4()}",
            **sampler.segment_times(moment),
            "type": message_type,
            "userId": sampler.user_id(),
        }
        if message_type == "track":
            payload["event"] = sampler.event_name()
            payload["properties"] = {"plan": "pro", "revenue": 49.0}
        elif message_type in ("page", "screen"):
            payload["name"] = page["title"]
            payload["properties"] = {"path": page["path"], "url": page["url"]}
        elif message_type == "group":
            payload["groupId"] = sampler.hex_id(12)
            payload["traits"] = {"name": sampler.pick(sampler.pools.companies)}
        else:  # alias
            payload["previousId"] = payload["anonymousId"]
        return Request(payload)

    return build


def batch_body(sampler: Sampler) -> Request:
    """What a Segment library posts to the Tracking API's /v1/batch, not to a destination."""
    calls = [valid_payload(sampler) for _ in range(sampler.rng.randint(2, 4))]
    return Request({"batch": calls, "sentAt": calls[-1]["timestamp"], "context": {}})


def over_limit(sampler: Sampler) -> Request:
    return Request(pad_to(valid_payload(sampler), MAX_BODY_BYTES + 1))


def _with(**fields: Any) -> Callable[[Sampler], Request]:
    """A valid payload sent with other request fields (content type, auth)."""

    def build(sampler: Sampler) -> Request:
        return Request(valid_payload(sampler), **fields)

    return build


def _no_zone(sampler: Sampler, stamp: str) -> str:
    return stamp.rstrip("Z")


def _day_first(sampler: Sampler, stamp: str) -> str:
    year, month, rest = stamp[:10].split("-")
    return f"{rest}/{month}/{year} {stamp[11:16]}"


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "malformed/missing-email",
        "traits without email and no email elsewhere: 400 Missing email address",
        _edit(missing_email),
        weight=3,
    ),
    Variant(
        "malformed/missing-email-no-traits",
        "No traits, no context.traits, no top-level email: 400 naming traits.email",
        _edit(missing_email_no_traits),
    ),
    Variant(
        "malformed/missing-email-empty-objects",
        "traits and context.traits present but empty: 400 naming traits.email",
        _edit(missing_email_empty_objects),
    ),
    Variant(
        "malformed/null-email-everywhere",
        "traits.email, context.traits.email and email all null (null counts as absent): 400",
        _edit(null_email_everywhere),
    ),
    Variant(
        "malformed/invalid-email",
        "traits.email without an @: 400 naming traits.email",
        _edit(_shift_email(lambda email: email.replace("@", "-at-"))),
        weight=2,
    ),
    Variant(
        "malformed/invalid-email-two-at",
        "traits.email with two @: 400",
        _edit(_shift_email(lambda email: email.replace("@", "@mail@"))),
    ),
    Variant(
        "malformed/invalid-email-no-dot-domain",
        "traits.email at a dotless host (localhost): 400",
        _edit(_shift_email(lambda email: email.partition("@")[0] + "@localhost")),
    ),
    Variant("malformed/empty-email", "traits.email is an empty string: 400", _edit(_set_email(""))),
    Variant(
        "malformed/email-with-display-name",
        "traits.email holds 'Name <address>': 400, only the address is accepted",
        _edit(display_name_email),
    ),
    Variant(
        "malformed/invalid-context-email",
        "The only email, in context.traits, is invalid: 400 naming context.traits.email",
        _edit(invalid_context_email),
    ),
    Variant(
        "malformed/invalid-flat-email",
        "The only email, top-level, has nothing after @: 400 naming email",
        _edit(invalid_flat_email),
    ),
    Variant(
        "malformed/email-not-string",
        "traits.email is a number: 400 naming traits.email",
        _edit(_set_email(4155550123)),
    ),
    Variant(
        "malformed/email-array",
        "traits.email is a list of addresses: 400",
        _edit(lambda sampler, payload: payload["traits"].update(email=[sampler.person().email])),
    ),
    Variant(
        "malformed/traits-not-object",
        "traits is a string: 400 naming traits",
        _edit(lambda sampler, payload: payload.update(traits=str(payload["traits"]["email"]))),
    ),
    Variant(
        "malformed/context-not-object",
        "context is a list: 400 naming context",
        _edit(lambda sampler, payload: payload.update(context=[])),
    ),
    Variant(
        "malformed/missing-timestamp",
        "No timestamp: 400 Missing timestamp",
        _edit(_remove("timestamp")),
        weight=3,
    ),
    Variant(
        "malformed/null-timestamp",
        "timestamp is null: 400 Missing timestamp",
        _edit(_wrap("timestamp", lambda payload: None)),
    ),
    Variant(
        "malformed/timestamp-without-zone",
        "timestamp has no Z or offset: 400 naming timestamp",
        _edit(_set_timestamp(_no_zone)),
        weight=2,
    ),
    Variant(
        "malformed/timestamp-unparsable",
        "timestamp is words: 400 naming timestamp",
        _edit(_set_timestamp(lambda sampler, stamp: "yesterday at noon")),
    ),
    Variant(
        "malformed/timestamp-day-first",
        "timestamp in DD/MM/YYYY HH:MM form: 400",
        _edit(_set_timestamp(_day_first)),
    ),
    Variant(
        "malformed/timestamp-date-only",
        "timestamp is a date without a time: 400",
        _edit(_set_timestamp(lambda sampler, stamp: stamp[:10])),
    ),
    Variant(
        "malformed/timestamp-impossible-date",
        "timestamp on 30 February: 400, not a real date",
        _edit(_set_timestamp(lambda sampler, stamp: stamp[:5] + "02-30" + stamp[10:])),
    ),
    Variant(
        "malformed/timestamp-number",
        "timestamp as Unix seconds (a number): 400",
        _edit(_set_timestamp(lambda sampler, stamp: 1_780_000_000 + sampler.rng.randrange(10**6))),
    ),
    Variant(
        "malformed/missing-type",
        "No type: 400 naming type",
        _edit(_remove("type")),
    ),
    Variant(
        "malformed/null-type",
        "type is null: 400 naming type",
        _edit(_wrap("type", lambda payload: None)),
    ),
    Variant(
        "malformed/type-not-string",
        "type is a number: 400 naming type",
        _edit(_wrap("type", lambda payload: 1)),
    ),
    Variant(
        "malformed/message-id-not-string",
        "messageId is a number: 400 naming messageId",
        _edit(_wrap("messageId", lambda payload: 123456789)),
    ),
    Variant(
        "malformed/message-id-too-long",
        f"messageId longer than {MAX_MESSAGE_ID_LENGTH} characters: 400",
        _edit(_wrap("messageId", lambda payload: "m" * (MAX_MESSAGE_ID_LENGTH + 1))),
    ),
    Variant("malformed/other-type-track", "A track call: 501", _other_type("track"), weight=3),
    Variant("malformed/other-type-page", "A page call: 501", _other_type("page"), weight=2),
    Variant("malformed/other-type-screen", "A screen call: 501", _other_type("screen")),
    Variant("malformed/other-type-group", "A group call: 501", _other_type("group")),
    Variant("malformed/other-type-alias", "An alias call: 501", _other_type("alias")),
    Variant(
        "malformed/batch-body",
        "A Tracking API batch ({batch: [...]}), which Segment never sends to a destination: 400",
        batch_body,
    ),
    Variant(
        "malformed/not-an-object-array",
        "The identify wrapped in a JSON array: 400 naming body",
        _not_object(lambda payload: [payload]),
    ),
    Variant(
        "malformed/not-an-object-string",
        "The body is a JSON string: 400",
        _not_object(lambda payload: "identify"),
    ),
    Variant(
        "malformed/not-an-object-null",
        "The body is JSON null: 400",
        _not_object(lambda payload: None),
    ),
    Variant(
        "malformed/not-an-object-number",
        "The body is a JSON number: 400",
        _not_object(lambda payload: 42),
    ),
    Variant(
        "malformed/not-json",
        "The body is cut off mid-object: 400 naming body",
        _raw(lambda sampler, payload: orjson.dumps(payload)[:-7]),
    ),
    Variant(
        "malformed/not-json-single-quotes",
        "A Python dict's repr instead of JSON: 400",
        _raw(lambda sampler, payload: repr(payload).encode()),
    ),
    Variant(
        "malformed/not-json-form-encoded",
        "Form-encoded fields declared as JSON: 400",
        _raw(
            lambda sampler, payload: (
                f"type=identify&email={payload['traits']['email']}&timestamp={payload['timestamp']}"
            ).encode()
        ),
    ),
    Variant("malformed/empty-body", "An empty body: 400", _raw(lambda sampler, payload: b"")),
    Variant(
        "malformed/whitespace-body",
        "A body of spaces only: 400",
        _raw(lambda sampler, payload: b"   "),
    ),
    Variant(
        "malformed/over-64kb",
        f"A valid identify of {MAX_BODY_BYTES + 1} bytes, one over the limit: 413",
        over_limit,
        stampable=False,
    ),
    Variant(
        "malformed/wrong-content-type",
        "A valid identify sent as text/plain: 415",
        _with(content_type="text/plain"),
    ),
    Variant(
        "malformed/form-content-type",
        "A valid identify sent as application/x-www-form-urlencoded: 415",
        _with(content_type="application/x-www-form-urlencoded"),
    ),
    Variant(
        "malformed/wrong-key", "A valid identify with a wrong API key: 401", _with(auth="wrong")
    ),
    Variant(
        "malformed/missing-key",
        "A valid identify without Authorization: 401",
        _with(auth="none"),
    ),
    Variant(
        "malformed/wrong-key-bearer",
        "A valid identify with a wrong key as a Bearer token: 401",
        _with(auth="wrong-bearer"),
        weight=0,
    ),
)
