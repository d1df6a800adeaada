"""`nat-harness validate`: check JSON Lines of payloads against the Nat schemas, line by line."""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from enum import StrEnum
from functools import partial
from typing import Annotated, BinaryIO, NamedTuple, TextIO

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from harness.cli._app import app
from harness.errors import UsageError
from harness.parallel import LineChunk, available_cpus, forks_workers, line_chunks, ordered_map
from harness.validate import Detail, LineResult, ValidationSummary, validate_lines


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


class Show(StrEnum):
    all = "all"
    rejected = "rejected"
    none = "none"


@app.command()
def validate(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE|-", help="JSON Lines: payloads or generator output; '-' reads stdin."
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="text for people; json for JSON Lines and a summary."),
    ] = OutputFormat.text,
    show: Annotated[
        Show, typer.Option(help="Text format: which lines to print before the summary.")
    ] = Show.all,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default="one per CPU",
            help="Worker processes for a long input; 1 works in this process. The output is "
            "the same whatever the number.",
        ),
    ] = None,
) -> None:
    """Validate each line against the Nat schemas: accepted, or which field, rule and format.

    A line is a payload, or a scenario or sequence from the generator (its payloads are checked
    against the answer each scenario expects). The input is streamed, a chunk of lines at a
    time, and shared out between worker processes: a million lines never sit in memory, and the
    results come out in the order of the lines. A summary table ends the output.

    Exit code: 0 when every payload is accepted and every generator scenario got the verdict it
    expects (a malformed scenario rejected as expected is no failure; one about the key or the
    content type is not judged here); 1 otherwise; 2 when FILE is unreadable.

    Example:
        nat-harness validate payloads.jsonl
        nat-harness validate payloads.jsonl --show rejected --jobs 4
        nat-harness generate --count 1000 | nat-harness validate - --show none
        cat payloads.jsonl | nat-harness validate - --format json > results.jsonl
    """
    summary = ValidationSummary()
    # Per-line text or JSON shows everything; a summary alone needs only the rules' reasons.
    shows_lines = output_format is OutputFormat.json or show is not Show.none
    detail: Detail = "full" if shows_lines else "reasons"
    rendering = _Rendering(output_format, show, detail, sys.stdout.encoding, sys.stdout.errors)
    with _opened(file) as stream:
        chunks = _with_progress(_chunks(stream, file), stream, writes_lines=shows_lines)
        rendering_workers = ordered_map(
            partial(_render, rendering=rendering), chunks, jobs=jobs or available_cpus()
        )
        with closing(rendering_workers) as rendered:  # stopped with us, Ctrl-C included
            try:
                _write(rendered, summary, output_format, sys.stdout)
            except BrokenPipeError:  # the reader went away (`| head`): stop quietly
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise typer.Exit(0 if summary.failing == 0 else 1)


class _Rendering(NamedTuple):
    """What a worker makes of its chunk: the output format, the lines shown, the detail, and
    the bytes of the output (encoded as standard output encodes text, by the worker)."""

    output_format: OutputFormat
    show: Show
    detail: Detail
    encoding: str = "utf-8"
    errors: str | None = "strict"


def _render(chunk: LineChunk, rendering: _Rendering) -> tuple[bytes, ValidationSummary]:
    """The output of one chunk of lines, and the summary of its results (run in a worker)."""
    text, summary = _rendered_text(chunk, rendering)
    return text.encode(rendering.encoding, rendering.errors or "strict"), summary


def _rendered_text(chunk: LineChunk, rendering: _Rendering) -> tuple[str, ValidationSummary]:
    summary = ValidationSummary()
    lines = io.BytesIO(chunk.read())
    results = list(validate_lines(lines, detail=rendering.detail, first_line=chunk.first_line))
    summary.add_all(results)
    if rendering.output_format is OutputFormat.json:
        shown = (orjson.dumps(result.as_dict()).decode() + "\n" for result in results)
        return "".join(shown), summary
    if rendering.show is Show.all:
        return "".join(map(describe, results)), summary
    if rendering.show is Show.rejected:
        return "".join(describe(result) for result in results if not result.accepted), summary
    return "", summary


def _write(
    rendered: Iterator[tuple[bytes, ValidationSummary]],
    summary: ValidationSummary,
    output_format: OutputFormat,
    out: TextIO,
) -> None:
    out.flush()  # what was written as text goes first; the chunks go to the bytes beneath it
    raw = getattr(out, "buffer", None)  # a text stream with no bytes beneath: write text
    for output, chunk_summary in rendered:
        if raw is not None:
            raw.write(output)
        else:
            out.write(output.decode(out.encoding or "utf-8", out.errors or "strict"))
        summary.merge(chunk_summary)
    if output_format is OutputFormat.json:
        out.write(orjson.dumps({"summary": summary.as_dict()}).decode() + "\n")
        out.flush()
        return
    out.flush()
    _print_summary(summary, Console(file=out))


