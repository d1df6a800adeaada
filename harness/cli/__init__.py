"""The `nat-harness` command line: thin commands that parse options and call the library."""

from __future__ import annotations

import os
import sys

from rich.console import Console

from harness.cli._app import app
from harness.errors import ReportedError, option_words

# Each module registers its commands on `app` when imported.
from harness.cli import demo, serve  # noqa: F401  isort: skip
from harness.cli import run  # noqa: F401  isort: skip
from harness.cli import validate  # noqa: F401  isort: skip
from harness.cli import generate  # noqa: F401  isort: skip
from harness.cli import docs  # noqa: F401  isort: skip
from harness.cli import simulate  # noqa: F401  isort: skip
from harness.cli import load  # noqa: F401  isort: skip
from harness.cli import explore, record, replay  # noqa: F401  isort: skip

__all__ = ["app", "main"]

#: Settings the commands also read from the environment, for the messages that name them.
_ENVIRONMENT = {"api_key": "NAT_API_KEY"}
#: Settings whose option is not their dashed name (`sequence_share` is `--sequences`).
_OPTIONS = {"sequence_share": "--sequences", "data_dir": "--data", "db_path": "--db"}


def main() -> None:
    """Entry point of the `nat-harness` script: errors are printed as messages, not tracebacks."""
    try:
        app()
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
