"""The group commit: events that arrive together share a transaction, never a failure."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from reference_impl import Accepted, Receipt, Store, create_app
from reference_impl.group_commit import MAX_BATCH
from tests.conftest import API_KEY
from tests.helpers import identify

POISON = "poison@example.com"


class _PoisonedStore(Store):
    """A store that cannot record the contact POISON (as a full disk or a bug would fail it),
    and notes the size of every batch it is given."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[int] = []

    def record_many(self, events: Sequence[Accepted]) -> list[Receipt]:
        self.batches.append(len(events))
        if any(event.contact_key == POISON for event in events):
            raise OSError("disk I/O error")
        return super().record_many(events)


def _scope(body: bytes) -> dict[str, Any]:
    key = base64.b64encode(f"{API_KEY}:".encode())
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/segment",
        "raw_path": b"/segment",
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8765),
        "headers": [
            (b"authorization", b"Basic " + key),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }


async def _post(app: Any, body: bytes) -> tuple[int, dict[str, Any]]:
    """One POST /segment straight into the ASGI app; its status and JSON body."""
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await app(_scope(body), receive, send)
    except OSError:  # starlette re-raises a server error once it has answered it, for the log
        assert sent, "the failure was answered before it was raised"
    return sent[0]["status"], orjson.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def _body(email: str) -> bytes:
    return orjson.dumps(identify(email, timestamp="2020-05-31T17:55:47Z"))


def test_an_event_the_store_cannot_record_fails_alone(tmp_path: Path) -> None:
    store = _PoisonedStore(tmp_path / "nat.db")
    app = create_app(store, API_KEY)
    emails = [POISON if n % 3 == 1 else f"ok-{n}@example.com" for n in range(12)]

    async def all_at_once() -> list[tuple[int, dict[str, Any]]]:
        return await asyncio.gather(*(_post(app, _body(email)) for email in emails))

    answers = asyncio.run(all_at_once())
    store.close()
    assert store.batches[0] == 12, "the requests of one turn share one transaction"
    statuses = [status for status, _ in answers]
    assert statuses == [500 if email == POISON else 200 for email in emails]
    assert all(body["outcome"] == "created" for status, body in answers if status == 200)
    assert all(body["errors"][0]["code"] == "internal_error" for s, body in answers if s == 500)


def test_events_recorded_alone_after_a_failed_batch_keep_their_order(tmp_path: Path) -> None:
    """Two calls for one contact and day in a failed batch: the first still creates the entry."""
    store = _PoisonedStore(tmp_path / "nat.db")
    app = create_app(store, API_KEY)
    bodies = [_body("same@example.com"), _body(POISON), _body("same@example.com")]

    async def all_at_once() -> list[tuple[int, dict[str, Any]]]:
        return await asyncio.gather(*(_post(app, body) for body in bodies))

    (first_status, first), (poison_status, _), (last_status, last) = asyncio.run(all_at_once())
    store.close()
    assert (first_status, poison_status, last_status) == (200, 500, 200)
    assert (first["outcome"], last["outcome"]) == ("created", "deduplicated")
    assert last["entry_id"] == first["entry_id"]


def test_events_arriving_on_consecutive_turns_share_one_commit(tmp_path: Path) -> None:
    """A batch waits while each event-loop turn brings it more, and commits at the first that
    brings none: requests a few turns apart are not committed one by one."""
    store = _PoisonedStore(tmp_path / "nat.db")
    app = create_app(store, API_KEY)

    async def one_per_turn_then_a_pause() -> None:
        posts = []
        for n in range(5):
            posts.append(asyncio.create_task(_post(app, _body(f"turn-{n}@example.com"))))
            await asyncio.sleep(0)
        answers = await asyncio.gather(*posts)
        assert [status for status, _ in answers] == [200] * 5
        await _post(app, _body("later@example.com"))

    asyncio.run(one_per_turn_then_a_pause())
    store.close()
    assert store.batches == [5, 1]


def test_a_batch_stops_waiting_at_its_size_limit(tmp_path: Path) -> None:
    """Under a steady stream the batch commits once it holds MAX_BATCH, not when the stream ends."""
    store = _PoisonedStore(tmp_path / "nat.db")
    app = create_app(store, API_KEY)
    total = MAX_BATCH + 40

    async def one_per_turn() -> None:
        posts = []
        for n in range(total):
            posts.append(asyncio.create_task(_post(app, _body(f"stream-{n}@example.com"))))
            await asyncio.sleep(0)
        await asyncio.gather(*posts)

    asyncio.run(one_per_turn())
    store.close()
    assert store.batches[0] == MAX_BATCH
    assert sum(store.batches) == total
