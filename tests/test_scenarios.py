"""The scenario catalogue: reproducible, unique contacts, every family, answers per the contract."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from contract.limits import MAX_BODY_BYTES, SEGMENT_MAX_EVENT_BYTES
from reference_impl.rules import STANDARD_DESCRIPTION
from scenarios import Scenario, catalogue, generate, sequences
from scenarios.sampler import seed_tag
from tests.golden.make_golden import golden_answer
from tests.helpers import golden

#: The reserved names every generated address must use (RFC 2606).
RESERVED_DOMAINS = ("example.com", "example.org", "example.net", ".example")


@pytest.fixture(scope="module")
def cases() -> dict[str, Scenario]:
    return {scenario.id: scenario for scenario in catalogue(seed=11)}


def _dumped(items: list[Any]) -> bytes:
    return orjson.dumps([item.to_dict() for item in items])


def _emails(value: Any) -> list[str]:
    """Every string that holds an '@' anywhere inside a JSON value."""
    if isinstance(value, dict):
        return [email for item in value.values() for email in _emails(item)]
    if isinstance(value, list):
        return [email for item in value for email in _emails(item)]
    if isinstance(value, str) and "@" in value and "://" not in value:
        return [value]
    return []


def test_same_seed_gives_byte_identical_catalogue() -> None:
    assert _dumped(catalogue(seed=3)) == _dumped(catalogue(seed=3))


def test_another_seed_gives_another_catalogue() -> None:
    assert _dumped(catalogue(seed=3)) != _dumped(catalogue(seed=4))


def test_ids_are_unique_and_readable(cases: dict[str, Scenario]) -> None:
    ids = [scenario.id for scenario in catalogue(seed=11)]
    assert len(ids) == len(set(ids))
    for scenario_id in ids:
        assert re.fullmatch(r"[a-z]+/[a-z0-9]+(-[a-z0-9]+)*", scenario_id), scenario_id
        assert scenario_id.split("/")[0] == cases[scenario_id].family
        assert cases[scenario_id].summary


@pytest.mark.parametrize(
    "scenario_id",
    [
        "recommended/with-page-url",
        "recommended/without-url",
        "alternative/flat-email",
        "alternative/flat-email-event",
        "segment/analytics-js",
        "segment/context-traits-email",
        "segment/analytics-python",
        "engage/audience-entered",
        "engage/audience-exited",
        "engage/computed-trait",
        "malformed/missing-email",
        "malformed/missing-timestamp",
        "malformed/invalid-email",
        "malformed/timestamp-without-zone",
        "malformed/timestamp-unparsable",
        "malformed/not-an-object-array",
        "malformed/not-json",
        "malformed/empty-body",
        "malformed/other-type-track",
        "malformed/over-64kb",
        "malformed/wrong-content-type",
        "malformed/wrong-key",
        "malformed/missing-key",
        "edge/email-case-and-space",
        "edge/idn-domain",
        "edge/offset-crossing-midnight-east",
        "edge/unicode",
        "edge/extra-fields",
        "edge/huge-traits-under-limit",
    ],
)
def test_the_catalogue_names_the_case(cases: dict[str, Scenario], scenario_id: str) -> None:
    assert scenario_id in cases


def test_every_family_is_in_the_catalogue(cases: dict[str, Scenario]) -> None:
    families = {scenario.family for scenario in cases.values()}
    assert families == {"recommended", "alternative", "segment", "engage", "malformed", "edge"}


def test_the_catalogue_is_the_reviewed_golden_file(cases: dict[str, Scenario]) -> None:
    """Every case's status, outcome, error field, description source and warnings are the ones
    a person reviewed against CONTRACT.md (tests/golden/catalogue.json), not recomputed."""
    reviewed = golden()["catalogue"]
    assert set(cases) == set(reviewed), "regenerate and review: tests/golden/make_golden.py"
    for scenario_id, scenario in cases.items():
        assert golden_answer(scenario.expect) == reviewed[scenario_id], scenario_id


@pytest.mark.parametrize("seed", [0, 7, 2**31])
def test_the_golden_facts_hold_for_every_seed(seed: int) -> None:
    reviewed = golden()["catalogue"]
    answers = {scenario.id: golden_answer(scenario.expect) for scenario in catalogue(seed=seed)}
    assert answers == reviewed


def test_contacts_are_unique_within_a_catalogue(cases: dict[str, Scenario]) -> None:
    contacts = [scenario.expect.contact for scenario in cases.values() if scenario.expect.contact]
    assert len(contacts) == len(set(contacts))
    assert len(contacts) > 30


def test_emails_carry_the_seed_and_reserved_domains(cases: dict[str, Scenario]) -> None:
    tag = "c" + seed_tag(11)
    for scenario in cases.values():
        for email in _emails(scenario.request.payload):
            if "+" not in email:  # an invalid-email case mangled beyond an address
                continue
            assert f"+{tag}." in email.lower(), (scenario.id, email)
            domain = email.rpartition("@")[2].strip(" \t>").lower()
            if domain:
                assert domain.endswith(RESERVED_DOMAINS) or domain == "localhost", domain


def test_seed_tags_differ_for_every_seed() -> None:
    tags = [seed_tag(seed) for seed in [*range(-50, 5000), 2**32 - 1, 2**63]]
    assert len(tags) == len(set(tags))


def test_no_contact_is_shared_across_seeds_or_calls() -> None:
    def contacts(items: list[Scenario]) -> set[str]:
        return {item.expect.contact for item in items if item.expect.contact}

    first = contacts(catalogue(seed=1))
    second = contacts(catalogue(seed=2))
    steps = contacts([step for sequence in sequences(seed=1) for step in sequence.steps])
    bulk = contacts(list(generate(300, seed=1)))
    assert first and second and steps and bulk
    assert not first & second
    assert not first & steps and not first & bulk and not steps & bulk


def test_timestamps_are_recent_and_not_from_the_clock(cases: dict[str, Scenario]) -> None:
    days = {scenario.expect.day for scenario in cases.values() if scenario.expect.day}
    years = {int(day[:4]) for day in days}
    assert years <= {2026, 2027}
    assert _dumped(catalogue(seed=11)) == _dumped(list(cases.values()))


# -- hand-picked cases, checked against the text of CONTRACT.md rather than the rules ---------


def _case(cases: dict[str, Scenario], scenario_id: str) -> Scenario:
    return cases[scenario_id]


def test_missing_email_is_400_naming_traits_email(cases: dict[str, Scenario]) -> None:
    expect = _case(cases, "malformed/missing-email").expect
    assert (expect.status, expect.outcome, expect.error_field) == (400, "rejected", "traits.email")
    payload = _case(cases, "malformed/missing-email").request.payload
    assert "email" not in payload["traits"] and "email" not in payload


def test_other_types_are_501(cases: dict[str, Scenario]) -> None:
    for kind in ("track", "page", "screen", "group", "alias"):
        scenario = _case(cases, f"malformed/other-type-{kind}")
        assert scenario.request.payload["type"] == kind
        assert scenario.expect.status == 501


def test_one_byte_over_64_kb_is_413_and_exactly_64_kb_is_accepted(
    cases: dict[str, Scenario],
) -> None:
    over = _case(cases, "malformed/over-64kb")
    at_limit = _case(cases, "edge/body-exactly-64kb")
    under = _case(cases, "edge/huge-traits-under-limit")
    assert len(over.request.body()) == 64 * 1024 + 1 and over.expect.status == 413
    assert len(at_limit.request.body()) == 64 * 1024 and at_limit.expect.status == 200
    assert 64 * 1024 - 100 <= len(under.request.body()) < MAX_BODY_BYTES
    assert under.expect.status == 200 and len(under.request.payload["traits"]) > 300


def test_an_event_segment_took_at_its_limit_and_grew_is_accepted(
    cases: dict[str, Scenario],
) -> None:
    """Segment takes events up to 32 KB and adds fields before it delivers (CONTRACT B.5)."""
    grown = _case(cases, "edge/grown-segment-event")
    assert SEGMENT_MAX_EVENT_BYTES < len(grown.request.body()) < MAX_BODY_BYTES
    assert len(grown.request.body()) == 40 * 1024
    assert grown.expect.status == 200 and grown.expect.outcome == "created"


def test_wrong_content_type_is_415(cases: dict[str, Scenario]) -> None:
    scenario = _case(cases, "malformed/wrong-content-type")
    assert scenario.request.content_type == "text/plain"
    assert scenario.expect.status == 415


@pytest.mark.parametrize(
    "scenario_id", ["malformed/wrong-key", "malformed/missing-key", "malformed/wrong-key-bearer"]
)
def test_bad_or_missing_key_is_401(cases: dict[str, Scenario], scenario_id: str) -> None:
    scenario = _case(cases, scenario_id)
    assert scenario.request.auth in ("wrong", "none", "wrong-bearer")
    assert scenario.expect.status == 401


def test_timestamp_problems_are_400_naming_timestamp(cases: dict[str, Scenario]) -> None:
    for name in ("missing-timestamp", "timestamp-without-zone", "timestamp-unparsable"):
        expect = _case(cases, f"malformed/{name}").expect
        assert (expect.status, expect.error_field) == (400, "timestamp"), name


@pytest.mark.parametrize(
    ("scenario_id", "local_hour"),
    [
        ("edge/offset-crossing-midnight-east", 7),
        ("edge/offset-crossing-midnight-west", 20),
        ("edge/offset-quarter-hour", 0),
    ],
)
def test_offsets_across_utc_midnight_count_on_the_utc_day(
    cases: dict[str, Scenario], scenario_id: str, local_hour: int
) -> None:
    scenario = _case(cases, scenario_id)
    stamp = scenario.request.payload["timestamp"]
    local = datetime.fromisoformat(stamp)
    assert local.hour == local_hour
    utc_day = local.astimezone(UTC).date().isoformat()
    assert utc_day != stamp[:10], "the case must cross UTC midnight"
    assert scenario.expect.day == utc_day


def test_email_case_and_space_is_one_trimmed_lowercase_contact(
    cases: dict[str, Scenario],
) -> None:
    scenario = _case(cases, "edge/email-case-and-space")
    sent = scenario.request.payload["traits"]["email"]
    assert sent != sent.strip() and sent.strip() != sent.strip().lower()
    assert scenario.expect.contact == sent.strip().lower()


def test_descriptions_follow_the_documented_sources(cases: dict[str, Scenario]) -> None:
    with_url = _case(cases, "recommended/with-page-url")
    assert with_url.expect.description == with_url.request.payload["page"]["url"]
    assert _case(cases, "recommended/without-url").expect.description == STANDARD_DESCRIPTION
    flat = _case(cases, "alternative/flat-email")
    assert flat.expect.description == "Identified via Segment"
    with_event = _case(cases, "alternative/flat-email-event")
    assert with_event.expect.description == with_event.request.payload["event"]
    browser = _case(cases, "segment/analytics-js")
    assert browser.expect.description == browser.request.payload["context"]["page"]["url"]
    assert browser.expect.description_source == "context.page.url"


def test_a_relative_url_is_skipped_with_a_warning(cases: dict[str, Scenario]) -> None:
    scenario = _case(cases, "edge/relative-url-warning")
    assert scenario.expect.status == 200
    assert scenario.expect.warning_fields == ("page.url",)
    assert scenario.expect.description == scenario.request.payload["event"]


def test_traits_email_comes_before_the_other_places(cases: dict[str, Scenario]) -> None:
    scenario = _case(cases, "edge/email-precedence")
    payload = scenario.request.payload
    assert len({payload["traits"]["email"], payload["email"]}) == 2
    assert scenario.expect.contact == payload["traits"]["email"].lower()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "scenario_id",
    ["segment/analytics-js", "segment/analytics-node", "segment/analytics-ios"],
)
def test_segment_calls_carry_segments_fields(cases: dict[str, Scenario], scenario_id: str) -> None:
    payload = cases[scenario_id].request.payload
    for field in ("messageId", "sentAt", "receivedAt", "originalTimestamp", "integrations"):
        assert field in payload, field
    assert payload.get("userId") or payload.get("anonymousId")
    assert payload["context"]["library"]["name"]
    # Segment: timestamp = receivedAt - (sentAt - originalTimestamp).
    derived = _instant(payload["receivedAt"]) - (
        _instant(payload["sentAt"]) - _instant(payload["originalTimestamp"])
    )
    assert derived == _instant(payload["timestamp"])


@pytest.mark.parametrize(
    ("scenario_id", "member"),
    [("engage/audience-entered", True), ("engage/audience-exited", False)],
)
def test_engage_audiences_are_identify_calls_with_a_boolean_trait(
    cases: dict[str, Scenario], scenario_id: str, member: bool
) -> None:
    scenario = cases[scenario_id]
    payload = scenario.request.payload
    personas = payload["context"]["personas"]
    assert personas["computation_class"] == "audience"
    assert payload["traits"][personas["computation_key"]] is member
    assert payload["integrations"]["All"] is False
    assert scenario.expect.status == 200


def test_an_engage_member_without_email_is_rejected(cases: dict[str, Scenario]) -> None:
    expect = cases["engage/audience-without-email"].expect
    assert (expect.status, expect.error_field) == (400, "traits.email")
