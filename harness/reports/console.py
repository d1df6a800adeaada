"""The console report: a progress bar while the run goes (on a terminal), then a table of checks
and, for each failure, what was sent (curl), what came back and what was expected."""

from __future__ import annotations

from collections import Counter
from types import TracebackType

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from harness.clauses import clause_title
from harness.reports.record import RunReport
from harness.runner import CheckResult, Event, RunStarted

__all__ = ["ConsoleProgress", "render_console", "render_started"]

#: Failures shown in full per check; the rest are listed by subject id.
_DETAILED_PER_CHECK = 3
#: Narrower consoles leave out the family column, so check ids are never cut.
_FAMILY_MIN_WIDTH = 100
#: Longer lines (a curl line with a body of many kilobytes) are left to the JSON report.
_LONGEST_LINE = 4000
_STYLES = {"passed": "green", "failed": "bold red", "warned": "yellow", "error": "bold magenta"}


def render_started(event: RunStarted, console: Console) -> None:
    """One line saying what is tested where, with the seed to repeat the run."""
    where = "the embedded reference destination" if event.embedded else "the target"
    probe = f"read-back at {event.probe}" if event.probe else "no read-back probe"
    console.print(
        Text.assemble(
            ("nat-harness run", "bold"),
            f": {len(event.checks)} checks on {len(event.subject_ids)} scenarios and sequences "
            f"against {where} {event.target} ({probe}), seed ",
            (str(event.seed), "bold cyan"),
        )
    )


class ConsoleProgress:
    """A progress bar on `console` that counts results; silent unless it is a terminal."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task: TaskID | None = None
        self._failed = 0

    def __enter__(self) -> ConsoleProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def handle(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._task = self._progress.add_task(
                f"seed {event.seed}", total=event.planned, failed=""
            )
        elif isinstance(event, CheckResult) and self._task is not None:
            if event.outcome in ("failed", "error"):
                self._failed += 1
            failed = f"[red]{self._failed} failed[/]" if self._failed else ""
            self._progress.update(self._task, advance=1, failed=failed)


def render_console(report: RunReport, console: Console) -> None:
    """The table of checks, the failures in detail, skip reasons and the verdict."""
    console.print(_table(report, console.width))
    for outcomes in (("failed", "error"), ("warned",)):  # MUST failures before warnings
        for check in report.started.checks:
            _render_failures(report.results_of(check.id), outcomes, console)
    _render_skips(report, console)
    _render_verdict(report, console)


def _table(report: RunReport, width: int) -> Table:
    with_family = width >= _FAMILY_MIN_WIDTH
    table = Table(title="Nat destination contract", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("check", no_wrap=True)
    table.add_column("level", no_wrap=True, min_width=6)
    if with_family:
        table.add_column("family", no_wrap=True)
    for header in ("pass", "fail", "warn", "skip"):
        table.add_column(header, justify="right", no_wrap=True)
    for check in report.started.checks:
        counts = Counter(result.outcome for result in report.results_of(check.id))
        worst = next(
            (outcome for outcome in ("error", "failed", "warned") if counts[outcome]), "passed"
        )
        if worst == "passed" and not counts["passed"]:
            worst = "skipped"
        style = _STYLES.get(worst, "dim")
        table.add_row(
            Text(check.id, style=style),
            check.level,
            *([check.family] if with_family else []),
            str(counts["passed"]),
            _count(counts["failed"] + counts["error"], "bold red"),
            _count(counts["warned"], "yellow"),
            _count(counts["skipped"], "dim"),
        )
    return table


def _count(value: int, style: str) -> Text:
    return Text(str(value), style=style if value else "dim")


def _render_failures(
    results: tuple[CheckResult, ...], outcomes: tuple[str, ...], console: Console
) -> None:
    bad = [result for result in results if result.outcome in outcomes]
    for result in bad[:_DETAILED_PER_CHECK]:
        label = {"failed": "FAILED", "warned": "WARNING", "error": "ERROR"}[result.outcome]
        console.print()
        console.print(
            Text.assemble(
                (f"{label} ", _STYLES[result.outcome]),
                (result.check_id, "bold"),
                f" ({result.level}, CONTRACT {clause_title(result.clause)}) on ",
                (result.subject_id, "cyan"),
            )
        )
        if result.failure is None:
            console.print(Text(f"  {result.reason}"))
            continue
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("  expected:", Text(result.failure.expected))
        console.print(grid)
        console.print(Text("  sent:", style="bold"))
        _print_unwrapped(_shortened(result.failure.sent), console)
        console.print(Text("  received:", style="bold"))
        _print_unwrapped(_shortened(result.failure.received), console)
    hidden = bad[_DETAILED_PER_CHECK:]
    if hidden:
        names = ", ".join(result.subject_id for result in hidden[:10])
        more = f" and {len(hidden) - 10} more" if len(hidden) > 10 else ""
        console.print(
            Text(f"  … also on {names}{more} (every detail is in --report-json)", style="dim")
        )


def _print_unwrapped(text: str, console: Console) -> None:
    """Each line indented and never wrapped by the console (the terminal may fold it on the
    screen, but it copies as one line), so a curl line pastes into a shell as it is."""
    for line in text.splitlines() or [""]:
        if len(line) > _LONGEST_LINE:
            line = (
                f"# a line of {len(line):,} characters (a large body): it is whole in --report-json"
            )
        console.print(Text("    " + line), soft_wrap=True, no_wrap=True, overflow="ignore")


def _shortened(text: str) -> str:
    """The first and the last line of a long text (a sequence's first request and its read-back)."""
    lines = text.splitlines()
    if len(lines) <= 3:
        return text
    return "\n".join([lines[0], f"# … {len(lines) - 2} more lines in --report-json", lines[-1]])


def _render_skips(report: RunReport, console: Console) -> None:
    reasons = Counter(result.reason for result in report.results if result.outcome == "skipped")
    if not reasons:
        return
    console.print()
    for reason, count in reasons.most_common():
        console.print(Text(f"skipped {count} times: {reason}", style="dim"))


def _render_verdict(report: RunReport, console: Console) -> None:
    summary = report.summary
    counts = summary.counts
    parts = [f"{counts[outcome]} {outcome}" for outcome in counts if counts[outcome]]
    verdict, style = ("PASSED", "bold green") if summary.exit_code == 0 else ("FAILED", "bold red")
    console.print()
    console.print(
        Text.assemble(
            (verdict, style),
            f": {', '.join(parts) or 'nothing ran'} in {summary.seconds:.2f} s"
            + (" (strict: warnings fail the run)" if summary.strict else ""),
        )
    )
    if summary.note:
        console.print(Text(summary.note, style=style))
    console.print(
        Text(f"Repeat this run with --seed {report.started.seed}", style="dim"),
    )
