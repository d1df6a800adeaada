"""The table-driven moment formatter against its plain `datetime` twin, and what it writes
judged by an RFC 3339 reader (`datetime.fromisoformat` gives back the same instant)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scenarios.iso_format import DAY_MS, STYLES, MomentFormatter, plain_iso

#: The formatter's table covers 2026-01-02 to 2026-01-21 (days 20455 to 20474 since 1970).
FIRST_DAY, DAYS = 20_455, 20
FORMATTER = MomentFormatter(FIRST_DAY, DAYS)
#: Moments in and around the table's days, and anywhere from 1970 to 2999.
MOMENTS = st.integers((FIRST_DAY - 2) * DAY_MS, (FIRST_DAY + DAYS + 2) * DAY_MS) | st.integers(
    0, 32_503_680_000_000 - 1
)
OFFSETS = st.sampled_from([0, 60, -60, 330, 345, -570, 840, -720]) | st.integers(-840, 840)


@settings(max_examples=3000)
@given(MOMENTS, OFFSETS, st.sampled_from(STYLES), st.integers(0, 999))
@example((FIRST_DAY + DAYS) * DAY_MS - 1, 0, "js", 0)  # the last millisecond of the table
@example(FIRST_DAY * DAY_MS, -1, "seconds", 0)  # one minute west: the day before the table
@example(0, 0, "python", 999)
def test_the_tables_write_what_datetime_writes(
    moment_ms: int, offset_minutes: int, style: str, micros: int
) -> None:
    written = FORMATTER.iso(moment_ms, offset_minutes, style, micros)
    assert written == plain_iso(moment_ms, offset_minutes, style, micros)
    instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=moment_ms)
    if style == "seconds":
        instant = instant.replace(microsecond=0)
    elif style == "python":
        instant += timedelta(microseconds=micros)
    parsed = datetime.fromisoformat(written)
    assert parsed == instant
    assert parsed.utcoffset() == timedelta(minutes=offset_minutes)


@given(st.integers(0, 376_000))
def test_day_texts_are_the_calendar_days(day_number: int) -> None:
    expected = (datetime(1970, 1, 1) + timedelta(days=day_number)).date().isoformat()
    assert FORMATTER.day_text(day_number) == expected
