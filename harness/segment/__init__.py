"""Segment's side of the pipe, locally: tracking API, pipeline, an outbox that keeps what was
acknowledged, delivery with retries and faults, a virtual clock, and Engage audience syncs."""

from harness.segment.clock import Agenda, VirtualClock, format_instant, parse_time_scale
from harness.segment.delivery import (
    DEFAULT_TIMEOUT,
    Delivery,
    Destination,
    segment_headers,
    without_credentials,
)
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
from harness.segment.retry import FOUR_HOURS, RETRYABLE_STATUSES, RetryPolicy, Verdict, classify
from harness.segment.simulator import (
    Shutdown,
    Simulator,
    SimulatorConfig,
    Tally,
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
    "OUTBOX_FILE",
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
    "Shutdown",
    "Simulator",
    "SimulatorConfig",
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
    "format_instant",
    "parse_time_scale",
    "run_engage",
    "running_simulator",
    "segment_headers",
    "snake_case",
    "without_credentials",
]
