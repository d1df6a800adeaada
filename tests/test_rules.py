"""The acceptance rules against the contract (CONTRACT B.3-B.6, B.9), as plain functions."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.limits import MAX_BODY_BYTES, MAX_NESTING_DEPTH
from reference_impl.rules import STANDARD_DESCRIPTION, Accepted, Rejected, evaluate, parse_body
from tests.helpers import TIMESTAMP, identify

TS = TIMESTAMP


def accepted(payload: Any, **kwargs: Any) -> Accepted:
    verdict = evaluate(payload, **kwargs)
    assert isinstance(verdict, Accepted), verdict
    return verdict


def rejected(payload: Any) -> Rejected:
    verdict = evaluate(payload)
    assert isinstance(verdict, Rejected), verdict
    return verdict


@pytest.mark.parametrize(
    ("payload", "email_field", "source", "description"),
    [
        pytest.param(
            identify(traits={"email": "peter@example.com"}, page={"url": "https://example.com"}),
            "traits.email",
            "page.url",
            "https://example.com",
            id="recommended",
        ),
        pytest.param(
            identify(email="test@example.com"),
            "email",
            "standard",
            STANDARD_DESCRIPTION,
            id="alternative-flat-email",
        ),
        pytest.param(
            identify(email="test@example.com", event="User logged in"),
            "email",
            "event",
            "User logged in",
            id="alternative-flat-email-event",
        ),
        pytest.param(
            identify(
                context={
                    "traits": {"email": "a@example.org"},
                    "page": {"url": "http://example.org/x"},
                }
            ),
            "context.traits.email",
            "context.page.url",
            "http://example.org/x",
            id="analytics-js-context",
        ),
        pytest.param(
            identify(email="a@example.org", url="https://example.org/top", event="ignored"),
            "email",
            "url",
            "https://example.org/top",
            id="top-level-url-beats-event",
        ),
    ],
)
def test_accepted_formats_find_email_and_description(
    payload: dict[str, Any], email_field: str, source: str, description: str
) -> None:
    verdict = accepted(payload)
    assert verdict.email_field == email_field
    assert verdict.description_source == source
    assert verdict.description == description


def test_first_present_email_wins_even_when_later_ones_differ() -> None:
    verdict = accepted(
        identify(
            traits={"email": "first@example.com"},
            context={"traits": {"email": "x@y.com"}},
            email="z@y.com",
        )
    )
    assert verdict.contact_key == "first@example.com"


def test_null_email_counts_as_absent() -> None:
    verdict = accepted(identify(traits={"email": None}, email="flat@example.com"))
    assert verdict.email_field == "email"


def test_invalid_first_email_rejects_even_if_a_later_one_is_valid() -> None:
    verdict = rejected(identify(traits={"email": "nope"}, email="ok@example.com"))
    assert verdict.status == 400
    assert [e.field for e in verdict.errors] == ["traits.email"]


@pytest.mark.parametrize(
    "email",
    ["  Peter@Example.COM ", "PETER@example.com", "peter@EXAMPLE.com\t"],
    ids=["spaces-and-case", "upper-local", "tab"],
)
def test_case_and_whitespace_variants_share_one_contact(email: str) -> None:
    assert accepted(identify(traits={"email": email})).contact_key == "peter@example.com"


@pytest.mark.parametrize(
    "email",
    ["juergen@bücher.example", "x@xn--bcher-kva.example", "o'brien+tag@sub.example.co.uk"],
    ids=["idn-domain", "punycode", "plus-and-apostrophe"],
)
def test_unusual_but_valid_addresses_are_accepted(email: str) -> None:
    accepted(identify(traits={"email": email}))


@pytest.mark.parametrize(
    ("payload", "status", "field", "code", "message_start"),
    [
        pytest.param(
            identify(), 400, "traits.email", "missing", "Missing email address", id="no-email"
        ),
        pytest.param(
            {"type": "identify", "email": "a@b.co"},
            400,
            "timestamp",
            "missing",
            "Missing timestamp",
            id="no-timestamp",
        ),
        pytest.param(
            identify(email="a@b"),
            400,
            "email",
            "invalid_format",
            "email is not a valid email address",
            id="email-without-dot-domain",
        ),
        pytest.param(
            identify(email="a@@b.com"),
            400,
            "email",
            "invalid_format",
            "email is not a valid email address",
            id="email-two-ats",
        ),
        pytest.param(
            identify(email=""),
            400,
            "email",
            "invalid_format",
            "email is not a valid email address",
            id="email-empty",
        ),
        pytest.param(
            identify(traits={"email": 42}),
            400,
            "traits.email",
            "invalid_type",
            "traits.email must be a string",
            id="email-number",
        ),
        pytest.param(
            identify(email="a@b.co\n"),
            400,
            "email",
            "invalid_format",
            "email is not a valid",
            id="email-trailing-newline",
        ),
        pytest.param(
            {"type": "identify", "email": "a@b.co", "timestamp": "2020-05-31T17:55:47"},
            400,
            "timestamp",
            "invalid_format",
            "timestamp '2020-05-31T17:55:47' has no time zone",
            id="timestamp-without-zone",
        ),
        pytest.param(
            {"type": "identify", "email": "a@b.co", "timestamp": "yesterday"},
            400,
            "timestamp",
            "invalid_format",
            "timestamp 'yesterday' is not an RFC 3339",
            id="timestamp-unparsable",
        ),
        pytest.param(
            {"type": "identify", "email": "a@b.co", "timestamp": "2021-02-29T00:00:00Z"},
            400,
            "timestamp",
            "invalid_format",
            "timestamp '2021-02-29T00:00:00Z' is not a real date",
            id="timestamp-impossible-date",
        ),
        pytest.param(
            {"type": "identify", "email": "a@b.co", "timestamp": 1590947747},
            400,
            "timestamp",
            "invalid_type",
            "timestamp must be a string",
            id="timestamp-number",
        ),
        pytest.param(
            identify(email="a@b.co", traits="x"),
            400,
            "traits",
            "invalid_type",
            "traits must be an object",
            id="traits-string",
        ),
        pytest.param(
            identify(email="a@b.co", context=[1]),
            400,
            "context",
            "invalid_type",
            "context must be an object",
            id="context-array",
        ),
        pytest.param(
            identify(email="a@b.co", messageId=7),
            400,
            "messageId",
            "invalid_type",
            "messageId must be a string",
            id="message-id-number",
        ),
        pytest.param(
            identify(email="a@b.co", messageId="m" * 101),
            400,
            "messageId",
            "too_long",
            "messageId is 101 characters long",
            id="message-id-too-long",
        ),
        pytest.param(
            {"timestamp": TS, "email": "a@b.co"},
            400,
            "type",
            "missing",
            "Missing type",
            id="no-type",
        ),
        pytest.param(
            {"type": "track", "timestamp": TS, "email": "a@b.co"},
            501,
            "type",
            "unsupported_type",
            "Nat only accepts identify calls",
            id="track",
        ),
        pytest.param(
            {"type": "page"},
            501,
            "type",
            "unsupported_type",
            "Nat only accepts identify calls",
            id="page",
        ),
        pytest.param(
            [1, 2],
            400,
            "body",
            "not_object",
            "Body must be a JSON object, got an array",
            id="array-body",
        ),
        pytest.param(
            None, 400, "body", "not_object", "Body must be a JSON object, got null", id="null-body"
        ),
    ],
)
def test_rejections_name_the_field_and_what_is_accepted(
    payload: Any, status: int, field: str, code: str, message_start: str
) -> None:
    verdict = rejected(payload)
    assert verdict.status == status
    assert verdict.errors[0].field == field
    assert verdict.errors[0].code == code
    assert verdict.message.startswith(message_start)
    assert verdict.body() == {
        "message": verdict.message,
        "errors": [error.as_dict() for error in verdict.errors],
    }


def test_missing_email_and_timestamp_are_both_reported() -> None:
    verdict = rejected({"type": "identify"})
    assert [e.field for e in verdict.errors] == ["traits.email", "timestamp"]
    assert verdict.message.startswith("Missing email address")


def test_type_is_compared_case_insensitively() -> None:
    accepted({"type": "IDENTIFY", "timestamp": TS, "email": "a@b.co"})


@pytest.mark.parametrize(
    ("timestamp", "day"),
    [
        ("2020-05-31T23:30:00-02:00", date(2020, 6, 1)),
        ("2020-06-01T00:30:00+02:00", date(2020, 5, 31)),
        ("2020-05-31T23:59:59.999999999Z", date(2020, 5, 31)),
        ("2020-06-01t00:00:00z", date(2020, 6, 1)),
    ],
    ids=[
        "offset-pushes-to-next-utc-day",
        "offset-pulls-to-previous-utc-day",
        "nanoseconds",
        "lowercase-t-and-z",
    ],
)
def test_the_day_is_the_utc_calendar_day_of_the_timestamp(timestamp: str, day: date) -> None:
    assert accepted(identify(email="a@b.co", timestamp=timestamp)).day == day


def test_another_day_zone_can_be_chosen() -> None:
    verdict = accepted(
        identify(email="a@b.co", timestamp="2020-05-31T23:30:00Z"),
        day_zone=ZoneInfo("Europe/Paris"),
    )
    assert verdict.day == date(2020, 6, 1)


@pytest.mark.parametrize(
    "page_url",
    ["/relative", "ftp://example.com", "not a url", 12, ""],
    ids=["relative", "ftp", "words", "number", "empty"],
)
def test_unusable_urls_are_skipped_with_a_warning(page_url: Any) -> None:
    verdict = accepted(identify(email="a@b.co", page={"url": page_url}, event="Signed in"))
    assert verdict.description_source == "event"
    assert [w.field for w in verdict.warnings] == ["page.url"]


def test_traits_become_user_properties() -> None:
    verdict = accepted(identify(traits={"email": "a@b.co", "vip": True, "plan": "pro"}))
    assert verdict.traits == {"email": "a@b.co", "vip": True, "plan": "pro"}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"", "application/json", 400, "empty"),
        (b"   ", None, 400, "empty"),
        (b"{not json", "application/json", 400, "not_json"),
        (b"{}", "text/plain", 415, "unsupported_media_type"),
        (b"{}", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b" " * (MAX_BODY_BYTES + 1), "application/json", 413, "too_large"),
    ],
    ids=["empty", "blank-no-content-type", "not-json", "text-plain", "form", "over-64kb"],
)
def test_bodies_segment_would_not_send_are_refused(
    body: bytes, content_type: str | None, status: int, code: str
) -> None:
    verdict = parse_body(body, content_type)
    assert isinstance(verdict, Rejected)
    assert (verdict.status, verdict.errors[0].code) == (status, code)


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/json; charset=utf-8", "application/vnd.x+json"],
    ids=["undeclared", "json", "json-charset", "vendor-json"],
)
def test_json_bodies_up_to_64kb_are_parsed(content_type: str | None) -> None:
    body = b'{"a":"' + b"x" * (MAX_BODY_BYTES - 8) + b'"}'
    assert len(body) == MAX_BODY_BYTES
    assert parse_body(body, content_type) == {"a": "x" * (MAX_BODY_BYTES - 8)}


# --- total over every JSON value the parser returns (deep and wide) ------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
)
_WIDE = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=40)
        | st.dictionaries(st.text(max_size=6), children, max_size=40)
    ),
    max_leaves=120,
)
#: Where a value is put: every place the rules read, and one they do not.
_PLACES = ("url", "page.url", "context.page.url", "event", "traits.deep", "context.x", "extra",
           "type", "timestamp", "messageId", "email", "traits.email", "context.traits.email",
           "page", "context", "traits")  # fmt: skip


@st.composite
def _deep_json(draw: st.DrawFn) -> tuple[str, str]:
    """JSON text of a wide value inside up to 1,100 levels of arrays and objects (past what
    orjson writes, 254, and reads, 1,024), and the opener repeated to nest it."""
    leaf = orjson.dumps(draw(_WIDE)).decode()
    levels = draw(st.one_of(st.integers(0, 8), st.integers(240, 270), st.integers(980, 1100)))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"k":', "}"), ('[{"k":', "}]")]))
    repeat = levels // 2 if opener == '[{"k":' else levels
    return opener * repeat + leaf + closer * repeat, opener


def _place(path: str, value_json: str) -> bytes:
    """An identify call (email in top-level `email`, unless that is the place) with the JSON
    text `value_json` at `path`."""
    *parents, key = path.split(".")
    member = f'"{key}":{value_json}'
    for parent in reversed(parents):
        member = f'"{parent}":{{{member}}}'
    base = {"type": "identify", "timestamp": TS, "email": "deep@example.com"}
    others = ",".join(
        f'"{name}":{orjson.dumps(value).decode()}'
        for name, value in base.items()
        if name != path.split(".")[0]
    )
    return f"{{{others},{member}}}".encode()


def _depth(value: Any) -> int:
    """Levels of objects and arrays, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _named(path: str, opener: str) -> str:
    """The field a too-deep value at `path` is named by: its first three keys, up to an array."""
    keys = path.split(".") + (["k"] * 3 if opener.startswith("{") else [])
    return ".".join(keys[:3])


