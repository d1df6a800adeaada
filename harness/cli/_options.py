"""Options the commands share, read into library values; a library error becomes one naming
the option (only the CLI knows option names)."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.errors import UsageError
from scenarios import ScenarioError, parse_mix

__all__ = ["ApiKeyOption", "TargetOption", "mix_option"]

#: `--target`: the destination under test; omitted, the commands start the reference one.
TargetOption = Annotated[
    str | None,
    typer.Option(
        help="URL the destination receives Segment's POSTs on (a bare origin means "
        "<origin>/segment). Omitted: start the reference destination on a free port.",
        show_default=False,
    ),
]
#: `--api-key` (or NAT_API_KEY): the destination's key, sent as Segment sends it.
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="NAT_API_KEY",
        help="The destination's API key, sent as Segment does (Basic base64(key + ':')).",
        show_default=False,
    ),
]


def mix_option(text: str) -> dict[str, int]:
    """`--mix recommended=40,...` as a mix, or a UsageError that names `--mix`."""
    try:
        return parse_mix(text)
    except ScenarioError as error:
        raise UsageError(f"--mix: {error}") from None
