"""Accepted calls per second through `nat-harness load` against wrk, on the same server.

`nat-harness serve` (one worker, pinned to CPU 0, fresh database each time) is loaded in turn by
wrk and by `nat-harness load` with one and with two Locust processes (pinned to CPU 1, where the
load tools run), at the same concurrency, with only documented, accepted calls. Needs wrk.

    python bench/bench_load.py [--users 32] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _servers import free_port, nat_serve, pinned_process
from bench_serve import WRK_SCRIPT, _load

from contract.credentials import basic_authorization

API_KEY = "bench-key"


def _through_load(port: int, users: int, seconds: int, processes: int, scratch: Path) -> float:
    summary = scratch / f"load-{port}.json"
    command = [
        "taskset", "-c", "1", sys.executable, "-m", "harness", "load", "--headless",
        "--target", f"http://127.0.0.1:{port}/segment", "--users", str(users),
        "--run-time", f"{seconds}s", "--mix", "recommended=1", "--sequences", "0",
        "--processes", str(processes), "--seed", "1", "--summary-json", str(summary),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        env={**os.environ, "NAT_API_KEY": API_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"nat-harness load exited {done.returncode}")
    locust = json.loads(summary.read_text())["locust"]
    return float(locust["requests"]) / float(locust["duration_s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("taskset"):
        sys.exit("bench_load needs wrk and taskset: apt-get install wrk util-linux")
    auth = basic_authorization(API_KEY)
    rates: dict[str, list[float]] = {"wrk": [], "load x1": [], "load x2": []}
    with tempfile.TemporaryDirectory() as directory:
        scratch = Path(directory)
        script = scratch / "identify.lua"
        script.write_text(WRK_SCRIPT % auth)
        for round_number in range(options.rounds):
            for name in rates:
                port = free_port()
                db = scratch / f"{name.replace(' ', '')}-{round_number}.db"
                with pinned_process(nat_serve(port, db, API_KEY), 0, port):
                    if name == "wrk":
                        rate = _load(port, options.users, options.seconds, script)["rate"]
                    else:
                        processes = int(name[-1])
                        rate = _through_load(
                            port, options.users, options.seconds, processes, scratch
                        )
                    rates[name].append(rate)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"{options.users} connections/users, {options.seconds}s x {options.rounds} rounds "
          "(medians; server on CPU 0, load tools on CPU 1)")  # fmt: skip
    for name, values in rates.items():
        shown = ", ".join(f"{value:.0f}" for value in values)
        print(f"  {name:8} {medians[name]:8.0f} accepted calls/s   rounds: {shown}")
    one = medians["load x1"] / medians["wrk"]
    verdict_one = "PASS" if one >= 0.5 else "FAIL"
    verdict_two = "PASS" if medians["load x2"] > medians["load x1"] else "FAIL"
    print(f"  load x1 / wrk = {one:.0%} (target >= 50%): {verdict_one}")
    print(
        f"  load x2 > load x1: {medians['load x2']:.0f} vs {medians['load x1']:.0f}: {verdict_two}"
    )
    return 0 if verdict_one == verdict_two == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
