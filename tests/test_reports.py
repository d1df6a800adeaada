"""The reports of a run: JSON (nat-harness-report/1), JUnit XML and the console, each agreeing
with the run's results, and each showing a failure's curl line, answer and expectation."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console
from starlette.responses import JSONResponse, Response

from harness.config import RunConfig
from harness.errors import HarnessError
from harness.reports import (
    JSON_FORMAT,
    ConsoleProgress,
    Recorder,
    RunReport,
    record,
    render_console,
    render_started,
    write_json,
    write_junit,
)
from harness.runner import load_subjects, run
from reference_impl import running_server
from scenarios.model import Scenario, Sequence
from tests.independent_destination import IndependentNat, Refusal

API_KEY = "report-key"
SEED = 21
SELECTION = ("malformed/missing-email*", "recommended/*", "alternative/*", "sequence/*")


@pytest.fixture(scope="module")
def subjects() -> list[Scenario | Sequence]:
    return list(load_subjects(SEED))


class _FailsAndWarns(IndependentNat):
    """Answers 500 for a missing email (a MUST) and error bodies without `errors` (a SHOULD)."""

    def missing_email(self) -> tuple[str, str]:
        raise Refusal(500, "server", "internal_error", "KeyError: 'email'")

    def refused(self, refusal: Refusal) -> Response:
        return JSONResponse({"message": refusal.message}, refusal.status)


@pytest.fixture(scope="module")
def failing_url() -> Iterator[str]:
    with running_server(_FailsAndWarns(API_KEY).app) as url:
        yield url


def _report(url: str, subjects: list[Any], **changes: Any) -> RunReport:
    config = RunConfig(target=url, api_key=API_KEY, seed=SEED, select=SELECTION, **changes)
    return record(run(config, subjects=subjects))


@pytest.fixture(scope="module")
def failing(failing_url: str, subjects: list[Any]) -> RunReport:
    return _report(failing_url, subjects)


@pytest.fixture(scope="module")
def no_probe(failing_url: str, subjects: list[Any]) -> RunReport:
    return _report(failing_url, subjects, probe="none", strict=True)


# -- JSON ----------------------------------------------------------------------------------------


def _json(report: RunReport, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "report.json"
    write_json(report, path)
    return orjson.loads(path.read_bytes())


def test_the_json_report_has_the_versioned_layout_and_agrees_with_the_run(
    failing: RunReport, tmp_path: Path
) -> None:
    document = _json(failing, tmp_path)
    assert document["format"] == JSON_FORMAT == "nat-harness-report/1"
    assert document["tool"]["name"] == "nat-harness"
    assert document["run"]["seed"] == SEED and document["run"]["target"].endswith("/segment")
    assert document["run"]["embedded"] is False and document["run"]["strict"] is False
    outcomes = Counter(result["outcome"] for result in document["results"])
    for outcome, count in document["summary"].items():
        if outcome in ("passed", "failed", "warned", "skipped", "error"):
            assert outcomes[outcome] == count
    assert document["summary"]["exit_code"] == 1 and document["summary"]["failed"] > 0
    per_check = Counter((r["check"], r["outcome"]) for r in document["results"])
    for check in document["checks"]:
        assert set(check) == {"id", "level", "clauses", "family", "summary", "counts"}
        assert all(per_check[(check["id"], o)] == n for o, n in check["counts"].items())


def test_a_json_failure_says_what_was_sent_received_and_expected(
    failing: RunReport, tmp_path: Path
) -> None:
    results = _json(failing, tmp_path)["results"]
    failed = [r for r in results if r["outcome"] == "failed"]
    assert {r["check"] for r in failed} == {"client_mistake_is_not_retried"}
    assert {r["subject"] for r in failed} >= {"malformed/missing-email"}
    for result in failed:
        assert (result["clause"], result["clause_title"]) == ("B.13", "Every answer is JSON")
        assert result["failure"]["sent"].startswith("curl ")
        assert result["failure"]["received"].startswith("HTTP 500")
        assert "four hours" in result["failure"]["expected"]
    assert all(r["failure"] is None for r in results if r["outcome"] in ("passed", "skipped"))


def test_json_results_follow_the_plan_order(failing: RunReport, tmp_path: Path) -> None:
    subjects = [r["subject"] for r in _json(failing, tmp_path)["results"]]
    order = {subject: index for index, subject in enumerate(failing.started.subject_ids)}
    assert subjects == sorted(subjects, key=order.__getitem__)


# -- JUnit ---------------------------------------------------------------------------------------


def _junit(report: RunReport, tmp_path: Path) -> ET.Element:
    path = tmp_path / "junit.xml"
    write_junit(report, path)
    return ET.parse(path).getroot()


def test_junit_counts_match_the_run_and_failures_carry_the_curl_line(
    failing: RunReport, tmp_path: Path
) -> None:
    root = _junit(failing, tmp_path)
    counts = failing.summary.counts
    assert root.tag == "testsuites"
    assert int(root.get("tests", "")) == len(failing.results)
    assert int(root.get("failures", "")) == counts["failed"]
    assert int(root.get("skipped", "")) == counts["skipped"]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(failing.results)
    failures = [case for case in cases if case.find("failure") is not None]
    assert len(failures) == counts["failed"]
    for case in failures:
        text = case.findtext("failure") or ""
        assert "sent:\ncurl " in text and "received:\nHTTP 500" in text
        assert "contract: B.13 (Every answer is JSON)" in text
        assert (case.find("failure").get("message") or "").startswith("CONTRACT B.13: ")  # type: ignore[union-attr]
        assert case.get("classname", "").endswith(".client_mistake_is_not_retried")
    warned = [case for case in cases if case.find("system-out") is not None]
    assert len(warned) == counts["warned"] > 0


def test_junit_under_strict_makes_warnings_failures_and_marks_skips(
    no_probe: RunReport, tmp_path: Path
) -> None:
    root = _junit(no_probe, tmp_path)
    counts = no_probe.summary.counts
    assert counts["skipped"] > 0 and counts["warned"] > 0
    assert int(root.get("failures", "")) == counts["failed"] + counts["warned"]
    skipped = root.findall("testsuite/testcase/skipped")
    assert len(skipped) == counts["skipped"]
    reasons = {element.get("message") or "" for element in skipped}
    assert "no probe: the destination's state cannot be read back" in reasons
    assert all("no probe" in reason or ", see " in reason for reason in reasons)


# -- console -------------------------------------------------------------------------------------


def _console_text(report: RunReport) -> str:
    console = Console(record=True, width=220, color_system=None)
    render_started(report.started, console)
    render_console(report, console)
    return console.export_text()


def test_the_console_shows_every_check_the_failures_in_full_and_how_to_repeat(
    failing: RunReport,
) -> None:
    text = _console_text(failing)
    for check in failing.started.checks:
        assert check.id in text
    assert (
        "FAILED client_mistake_is_not_retried (MUST, CONTRACT B.13 (Every answer is JSON)) "
        "on malformed/missing-email"
    ) in text
    assert re.search(r"  sent:\n    curl -sS -i", text)
    assert re.search(r"  received:\n    HTTP 500", text)
    assert "WARNING error_names_the_field (SHOULD, CONTRACT B.10 (Success body))" in text
    assert f"seed {SEED}" in text and f"--seed {SEED}" in text
    assert text.rstrip().splitlines()[-2].startswith("FAILED:")


def test_curl_lines_are_printed_whole_on_one_line_even_on_a_narrow_console(
    failing: RunReport,
) -> None:
    console = Console(record=True, width=60, color_system=None)
    render_console(failing, console)
    text = console.export_text()
    failure = next(result.failure for result in failing.results if result.failure is not None)
    assert failure is not None and len(failure.sent) > 60
    assert f"    {failure.sent}\n" in text  # the whole line, as the report has it


def test_the_console_lists_skip_reasons(no_probe: RunReport) -> None:
    text = _console_text(no_probe)
    assert "no read-back probe" in text
    assert "no probe: the destination's state cannot be read back" in text
    assert "strict" in text


def test_progress_consumes_events_quietly_off_a_terminal(failing_url: str, subjects: Any) -> None:
    console = Console(record=True, force_terminal=False)
    recorder = Recorder()
    config = RunConfig(target=failing_url, api_key=API_KEY, seed=SEED, select=("recommended/*",))
    with ConsoleProgress(console) as progress:
        for event in run(config, subjects=subjects):
            progress.handle(event)
            recorder.handle(event)
    assert console.export_text() == ""
    assert recorder.report().summary.exit_code == 0


def test_a_run_that_did_not_finish_has_no_report() -> None:
    with pytest.raises(HarnessError, match="did not finish"):
        Recorder().report()
