"""Speed of `explore` against the embedded reference destination: examples and calls per second.

Runs `harness.explore.explore` (what `nat-harness explore` runs, without the console) against the
reference served on loopback with a temporary database, for a fixed budget, a few rounds, and
prints each round and the medians. Not part of `make test`: it needs a quiet machine.

    python bench/bench_explore.py [--max-examples 200] [--steps 10] [--rounds 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

from harness.explore import explore
from harness.target import Destination, ReadBack, reference_destination

API_KEY = "bench-key"


def _round(max_examples: int, steps: int, seed: int) -> tuple[int, int, float]:
    with reference_destination(API_KEY) as endpoint, Destination(endpoint, API_KEY) as target:
        base = endpoint.rsplit("/", 1)[0]
        began = time.perf_counter()
        result = explore(
            target,
            ReadBack(target, base, wait=0.0),
            max_examples=max_examples,
            steps=steps,
            seed=seed,
        )
        seconds = time.perf_counter() - began
    if result.found:
        raise SystemExit(f"explore found a divergence in the reference: {result.divergence}")
    return result.examples, result.steps_sent, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    examples_rates, calls_rates = [], []
    for number in range(1, options.rounds + 1):
        examples, calls, seconds = _round(options.max_examples, options.steps, options.seed)
        examples_rates.append(examples / seconds)
        calls_rates.append(calls / seconds)
        print(
            f"round {number}: {examples} examples, {calls} calls in {seconds:.2f} s: "
            f"{examples / seconds:.1f} examples/s, {calls / seconds:.0f} calls/s",
            flush=True,
        )
    print(
        f"explore against the embedded reference: {statistics.median(examples_rates):.1f} "
        f"examples/s, {statistics.median(calls_rates):.0f} calls/s (medians of {options.rounds})"
    )


if __name__ == "__main__":
    main()
