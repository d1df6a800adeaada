"""What Segment does to an event between its tracking API and a destination.

It checks the few fields Segment requires, drops a `messageId` seen within the deduplication
window, sets `receivedAt`, corrects `timestamp` for the client's clock skew
(`receivedAt - (sentAt - originalTimestamp)`), and forwards only what the destination takes:
types it supports, unless `integrations` turns it off (CONTRACT A.4-A.7).
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.segment.clock import VirtualClock, format_instant

__all__ = [
    "DAY",
    "MESSAGE_TYPES",
    "NAT_NAMES",
    "Filtered",
    "Forward",
    "Pipeline",
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


@dataclass(frozen=True, slots=True)
class Filtered:
    """An event the tracking API acknowledged but that never reaches the destination, and why."""

    message_id: str | None
    type: str | None
    reason: str
    detail: str


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
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _new_message_id() -> str:
    return f"api-{uuid.uuid4()}"


class Pipeline:
    """Segment's processing of each event, with a `messageId` window on the virtual clock."""

    def __init__(
        self,
        clock: VirtualClock,
        *,
        dedup_window: float = DAY,
        destination_names: tuple[str, ...] = NAT_NAMES,
        forwarded_types: tuple[str, ...] = ("identify",),
        new_message_id: Callable[[], str] = _new_message_id,
    ) -> None:
        self.clock = clock
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
        if not isinstance(event, dict):
            return Filtered(None, None, "invalid", "an event must be a JSON object")
        message_type = path_type or event.get("type")
        raw_id = event.get("messageId")
        if raw_id is not None and not isinstance(raw_id, str):
            return Filtered(None, _type_name(message_type), "invalid", "messageId must be a string")
        message_id = raw_id or self._new_message_id()
        if message_type not in MESSAGE_TYPES:
            return Filtered(
                message_id,
                _type_name(message_type),
                "invalid",
                f"type must be one of {', '.join(MESSAGE_TYPES)}",
            )
        problem = _missing_required(message_type, event)
        if problem is not None:
            return Filtered(message_id, message_type, "invalid", problem)

        received = self.clock.now()
        if self._seen_recently(message_id, received):
            return Filtered(
                message_id,
                message_type,
                "duplicate",
                f"messageId already received within {self.dedup_window:g} s",
            )

        message = self._stamp(event, message_id, message_type, received, sent_at)
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
        return Forward(message_id, message_type, message)

    def _seen_recently(self, message_id: str, now: float) -> bool:
        """True if `message_id` arrived within the window; otherwise remember it from `now`."""
        with self._lock:
            horizon = now - self.dedup_window
            order = self._seen_order
            while order and order[0][0] <= horizon:
                seen_at, old_id = order.popleft()
                if self._seen.get(old_id) == seen_at:
                    del self._seen[old_id]
            if message_id in self._seen:
                return True
            self._seen[message_id] = now
            order.append((now, message_id))
            return False

    def _stamp(
        self,
        event: dict[str, Any],
        message_id: str,
        message_type: str,
        received: float,
        batch_sent_at: Any,
    ) -> dict[str, Any]:
        """The message as delivered: ids and type set, times corrected, the write key removed."""
        message = {key: value for key, value in event.items() if key != "writeKey"}
        received_at = self.clock.datetime(received)
        original_text = event.get("originalTimestamp", event.get("timestamp"))
        original = _parse_time(original_text)
        sent_text = event.get("sentAt", batch_sent_at)
        sent = _parse_time(sent_text)
        if original is not None and sent is not None:
            timestamp = received_at - (sent - original)
        else:
            timestamp = original or received_at
        message["type"] = message_type
        message["messageId"] = message_id
        if original_text is not None:
            message["originalTimestamp"] = original_text
        if sent_text is not None:
            message["sentAt"] = sent_text
        message["receivedAt"] = format_instant(received_at)
        message["timestamp"] = format_instant(timestamp)
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
