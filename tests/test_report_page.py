"""The HTML run report, opened from disk in a real browser: verdict, failures, filters, copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.reports import RunReport, record
from harness.reports.html import write_html
from harness.runner import run
from reference_impl import running_server
from tests.broken_destinations import Defect, broken_destination
from tests.browser import Tab
from tests.conftest import API_KEY

SEED = 3
#: Stubs the clipboard so a test can read what a copy button wrote.
_CLIPBOARD_STUB = """
window.__copied = [];
Object.defineProperty(navigator, "clipboard", {value: {writeText: function (text) {
  window.__copied.push(text); return Promise.resolve(); }}});
"""


@pytest.fixture
def failing_report(tmp_path: Path) -> Iterator[tuple[Path, RunReport]]:
    """The report page of a run against a destination that answers 500 for a missing email."""
    with running_server(broken_destination(Defect.MISSING_EMAIL_500, API_KEY)) as url:
        report = record(run(RunConfig(target=url + "/segment", api_key=API_KEY, seed=SEED)))
    page = tmp_path / "report.html"
    write_html(report, page)
    yield page, report


def test_the_report_shows_the_verdict_the_seed_and_each_failure_with_its_curl_line(
    failing_report: tuple[Path, RunReport], tab: Tab
) -> None:
    path, report = failing_report
    page = tab.page
    page.goto(path.as_uri())
    assert page.inner_text("#verdict") == "FAILED"
    assert page.inner_text("#seed") == str(SEED)
    assert f"--seed {SEED}" in page.inner_text("#repeat")
    failures = [result for result in report.results if result.outcome in ("failed", "warned")]
    cards = page.locator("article.failure")
    assert cards.count() == len(failures) > 0
    first = failures[0]
    card = cards.nth(0)
    assert first.check_id in card.inner_text() and first.subject_id in card.inner_text()
    assert first.failure is not None
    assert card.locator("pre.sent").inner_text() == first.failure.sent
    assert "HTTP 500" in card.inner_text()
    assert tab.errors == []


def test_filters_show_only_the_chosen_outcome_level_and_family(
    failing_report: tuple[Path, RunReport], tab: Tab
) -> None:
    path, report = failing_report
    page = tab.page
    page.goto(path.as_uri())
    rows = page.locator("tr.result")
    assert rows.count() == len(report.results)
    page.select_option("#filter-outcome", "failed")
    failed = sum(result.outcome == "failed" for result in report.results)
    assert page.locator("tr.result:not(.hidden)").count() == failed > 0
    assert page.locator("article.failure.hidden").count() == sum(
        result.outcome == "warned" for result in report.results
    )
    page.select_option("#filter-outcome", "")
    page.select_option("#filter-level", "SHOULD")
    visible_levels = set(page.locator("tr.result:not(.hidden) td:nth-child(4)").all_inner_texts())
    assert visible_levels == {"SHOULD"}
    page.select_option("#filter-level", "")
    page.select_option("#filter-family", "dedup")
    assert page.locator("tr.check:not(.hidden)").count() == sum(
        check.family == "dedup" for check in report.started.checks
    )
    page.select_option("#filter-family", "")
    page.fill("#filter-text", "missing-email")
    texts = page.locator("tr.result:not(.hidden) td:nth-child(3)").all_inner_texts()
    assert texts and all("missing-email" in text for text in texts)
    assert tab.errors == []


def test_a_copy_button_copies_the_whole_curl_line(
    failing_report: tuple[Path, RunReport], tab: Tab
) -> None:
    path, _ = failing_report
    page = tab.page
    page.add_init_script(_CLIPBOARD_STUB)
    page.goto(path.as_uri())
    card = page.locator("article.failure").nth(0)
    card.locator("button.copy").click()
    page.wait_for_function("window.__copied.length === 1")
    copied = page.evaluate("window.__copied[0]")
    assert copied == card.locator("pre.sent").inner_text()
    assert copied.startswith("curl ")
    assert card.locator("button.copy").inner_text() == "Copied"
