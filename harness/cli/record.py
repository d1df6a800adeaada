"""`nat-harness record`: a proxy in front of a destination that records every exchange."""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from harness.cli._app import app
from harness.config import RunConfig
from harness.errors import UsageError
from harness.proxy import recording_proxy
from harness.recording import RecordingWriter


@app.command("record")
def record_command(
    forward: Annotated[
        str,
        typer.Option(
            help="The destination to forward to (its origin; paths are kept).", show_default=False
        ),
    ],
    listen: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: a free one, printed).")
    ] = 8766,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    out: Annotated[Path, typer.Option(help="The recording to write (JSON Lines).")] = Path(
        "nat-recording.jsonl"
    ),
) -> None:
    """Record what a destination is sent and answers: a proxy that forwards each request
    unchanged, returns the answer unchanged and appends the exchange to --out.

    API keys are masked in the file. Stops on Ctrl-C or SIGTERM, with every
    exchange written (each line is flushed as it happens).

    Example:

        nat-harness record --listen 8766 --forward http://127.0.0.1:8765 \\
            --out traffic.jsonl

        (then point the sender at http://127.0.0.1:8766/segment)
    """
    RunConfig(target=forward, api_key="-")  # the same URL check as --target
    if out.is_dir() or not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise UsageError(f"--out {out}: give a file in an existing directory")
    console = Console(stderr=True, highlight=False)
    try:
        listener = socket.create_server((host, listen))
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{listen}: {error.strerror or error}") from None
    port = listener.getsockname()[1]
    writer = RecordingWriter(out, forward)
    server = uvicorn.Server(
        uvicorn.Config(
            recording_proxy(forward, writer), access_log=False, log_level="warning", lifespan="off"
        )
    )
    # Listening already: a sender may connect as soon as this line is out.
    console.print(
        f"recording proxy on http://{host}:{port} -> {forward}, writing {out} (Ctrl-C stops)"
    )
    # uvicorn stops gracefully on SIGTERM as on Ctrl-C, then re-raises it: end with 0 instead.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        with listener, contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop
            server.run(sockets=[listener])
    finally:
        writer.close()
        console.print(f"recorded {writer.count} exchanges to {out}")
