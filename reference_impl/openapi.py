"""The OpenAPI 3.1 document of the reference destination, with the published schemas embedded."""

from __future__ import annotations

from typing import Any

from schemas import SCHEMA_NAMES, load_schema

__all__ = ["openapi_document"]


def _ref(name: str, pointer: str = "") -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}{pointer}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _ref("nat-response", "/$defs/error")
_UNAUTHORIZED = _json(_ERROR, "Missing, unreadable or wrong API key")


def _read_route(summary: str, ok: dict[str, Any], *, with_email: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"basic": []}, {"bearer": []}],
        "responses": {"200": ok, "401": _UNAUTHORIZED},
    }
    if with_email:
        operation["parameters"] = [
            {
                "name": "email",
                "in": "path",
                "required": True,
                "description": "The contact's email, in any case (it is trimmed and lowercased).",
                "schema": {"type": "string"},
            }
        ]
        operation["responses"]["404"] = _json(_ERROR, "No such contact")
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
                "is for test harnesses and people."
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "components": {
            "schemas": {name: load_schema(name) for name in SCHEMA_NAMES},
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "username = API key"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "token = API key"},
            },
        },
        "paths": {
            "/segment": {
                "post": {
                    "summary": "Receive one Segment message",
                    "security": [{"basic": []}, {"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("nat-accepted")}},
                    },
                    "responses": {
                        "200": _json(
                            _ref("nat-response", "/$defs/success"),
                            "Accepted: created the day's timeline entry, or deduplicated",
                        ),
                        "400": _json(_ERROR, "Malformed message: the errors name each field"),
                        "401": _UNAUTHORIZED,
                        "413": _json(_ERROR, "Body over 64 KB (65,536 bytes)"),
                        "415": _json(_ERROR, "Declared content type is not JSON"),
                        "501": _json(_ERROR, "Not an identify call"),
                    },
                }
            },
            "/contacts/{email}": {
                "get": _read_route(
                    "A contact and its user properties",
                    _json(_ref("nat-contact", "/$defs/contact"), "The contact"),
                    with_email=True,
                )
            },
            "/contacts/{email}/timeline": {
                "get": _read_route(
                    "A contact's timeline entries, oldest day first",
                    _json(_ref("nat-contact", "/$defs/timeline"), "The timeline"),
                    with_email=True,
                )
            },
            "/health": {
                "get": _read_route(
                    "Liveness and counts",
                    _json({"type": "object"}, "ok, with contacts, timeline and messages counts"),
                )
            },
            "/reset": {
                "post": _read_route("Forget every contact", _json({"type": "object"}, "Reset"))
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
                }
            },
        },
    }
