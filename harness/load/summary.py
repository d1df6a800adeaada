"""The summary a load run ends with: the tally and Locust's totals and percentiles, as JSON.

The Locust file writes it on the master when the run ends; `nat-harness load` reads it back to
print the result and choose the exit code. The launcher passes settings to every Locust process
through the environment variables named here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.load.tally import Tally

if TYPE_CHECKING:
    from locust.env import Environment

__all__ = ["PERCENTILES", "SUMMARY_VARIABLES", "read_summary", "summary_of", "write_summary"]

#: Each setting of the Locust file and the environment variable that carries it.
SUMMARY_VARIABLES = {
    "path": "NAT_LOAD_PATH",
    "seed": "NAT_LOAD_SEED",
    "mix": "NAT_LOAD_MIX",
    "sequence_share": "NAT_LOAD_SEQUENCE_SHARE",
    "user_rate": "NAT_LOAD_USER_RATE",
    "timeout": "NAT_LOAD_TIMEOUT",
    "summary": "NAT_LOAD_SUMMARY",
}
PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def summary_of(environment: Environment, tally: Tally) -> dict[str, Any]:
    """The run's summary from the master's statistics and the added-up tally."""
    total = environment.stats.total
    return {
        "format": "nat-harness-load/1",
        "tally": tally.to_dict(),
        "locust": {
            "requests": total.num_requests,
            "failures": total.num_failures,
            "requests_per_second": total.total_rps,
            "duration_s": (total.last_request_timestamp or 0) - (total.start_time or 0),
            "response_time_ms": {
                name: total.get_response_time_percentile(point)
                for name, point in PERCENTILES.items()
            },
            "by_name": {
                entry.name: entry.num_requests for entry in environment.stats.entries.values()
            },
        },
    }


def write_summary(path: str | Path, summary: dict[str, Any]) -> None:
    Path(path).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


def read_summary(path: str | Path) -> dict[str, Any] | None:
    """The summary written at `path`, or None when the run ended before writing one."""
    try:
        summary: dict[str, Any] = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return summary
