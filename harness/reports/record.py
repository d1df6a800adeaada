"""A finished run as one record: how it started, every result in plan order, and the summary.

`Recorder` consumes the runner's events as they come; `report()` gives the frozen `RunReport`
that the JSON, JUnit and console writers render.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from harness.errors import HarnessError
from harness.runner import OUTCOMES, CheckResult, Event, RunFinished, RunStarted, Summary

__all__ = ["Recorder", "RunReport", "record"]


@dataclass(frozen=True, slots=True)
class RunReport:
    """Everything the reporters need about one run."""

    started: RunStarted
    started_at: datetime
    #: Ordered by subject (plan order), then by check (registry order).
    results: tuple[CheckResult, ...]
    summary: Summary

    def results_of(self, check_id: str) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if result.check_id == check_id)


class Recorder:
    """Collects a run's events into a `RunReport`."""

    def __init__(self) -> None:
        self.started: RunStarted | None = None
        self.started_at = datetime.now(UTC)
        self.results: list[CheckResult] = []
        self.summary: Summary | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.started, self.started_at = event, datetime.now(UTC)
        elif isinstance(event, CheckResult):
            self.results.append(event)
        elif isinstance(event, RunFinished):
            self.summary = event.summary

    def report(self) -> RunReport:
        """The finished run; a `HarnessError` if the run did not finish."""
        if self.started is None or self.summary is None:
            raise HarnessError("the run did not finish, so there is no report to write")
        return self._ordered(self.summary)

    def partial(self, *, exit_code: int, note: str, seconds: float) -> RunReport | None:
        """What a run that was stopped before its end (Ctrl-C) had judged, with `note` saying
        how far it got; None if it had not started."""
        if self.started is None:
            return None
        counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        for result in self.results:
            counts[result.outcome] += 1
        summary = Summary(counts, seconds, exit_code, self.started.strict, note)
        return self._ordered(summary)

    def _ordered(self, summary: Summary) -> RunReport:
        assert self.started is not None
        subjects = {subject: index for index, subject in enumerate(self.started.subject_ids)}
        checks = {check.id: index for index, check in enumerate(self.started.checks)}
        ordered = sorted(
            self.results,
            key=lambda result: (
                subjects.get(result.subject_id, len(subjects)),
                checks.get(result.check_id, len(checks)),
            ),
        )
        return RunReport(self.started, self.started_at, tuple(ordered), summary)


def record(events: Iterable[Event]) -> RunReport:
    """Run to the end and return the report (no progress display)."""
    recorder = Recorder()
    for event in events:
        recorder.handle(event)
    return recorder.report()
