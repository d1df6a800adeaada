"""Bulk traffic: reproducible, in the asked proportions, unique, and right about every answer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from zoneinfo import ZoneInfo

import orjson
import pytest

from scenarios import (
    DEFAULT_MIX,
    FAMILIES,
    Scenario,
    ScenarioError,
    expect_for,
    generate,
    parse_mix,
)
from scenarios.bulk import TEMPLATES_PER_VARIANT

EVERY_FAMILY = dict.fromkeys(FAMILIES, 1)


@pytest.fixture(scope="module")
def traffic() -> list[Scenario]:
    """Enough of every family that most variants are past their built-in-full requests."""
    return list(generate(6_000, seed=41, mix=EVERY_FAMILY))


def _lines(count: int, seed: int) -> bytes:
    return b"\n".join(orjson.dumps(scenario.to_dict()) for scenario in generate(count, seed))


def test_same_seed_gives_byte_identical_output() -> None:
    assert _lines(1500, seed=9) == _lines(1500, seed=9)


def test_another_seed_gives_other_output() -> None:
    assert _lines(200, seed=9) != _lines(200, seed=10)


def test_every_expectation_is_the_rules_answer(traffic: list[Scenario]) -> None:
    wrong = [s.id for s in traffic if s.expect != expect_for(s.request)]
    assert not wrong, wrong[:5]


def test_copies_are_made_once_variants_have_their_templates(traffic: list[Scenario]) -> None:
    per_variant = Counter(scenario.id.partition("#")[0] for scenario in traffic)
    assert max(per_variant.values()) > 2 * TEMPLATES_PER_VARIANT


def test_ids_are_readable_and_unique(traffic: list[Scenario]) -> None:
    assert len({scenario.id for scenario in traffic}) == len(traffic)
    for index, scenario in enumerate(traffic):
        assert re.fullmatch(rf"{scenario.family}/[a-z0-9-]+#{index}", scenario.id), scenario.id


def test_contacts_and_message_ids_are_unique(traffic: list[Scenario]) -> None:
    contacts = [s.expect.contact for s in traffic if s.expect.contact]
    assert len(contacts) == len(set(contacts)) > len(traffic) // 2
    message_ids = [
        s.request.payload["messageId"]
        for s in traffic
        if isinstance(s.request.payload, dict)
        and isinstance(s.request.payload.get("messageId"), str)
        and s.expect.status == 200
    ]
    assert len(message_ids) == len(set(message_ids)) > 1000


def test_the_default_mix_is_followed_exactly() -> None:
    counts = Counter(scenario.family for scenario in generate(1000, seed=2))
    assert counts == {family: share * 10 for family, share in DEFAULT_MIX.items()}


@pytest.mark.parametrize(
    ("count", "mix", "expected"),
    [
        (10, {"recommended": 1, "malformed": 1}, {"recommended": 5, "malformed": 5}),
        (7, {"segment": 3, "engage": 1}, {"segment": 5, "engage": 2}),
        (3, {"edge": 1, "recommended": 0}, {"edge": 3}),
        (100, {"alternative": 1, "engage": 1, "edge": 1}, None),
    ],
    ids=["halves", "rounded", "zero-share-left-out", "thirds"],
)
def test_a_given_mix_is_followed(count: int, mix: dict[str, int], expected: dict | None) -> None:
    counts = Counter(scenario.family for scenario in generate(count, seed=1, mix=mix))
    assert sum(counts.values()) == count
    if expected is None:
        assert sorted(counts.values()) == [33, 33, 34]
    else:
        assert counts == expected


def test_families_come_in_a_random_order() -> None:
    families = [scenario.family for scenario in generate(400, seed=3)]
    assert families != sorted(families)
    assert len(set(families[:50])) == len(DEFAULT_MIX)


def test_zero_scenarios_is_nothing() -> None:
    assert list(generate(0, seed=1)) == []


def test_the_day_follows_the_time_zone_the_target_counts_in() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    for scenario in generate(300, seed=4, day_zone=tokyo):
        assert scenario.expect == expect_for(scenario.request, day_zone=tokyo), scenario.id


@pytest.mark.parametrize(
    ("count", "mix", "message"),
    [
        (-1, None, "count"),
        (10, {"recommended": 1, "nonsense": 2}, "'nonsense'"),
        (10, {"recommended": -1}, "0 or more"),
        (10, {"recommended": 0}, "every family a share of 0"),
    ],
    ids=["negative-count", "unknown-family", "negative-share", "all-zero"],
)
def test_bad_arguments_are_scenario_errors(count: int, mix: dict | None, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        generate(count, seed=1, mix=mix)


def test_parse_mix_reads_family_shares() -> None:
    assert parse_mix("recommended=40, alternative=20,segment=0") == {
        "recommended": 40,
        "alternative": 20,
        "segment": 0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("recommended", "not family=share"),
        ("=4", "not family=share"),
        ("recommended=forty", "'forty', not a whole number"),
        ("recommended=1.5", "not a whole number"),
        ("recommended=-3", "0 or more"),
        ("recommended=0,malformed=0", "every family a share of 0"),
        ("recommended=1,recommended=2", "twice"),
        ("recomended=1,segmnt=2", r"'recomended', 'segmnt'; the families are recommended, "),
    ],
    ids=[
        "empty",
        "no-equals",
        "no-family",
        "word",
        "fraction",
        "negative",
        "all-zero",
        "duplicate",
        "misspelt-families-listed",
    ],
)
def test_parse_mix_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_mix(text)


_DIGEST = """
import hashlib, orjson, scenarios
digest = hashlib.sha256()
items = [*scenarios.catalogue(77), *scenarios.sequences(77)]
items += scenarios.generate(400, seed=77, mix=dict.fromkeys(scenarios.FAMILIES, 1))
for item in items:
    digest.update(orjson.dumps(item.to_dict()))
print(digest.hexdigest())
"""


def test_output_does_not_depend_on_the_process_or_its_hash_seed() -> None:
    digests = {
        subprocess.run(
            [sys.executable, "-c", _DIGEST],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1 and len(digests.pop()) == 65
