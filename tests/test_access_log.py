"""The access log: one JSON line per request with method, path, status and time; never a key."""

from __future__ import annotations

import io

import orjson
import requests

from reference_impl import Store, create_app, running_server
from tests.conftest import API_KEY, basic_auth


def test_each_request_is_one_json_line_without_the_key(store: Store) -> None:
    stream = io.StringIO()
    with running_server(create_app(store, API_KEY, access_log=stream)) as url:
        payload = {"type": "identify", "timestamp": "2020-05-31T17:55:47Z", "email": "a@b.co"}
        requests.post(f"{url}/segment", json=payload, headers=basic_auth())
        requests.post(f"{url}/segment", json=payload)
        requests.get(f"{url}/nope", headers=basic_auth())
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/segment", 200),
        ("POST", "/segment", 401),
        ("GET", "/nope", 404),
    ]
    assert all(isinstance(line["ms"], float) for line in lines)
    assert API_KEY not in stream.getvalue()
