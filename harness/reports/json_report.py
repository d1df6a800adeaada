"""The JSON report, format `nat-harness-report/1`: one document per run, stable for tools.

Layout (keys are always present unless marked optional)::

    {
      "format": "nat-harness-report/1",
      "tool": {"name": "nat-harness", "version": "0.1.0"},
      "run": {
        "seed": 1234,                      # repeat the run with --seed 1234
        "target": "http://127.0.0.1:8765/segment",
        "embedded": false,                 # true: the reference destination the harness started
        "probe": "http://127.0.0.1:8765",  # read-back base URL, or null (--probe none)
        "isolation_tag": "h1a2b3c",        # added to emails and messageIds ("" when off)
        "strict": false,
        "started_at": "2026-11-23T08:00:00.000000Z",
        "seconds": 1.234
      },
      "summary": {"passed": 0, "failed": 0, "warned": 0, "skipped": 0, "error": 0,
                  "exit_code": 0, "strict": false, "seconds": 1.234,
                  "note": ""},             # why the exit code is what it is, when not obvious
      "checks": [                          # every check that ran, in registry order
        {"id": "client_mistake_is_not_retried", "level": "MUST", "family": "rejection",
         "clauses": ["B.13", "A.3"],       # the CONTRACT.md clauses it judges
         "summary": "...", "counts": {"passed": 10, "failed": 1, ...}}
      ],
      "results": [                         # one per (check, subject), subjects in plan order
        {"check": "client_mistake_is_not_retried", "level": "MUST", "family": "rejection",
         "clause": "B.13",                 # the clause the verdict rests on
         "clause_title": "Every answer is JSON",
         "subject": "malformed/missing-email", "outcome": "failed", "seconds": 0.004,
         "reason": "",                     # why it was skipped or crashed
         "failure": {"sent": "curl ...", "received": "HTTP 500 ...", "expected": "a 4xx ..."}
        }                                  # "failure" is null unless failed or warned
      ]
    }

`outcome` is one of passed, failed (a MUST did not hold), warned (a SHOULD did not hold),
skipped (could not be judged, e.g. no probe) and error (a check crashed). A new key may be added
within version 1; a key is renamed or removed only with `nat-harness-report/2`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import orjson

from contract.timestamps import format_precise_time
from harness.clauses import CLAUSES
from harness.reports.record import RunReport
from harness.runner import OUTCOMES, CheckResult

__all__ = ["JSON_FORMAT", "report_document", "write_json"]

JSON_FORMAT = "nat-harness-report/1"


def _tool_version() -> str:
    try:
        return version("nat-harness")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "unknown"


def report_document(report: RunReport) -> dict[str, Any]:
    """The report as a JSON-ready dict in the `nat-harness-report/1` layout."""
    started = report.started
    summary = report.summary
    return {
        "format": JSON_FORMAT,
        "tool": {"name": "nat-harness", "version": _tool_version()},
        "run": {
            "seed": started.seed,
            "target": started.target,
            "embedded": started.embedded,
            "probe": started.probe,
            "isolation_tag": started.isolation_tag,
            "strict": started.strict,
            "started_at": format_precise_time(report.started_at),
            "seconds": round(summary.seconds, 3),
        },
        "summary": summary.to_dict(),
        "checks": [
            {**check.to_dict(), "counts": _counts(report.results_of(check.id))}
            for check in started.checks
        ],
        "results": [_result(result) for result in report.results],
    }


def _counts(results: tuple[CheckResult, ...]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        counts[result.outcome] += 1
    return counts


def _result(result: CheckResult) -> dict[str, Any]:
    return {
        "check": result.check_id,
        "level": result.level,
        "family": result.family,
        "clause": result.clause,
        "clause_title": CLAUSES.get(result.clause, ""),
        "subject": result.subject_id,
        "outcome": result.outcome,
        "seconds": round(result.seconds, 4),
        "reason": result.reason,
        "failure": result.failure.to_dict() if result.failure else None,
    }


def write_json(report: RunReport, path: Path) -> None:
    """Write the report to `path`, whose directory must exist."""
    path.write_bytes(orjson.dumps(report_document(report), option=orjson.OPT_INDENT_2) + b"\n")
