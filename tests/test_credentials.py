"""The one Authorization parser both servers use: every header value gives a key or None."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.credentials import Credentials, read_credentials


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        ("Basic " + base64.b64encode(b"k:").decode(), Credentials("basic", "k")),
        ("basic " + base64.b64encode(b"k").decode(), Credentials("basic", "k")),
        ("Basic " + base64.b64encode(b":").decode(), Credentials("basic", "")),
        ("Basic " + base64.b64encode("clé:".encode()).decode(), Credentials("basic", "clé")),
        ("Bearer k", Credentials("bearer", "k")),
        ("  BEARER   k  ", Credentials("bearer", "k")),
        # starlette hands header bytes on decoded as Latin-1: UTF-8 bytes of a token arrive so.
        ("Bearer " + "clé".encode().decode("latin-1"), Credentials("bearer", "clé")),
        (b"Bearer cl\xc3\xa9", Credentials("bearer", "clé")),
        ("Bearer ", None),
        ("Basic not-base64!", None),
        ("Basic " + base64.b64encode(b"\xff:").decode(), None),
        ("Basic \xff", None),
        (b"Basic \xff", None),
        ("Basic é", None),
        ("Basic " + "é".encode().decode("latin-1"), None),
        ("Bearer \xff", None),
        ("Bearer \ud800", None),
        ("Basic \u4e2d", None),
        ("Digest k", None),
        ("", None),
    ],
    ids=["basic", "basic-without-colon", "basic-empty-key", "basic-utf8-key", "bearer",
         "bearer-spaced", "bearer-utf8-as-latin1", "bearer-bytes", "bearer-empty",
         "basic-garbage", "basic-not-utf8", "basic-latin1-byte", "basic-raw-byte",
         "basic-e-acute", "basic-utf8-e-acute", "bearer-not-utf8", "bearer-lone-surrogate",
         "basic-cjk", "other-scheme", "empty"],
)  # fmt: skip
def test_the_key_is_read_from_basic_or_bearer(
    authorization: str | bytes, expected: Credentials | None
) -> None:
    assert read_credentials(authorization) == expected


@given(st.one_of(st.text(), st.binary()))
def test_any_header_value_gives_credentials_or_none(authorization: str | bytes) -> None:
    credentials = read_credentials(authorization)
    if credentials is not None:
        credentials.key.encode("utf-8")  # always text a server can compare
        assert credentials.scheme in ("basic", "bearer")


@given(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40).filter(lambda k: ":" not in k)
)
def test_a_key_sent_as_segment_sends_it_reads_back(key: str) -> None:
    header = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    assert read_credentials(header) == Credentials("basic", key)
