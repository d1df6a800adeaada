"""The API key in an Authorization header: Basic `base64(key:)` (as Segment sends it, CONTRACT
A.1) or Bearer `key` (B.2), written and read.

The harness writes headers with `basic_authorization`; the reference destination, the `responses`
stand-in and the simulator's tracking API read them with `read_credentials`, so a header is
readable or not the same way everywhere. A header is bytes on the wire (starlette hands it on
decoded as Latin-1); any value, valid or not, gives credentials or None and never raises: bytes
that are not UTF-8 text give None, which the destination answers 401.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal

__all__ = ["Credentials", "basic_authorization", "bearer_authorization", "read_credentials"]


def basic_authorization(key: str) -> str:
    """The Authorization value Segment sends for `key`: `Basic base64(key + ":")`."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")


def bearer_authorization(key: str) -> str:
    """The Bearer Authorization value the contract also accepts for `key` (CONTRACT B.2)."""
    return f"Bearer {key}"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The scheme a header used and the key it carried (the Basic user name, or the token)."""

    scheme: Literal["basic", "bearer"]
    key: str


def read_credentials(authorization: str | bytes) -> Credentials | None:
    """The key in a Basic or Bearer `authorization` value; None when it is not readable text.

    Basic is `base64(key:)` (the colon is optional); its decoded bytes and a Bearer token must
    be UTF-8. A Bearer token must not be empty; a Basic key may be (the caller decides).
    """
    scheme, _, credentials = _raw(authorization).strip().partition(b" ")
    credentials = credentials.strip()
    try:
        if scheme.lower() == b"bearer":
            token = credentials.decode("utf-8")
            return Credentials("bearer", token) if token else None
        if scheme.lower() == b"basic":
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            return Credentials("basic", decoded.partition(":")[0])
    except (binascii.Error, UnicodeDecodeError):
        return None
    return None


def _raw(value: str | bytes) -> bytes:
    """The header's bytes: a str from starlette is their Latin-1 decoding, so it is reversed.

    A str that is no Latin-1 (only an in-process caller can pass one) is taken as the text it
    is; lone surrogates survive as bytes that are not UTF-8, so that key is unreadable.
    """
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
