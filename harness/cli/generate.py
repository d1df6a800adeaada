"""`nat-harness generate`: seeded scenarios (or bare payloads) as JSON Lines."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from harness.cli._app import app
from harness.cli._options import mix_option
from harness.errors import UsageError
from reference_impl.server import day_zone_named
from scenarios import DEFAULT_MIX, FAMILIES, Scenario, format_mix, generate

_CHUNK = 4096  # lines per write and per progress update


@app.command("generate")
def generate_command(
    count: Annotated[int, typer.Option("--count", "-n", help="How many scenarios.")] = 1000,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed: the same seed gives byte-identical output. Random (and printed on "
            "stderr) when not given.",
            show_default=False,
        ),
    ] = None,
    mix: Annotated[
        str,
        typer.Option(
            help=f"Share of each family ({', '.join(FAMILIES)}); families left out get none.",
        ),
    ] = format_mix(DEFAULT_MIX),
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write to this file instead of stdout.", dir_okay=False),
    ] = None,
    payload_only: Annotated[
        bool,
        typer.Option(
            "--payload-only",
            help="Write each request's exact body instead of {scenario, expect, payload} "
            "(malformed bodies as they are sent: an empty body is an empty line).",
        ),
    ] = False,
    day_timezone: Annotated[
        str,
        typer.Option(help="IANA time zone whose calendar day the target deduplicates by."),
    ] = "UTC",
) -> None:
    """Generate realistic Nat traffic as JSON Lines, each line with the answer it should get.

    A line is {"scenario", "expect", "payload"}: a readable id (recommended/with-page-url#7),
    content type and auth; the status, outcome, contact, day and description the contract
    expects; the payload. Each contact is new and carries the seed: runs never collide.
    Families: recommended, alternative, segment, engage, malformed, edge.

    Example:
        nat-harness generate --count 100000 --seed 42 --out traffic.jsonl
        nat-harness generate -n 1000 --mix recommended=50,segment=50 --payload-only
        nat-harness generate -n 500 --mix malformed=1 | nat-harness validate -
    """
    if count < 0:
        raise UsageError(f"--count is {count}: give the number of scenarios, 0 or more")
    zone = day_zone_named(day_timezone)
    shares = mix_option(mix)
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
        _stderr().print(f"seed {seed} (pass --seed {seed} to get the same output again)")
    scenarios = generate(count, seed, shares, day_zone=zone)
    lines = map(_body if payload_only else _record, scenarios)
    with _output(out) as stream:
        try:
            _write(_with_progress(_chunks(lines), count), stream)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


@contextmanager
def _output(path: Path | None) -> Iterator[BinaryIO]:
    if path is None:
        yield sys.stdout.buffer
        return
    try:
        stream = path.open("wb")
    except OSError as error:
        raise UsageError(f"cannot write --out {str(path)!r}: {error.strerror}") from None
    with stream:
        yield stream


def _record(scenario: Scenario) -> bytes:
    """The JSON Lines record of a scenario: `{"scenario", "expect", "payload"}`."""
    return scenario.to_json()


def _body(scenario: Scenario) -> bytes:
    """The exact bytes the scenario sends (`--payload-only`)."""
    return scenario.request.body()


def _chunks(lines: Iterator[bytes]) -> Iterator[list[bytes]]:
    """Lines in lists of `_CHUNK`.

    Each scenario is encoded as soon as it is made and then dropped: holding thousands of them
    per chunk made the garbage collector walk their payloads over and over, which took about a
    third of the command's time. Encoded lines are bytes, which it does not track.
    """
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _with_progress(chunks: Iterator[list[bytes]], count: int) -> Iterator[list[bytes]]:
    """The chunks, with a progress bar on stderr when it is a terminal."""
    console = _stderr()
    if not console.is_terminal:
        yield from chunks
        return
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("generating", total=count)
        for chunk in chunks:
            yield chunk
            bar.advance(task, len(chunk))


def _write(chunks: Iterator[list[bytes]], stream: BinaryIO) -> None:
    for chunk in chunks:
        stream.write(b"\n".join(chunk))
        stream.write(b"\n")
    stream.flush()
