"""Which answers Segment retries and which it drops (CONTRACT A.3).

A 2xx is delivered. 408, 423, 429 and every 5xx but 501 are retried with backoff for up to four
hours, as are timeouts and connection errors; any other status is dropped at once. The checks
(`harness.checks`), the simulator's delivery (`harness.segment.retry`) and the docs' status table
all ask here.
"""

from __future__ import annotations

__all__ = [
    "NOT_RETRIED_5XX",
    "RETRYABLE_STATUSES",
    "RETRY_WINDOW",
    "RETRY_WINDOW_S",
    "is_success",
    "retry_rule_in_words",
    "segment_action",
    "segment_fate",
    "segment_retries",
]

#: How long Segment keeps retrying one event, in seconds: four hours.
RETRY_WINDOW_S = 4 * 60 * 60.0
#: The same, in words for people.
RETRY_WINDOW = "four hours"
#: Statuses below 500 that Segment retries.
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 423, 429})
#: The one 5xx Segment does not retry: "not implemented" (another type than identify).
NOT_RETRIED_5XX = 501


def is_success(status: int | None) -> bool:
    """A 2xx: Segment counts the message as delivered."""
    return status is not None and 200 <= status < 300


def segment_retries(status: int) -> bool:
    """Whether Segment retries a message answered with `status`."""
    return status in RETRYABLE_STATUSES or (500 <= status < 600 and status != NOT_RETRIED_5XX)


def segment_fate(status: int) -> str:
    """What Segment does with a message answered with `status`, in words."""
    if is_success(status):
        return f"Segment counts a {status} as delivered"
    if segment_retries(status):
        return (
            f"Segment retries a message answered {status} with backoff for up to {RETRY_WINDOW}, "
            "then drops it"
        )
    return f"Segment drops a message answered {status} without retrying"


def retry_rule_in_words() -> str:
    """The whole rule in one sentence, for pages that explain it."""
    below_500 = ", ".join(str(status) for status in sorted(RETRYABLE_STATUSES))
    return (
        f"Segment retries {below_500} and every 5xx but {NOT_RETRIED_5XX} with backoff for up "
        f"to {RETRY_WINDOW}, and drops every other status at once"
    )


def segment_action(status: int) -> str:
    """What Segment does with a message answered with `status`, in a table's few words."""
    if is_success(status):
        return "done"
    if segment_retries(status):
        return f"retried with backoff for up to {RETRY_WINDOW}"
    return "dropped"
