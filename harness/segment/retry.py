"""Segment's delivery retry policy as pure functions: what an answer means, and when to try again.

Which statuses are retried is `contract.retry`; here each outcome gets Segment's error name
(`errors.retryable.503`, `errors.discarded.400`, `errors.connection.ECONNREFUSED`, ...), and
retries get randomized exponential backoff within the four-hour window. CONTRACT A.3.
"""

from __future__ import annotations

import errno
import http.client
import random
import socket
from dataclasses import dataclass
from typing import Literal

from contract.retry import RETRY_WINDOW_S, is_success, segment_retries

__all__ = ["RetryPolicy", "Verdict", "classify"]

_ERRNO_NAMES = {
    errno.ECONNREFUSED: "ECONNREFUSED",
    errno.ECONNRESET: "ECONNRESET",
    errno.ECONNABORTED: "ECONNABORTED",
    errno.EPIPE: "EPIPE",
    errno.EHOSTUNREACH: "EHOSTUNREACH",
    errno.ENETUNREACH: "ENETUNREACH",
    errno.ETIMEDOUT: "ETIMEDOUT",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after one attempt: done, try again later, or give up (with the error name)."""

    action: Literal["delivered", "retry", "drop"]
    name: str

    @property
    def delivered(self) -> bool:
        return self.action == "delivered"


def classify(outcome: int | BaseException) -> Verdict:
    """The verdict for an HTTP status or for the exception an attempt raised."""
    if isinstance(outcome, BaseException):
        return Verdict("retry", _exception_name(outcome))
    status = outcome
    if is_success(status):
        return Verdict("delivered", f"delivered.{status}")
    if segment_retries(status):
        return Verdict("retry", f"errors.retryable.{status}")
    return Verdict("drop", f"errors.discarded.{status}")


def _exception_name(error: BaseException) -> str:
    """Segment-style names for network failures: a timeout, or the connection error's code."""
    if isinstance(error, TimeoutError):  # socket.timeout is TimeoutError
        return "errors.timeout"
    if isinstance(error, http.client.RemoteDisconnected):
        return "errors.connection.ECONNRESET"
    if isinstance(error, socket.gaierror):
        return "errors.connection.ENOTFOUND"
    if isinstance(error, OSError) and error.errno in _ERRNO_NAMES:
        return f"errors.connection.{_ERRNO_NAMES[error.errno]}"
    if isinstance(error, OSError | http.client.HTTPException):
        return f"errors.connection.{type(error).__name__}"
    return f"errors.unexpected.{type(error).__name__}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Randomized exponential backoff: `first_delay` * `factor`^(n-1), ±`jitter`, at most
    `max_delay` per wait, and no attempt later than `budget` seconds after the first one."""

    first_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.5
    budget: float = RETRY_WINDOW_S

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry)."""
        base = min(self.max_delay, self.first_delay * self.factor ** (retry - 1))
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)

    def next_attempt(
        self,
        *,
        first_attempt_at: float,
        now: float,
        retry: int,
        rng: random.Random,
        retry_after: float | None = None,
    ) -> float | None:
        """Virtual second of retry number `retry`, or None when it would fall past the budget.

        A `Retry-After` answer (429, 503) is honoured as the shortest wait.
        """
        wait = self.delay(retry, rng)
        if retry_after is not None:
            wait = max(wait, retry_after)
        at = now + wait
        return at if at - first_attempt_at <= self.budget else None
