"""Accepted identify requests per second of `nat-harness serve` against a bare starlette app.

Both run on the same uvicorn (one worker, pinned to CPU 0) and are loaded by wrk (pinned to CPU 1)
in the same run at the same concurrency, with unique contacts so every request creates an entry.
Beside them runs the store bound (`store_bound_app.py`: the floor's work plus only the store's per
event), which `nat-harness serve` cannot beat while each answer waits for its commit.
Prints each server's rate, p50/p99 latency and CPU time per request, and the ratios: the CPU
ratio is steadier when other work shares the machine. Needs wrk (`apt-get install wrk`).

    python bench/bench_serve.py [--connections 32] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _servers import free_port, nat_serve, pinned_process
from _verdict import verdict

from contract.credentials import basic_authorization

API_KEY = "bench-key"
#: Accepted requests per second of `nat-harness serve` (shipped defaults) over a bare starlette
#: app's on the same uvicorn, and its p99 latency (issue #11).
GOAL = 0.60
GOAL_P99_MS = 20.0
HERE = Path(__file__).resolve().parent

WRK_SCRIPT = """
local counter = 0
local prefix = tostring(math.random(1, 1000000000))
request = function()
  counter = counter + 1
  local body = string.format(
    '{"type":"identify","timestamp":"2020-05-31T17:55:47.263Z","messageId":"m-%%s-%%d",' ..
    '"traits":{"email":"u%%s-%%d@example.com","plan":"pro"},"page":{"url":"https://example.com/p"}}',
    prefix, counter, prefix, counter)
  return wrk.format("POST", "/segment", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "%s",
  }, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%f %%f %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status))
end
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _uvicorn(app: str, port: int) -> list[str]:
    """One of the apps beside this file on uvicorn, as the floor runs: no access log."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(HERE),
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def _store_bound(port: int, db: Path) -> list[str]:
    """The floor plus the store's work per event, and nothing else: store_bound_app.py."""
    return ["env", f"NAT_BOUND_DB={db}", *_uvicorn("store_bound_app:app", port)]


def _load(port: int, connections: int, seconds: int, script: Path) -> dict[str, float]:
    output = subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/segment",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(row for row in output.splitlines() if row.startswith("RESULT"))
    requests, duration_us, p50_us, p99_us, bad_status = (float(x) for x in line.split()[1:])
    return {
        "rate": requests / (duration_us / 1e6),
        "p50_ms": p50_us / 1000,
        "p99_ms": p99_us / 1000,
        "non_2xx": bad_status,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("taskset"):
        sys.exit("bench_serve needs wrk and taskset: apt-get install wrk util-linux")
    auth = basic_authorization(API_KEY)
    results: dict[str, list[dict[str, float]]] = {
        "minimal": [],
        "bound": [],
        "nat": [],
        "nat+log": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "identify.lua"
        script.write_text(WRK_SCRIPT % auth)
        for round_number in range(options.rounds):
            for name in results:
                port = free_port()
                db = Path(scratch) / f"{name}-{round_number}.db"
                if name == "minimal":
                    command = _uvicorn("minimal_app:app", port)
                elif name == "bound":
                    command = _store_bound(port, db)
                else:
                    command = nat_serve(port, db, API_KEY, access_log=name == "nat+log")
                with pinned_process(command, 0, port) as pid:
                    cpu_before = _cpu_seconds(pid)
                    result = _load(port, options.connections, options.seconds, script)
                    requests_served = result["rate"] * options.seconds
                    result["cpu_us"] = (_cpu_seconds(pid) - cpu_before) / requests_served * 1e6
                    results[name].append(result)
    print(
        f"{options.connections} connections, {options.seconds}s x {options.rounds} rounds "
        "(medians; server on CPU 0, wrk on CPU 1)"
    )
    medians = {}
    for name, rounds in results.items():
        medians[name] = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        m = medians[name]
        print(
            f"  {name:8} {m['rate']:8.0f} req/s   p50 {m['p50_ms']:6.2f} ms   "
            f"p99 {m['p99_ms']:6.2f} ms   server CPU {m['cpu_us']:5.0f} us/req   "
            f"non-2xx {m['non_2xx']:.0f}   "
            "rounds: " + ", ".join(f"{r['rate']:.0f}" for r in rounds)
        )
    for name in ("bound", "nat", "nat+log"):
        ratio = medians[name]["rate"] / medians["minimal"]["rate"]
        cost = medians["minimal"]["cpu_us"] / medians[name]["cpu_us"]
        print(f"  {name} / minimal = {ratio:.0%} of the rate, {cost:.0%} by server CPU per request")
    shipped = medians["nat+log"]  # the shipped defaults: one worker, access log on
    ratio = shipped["rate"] / medians["minimal"]["rate"]
    met = [
        verdict("serve (shipped defaults) / bare starlette", f"{ratio:.0%}", f">= {GOAL:.0%}",
                ratio >= GOAL),
        verdict("serve p99", f"{shipped['p99_ms']:.1f} ms", f"< {GOAL_P99_MS:g} ms",
                shipped["p99_ms"] < GOAL_P99_MS),
    ]  # fmt: skip
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
