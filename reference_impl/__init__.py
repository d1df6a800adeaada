"""The reference Nat destination: acceptance rules, a SQLite contact store, and an HTTP app.

The size limits it enforces are Segment/Nat facts and live in `contract.limits`. Names are
imported on first use, so that the rules alone (what `nat-harness validate` needs) do not load
the HTTP server.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "Faults": "reference_impl.app",
    "create_app": "reference_impl.app",
    "STANDARD_DESCRIPTION": "reference_impl.rules",
    "Accepted": "reference_impl.rules",
    "Issue": "reference_impl.rules",
    "Rejected": "reference_impl.rules",
    "contact_key_of": "reference_impl.rules",
    "evaluate": "reference_impl.rules",
    "parse_body": "reference_impl.rules",
    "ServerConfig": "reference_impl.server",
    "running_server": "reference_impl.server",
    "serve": "reference_impl.server",
    "Receipt": "reference_impl.store",
    "Store": "reference_impl.store",
}
#: Limits this package exported before they moved to `contract.limits`.
_MOVED = ("MAX_BODY_BYTES", "MAX_NESTING_DEPTH", "SEGMENT_MAX_EVENT_BYTES")


def __getattr__(name: str) -> Any:
    """A name of the package, imported from its module; a limit that moved still works for
    now, with a DeprecationWarning naming its home."""
    home = _HOMES.get(name)
    if home is not None:
        return getattr(import_module(home), name)
    if name not in _MOVED:
        raise AttributeError(f"module 'reference_impl' has no attribute {name!r}")
    warnings.warn(
        f"reference_impl.{name} is deprecated: use contract.limits.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(import_module("contract.limits"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
