"""The one object a contract run is configured by: where the destination is and how to judge it.

The CLI parses its options into a `RunConfig`; the pytest plugin and the simulator build one
directly. Everything else (`runner.run`, the reporters) only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contract.delivery import SEGMENT_TIMEOUT_S
from contract.endpoints import require_http_url
from harness.errors import SettingError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_PROBE_WAIT_S",
    "PROBE_MODES",
    "RunConfig",
]

#: How long a read-back keeps polling for the state it expects before it reports what it saw.
DEFAULT_PROBE_WAIT_S = 2.0
#: Independent scenarios sent at once by default (each worker has its own HTTP connection).
DEFAULT_CONCURRENCY = 4

#: The read-back modes besides a URL: the reference read API next to the target
#: (`GET /contacts/{email}[/timeline]`), or none (checks that need a read-back are skipped).
PROBE_MODES = ("reference", "none")


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything one contract run needs.

    `target` is the URL Segment would POST to (a bare origin means `<origin>/segment`); None
    starts the reference destination on a free port with a temporary database. `seed` None picks
    a random seed, reported in the run's first event so the run can be repeated. `select` holds
    glob patterns matched against check ids and scenario ids (empty: everything). `timeout` is the
    latency budget: an answer slower than this fails, as Segment would have timed out.
    """

    target: str | None = None
    api_key: str | None = None
    seed: int | None = None
    select: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    strict: bool = False
    #: `reference`, `none`, or the base URL of a read API with the reference's routes.
    probe: str = "reference"
    probe_wait: float = DEFAULT_PROBE_WAIT_S
    timeout: float = SEGMENT_TIMEOUT_S
    #: Tag every email (`name+tag@domain`) and messageId with a per-run suffix, so runs never
    #: collide with each other or with data already at the target. Not needed (and not done)
    #: for the embedded reference destination, whose database is new.
    isolate: bool = True
    #: Segment's `X-Segment-Settings` content: every destination setting except the API key.
    settings: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.target is not None:
            require_http_url("target", self.target)
        if self.probe not in PROBE_MODES:
            require_http_url("probe", self.probe)
        if self.concurrency < 1:
            raise SettingError("concurrency", f"must be at least 1, got {self.concurrency}")
        if self.timeout <= 0:
            raise SettingError(
                "timeout", f"must be a positive number of seconds, got {self.timeout}"
            )
        if self.probe_wait < 0:
            raise SettingError("probe_wait", f"must be zero or more seconds, got {self.probe_wait}")
        if self.target is not None and not self.api_key:
            raise SettingError(
                "api_key",
                "is missing: a target needs the key configured in the destination's Segment "
                "settings",
            )
