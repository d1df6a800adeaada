"""What the tracking API and its page need of the simulator behind them, as a protocol, so that
they do not import the simulator (which imports them to serve itself)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from harness.segment.journal import Journal
from harness.segment.pipeline import Filtered, Forward

__all__ = ["TrackedSimulator"]


class _WriteKeyed(Protocol):
    @property
    def write_key(self) -> str | None: ...


class TrackedSimulator(Protocol):
    """The simulator as the tracking API sees it: its write key, journal, intake and status."""

    @property
    def config(self) -> _WriteKeyed: ...

    @property
    def journal(self) -> Journal: ...

    def accept(
        self, events: Iterable[Any], *, sent_at: Any = None, path_type: str | None = None
    ) -> list[Forward | Filtered]: ...

    def status(self) -> dict[str, Any]: ...
