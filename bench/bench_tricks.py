"""What each fenced speed trick buys over its plain twin, as ratios measured within one run.

- the keep-alive client (`harness.segment.keepalive`): posts per CPU second, fast against plain,
  to a minimal starlette app on uvicorn in another process;
- stamped copies (`scenarios.stamping`): requests with their expectation per second, a stamped
  copy against a full build, over every stampable variant of bulk traffic;
- the table-driven RFC 3339 writing (`scenarios.iso_format`): moments written per second.

Each pair runs interleaved, `--rounds` times; the medians of the ratios are printed. The machine
is shared: quote the ratios, not the rates.

    python bench/bench_tricks.py [--rounds 5] [--only client,stamping,iso]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _servers import free_port, wait_for_port  # noqa: E402

TRICKS = ("client", "stamping", "iso")


def _client_round(url: str, posts: int) -> tuple[float, float]:
    """CPU seconds per post of the fast and of the plain client."""
    from harness.segment.keepalive import KeepAliveConnection, PlainConnection

    body = b'{"type":"identify","timestamp":"2026-05-01T10:00:00Z","traits":{"email":"a@b.co"}}'
    headers = {"Content-Type": "application/json", "User-Agent": "Segment.io/1.0"}
    costs = []
    for client in (KeepAliveConnection, PlainConnection):
        connection = client(url, headers, 5.0)
        started = time.process_time()
        for _ in range(posts):
            connection.post(body)
        costs.append((time.process_time() - started) / posts)
        connection.close()
    return costs[0], costs[1]


def measure_client(rounds: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "minimal_app:app", "--app-dir", str(HERE)),
            *("--port", str(port), "--log-level", "warning", "--no-access-log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/segment"
        _client_round(url, 200)  # warm up
        pairs = [_client_round(url, 2000) for _ in range(rounds)]
    finally:
        server.terminate()
        server.wait(10)
    return {
        "fast us of CPU per post": statistics.median(fast for fast, _ in pairs) * 1e6,
        "plain us of CPU per post": statistics.median(plain for _, plain in pairs) * 1e6,
        "plain/fast": statistics.median(plain / fast for fast, plain in pairs),
    }


def measure_stamping(rounds: int) -> dict[str, float]:
    from scenarios.expect import ExpectShape, expect_for
    from scenarios.families import VARIANTS
    from scenarios.pools import make_pools
    from scenarios.sampler import Sampler
    from scenarios.stamping import make_template, stamp

    sampler = Sampler(1, make_pools(1), scope="g")
    variants = [variant for variant in VARIANTS if variant.stampable and variant.weight]
    shapes = []
    for variant in variants:
        template = make_template(variant, sampler)
        assert template is not None, variant.id
        shapes.append((template, ExpectShape.of(stamp(template))))

    def stamped() -> None:
        for template, shape in shapes:
            shape.expect_for(stamp(template))

    def built() -> None:
        for variant in variants:
            expect_for(variant.build(sampler))

    return _timed_pair(stamped, built, rounds, repeat=200, each=len(variants), unit="requests")


def measure_iso(rounds: int) -> dict[str, float]:
    from scenarios.iso_format import DAY_MS, MomentFormatter, plain_iso

    first_day = 20_455
    formatter = MomentFormatter(first_day, 20)
    moments = [first_day * DAY_MS + step * 7_919_977 for step in range(200)]
    tables = formatter.iso

    def fast() -> None:
        for moment in moments:
            tables(moment)
            tables(moment, 120, "python", 7)

    def plain() -> None:
        for moment in moments:
            plain_iso(moment)
            plain_iso(moment, 120, "python", 7)

    return _timed_pair(fast, plain, rounds, repeat=200, each=2 * len(moments), unit="moments")


def _timed_pair(
    fast: Callable[[], None],
    plain: Callable[[], None],
    rounds: int,
    *,
    repeat: int,
    each: int,
    unit: str,
) -> dict[str, float]:
    ratios, fast_rates, plain_rates = [], [], []
    for _ in range(rounds):
        seconds = []
        for work in (fast, plain):
            started = time.perf_counter()
            for _ in range(repeat):
                work()
            seconds.append(time.perf_counter() - started)
        fast_rates.append(repeat * each / seconds[0])
        plain_rates.append(repeat * each / seconds[1])
        ratios.append(seconds[1] / seconds[0])
    return {
        f"fast {unit}/s": statistics.median(fast_rates),
        f"plain {unit}/s": statistics.median(plain_rates),
        "plain/fast": statistics.median(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="example: python bench/bench_tricks.py --rounds 3 --only client,iso",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default=",".join(TRICKS), help="comma-separated tricks")
    options = parser.parse_args()
    chosen = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in TRICKS]
    if unknown:
        parser.error(f"unknown trick {', '.join(unknown)}; choose from {', '.join(TRICKS)}")
    measures = {
        "client": measure_client,
        "stamping": measure_stamping,
        "iso": measure_iso,
    }
    for name in chosen:
        print(f"{name}: measuring {options.rounds} rounds...", flush=True)
        gc.collect()
        for label, value in measures[name](options.rounds).items():
            print(f"  {label:28} {value:12,.2f}", flush=True)


if __name__ == "__main__":
    main()
