"""Every variant, grouped by family: the single list the catalogue and bulk traffic draw from."""

from __future__ import annotations

from scenarios import documented, edge, engage, malformed, segment
from scenarios.variant import Variant

__all__ = ["FAMILIES", "VARIANTS", "variants_of"]

VARIANTS: tuple[Variant, ...] = (
    documented.VARIANTS + segment.VARIANTS + engage.VARIANTS + malformed.VARIANTS + edge.VARIANTS
)
#: Family names in the order they are listed to people.
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(variant.family for variant in VARIANTS))


def variants_of(family: str) -> tuple[Variant, ...]:
    """The variants of one family, in catalogue order."""
    return tuple(variant for variant in VARIANTS if variant.family == family)
