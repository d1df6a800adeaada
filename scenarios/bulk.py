"""Bulk realistic traffic: many scenarios in given family proportions, fast and reproducible."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, tzinfo

from scenarios.errors import ScenarioError
from scenarios.expect import ExpectShape, expect_for
from scenarios.families import FAMILIES, variants_of
from scenarios.model import Expect, Request, Scenario
from scenarios.pools import Pools, make_pools
from scenarios.sampler import Sampler
from scenarios.stamping import StampingFallback, Template, fill, make_template, stamp
from scenarios.variant import Variant

__all__ = ["DEFAULT_MIX", "TEMPLATES_PER_VARIANT", "format_mix", "generate", "parse_mix"]

#: The share of each family in bulk traffic when no mix is given.
DEFAULT_MIX: Mapping[str, int] = {
    "recommended": 40,
    "alternative": 20,
    "segment": 20,
    "engage": 10,
    "malformed": 10,
}

#: How many requests of each variant are built in full; later ones are stamped copies of them
#: with fresh contacts and ids (`scenarios.stamping`), which is many times faster.
TEMPLATES_PER_VARIANT = 64


def format_mix(mix: Mapping[str, int]) -> str:
    """The text of a mix: `recommended=40,alternative=20,...`."""
    return ",".join(f"{family}={share}" for family, share in mix.items())


def _known_families() -> str:
    return ", ".join(FAMILIES)


def parse_mix(text: str) -> dict[str, int]:
    """`recommended=40,malformed=10` as a mix; families left out get no traffic."""
    example = format_mix(DEFAULT_MIX)
    mix: dict[str, int] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        family, equals, share_text = item.partition("=")
        family, share_text = family.strip(), share_text.strip()
        if not equals or not family:
            raise ScenarioError(f"mix item {item!r} is not family=share: write it like {example}")
        try:
            share = int(share_text)
        except ValueError:
            raise ScenarioError(
                f"mix share of {family!r} is {share_text!r}, not a whole number: "
                f"write it like {example}"
            ) from None
        if family in mix:
            raise ScenarioError(f"the mix names {family!r} twice: give each family once")
        mix[family] = share
    if not mix:
        raise ScenarioError(f"the mix is empty: write it like {example}")
    return _checked(mix)


def _checked(mix: Mapping[str, int]) -> dict[str, int]:
    """The mix as a dict, or a ScenarioError naming what is wrong with it."""
    unknown = [family for family in mix if family not in FAMILIES]
    if unknown:
        raise ScenarioError(
            f"unknown famil{'y' if len(unknown) == 1 else 'ies'} in the mix: "
            f"{', '.join(map(repr, unknown))}; the families are {_known_families()}"
        )
    for family, share in mix.items():
        if not isinstance(share, int) or isinstance(share, bool):
            raise ScenarioError(f"mix share of {family!r} must be a whole number, got {share!r}")
        if share < 0:
            raise ScenarioError(f"mix share of {family!r} is {share}: shares must be 0 or more")
    if not any(mix.values()):
        raise ScenarioError(
            "the mix gives every family a share of 0: give at least one family more"
        )
    return dict(mix)


def family_counts(count: int, mix: Mapping[str, int]) -> dict[str, int]:
    """How many of `count` scenarios each family gets: proportional, largest remainders first."""
    total = sum(mix.values())
    exact = {family: count * share / total for family, share in mix.items() if share}
    counts = {family: int(value) for family, value in exact.items()}
    short = count - sum(counts.values())
    by_remainder = sorted(exact, key=lambda family: (counts[family] - exact[family], family))
    for family in by_remainder[:short]:
        counts[family] += 1
    return counts


class _Copies:
    """Stamped copies of one template with their answers. A copy's contact and description
    are made from its new values where the rules found them, so its payload stays encoded."""

    __slots__ = ("description", "email", "shape", "template")

    def __init__(self, template: Template, shape: ExpectShape) -> None:
        self.template = template
        self.shape = shape
        email = None if shape.email_at is None else template.field(shape.email_at)
        description = None
        if shape.description_at is not None:
            description = template.field(shape.description_at)
            if description is None:  # not text in the template: each copy is read instead
                email = None
        #: Where each copy's email and description are made from its values; None for the
        #: email when a copy's answer is read from the decoded copy (or is a rejection).
        self.email = email
        self.description = description

    def make(self) -> tuple[Request, Expect]:
        """A new copy and its answer."""
        request, values = fill(self.template)
        shape = self.shape
        if shape.email_at is None:  # a rejection: the same for every copy
            return request, shape.expect
        if self.email is None:
            return request, shape.expect_for(request)  # not text in the template: read the copy
        description = None if self.description is None else self.description.fill(values)
        return request, shape.expect_with(self.email.fill(values), description)


class _Source:
    """Where one variant's bulk requests come from: full builds first, then stamped copies."""

    __slots__ = ("family", "in_full", "prefix", "summary", "templates", "variant")

    def __init__(self, variant: Variant) -> None:
        self.variant = variant
        self.family = variant.family
        self.prefix = f"{variant.id}#"
        self.summary = variant.summary
        self.templates: list[_Copies] = []
        #: Built in full every time: not stampable, or a build gave no template.
        self.in_full = not variant.stampable


