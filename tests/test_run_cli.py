"""`nat-harness run` as a user types it: help, --list, reports, and the exit codes 0, 1 and 2."""

from __future__ import annotations

import socket
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from harness.cli import main
from reference_impl import running_server
from tests.broken_destinations import Defect, broken_destination

API_KEY = "cli-key"


def _nat_harness(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run `nat-harness <args>` in process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["nat-harness", *args])
    monkeypatch.delenv("NAT_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


@pytest.fixture
def missing_email_500() -> Iterator[str]:
    with running_server(broken_destination(Defect.MISSING_EMAIL_500, API_KEY)) as url:
        yield url + "/segment"


def test_help_shows_an_example_and_the_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _nat_harness(monkeypatch, capsys, "run", "--help")
    assert code == 0
    assert "Example:" in out and "nat-harness run --target" in out
    assert "--select" in out and "--report-json" in out and "--strict" in out


def test_list_prints_what_would_run_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unreachable = f"http://127.0.0.1:{_free_port()}"
    code, out, _ = _nat_harness(
        monkeypatch,
        capsys,
        "run",
        "--list",
        "--target",
        unreachable,
        "--api-key",
        "k",
        "--seed",
        "3",
        "--select",
        "malformed/missing-email",
    )
    lines = out.strip().splitlines()
    assert code == 0
    assert "invalid_call_is_not_accepted[malformed/missing-email]" in lines
    assert all(line.endswith("[malformed/missing-email]") for line in lines[:-1])
    assert lines[-1] == f"{len(lines) - 1} checks on 1 scenarios and sequences (seed 3)"


def test_a_passing_run_exits_0_and_writes_both_reports(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit" / "junit.xml"
    code, out, _ = _nat_harness(
        monkeypatch,
        capsys,
        "run",
        "--seed",
        "12",
        "--select",
        "recommended/*",
        "--select",
        "sequence/*",
        "--report-json",
        str(report),
        "--junit-xml",
        str(junit),
    )
    assert code == 0
    assert "PASSED" in out and "seed 12" in out and "embedded reference destination" in out
    document = orjson.loads(report.read_bytes())
    assert document["format"] == "nat-harness-report/1" and document["summary"]["exit_code"] == 0
    assert document["summary"]["passed"] == len(document["results"]) > 0
    root = ET.parse(junit).getroot()
    assert int(root.get("tests", "0")) == len(document["results"])
    assert root.get("failures") == "0"


def test_a_failing_target_exits_1_and_names_the_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing_email_500: str
) -> None:
    code, out, _ = _nat_harness(
        monkeypatch,
        capsys,
        "run",
        "--target",
        missing_email_500,
        "--api-key",
        API_KEY,
        "--select",
        "malformed/missing-email*",
    )
    assert code == 1
    assert (
        "FAILED client_mistake_is_not_retried (MUST, CONTRACT B.13 (Every answer is JSON)) on "
        "malformed/missing-email"
    ) in out
    assert "four hours" in out and "curl -sS -i" in out and "HTTP 500" in out


def test_the_api_key_can_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing_email_500: str
) -> None:
    monkeypatch.setattr(
        sys,
        "argv",
        ["nat-harness", "run", "--target", missing_email_500, "--select", "recommended/*"],
    )
    monkeypatch.setenv("NAT_API_KEY", API_KEY)
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    assert "PASSED" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "http://127.0.0.1:{port}/segment", "--api-key", "k"], "cannot reach"),
        (["--target", "http://127.0.0.1:{port}/segment"], "no API key for the target"),
        (["--target", "nat.example/segment", "--api-key", "k"], "is not an http(s) URL"),
        (["--probe", "sometimes"], "--probe 'sometimes' is not an http(s) URL"),
        (["--select", "no-such-check"], "matches no check or scenario"),
        (["--timeout", "0"], "--timeout must be a positive number"),
        (["--concurrency", "0"], "Invalid value for '--concurrency'"),
    ],
    ids=[
        "unreachable",
        "no-key",
        "target-not-url",
        "bad-probe",
        "empty-selection",
        "zero-timeout",
        "zero-workers",
    ],
)
def test_an_unreachable_target_or_wrong_arguments_exit_2_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    port = str(_free_port())
    code, out, err = _nat_harness(
        monkeypatch, capsys, "run", *(arg.replace("{port}", port) for arg in args)
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out
