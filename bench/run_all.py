"""Run every benchmark in turn, each in its own process, and print their results: each
target beside its figure with PASS or FAIL, then all of them again; exit 1 when one is missed.

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
    verdicts: list[str] = []
    for name in chosen:
        print(f"== bench_{name}", flush=True)
        with subprocess.Popen(
            [sys.executable, str(HERE / f"bench_{name}.py")], stdout=subprocess.PIPE, text=True
        ) as bench:
            assert bench.stdout is not None
            for line in bench.stdout:
                print(line, end="", flush=True)
                if line.rstrip().endswith(("PASS", "FAIL")) or "  SKIP" in line:
                    verdicts.append(f"{name:9} {line.strip()}")
        if bench.returncode != 0:
            failed.append(name)
    print("\n== every target")
    print("\n".join(verdicts) or "(no target lines)")
    if failed:
        print(f"missed or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
