"""Segment's side of the pipe, locally: tracking API, pipeline, delivery with retries and faults,
a virtual clock, and Engage audience syncs."""

from harness.segment.clock import Agenda, VirtualClock, format_instant, parse_time_scale
from harness.segment.delivery import DEFAULT_TIMEOUT, Delivery, Destination, segment_headers
from harness.segment.engage import (
    COMPUTED_TRAITS,
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
from harness.segment.ingest import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    create_ingest_app,
)
from harness.segment.journal import STATUSES, Journal, JournalEntry
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
from harness.segment.retry import FOUR_HOURS, RETRYABLE_STATUSES, RetryPolicy, Verdict, classify
from harness.segment.simulator import (
    Simulator,
    SimulatorConfig,
    embedded_destination,
    running_simulator,
)

__all__ = [
    "COMPUTED_TRAITS",
    "DAY",
    "DEFAULT_TIMEOUT",
    "FOUR_HOURS",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_EVENT_BYTES",
    "MESSAGE_TYPES",
    "NAT_NAMES",
    "RETRYABLE_STATUSES",
    "STATUSES",
    "Agenda",
    "Delivery",
    "DeliveryFaults",
    "Destination",
    "EngageConfig",
    "EngageSimulation",
    "EngageSummary",
    "Filtered",
    "Forward",
    "Journal",
    "JournalEntry",
    "MembershipReport",
    "Mismatch",
    "Pipeline",
    "Profile",
    "RetryPolicy",
    "Simulator",
    "SimulatorConfig",
    "Sync",
    "UnstorableEvent",
    "Verdict",
    "VirtualClock",
    "check_membership",
    "classify",
    "create_ingest_app",
    "embedded_destination",
    "enabled_for",
    "format_instant",
    "parse_time_scale",
    "run_engage",
    "running_simulator",
    "segment_headers",
    "snake_case",
]
