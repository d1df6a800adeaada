"""The typer application every command module registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="nat-harness",
    help="Test, simulate and document the Nat.app Segment destination.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root() -> None:
    """Test, simulate and document the Nat.app Segment destination.

    Example: nat-harness run (the whole contract against a local reference destination)
    """