def describe(result: LineResult) -> str:
    """A result as text lines: the verdict, then the reasons, rules and closest format."""
    where = f"line {result.line} [{result.scenario}]" if result.scenario else f"line {result.line}"
    expected = " as expected" if result.meets_expectation else ""
    if result.accepted and result.about is None and result.meets_expectation is not False:
        shape = result.format.title if result.format else "no documented format"
        return f"{where}: accepted{expected} ({shape})\n"  # most lines: one line, said at once
    if result.about is not None:
        verdict = "accepted" if result.accepted else "rejected"
        lines = [
            f"{where}: about {result.about}, not the payload: the destination answers "
            f"{result.expected_status} (the payload alone is {verdict}; validate judges payloads)"
        ]
    elif result.accepted:
        shape = result.format.title if result.format else "no documented format"
        lines = [f"{where}: accepted{expected} ({shape})"]
    else:
        status = f" {result.status}" if result.status is not None else ""
        lines = [f"{where}: rejected{status}{expected}: {result.reason}"]
        lines += [f"    {issue.field}: {issue.message}" for issue in result.errors]
        lines += [
            f"    rule {issue.rule} ({issue.field}): {issue.message}"
            for issue in result.schema_errors
        ]
        if result.format is not None:
            needs = "; ".join(f"{issue.field}: {issue.message}" for issue in result.format.missing)
            closest = f"    closest format: {result.format.title}"
            lines.append(f"{closest}, which also needs {needs}" if needs else closest)
    if result.meets_expectation is False:
        lines.append(f"    the scenario expects status {result.expected_status}")
    return "\n".join(lines) + "\n"


@contextmanager
def _opened(file: str) -> Iterator[BinaryIO]:
    """The input as a binary stream; a file that cannot be opened is a usage error (exit 2)."""
    if file == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(file, "rb")  # noqa: SIM115 - closed below, after the caller streams it
    except OSError as error:
        reason = error.strerror or error
        raise UsageError(
            f"cannot read {file}: {reason}. Give a JSON Lines file, or '-' to read stdin"
        ) from error
    with stream:
        yield stream


def _chunks(stream: BinaryIO, file: str) -> Iterator[LineChunk]:
    """The lines of `stream` in chunks; a read that fails half-way is a usage error too."""
    try:
        yield from line_chunks(stream, by_reference=forks_workers())
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror or error}") from error


def _with_progress(
    chunks: Iterator[LineChunk], stream: BinaryIO, *, writes_lines: bool
) -> Iterator[LineChunk]:
    """`chunks` (read from `stream`), with a progress bar on stderr when a person is watching it.

    No bar when stderr is not a terminal, nor when per-line results go to the same terminal (the
    bar would tear through them). The bar is redrawn as each chunk is read, not by a thread of
    its own: the worker processes are forked from this one, and a fork should find no thread.
    """
    if not sys.stderr.isatty() or (writes_lines and _same_terminal(sys.stdout, sys.stderr)):
        yield from chunks
        return
    total = _size_of(stream)
    columns = [TextColumn("validating"), BarColumn(), TextColumn("{task.fields[lines]:,} lines")]
    with Progress(
        *columns,
        TimeRemainingColumn(),
        console=Console(stderr=True),
        auto_refresh=False,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as progress:
        task = progress.add_task("validate", total=total, lines=0)
        for chunk in chunks:
            size = len(chunk.data) if chunk.span is None else chunk.span[2]
            progress.update(task, advance=size, lines=chunk.first_line - 1, refresh=True)
            yield chunk


def _size_of(stream: BinaryIO) -> int | None:
    """The size of a regular file, for the bar's total; None for pipes and terminals."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _same_terminal(first: TextIO, second: TextIO) -> bool:
    try:
        return first.isatty() and os.path.samestat(
            os.fstat(first.fileno()), os.fstat(second.fileno())
        )
    except (OSError, ValueError):
        return False


def _print_summary(summary: ValidationSummary, console: Console) -> None:
    table = Table(title="Validation summary", show_footer=True)
    table.add_column("verdict", footer="total")
    table.add_column("status")
    table.add_column("reason")
    table.add_column("payloads", justify="right", footer=f"{summary.payloads:,}")
    for reason, count in summary.by_reason.most_common():
        verdict = "accepted" if reason == "accepted" else "rejected"
        status = summary.status_of_reason.get(reason)
        table.add_row(verdict, "" if status is None else str(status), reason, f"{count:,}")
    console.print(table)
    if summary.by_format:
        formats = Table(title="Accepted payloads by documented format")
        formats.add_column("format")
        formats.add_column("payloads", justify="right")
        for name, count in summary.by_format.most_common():
            formats.add_row(name, f"{count:,}")
        console.print(formats)
    judged = summary.expectations_met + summary.expectation_mismatches
    if judged or summary.not_about_payload:
        console.print(
            f"Generator scenarios: {summary.expectations_met:,} of {judged:,} got the verdict "
            f"they expect; {summary.not_about_payload:,} are about the key or the content type "
            "(not judged here)"
        )
    if summary.expectation_mismatches:
        lines = ", ".join(map(str, summary.first_mismatch_lines))
        console.print(
            f"{summary.expectation_mismatches:,} generator scenarios got a verdict their "
            f"expectation does not allow (first lines: {lines})",
            style="bold red",
        )
    console.print(
        f"{summary.accepted:,} accepted, {summary.rejected:,} rejected of {summary.payloads:,} "
        f"payloads on {summary.lines:,} lines"
    )
