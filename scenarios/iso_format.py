"""Moments written as RFC 3339 text the way client libraries write them, by table lookups.

Speed code, fenced: bulk traffic writes four times per message, so `MomentFormatter` writes one
with a few lookups in tables made once (every minute of a day, `00`-`99`, `.000`-`.999`, the
days of a run's window); `plain_iso` writes the same text with `datetime` and is its test oracle
(tests/test_scenarios_iso_format.py). What the tables buy is measured in bench/README.md.

Styles: `js`: milliseconds and Z (analytics.js, Segment's delivery); `python`: microseconds and
an explicit offset (analytics-python's `isoformat()`); `seconds`: no fraction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["DAY_MS", "STYLES", "MomentFormatter", "plain_iso"]

DAY_MS = 86_400_000
STYLES = ("js", "python", "seconds")
_UNIX_EPOCH = date(1970, 1, 1)
#: `THH:MM:` for every minute of a day, `00` to `99`, and `.000` to `.999`.
_CLOCKS = tuple(f"T{minute // 60:02d}:{minute % 60:02d}:" for minute in range(24 * 60))
_TWO_DIGITS = tuple(f"{number:02d}" for number in range(100))
_MILLIS = tuple(f".{millis:03d}" for millis in range(1000))


class MomentFormatter:
    """Writes moments (milliseconds since the Unix epoch) as RFC 3339 text; the days from
    `first_day` (days since the epoch) for `days` days are written from a table."""

    __slots__ = ("_day_texts", "_first_day")

    def __init__(self, first_day: int, days: int) -> None:
        self._first_day = first_day
        self._day_texts = tuple(
            (_UNIX_EPOCH + timedelta(days=first_day + offset)).isoformat() for offset in range(days)
        )

    def day_text(self, day_number: int) -> str:
        """Day `day_number` since the epoch as YYYY-MM-DD."""
        index = day_number - self._first_day
        if 0 <= index < len(self._day_texts):
            return self._day_texts[index]
        return (_UNIX_EPOCH + timedelta(days=day_number)).isoformat()

    def iso(
        self, moment_ms: int, offset_minutes: int = 0, style: str = "js", micros: int = 0
    ) -> str:
        """The moment in the zone `offset_minutes` east of UTC; `micros` (0-999) are the
        microseconds after the millisecond, written by the `python` style only."""
        day_number, in_day = divmod(moment_ms + offset_minutes * 60_000, DAY_MS)
        minute, in_minute = divmod(in_day, 60_000)
        second, millis = divmod(in_minute, 1000)
        clock = f"{self.day_text(day_number)}{_CLOCKS[minute]}{_TWO_DIGITS[second]}"
        if offset_minutes == 0 and style == "js":
            return f"{clock}{_MILLIS[millis]}Z"
        if offset_minutes == 0 and style == "seconds":
            return clock + "Z"
        off_hours, off_minutes = divmod(abs(offset_minutes), 60)
        sign = "-" if offset_minutes < 0 else "+"
        zone = f"{sign}{_TWO_DIGITS[off_hours]}:{_TWO_DIGITS[off_minutes]}"
        if style == "seconds":
            return clock + zone
        if style == "python":
            return f"{clock}{_MILLIS[millis]}{_MILLIS[micros][1:]}{zone}"
        return f"{clock}{_MILLIS[millis]}{zone}"


def plain_iso(moment_ms: int, offset_minutes: int = 0, style: str = "js", micros: int = 0) -> str:
    """What `MomentFormatter.iso` writes, with `datetime`: the plain version, its oracle."""
    zone = timezone(timedelta(minutes=offset_minutes))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    local = (epoch + timedelta(milliseconds=moment_ms)).astimezone(zone)
    if style == "python":
        local = local.replace(microsecond=local.microsecond + micros)
    timespec = {"js": "milliseconds", "python": "microseconds", "seconds": "seconds"}[style]
    text = local.isoformat(timespec=timespec)
    if offset_minutes == 0 and style != "python":
        return text.removesuffix("+00:00") + "Z"
    return text
