"""The destination's HTTP answers as pure functions: headers and bytes in, a status and JSON out.

The starlette app and the `responses` simulator both answer through these, so auth, the body
limit and every error body exist once; streaming, routing and injected faults stay with callers.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from contract.credentials import read_credentials
from contract.limits import MAX_BODY_BYTES
from reference_impl import rules
from reference_impl.rules import Issue, Rejected
from reference_impl.store import Contact, Store, TimelineEntry

__all__ = [
    "Answer",
    "accept_segment",
    "authorize",
    "contact_body",
    "error_answer",
    "handle_segment",
    "header_value",
    "judge_segment",
    "read_contact",
    "read_health",
    "read_stats",
    "read_timeline",
    "reset_store",
    "timeline_body",
]


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer of the destination: a status and a JSON body (always a JSON object)."""

    status: int
    body: dict[str, Any]


def error_answer(status: int, *issues: Issue) -> Answer:
    """The error body of CONTRACT B.10: `message` (the issues' messages) plus `errors`."""
    return _rejection(Rejected(status, "; ".join(issue.message for issue in issues), issues))


def _rejection(rejected: Rejected) -> Answer:
    return Answer(rejected.status, rejected.body())


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The header `name` from any mapping, compared case-insensitively as HTTP requires."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def authorize(headers: Mapping[str, str], api_key: str) -> Answer | None:
    """None when the request carries `api_key`; otherwise the 401 that says what is wrong."""
    authorization = header_value(headers, "authorization")
    if not authorization:
        return error_answer(
            401,
            Issue(
                "Authorization",
                "missing_key",
                "Missing API key: send Authorization: Basic base64(<api key> + ':')",
            ),
        )
    credentials = read_credentials(authorization)
    if credentials is None:
        return error_answer(
            401,
            Issue(
                "Authorization",
                "malformed_authorization",
                "Unreadable Authorization header: use Basic base64(<api key> + ':') "
                "or Bearer <api key>",
            ),
        )
    if not hmac.compare_digest(credentials.key.encode("utf-8"), api_key.encode("utf-8")):
        return error_answer(
            401,
            Issue("Authorization", "wrong_key", "Wrong API key: check the destination's API Key"),
        )
    return None


def judge_segment(
    body: bytes, content_type: str | None, *, day_zone: tzinfo = UTC
) -> rules.Accepted | Answer:
    """The verdict on an authorised `POST /segment` body, before anything is stored: the
    accepted event, or the error answer (413 first, as a streaming reader sees it, then 415/400
    and the rules' rejections)."""
    if len(body) > MAX_BODY_BYTES:
        return _rejection(rules.body_too_large(len(body)))
    payload = rules.parse_body(body, content_type)
    if isinstance(payload, Rejected):
        return _rejection(payload)
    verdict = rules.evaluate(payload, day_zone=day_zone)
    if isinstance(verdict, Rejected):
        return _rejection(verdict)
    return verdict


def accept_segment(
    store: Store, body: bytes, content_type: str | None, *, day_zone: tzinfo = UTC
) -> Answer:
    """Answer an authorised `POST /segment` body: the verdict, and for an accepted call what
    the store recorded."""
    verdict = judge_segment(body, content_type, day_zone=day_zone)
    if isinstance(verdict, Answer):
        return verdict
    return Answer(200, store.record(verdict).body())


def handle_segment(
    store: Store,
    api_key: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    day_zone: tzinfo = UTC,
) -> Answer:
    """The whole answer to `POST /segment` with these headers and this body."""
    return authorize(headers, api_key) or accept_segment(
        store, body, header_value(headers, "content-type"), day_zone=day_zone
    )


def _unknown_contact(contact_key: str) -> Answer:
    return error_answer(
        404,
        Issue("email", "unknown_contact", f"No contact {contact_key!r}: nothing accepted yet"),
    )


def contact_body(contact: Contact) -> dict[str, Any]:
    """The JSON of `GET /contacts/{email}` for a stored contact."""
    return {
        "contact": contact.key,
        "properties": {
            name: {"value": held.value, "set_at": held.set_at}
            for name, held in contact.properties.items()
        },
        "entries": contact.entries,
    }


def timeline_body(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    """The `entries` of `GET /contacts/{email}/timeline`: each entry as a JSON object."""
    return [entry._asdict() for entry in entries]


def read_contact(store: Store, email: str) -> Answer:
    """`GET /contacts/{email}` (already authorised): the contact's user properties, or 404."""
    contact_key = rules.contact_key_of(email)
    found = store.contact(contact_key)
    return Answer(200, contact_body(found)) if found is not None else _unknown_contact(contact_key)


def read_timeline(store: Store, email: str) -> Answer:
    """`GET /contacts/{email}/timeline` (already authorised): the contact's entries, or 404."""
    contact_key = rules.contact_key_of(email)
    entries = store.timeline(contact_key)
    if entries is None:
        return _unknown_contact(contact_key)
    return Answer(200, {"contact": contact_key, "entries": timeline_body(entries)})


def read_health() -> Answer:
    """`GET /health`, without a key: alive. The same answer every time, revealing no data, and
    never touching the store (a liveness probe may poll it often)."""
    return Answer(200, {"status": "ok"})


def read_stats(store: Store) -> Answer:
    """`GET /stats` (already authorised): how many contacts, timeline entries and processed
    messageIds the store holds, read from counters kept as it changes (no table scan)."""
    return Answer(200, store.counts())


def reset_store(store: Store) -> Answer:
    """`POST /reset` (already authorised): forget every contact, entry and messageId."""
    store.reset()
    return Answer(200, {"status": "reset"})
