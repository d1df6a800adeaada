"""The contract's facts, each judged against what Segment's docs and RFC 3339 say, not against
the code that uses them; and `contract` stays the bottom layer."""

from __future__ import annotations

import ast
import base64
import importlib
import warnings
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import contract
from contract import (
    NAT_STATUSES,
    SEGMENT_HEADERS,
    basic_authorization,
    delivery_headers,
    endpoint_of,
    format_precise_time,
    format_segment_time,
    is_http_url,
    parse_iso_instant,
    read_api_base_of,
    read_credentials,
    segment_action,
    segment_retries,
    settings_header,
)
from reference_impl.rules import parse_timestamp
from scenarios.pools import make_pools
from scenarios.sampler import Sampler

CONTRACT_DIR = Path(contract.__file__).parent
OUR_PACKAGES = {"harness", "reference_impl", "scenarios", "schemas", "tests", "bench"}


def test_contract_imports_nothing_else_of_this_project() -> None:
    for module in CONTRACT_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & OUR_PACKAGES, f"{module.name} imports {roots & OUR_PACKAGES}"


def test_every_exported_name_resolves_and_every_module_is_exported() -> None:
    assert len(set(contract.__all__)) == len(contract.__all__)
    for name in contract.__all__:
        assert getattr(contract, name) is not None
    for module in CONTRACT_DIR.glob("[!_]*.py"):
        public = importlib.import_module(f"contract.{module.stem}").__all__
        assert set(public) <= set(contract.__all__), f"contract.{module.stem} not re-exported"


def test_basic_credentials_are_the_key_and_a_colon_as_segments_docs_show() -> None:
    # CONTRACT A.1: key `segment` gives `Basic c2VnbWVudDo=`.
    assert basic_authorization("segment") == "Basic c2VnbWVudDo="
    for key in ("segment", "clé", "a:b", ""):
        credentials = read_credentials(basic_authorization(key))
        assert credentials is not None and credentials.scheme == "basic"
        assert credentials.key == key.partition(":")[0]


@pytest.mark.parametrize(
    "header",
    [
        b"Basic " + base64.b64encode(b"\xff\xfe:"),  # decoded bytes are no UTF-8
        "Basic " + base64.b64encode(b"k:").decode() + "\u00e9",  # a byte outside base64
        b"Bearer \xff",
        "Bearer \udcff",
        "Bearer ",
        "Token k",
    ],
    ids=["basic-not-utf8", "basic-non-ascii", "bearer-not-utf8", "surrogate", "empty", "scheme"],
)
def test_an_unreadable_header_gives_no_credentials(header: str | bytes) -> None:
    assert read_credentials(header) is None


def test_delivery_headers_are_segments_and_the_settings_leave_out_the_key() -> None:
    headers = delivery_headers("k", {"apiKey": "k", "region": "eu"})
    assert headers["Authorization"] == "Basic azo="
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Segment.io/1.0"
    assert headers["Accept"] == "*/*" and headers["Cache-Control"] == "no-cache"
    assert orjson.loads(base64.b64decode(headers["X-Segment-Settings"])) == {"region": "eu"}
    assert set(SEGMENT_HEADERS) < set(headers)
    assert orjson.loads(base64.b64decode(settings_header(None))) == {}


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, "done"),
        (202, "done"),
        (301, "dropped"),
        (400, "dropped"),
        (401, "dropped"),
        (403, "dropped"),
        (404, "dropped"),
        (408, "retried"),
        (413, "dropped"),
        (423, "retried"),
        (429, "retried"),
        (500, "retried"),
        (501, "dropped"),
        (503, "retried"),
        (599, "retried"),
    ],
)
def test_segment_retries_what_its_docs_and_actions_core_retry(status: int, action: str) -> None:
    # CONTRACT A.3: 5xx but 501, 408, 423 and 429 are retried; other 4xx are dropped.
    assert segment_retries(status) is (action == "retried")
    assert segment_action(status).startswith(action)


def test_the_status_table_says_what_segment_does_with_each_status() -> None:
    shown = {status: row.segment for row in NAT_STATUSES for status in row.statuses}
    assert sorted(shown) == [200, 400, 401, 404, 405, 413, 415, 500, 501, 503]
    assert shown[200] == "done" and shown[501] == "dropped" and shown[400] == "dropped"
    assert shown[500] == shown[503] == "retried with backoff for up to four hours"


