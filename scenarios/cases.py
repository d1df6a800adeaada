"""The catalogue: every named case of the contract once, each with its expected answer."""

from __future__ import annotations

from datetime import UTC, tzinfo

from scenarios.expect import expect_for
from scenarios.families import VARIANTS
from scenarios.model import Scenario
from scenarios.pools import make_pools
from scenarios.sampler import Sampler

__all__ = ["catalogue"]


def catalogue(seed: int = 0, *, day_zone: tzinfo = UTC) -> list[Scenario]:
    """One scenario per variant (`recommended/with-page-url`, `malformed/wrong-key`, ...).

    Every contact is new and belongs to this seed, so each accepted scenario expects `created`
    whatever order the scenarios are sent in.
    """
    sampler = Sampler(seed, make_pools(seed), scope="c")
    scenarios = []
    for variant in VARIANTS:
        request = variant.build(sampler)
        scenarios.append(
            Scenario(
                id=variant.id,
                family=variant.family,
                request=request,
                expect=expect_for(request, day_zone=day_zone),
                summary=variant.summary,
            )
        )
    return scenarios
