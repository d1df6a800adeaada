"""`nat-harness run`: fire the Nat contract's scenarios at a destination and judge the answers."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from contract.delivery import SEGMENT_TIMEOUT_S
from harness.checks import default_registry
from harness.cli._app import app
from harness.cli._options import ApiKeyOption, TargetOption
from harness.config import DEFAULT_CONCURRENCY, DEFAULT_PROBE_WAIT_S, RunConfig
from harness.errors import UsageError
from harness.reports import (
    ConsoleProgress,
    Recorder,
    RunReport,
    render_console,
    render_started,
    write_html,
    write_json,
    write_junit,
)
from harness.runner import EXIT_INTERRUPTED, RunStarted, load_subjects, plan, run


@app.command("run")
def run_command(
    target: TargetOption = None,
    api_key: ApiKeyOption = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the generated scenarios; random (and printed) if omitted."),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="Run only checks or scenarios whose id matches this glob (repeatable): "
            "'malformed/*', 'one_entry_per_contact_per_day', 'dedup', 'check\\[scenario]'.",
            show_default=False,
        ),
    ] = None,
    list_only: Annotated[
        bool,
        typer.Option("--list", help="Print the checks and scenarios that would run; send nothing."),
    ] = False,
    report_json: Annotated[
        Path | None,
        typer.Option(help="Write the JSON report (format nat-harness-report/1) here."),
    ] = None,
    junit_xml: Annotated[
        Path | None, typer.Option(help="Write a JUnit XML report here, for CI.")
    ] = None,
    report_html: Annotated[
        Path | None,
        typer.Option(help="Write the HTML report here: one file that opens from disk."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Scenarios in flight at once (one connection each).")
    ] = DEFAULT_CONCURRENCY,
    strict: Annotated[
        bool, typer.Option(help="Fail the run on SHOULD warnings too, not only MUST failures.")
    ] = False,
    probe: Annotated[
        str,
        typer.Option(
            help="How to read state back: 'reference' (GET /contacts/{email} and its /timeline "
            "next to the target), 'none' (those checks are skipped), or a read API's base URL.",
        ),
    ] = "reference",
    probe_wait: Annotated[
        float, typer.Option(help="Seconds a read-back polls for the expected state.")
    ] = DEFAULT_PROBE_WAIT_S,
    timeout: Annotated[
        float,
        typer.Option(help="Latency budget in seconds: a slower answer fails (Segment's is 5)."),
    ] = SEGMENT_TIMEOUT_S,
    isolate: Annotated[
        bool,
        typer.Option(
            help="Tag every email and messageId with a per-run suffix, so repeated runs against "
            "one target never collide."
        ),
    ] = True,
) -> None:
    """Check a Nat destination against the contract: send every scenario, judge every answer.

    Without --target, the reference destination is started on a free port
    with a temporary database.

    Before the contract a few calls find out whether the target is a Nat
    destination that takes the key; if not, the run stops at once saying why.

    Exit codes: 0 every MUST check held (a SHOULD failure is a warning, and
    fails the run under --strict); 1 a check failed, or nothing could be
    judged; 2 the target is unreachable, is not a Nat destination (no HTTP,
    the key refused, nothing at the path, every call answered alike) or
    stopped answering, or the arguments or report paths are wrong; 3 an
    internal error (a bug in nat-harness); 130 interrupted (Ctrl-C).

    Example:

        nat-harness run

        nat-harness run --target http://127.0.0.1:8765/segment \\
            --api-key secret --report-json out/report.json \\
            --junit-xml out/junit.xml

        nat-harness run --seed 42 --select 'malformed/*' \\
            --select one_entry_per_contact_per_day
    """
    config = RunConfig(
        target=target,
        api_key=api_key,
        seed=seed,
        select=tuple(select or ()),
        concurrency=concurrency,
        strict=strict,
        probe=probe,
        probe_wait=probe_wait,
        timeout=timeout,
        isolate=isolate,
    )
    out = Console(highlight=False)
    if list_only:
        _list(config)
        return
    reports = _Reports(report_json, junit_xml, report_html)
    reports.check()
    recorder = Recorder()
    began = time.perf_counter()
    try:
        with ConsoleProgress(Console(stderr=True)) as progress:
            for event in run(config):
                recorder.handle(event)
                progress.handle(event)
                if isinstance(event, RunStarted):
                    render_started(event, out)
    except KeyboardInterrupt:
        _interrupted(recorder, time.perf_counter() - began, reports, out)
    report = recorder.report()
    render_console(report, out)
    reports.write(report, out)
    raise typer.Exit(report.summary.exit_code)


def _interrupted(
    recorder: Recorder,
    seconds: float,
    reports: _Reports,
    out: Console,
) -> NoReturn:
    """Ctrl-C: say how far the run got, keep what was judged in the reports, exit 130."""
    started = recorder.started
    if started is None:
        note = "interrupted before the first check: nothing was judged"
    else:
        subjects = len({result.subject_id for result in recorder.results})
        note = (
            f"interrupted after {len(recorder.results)} of {started.planned} check results "
            f"({subjects} of {len(started.subject_ids)} scenarios and sequences) in "
            f"{seconds:.1f} s"
        )
    Console(stderr=True, highlight=False).print(Text(note, style="bold red"))
    report = recorder.partial(exit_code=EXIT_INTERRUPTED, note=note, seconds=seconds)
    if report is not None:
        reports.write(report, out)
    raise typer.Exit(EXIT_INTERRUPTED)


@dataclass(frozen=True, slots=True)
class _Reports:
    """The report files a run writes, each optional: checked before the run, written after."""

    json: Path | None
    junit: Path | None
    html: Path | None

    def _each(self) -> list[tuple[str, str, Path, Callable[[RunReport, Path], None]]]:
        chosen = [
            ("--report-json", "JSON report", self.json, write_json),
            ("--junit-xml", "JUnit XML report", self.junit, write_junit),
            ("--report-html", "HTML report", self.html, write_html),
        ]
        return [(option, name, path, write) for option, name, path, write in chosen if path]

    def check(self) -> None:
        for option, _, path, _ in self._each():
            _check_report_path(option, path)

    def write(self, report: RunReport, out: Console) -> None:
        for _, name, path, write in self._each():
            write(report, path)
            out.print(Text(f"{name}: {path}", style="dim"))


def _list(config: RunConfig) -> None:
    """Print `check_id[subject_id]` for every pair that would run, one per line and nothing
    else on stdout (so it pipes into other tools); the count goes to stderr."""
    seed = config.seed if config.seed is not None else 0
    planned = plan(load_subjects(seed), default_registry(), config.select)
    if not planned:
        raise UsageError(
            f"--select {' '.join(config.select)!r} matches no check or scenario: "
            "run with --list alone to see them all"
        )
    lines = [f"{check.id}[{item.subject.id}]" for item in planned for check in item.checks]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    Console(stderr=True, highlight=False).print(
        Text(
            f"{len(lines)} checks on {len(planned)} scenarios and sequences (the ids are the same "
            "for every seed)",
            style="dim",
        )
    )


def _check_report_path(option: str, path: Path | None) -> None:
    """Refuse at once (exit 2) a report path that cannot be written, before anything is sent;
    no directory is made for it."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a directory: give the file to write, like {path}/report"
        )
    if not parent.is_dir():
        raise UsageError(
            f"{option} {path}: the directory {parent} does not exist (create it first, "
            f"e.g. mkdir -p {parent})"
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: cannot write there (permission denied)")
