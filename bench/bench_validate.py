"""`nat-harness validate` against `orjson.loads` of the same lines (issue 11's targets).

Writes the generator's default mix twice to temporary files, as generator records
(`{"scenario", "expect", "payload"}`, what `nat-harness generate` writes) and as bare payloads
(one body per line). Each round parses each file with `orjson.loads` in this process (the
floor), then runs the installed `nat-harness validate FILE` with default options (text, every
line shown) and stdout to a file, start-up included, and then the library's
`validate_lines(detail="verdict")` on the bare payloads. Floors and runs alternate within a round,
so the ratios hold on a noisy machine. Prints each round, the medians, and one PASS/FAIL line per
target: CLI on generator output >= 30 % of the floor, CLI on bare payloads >= 50 %.

    python bench/bench_validate.py [--lines 300000] [--rounds 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson
from _verdict import verdict

from harness.parallel import available_cpus
from harness.validate import Detail

GOAL_RECORDS = 0.30
GOAL_BARE = 0.50
NAT_HARNESS = Path(sys.executable).with_name("nat-harness")


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


def _parse_floor(path: Path) -> float:
    loads, not_json = orjson.loads, orjson.JSONDecodeError
    started = time.perf_counter()
    with path.open("rb") as lines:
        for line in lines:
            try:  # noqa: SIM105 - contextlib.suppress would slow the floor down
                loads(line)
            except not_json:
                pass
    return time.perf_counter() - started


def _cli(path: Path, out: Path) -> float:
    """Wall seconds of `nat-harness validate path > out`, process start-up included."""
    started = time.perf_counter()
    with out.open("wb") as stdout:
        subprocess.run([str(NAT_HARNESS), "validate", str(path)], stdout=stdout, check=False)
    return time.perf_counter() - started


def _library(path: Path, *, detail: Detail) -> float:
    from harness.validate import validate_lines

    started = time.perf_counter()
    with path.open("rb") as lines:
        for _ in validate_lines(lines, detail=detail):
            pass
    return time.perf_counter() - started


def _ceiling(path: Path) -> float:
    """Seconds on one CPU of what any `validate` built on these validators and rules must do:
    parse each line, one verdict for its payload, and for a rejected payload the rules' reasons
    and its failed keywords (asked as the command asks them: the accepted schema apart from its
    email places). No format, closest format, text or summary: the command on N CPUs cannot
    take less than this over N."""
    from harness.validate import _judge
    from reference_impl.rules import evaluate

    judge = _judge()
    accepted, apart = judge.accepted, judge.apart
    loads, not_json = orjson.loads, orjson.JSONDecodeError
    started = time.perf_counter()
    with path.open("rb") as lines:
        for line in lines:
            try:
                document = loads(line)
            except not_json:
                continue  # a line that is not JSON costs its parse and nothing more
            if type(document) is dict and "scenario" in document:
                document = document.get("payload")  # a raw body would cost a parse more
            if not accepted.is_valid(document):
                apart.failures(document, evaluate(document))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        records, bare, out = (Path(folder) / name for name in ("records", "bare", "out"))
        started = time.perf_counter()
        statuses = _write_lines(records, arguments.lines, arguments.seed, records=True)
        _write_lines(bare, arguments.lines, arguments.seed, records=False)
        print(
            f"generated {arguments.lines:,} records and bodies in "
            f"{time.perf_counter() - started:.1f} s; expected statuses: {dict(statuses)}"
        )
        _library(bare, detail="verdict")  # compile the validators outside the timing
        ratios: dict[str, list[float]] = {
            "records": [],
            "bare": [],
            "library": [],
            "records ceiling": [],
            "bare ceiling": [],
        }
        for number in range(1, arguments.rounds + 1):
            floor_records, cli_records = _parse_floor(records), _cli(records, out)
            floor_bare, cli_bare = _parse_floor(bare), _cli(bare, out)
            library = _library(bare, detail="verdict")
            ratios["records"].append(floor_records / cli_records)
            ratios["bare"].append(floor_bare / cli_bare)
            ratios["library"].append(floor_bare / library)
            for name, path, floor in (
                ("records", records, floor_records),
                ("bare", bare, floor_bare),
            ):
                ratios[f"{name} ceiling"].append(floor / (_ceiling(path) / available_cpus()))
            print(
                f"round {number}: records floor {floor_records:.2f} s, CLI {cli_records:.2f} s "
                f"({floor_records / cli_records:.0%}); bare floor {floor_bare:.2f} s, CLI "
                f"{cli_bare:.2f} s ({floor_bare / cli_bare:.0%}); library verdicts on bare "
                f"{library:.2f} s ({floor_bare / library:.0%})"
            )

    median = {name: statistics.median(values) for name, values in ratios.items()}
    spread = {name: f"rounds {min(v):.0%}-{max(v):.0%}" for name, v in ratios.items()}
    print(
        f"  library verdicts on bare payloads: {median['library']:.0%} of the floor "
        f"({spread['library']})"
    )
    print(
        f"  ceiling on {available_cpus()} CPUs (parse, verdict, failed keywords and reasons of "
        f"the rejected, nothing else, shared perfectly): generator output "
        f"{median['records ceiling']:.0%} ({spread['records ceiling']}), bare payloads "
        f"{median['bare ceiling']:.0%} ({spread['bare ceiling']})"
    )
    met = verdict(
        "validate CLI, generator output",
        f"{median['records']:.0%} of orjson.loads ({spread['records']})",
        f">= {GOAL_RECORDS:.0%}",
        median["records"] >= GOAL_RECORDS,
    )
    met &= verdict(
        "validate CLI, bare payloads",
        f"{median['bare']:.0%} of orjson.loads ({spread['bare']})",
        f">= {GOAL_BARE:.0%}",
        median["bare"] >= GOAL_BARE,
    )
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
