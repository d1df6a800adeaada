"""The harness is right both ways. A destination written from the contract alone, which chooses
otherwise wherever the contract allows, passes `--strict`, and so does the reference; each
destination with one defect fails the full run with the check and the clause that name it."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.config import RunConfig
from harness.reports import RunReport, record
from harness.runner import load_subjects, run
from reference_impl import Store, create_app, running_server
from tests.broken_destinations import Defect, broken_destination

API_KEY = "broken-key"
SEED = 7
#: Short waits keep the suite fast: the slow defect answers its slow calls after more than the
#: latency budget its run is given (and before the harness gives up on them), and failing
#: read-backs stop polling quickly.
SLOW_LATENCY_BUDGET_S = 0.3
SLOW_ANSWER_S = 0.4
PROBE_WAIT_S = 0.3

#: Each MUST defect: the check that must fail, the clause it must name, and a subject (glob) it
#: must fail on.
CAUGHT_BY: dict[Defect, tuple[str, str, str]] = {
    Defect.ACCEPTS_INVALID: ("invalid_call_is_not_accepted", "B.3", "malformed/missing-email"),
    Defect.MISSING_EMAIL_500: ("client_mistake_is_not_retried", "B.13", "malformed/missing-email"),
    Defect.SERVER_TIME_FOR_MISSING_TIMESTAMP: (
        "invalid_call_is_not_accepted",
        "B.4",
        "malformed/missing-timestamp",
    ),
    Defect.TIMESTAMP_WITHOUT_ZONE_ACCEPTED: (
        "invalid_call_is_not_accepted",
        "B.4",
        "malformed/timestamp-without-zone",
    ),
    Defect.OTHER_TYPES_ACCEPTED: ("invalid_call_is_not_accepted", "B.5", "malformed/other-type-*"),
    Defect.OVERSIZED_500: ("client_mistake_is_not_retried", "B.13", "malformed/over-*"),
    Defect.ALTERNATIVE_FORMATS_REJECTED: (
        "accepted_call_is_answered_2xx",
        "B.3",
        "alternative/flat-email",
    ),
    Defect.TYPE_CASE_SENSITIVE: ("accepted_call_is_answered_2xx", "B.5", "edge/type-capitalised"),
    Defect.OFFSET_REFUSED: ("accepted_call_is_answered_2xx", "B.4", "edge/offset-crossing-*"),
    Defect.FRACTION_LIMITED: ("accepted_call_is_answered_2xx", "B.4", "edge/timestamp-nanoseconds"),
    Defect.OFFSET_OVER_12_REFUSED: ("accepted_call_is_answered_2xx", "B.4", "edge/offset-plus-14"),
    Defect.NULL_EMAIL_INVALID: (
        "accepted_call_is_answered_2xx",
        "B.3",
        "edge/null-email-falls-through",
    ),
    Defect.URL_REFUSED: ("accepted_call_is_answered_2xx", "B.6", "edge/relative-url-warning"),
    Defect.SIZE_LIMIT_32KB: ("accepted_call_is_answered_2xx", "B.5", "edge/body-exactly-*"),
    Defect.STORES_NOTHING: ("accepted_call_is_stored", "B.12", "recommended/with-page-url"),
    Defect.FLAT_EMAIL_FIRST: ("accepted_call_is_stored", "B.3", "edge/email-precedence"),
    Defect.FLAT_EMAIL_BEFORE_CONTEXT: (
        "accepted_call_is_stored",
        "B.3",
        "edge/email-precedence-context-over-flat",
    ),
    Defect.NO_TRIM: ("accepted_call_is_stored", "B.3", "edge/email-case-and-space"),
    Defect.CASE_SENSITIVE_EMAIL: ("accepted_call_is_stored", "B.3", "edge/email-case-and-space"),
    Defect.OFFSET_SIGN_INVERTED: ("accepted_call_is_stored", "B.7", "edge/offset-minus-12"),
    Defect.LOCAL_DAY: ("accepted_call_is_stored", "B.7", "edge/offset-plus-14"),
    Defect.EVENT_IGNORED: (
        "description_follows_precedence",
        "B.6",
        "alternative/flat-email-event",
    ),
    Defect.EVENT_FIRST: ("description_follows_precedence", "B.6", "edge/description-precedence"),
    Defect.URL_BEFORE_CONTEXT_URL: (
        "description_follows_precedence",
        "B.6",
        "edge/description-without-page-url",
    ),
    Defect.URL_NOT_VALIDATED: (
        "description_follows_precedence",
        "B.6",
        "edge/relative-url-warning",
    ),
    Defect.LAST_DESCRIPTION_KEPT: (
        "description_follows_precedence",
        "B.7",
        "sequence/same-day-n-calls",
    ),
    Defect.NO_DEDUPLICATION: (
        "one_entry_per_contact_per_day",
        "B.7",
        "sequence/same-day-n-calls",
    ),
    Defect.CHECK_THEN_INSERT_RACE: (
        "concurrent_duplicates_make_one_entry",
        "B.7",
        "sequence/concurrent-duplicates",
    ),
    Defect.REPLAY_ADDS_ENTRY: (
        "retried_message_id_is_replayed",
        "B.8",
        "sequence/retried-message-id",
    ),
    Defect.REPLAY_CHANGES_PROPERTIES: (
        "retried_message_id_is_replayed",
        "B.8",
        "sequence/retried-message-id",
    ),
    Defect.DEDUPLICATED_TRAITS_DROPPED: (
        "latest_trait_value_wins",
        "B.9",
        "sequence/deduplicated-call-sets-properties",
    ),
    Defect.FALSE_DROPPED: ("latest_trait_value_wins", "B.9", "sequence/audience-out-of-order"),
    Defect.LATEST_ARRIVAL_WINS: (
        "latest_trait_value_wins",
        "B.9",
        "sequence/audience-out-of-order",
    ),
    Defect.AUTH_NOT_CHECKED: ("unauthenticated_call_is_refused", "B.2", "malformed/wrong-key"),
    Defect.REFUSED_YET_STORED: ("unauthenticated_call_is_refused", "B.2", "malformed/wrong-key"),
    Defect.ANY_BEARER_ACCEPTED: (
        "unauthenticated_call_is_refused",
        "B.2",
        "malformed/wrong-key-bearer",
    ),
    Defect.SLOW_ANSWER: ("answered_within_segment_timeout", "A.3", "alternative/flat-email-event"),
}
#: Defects of SHOULD-level behaviour only: a warning, which fails the run only under --strict.
WARNED_BY: dict[Defect, tuple[str, str]] = {
    Defect.ERRORS_WITHOUT_FIELDS: ("error_names_the_field", "B.10"),
    Defect.BEARER_REFUSED: ("accepted_variant_is_answered_2xx", "B.2"),
}


@pytest.fixture(scope="module")
def subjects() -> list[Any]:
    """The full catalogue and every sequence, generated once for the module (read only)."""
    return list(load_subjects(SEED))


def _run(target: str | None, subjects: list[Any], **changes: Any) -> RunReport:
    config = RunConfig(
        target=target, api_key=API_KEY, seed=SEED, probe_wait=PROBE_WAIT_S, **changes
    )
    return record(run(config, subjects=subjects))


def _against(defect: Defect, subjects: list[Any], **changes: Any) -> RunReport:
    app = broken_destination(defect, API_KEY, slow_seconds=SLOW_ANSWER_S)
    if defect is Defect.SLOW_ANSWER:
        changes["timeout"] = SLOW_LATENCY_BUDGET_S
    with running_server(app) as url:
        return _run(url, subjects, **changes)


def _names(results: Any) -> list[str]:
    return sorted({f"{result.name} {result.clause}" for result in results})


def test_every_defect_has_a_destination_and_an_expected_check() -> None:
    assert set(CAUGHT_BY) | set(WARNED_BY) == set(Defect) - {Defect.NONE}
    assert not set(CAUGHT_BY) & set(WARNED_BY)


@pytest.mark.parametrize("defect", list(CAUGHT_BY), ids=lambda defect: defect.value)
def test_a_defect_fails_the_run_with_the_check_and_clause_that_name_it(
    defect: Defect, subjects: list[Any]
) -> None:
    report = _against(defect, subjects)
    check_id, clause, subject_glob = CAUGHT_BY[defect]
    failed = [result for result in report.results if result.outcome == "failed"]
    assert report.summary.exit_code == 1, report.summary.note
    named = [
        result
        for result in failed
        if result.check_id == check_id and fnmatchcase(result.subject_id, subject_glob)
    ]
    assert named, f"{defect.value}: {check_id} did not fail; failed: {_names(failed)}"
    assert {result.clause for result in named} == {clause}, _names(named)
    failure = named[0].failure
    assert failure is not None and failure.sent.startswith("curl ") and failure.expected
    assert not [result for result in report.results if result.outcome == "error"]


@pytest.mark.parametrize("defect", list(WARNED_BY), ids=lambda defect: defect.value)
def test_a_should_only_defect_warns_and_fails_only_under_strict(
    defect: Defect, subjects: list[Any]
) -> None:
    lenient, strict = _against(defect, subjects), _against(defect, subjects, strict=True)
    check_id, clause = WARNED_BY[defect]
    for report in (lenient, strict):
        warned = [result for result in report.results if result.outcome == "warned"]
        assert {result.check_id for result in warned} == {check_id}, _names(warned)
        assert {result.clause for result in warned} == {clause}
        assert report.summary.counts["failed"] == 0
    assert (lenient.summary.exit_code, strict.summary.exit_code) == (0, 1)


def _only_passes_and_allowed_skips(report: RunReport) -> None:
    """Everything judged passed; the only skips are the error bodies of calls the contract
    allows to be accepted (there is none to judge)."""
    bad = [r for r in report.results if r.outcome not in ("passed", "skipped")]
    assert not bad, _names(bad)
    skips = {r.reason for r in report.results if r.outcome == "skipped"}
    assert all("which the contract allows" in reason for reason in skips), skips
    assert report.summary.exit_code == 0


def test_the_independent_destination_passes_strict(subjects: list[Any]) -> None:
    report = _against(Defect.NONE, subjects, strict=True)
    _only_passes_and_allowed_skips(report)
    checks = {result.check_id for result in report.results if result.outcome == "passed"}
    assert checks == {check.id for check in report.started.checks}  # every check judged


def test_the_independent_destination_passes_nat_harness_run_strict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_server(broken_destination(Defect.NONE, API_KEY)) as url:
        monkeypatch.setattr(
            "sys.argv",
            [
                "nat-harness",
                "run",
                "--target",
                url,
                "--api-key",
                API_KEY,
                "--strict",
                "--seed",
                "3",
            ],
        )
        with pytest.raises(SystemExit) as exit_:
            main()
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    assert "PASSED:" in out and "failed" not in out.rpartition("PASSED:")[2]


@pytest.fixture
def reference_url(tmp_path: Path) -> Iterator[str]:
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, API_KEY)) as url:
        yield url
    store.close()


def test_the_reference_destination_passes_every_check(
    reference_url: str, subjects: list[Any]
) -> None:
    report = _run(reference_url, subjects, strict=True)
    not_passed = [result for result in report.results if result.outcome != "passed"]
    assert not not_passed, _names(not_passed)
    assert report.summary.exit_code == 0
    checks = {result.check_id for result in report.results}
    assert checks == {check.id for check in report.started.checks}
    assert len(checks) >= 19  # every family took part


def test_the_embedded_reference_passes_every_check_for_another_seed() -> None:
    report = record(run(RunConfig(seed=SEED + 1, probe_wait=PROBE_WAIT_S, strict=True)))
    assert report.started.embedded
    assert report.summary.counts["passed"] == len(report.results) > 0
