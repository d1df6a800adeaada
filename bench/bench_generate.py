"""Scenarios per second of `generate` in one process (goal: at least 50,000 per second).

Each round is a fresh `generate(count, seed)` from its first scenario to its last: pools, the
fully built requests every variant starts with, then stamped copies. It also times the JSON Lines
`nat-harness generate` writes (each scenario's dict, then orjson), and the speed of
`orjson.loads` on a 430-byte identify, the floor BASELINES.md quotes, to compare noisy machines.
Prints each round, then median, min and max.

    python bench/bench_generate.py [--count 200000] [--rounds 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import orjson

from scenarios import generate

GOAL_PER_S = 50_000
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


def _objects(count: int, seed: int) -> None:
    for _ in generate(count, seed):
        pass


def _json_lines(count: int, seed: int) -> None:
    dumps = orjson.dumps
    for scenario in generate(count, seed):
        dumps(scenario.to_dict())


def _floor(count: int, seed: int) -> None:
    loads = orjson.loads
    for _ in range(count):
        loads(_FLOOR_BODY)


def _rate(work: Callable[[int, int], None], count: int, seed: int) -> float:
    started = time.perf_counter()
    work(count, seed)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    _objects(2_000, options.seed)  # imports and first-call costs out of the rounds
    rates: dict[str, list[float]] = {"generate": [], "json lines": [], "orjson.loads": []}
    for round_number in range(1, options.rounds + 1):
        seed = options.seed + round_number  # a fresh run each round, as a user would make
        rates["generate"].append(_rate(_objects, options.count, seed))
        rates["json lines"].append(_rate(_json_lines, options.count, seed))
        rates["orjson.loads"].append(_rate(_floor, options.count, seed))
        print(
            f"round {round_number}: "
            + "  ".join(f"{name} {values[-1]:,.0f}/s" for name, values in rates.items())
        )
    print(f"\n{options.count:,} scenarios per round, {options.rounds} rounds")
    for name, values in rates.items():
        print(
            f"{name:>13}: median {statistics.median(values):,.0f}/s "
            f"(min {min(values):,.0f}, max {max(values):,.0f})"
        )
    median = statistics.median(rates["generate"])
    floor = statistics.median(rates["orjson.loads"])
    print(
        f"generate is {median / floor:.3f} of the orjson.loads floor "
        f"(BASELINES.md: the floor is 590k/s on a quiet machine, so about "
        f"{median / floor * 590_000:,.0f}/s there)"
    )
    verdict = "meets" if median >= GOAL_PER_S else "misses"
    print(f"goal {GOAL_PER_S:,}/s: the median {verdict} it")


if __name__ == "__main__":
    main()
