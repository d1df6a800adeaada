"""Reporting a contract run: the console (progress and table), JSON, JUnit XML and HTML.

Each writer renders a `RunReport`, which a `Recorder` builds from the runner's events.
"""

from __future__ import annotations

from harness.reports.console import ConsoleProgress, render_console, render_started
from harness.reports.html import render_html, write_html
from harness.reports.json_report import JSON_FORMAT, report_document, write_json
from harness.reports.junit import junit_tree, write_junit
from harness.reports.record import Recorder, RunReport, record

__all__ = [
    "JSON_FORMAT",
    "ConsoleProgress",
    "Recorder",
    "RunReport",
    "junit_tree",
    "record",
    "render_console",
    "render_html",
    "render_started",
    "report_document",
    "write_html",
    "write_json",
    "write_junit",
]
