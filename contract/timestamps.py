"""Date-times as Segment writes them, and read back: one writer per format, one reader per rule.

Segment writes every time in UTC with milliseconds and a `Z` (`2020-05-31T17:55:47.263Z`,
CONTRACT A.5); stores and reports that sort by text use microseconds (fixed width, so text order
is time order). Reading is strict for the acceptance rules (an RFC 3339 layout the caller checks,
CONTRACT B.4) and lenient for people and the simulator (any ISO 8601 date-time, no zone = UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = [
    "format_precise_time",
    "format_segment_time",
    "parse_iso_instant",
    "parse_rfc3339",
]


def format_segment_time(moment: datetime) -> str:
    """`moment` in UTC as Segment writes it: milliseconds and a Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def format_precise_time(moment: datetime) -> str:
    """`moment` in UTC with microseconds and a Z, fixed width: text order is time order."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_rfc3339(value: str, layout: re.Pattern[str]) -> datetime | None:
    """The UTC instant of `value` when it matches `layout` (an RFC 3339 date-time with a zone,
    such as the schema's timestamp pattern) and names a real moment; else None.

    `datetime.fromisoformat` reads every RFC 3339 date-time but a lowercase `z`, and keeps six
    of up to nine fraction digits (the extra ones are dropped, not rounded).
    """
    if "\n" in value or not layout.match(value):  # `$` also matches before a final newline
        return None
    if value[-1] == "z":
        value = value[:-1] + "Z"
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_iso_instant(text: str) -> datetime | None:
    """The UTC instant of any ISO 8601 date-time (no zone is read as UTC), or None when `text`
    is not one or names a moment without a UTC instant (`0001-01-01T00:00:00+01:00`)."""
    try:
        moment = datetime.fromisoformat(text.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        return None
