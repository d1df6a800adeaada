"""Scenarios per second of `generate` in one process (goal: at least 100,000 per second).

Each round is a fresh `generate(count, seed)` from its first scenario to its last: pools, the
fully built requests every variant starts with, then stamped copies. It also times the JSON Lines
`nat-harness generate` writes (each scenario's dict, then orjson), and the speed of
`orjson.loads` on a 430-byte identify, the floor BASELINES.md quotes, to compare noisy machines.

The floor is timed in slices between slices of each run, so a burst of other work on a shared
machine slows both alike and their ratio stays put. Prints each round, then median, min and max.

    python bench/bench_generate.py [--count 200000] [--rounds 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice

import orjson
from _verdict import verdict

from scenarios import Scenario, generate

GOAL_PER_S = 100_000
#: `orjson.loads` per second on a quiet machine (BASELINES.md), to translate ratios into rates.
QUIET_FLOOR_PER_S = 590_000
#: Scenarios per slice, and `orjson.loads` calls per floor slice after each.
_SLICE = 2_000
_FLOOR_SLICE = 8_000
#: Times `count` scenarios of a run (consumed from `scenarios`) one way.
_Work = Callable[[Iterator[Scenario], int], None]
_FLOOR_BODY = orjson.dumps(
    {
        "type": "identify",
        "messageId": "5b8f6c1e-2f1d-4c8e-9a0b-3c4d5e6f7a8b",
        "timestamp": "2020-05-31T17:55:47.263Z",
        "userId": "usr_123",
        "anonymousId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "traits": {"email": "peter@example.com", "name": "Peter Smith"},
        "page": {"url": "https://example.com/pricing/enterprise?utm_source=newsletter"},
        "context": {
            "ip": "203.0.113.9",
            "library": {"name": "analytics.js", "version": "npm:next-1.70.0"},
            "locale": "en-US",
        },
    }
)


def _objects(scenarios: Iterator[Scenario], count: int) -> None:
    for _ in islice(scenarios, count):
        pass


def _json_lines(scenarios: Iterator[Scenario], count: int) -> None:
    for scenario in islice(scenarios, count):
        scenario.to_json()


def _floor(count: int) -> None:
    loads = orjson.loads
    for _ in range(count):
        loads(_FLOOR_BODY)


def _rates(work: _Work, count: int, seed: int) -> tuple[float, float]:
    """Scenarios per second of one run, and `orjson.loads` per second timed between its slices."""
    clock = time.perf_counter
    scenarios = generate(count, seed)
    working = floor = 0.0
    slices = 0
    for done in range(0, count, _SLICE):
        started = clock()
        work(scenarios, min(_SLICE, count - done))
        between = clock()
        _floor(_FLOOR_SLICE)
        working += between - started
        floor += clock() - between
        slices += 1
    return count / working, slices * _FLOOR_SLICE / floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    _objects(generate(2_000, options.seed), 2_000)  # imports and first calls out of the rounds
    works = {"generate": _objects, "json lines": _json_lines}
    rates: dict[str, list[float]] = {name: [] for name in works}
    ratios: dict[str, list[float]] = {name: [] for name in works}
    floors: list[float] = []
    for round_number in range(1, options.rounds + 1):
        seed = options.seed + round_number  # a fresh run each round, as a user would make
        shown = []
        for name, work in works.items():
            rate, floor = _rates(work, options.count, seed)
            rates[name].append(rate)
            ratios[name].append(rate / floor)
            floors.append(floor)
            shown.append(f"{name} {rate:,.0f}/s ({rate / floor:.4f} of orjson.loads)")
        print(f"round {round_number}: " + "  ".join(shown))
    print(f"\n{options.count:,} scenarios per round, {options.rounds} rounds")
    for name in works:
        ratio = statistics.median(ratios[name])
        print(
            f"{name:>10}: median {statistics.median(rates[name]):,.0f}/s "
            f"(min {min(rates[name]):,.0f}, max {max(rates[name]):,.0f}); "
            f"{ratio:.4f} of orjson.loads ({min(ratios[name]):.4f}-{max(ratios[name]):.4f}), "
            f"about {ratio * QUIET_FLOOR_PER_S:,.0f}/s at its quiet {QUIET_FLOOR_PER_S:,}/s"
        )
    print(
        f"orjson.loads between slices: median {statistics.median(floors):,.0f}/s "
        f"(min {min(floors):,.0f}, max {max(floors):,.0f})"
    )
    median = statistics.median(rates["generate"])
    met = verdict("generate, one process", f"{median:,.0f} scenarios/s", f">= {GOAL_PER_S:,}/s",
                  median >= GOAL_PER_S)  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
