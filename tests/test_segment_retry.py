"""Segment's retry policy: which answers are retried, which dropped, and for how long."""

from __future__ import annotations

import errno
import http.client
import random
import socket

import pytest

from contract.retry import RETRY_WINDOW_S
from harness.segment.retry import RetryPolicy, classify


@pytest.mark.parametrize("status", [200, 201, 202, 204], ids=lambda status: f"status-{status}")
def test_2xx_is_delivered(status: int) -> None:
    assert classify(status).action == "delivered"


@pytest.mark.parametrize(
    "status", [408, 423, 429, 500, 502, 503, 504, 599], ids=lambda status: f"status-{status}"
)
def test_retryable_statuses_are_retried(status: int) -> None:
    verdict = classify(status)
    assert (verdict.action, verdict.name) == ("retry", f"errors.retryable.{status}")


@pytest.mark.parametrize(
    "status", [400, 401, 403, 404, 409, 413, 415, 422, 501, 301], ids=lambda s: f"status-{s}"
)
def test_other_statuses_are_dropped_with_segments_error_name(status: int) -> None:
    verdict = classify(status)
    assert (verdict.action, verdict.name) == ("drop", f"errors.discarded.{status}")


@pytest.mark.parametrize(
    ("error", "name"),
    [
        (TimeoutError("timed out"), "errors.timeout"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "errors.connection.ECONNREFUSED"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "errors.connection.ECONNRESET"),
        (http.client.RemoteDisconnected("closed"), "errors.connection.ECONNRESET"),
        (socket.gaierror(-2, "Name or service not known"), "errors.connection.ENOTFOUND"),
        (http.client.BadStatusLine("x"), "errors.connection.BadStatusLine"),
    ],
    ids=["timeout", "refused", "reset", "disconnected", "dns", "bad-status"],
)
def test_network_failures_are_retried(error: BaseException, name: str) -> None:
    verdict = classify(error)
    assert (verdict.action, verdict.name) == ("retry", name)


def test_backoff_grows_exponentially_within_its_jitter() -> None:
    policy = RetryPolicy(first_delay=1.0, factor=2.0, max_delay=3600.0, jitter=0.5)
    rng = random.Random(7)
    for retry in range(1, 16):
        base = min(3600.0, 2.0 ** (retry - 1))
        assert 0.5 * base <= policy.delay(retry, rng) <= 1.5 * base


def test_backoff_is_randomized() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    assert len({round(policy.delay(3, rng), 6) for _ in range(20)}) > 10


def test_retries_stop_after_four_hours() -> None:
    """Following the policy from a first attempt at 0, the last attempt is within 4 h."""
    policy = RetryPolicy()
    rng = random.Random(3)
    now, retry, attempts = 0.0, 1, [0.0]
    while True:
        at = policy.next_attempt(first_attempt_at=0.0, now=now, retry=retry, rng=rng)
        if at is None:
            break
        attempts.append(at)
        now, retry = at, retry + 1
    assert attempts[-1] <= RETRY_WINDOW_S
    assert attempts[-1] > RETRY_WINDOW_S / 4, "gave up long before four hours"
    assert 8 <= len(attempts) <= 30


def test_retry_after_is_honoured_as_the_shortest_wait() -> None:
    policy = RetryPolicy()
    at = policy.next_attempt(
        first_attempt_at=0.0, now=10.0, retry=1, rng=random.Random(0), retry_after=120.0
    )
    assert at == pytest.approx(130.0)
