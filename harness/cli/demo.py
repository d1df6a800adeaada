"""`nat-harness demo`: a short tour of the contract against a local reference destination."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
import requests
from rich.console import Console
from rich.table import Table

from contract.credentials import basic_authorization
from contract.endpoints import SEGMENT_PATH, endpoint_of
from harness.cli._app import app
from reference_impl import Store, create_app, running_server

_KEY = "demo-key"
_TS = "2020-05-31T17:55:47.263Z"

#: (what it shows, payload): the doc's three formats, then calls that show the rules at work.
_TOUR: tuple[tuple[str, Any], ...] = (
    (
        "recommended format",
        {
            "type": "identify",
            "timestamp": _TS,
            "traits": {"email": "peter@example.com"},
            "page": {"url": "https://example.com"},
        },
    ),
    (
        "alternative 1: flat email",
        {"timestamp": _TS, "type": "identify", "email": "test@example.com"},
    ),
    (
        "alternative 2: flat email + event",
        {
            "timestamp": _TS,
            "type": "identify",
            "email": "jane@example.com",
            "event": "User logged in",
        },
    ),
    (
        "same contact, same UTC day",
        {
            "type": "identify",
            "timestamp": "2020-05-31T21:10:00+02:00",
            "traits": {"email": " Peter@Example.com "},
            "page": {"url": "https://example.com/again"},
        },
    ),
    (
        "same contact, next UTC day",
        {
            "type": "identify",
            "timestamp": "2020-06-01T08:00:00Z",
            "traits": {"email": "peter@example.com"},
        },
    ),
    ("malformed: no email", {"type": "identify", "timestamp": _TS, "traits": {"name": "Ann"}}),
    (
        "malformed: no time zone",
        {"type": "identify", "timestamp": "2020-05-31T17:55:47", "email": "ann@example.com"},
    ),
    ("other type", {"type": "track", "event": "Order Completed", "timestamp": _TS}),
)


def _answer_text(body: dict[str, Any]) -> str:
    if "outcome" in body:
        return f"{body['outcome']} {body['day']} · {body['description']}"
    return str(body["message"])


@app.command("demo")
def demo_command() -> None:
    """Send the doc's examples and a few bad calls to a local reference destination over HTTP,
    and show each answer and the resulting timeline.

    Example:

        nat-harness demo
    """
    console = Console()
    auth = {"Authorization": basic_authorization(_KEY)}
    with tempfile.TemporaryDirectory() as scratch:
        store = Store(Path(scratch) / "demo.db")
        with running_server(create_app(store, _KEY)) as url, requests.Session() as http:
            http.headers.update(auth)
            endpoint = endpoint_of(url)
            console.print(f"Reference Nat destination at [bold]{endpoint}[/] (temporary SQLite)")
            answers = Table(title=f"POST {SEGMENT_PATH}", show_lines=False)
            for column in ("call", "status", "answer"):
                answers.add_column(column)
            for label, payload in _TOUR:
                response = http.post(
                    endpoint,
                    data=orjson.dumps(payload),
                    headers={"Content-Type": "application/json"},
                )
                style = "green" if response.status_code == 200 else "red"
                answers.add_row(
                    label, f"[{style}]{response.status_code}[/]", _answer_text(response.json())
                )
            console.print(answers)
            entries = http.get(f"{url}/contacts/peter@example.com/timeline").json()["entries"]
            timeline = Table(title="Timeline of peter@example.com (one entry per UTC day)")
            for column in ("day", "description", "from"):
                timeline.add_column(column)
            for entry in entries:
                timeline.add_row(entry["day"], entry["description"], entry["description_source"])
            console.print(timeline)
        store.close()
