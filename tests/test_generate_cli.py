"""`nat-harness generate`: JSON Lines of scenarios or bare payloads, reproducible by seed."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import orjson
import pytest
from rich.console import Console
from rich.progress import Progress, TaskID
from typer.testing import CliRunner

from harness.cli import app, main
from scenarios import generate

runner = CliRunner()


def _run(*args: str) -> tuple[int, bytes, str]:
    result = runner.invoke(app, ["generate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout_bytes, result.stderr


def test_each_line_is_a_scenario_with_its_expectation_and_payload() -> None:
    code, out, _ = _run("--count", "40", "--seed", "7")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 40
    records = [orjson.loads(line) for line in lines]
    expected = [scenario.to_dict() for scenario in generate(40, seed=7)]
    assert records == orjson.loads(orjson.dumps(expected))
    for record in records:
        assert set(record) == {"scenario", "expect", "payload"}
        assert re.fullmatch(r"[a-z]+/[a-z0-9-]+#\d+", record["scenario"]["id"])
        assert record["expect"]["status"] in (200, 400, 401, 413, 415, 501)


def test_the_same_seed_gives_byte_identical_output() -> None:
    assert _run("-n", "100", "--seed", "8")[1] == _run("-n", "100", "--seed", "8")[1]
    assert _run("-n", "100", "--seed", "8")[1] != _run("-n", "100", "--seed", "9")[1]


def test_without_a_seed_one_is_chosen_and_printed() -> None:
    code, out, err = _run("-n", "20")
    assert code == 0
    seed = re.search(r"seed (\d+) \(pass --seed \1", err)
    assert seed, err
    assert _run("-n", "20", "--seed", seed.group(1))[1] == out


def test_out_writes_the_same_lines_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "traffic.jsonl"
    code, out, _ = _run("-n", "50", "--seed", "3", "--out", str(target))
    assert code == 0 and out == b""
    assert target.read_bytes() == _run("-n", "50", "--seed", "3")[1]


def test_payload_only_writes_the_exact_bodies() -> None:
    code, out, _ = _run("-n", "60", "--seed", "4", "--payload-only")
    assert code == 0
    bodies = [scenario.request.body() for scenario in generate(60, seed=4)]
    assert out == b"\n".join(bodies) + b"\n"
    first = orjson.loads(out.splitlines()[0])
    assert "scenario" not in first and first["type"]


@pytest.mark.parametrize("payload_only", [False, True], ids=["records", "payload-only"])
def test_lines_across_many_writes_are_every_scenario_once_in_order(
    payload_only: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules["harness.cli.generate"], "_CHUNK", 7)
    args = ["-n", "45", "--seed", "6"] + (["--payload-only"] if payload_only else [])
    code, out, _ = _run(*args)
    assert code == 0
    made = generate(45, seed=6)
    if payload_only:
        expected = [scenario.request.body() for scenario in made]
    else:
        expected = [orjson.dumps(scenario.to_dict()) for scenario in made]
    assert out == b"\n".join(expected) + b"\n"


def test_on_a_terminal_the_progress_bar_counts_each_line_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    command = sys.modules["harness.cli.generate"]
    monkeypatch.setattr(command, "_CHUNK", 7)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100)
    monkeypatch.setattr(command, "_stderr", lambda: terminal)
    advanced: list[float] = []
    advance = Progress.advance

    def counting(self: Progress, task_id: TaskID, steps: float = 1) -> None:
        advanced.append(steps)
        advance(self, task_id, steps)

    monkeypatch.setattr(Progress, "advance", counting)
    code, out, _ = _run("-n", "45", "--seed", "6")
    assert code == 0 and len(out.splitlines()) == 45
    assert advanced == [7] * 6 + [3]


def test_mix_chooses_the_families() -> None:
    code, out, _ = _run("-n", "30", "--seed", "5", "--mix", "engage=2,edge=1")
    assert code == 0
    families = [orjson.loads(line)["scenario"]["family"] for line in out.splitlines()]
    assert sorted(set(families)) == ["edge", "engage"]
    assert families.count("engage") == 20


def test_zero_count_writes_nothing() -> None:
    assert _run("-n", "0", "--seed", "1")[:2] == (0, b"")


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["generate", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "--payload-only" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "-5"], "--count is -5"),
        (["--mix", "recommended=40,bogus=3"], "--mix: unknown family in the mix: 'bogus'"),
        (["--mix", "recommended=many"], "not a whole number"),
        (["--mix", "recommended=0"], "share of 0"),
        (["--day-timezone", "Mars/Olympus"], "unknown time zone"),
    ],
    ids=["negative-count", "unknown-family", "non-integer-share", "all-zero", "bad-zone"],
)
def test_bad_options_exit_2_with_a_clear_message(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "argv", ["nat-harness", "generate", "--seed", "1", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert message in " ".join(captured.err.split()), captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_an_unwritable_out_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-dir" / "out.jsonl"
    monkeypatch.setattr(sys, "argv", ["nat-harness", "generate", "--out", str(target)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "cannot write --out" in capsys.readouterr().err
