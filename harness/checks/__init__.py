"""The contract's checks: one module per family, each with a stable id, a MUST or SHOULD level
and the CONTRACT.md clauses it judges.

A check is a function decorated with `check(level, *clauses, applies=...)`: its name is its id
(named after the property that should hold), its docstring's first line the summary. MUST is for
what harms the customer's data or Segment's delivery, SHOULD for the rest of the contract
(CONTRACT C). `default_registry()` collects every built-in check; a `Registry` refuses two checks
with one id.
"""

from __future__ import annotations

from harness.checks import (
    acceptance,
    auth,
    dedup,
    description,
    idempotency,
    latency,
    properties,
    rejection,
)
from harness.checks.base import (
    LEVELS,
    Check,
    CheckFailed,
    CheckSkipped,
    Level,
    Observation,
    Registry,
    Subject,
    check,
    steps_of,
)

__all__ = [
    "FAMILIES",
    "LEVELS",
    "Check",
    "CheckFailed",
    "CheckSkipped",
    "Level",
    "Observation",
    "Registry",
    "Subject",
    "check",
    "default_registry",
    "steps_of",
]

#: The check families, in the order reports list them.
FAMILIES = (
    acceptance,
    rejection,
    auth,
    description,
    dedup,
    idempotency,
    properties,
    latency,
)


def default_registry() -> Registry:
    """Every built-in check, family by family, in definition order."""
    return Registry(
        item for module in FAMILIES for item in vars(module).values() if isinstance(item, Check)
    )