def _weighted_table(family: str) -> tuple[_Source, ...]:
    """The family's variants, each repeated by its weight, for uniform picks."""
    sources = [_Source(variant) for variant in variants_of(family)]
    return tuple(source for source in sources for _ in range(source.variant.weight))


def generate(
    count: int,
    seed: int = 0,
    mix: Mapping[str, int] | None = None,
    *,
    day_zone: tzinfo = UTC,
    pools: Pools | None = None,
) -> Iterator[Scenario]:
    """`count` scenarios of realistic traffic in the proportions of `mix` (exactly, rounded).

    Families come in a seeded random order; within a family, variants by their weight. Each
    scenario has its own contact, so each accepted one expects `created` in any order. `pools`
    (by default `make_pools(seed)`) lets many seeds share the Faker values built once.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ScenarioError(f"count must be a whole number of 0 or more, got {count!r}")
    shares = _checked(DEFAULT_MIX if mix is None else mix)
    return _scenarios(count, seed, family_counts(count, shares), day_zone, pools)


def _scenarios(
    count: int, seed: int, counts: dict[str, int], day_zone: tzinfo, pools: Pools | None
) -> Iterator[Scenario]:
    if count == 0:
        return
    sampler = Sampler(seed, pools or make_pools(seed), scope="g")
    random = sampler.rng.random
    families = [family for family in FAMILIES if counts.get(family)]
    tables = [_weighted_table(family) for family in families]
    remaining = [counts[family] for family in families]
    left = count
    for index in range(count):
        # Draw a family without replacement: exact totals, in a random order.
        point = random() * left
        slot = 0
        while point >= remaining[slot]:
            point -= remaining[slot]
            slot += 1
        remaining[slot] -= 1
        left -= 1
        table = tables[slot]
        source = table[int(random() * len(table))]
        templates = source.templates
        if len(templates) == TEMPLATES_PER_VARIANT:
            request, expect = templates[int(random() * TEMPLATES_PER_VARIANT)].make()
        else:
            request, expect = _built(source, sampler, day_zone)
        yield Scenario(source.prefix + str(index), source.family, request, expect, source.summary)


def _built(source: _Source, sampler: Sampler, day_zone: tzinfo) -> tuple[Request, Expect]:
    """A request built in full, kept as a template for later copies when it can be."""
    template = None if source.in_full else make_template(source.variant, sampler)
    if template is None:
        if not source.in_full:  # declared stampable, yet this build gave no template
            warnings.warn(
                f"bulk traffic builds {source.variant.id!r} in full from now on: it is declared "
                "stampable, but a build of it gave no template (scenarios.stamping.make_template)",
                StampingFallback,
                stacklevel=2,
            )
        source.in_full = True
        request = source.variant.build(sampler)
        return request, expect_for(request, day_zone=day_zone)
    request = stamp(template)
    shape = ExpectShape.of(request, day_zone=day_zone)
    source.templates.append(_Copies(template, shape))
    return request, shape.expect
