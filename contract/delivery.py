"""How Segment calls a partner destination: the headers of each POST and the time it waits.

CONTRACT A.1 and A.3. The harness (`harness.target`, `harness.load`) and the Segment simulator's
delivery both send exactly these, so what a destination sees cannot differ between them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

import orjson

from contract.credentials import basic_authorization

__all__ = [
    "SEGMENT_HEADERS",
    "SEGMENT_TIMEOUT_S",
    "delivery_headers",
    "settings_header",
]

#: The headers Segment sends with every event to a partner destination, apart from
#: Authorization, Content-Type and X-Segment-Settings, which depend on the call.
SEGMENT_HEADERS: Mapping[str, str] = {
    "User-Agent": "Segment.io/1.0",
    "Accept": "*/*",
    "Cache-Control": "no-cache",
}
#: Segment gives a destination about 5 s to answer; a later answer is a timeout, retried.
SEGMENT_TIMEOUT_S = 5.0


def settings_header(settings: Mapping[str, object] | None = None) -> str:
    """`X-Segment-Settings`: base64 of the JSON of every destination setting but the API key."""
    shown = {name: value for name, value in (settings or {}).items() if name != "apiKey"}
    return base64.b64encode(orjson.dumps(shown)).decode("ascii")


def delivery_headers(api_key: str, settings: Mapping[str, object] | None = None) -> dict[str, str]:
    """Every header of one delivery of a JSON event, as Segment sends it."""
    return {
        "Authorization": basic_authorization(api_key),
        "Content-Type": "application/json",
        **SEGMENT_HEADERS,
        "X-Segment-Settings": settings_header(settings),
    }
