"""The OpenAPI document: valid, every reference resolvable from its root, and true of the app
(Schemathesis drives every operation through the ASGI app with all its checks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import CHECKS, load_all_checks

from reference_impl.openapi import bundled_schemas, openapi_document
from schemas import SCHEMA_NAMES, load_schema
from tests.conftest import basic_auth


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _resolve(document: dict[str, Any], reference: str) -> Any:
    assert reference.startswith("#/"), f"{reference} is not a reference into this document"
    node: Any = document
    for step in reference[2:].split("/"):
        node = node[step.replace("~1", "/").replace("~0", "~")]
    return node


def test_the_served_document_passes_openapi_spec_validator(destination_url: str) -> None:
    document = requests.get(f"{destination_url}/openapi.json").json()
    assert document == openapi_document()
    validate(document)


def test_every_reference_resolves_from_the_document_root() -> None:
    document = openapi_document()
    references = set(_references(document))
    assert len(references) >= 20  # the schemas' own and the operations'
    for reference in references:
        _resolve(document, reference)
    for name, schema in document["components"]["schemas"].items():
        nested = {"$id", "$defs", "$schema"} & set(_keys(schema))
        assert not nested, f"components/schemas/{name} keeps {nested}"


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        yield from node
        for value in node.values():
            yield from _keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


def test_bundling_keeps_every_schema_and_definition() -> None:
    bundled = bundled_schemas()
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        assert bundled[name]["title"] == schema["title"]
        assert {f"{name}.{d}" for d in schema.get("$defs", {})} <= set(bundled)
    assert bundled["nat-recommended"]["allOf"][0] == {"$ref": "#/components/schemas/nat-accepted"}


def test_every_route_is_described(destination_url: str) -> None:
    document = openapi_document()
    assert set(document["paths"]) == {
        "/segment",
        "/contacts/{email}",
        "/contacts/{email}/timeline",
        "/stats",
        "/reset",
        "/health",
        "/openapi.json",
    }
    for path, item in document["paths"].items():
        for method in item:
            route = f"{destination_url}{path.replace('{email}', 'nobody@example.com')}"
            answer = requests.request(method, route, headers=basic_auth(), json={})
            assert str(answer.status_code) in item[method]["responses"], f"{method} {path}"


# --- Schemathesis ------------------------------------------------------------------------------

load_all_checks()
_schema = schemathesis.openapi.from_dict(openapi_document())


def _no_server_error_but_the_documented_501(ctx: Any, response: Any, case: Any) -> bool | None:
    """not_a_server_error, except the 501 CONTRACT B.5 documents for a non-identify type."""
    if response.status_code < 500:
        return True
    body = case.body if isinstance(case.body, dict) else {}
    kind = body.get("type")
    other_type = isinstance(kind, str) and not (kind.isascii() and kind.lower() == "identify")
    if response.status_code == 501 and case.path == "/segment" and other_type:
        return True
    raise AssertionError(f"{response.status_code} for {case.method} {case.path}")


_CHECKS = [
    *(CHECKS.get_one(name) for name in CHECKS.get_all_names() if name != "not_a_server_error"),
    _no_server_error_but_the_documented_501,
]


@_schema.parametrize()
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_schemathesis_finds_no_failure_in_any_operation(
    destination_url: str, http: requests.Session, case: Any
) -> None:
    """Over HTTP, one fresh destination per operation (its examples share it and a connection)."""
    case.call_and_validate(
        base_url=destination_url, session=http, headers=basic_auth(), checks=_CHECKS
    )
