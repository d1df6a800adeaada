"""The `nat-harness` command line: thin commands that parse options and call the library.

Each command's module registers it on the typer app when imported. `main` imports only the
module of the command asked for (start-up is much of what a short `validate` or `generate`
waits for); `--help`, an unknown command and `harness.cli.app` load every command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

from rich.console import Console

from harness.cli import _app
from harness.errors import ReportedError, option_words

if TYPE_CHECKING:
    import typer

    app: typer.Typer

__all__ = ["app", "main"]

#: Each command and the module that registers it, in the order `--help` lists them.
_COMMAND_MODULES = {
    "demo": "demo",
    "serve": "serve",
    "run": "run",
    "validate": "validate",
    "generate": "generate",
    "docs": "docs",
    "simulate": "simulate",
    "load": "load",
    "explore": "explore",
    "record": "record",
    "replay": "replay",
}
#: Settings the commands also read from the environment, for the messages that name them.
_ENVIRONMENT = {"api_key": "NAT_API_KEY"}
#: Settings whose option is not their dashed name (`sequence_share` is `--sequences`).
_OPTIONS = {"sequence_share": "--sequences", "data_dir": "--data", "db_path": "--db"}


def _load_commands(arguments: Sequence[str]) -> None:
    """Import the module of the command `arguments` name, or every one when they name none."""
    asked = next((word for word in arguments if not word.startswith("-")), None)
    modules = [_COMMAND_MODULES[asked]] if asked in _COMMAND_MODULES else _COMMAND_MODULES.values()
    for module in modules:
        import_module(f"harness.cli.{module}")


def __getattr__(name: str) -> Any:
    """`harness.cli.app`: the typer app with every command on it."""
    if name != "app":
        raise AttributeError(f"module 'harness.cli' has no attribute {name!r}")
    _load_commands(())
    return _app.app


def main() -> None:
    """Entry point of the `nat-harness` script: errors are printed as messages, not tracebacks."""
    try:
        _load_commands(sys.argv[1:])
        _app.app()
    except ReportedError as error:
        message = option_words(error, environment=_ENVIRONMENT, options=_OPTIONS)
        Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # a bug of ours: say so in one line, never a traceback
        if os.environ.get("NAT_HARNESS_DEBUG"):
            raise
        Console(stderr=True).print(
            f"[bold red]internal error:[/] {type(error).__name__}: {error}\n"
            "This is a bug in nat-harness; rerun with NAT_HARNESS_DEBUG=1 for the traceback "
            "and report it.",
            highlight=False,
        )
        sys.exit(3)
