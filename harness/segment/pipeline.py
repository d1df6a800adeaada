"""What Segment does to an event between its tracking API and a destination.

It checks the few fields Segment requires, drops a `messageId` seen within the deduplication
window, sets `receivedAt`, corrects `timestamp` for the client's clock skew
(`receivedAt - (sentAt - originalTimestamp)`), and forwards only what the destination takes:
types it supports, unless `integrations` turns it off (CONTRACT A.4-A.7).

`receivedAt`, the corrected `timestamp` and the deduplication window are on the wall clock (the
moment the request arrived, as Segment's are), never on the simulator's virtual clock: a faster
clock compresses waiting, not the events (issue 15). Only an Engage simulation passes its
simulated clock as `wall`, because its events are meant to happen on simulated days.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contract.timestamps import format_segment_time, parse_iso_instant

__all__ = [
    "DAY",
    "MESSAGE_TYPES",
    "NAT_NAMES",
    "Filtered",
    "Forward",
    "Pipeline",
    "UnstorableEvent",
    "enabled_for",
]

DAY = 24 * 60 * 60.0
#: The Spec calls the tracking API takes.
MESSAGE_TYPES: tuple[str, ...] = ("identify", "track", "page", "screen", "group", "alias")
#: The names `integrations` may use for the Nat destination.
NAT_NAMES: tuple[str, ...] = ("Nat", "Nat.app")


@dataclass(frozen=True, slots=True)
class Forward:
    """An event on its way to the destination, as Segment will deliver it."""

    message_id: str
    type: str
    message: dict[str, Any]


class UnstorableEvent(ValueError):
    """An event the simulator cannot store or deliver (nested deeper than its JSON serializer
    takes); `field` names where, as `batch[3].traits`."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field} {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Filtered:
    """An event the tracking API acknowledged but that never reaches the destination, and why."""

    message_id: str | None
    type: str | None
    reason: str
    detail: str

    @property
    def remembered(self) -> bool:
        """Whether its `messageId` starts a deduplication window: Segment deduplicates every
        event it takes in, before any filter, but not an invalid one."""
        return self.reason not in ("invalid", "duplicate")


def enabled_for(integrations: Any, names: tuple[str, ...]) -> bool:
    """Segment's `integrations` rule: the destination's own key wins, then `All`, then on.

    A value of `false` turns it off; anything else (true, an options object) leaves it on.
    """
    if not isinstance(integrations, dict):
        return True
    for name in names:
        if name in integrations:
            return integrations[name] is not False
    return integrations.get("All", True) is not False


def _parse_time(value: Any) -> datetime | None:
    """An ISO 8601 date-time as a UTC instant (a missing zone is read as UTC), else None."""
    return parse_iso_instant(value) if isinstance(value, str) else None


def _new_message_id() -> str:
    return f"api-{uuid.uuid4()}"


def _wall_now() -> datetime:
    return datetime.now(UTC)


