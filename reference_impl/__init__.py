"""The reference Nat destination: acceptance rules, a SQLite contact store, and an HTTP app."""

from contract.limits import MAX_BODY_BYTES, MAX_NESTING_DEPTH, SEGMENT_MAX_EVENT_BYTES
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
    "MAX_BODY_BYTES",
    "MAX_NESTING_DEPTH",
    "SEGMENT_MAX_EVENT_BYTES",
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
