"""Options the commands share, read into library values; a library error becomes one naming
the option (only the CLI knows option names)."""

from __future__ import annotations

from harness.errors import UsageError
from scenarios import ScenarioError, parse_mix

__all__ = ["mix_option"]


def mix_option(text: str) -> dict[str, int]:
    """`--mix recommended=40,...` as a mix, or a UsageError that names `--mix`."""
    try:
        return parse_mix(text)
    except ScenarioError as error:
        raise UsageError(f"--mix: {error}") from None