class Pipeline:
    """Segment's processing of each event, with a `messageId` window on the wall clock.

    `wall` gives the moment a request arrives (the real time by default); `process` handles one
    event. The simulator uses its three steps instead, so that nothing of a request is
    remembered before the whole request is stored: `prepare` each event, `screen` them for
    duplicates, and `remember` them once stored.
    """

    def __init__(
        self,
        wall: Callable[[], datetime] = _wall_now,
        *,
        dedup_window: float = DAY,
        destination_names: tuple[str, ...] = NAT_NAMES,
        forwarded_types: tuple[str, ...] = ("identify",),
        new_message_id: Callable[[], str] = _new_message_id,
    ) -> None:
        self.wall = wall
        self.dedup_window = dedup_window
        self.destination_names = destination_names
        self.forwarded_types = forwarded_types
        self._new_message_id = new_message_id
        self._seen: dict[str, float] = {}
        self._seen_order: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def process(
        self, event: Any, *, sent_at: Any = None, path_type: str | None = None
    ) -> Forward | Filtered:
        """One event from the tracking API: forwarded as Segment delivers it, or filtered.

        `sent_at` is the batch's `sentAt`; `path_type` the type an endpoint such as /v1/identify
        gives its event.
        """
        received = self.wall()
        prepared = self.prepare(event, received=received, sent_at=sent_at, path_type=path_type)
        [verdict] = self.screen([prepared], received)
        self.remember([verdict], received)
        return verdict

    def prepare(
        self,
        event: Any,
        *,
        received: datetime,
        sent_at: Any = None,
        path_type: str | None = None,
    ) -> Forward | Filtered:
        """The verdict on one event received at `received`, before deduplication."""
        if not isinstance(event, dict):
            return Filtered(None, None, "invalid", "an event must be a JSON object")
        message_type = path_type or event.get("type")
        raw_id = event.get("messageId")
        if raw_id is not None and not isinstance(raw_id, str):
            return Filtered(None, _type_name(message_type), "invalid", "messageId must be a string")
        message_id = raw_id or self._new_message_id()
        if not isinstance(message_type, str) or message_type not in MESSAGE_TYPES:
            return Filtered(
                message_id,
                _type_name(message_type),
                "invalid",
                f"type must be one of {', '.join(MESSAGE_TYPES)}",
            )
        problem = _missing_required(message_type, event)
        if problem is not None:
            return Filtered(message_id, message_type, "invalid", problem)
        if not enabled_for(event.get("integrations"), self.destination_names):
            return Filtered(
                message_id,
                message_type,
                "integrations",
                "integrations turns this destination off",
            )
        if message_type not in self.forwarded_types:
            return Filtered(
                message_id,
                message_type,
                "type",
                f"the destination takes {', '.join(self.forwarded_types)} calls only",
            )
        message = _stamp(event, message_id, message_type, received, sent_at)
        return Forward(message_id, message_type, message)

    def screen(
        self, verdicts: Sequence[Forward | Filtered], received: datetime
    ) -> list[Forward | Filtered]:
        """The verdicts with every `messageId` already received within the window, earlier in
        the same request included, turned into a `duplicate`. Remembers nothing."""
        now = received.timestamp()
        horizon = now - self.dedup_window
        screened: list[Forward | Filtered] = []
        in_request: set[str] = set()
        with self._lock:
            self._forget_before(horizon)
            for verdict in verdicts:
                message_id = verdict.message_id
                if _deduplicated(verdict) and message_id is not None:
                    seen_at = self._seen.get(message_id)
                    if message_id in in_request or (seen_at is not None and seen_at > horizon):
                        verdict = Filtered(
                            message_id,
                            verdict.type,
                            "duplicate",
                            f"messageId already received within {self.dedup_window:g} s",
                        )
                    else:
                        in_request.add(message_id)
                screened.append(verdict)
        return screened

    def remember(self, verdicts: Sequence[Forward | Filtered], received: datetime) -> None:
        """Start the deduplication window of each verdict's `messageId` at `received`."""
        self.remember_ids(
            (verdict.message_id for verdict in verdicts if _deduplicated(verdict)),
            received.timestamp(),
        )

    def remember_ids(self, message_ids: Iterable[str | None], received: float) -> None:
        """Start the window of each id at `received` (wall seconds since the epoch)."""
        with self._lock:
            for message_id in message_ids:
                if message_id is not None and message_id not in self._seen:
                    self._seen[message_id] = received
                    self._seen_order.append((received, message_id))

    def _forget_before(self, horizon: float) -> None:
        order = self._seen_order
        while order and order[0][0] <= horizon:
            seen_at, old_id = order.popleft()
            if self._seen.get(old_id) == seen_at:
                del self._seen[old_id]


def _deduplicated(verdict: Forward | Filtered) -> bool:
    return isinstance(verdict, Forward) or verdict.remembered


def _stamp(
    event: dict[str, Any],
    message_id: str,
    message_type: str,
    received_at: datetime,
    batch_sent_at: Any,
) -> dict[str, Any]:
    """The message as delivered: ids and type set, times corrected, the write key removed."""
    message = {key: value for key, value in event.items() if key != "writeKey"}
    original_text = event.get("originalTimestamp", event.get("timestamp"))
    original = _parse_time(original_text)
    sent_text = event.get("sentAt", batch_sent_at if isinstance(batch_sent_at, str) else None)
    sent = _parse_time(sent_text)
    timestamp = original or received_at
    if original is not None and sent is not None:
        try:
            timestamp = received_at - (sent - original)
        except OverflowError:  # a correction past year 1 or 9999: keep the receipt time
            timestamp = received_at
    message["type"] = message_type
    message["messageId"] = message_id
    if original_text is not None:
        message["originalTimestamp"] = original_text
    if sent_text is not None:
        message["sentAt"] = sent_text
    message["receivedAt"] = format_segment_time(received_at)
    message["timestamp"] = format_segment_time(timestamp)
    return message


def _missing_required(message_type: str, event: dict[str, Any]) -> str | None:
    """What Segment requires of each type and this event lacks, in words; None if nothing."""
    if message_type == "alias":
        if not (_present(event.get("userId")) and _present(event.get("previousId"))):
            return "an alias call needs userId and previousId"
        return None
    if not (_present(event.get("userId")) or _present(event.get("anonymousId"))):
        return "an event needs a userId or an anonymousId"
    if message_type == "track" and not _present(event.get("event")):
        return "a track call needs an event name"
    if message_type == "group" and not _present(event.get("groupId")):
        return "a group call needs a groupId"
    return None


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _type_name(value: Any) -> str | None:
    return value if isinstance(value, str) else None
