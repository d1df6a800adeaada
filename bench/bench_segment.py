"""Identify events per second through the Segment simulator, against the destination's own rate.

Each round starts the reference destination (`nat-harness serve`, one worker, no access log, a
fresh database, pinned to CPU 0) and measures:

- direct: wrk posts unique identify calls straight to `POST /segment` (Segment's headers);
- simulated: `nat-harness simulate segment --destination ...` runs on CPU 1 with delivery
  concurrency 32, and wrk (also on CPU 1, 32 connections) posts the same calls to the tracking API
  (`/v1/identify`, or `/v1/batch` with `--batch N`); the rate counts from the first post to the
  moment the simulator has delivered every accepted event (acknowledged 200 by the destination).

Target: simulated >= 50% of direct in the same round. Prints each round, then medians.
Needs wrk (`apt-get install wrk`) and taskset.

    python bench/bench_segment.py [--seconds 10] [--rounds 3] [--batch 1] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _servers import free_port, nat_serve, pinned_process

from contract.credentials import basic_authorization

API_KEY = "bench-key"
GOAL = 0.5

# A unique contact and messageId per event, so every call creates a timeline entry.
WRK_SCRIPT = """
local counter = 0
local prefix = tostring(math.random(1, 1000000000))
local batch = %(batch)d
local function event()
  counter = counter + 1
  return string.format(
    '{"type":"identify","userId":"u-%%s-%%d","timestamp":"2020-05-31T17:55:47.263Z",' ..
    '"messageId":"m-%%s-%%d","traits":{"email":"u%%s-%%d@example.com","plan":"pro"},' ..
    '"context":{"page":{"url":"https://example.com/pricing"}}}',
    prefix, counter, prefix, counter, prefix, counter)
end
request = function()
  local body
  if batch > 1 then
    local events = {}
    for i = 1, batch do events[i] = event() end
    body = '{"batch":[' .. table.concat(events, ",") .. '],"writeKey":"bench"}'
  else
    body = event()
  end
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "%(auth)s",
    ["User-Agent"] = "Segment.io/1.0",
  }, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d\\n", summary.requests, summary.duration,
    summary.errors.status))
end
"""


def _destination(port: int, db: Path) -> list[str]:
    return nat_serve(port, db, API_KEY)


def _simulator(port: int, destination_port: int) -> list[str]:
    return [
        sys.executable, "-m", "harness", "simulate", "segment",
        "--destination", f"http://127.0.0.1:{destination_port}/segment", "--api-key", API_KEY,
        "--port", str(port), "--concurrency", "32", "--journal-size", "1000",
    ]  # fmt: skip


def _wrk(url: str, connections: int, seconds: int, script: Path) -> tuple[int, float, int]:
    """(requests, seconds, non-2xx) of one wrk run from CPU 1."""
    output = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
         str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(row for row in output.splitlines() if row.startswith("RESULT"))
    count, duration_us, bad = (int(x) for x in line.split()[1:])
    return count, duration_us / 1e6, bad


def _status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as answer:
        return json.load(answer)


def _direct(scratch: Path, connections: int, seconds: int) -> float:
    port = free_port()
    script = scratch / "direct.lua"
    script.write_text(
        WRK_SCRIPT % {"batch": 1, "path": "/segment", "auth": basic_authorization(API_KEY)}
    )
    with pinned_process(_destination(port, scratch / f"direct-{port}.db"), 0, port):
        count, elapsed, bad = _wrk(f"http://127.0.0.1:{port}", connections, seconds, script)
    if bad:
        raise RuntimeError(f"{bad} direct requests were not 2xx")
    return count / elapsed


def _simulated(
    scratch: Path, connections: int, seconds: int, batch: int
) -> tuple[float, float, float]:
    """(end-to-end events/s, ingest events/s, seconds spent draining after the load)."""
    destination_port, port = free_port(), free_port()
    script = scratch / f"simulated-{batch}.lua"
    path = "/v1/batch" if batch > 1 else "/v1/identify"
    script.write_text(
        WRK_SCRIPT % {"batch": batch, "path": path, "auth": basic_authorization("bench")}
    )
    db = scratch / f"simulated-{destination_port}.db"
    with (
        pinned_process(_destination(destination_port, db), 0, destination_port),
        pinned_process(_simulator(port, destination_port), 1, port),
    ):
        started = time.monotonic()
        count, elapsed, bad = _wrk(f"http://127.0.0.1:{port}", connections, seconds, script)
        load_ended = time.monotonic()
        if bad:
            raise RuntimeError(f"{bad} tracking API requests were not 2xx")
        deadline = load_ended + 600
        while (status := _status(port))["outstanding"] and time.monotonic() < deadline:
            time.sleep(0.05)
        drained = time.monotonic()
    counts = status["counts"]
    # wrk counts the requests it saw answered; the few still in flight when it stopped were
    # accepted too, so compare deliveries with the simulator's own count of accepted events.
    accepted = counts["accepted"]
    if status["outstanding"] or counts["delivered"] != accepted or accepted < count * batch:
        raise RuntimeError(f"not every event was delivered exactly once: {status}")
    return counts["delivered"] / (drained - started), accepted / elapsed, drained - load_ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1, help="events per tracking API request")
    options = parser.parse_args()
    if not shutil.which("wrk") or not shutil.which("taskset"):
        sys.exit("bench_segment needs wrk and taskset: apt-get install wrk util-linux")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for number in range(1, options.rounds + 1):
            direct = _direct(scratch, options.connections, options.seconds)
            end_to_end, ingest, drain = _simulated(
                scratch, options.connections, options.seconds, options.batch
            )
            rows.append((direct, end_to_end, ingest, drain))
            print(
                f"round {number}: direct {direct:7.0f}/s   simulated {end_to_end:7.0f}/s "
                f"({end_to_end / direct:4.0%})   ingest {ingest:7.0f}/s   drain {drain:4.1f} s",
                flush=True,
            )
    direct, end_to_end, ingest, _ = (
        statistics.median(column) for column in zip(*rows, strict=True)
    )
    ratios = [row[1] / row[0] for row in rows]
    print(
        f"median: direct {direct:.0f}/s, through the simulator {end_to_end:.0f}/s "
        f"({statistics.median(ratios):.0%}, rounds {min(ratios):.0%}-{max(ratios):.0%}; "
        f"target >= {GOAL:.0%}); tracking API ingest {ingest:.0f} events/s; "
        f"{options.connections} connections, batch {options.batch}, {options.seconds}s x "
        f"{options.rounds} rounds"
    )


if __name__ == "__main__":
    main()
