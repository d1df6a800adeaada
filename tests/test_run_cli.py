"""`nat-harness run` as a user types it: help, --list, reports, and the exit codes 0, 1 and 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from harness.cli import main
from reference_impl import Store, create_app, running_server
from tests.broken_destinations import Defect, broken_destination
from tests.conftest import sigint_as_in_a_terminal
from tests.helpers import free_port, run_nat_harness
from tests.test_preflight import HangsAfter

API_KEY = "cli-key"


def _nat_harness(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run `nat-harness <args>` in process, 120 columns wide: (exit code, stdout, stderr)."""
    return run_nat_harness(monkeypatch, capsys, *args, columns=120)


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
    text = " ".join(out.split())
    for meaning in (
        "0 every MUST check held",
        "1 a check failed, or nothing could be judged",
        "2 the target is unreachable, is not a Nat destination",
        "3 an internal error",
        "130 interrupted (Ctrl-C)",
    ):
        assert meaning in text


def test_list_prints_what_would_run_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    code, out, err = _nat_harness(
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
    lines = out.splitlines()
    assert code == 0
    assert "invalid_call_is_not_accepted[malformed/missing-email]" in lines
    assert all(line.endswith("[malformed/missing-email]") for line in lines)  # only the list
    assert " ".join(err.split()) == (
        f"{len(lines)} checks on 1 scenarios and sequences (the ids are the same for every seed)"
    )


def test_a_passing_run_exits_0_and_writes_every_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "junit").mkdir()
    report, junit = tmp_path / "report.json", tmp_path / "junit" / "junit.xml"
    page = tmp_path / "report.html"
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
        "--report-html",
        str(page),
    )
    assert code == 0
    assert "PASSED" in out and "seed 12" in out and "embedded reference destination" in out
    assert f"HTML report: {page}" in " ".join(out.split())
    html = page.read_text(encoding="utf-8")
    assert ">PASSED<" in html and "nat-harness run --seed 12" in html
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


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[str]:
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, API_KEY)) as url:
        yield url
    store.close()


@pytest.mark.parametrize(
    ("path", "key", "sentence"),
    [
        (
            "",
            "not-the-key",
            "every call was answered 401: the destination refused the key (check --api-key or "
            "NAT_API_KEY)",
        ),
        (
            "/api/segment",
            API_KEY,
            "nothing at /api/segment: every call got 404, is the path right?",
        ),
    ],
    ids=["wrong-key", "wrong-path"],
)
def test_a_target_that_cannot_be_judged_exits_2_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    reference: str,
    path: str,
    key: str,
    sentence: str,
) -> None:
    code, out, err = _nat_harness(
        monkeypatch, capsys, "run", "--target", reference + path, "--api-key", key
    )
    assert code == 2
    assert " ".join(err.split()) == f"error: {sentence}"
    assert out == ""  # no header, no table: the contract was never started


def test_a_target_that_stops_answering_exits_2_and_the_partial_report_is_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = Store(tmp_path / "hang.db")
    hanging = HangsAfter(store, count=25, api_key=API_KEY)
    report = tmp_path / "report.json"
    with running_server(hanging) as url:  # type: ignore[arg-type]
        try:
            code, out, err = _nat_harness(
                monkeypatch,
                capsys,
                "run",
                "--target",
                url,
                "--api-key",
                API_KEY,
                "--timeout",
                "0.2",
                "--report-json",
                str(report),
            )
        finally:
            hanging.release()
    store.close()
    assert code == 2, err
    assert "the target stopped answering after" in " ".join(out.split()), err
    document = orjson.loads(report.read_bytes())
    assert document["summary"]["exit_code"] == 2
    assert document["summary"]["note"].startswith("the target stopped answering after")
    assert len(document["results"]) > 0


def test_an_internal_error_exits_3_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_run(config: object) -> None:
        raise RuntimeError("the runner fell over")

    monkeypatch.setattr("harness.cli.run.run", broken_run)
    monkeypatch.delenv("NAT_HARNESS_DEBUG", raising=False)
    code, _, err = _nat_harness(monkeypatch, capsys, "run")
    assert code == 3
    assert "internal error: RuntimeError: the runner fell over" in err
    assert "Traceback" not in err


def test_ctrl_c_ends_the_run_saying_how_far_it_got_with_exit_130(tmp_path: Path) -> None:
    store = Store(tmp_path / "hang.db")
    hanging = HangsAfter(store, count=30, api_key=API_KEY)  # no end before the interrupt
    report = tmp_path / "partial.json"
    with running_server(hanging) as url:  # type: ignore[arg-type]
        try:
            command = [sys.executable, "-c", "from harness.cli import main; main()", "run"]
            args = ["--target", url, "--api-key", API_KEY, "--timeout", "30"]
            process = subprocess.Popen(
                [*command, *args, "--report-json", str(report)],
                preexec_fn=sigint_as_in_a_terminal,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "COLUMNS": "200"},
            )
            assert process.stdout is not None
            header = process.stdout.readline()  # printed once the contract starts
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
        finally:
            hanging.release()
    store.close()
    assert header.startswith("nat-harness run:")
    assert process.returncode == 130
    assert re.search(
        r"interrupted after \d+ of \d+ check results \(\d+ of \d+ scenarios and sequences\)", err
    ), err
    assert "Traceback" not in err + out and "Aborted" not in err
    document = orjson.loads(report.read_bytes())
    assert document["summary"]["exit_code"] == 130
    assert document["summary"]["note"].startswith("interrupted after")


@pytest.mark.parametrize(
    ("option", "where", "message"),
    [
        ("--report-json", "missing/report.json", "the directory {tmp}/missing does not exist"),
        ("--junit-xml", "missing/deeper/junit.xml", "the directory {tmp}/missing/deeper does not"),
        ("--report-json", ".", "is a directory"),
        ("--report-html", "missing/report.html", "the directory {tmp}/missing does not exist"),
    ],
    ids=["json-missing-directory", "junit-missing-directory", "a-directory", "html-missing"],
)
def test_a_report_path_that_cannot_be_written_exits_2_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    option: str,
    where: str,
    message: str,
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"  # a run that started would say so
    args = ["run", "--target", unreachable, "--api-key", "k", option, str(tmp_path / where)]
    code, out, err = _nat_harness(monkeypatch, capsys, *args)
    assert code == 2
    assert message.format(tmp=tmp_path) in " ".join(err.split())
    assert "cannot reach" not in err and out == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # nothing was created


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_report_in_a_read_only_directory_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = _nat_harness(
        monkeypatch, capsys, "run", "--report-json", str(locked / "report.json")
    )
    assert code == 2 and "cannot write there (permission denied)" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "http://127.0.0.1:{port}/segment", "--api-key", "k"], "cannot reach"),
        (
            ["--target", "http://127.0.0.1:{port}/segment"],
            "--api-key (or set NAT_API_KEY) is missing",
        ),
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
    port = str(free_port())
    code, out, err = _nat_harness(
        monkeypatch, capsys, "run", *(arg.replace("{port}", port) for arg in args)
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out
