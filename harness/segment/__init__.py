"""Segment's side of the pipe, locally: tracking API, pipeline, an outbox that keeps what was
acknowledged, delivery with retries and faults, a virtual clock, and Engage audience syncs.

The Segment facts these use (headers, retry rule, limits, time formats) live in `contract`.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from typing import Any

from harness.segment.clock import Agenda, VirtualClock, parse_time_scale
from harness.segment.delivery import Delivery, DeliveryEndpoint
from harness.segment.engage import (
    PROFILE_TRAITS,
    EngageConfig,
    EngageSimulation,
    EngageSummary,
    MembershipReport,
    Mismatch,
    Profile,
    Sync,
    check_membership,
    run_engage,
    snake_case,
)
from harness.segment.faults import DeliveryFaults
from harness.segment.ingest import create_ingest_app
from harness.segment.journal import STATUSES, Journal, JournalEntry
from harness.segment.outbox import OUTBOX_FILE, Incoming, Outbox, Parcel, StorageUnavailable
from harness.segment.pipeline import (
    DAY,
    MESSAGE_TYPES,
    NAT_NAMES,
    Filtered,
    Forward,
    Pipeline,
    UnstorableEvent,
    enabled_for,
)
from harness.segment.retry import RetryPolicy, Verdict, classify
from harness.segment.simulator import (
    SegmentSimulator,
    SegmentSimulatorConfig,
    Shutdown,
    Tally,
    embedded_destination,
    running_simulator,
)

__all__ = [
    "DAY",
    "MESSAGE_TYPES",
    "NAT_NAMES",
    "OUTBOX_FILE",
    "PROFILE_TRAITS",
    "STATUSES",
    "Agenda",
    "Delivery",
    "DeliveryEndpoint",
    "DeliveryFaults",
    "EngageConfig",
    "EngageSimulation",
    "EngageSummary",
    "Filtered",
    "Forward",
    "Incoming",
    "Journal",
    "JournalEntry",
    "MembershipReport",
    "Mismatch",
    "Outbox",
    "Parcel",
    "Pipeline",
    "Profile",
    "RetryPolicy",
    "SegmentSimulator",
    "SegmentSimulatorConfig",
    "Shutdown",
    "StorageUnavailable",
    "Sync",
    "Tally",
    "UnstorableEvent",
    "Verdict",
    "VirtualClock",
    "check_membership",
    "classify",
    "create_ingest_app",
    "embedded_destination",
    "enabled_for",
    "parse_time_scale",
    "run_engage",
    "running_simulator",
    "snake_case",
]

#: Names this package exported before they were renamed or moved: (home module, new name).
_DEPRECATED: dict[str, tuple[str, str]] = {
    "COMPUTED_TRAITS": ("harness.segment.engage", "PROFILE_TRAITS"),
    "DEFAULT_TIMEOUT": ("contract.delivery", "SEGMENT_TIMEOUT_S"),
    "Destination": ("harness.segment.delivery", "DeliveryEndpoint"),
    "FOUR_HOURS": ("contract.retry", "RETRY_WINDOW_S"),
    "MAX_BATCH_BYTES": ("contract.limits", "MAX_BATCH_BYTES"),
    "MAX_BATCH_EVENTS": ("contract.limits", "MAX_BATCH_EVENTS"),
    "MAX_EVENT_BYTES": ("contract.limits", "SEGMENT_MAX_EVENT_BYTES"),
    "RETRYABLE_STATUSES": ("contract.retry", "RETRYABLE_STATUSES"),
    "Simulator": ("harness.segment.simulator", "SegmentSimulator"),
    "SimulatorConfig": ("harness.segment.simulator", "SegmentSimulatorConfig"),
    "format_instant": ("contract.timestamps", "format_segment_time"),
    "segment_headers": ("contract.delivery", "delivery_headers"),
    "without_credentials": ("contract.endpoints", "without_credentials"),
}


def __getattr__(name: str) -> Any:
    """An old name still works for now, with a DeprecationWarning naming the new one."""
    if name not in _DEPRECATED:
        raise AttributeError(f"module 'harness.segment' has no attribute {name!r}")
    home, new = _DEPRECATED[name]
    warnings.warn(
        f"harness.segment.{name} is deprecated: use {home}.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(import_module(home), new)
