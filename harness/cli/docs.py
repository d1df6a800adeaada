"""`nat-harness docs`: the Markdown page of accepted formats, generated from the schemas."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.cli._app import app
from harness.docs import render_formats_page
from harness.errors import UsageError


@app.command()
def docs(
    out: Annotated[
        Path | None,
        typer.Option(help="Write the page to this file instead of printing it.", dir_okay=False),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(help="Write nothing; exit 1 when the --out file differs from a fresh page."),
    ] = False,
) -> None:
    """Generate the Markdown page of the formats Nat accepts, every example on it validated.

    The page comes from the JSON Schemas and the scenario catalogue, with the status codes, the
    error bodies and what the original Nat doc gets wrong. The output is deterministic.

    Example:
        nat-harness docs --out docs/formats.md
        nat-harness docs --out docs/formats.md --check
    """
    if check and out is None:
        raise UsageError("--check compares with a file: give it as --out docs/formats.md")
    page = render_formats_page()
    if check and out is not None:
        _check(out, page)
        return
    if out is None:
        sys.stdout.write(page)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {out}: {error.strerror or error}") from error
    Console(stderr=True).print(f"wrote {out} ({len(page.splitlines())} lines)", highlight=False)


def _check(path: Path, page: str) -> None:
    """Exit 1 with the first differences when `path` is not the fresh `page`."""
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from error
    if current == page:
        Console(stderr=True).print(f"{path} is up to date", highlight=False)
        return
    difference = difflib.unified_diff(
        current.splitlines(), page.splitlines(), str(path), "fresh render", lineterm="", n=1
    )
    excerpt = "\n".join(list(difference)[:20])
    Console(stderr=True).print(
        f"{path} is out of date; regenerate it with: nat-harness docs --out {path}\n{excerpt}",
        highlight=False,
        markup=False,
    )
    raise typer.Exit(1)
