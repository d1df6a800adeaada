"""nat-harness: run the Nat destination contract against any implementation, validate and document
payloads, and stand in for Nat (`NatSimulator`) or for Segment (`harness.segment`).

Names are imported on first use, so that loading the pytest plugin costs no more than pytest.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.clauses import CLAUSES
    from harness.config import RunConfig
    from harness.docs import render_formats_page
    from harness.errors import HarnessError, NotANatDestination, TargetUnreachable, UsageError
    from harness.nat_simulator import NatSimulator
    from harness.runner import (
        CheckResult,
        RunFinished,
        RunStarted,
        exit_code_of,
        plan,
        run,
        verdict_of,
    )
    from harness.target import Destination, ReadBack
    from harness.validate import LineResult, ValidationSummary, validate_lines

__all__ = [
    "CLAUSES",
    "CheckResult",
    "Destination",
    "HarnessError",
    "LineResult",
    "NatSimulator",
    "NotANatDestination",
    "ReadBack",
    "RunConfig",
    "RunFinished",
    "RunStarted",
    "TargetUnreachable",
    "UsageError",
    "ValidationSummary",
    "exit_code_of",
    "plan",
    "render_formats_page",
    "run",
    "validate_lines",
    "verdict_of",
]

_HOMES = {
    "CLAUSES": "harness.clauses",
    "RunConfig": "harness.config",
    "render_formats_page": "harness.docs",
    "HarnessError": "harness.errors",
    "NotANatDestination": "harness.errors",
    "TargetUnreachable": "harness.errors",
    "UsageError": "harness.errors",
    "CheckResult": "harness.runner",
    "RunFinished": "harness.runner",
    "RunStarted": "harness.runner",
    "exit_code_of": "harness.runner",
    "plan": "harness.runner",
    "run": "harness.runner",
    "verdict_of": "harness.runner",
    "NatSimulator": "harness.nat_simulator",
    "Destination": "harness.target",
    "ReadBack": "harness.target",
    "LineResult": "harness.validate",
    "ValidationSummary": "harness.validate",
    "validate_lines": "harness.validate",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
