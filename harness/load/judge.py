"""Whether one answer under load is what the contract expects of its scenario.

Load traffic is judged by what harms data or delivery (CONTRACT C): an accepted call refused, a
refused call accepted or answered with a status Segment retries, and a success body whose
outcome, contact, day or replay flag is not the contract's. Which final status a refused call
gets (400 or 501 for a missing type, say) is left to `nat-harness run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from contract.retry import RETRY_WINDOW, segment_retries
from scenarios.model import Expect

__all__ = ["BODY_FIELDS", "Mismatch", "MismatchKind", "judge_answer"]

#: The kinds of wrong answer a load run counts; timeouts and connection errors are Locust's own.
MismatchKind = Literal["wrong status", "wrong body"]
#: The fields of a success body every accepted call is judged on (CONTRACT B.10).
BODY_FIELDS = ("outcome", "contact", "day", "replayed")


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A wrong answer: its kind, a short summary that groups alike answers, and the detail."""

    kind: MismatchKind
    #: Few distinct values across a run (statuses, field names): Locust groups failures by it.
    summary: str
    #: Everything that was wrong, values included.
    detail: str


def judge_answer(expect: Expect, status: int, body: bytes) -> Mismatch | None:
    """None when the answer (`status`, `body`) keeps the contract for `expect`."""
    if expect.outcome == "rejected":
        if 200 <= status < 300:
            return _wrong_status(expect, status, "")
        if segment_retries(status):
            return _wrong_status(expect, status, f", which Segment retries for {RETRY_WINDOW}")
        return None
    if not 200 <= status < 300:
        return _wrong_status(expect, status, "")
    answer = _object(body)
    if answer is None:
        return Mismatch(
            "wrong body", "not a JSON object", "expected a JSON object, got " + _shown(body)
        )
    wrong = {
        name: f"{name} {answer.get(name)!r} (expected {expected!r})"
        for name, expected in _expected_fields(expect)
        if answer.get(name) != expected
    }
    if wrong:
        return Mismatch("wrong body", ", ".join(wrong) + " wrong", "; ".join(wrong.values()))
    return None


def _wrong_status(expect: Expect, status: int, why: str) -> Mismatch:
    summary = f"expected {expect.status}, got {status}"
    return Mismatch("wrong status", summary, summary + why)


def _expected_fields(expect: Expect) -> list[tuple[str, Any]]:
    fields = [
        ("outcome", expect.outcome),
        ("contact", expect.contact),
        ("day", expect.day),
        ("replayed", expect.replayed),
    ]
    return [(name, value) for name, value in fields if value is not None]


def _object(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _shown(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return repr(text + ("…" if len(body) > limit else ""))
