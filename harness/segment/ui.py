"""The Segment simulator's delivery view, `GET /ui`: what happened to each event, as Segment's
event-delivery page shows it.

Counts per journal status over the journal's (simulated) time as a small chart, and the events
of the journal, newest first, filterable by status and messageId; an event's row opens its
attempts with their statuses, answers and times. Rendered on the server from the journal; the page
refreshes itself while traffic arrives.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from contract.timestamps import parse_iso_instant
from harness.segment.tracked import TrackedSimulator
from reference_impl.pages import page_environment

__all__ = ["CHARTED_STATUSES", "EventRow", "delivery_routes", "delivery_series", "event_rows"]

#: The statuses the chart draws, each as one line.
CHARTED_STATUSES = ("accepted", "filtered", "delivered", "retried", "dropped")
#: How many of the newest journal entries the page reads (the journal holds more).
_PAGE_ENTRIES = 5_000
_CHART_WIDTH, _CHART_HEIGHT, _BUCKETS = 640, 160, 48


@dataclass
class EventRow:
    """One event of the journal: its messageId and type, its latest status and every entry."""

    message_id: str
    type: str | None
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.entries[-1]["status"])

    @property
    def attempts(self) -> int:
        return sum(entry["attempt"] is not None for entry in self.entries)

    @property
    def first_at(self) -> str:
        return str(self.entries[0]["at"])

    @property
    def last_at(self) -> str:
        return str(self.entries[-1]["at"])


def event_rows(
    entries: list[dict[str, Any]], *, status: str | None = None, message_id: str | None = None
) -> list[EventRow]:
    """The events of `entries` (journal entries, oldest first), newest first; with `status`,
    only events that have an entry of that status, with `message_id`, only that event."""
    events: OrderedDict[str, EventRow] = OrderedDict()
    for entry in entries:
        key = entry["messageId"] or f"#{entry['seq']}"
        row = events.get(key)
        if row is None:
            row = events[key] = EventRow(key, entry["type"])
        row.entries.append(entry)
    rows = [
        row
        for row in events.values()
        if (status is None or any(entry["status"] == status for entry in row.entries))
        and (message_id is None or row.message_id == message_id)
    ]
    rows.sort(key=lambda row: row.entries[-1]["seq"], reverse=True)
    return rows


def delivery_series(entries: list[dict[str, Any]], *, buckets: int = _BUCKETS) -> dict[str, Any]:
    """Cumulative counts of each charted status over the entries' time span, as SVG polylines
    (`points` per status, in a `_CHART_WIDTH` x `_CHART_HEIGHT` box) with the span's ends."""
    stamped = [(parse_iso_instant(entry["at"]), entry) for entry in entries]
    times = [(moment, entry["status"]) for moment, entry in stamped if moment is not None]
    if not times:
        return {"lines": [], "start": None, "end": None, "top": 0}
    first = min(stamped, key=lambda pair: pair[0] or datetime.max.replace(tzinfo=UTC))
    last = max(stamped, key=lambda pair: pair[0] or datetime.min.replace(tzinfo=UTC))
    start, end = first[0], last[0]
    assert start is not None and end is not None
    span = max((end - start).total_seconds(), 1e-6)
    counts = {status: [0] * buckets for status in CHARTED_STATUSES}
    for moment, status in times:
        if status in counts:
            slot = min(int((moment - start).total_seconds() / span * buckets), buckets - 1)
            counts[status][slot] += 1
    cumulative = {status: _running_total(values) for status, values in counts.items()}
    top = max(max(values) for values in cumulative.values()) or 1
    step = _CHART_WIDTH / max(buckets - 1, 1)
    lines = [
        {
            "status": status,
            "total": values[-1],
            "points": " ".join(
                f"{index * step:.1f},{_CHART_HEIGHT - value / top * _CHART_HEIGHT:.1f}"
                for index, value in enumerate(values)
            ),
        }
        for status, values in cumulative.items()
    ]
    return {"lines": lines, "start": first[1]["at"], "end": last[1]["at"], "top": top}


def _running_total(values: list[int]) -> list[int]:
    total, result = 0, []
    for value in values:
        total += value
        result.append(total)
    return result


def delivery_routes(simulator: TrackedSimulator) -> list[Route]:
    """`GET /ui` for the simulator's tracking API app."""
    environment = page_environment("harness.segment")

    async def delivery(request: Request) -> Response:
        status = request.query_params.get("status") or None
        message_id = request.query_params.get("messageId") or None
        known = simulator.journal.counts()
        if status is not None and status not in known:
            status = None
        entries = [entry.as_dict() for entry in simulator.journal.query(limit=_PAGE_ENTRIES)]
        rows = event_rows(entries, status=status, message_id=message_id)
        return HTMLResponse(
            environment.get_template("delivery.html.j2").render(
                state=simulator.status(),
                statuses=list(known),
                chosen_status=status or "",
                chosen_message_id=message_id or "",
                series=delivery_series(entries),
                chart={"width": _CHART_WIDTH, "height": _CHART_HEIGHT},
                rows=rows[:500],
                shown_of=len(rows),
            )
        )

    return [Route("/ui", delivery, methods=["GET"])]
