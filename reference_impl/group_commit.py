"""Group commit: the events that arrive while a batch is forming are recorded in one transaction."""

from __future__ import annotations

import asyncio

from reference_impl import rules
from reference_impl.store import Receipt, Store

__all__ = ["MAX_BATCH", "GroupCommit"]

#: A batch stops waiting for more events once it holds this many (it then commits at once).
MAX_BATCH = 256


class GroupCommit:
    """Records the events that arrive close together in a single transaction.

    A batch commits at the first event-loop turn that brings it no new event (or once it holds
    `MAX_BATCH`), so requests that arrive a few turns apart share one commit, as PostgreSQL's
    `commit_delay` lets them, without waiting on a clock. Every request is still answered only
    after its event is committed. Should the shared transaction fail (it is rolled back whole),
    each event is recorded again on its own, so one event's failure is never another's
    (CONTRACT B.12).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[rules.Accepted, asyncio.Future[Receipt]]] = []

    async def record(self, event: rules.Accepted) -> Receipt:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Receipt] = loop.create_future()
        if not self._pending:  # a new batch: look again after a whole turn
            loop.call_soon(self._commit_when_settled, 0)
        self._pending.append((event, answer))
        return await answer

    def _commit_when_settled(self, seen: int) -> None:
        """Commit now, unless the batch grew past `seen` events in the turn since the last look."""
        waiting = len(self._pending)
        if seen < waiting < MAX_BATCH:
            asyncio.get_running_loop().call_soon(self._commit_when_settled, waiting)
        else:
            self._commit()

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
