"""Write (or check) tests/golden/catalogue.json: what every catalogue case and sequence step gets.

The golden file is the suite's judge of the scenarios: a person reviews it against CONTRACT.md,
so the tests compare the scenarios' expectations and the reference destination's real answers
with a reviewed file, never with what the code under test recomputes. Regenerate it only after a
deliberate change of the contract or the catalogue, and review the diff (`git diff tests/golden`).

Only seed-independent facts go in: status, outcome, the field an error names, where the timeline
description comes from, the warnings; for a sequence, each step's status, outcome and replay,
whether its steps are sent at once, and the number of timeline days it leaves.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

import orjson

from scenarios import Expect, catalogue, sequences

GOLDEN = Path(__file__).resolve().parent / "catalogue.json"
#: The seed the file is made with; the tests check other seeds give the same facts.
SEED = 11

EXAMPLE = """example:
  .venv/bin/python tests/golden/make_golden.py --check   # exit 1 and a diff when out of date
  .venv/bin/python tests/golden/make_golden.py           # rewrite it, then review `git diff`
"""


def golden_answer(expect: Expect) -> dict[str, Any]:
    """The seed-independent part of one expected answer, as the golden file holds it."""
    answer: dict[str, Any] = {"status": expect.status, "outcome": expect.outcome}
    if expect.error_field is not None:
        answer["error_field"] = expect.error_field
    if expect.description_source is not None:
        answer["description_source"] = expect.description_source
    if expect.replayed:
        answer["replayed"] = True
    if expect.warning_fields:
        answer["warnings"] = list(expect.warning_fields)
    return answer


def golden_step(expect: Expect) -> dict[str, Any]:
    """One sequence step's answer as the golden file holds it: the steps' formats (so where the
    description comes from) change with the seed, their statuses and outcomes do not."""
    answer = golden_answer(expect)
    answer.pop("description_source", None)
    answer.pop("warnings", None)
    return answer


def golden_of(seed: int = SEED) -> dict[str, Any]:
    """The golden facts of the catalogue and the sequences made with `seed`."""
    cases = {scenario.id: golden_answer(scenario.expect) for scenario in catalogue(seed=seed)}
    plans = {
        sequence.id: {
            "concurrent": sequence.concurrent,
            "steps": [golden_step(step.expect) for step in sequence.steps],
            "timeline_days": len(sequence.final.timeline_days),
        }
        for sequence in sequences(seed=seed)
    }
    return {"catalogue": cases, "sequences": plans}


def render(golden: dict[str, Any]) -> str:
    """One line per case, sorted by id, so a review reads it like a table and diffs stay small."""
    lines = ["{"]
    for section_index, (section, entries) in enumerate(golden.items()):
        lines.append(f"  {orjson.dumps(section).decode()}: {{")
        for index, (name, entry) in enumerate(sorted(entries.items())):
            comma = "," if index < len(entries) - 1 else ""
            key, value = orjson.dumps(name).decode(), orjson.dumps(entry).decode()
            lines.append(f"    {key}: {value}{comma}")
        lines.append("  }" + ("," if section_index < len(golden) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    options = parser.parse_args(argv)
    text = render(golden_of())
    if not options.check:
        GOLDEN.write_text(text, encoding="utf-8")
        print(f"wrote {GOLDEN} ({text.count(chr(10))} lines): review `git diff {GOLDEN.parent}`")
        return 0
    current = GOLDEN.read_text(encoding="utf-8") if GOLDEN.exists() else ""
    if current == text:
        print(f"{GOLDEN} is up to date")
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), text.splitlines(keepends=True), "golden", "scenarios"
    )
    sys.stdout.writelines(diff)
    return 1


if __name__ == "__main__":
    sys.exit(main())
