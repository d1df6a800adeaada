"""The published Nat contract as JSON Schemas (draft 2020-12), loaded from the installed package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a registry is asked for: validate starts without it
    from referencing import Registry

__all__ = ["ACCEPTED", "SCHEMA_NAMES", "load_schema", "schema_registry"]

#: Every schema this package ships, by file stem.
SCHEMA_NAMES: tuple[str, ...] = (
    "segment-identify",
    "nat-recommended",
    "nat-alternative-email",
    "nat-alternative-event",
    "nat-engage",
    "nat-accepted",
    "nat-response",
    "nat-contact",
)

#: The schema of everything the destination accepts; self-contained (no external $ref).
ACCEPTED = "nat-accepted"


@cache
def _load_frozen(name: str) -> str:
    if name not in SCHEMA_NAMES:
        known = ", ".join(SCHEMA_NAMES)
        raise KeyError(f"no schema named {name!r}; known schemas: {known}")
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """Return a fresh copy of the schema `name` (a file stem such as 'nat-accepted')."""
    schema: dict[str, Any] = json.loads(_load_frozen(name))
    return schema


@cache
def schema_registry() -> Registry:
    """A `referencing` registry holding every shipped schema under its `$id`, so `$ref`s resolve."""
    from referencing import Registry, Resource

    resources_by_id = [
        (schema["$id"], Resource.from_contents(schema))
        for schema in (load_schema(name) for name in SCHEMA_NAMES)
    ]
    return Registry().with_resources(resources_by_id)
