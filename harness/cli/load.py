"""`nat-harness load`: seeded Nat traffic at a rate, on Locust, with every answer judged."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from contract.delivery import SEGMENT_TIMEOUT_S
from harness.cli._app import app
from harness.cli._options import ApiKeyOption, TargetOption, mix_option
from harness.load import FAILURE_KINDS, LOCUSTFILE
from harness.load.launcher import LOCUST_MASTER_PORT, LoadConfig, run_load
from harness.load.summary import write_summary


@app.command(
    "load",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def load_command(
    context: typer.Context,
    target: TargetOption = None,
    api_key: ApiKeyOption = None,
    users: Annotated[int, typer.Option(min=1, help="Simulated senders.")] = 10,
    spawn_rate: Annotated[
        float | None,
        typer.Option(
            help="Senders started per second (all at once by default).", show_default=False
        ),
    ] = None,
    run_time: Annotated[
        str | None,
        typer.Option(
            help="How long to run, like 30s, 5m or 1h (1m when --headless).", show_default=False
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Calls per second for the whole run, shared by the senders (as fast as the "
            "target answers by default).",
            show_default=False,
        ),
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option(
            help="Families and shares: recommended=40,alternative=20,segment=20,engage=10,"
            "malformed=10 (the default).",
            show_default=False,
        ),
    ] = None,
    sequences: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of a sender's turns that run a deduplication sequence."
        ),
    ] = 0.1,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the traffic; random (and printed) if omitted.", show_default=False
        ),
    ] = None,
    processes: Annotated[
        int, typer.Option(min=1, help="Locust worker processes on this machine (one master too).")
    ] = 1,
    headless: Annotated[
        bool,
        typer.Option(help="Run without Locust's web UI, for --run-time, then print the result."),
    ] = False,
    csv: Annotated[
        Path | None, typer.Option(help="Write Locust's CSV statistics with this prefix.")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Write Locust's HTML report here.")] = None,
    summary_json: Annotated[
        Path | None,
        typer.Option(help="Write the run's summary here (JSON, format nat-harness-load/1)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds before a call counts as timed out (Segment's is 5).")
    ] = SEGMENT_TIMEOUT_S,
    master: Annotated[
        bool, typer.Option(help="Be the master of workers on other machines (Locust's --master).")
    ] = False,
    worker: Annotated[
        bool, typer.Option(help="Be a worker of a master elsewhere (Locust's --worker).")
    ] = False,
    master_host: Annotated[
        str, typer.Option(help="The master a --worker connects to.")
    ] = "127.0.0.1",
    master_port: Annotated[
        int, typer.Option(help="The port the master listens on for workers.")
    ] = LOCUST_MASTER_PORT,
    expect_workers: Annotated[
        int, typer.Option(min=1, help="With --master: workers to wait for before starting.")
    ] = 1,
    web_port: Annotated[int, typer.Option(help="Port of Locust's web UI.")] = 8089,
    print_locustfile: Annotated[
        bool, typer.Option("--print-locustfile", help="Print the Locust file's path and exit.")
    ] = False,
) -> None:
    """Send seeded Nat traffic through Locust and judge every answer against the contract.

    Each sender draws scenarios from the seeded generator and runs deduplication sequences in
    order; a wrong answer is a Locust failure naming the scenario. Arguments after the options
    go to Locust as they are.

    Exit code: 0 every answer kept the contract; 1 some answer was wrong or missing; 2 the
    target could not be reached or the arguments are wrong; 130 interrupted.

    Example:

        nat-harness load --headless --users 20 --run-time 30s

        nat-harness load --target http://127.0.0.1:8765/segment --api-key secret \\
            --headless --users 50 --rate 500 --processes 2 --csv out/nat --html out/nat.html

        locust -f "$(nat-harness load --print-locustfile)" --host http://127.0.0.1:8765
    """
    out = Console(highlight=False)
    if print_locustfile:
        print(LOCUSTFILE)
        return
    if master and worker:
        raise typer.BadParameter("--master and --worker exclude each other: pick one")
    chosen_seed = seed if seed is not None else secrets.randbelow(1_000_000)
    config = LoadConfig(
        target=target,
        api_key=api_key,
        users=users,
        spawn_rate=spawn_rate,
        run_time=run_time,
        rate=rate,
        mix=mix_option(mix) if mix is not None else None,
        sequence_share=sequences,
        seed=chosen_seed,
        processes=processes,
        headless=headless,
        csv_prefix=csv,
        html=html,
        timeout=timeout,
        role="master" if master else "worker" if worker else "local",
        master_host=master_host,
        master_port=master_port,
        expect_workers=expect_workers,
        web_port=web_port,
        extra=tuple(context.args),
    )

    def announce(url: str) -> None:
        where = "the embedded reference destination " if target is None else ""
        out.print(f"nat-harness load: {users} senders against {where}{url}, seed {chosen_seed}")
        if not headless and not worker:
            out.print(f"Locust's web UI: http://127.0.0.1:{web_port}")

    result = run_load(config, on_target=announce)
    if result.summary is not None:
        _print_summary(result.summary, out)
        if summary_json is not None:
            write_summary(summary_json, result.summary)
            out.print(f"Summary: {summary_json}", style="dim")
        out.print(f"Repeat this traffic with --seed {chosen_seed}", style="dim")
    raise typer.Exit(result.exit_code)


def _print_summary(summary: dict[str, Any], out: Console) -> None:
    tally, locust = summary["tally"], summary["locust"]
    table = Table(title="nat-harness load", show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("sent", str(tally["sent"]))
    table.add_row("answered", str(tally["answered"]))
    table.add_row("judged", str(tally["judged"]))
    for kind in FAILURE_KINDS:
        table.add_row(kind, str(tally["failures"].get(kind, 0)))
    out.print(table)
    times = locust["response_time_ms"]
    out.print(
        f"{locust['requests']} requests, {locust['failures']} failed by Locust's count, "
        f"{locust['requests_per_second']:.0f}/s; "
        f"p50 {times['p50']:.0f} ms, p95 {times['p95']:.0f} ms, p99 {times['p99']:.0f} ms"
    )
    for kind, examples in tally["examples"].items():
        for example in examples[:2]:
            shown = example.get("detail") or example.get("error")
            out.print(f"[red]{kind}[/red] {example['scenario']}: {shown}", highlight=False)
            if "answer" in example:
                out.print(f"    answered {example['status']}: {example['answer']}", markup=False)
    failed = sum(tally["failures"].values())
    verdict = "[green]PASSED[/green]" if not failed and tally["judged"] else "[red]FAILED[/red]"
    out.print(f"{verdict}: {failed} of {tally['sent']} calls failed")
