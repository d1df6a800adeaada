"""What one load process sends: a seeded stream of scenarios and each user's ordered sequences.

Each process (a Locust worker, or the one local process) draws bulk scenarios from one stream
seeded by the run's seed and the worker's index, so contacts never collide across workers and
the stream is the same on every run with that seed; its users share it, because a stream builds
its first requests of every variant in full (a few seconds of work) before it stamps copies.
Each user also gets sequences of its own, seeded by the run, the worker, the user and a batch
number, and sends their steps in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from contract.delivery import SEGMENT_HEADERS, settings_header
from harness.target import authorization_for
from scenarios import Scenario, Sequence, generate, sequences
from scenarios.pools import Pools, make_pools

__all__ = ["MAX_USERS_PER_WORKER", "MAX_WORKERS", "Traffic", "request_headers"]

#: Seeds are numbered so that two workers, or two users, can never share one.
MAX_WORKERS = 1_000
MAX_USERS_PER_WORKER = 100_000
#: Scenarios per bulk stream: endless in practice.
_ENDLESS = 10**15
_SETTINGS_HEADER = settings_header()


def request_headers(scenario: Scenario, api_key: str) -> dict[str, str]:
    """The headers Segment would send with `scenario`'s request (CONTRACT A.1)."""
    request = scenario.request
    headers = {**SEGMENT_HEADERS, "X-Segment-Settings": _SETTINGS_HEADER}
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    authorization = authorization_for(request.auth, api_key)
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


@dataclass(frozen=True, slots=True)
class _Seeds:
    """The run's seed and this process's worker index, and the seeds derived from them."""

    run: int
    worker: int

    @property
    def stream(self) -> int:
        return self.run * MAX_WORKERS + self.worker

    def user(self, user: int, batch: int) -> int:
        return (self.stream * MAX_USERS_PER_WORKER + user) * 1_000_000 + batch


class Traffic:
    """The scenarios and sequences of one load process; users draw from it in turn."""

    def __init__(
        self,
        seed: int,
        worker: int,
        mix: Mapping[str, int] | None = None,
        *,
        pools: Pools | None = None,
    ) -> None:
        if not 0 <= worker < MAX_WORKERS:
            raise ValueError(f"worker index {worker} is outside 0..{MAX_WORKERS - 1}")
        self.seeds = _Seeds(seed, worker)
        #: Faker's values for the run (`make_pools(seed)`, about a second to make: a process
        #: makes them before its workers' index is known, so before the run starts).
        self._pools: Pools = pools or make_pools(seed)
        self._stream = generate(_ENDLESS, self.seeds.stream, mix, pools=self._pools)

    def next_scenario(self) -> Scenario:
        """The next bulk scenario of this process's stream."""
        return next(self._stream)

    def sequences_of(self, user: int) -> Iterator[Sequence]:
        """User `user`'s ordered sequences, batch after batch, each on contacts of its own."""
        if not 0 <= user < MAX_USERS_PER_WORKER:
            raise ValueError(f"user number {user} is outside 0..{MAX_USERS_PER_WORKER - 1}")
        batch = 0
        while True:
            seed = self.seeds.user(user, batch)
            for sequence in sequences(seed, pools=self._pools):
                if not sequence.concurrent:
                    yield sequence
            batch += 1
