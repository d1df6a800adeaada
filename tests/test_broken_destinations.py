"""The harness catches a wrong implementation: each destination with one defect fails the full
run with the check that names the defect, while the reference destination and the defect-free
control pass every check."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from harness.config import RunConfig
from harness.reports import RunReport, record
from harness.runner import load_subjects, run
from reference_impl import Store, create_app, running_server
from tests.broken_destinations import Defect, broken_destination

API_KEY = "broken-key"
SEED = 7
#: Short waits keep the suite fast: the slow defect answers its first call after twice the
#: latency budget its run is given, and failing read-backs stop polling quickly.
SLOW_LATENCY_BUDGET_S = 0.3
SLOW_ANSWER_S = 0.6
PROBE_WAIT_S = 0.3

#: Each defect, the check that must fail, and the subjects (globs) it must fail on.
CAUGHT_BY: dict[Defect, tuple[str, str]] = {
    Defect.ACCEPTS_EVERYTHING: ("invalid_call_is_not_accepted", "malformed/*"),
    Defect.MISSING_EMAIL_500: ("client_mistake_is_not_retried", "malformed/missing-email"),
    Defect.NO_DEDUPLICATION: ("one_entry_per_contact_per_day", "sequence/*"),
    Defect.LOCAL_DAY: ("one_entry_per_contact_per_day", "sequence/*"),
    Defect.CASE_SENSITIVE_EMAIL: ("accepted_call_is_stored", "edge/email-case-and-space"),
    Defect.CHECK_THEN_INSERT_RACE: ("concurrent_duplicates_make_one_entry", "sequence/*"),
    Defect.ALTERNATIVE_FORMATS_REJECTED: ("accepted_call_is_answered_2xx", "alternative/*"),
    Defect.AUTH_NOT_CHECKED: ("unauthenticated_call_is_refused", "malformed/*-key"),
    Defect.OTHER_TYPES_ACCEPTED: ("invalid_call_is_not_accepted", "malformed/other-type-*"),
    Defect.EVENT_IGNORED: ("description_follows_precedence", "alternative/flat-email-event"),
    Defect.SERVER_TIME_FOR_MISSING_TIMESTAMP: (
        "invalid_call_is_not_accepted",
        "malformed/missing-timestamp",
    ),
    Defect.SLOW_ANSWER: ("answered_within_segment_timeout", "*"),
}


@pytest.fixture(scope="module")
def subjects() -> list[Any]:
    """The full catalogue and every sequence, generated once for the module."""
    return list(load_subjects(SEED))


def _run(target: str | None, subjects: list[Any], **changes: Any) -> RunReport:
    config = RunConfig(
        target=target, api_key=API_KEY, seed=SEED, probe_wait=PROBE_WAIT_S, **changes
    )
    return record(run(config, subjects=subjects))


def _against(defect: Defect, subjects: list[Any]) -> RunReport:
    app = broken_destination(defect, API_KEY, slow_seconds=SLOW_ANSWER_S)
    budget = {"timeout": SLOW_LATENCY_BUDGET_S} if defect is Defect.SLOW_ANSWER else {}
    with running_server(app) as url:
        return _run(url, subjects, **budget)


def test_every_listed_defect_has_a_destination_and_an_expected_check() -> None:
    assert set(CAUGHT_BY) == set(Defect) - {Defect.NONE, Defect.ERRORS_WITHOUT_FIELDS}


@pytest.mark.parametrize("defect", list(CAUGHT_BY), ids=lambda defect: defect.value)
def test_a_defect_fails_the_run_with_the_check_that_names_it(
    defect: Defect, subjects: list[Any]
) -> None:
    report = _against(defect, subjects)
    check_id, subject_glob = CAUGHT_BY[defect]
    failed = [result for result in report.results if result.outcome == "failed"]
    assert report.summary.exit_code == 1
    named = [
        result
        for result in failed
        if result.check_id == check_id and fnmatchcase(result.subject_id, subject_glob)
    ]
    assert named, f"{defect.value}: {check_id} did not fail; failed: {_names(failed)}"
    failure = named[0].failure
    assert failure is not None and failure.sent.startswith("curl ") and failure.expected
    assert not [result for result in report.results if result.outcome == "error"]


def _names(results: list[Any]) -> list[str]:
    return sorted({result.name for result in results})


def test_the_defect_free_control_passes_every_check(subjects: list[Any]) -> None:
    report = _against(Defect.NONE, subjects)
    assert {result.outcome for result in report.results} == {"passed"}
    assert report.summary.exit_code == 0


def test_a_should_only_defect_warns_and_fails_only_under_strict(subjects: list[Any]) -> None:
    app = broken_destination(Defect.ERRORS_WITHOUT_FIELDS, API_KEY)
    with running_server(app) as url:
        lenient = _run(url, subjects)
        strict = record(
            run(RunConfig(target=url, api_key=API_KEY, seed=SEED, strict=True), subjects=subjects)
        )
    for report in (lenient, strict):
        warned = {result.check_id for result in report.results if result.outcome == "warned"}
        assert warned == {"error_names_the_field"}
        assert report.summary.counts["failed"] == 0
    assert (lenient.summary.exit_code, strict.summary.exit_code) == (0, 1)


@pytest.fixture
def reference_url(tmp_path: Path) -> Iterator[str]:
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, API_KEY)) as url:
        yield url
    store.close()


def test_the_reference_destination_passes_every_check(
    reference_url: str, subjects: list[Any]
) -> None:
    report = _run(reference_url, subjects)
    not_passed = [result for result in report.results if result.outcome != "passed"]
    assert not not_passed, _names(not_passed)
    assert report.summary.exit_code == 0
    checks = {result.check_id for result in report.results}
    assert checks == {check.id for check in report.started.checks}
    assert len(checks) >= 15  # every family took part


def test_the_embedded_reference_passes_every_check_for_another_seed() -> None:
    report = record(run(RunConfig(seed=SEED + 1, probe_wait=PROBE_WAIT_S)))
    assert report.started.embedded
    assert report.summary.counts["passed"] == len(report.results) > 0
