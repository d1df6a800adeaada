"""The statuses the reference destination answers, when, and what Segment then does.

The docs' status table is rendered from `NAT_STATUSES`; its Segment column comes from the retry
rule (`contract.retry`), so neither is restated anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.limits import MAX_BODY_BYTES, MAX_NESTING_DEPTH
from contract.retry import segment_action

__all__ = ["NAT_STATUSES", "StatusRow"]


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One line of the table: the statuses, when the destination answers them."""

    statuses: tuple[int, ...]
    when: str

    @property
    def segment(self) -> str:
        """What Segment does with such an answer (the same for every status of the row)."""
        return segment_action(self.statuses[0])


#: Every status of `POST /segment`, in the order the docs show them.
NAT_STATUSES: tuple[StatusRow, ...] = (
    StatusRow(
        (200,),
        "accepted: outcome `created` (makes the day's entry) or `deduplicated` (it existed)",
    ),
    StatusRow(
        (400,),
        "not JSON, not an object, no or bad email, timestamp, type or messageId; a value no "
        f"store can hold (nested more than {MAX_NESTING_DEPTH} levels, an integer outside "
        "-2^63..2^64-1); a request the HTTP parser refuses",
    ),
    StatusRow((401,), "the API key is missing, unreadable or wrong"),
    StatusRow((404, 405), "unknown path (`/segment/` included) or method"),
    StatusRow((413,), f"the body is over {MAX_BODY_BYTES:,} bytes"),
    StatusRow((415,), "a declared Content-Type that is not JSON"),
    StatusRow((501,), "any `type` other than identify"),
    StatusRow((500, 503), "the destination failed or is down"),
)
