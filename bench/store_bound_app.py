"""A bound for bench_serve.py: the floor's work plus only what the store must do per event.

Plain ASGI (no starlette routing, `Request` or `Response`: cheaper than the floor), no key
check, no rules (the event is built straight from the benchmark's own payload), no access log:
what is left is reading the body, recording the event through the destination's own group
commit and store (CONTRACT B.7-B.9, B.12: the entry, the properties, the first answer, one
commit per batch) and answering with the receipt. `nat-harness serve` cannot be faster than
this while each answer waits for its event to be committed, so its rate over the floor's is
the most the serve target can ask of the HTTP and rules layers.

    uvicorn store_bound_app:app  (NAT_BOUND_DB names the database file)
"""

from __future__ import annotations

import os
from datetime import datetime

import orjson
from starlette.types import Receive, Scope, Send

from reference_impl.group_commit import GroupCommit
from reference_impl.rules import Accepted
from reference_impl.store import Store

_store = Store(os.environ.get("NAT_BOUND_DB", ":memory:"))
_committer = GroupCommit(_store)
_HEADERS = [(b"content-type", b"application/json")]


def _event(payload: dict[str, object]) -> Accepted:
    """The benchmark payload's event, as the rules would make it (see bench_serve.WRK_SCRIPT)."""
    traits = payload["traits"]
    assert isinstance(traits, dict)
    occurred_at = datetime.fromisoformat(str(payload["timestamp"]))
    page = payload["page"]
    assert isinstance(page, dict)
    return Accepted(
        contact_key=str(traits["email"]).lower(),
        email_field="traits.email",
        occurred_at=occurred_at,
        day=occurred_at.date(),
        description=str(page["url"]),
        description_source="page.url",
        traits=traits,
        message_id=str(payload["messageId"]),
    )


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    receipt = await _committer.record(_event(orjson.loads(body)))
    answer = orjson.dumps(receipt.body())
    headers = [*_HEADERS, (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})
