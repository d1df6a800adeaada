"""Where events go: a destination's endpoint URL, from what a person typed.

An endpoint is an absolute http(s) URL. A bare origin means `<origin>/segment`, the path the
reference destination takes events on (CONTRACT B.1), and its read API (B.11) hangs off the
endpoint's parent path. `nat-harness run`, `load`, `simulate` and the `responses` stand-in all
read URLs here.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from contract.settings import SettingError

__all__ = [
    "EXAMPLE_ENDPOINT",
    "SEGMENT_PATH",
    "address_of",
    "endpoint_of",
    "is_http_url",
    "read_api_base_of",
    "require_http_url",
    "without_credentials",
]

#: The path the reference destination takes Segment's events on.
SEGMENT_PATH = "/segment"
#: An endpoint as people are shown one in an error: the reference served locally.
EXAMPLE_ENDPOINT = "http://127.0.0.1:8765/segment"


def is_http_url(url: str) -> bool:
    """Whether `url` is an absolute http or https URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an invalid port or IPv6 literal
        return False


def require_http_url(setting: str, url: str) -> None:
    """A config record's check of a URL setting: a SettingError naming `setting` unless `url` is
    an http(s) URL."""
    if not is_http_url(url):
        raise SettingError(
            setting, f"{url!r} is not an http(s) URL: give one like {EXAMPLE_ENDPOINT}"
        )


def address_of(url: str) -> tuple[str, int]:
    """The (host, port) a connection to `url` opens: its port, else 443 for https, 80 for http."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def endpoint_of(url: str) -> str:
    """The URL events are POSTed to: `url` itself, or `<origin>/segment` when it has no path.

    A fragment is dropped (it is never sent); a query is kept. `url` must be an http(s) URL.
    """
    parts = urlsplit(url)
    path = parts.path if parts.path not in ("", "/") else SEGMENT_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def read_api_base_of(endpoint: str) -> str:
    """Where the reference read API lives for an endpoint: its parent path, without a query."""
    parts = urlsplit(endpoint)
    parent = parts.path.rstrip("/").rpartition("/")[0]
    return urlunsplit((parts.scheme, parts.netloc, parent, "", ""))


def without_credentials(url: str) -> str:
    """`url` fit to print: a user and password in it are shown as `***`."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))
