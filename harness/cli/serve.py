"""`nat-harness serve`: run the reference Nat destination over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli._app import app
from harness.errors import UsageError
from reference_impl.app import Faults
from reference_impl.server import ServerConfig, serve


@app.command("serve")
def serve_command(
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="NAT_API_KEY",
            help="The destination's API key (Segment sends it as Basic base64(key + ':')).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8765,
    db: Annotated[Path, typer.Option(help="SQLite database file (created if missing).")] = Path(
        "nat-destination.db"
    ),
    day_timezone: Annotated[
        str, typer.Option(help="IANA time zone whose calendar day counts for deduplication.")
    ] = "UTC",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes sharing the database.")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="One JSON line per request on stderr (never keys).")
    ] = True,
    fail_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of POST /segment answered --fail-status.")
    ] = 0.0,
    fail_status: Annotated[int, typer.Option(help="Status of injected failures.")] = 503,
    slow_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of POST /segment answered late.")
    ] = 0.0,
    slow_seconds: Annotated[float, typer.Option(help="How late a slow answer is.")] = 6.0,
    fault_seed: Annotated[
        int | None, typer.Option(help="Seed for which requests fail or are slow.")
    ] = None,
) -> None:
    """Serve the reference Nat destination: POST /segment plus the read API, on SQLite.

    Example:

        nat-harness serve --api-key secret --port 8765 --db ./nat.db

        curl -u secret: -H 'Content-Type: application/json' http://127.0.0.1:8765/segment \\
          -d '{"type":"identify","timestamp":"2020-05-31T17:55:47.263Z",
               "traits":{"email":"peter@example.com"}}'
    """
    config = ServerConfig(
        api_key=api_key or "",
        db_path=str(db),
        host=host,
        port=port,
        day_timezone=day_timezone,
        workers=workers,
        access_log=access_log,
        faults=Faults(fail_rate, fail_status, slow_rate, slow_seconds, fault_seed),
    )
    try:
        serve(config)
    except OSError as error:
        raise UsageError(str(error)) from None
