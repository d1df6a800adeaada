"""Wall time of the full `nat-harness run` against the reference destination (goal: under 2 s).

Each round runs the command as `make demo` does, in a fresh process: Python start-up, imports,
scenario generation, starting the embedded reference destination, every check, the reports.
It also times the same run in process, split into generating the scenarios and running the
contract, to show where the time goes. Prints each round, then median, min and max.

    python bench/bench_run.py [--rounds 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _verdict import verdict

GOAL_S = 2.0
HERE = Path(__file__).resolve().parent
NAT_HARNESS = Path(sys.executable).with_name("nat-harness")


def _command_round(seed: int) -> float:
    command = [str(NAT_HARNESS), "run", "--seed", str(seed)]
    if not NAT_HARNESS.exists():
        command = [sys.executable, "-m", "harness", "run", "--seed", str(seed)]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        sys.exit(
            f"the run failed (exit {finished.returncode}):\n{finished.stdout}\n{finished.stderr}"
        )
    return elapsed


def _in_process_round(seed: int) -> tuple[float, float, int]:
    from harness.config import RunConfig
    from harness.reports import record
    from harness.runner import load_subjects, run

    started = time.perf_counter()
    subjects = load_subjects(seed)
    generated = time.perf_counter()
    report = record(run(RunConfig(seed=seed), subjects=subjects))
    ran = time.perf_counter()
    if report.summary.exit_code != 0:
        sys.exit(f"the in-process run failed: {report.summary.counts}")
    return generated - started, ran - generated, len(report.results)


def _describe(name: str, values: list[float]) -> str:
    return (
        f"{name:<34} median {statistics.median(values):6.2f} s   "
        f"min {min(values):6.2f}   max {max(values):6.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()

    command: list[float] = []
    generating: list[float] = []
    running: list[float] = []
    results = 0
    for index in range(options.rounds):
        command.append(_command_round(options.seed + index))
        generate_s, run_s, results = _in_process_round(options.seed + index)
        generating.append(generate_s)
        running.append(run_s)
        print(
            f"round {index + 1}: command {command[-1]:.2f} s; in process: scenarios "
            f"{generate_s:.2f} s + run {run_s:.2f} s ({results} results)",
            flush=True,
        )
    print()
    print(_describe("nat-harness run (whole command)", command))
    print(_describe("  generating scenarios (in process)", generating))
    print(_describe("  running the contract (in process)", running))
    median = statistics.median(command)
    met = verdict("full run, wall", f"{median:.2f} s", f"< {GOAL_S:g} s", median < GOAL_S)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
