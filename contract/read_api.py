"""The reference destination's read API (CONTRACT B.11): its paths, and a contact's URLs.

Only the reference has it; a destination under test need not. The reference app and the
`responses` stand-in serve these paths, the OpenAPI document describes them, and the harness's
read-back probe and the Engage membership check read them.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "CONTACT_PATH",
    "HEALTH_PATH",
    "RESET_PATH",
    "STATS_PATH",
    "TIMELINE_PATH",
    "contact_url",
    "timeline_url",
]

#: A contact's user properties; `{email}` is any text, slashes included.
CONTACT_PATH = "/contacts/{email}"
#: A contact's timeline entries, oldest day first.
TIMELINE_PATH = "/contacts/{email}/timeline"
#: Counts of contacts, entries and messageIds (behind the key).
STATS_PATH = "/stats"
#: Forget everything (behind the key).
RESET_PATH = "/reset"
#: Liveness, without the key.
HEALTH_PATH = "/health"


def contact_url(base: str, email: str) -> str:
    """The URL of the contact `email` under the read API at `base`."""
    return base.rstrip("/") + CONTACT_PATH.format(email=quote(email, safe="@"))


def timeline_url(base: str, email: str) -> str:
    """The URL of the timeline of `email` under the read API at `base`."""
    return base.rstrip("/") + TIMELINE_PATH.format(email=quote(email, safe="@"))
