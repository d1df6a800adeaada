"""Reading the reference read API's answers: timeline entries and user properties."""

from __future__ import annotations

from typing import Any

from harness.target import Exchange

__all__ = ["entries_of", "properties_of", "timeline_days"]


def entries_of(exchange: Exchange) -> list[dict[str, Any]] | None:
    """The timeline entries in a read-back (empty for an unknown contact); None if unreadable."""
    if exchange.status == 404:
        return []
    document = exchange.document() if exchange.status == 200 else None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        return None
    return entries


def timeline_days(exchange: Exchange) -> list[str] | None:
    """The days of the timeline entries in a read-back, sorted; None if unreadable."""
    entries = entries_of(exchange)
    if entries is None:
        return None
    return sorted(str(entry.get("day")) for entry in entries)


def properties_of(exchange: Exchange) -> dict[str, Any] | None:
    """A contact's user properties (name -> value) from a read-back; None if unreadable.

    The reference answers `{name: {"value", "set_at"}}`; a plain `{name: value}` is read too.
    """
    if exchange.status == 404:
        return {}
    document = exchange.document() if exchange.status == 200 else None
    properties = document.get("properties") if isinstance(document, dict) else None
    if not isinstance(properties, dict):
        return None
    return {name: _value_of(held) for name, held in properties.items()}


def _value_of(held: Any) -> Any:
    if isinstance(held, dict) and "value" in held and set(held) <= {"value", "set_at"}:
        return held["value"]
    return held