@given(st.sampled_from(_PLACES), _deep_json())
def test_the_rules_are_total_over_deep_and_wide_values(path: str, value: tuple[str, str]) -> None:
    value_json, opener = value
    body = _place(path, value_json)
    payload = parse_body(body)
    if isinstance(payload, Rejected):  # past the parser's own depth: a 400, not an exception
        assert (payload.status, payload.errors[0].code) == (400, "not_json")
        return
    verdict = evaluate(payload)
    too_deep = _depth(payload) > MAX_NESTING_DEPTH
    if isinstance(verdict, Accepted):
        assert not too_deep
        orjson.dumps([verdict.traits, [w.as_dict() for w in verdict.warnings]])  # storable
        return
    assert verdict.status in (400, 501)
    orjson.dumps(verdict.body())  # the answer itself can always be sent
    if too_deep and verdict.status == 400 and path != "type":
        deep = [e for e in verdict.errors if e.code == "too_deep"]
        assert [e.field for e in deep] == [_named(path, opener)], verdict


def test_the_deepest_accepted_body_is_what_the_serializer_writes() -> None:
    at_limit = parse_body(
        _place("url", "[" * (MAX_NESTING_DEPTH - 1) + "]" * (MAX_NESTING_DEPTH - 1))
    )
    over = parse_body(_place("url", "[" * MAX_NESTING_DEPTH + "]" * MAX_NESTING_DEPTH))
    assert isinstance(evaluate(at_limit), Accepted)
    orjson.dumps(at_limit)
    refused = evaluate(over)
    assert isinstance(refused, Rejected) and refused.errors[0].field == "url"
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(over)


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        (identify(email="a@b.co", traits={"n": 2**64}), "traits.n", "out_of_range"),
        (identify(email="a@b.co", traits={"n": [-(2**63) - 1]}), "traits.n", "out_of_range"),
        (identify(email="a@b.co", context={"ip": "\ud800"}), "context.ip", "invalid_text"),
        (identify(email="a@b.co", traits={"\udc00": 1}), "traits", "invalid_key"),
        (identify(email="a@b.co", traits={"tags": {"a", "b"}}), "traits.tags", "not_json"),
    ],
    ids=["integer-over-64-bits", "integer-under-64-bits", "lone-surrogate", "surrogate-key",
         "not-json"],
)  # fmt: skip
def test_values_no_store_can_hold_get_400_naming_the_field(
    payload: dict[str, Any], field: str, code: str
) -> None:
    """Values a lenient parser (Python's json) returns, or a caller builds."""
    verdict = rejected(payload)
    assert verdict.status == 400
    assert [(e.field, e.code) for e in verdict.errors] == [(field, code)]
