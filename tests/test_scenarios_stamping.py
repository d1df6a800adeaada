"""Stamped copies of every variant: new contacts and ids, the same answer as the rules give."""

from __future__ import annotations

import importlib
import warnings

import pytest

from scenarios import FAMILIES, generate
from scenarios.bulk import TEMPLATES_PER_VARIANT
from scenarios.expect import ExpectShape, expect_for
from scenarios.families import VARIANTS
from scenarios.model import Request
from scenarios.pools import make_pools
from scenarios.sampler import Sampler
from scenarios.stamping import Field, StampingFallback, fill, make_template, stamp
from scenarios.variant import Variant

COPIES = 6


@pytest.fixture(scope="module")
def sampler() -> Sampler:
    return Sampler(51, make_pools(51, size=64), scope="g")


@pytest.mark.parametrize(
    "variant", [v for v in VARIANTS if v.stampable], ids=lambda variant: variant.id
)
def test_copies_get_the_rules_answer(sampler: Sampler, variant: Variant) -> None:
    template = make_template(variant, sampler)
    assert template is not None, "a stampable variant must give a template"
    copies = [stamp(template) for _ in range(COPIES)]
    shape = ExpectShape.of(copies[0])
    for copy in copies:
        assert b"{~" not in copy.body()
        assert shape.expect_for(copy) == expect_for(copy)
    contacts = {shape.expect_for(copy).contact for copy in copies}
    assert contacts == {None} or len(contacts) == COPIES
    if template.makers:
        assert len({copy.body() for copy in copies}) == COPIES


def test_copies_are_independent_payloads(sampler: Sampler) -> None:
    variant = next(v for v in VARIANTS if v.id == "segment/analytics-js")
    template = make_template(variant, sampler)
    assert template is not None
    first, second = stamp(template), stamp(template)
    first.payload["context"]["page"]["url"] = "changed"
    assert second.payload["context"]["page"]["url"] != "changed"
    assert first.payload["messageId"] != second.payload["messageId"]
    assert first.payload["anonymousId"] != second.payload["anonymousId"]


def test_uppercase_ids_stay_uppercase(sampler: Sampler) -> None:
    variant = next(v for v in VARIANTS if v.id == "segment/analytics-ios")
    template = make_template(variant, sampler)
    assert template is not None
    payload = stamp(template).payload
    assert payload["messageId"] == payload["messageId"].upper()
    assert len(payload["messageId"]) == 36


def test_a_builder_that_cuts_a_marker_gets_no_template(sampler: Sampler) -> None:
    def cuts_ids(built: Sampler) -> Request:
        return Request({"type": "identify", "messageId": built.uuid4()[:4]})

    assert make_template(Variant("edge/cut", "cut", cuts_ids), sampler) is None


def test_percent_signs_in_a_body_are_kept_as_sent(sampler: Sampler) -> None:
    def percent_text(built: Sampler) -> Request:
        return Request(
            {
                "type": "identify",
                "messageId": built.uuid4(),
                "traits": {"email": built.person().email, "note": "100% sure, %s and %(x)s"},
                "page": {"url": "https://example.com/a%20b?q=%25"},
            }
        )

    template = make_template(Variant("edge/percent", "percent", percent_text), sampler)
    assert template is not None
    first, second = stamp(template), stamp(template)
    for copy in (first, second):
        assert copy.payload["traits"]["note"] == "100% sure, %s and %(x)s"
        assert copy.payload["page"]["url"] == "https://example.com/a%20b?q=%25"
    assert first.payload["messageId"] != second.payload["messageId"]
    assert first.payload["traits"]["email"] != second.payload["traits"]["email"]


def test_a_value_used_twice_gets_the_same_fresh_value_in_both_places(sampler: Sampler) -> None:
    def twice(built: Sampler) -> Request:
        message_id, email = built.uuid4(), built.person().email
        return Request(
            {
                "type": "identify",
                "messageId": message_id,
                "traits": {"email": email},
                "context": {"traits": {"email": email}, "device": {"id": message_id.upper()}},
            }
        )

    template = make_template(Variant("edge/twice", "twice", twice), sampler)
    assert template is not None
    copies = [stamp(template) for _ in range(3)]
    for copy in copies:
        payload = copy.payload
        assert payload["traits"]["email"] == payload["context"]["traits"]["email"]
        assert payload["context"]["device"]["id"] == payload["messageId"].upper()
    assert len({copy.payload["messageId"] for copy in copies}) == 3
    assert len({copy.payload["traits"]["email"] for copy in copies}) == 3


def test_a_stampable_variant_that_gives_no_template_is_built_in_full_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No silent slow path: bulk traffic says, once, which variant it builds in full."""

    def cuts_ids(built: Sampler) -> Request:
        person = built.person()
        payload = {"type": "identify", "timestamp": "2026-02-13T10:00:00Z", "traits": {}}
        payload["traits"]["email"] = person.email
        payload["messageId"] = built.uuid4()[:4]  # a cut marker: no template can be made
        return Request(payload)

    variant = Variant("recommended/cuts-ids", "cuts its ids", cuts_ids)
    bulk = importlib.import_module(generate.__module__)  # the module, not the function
    monkeypatch.setattr(bulk, "variants_of", lambda family: (variant,))
    with pytest.warns(StampingFallback, match="'recommended/cuts-ids' in full") as caught:
        scenarios = list(generate(300, seed=3, mix={"recommended": 1}))
    assert len(caught) == 1, "one warning per variant, not one per request"
    assert len(scenarios) == 300
    assert all(scenario.expect == expect_for(scenario.request) for scenario in scenarios)
    assert len({scenario.request.payload["messageId"] for scenario in scenarios}) > 1


def test_no_variant_of_bulk_traffic_falls_back_to_full_builds() -> None:
    """Every variant in bulk traffic gets all its templates: enough traffic that each one is
    built TEMPLATES_PER_VARIANT times, any fallback an error."""
    in_bulk = [variant for variant in VARIANTS if variant.weight and variant.stampable]
    count = 8 * TEMPLATES_PER_VARIANT * len(in_bulk)
    with warnings.catch_warnings():
        warnings.simplefilter("error", StampingFallback)
        produced = sum(1 for _ in generate(count, seed=5, mix=dict.fromkeys(FAMILIES, 1)))
    assert produced == count


def test_a_field_of_the_template_is_the_copys_text(sampler: Sampler) -> None:
    def shouting(built: Sampler) -> Request:
        message_id, email = built.uuid4(), built.person().email
        return Request(
            {
                "type": "identify",
                "messageId": message_id,
                "traits": {"email": email.upper()},
                "page": {"url": f"https://example.com/{message_id}/{email}/{message_id}?q=%25"},
                "context": {"ip": "203.0.113.9"},
            }
        )

    template = make_template(Variant("edge/shouting", "shouting", shouting), sampler)
    assert template is not None
    email, url = template.field("traits.email"), template.field("page.url")
    assert email is not None and url is not None
    assert template.field("context.ip") == Field(("203.0.113.9",), ())
    assert template.field("context.missing") is None
    assert template.field("context") is None  # not text
    for _ in range(3):
        copy, values = fill(template)
        assert email.fill(values) == copy.payload["traits"]["email"]
        assert url.fill(values) == copy.payload["page"]["url"]
