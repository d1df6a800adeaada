"""The JUnit XML report: one testsuite per check family, one testcase per (check, subject).

CI systems read it as tests: a failed MUST is a `<failure>`, a crashed check an `<error>`, a
skipped check `<skipped>`; a SHOULD that did not hold is a `<failure>` under --strict and
otherwise passes with the warning in `<system-out>`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.clauses import CLAUSES
from harness.reports.record import RunReport
from harness.runner import CheckResult

__all__ = ["junit_tree", "write_junit"]


def junit_tree(report: RunReport) -> ET.ElementTree:
    """The report as a JUnit XML element tree."""
    strict = report.started.strict
    root = ET.Element("testsuites", name="nat-harness")
    families: dict[str, list[CheckResult]] = {}
    for result in report.results:
        families.setdefault(result.family, []).append(result)
    totals: dict[str, float] = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for family, results in families.items():
        suite = ET.SubElement(root, "testsuite", name=f"nat-harness.{family}")
        properties = ET.SubElement(suite, "properties")
        for name, setting in (
            ("seed", report.started.seed),
            ("target", report.started.target),
            ("strict", strict),
        ):
            ET.SubElement(properties, "property", name=name, value=str(setting))
        counts: dict[str, float] = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
        counts["time"] = 0.0
        for result in results:
            _testcase(suite, result, strict, counts)
        for key, value in counts.items():
            suite.set(key, f"{value:.3f}" if key == "time" else str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, f"{value:.3f}" if key == "time" else str(int(value)))
    ET.indent(root)
    return ET.ElementTree(root)


def _testcase(
    suite: ET.Element, result: CheckResult, strict: bool, counts: dict[str, float]
) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"nat-harness.{result.family}.{result.check_id}",
        name=result.subject_id,
        time=f"{result.seconds:.4f}",
    )
    counts["tests"] += 1
    counts["time"] += result.seconds
    failure = result.failure
    if result.outcome == "failed" or (result.outcome == "warned" and strict):
        assert failure is not None
        element = ET.SubElement(
            case,
            "failure",
            message=_one_line(f"CONTRACT {result.clause}: {failure.expected}"),
            type=result.level,
        )
        element.text = _failure_text(result)
        counts["failures"] += 1
    elif result.outcome == "warned":
        ET.SubElement(case, "system-out").text = "warning (SHOULD): " + _failure_text(result)
    elif result.outcome == "skipped":
        ET.SubElement(case, "skipped", message=result.reason)
        counts["skipped"] += 1
    elif result.outcome == "error":
        ET.SubElement(case, "error", message=result.reason, type="CheckError")
        counts["errors"] += 1


def _failure_text(result: CheckResult) -> str:
    failure = result.failure
    assert failure is not None
    title = CLAUSES.get(result.clause, "")
    return (
        f"{result.level} {result.check_id} on {result.subject_id}\n"
        f"contract: {result.clause} ({title})\n"
        f"expected: {failure.expected}\nsent:\n{failure.sent}\nreceived:\n{failure.received}\n"
    )


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def write_junit(report: RunReport, path: Path) -> None:
    """Write the JUnit XML report to `path`, whose directory must exist."""
    junit_tree(report).write(path, encoding="utf-8", xml_declaration=True)
