"""Group commit: the events accepted in one event-loop turn are recorded in one transaction."""

from __future__ import annotations

import asyncio

from reference_impl import rules
from reference_impl.store import Receipt, Store

__all__ = ["GroupCommit"]


class GroupCommit:
    """Records the events that arrive in one event-loop turn in a single transaction.

    Every request is still answered only after its event is committed; under load, many share
    the cost of one commit instead of paying for their own. Should the shared transaction fail
    (it is rolled back whole), each event is recorded again on its own, so one event's failure
    is never another's (CONTRACT B.12).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[rules.Accepted, asyncio.Future[Receipt]]] = []

    async def record(self, event: rules.Accepted) -> Receipt:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Receipt] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._commit)
        self._pending.append((event, answer))
        return await answer

    def _commit(self) -> None:
        batch, self._pending = self._pending, []
        try:
            receipts = self._store.record_many([event for event, _ in batch])
        except Exception:  # rolled back, nothing committed: each one again alone, in order
            for event, answer in batch:
                self._record_alone(event, answer)
            return
        for (_, answer), receipt in zip(batch, receipts, strict=True):
            if not answer.done():  # the client may have gone; its event is stored all the same
                answer.set_result(receipt)

    def _record_alone(self, event: rules.Accepted, answer: asyncio.Future[Receipt]) -> None:
        try:
            receipt = self._store.record(event)
        except Exception as error:  # this event's failure, and only this one's
            if not answer.done():
                answer.set_exception(error)
            return
        if not answer.done():
            answer.set_result(receipt)
