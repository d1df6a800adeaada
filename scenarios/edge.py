"""Requests at the edges of the contract that Nat still accepts (or must treat in a set way)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contract.limits import MAX_BODY_BYTES, MAX_MESSAGE_ID_LENGTH, SEGMENT_MAX_EVENT_BYTES
from scenarios.malformed import valid_payload
from scenarios.model import Request
from scenarios.sampler import DAY_MS, Sampler
from scenarios.sizing import pad_to
from scenarios.variant import Variant

__all__ = ["VARIANTS"]

#: Internationalised domains, all under the reserved `.example` (RFC 2606).
_IDN_DOMAINS = ("bücher.example", "müller-café.example", "例え.example", "пример.example")
_PUNYCODE_DOMAINS = ("xn--bcher-kva.example", "xn--mller-caf-j4a4r.example")


def _edit(change: Callable[[Sampler, dict[str, Any]], Any]) -> Callable[[Sampler], Request]:
    def build(sampler: Sampler) -> Request:
        payload = valid_payload(sampler)
        change(sampler, payload)
        return Request(payload)

    return build


def email_case_and_space(sampler: Sampler, payload: dict[str, Any]) -> None:
    email = payload["traits"]["email"]
    local, _, domain = email.partition("@")
    payload["traits"]["email"] = f"  {local.title()}@{domain.upper()}\t"


def _domain_email(domains: tuple[str, ...]) -> Callable[[Sampler, dict[str, Any]], None]:
    def change(sampler: Sampler, payload: dict[str, Any]) -> None:
        payload["traits"]["email"] = sampler.person(domain=sampler.pick(domains)).email

    return change


def _local_time(
    hour: int, minute: int, offset_minutes: int
) -> Callable[[Sampler, dict[str, Any]], None]:
    """A timestamp written in a zone where the local day differs from the UTC day."""

    def change(sampler: Sampler, payload: dict[str, Any]) -> None:
        day = sampler.day_start(sampler.rng.randrange(7))
        local_ms = day + (hour * 60 + minute) * 60_000 + sampler.rng.randrange(60_000)
        payload["timestamp"] = sampler.iso(local_ms - offset_minutes * 60_000, offset_minutes)

    return change


def lowercase_t_and_z(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["timestamp"] = payload["timestamp"].replace("T", "t").replace("Z", "z")


def nanoseconds(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["timestamp"] = payload["timestamp"].replace("Z", f"{sampler.rng.randrange(10**6):06d}Z")


def no_fraction(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["timestamp"] = payload["timestamp"][:19] + "Z"


def unicode_everywhere(sampler: Sampler, payload: dict[str, Any]) -> None:
    traits = payload["traits"]
    traits["name"] = sampler.pick(sampler.pools.unicode_names)
    traits["bio"] = "Grüße aus Köln 👋 — 東京で働いています"
    traits["nickname"] = "\u202etxet lanoitcerid\u202c"
    payload["page"] = {"url": "https://bücher.example/straße/café?q=ü&emoji=🚀"}
    payload["event"] = "Commande passée ✅"


def escaped_unicode(sampler: Sampler) -> Request:
    """The same characters as \\u escapes (json.dumps' default), which decode to the same values."""
    payload = valid_payload(sampler)
    unicode_everywhere(sampler, payload)
    return Request(payload, raw_body=json.dumps(payload, ensure_ascii=True).encode())


def extra_fields(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["version"] = "1.1"
    payload["channel"] = "server"
    payload["projectId"] = sampler.base62(10)
    payload["_metadata"] = {"bundled": ["Segment.io"], "unbundled": []}
    payload["properties"] = {"unexpected": True, "nested": {"deep": [1, 2, {"x": None}]}}
    payload["traits"]["custom_field_unknown_to_nat"] = {"a": [1, "two", 3.0, None, False]}
    payload["context"] = {"ip": sampler.ip(), "campaign": {"name": "spring", "source": "mail"}}


def huge_traits(sampler: Sampler) -> Request:
    payload = valid_payload(sampler)
    words = sampler.pools.words
    traits = payload["traits"]
    for index in range(300):
        traits[f"attribute_{index:03d}"] = " ".join(sampler.pick(words) for _ in range(8))
    size = MAX_BODY_BYTES - sampler.rng.randint(1, 100)
    return Request(pad_to(payload, size, key="zz_padding"))


def exactly_at_limit(sampler: Sampler) -> Request:
    return Request(pad_to(valid_payload(sampler), MAX_BODY_BYTES))


#: A 32 KB event, the most Segment's tracking API takes, after Segment added its fields.
_GROWN_SEGMENT_EVENT_BYTES = SEGMENT_MAX_EVENT_BYTES + 8 * 1024


def grown_segment_event(sampler: Sampler) -> Request:
    return Request(pad_to(valid_payload(sampler), _GROWN_SEGMENT_EVENT_BYTES))


def email_precedence(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["context"] = {"traits": {"email": sampler.person().email}}
    payload["email"] = sampler.person().email


def null_traits_email_falls_through(sampler: Sampler, payload: dict[str, Any]) -> None:
    email = payload["traits"]["email"]
    payload["traits"]["email"] = None
    payload["context"] = {"traits": {"email": email}}


def description_precedence(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["context"] = {"page": sampler.page()}
    payload["url"] = sampler.url()
    payload["event"] = sampler.event_name()


def description_without_page_url(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload.pop("page", None)
    payload["context"] = {"page": sampler.page()}
    payload["url"] = sampler.url()
    payload["event"] = sampler.event_name()


def context_email_before_flat(sampler: Sampler, payload: dict[str, Any]) -> None:
    email = payload["traits"].pop("email")
    payload["context"] = {"traits": {"email": email}}
    payload["email"] = sampler.person().email


def relative_url(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["page"] = {"url": sampler.pick(sampler.pools.page_paths)}
    payload["event"] = sampler.event_name()


def url_not_string(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["page"] = {"url": 42}


def ftp_url(sampler: Sampler, payload: dict[str, Any]) -> None:
    del payload["page"]
    payload["context"] = {"page": {"url": "ftp://files.example.com/export.csv"}}


def empty_event(sampler: Sampler, payload: dict[str, Any]) -> None:
    del payload["page"]
    payload["event"] = ""


def nulls_in_optional_fields(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["page"] = None
    payload["context"] = None
    payload["userId"] = None
    payload["anonymousId"] = None
    payload["url"] = None
    payload["event"] = None
    payload["messageId"] = None


def apostrophe_email(sampler: Sampler, payload: dict[str, Any]) -> None:
    email = payload["traits"]["email"]
    payload["traits"]["email"] = "o'" + email.replace("+", "_!#$%&*=?^`{|}~+", 1)


def longest_message_id(sampler: Sampler, payload: dict[str, Any]) -> None:
    prefix = f"ajs-next-{sampler.uuid4()}-"
    payload["messageId"] = prefix + sampler.hex_id(MAX_MESSAGE_ID_LENGTH - len(prefix))


def capitalised_type(sampler: Sampler, payload: dict[str, Any]) -> None:
    payload["type"] = "Identify"


def _with(**fields: Any) -> Callable[[Sampler], Request]:
    def build(sampler: Sampler) -> Request:
        return Request(valid_payload(sampler), **fields)

    return build


def late_timestamp(sampler: Sampler, payload: dict[str, Any]) -> None:
    """A message received days after it happened (an offline mobile queue, a replayed backlog)."""
    start = sampler.window_ms[0]
    payload["timestamp"] = sampler.iso(start - sampler.rng.randint(20, 60) * DAY_MS)


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "edge/email-case-and-space",
        "Mixed case and surrounding spaces: the contact is the trimmed lowercase address",
        _edit(email_case_and_space),
        weight=3,
    ),
    Variant(
        "edge/idn-domain",
        "An internationalised domain in Unicode: accepted",
        _edit(_domain_email(_IDN_DOMAINS)),
        weight=2,
    ),
    Variant(
        "edge/idn-domain-punycode",
        "An internationalised domain as punycode (xn--): accepted",
        _edit(_domain_email(_PUNYCODE_DOMAINS)),
    ),
    Variant(
        "edge/symbols-in-email",
        "An apostrophe and every symbol a dot-atom local part allows: accepted",
        _edit(apostrophe_email),
    ),
    Variant(
        "edge/offset-crossing-midnight-east",
        "07:30 at +09:00 is 22:30 UTC the day before: the entry's day is the UTC one",
        _edit(_local_time(7, 30, 9 * 60)),
        weight=2,
    ),
    Variant(
        "edge/offset-crossing-midnight-west",
        "20:15 at -05:00 is 01:15 UTC the next day: the entry's day is the UTC one",
        _edit(_local_time(20, 15, -5 * 60)),
        weight=2,
    ),
    Variant(
        "edge/offset-quarter-hour",
        "00:20 at +05:45 (Nepal) is 18:35 UTC the day before",
        _edit(_local_time(0, 20, 5 * 60 + 45)),
    ),
    Variant(
        "edge/timestamp-lowercase-t-z",
        "RFC 3339 allows a lowercase t and z: accepted",
        _edit(lowercase_t_and_z),
    ),
    Variant(
        "edge/timestamp-nanoseconds",
        "Nine fractional digits: accepted",
        _edit(nanoseconds),
    ),
    Variant(
        "edge/timestamp-no-fraction",
        "Whole seconds, no fraction: accepted",
        _edit(no_fraction),
    ),
    Variant(
        "edge/timestamp-weeks-late",
        "A timestamp weeks before delivery (offline queue): its own day, still accepted",
        _edit(late_timestamp),
    ),
    Variant(
        "edge/type-capitalised",
        "type Identify: compared case-insensitively, accepted",
        _edit(capitalised_type),
    ),
    Variant(
        "edge/unicode",
        "Unicode names, emoji, bidi controls and a Unicode URL: accepted, kept as sent",
        _edit(unicode_everywhere),
        weight=2,
    ),
    Variant(
        "edge/unicode-escaped",
        "The same Unicode as JSON \\u escapes: accepted",
        escaped_unicode,
    ),
    Variant(
        "edge/extra-fields",
        "Fields Nat does not know, at every level: ignored, accepted",
        _edit(extra_fields),
        weight=2,
    ),
    Variant(
        "edge/huge-traits-under-limit",
        f"300 traits in a body just under {MAX_BODY_BYTES // 1024} KB: accepted",
        huge_traits,
        stampable=False,
    ),
    Variant(
        "edge/body-exactly-64kb",
        f"A body of exactly {MAX_BODY_BYTES} bytes: at the limit, accepted",
        exactly_at_limit,
        stampable=False,
    ),
    Variant(
        "edge/grown-segment-event",
        f"A body of {_GROWN_SEGMENT_EVENT_BYTES} bytes, over Segment's "
        f"{SEGMENT_MAX_EVENT_BYTES // 1024} KB per event: what Segment delivers from its largest "
        "event once it added its fields, accepted",
        grown_segment_event,
        stampable=False,
    ),
    Variant(
        "edge/email-precedence",
        "traits.email, context.traits.email and email all differ: traits.email is the contact",
        _edit(email_precedence),
    ),
    Variant(
        "edge/null-email-falls-through",
        "traits.email null: context.traits.email is the contact",
        _edit(null_traits_email_falls_through),
    ),
    Variant(
        "edge/description-precedence",
        "page.url, context.page.url, url and event all present: page.url describes the entry",
        _edit(description_precedence),
    ),
    Variant(
        "edge/relative-url-warning",
        "page.url is a relative path: skipped with a warning, the event describes the entry",
        _edit(relative_url),
    ),
    Variant(
        "edge/url-not-string-warning",
        "page.url is a number: skipped with a warning, standard description",
        _edit(url_not_string),
    ),
    Variant(
        "edge/ftp-url-warning",
        "context.page.url is ftp://: skipped with a warning, standard description",
        _edit(ftp_url),
    ),
    Variant(
        "edge/empty-event-warning",
        "event is empty: skipped with a warning, standard description",
        _edit(empty_event),
    ),
    Variant(
        "edge/nulls-in-optional-fields",
        "null page, context, userId, url, event and messageId: all treated as absent",
        _edit(nulls_in_optional_fields),
    ),
    Variant(
        "edge/longest-message-id",
        f"messageId of exactly {MAX_MESSAGE_ID_LENGTH} characters: accepted",
        _edit(longest_message_id),
        stampable=False,
    ),
    Variant(
        "edge/bearer-auth",
        "The key as a Bearer token instead of Basic: accepted",
        _with(auth="bearer"),
    ),
    Variant(
        "edge/content-type-with-charset",
        "Content-Type application/json; charset=utf-8: accepted",
        _with(content_type="application/json; charset=utf-8"),
    ),
    Variant(
        "edge/content-type-vendor-json",
        "Content-Type application/vnd.segment+json: a JSON type, accepted",
        _with(content_type="application/vnd.segment+json"),
    ),
    Variant(
        "edge/no-content-type",
        "No Content-Type at all: nothing declared, so the JSON body is read",
        _with(content_type=None),
    ),
    # The edges of the contract a destination is easily wrong about: in the catalogue only.
    Variant(
        "edge/offset-plus-14",
        "00:30 at +14:00 (Kiribati) is 10:30 UTC the day before: the entry's day is the UTC one",
        _edit(_local_time(0, 30, 14 * 60)),
        weight=0,
    ),
    Variant(
        "edge/offset-minus-12",
        "23:30 at -12:00 is 11:30 UTC the next day: the entry's day is the UTC one",
        _edit(_local_time(23, 30, -12 * 60)),
        weight=0,
    ),
    Variant(
        "edge/email-precedence-context-over-flat",
        "No traits.email; context.traits.email and email differ: context.traits.email is the "
        "contact",
        _edit(context_email_before_flat),
        weight=0,
    ),
    Variant(
        "edge/description-without-page-url",
        "context.page.url, url and event present, no page.url: context.page.url describes the "
        "entry",
        _edit(description_without_page_url),
        weight=0,
    ),
)
