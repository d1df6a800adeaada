"""`nat-harness explore`: random sequences of identify calls, shrunk to the fewest steps that
break the contract, printed as curl lines and saved as a replayable recording."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from contract.delivery import SEGMENT_TIMEOUT_S
from contract.endpoints import endpoint_of, read_api_base_of
from harness.cli._app import app
from harness.cli._options import ApiKeyOption, TargetOption
from harness.config import RunConfig
from harness.errors import UsageError
from harness.preflight import preflight
from harness.target import Destination, ReadBack, reference_destination


@contextmanager
def _endpoint(target: str | None, api_key: str | None) -> Iterator[tuple[str, str, bool]]:
    """The target's endpoint and key, or the embedded reference destination's."""
    if target is not None:
        RunConfig(target=target, api_key=api_key)  # the same URL and key checks as `run`
        assert api_key is not None
        yield endpoint_of(target), api_key, False
        return
    key = api_key or secrets.token_urlsafe(16)
    with reference_destination(key) as endpoint:
        yield endpoint, key, True


@app.command("explore")
def explore_command(
    target: TargetOption = None,
    api_key: ApiKeyOption = None,
    max_examples: Annotated[
        int, typer.Option(min=1, help="How many random sequences to try at most.")
    ] = 100,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the exploration; random (and printed) if omitted.")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="Steps per sequence at most.")] = 10,
    save: Annotated[
        Path | None,
        typer.Option(
            help="Where to save the minimal failing sequence as a recording (default: "
            "./nat-explore-failure-<time>.jsonl).",
            show_default=False,
        ),
    ] = None,
    probe: Annotated[
        str,
        typer.Option(
            help="The read API to compare state with: 'reference' (next to the target), 'none', "
            "or a base URL."
        ),
    ] = "reference",
    probe_wait: Annotated[
        float, typer.Option(min=0, help="Seconds a read-back polls for the expected state.")
    ] = 0.2,
    timeout: Annotated[
        float, typer.Option(help="Latency budget in seconds (Segment's is 5).")
    ] = SEGMENT_TIMEOUT_S,
) -> None:
    """Explore a Nat destination with random sequences of identify calls; shrink a failure.

    Each sequence mixes new and known contacts, email case and place
    variants, days either side of midnight and across offsets, retries and
    reused messageIds, out-of-order trait updates, Engage audience flips,
    refused calls, wrong keys and bursts of concurrent duplicates. Every
    answer and read-back is compared with the contract's model; a
    divergence is shrunk to the fewest steps, printed as curl lines and
    saved as a recording that `nat-harness replay` re-sends.

    Exit codes: 0 nothing found; 1 a divergence (printed and saved); 2 the
    target is unreachable or not a Nat destination, or the arguments are
    wrong.

    Example:

        nat-harness explore --max-examples 200 --seed 7

        nat-harness explore --target http://127.0.0.1:8765/segment \\
            --api-key secret --save failure.jsonl
    """
    # Hypothesis is imported only when exploring: every other command starts without it.
    from harness.explore import explore, render_result, save_failure

    if timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {timeout}")
    if probe not in ("reference", "none"):
        RunConfig(probe=probe)
    chosen_seed = seed if seed is not None else secrets.randbelow(1_000_000)
    save_to = save or Path(f"nat-explore-failure-{datetime.now(UTC):%Y%m%dT%H%M%S}.jsonl")
    if save_to.is_dir() or not (save_to.parent if str(save_to.parent) else Path(".")).is_dir():
        raise UsageError(f"--save {save_to}: give a file in an existing directory")
    out = Console(highlight=False)
    with (
        _endpoint(target, api_key) as (endpoint, key, embedded),
        Destination(endpoint, key, timeout=timeout) as destination,
    ):
        destination.connect()
        base = read_api_base_of(endpoint) if probe == "reference" else probe
        read_back = None if probe == "none" else ReadBack(destination, base, wait=probe_wait)
        preflight(destination, read_back)
        where = "the embedded reference destination" if embedded else "the target"
        out.print(
            Text.assemble(
                ("nat-harness explore", "bold"),
                f": up to {max_examples} sequences of up to {steps} steps against {where} "
                f"{endpoint}, seed ",
                (str(chosen_seed), "bold cyan"),
            )
        )
        progress = Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.completed} examples tried, {task.fields[sent]} calls sent"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with progress:
            task = progress.add_task("exploring", total=None, sent=0)
            sent = [0]

            def on_steps(count: int) -> None:
                sent[0] += count
                progress.update(task, sent=sent[0])

            result = explore(
                destination,
                read_back,
                max_examples=max_examples,
                steps=steps,
                seed=chosen_seed,
                on_example=lambda: progress.advance(task),
                on_steps=on_steps,
            )
    render_result(result, out)
    if not result.found:
        raise typer.Exit(0)
    count = save_failure(result, save_to, endpoint)
    out.print(
        Text(
            f"saved {count} calls to {save_to}: replay with nat-harness replay {save_to} "
            "--target URL",
            style="dim",
        )
    )
    raise typer.Exit(1)
