"""`nat-harness run`: fire the Nat contract's scenarios at a destination and judge the answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from harness.checks import default_registry
from harness.cli._app import app
from harness.config import DEFAULT_CONCURRENCY, DEFAULT_PROBE_WAIT_S, SEGMENT_TIMEOUT_S, RunConfig
from harness.errors import UsageError
from harness.reports import (
    ConsoleProgress,
    Recorder,
    render_console,
    render_started,
    write_json,
    write_junit,
)
from harness.runner import load_subjects, plan, run


@app.command("run")
def run_command(
    target: Annotated[
        str | None,
        typer.Option(
            help="URL the destination receives Segment's POSTs on (a bare origin means "
            "<origin>/segment). Omitted: start the reference destination on a free port.",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="NAT_API_KEY",
            help="The destination's API key, sent as Segment does (Basic base64(key + ':')).",
            show_default=False,
        ),
    ] = None,
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

    Exit code: 0 when every MUST check passed (a SHOULD failure is a warning,
    and fails the run under --strict); 1 when a check failed; 2 when the
    target cannot be reached or the arguments are wrong.

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
        _list(config, out)
        return
    recorder = Recorder()
    with ConsoleProgress(Console(stderr=True)) as progress:
        for event in run(config):
            recorder.handle(event)
            progress.handle(event)
    report = recorder.report()
    render_started(report.started, out)
    render_console(report, out)
    if report_json is not None:
        write_json(report, report_json)
        out.print(Text(f"JSON report: {report_json}", style="dim"))
    if junit_xml is not None:
        write_junit(report, junit_xml)
        out.print(Text(f"JUnit XML report: {junit_xml}", style="dim"))
    raise typer.Exit(report.summary.exit_code)


def _list(config: RunConfig, out: Console) -> None:
    """Print `check_id[subject_id]` for every pair that would run, then a count."""
    seed = config.seed if config.seed is not None else 0
    planned = plan(load_subjects(seed), default_registry(), config.select)
    if not planned:
        raise UsageError(
            f"--select {' '.join(config.select)!r} matches no check or scenario: "
            "run with --list alone to see them all"
        )
    pairs = 0
    for item in planned:
        for check in item.checks:
            out.print(f"{check.id}[{item.subject.id}]", markup=False)
            pairs += 1
    out.print(
        Text(f"{pairs} checks on {len(planned)} scenarios and sequences (seed {seed})", style="dim")
    )
