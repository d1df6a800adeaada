"""The HTML run report: one self-contained file a browser opens from disk.

It renders the JSON report's document (`report_document`), so the two never disagree: the
verdict and the seed to repeat the run, each check by family with its level, clauses and counts,
every failure with what was sent (a `curl` line with a copy button), what came back and what was
expected, and filters by family, level, outcome and text.
"""

from __future__ import annotations

import shlex
from itertools import groupby
from pathlib import Path
from typing import Any

from harness.reports.json_report import report_document
from harness.reports.record import RunReport
from harness.runner import OUTCOMES
from reference_impl.pages import page_environment

__all__ = ["render_html", "write_html"]

_SHOWN_OUTCOMES = ("failed", "warned", "error")


def render_html(document: dict[str, Any]) -> str:
    """The report page of a `nat-harness-report/1` document."""
    run, summary = document["run"], document["summary"]
    outcomes = [outcome for outcome in OUTCOMES if outcome in summary]
    checks = [
        {
            **check,
            "clauses": check.get("clauses", []),
            "outcomes": [name for name in outcomes if check["counts"].get(name)],
        }
        for check in document["checks"]
    ]
    families = sorted({check["family"] for check in checks})
    by_family = [
        (family, list(members))
        for family, members in groupby(
            sorted(checks, key=lambda c: c["family"]), lambda c: c["family"]
        )
    ]
    results = [{**result, "clause": result.get("clause") or ""} for result in document["results"]]
    template = page_environment("harness.reports").get_template("report.html.j2")
    return template.render(
        run=run,
        summary=summary,
        verdict="PASSED" if summary["exit_code"] == 0 else "FAILED",
        outcomes=outcomes,
        families=families,
        levels=sorted({check["level"] for check in checks}),
        checks_by_family=by_family,
        failures=[result for result in results if result["outcome"] in _SHOWN_OUTCOMES],
        results=results,
        repeat=_repeat_command(run),
    )


def write_html(report: RunReport, path: str | Path) -> None:
    """Write the report page of `report` to `path`."""
    Path(path).write_text(render_html(report_document(report)), encoding="utf-8")


def _repeat_command(run: dict[str, Any]) -> str:
    words = ["nat-harness", "run", "--seed", str(run["seed"])]
    if not run.get("embedded"):
        words += ["--target", shlex.quote(run["target"]), "--api-key", '"$NAT_API_KEY"']
    if run.get("strict"):
        words.append("--strict")
    return " ".join(words)
