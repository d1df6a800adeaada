"""`nat-harness replay FILE`: re-send a recording to a destination and report what differs."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.text import Text

from contract.delivery import SEGMENT_TIMEOUT_S
from contract.endpoints import endpoint_of
from harness.cli._app import app
from harness.config import RunConfig
from harness.recording import Recording, read_recording

if TYPE_CHECKING:
    from harness.replay import ReplayResult
from harness.target import Destination, reference_destination


@app.command("replay")
def replay_command(
    recording: Annotated[
        Path, typer.Argument(help="The recording (JSON Lines) to re-send.", show_default=False)
    ],
    target: Annotated[
        str | None,
        typer.Option(
            help="URL to re-send the calls to (a bare origin means <origin>/segment). "
            "Omitted: a fresh embedded reference destination.",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="NAT_API_KEY",
            help="The key put where the recording masked one.",
            show_default=False,
        ),
    ] = None,
    speed: Annotated[
        str, typer.Option(help="'max' (back to back) or a factor of the recorded pace: 1x, 10x.")
    ] = "max",
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the differences as JSON here.", show_default=False),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Latency budget in seconds (Segment's is 5).")
    ] = SEGMENT_TIMEOUT_S,
) -> None:
    """Re-send a recording's calls in order; report each answer that differs from the recorded
    one or from what the contract says.

    A recording comes from `nat-harness record`, `nat-harness simulate
    segment --record` or a failure saved by `nat-harness explore`. The
    contacts of a recording are the recorded ones: replay against a fresh
    destination (or the embedded one) to compare like with like.

    Exit codes: 0 every answer as recorded and as the contract says; 1 a
    difference; 2 a bad recording, an unreachable target or wrong arguments.

    Example:

        nat-harness replay failure.jsonl --target http://127.0.0.1:8765/segment \\
            --api-key secret --speed max --json out/replay.json
    """
    from harness.replay import parse_speed  # imports the model (and Hypothesis) only here

    pace = parse_speed(speed)
    loaded = read_recording(recording)
    if target is not None:
        RunConfig(target=target, api_key=api_key)
    out = Console(highlight=False)
    key = api_key or secrets.token_urlsafe(16)
    if target is None:
        with reference_destination(key) as endpoint:
            result = _replay(loaded, endpoint, key, pace, timeout, out, embedded=True)
    else:
        result = _replay(loaded, endpoint_of(target), key, pace, timeout, out, embedded=False)
    for difference in result.differences:
        out.print(
            Text.assemble(
                (f"call {difference.index} ", "bold"),
                (f"differs from the {difference.against}", "bold red"),
                f" ({difference.clause}): " if difference.clause != "-" else ": ",
                f"the target {difference.answered}; expected {difference.expected}",
            ),
            soft_wrap=True,
        )
        out.print(Text(f"  {difference.curl}", style="dim"), soft_wrap=True)
    verdict = (
        "no differences" if not result.differences else f"{len(result.differences)} differences"
    )
    out.print(
        Text.assemble(
            ("replayed", "bold"),
            f" {result.sent} calls ({result.skipped} not POSTs, skipped) in "
            f"{result.seconds:.2f} s: ",
            (verdict, "bold green" if not result.differences else "bold red"),
        )
    )
    if json_out is not None:
        json_out.write_bytes(
            orjson.dumps(
                {**result.to_dict(), "recording": str(recording)}, option=orjson.OPT_INDENT_2
            )
        )
        out.print(Text(f"JSON report: {json_out}", style="dim"))
    raise typer.Exit(1 if result.differences else 0)


def _replay(
    loaded: Recording,
    endpoint: str,
    key: str,
    pace: float | None,
    timeout: float,
    out: Console,
    *,
    embedded: bool,
) -> ReplayResult:
    from harness.replay import replay

    where = "the embedded reference destination" if embedded else "the target"
    out.print(
        Text.assemble(
            ("nat-harness replay", "bold"),
            f": {len(loaded.exchanges)} recorded exchanges against {where} {endpoint}",
        )
    )
    with Destination(endpoint, key, timeout=timeout) as destination:
        destination.connect()
        return replay(loaded, destination, speed=pace)