@pytest.mark.parametrize(
    ("typed", "endpoint", "read_api"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/segment", "http://127.0.0.1:8765"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765/segment", "http://127.0.0.1:8765"),
        (
            "https://nat.example/hooks/in",
            "https://nat.example/hooks/in",
            "https://nat.example/hooks",
        ),
        ("http://h:1?x=1", "http://h:1/segment?x=1", "http://h:1"),
        ("http://h:1/segment#frag", "http://h:1/segment", "http://h:1"),
    ],
)
def test_a_bare_origin_means_segment_and_the_read_api_is_the_parent(
    typed: str, endpoint: str, read_api: str
) -> None:
    assert is_http_url(typed)
    assert endpoint_of(typed) == endpoint
    assert read_api_base_of(endpoint) == read_api


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8765", "ftp://h/segment", "http://", "http://[::1", "/segment", ""]
)
def test_only_absolute_http_urls_with_a_host_are_endpoints(url: str) -> None:
    assert not is_http_url(url)


def test_times_are_written_in_utc_as_segment_and_the_store_write_them() -> None:
    moment = datetime(2020, 5, 31, 19, 55, 47, 263_501, tzinfo=timezone(timedelta(hours=2)))
    assert format_segment_time(moment) == "2020-05-31T17:55:47.263Z"
    assert format_precise_time(moment) == "2020-05-31T17:55:47.263501Z"
    early = datetime(999, 1, 1, tzinfo=UTC)
    assert format_precise_time(early) == "0999-01-01T00:00:00.000000Z"  # fixed width


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-05-01T00:00:00Z", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T02:00:00+02:00", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),  # no zone: UTC
        (" 2024-05-01T00:00:00 ", datetime(2024, 5, 1, tzinfo=UTC)),
        ("0001-01-01T00:00:00+01:00", None),  # before the first UTC instant
        ("yesterday", None),
    ],
)
def test_people_and_clients_may_write_any_iso_date_time(
    text: str, instant: datetime | None
) -> None:
    assert parse_iso_instant(text) == instant


def _plain_rfc3339(value: str) -> datetime | None:
    """RFC 3339 read by hand, field by field (the oracle): the layout, then a real moment."""
    if len(value) < 20 or value[4] + value[7] + value[13] + value[16] != "--::":
        return None
    zone = value[-1] if value[-1] in "Zz" else value[-6:]
    fraction = value[19 : len(value) - len(zone)]
    if value[10] not in "Tt" or (
        fraction and not (fraction[0] == "." and 2 <= len(fraction) <= 10)
    ):
        return None
    if zone not in ("Z", "z") and not (zone[0] in "+-" and zone[3] == ":"):
        return None
    digits = [value[0:4], value[5:7], value[8:10], value[11:13], value[14:16], value[17:19]]
    digits += [fraction[1:]] if fraction else []
    digits += [] if zone in ("Z", "z") else [zone[1:3], zone[4:6]]
    if not all(part.isascii() and part.isdigit() for part in digits):
        return None
    year, month, day, hour, minute, second = (int(part) for part in digits[:6])
    if not 1000 <= year <= 2999:
        return None
    offset = timedelta(0)
    if zone not in ("Z", "z"):
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if zone[0] == "-" else 1)
    micro = int(fraction[1:7].ljust(6, "0")) if fraction else 0
    try:
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone(offset))
    except ValueError:
        return None
    return local.astimezone(UTC)


_DIGITS = st.text("0123456789", min_size=1, max_size=10)
_TIMESTAMPS = st.one_of(
    st.builds(
        "{}{}".format,
        st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(2999, 12, 30)).map(
            datetime.isoformat
        ),
        st.sampled_from(["Z", "z", "+02:00", "-23:59", ""]),
    ),
    st.builds(
        "{}-{}-{}{}{}:{}:{}{}{}".format,
        st.sampled_from(["0999", "1000", "2020", "2999", "3000", "2024"]),
        st.sampled_from(["01", "02", "12", "13", "00"]),
        st.sampled_from(["01", "28", "29", "30", "31", "32"]),
        st.sampled_from(["T", "t", " "]),
        st.sampled_from(["00", "23", "24"]),
        st.sampled_from(["00", "59", "60"]),
        st.sampled_from(["00", "59", "60"]),
        st.one_of(st.just(""), _DIGITS.map(lambda digits: "." + digits)),
        st.sampled_from(["Z", "z", "+00:00", "-00:00", "+23:59", "-05:30", "+24:00", "", "+0200"]),
    ),
)


