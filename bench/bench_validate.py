"""Throughput of `validate_lines` against `orjson.loads` of the same lines (goal: 30% of it).

Writes a million generated request bodies (the scenario generator's default mix, one JSON body
per line) to a temporary file, then in each round reads the file twice: once only parsing every
line with `orjson.loads` (the parsing floor), once computing the verdict of every line with
`harness.validate.validate_lines(..., detail="verdict")` (the library, not the CLI's rendering).
The two run back to back in one round, so the ratio holds even on a noisy machine. Then one pass
with the rules' reasons and one fully explained (what `nat-harness validate` computes) show what
the rejected lines cost.
Prints each round, then the median of each rate and of the ratio.

    python bench/bench_validate.py [--lines 1000000] [--rounds 3] [--seed 1] [--records]

`--records` writes the generator's own records (`{"scenario", "expect", "payload"}`) instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

from harness.validate import Detail

GOAL = 0.30


def _write_lines(path: Path, count: int, seed: int, records: bool) -> Counter[str]:
    """`count` generated lines in `path`; returns how many of each expected status."""
    from scenarios import generate

    statuses: Counter[str] = Counter()
    with path.open("wb") as out:
        for scenario in generate(count, seed=seed):
            if records:
                line = orjson.dumps(scenario.to_dict())
            else:
                line = scenario.request.body()
                if b"\n" in line or b"\r" in line:  # a pretty-printed raw body: not one line
                    line = orjson.dumps(scenario.request.payload)
            out.write(line + b"\n")
            statuses[str(scenario.expect.status)] += 1
    return statuses


def _parse_floor(path: Path) -> tuple[float, int]:
    loads, not_json = orjson.loads, orjson.JSONDecodeError
    count = 0
    started = time.perf_counter()
    with path.open("rb") as lines:
        for line in lines:
            try:  # noqa: SIM105 - contextlib.suppress would slow the floor down
                loads(line)
            except not_json:
                pass
            count += 1
    return time.perf_counter() - started, count


def _validate(path: Path, *, detail: Detail) -> tuple[float, int, int]:
    from harness.validate import validate_lines

    count = accepted = 0
    started = time.perf_counter()
    with path.open("rb") as lines:
        for result in validate_lines(lines, detail=detail):
            count += 1
            accepted += result.accepted
    return time.perf_counter() - started, count, accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--records", action="store_true", help="generator records, not bodies")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lines.jsonl"
        started = time.perf_counter()
        statuses = _write_lines(path, arguments.lines, arguments.seed, arguments.records)
        size = path.stat().st_size
        print(
            f"generated {arguments.lines:,} lines ({size / arguments.lines:.0f} bytes on average) "
            f"in {time.perf_counter() - started:.1f} s; expected statuses: {dict(statuses)}"
        )
        from harness.validate import validate_lines

        list(validate_lines([b'{"warm": "up"}']))  # compile the validators outside the timing

        floors, verdicts, ratios = [], [], []
        for number in range(1, arguments.rounds + 1):
            floor_s, parsed = _parse_floor(path)
            verdict_s, judged, accepted = _validate(path, detail="verdict")
            floor, verdict = parsed / floor_s, judged / verdict_s
            floors.append(floor)
            verdicts.append(verdict)
            ratios.append(verdict / floor)
            print(
                f"round {number}: orjson.loads {floor:,.0f} lines/s; validate (verdicts) "
                f"{verdict:,.0f} payloads/s = {verdict / floor:.0%} of the floor "
                f"({accepted:,} of {judged:,} accepted)"
            )
        rates = {}
        for detail in ("reasons", "full"):
            elapsed, judged, _ = _validate(path, detail=detail)
            rates[detail] = judged / elapsed

    ratio = statistics.median(ratios)
    print(
        f"median of {arguments.rounds}: orjson.loads {statistics.median(floors):,.0f}/s, "
        f"validate {statistics.median(verdicts):,.0f}/s, ratio {ratio:.0%} "
        f"(rounds {min(ratios):.0%}-{max(ratios):.0%}; goal {GOAL:.0%}: "
        f"{'met' if ratio >= GOAL else 'NOT met'})"
    )
    floor = statistics.median(floors)
    print(
        f"one pass with reasons (`validate --show none`): {rates['reasons']:,.0f}/s = "
        f"{rates['reasons'] / floor:.0%} of the floor; fully explained (`--format json`): "
        f"{rates['full']:,.0f}/s = {rates['full'] / floor:.0%}"
    )
    if ratio < GOAL:
        sys.exit(1)


if __name__ == "__main__":
    main()
