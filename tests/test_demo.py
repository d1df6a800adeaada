"""`nat-harness demo` shows the doc's formats accepted, bad calls refused, and one entry per day."""

from __future__ import annotations

import subprocess
import sys


def test_demo_shows_formats_rejections_and_a_deduplicated_timeline() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = {
        label: next(line for line in lines if label in line)
        for label in (
            "recommended format",
            "alternative 1",
            "alternative 2",
            "same contact, same UTC day",
            "malformed: no email",
            "other type",
        )
    }
    assert "200" in row["recommended format"] and "created" in row["recommended format"]
    assert "created" in row["alternative 1"] and "created" in row["alternative 2"]
    assert "deduplicated" in row["same contact, same UTC day"]
    assert (
        "400" in row["malformed: no email"]
        and "Missing email address" in row["malformed: no email"]
    )
    assert "501" in row["other type"]
    timeline = [line for line in lines if line.startswith("│ 2020-")]
    assert [line.split()[1] for line in timeline] == ["2020-05-31", "2020-06-01"]
