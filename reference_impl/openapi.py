"""The OpenAPI 3.1 document of the reference destination, with the published schemas bundled in.

Each schema becomes `components/schemas/<name>` and each of its `$defs` `<name>.<def>`, with every
`$ref` rewritten to point there, so all references resolve from the document's root (common
resolvers do not follow a nested `$id` or `#/$defs/...` under `components`).
"""

from __future__ import annotations

from typing import Any

from contract.endpoints import SEGMENT_PATH
from contract.limits import MAX_BODY_BYTES
from contract.read_api import CONTACT_PATH, HEALTH_PATH, RESET_PATH, STATS_PATH, TIMELINE_PATH
from reference_impl.http_io import BODY_TIMEOUT_S
from reference_impl.protocol import ConnectionLimits
from schemas import SCHEMA_NAMES, load_schema

__all__ = ["bundled_schemas", "openapi_document"]

_COMPONENTS = "#/components/schemas/"


def bundled_schemas() -> dict[str, Any]:
    """Every shipped schema and each of its `$defs` as a component, references rewritten."""
    bundled: dict[str, Any] = {}
    for name in SCHEMA_NAMES:
        schema = load_schema(name)
        definitions = schema.pop("$defs", {})
        for keyword in ("$id", "$schema"):
            schema.pop(keyword, None)
        bundled[name] = _rewrite(schema, name)
        for definition, subschema in definitions.items():
            bundled[f"{name}.{definition}"] = _rewrite(subschema, name)
    return bundled


def _rewrite(node: Any, name: str) -> Any:
    """`node` with each `$ref` (within schema `name`) pointing at the bundled component."""
    if isinstance(node, list):
        return [_rewrite(item, name) for item in node]
    if not isinstance(node, dict):
        return node
    rewritten = {key: _rewrite(value, name) for key, value in node.items()}
    if isinstance(node.get("$ref"), str):
        rewritten["$ref"] = _component_of(node["$ref"], name)
    return rewritten


def _component_of(reference: str, name: str) -> str:
    """`#/$defs/x` or `other.json#/$defs/x` (relative to the schema's `$id`) as a component."""
    document, _, fragment = reference.partition("#")
    target = document.removesuffix(".json") if document else name
    if target not in SCHEMA_NAMES:
        raise ValueError(f"schema {name}: $ref {reference!r} names no shipped schema")
    if not fragment:
        return _COMPONENTS + target
    definition = fragment.removeprefix("/$defs/")
    if definition == fragment or "/" in definition:
        raise ValueError(f"schema {name}: $ref {reference!r} is not to a top-level $defs entry")
    return f"{_COMPONENTS}{target}.{definition}"


def _ref(component: str) -> dict[str, str]:
    return {"$ref": _COMPONENTS + component}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("nat-response.error"), description)


_LIMITS = ConnectionLimits()
_KEYED: list[dict[str, list[str]]] = [{"basic": []}, {"bearer": []}]
_UNAUTHORIZED = _error("Missing, unreadable or wrong API key")
_WRONG_METHOD = _error("Another method than this path takes (the Allow header lists it)")


def _operation(
    summary: str,
    ok: dict[str, Any],
    errors: dict[str, dict[str, Any]] | None = None,
    *,
    keyed: bool = True,
) -> dict[str, Any]:
    responses = {"200": ok, **(errors or {})}
    if keyed:
        responses["401"] = _UNAUTHORIZED
    responses["405"] = _WRONG_METHOD
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    operation["security"] = _KEYED if keyed else []
    return operation


def _contact_route(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
    operation = _operation(summary, ok, {"404": _error("No such contact")})
    operation["parameters"] = [
        {
            "name": "email",
            "in": "path",
            "required": True,
            "description": "The contact's email, in any case (it is trimmed and lowercased).",
            "schema": {"type": "string"},
        }
    ]
    return operation


def openapi_document() -> dict[str, Any]:
    """Every route of the reference destination, its bodies described by the shipped schemas."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Nat reference destination",
            "version": "1",
            "description": (
                "How the reference Nat destination answers Segment. Segment posts one message per "
                "request to /segment with Authorization: Basic base64(apiKey + ':'). The read API "
                "is for test harnesses and people. Every answer is JSON; any path not listed here "
                "(a trailing slash included) is a 404 with an error body. On any path, a request "
                "the HTTP parser cannot read is a 400, a request line and headers over "
                f"{_LIMITS.max_head_bytes:,} bytes a 431, and a head not complete within "
                f"{_LIMITS.head_timeout:g} s a 408."
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "components": {
            "schemas": bundled_schemas(),
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "username = API key"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "token = API key"},
            },
        },
        "paths": {
            SEGMENT_PATH: {
                "post": {
                    **_operation(
                        "Receive one Segment message",
                        _json(
                            _ref("nat-response.success"),
                            "Accepted: created the day's timeline entry, or deduplicated",
                        ),
                        {
                            "400": _error(
                                "Malformed message (the errors name each field), or a request "
                                "the HTTP parser cannot read"
                            ),
                            "408": _error(
                                f"Body not complete within {BODY_TIMEOUT_S:g} s of its headers"
                            ),
                            "413": _error(
                                f"Body over {MAX_BODY_BYTES // 1024} KB ({MAX_BODY_BYTES:,} bytes)"
                            ),
                            "415": _error("Declared content type is not JSON"),
                            "501": _error("Not an identify call"),
                        },
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("nat-accepted")}},
                    },
                }
            },
            CONTACT_PATH: {
                "get": _contact_route(
                    "A contact and its user properties",
                    _json(_ref("nat-contact.contact"), "The contact"),
                )
            },
            TIMELINE_PATH: {
                "get": _contact_route(
                    "A contact's timeline entries, oldest day first",
                    _json(_ref("nat-contact.timeline"), "The timeline"),
                )
            },
            STATS_PATH: {
                "get": _operation(
                    "How many contacts, timeline entries and messageIds the store holds",
                    _json(_ref("nat-contact.stats"), "The counts"),
                )
            },
            RESET_PATH: {
                "post": _operation(
                    "Forget every contact, entry and messageId",
                    _json(_ref("nat-contact.reset"), "Reset"),
                )
            },
            HEALTH_PATH: {
                "get": _operation(
                    "Liveness: no key, the same answer for anyone, no data",
                    _json(_ref("nat-contact.health"), "Up"),
                    keyed=False,
                )
            },
            "/openapi.json": {
                "get": _operation(
                    "This document",
                    _json({"type": "object"}, "OpenAPI 3.1"),
                    keyed=False,
                )
            },
        },
    }
