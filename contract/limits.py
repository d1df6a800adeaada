"""The sizes Segment and Nat hold events to (CONTRACT A.5, A.7, B.5).

Segment's tracking API takes events of up to 32 KB and adds fields before it delivers them, so
the reference destination takes bodies of twice that. The rules, the ingest, the scenarios that
probe the edges and the docs all read the numbers here.
"""

from __future__ import annotations

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_BODY_BYTES",
    "MAX_MESSAGE_ID_LENGTH",
    "MAX_NESTING_DEPTH",
    "SEGMENT_MAX_EVENT_BYTES",
]

#: The largest body the destination takes (CONTRACT B.5); a larger one is refused unparsed (413).
#: Twice Segment's per-event limit: Segment adds fields to an event before it delivers it.
MAX_BODY_BYTES = 64 * 1024
#: The largest event Segment's tracking API takes from a client library (CONTRACT A.7).
SEGMENT_MAX_EVENT_BYTES = 32 * 1024
#: The largest batch request Segment's tracking API takes, in bytes and in events (A.7).
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2500
#: Segment's limit on `messageId` (A.5).
MAX_MESSAGE_ID_LENGTH = 100
#: The deepest nesting of objects and arrays a body may have, the body itself counting as one:
#: what the JSON serializer takes, so every accepted value can be stored and sent on again.
MAX_NESTING_DEPTH = 254
