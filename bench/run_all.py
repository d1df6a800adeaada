"""Run every benchmark in turn, each in its own process, and print their results.

Benchmarks time things on a shared, noisy machine: run them when it is otherwise idle and quote
ratios measured within one run. `bench_serve` and `bench_segment` need wrk (`apt-get install wrk`).

    python bench/run_all.py [NAME ...]      # e.g. python bench/run_all.py serve validate
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("generate", "validate", "run", "serve", "segment", "load", "tricks")


def main() -> int:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in chosen:
        print(f"== bench_{name}", flush=True)
        if subprocess.run([sys.executable, str(HERE / f"bench_{name}.py")]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
