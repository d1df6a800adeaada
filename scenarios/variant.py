"""A variant: one named way to build a request, the unit of the catalogue and of bulk traffic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scenarios.model import Request
from scenarios.sampler import Sampler

__all__ = ["Build", "Variant"]

#: Makes one request from the run's sampler (a fresh contact each time).
Build = Callable[[Sampler], Request]


@dataclass(frozen=True, slots=True)
class Variant:
    """A readable id (`family/name`), what it shows, how to build it and how common it is."""

    id: str
    summary: str
    build: Build
    #: Relative frequency within its family in bulk traffic; 0 keeps it to the catalogue.
    weight: int = 1
    #: Whether bulk traffic may copy built requests with new ids (`scenarios.stamping`); False
    #: for requests whose exact size or id length is the point (the 64 KB limit, ...).
    stampable: bool = True

    @property
    def family(self) -> str:
        return self.id.partition("/")[0]