@settings(max_examples=1000)
@given(_TIMESTAMPS)
def test_the_rules_read_timestamps_as_rfc3339_does(value: str) -> None:
    assert parse_timestamp(value) == _plain_rfc3339(value)
    assert parse_timestamp(value + "\n") is None


@pytest.mark.parametrize(
    ("old", "new_home", "new"),
    [
        ("Destination", "harness.segment.delivery", "DeliveryEndpoint"),
        ("Simulator", "harness.segment.simulator", "SegmentSimulator"),
        ("SimulatorConfig", "harness.segment.simulator", "SegmentSimulatorConfig"),
        ("COMPUTED_TRAITS", "harness.segment.engage", "PROFILE_TRAITS"),
        ("FOUR_HOURS", "contract.retry", "RETRY_WINDOW_S"),
        ("MAX_EVENT_BYTES", "contract.limits", "SEGMENT_MAX_EVENT_BYTES"),
        ("format_instant", "contract.timestamps", "format_segment_time"),
        ("segment_headers", "contract.delivery", "delivery_headers"),
    ],
)
def test_an_old_name_of_harness_segment_warns_and_gives_the_new_object(
    old: str, new_home: str, new: str
) -> None:
    segment = importlib.import_module("harness.segment")
    with pytest.warns(DeprecationWarning, match=rf"harness\.segment\.{old} is deprecated: use"):
        value = getattr(segment, old)
    assert value is getattr(importlib.import_module(new_home), new)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert segment.DeliveryEndpoint is not None  # new names do not warn
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = segment.nope


def test_an_engage_call_is_an_identify_with_the_computation_in_context_personas() -> None:
    call = contract.engage_identify(
        computation_class="audience",
        computation_id="aud_1",
        key="high_value_customers",
        value=False,
        email=None,
        namespace="spa_1",
        space_id="spa_1",
        message_id="personas_1",
        user_id="u1",
    )
    # CONTRACT A.6: traits{<audience>: true|false}, email only where known, integrations All off.
    assert call["type"] == "identify" and call["traits"] == {"high_value_customers": False}
    assert call["context"]["personas"]["computation_key"] == "high_value_customers"
    assert call["context"]["personas"]["computation_class"] == "audience"
    assert call["integrations"]["All"] is False and "timestamp" not in call


@cache
def _sampler() -> Sampler:
    return Sampler(0, make_pools(0), scope="t")


@given(
    st.integers(min_value=0, max_value=4_102_444_800_000),
    st.sampled_from([0, 0, 120, -300, 330, -720, 840]),
)
def test_the_scenarios_fast_time_writer_agrees_with_the_plain_one(
    moment_ms: int, offset_minutes: int
) -> None:
    sampler = _sampler()
    moment = datetime.fromtimestamp(moment_ms / 1000, UTC)
    written = sampler.iso(moment_ms, offset_minutes)
    if offset_minutes == 0:
        assert written == format_segment_time(moment)
    else:
        local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
        assert written == local.isoformat(timespec="milliseconds")


@pytest.mark.parametrize("name", ["MAX_BODY_BYTES", "MAX_NESTING_DEPTH", "SEGMENT_MAX_EVENT_BYTES"])
def test_a_limit_reference_impl_exported_warns_and_gives_the_contracts(name: str) -> None:
    reference_impl = importlib.import_module("reference_impl")
    with pytest.warns(DeprecationWarning, match=rf"use contract\.limits\.{name}"):
        value = getattr(reference_impl, name)
    assert value == getattr(contract, name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = reference_impl.nope


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("https://nat.example/segment", ("nat.example", 443)),
        ("http://nat.example/segment", ("nat.example", 80)),
        ("http://user:pw@127.0.0.1:8765/segment", ("127.0.0.1", 8765)),
    ],
)
def test_a_connection_goes_to_the_urls_port_or_its_schemes(
    url: str, address: tuple[str, int]
) -> None:
    assert contract.address_of(url) == address


def test_a_contacts_urls_keep_the_at_sign_and_escape_the_rest() -> None:
    base = "http://127.0.0.1:8765/"
    email = "a+b/c@example.com"
    assert (
        contract.contact_url(base, email) == "http://127.0.0.1:8765/contacts/a%2Bb%2Fc@example.com"
    )
    assert contract.timeline_url(base, email).endswith("/contacts/a%2Bb%2Fc@example.com/timeline")
