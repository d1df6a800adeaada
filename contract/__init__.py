"""The facts of the Segment-Nat contract, each written once: what Segment sends and retries,
how keys, URLs and times are written and read, the size limits, the statuses.

The bottom layer: it imports nothing else of this project, and every other package (the
reference destination, the scenarios, the harness, the Segment simulator, the docs) reads these
facts from here. The acceptance rules themselves are `reference_impl.rules`.
"""

from contract.credentials import (
    Credentials,
    basic_authorization,
    bearer_authorization,
    read_credentials,
)
from contract.delivery import SEGMENT_HEADERS, SEGMENT_TIMEOUT_S, delivery_headers, settings_header
from contract.endpoints import (
    EXAMPLE_ENDPOINT,
    SEGMENT_PATH,
    address_of,
    endpoint_of,
    is_http_url,
    read_api_base_of,
    require_http_url,
    without_credentials,
)
from contract.engage import ComputationClass, engage_identify
from contract.limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
    MAX_MESSAGE_ID_LENGTH,
    MAX_NESTING_DEPTH,
    SEGMENT_MAX_EVENT_BYTES,
)
from contract.read_api import (
    CONTACT_PATH,
    HEALTH_PATH,
    RESET_PATH,
    STATS_PATH,
    TIMELINE_PATH,
    contact_url,
    timeline_url,
)
from contract.retry import (
    NOT_RETRIED_5XX,
    RETRY_WINDOW,
    RETRY_WINDOW_S,
    RETRYABLE_STATUSES,
    is_success,
    retry_rule_in_words,
    segment_action,
    segment_fate,
    segment_retries,
)
from contract.settings import SettingError
from contract.statuses import NAT_STATUSES, StatusRow
from contract.timestamps import (
    format_precise_time,
    format_segment_time,
    parse_iso_instant,
    parse_rfc3339,
)

__all__ = [
    "CONTACT_PATH",
    "EXAMPLE_ENDPOINT",
    "HEALTH_PATH",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_BODY_BYTES",
    "MAX_MESSAGE_ID_LENGTH",
    "MAX_NESTING_DEPTH",
    "NAT_STATUSES",
    "NOT_RETRIED_5XX",
    "RESET_PATH",
    "RETRYABLE_STATUSES",
    "RETRY_WINDOW",
    "RETRY_WINDOW_S",
    "SEGMENT_HEADERS",
    "SEGMENT_MAX_EVENT_BYTES",
    "SEGMENT_PATH",
    "SEGMENT_TIMEOUT_S",
    "STATS_PATH",
    "TIMELINE_PATH",
    "ComputationClass",
    "Credentials",
    "SettingError",
    "StatusRow",
    "address_of",
    "basic_authorization",
    "bearer_authorization",
    "contact_url",
    "delivery_headers",
    "endpoint_of",
    "engage_identify",
    "format_precise_time",
    "format_segment_time",
    "is_http_url",
    "is_success",
    "parse_iso_instant",
    "parse_rfc3339",
    "read_api_base_of",
    "read_credentials",
    "require_http_url",
    "retry_rule_in_words",
    "segment_action",
    "segment_fate",
    "segment_retries",
    "settings_header",
    "timeline_url",
    "without_credentials",
]
