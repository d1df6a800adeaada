"""The published schemas: well-formed, self-consistent, and their examples hold (issue 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator
from referencing.exceptions import Unresolvable

from reference_impl.rules import Accepted, evaluate
from schemas import ACCEPTED, SCHEMA_NAMES, load_schema, schema_registry

FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
#: The schemas of the formats Nat documents; each is a narrower view of `nat-accepted`.
FORMAT_SCHEMAS = ("nat-recommended", "nat-alternative-email", "nat-alternative-event", "nat-engage")

# Keywords whose value is one subschema, a map of subschemas, or a list of subschemas.
_ONE = ("items", "not", "additionalProperties", "if", "then", "else", "contains", "propertyNames")
_MAP = ("properties", "$defs", "patternProperties", "dependentSchemas")
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")


def subschemas(schema: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (JSON pointer, subschema) of `schema`, the root included, walking keywords only."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for keyword in _ONE:
        if keyword in schema:
            yield from subschemas(schema[keyword], f"{pointer}/{keyword}")
    for keyword in _MAP:
        for name, child in schema.get(keyword, {}).items():
            yield from subschemas(child, f"{pointer}/{keyword}/{name}")
    for keyword in _LIST:
        for index, child in enumerate(schema.get(keyword, [])):
            yield from subschemas(child, f"{pointer}/{keyword}/{index}")


def examples_everywhere() -> Iterator[Any]:
    """pytest params: (schema $id + pointer, example) for every `examples` entry of every schema."""
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        for pointer, subschema in subschemas(schema):
            for index, example in enumerate(subschema.get("examples", [])):
                where = f"{name}{pointer or '/'}#examples/{index}"
                yield pytest.param(f"{schema['$id']}#{pointer}", example, id=where)


def rs_registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(load_schema(n)["$id"], load_schema(n)) for n in SCHEMA_NAMES])


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_against_its_meta_schema(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert jsonschema_rs.meta.is_valid(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_has_id_title_description_and_examples(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}.json")
    assert schema["title"].strip()
    assert len(schema["description"]) > 40
    assert schema["examples"], f"{name} has no examples"


def test_every_shipped_schema_file_is_named_in_schema_names() -> None:
    shipped = {
        entry.name.removesuffix(".json")
        for entry in resources.files("schemas").iterdir()
        if entry.name.endswith(".json")
    }
    assert shipped == set(SCHEMA_NAMES)


def test_schema_ids_are_unique() -> None:
    ids = [load_schema(name)["$id"] for name in SCHEMA_NAMES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("where", "example"), list(examples_everywhere()))
def test_every_example_validates_against_its_schema(where: str, example: Any) -> None:
    by_reference = {"$ref": where}
    python = Draft202012Validator(
        by_reference, registry=schema_registry(), format_checker=FORMAT_CHECKER
    )
    errors = [error.message for error in python.iter_errors(example)]
    assert errors == []
    compiled = jsonschema_rs.validator_for(
        by_reference, validate_formats=True, registry=rs_registry()
    )
    assert compiled.is_valid(example)


def _references() -> Iterator[Any]:
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        for pointer, subschema in subschemas(schema):
            if "$ref" in subschema:
                yield pytest.param(schema["$id"], subschema["$ref"], id=f"{name}{pointer}")


@pytest.mark.parametrize(("base", "reference"), list(_references()))
def test_every_ref_resolves_from_the_installed_package(base: str, reference: str) -> None:
    resolver = schema_registry().resolver(base_uri=base)
    try:
        resolved = resolver.lookup(reference)
    except Unresolvable as error:  # pragma: no cover - the failure message is the point
        pytest.fail(f"{reference} from {base} does not resolve: {error}")
    assert isinstance(resolved.contents, dict)


def test_accepted_schema_is_self_contained() -> None:
    for pointer, subschema in subschemas(load_schema(ACCEPTED)):
        reference = subschema.get("$ref")
        assert reference is None or reference.startswith("#/"), f"{pointer}: {reference}"


def test_schemas_load_as_fresh_copies() -> None:
    first = load_schema(ACCEPTED)
    first["title"] = "changed"
    assert load_schema(ACCEPTED)["title"] != "changed"


def test_schema_files_are_plain_json() -> None:
    for name in SCHEMA_NAMES:
        text = resources.files("schemas").joinpath(f"{name}.json").read_text(encoding="utf-8")
        assert json.loads(text) == load_schema(name)


@pytest.mark.parametrize("name", FORMAT_SCHEMAS)
def test_format_examples_are_accepted_by_the_rules(name: str) -> None:
    for example in load_schema(name)["examples"]:
        assert isinstance(evaluate(example), Accepted), example


@pytest.mark.parametrize("name", [*FORMAT_SCHEMAS, ACCEPTED])
def test_accepted_and_format_examples_are_accepted_by_the_accepted_schema(name: str) -> None:
    accepted = jsonschema_rs.validator_for(
        load_schema(ACCEPTED), validate_formats=True, registry=rs_registry()
    )
    for example in load_schema(name)["examples"]:
        assert accepted.is_valid(example), example


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        pytest.param(
            "nat-alternative-email",
            {"email": "a@example.com", "context": {"traits": {"email": "not an address"}}},
            id="flat-email-shadowed-by-a-bad-context-email",
        ),
        pytest.param(
            "nat-alternative-event",
            {"email": "a@example.com", "event": "Logged in", "traits": 5},
            id="flat-event-with-traits-not-an-object",
        ),
        pytest.param(
            "nat-recommended",
            {"traits": {"email": "a@example.com"}, "context": "web"},
            id="recommended-with-context-not-an-object",
        ),
        pytest.param(
            "nat-recommended",
            {"traits": {"email": "a@example.com"}, "messageId": 5},
            id="recommended-with-numeric-message-id",
        ),
    ],
)
def test_a_format_never_admits_what_nat_rejects(name: str, payload: dict[str, Any]) -> None:
    """Each format schema is also an accepted call (allOf nat-accepted), so the docs never show a
    'matching' payload that the destination would refuse."""
    full = {"type": "identify", "timestamp": "2020-05-31T17:55:47.263Z", **payload}
    assert not isinstance(evaluate(full), Accepted)
    compiled = jsonschema_rs.validator_for(
        load_schema(name), validate_formats=True, registry=rs_registry()
    )
    assert not compiled.is_valid(full)
