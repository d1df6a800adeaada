"""The reference Nat destination: acceptance rules, a SQLite contact store, and an HTTP app.

The size limits it enforces are Segment/Nat facts and live in `contract.limits`.
"""

from __future__ import annotations

import warnings
from typing import Any

import contract.limits
from reference_impl.app import Faults, create_app
from reference_impl.rules import (
    STANDARD_DESCRIPTION,
    Accepted,
    Issue,
    Rejected,
    contact_key_of,
    evaluate,
    parse_body,
)
from reference_impl.server import ServerConfig, running_server, serve
from reference_impl.store import Receipt, Store

__all__ = [
    "STANDARD_DESCRIPTION",
    "Accepted",
    "Faults",
    "Issue",
    "Receipt",
    "Rejected",
    "ServerConfig",
    "Store",
    "contact_key_of",
    "create_app",
    "evaluate",
    "parse_body",
    "running_server",
    "serve",
]

#: Limits this package exported before they moved to `contract.limits`.
_MOVED = ("MAX_BODY_BYTES", "MAX_NESTING_DEPTH", "SEGMENT_MAX_EVENT_BYTES")


def __getattr__(name: str) -> Any:
    """A limit that moved still works for now, with a DeprecationWarning naming its home."""
    if name not in _MOVED:
        raise AttributeError(f"module 'reference_impl' has no attribute {name!r}")
    warnings.warn(
        f"reference_impl.{name} is deprecated: use contract.limits.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(contract.limits, name)
