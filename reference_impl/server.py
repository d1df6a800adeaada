"""Running the reference destination under uvicorn: in the foreground (`nat-harness serve`), with
several worker processes, or in a background thread for tests and the harness.

`serve` is configured by one `ServerConfig`, checked as it is built; uvicorn hands it to each
worker process inside the app factory it pickles (`functools.partial(app_for, config)`).
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from contract.settings import SettingError
from reference_impl.access_log import buffered_stderr
from reference_impl.app import Faults, create_app
from reference_impl.protocol import ConnectionLimits, uvicorn_options
from reference_impl.store import Store

__all__ = ["ServerConfig", "app_for", "day_zone_named", "running_server", "serve"]


def day_zone_named(name: str) -> tzinfo:
    """The IANA time zone `name` (`UTC` by default), or a SettingError saying what is accepted."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(
            "day_timezone",
            f"{name!r} is an unknown time zone: use an IANA name such as UTC, Europe/Paris "
            "or America/New_York",
        ) from None


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything `nat-harness serve` needs, checked as it is built (a SettingError names the
    field). `port` 0 picks a free port."""

    api_key: str
    db_path: str
    host: str = "127.0.0.1"
    port: int = 8765
    day_timezone: str = "UTC"
    workers: int = 1
    access_log: bool = True
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise SettingError(
                "api_key",
                "is missing: Segment sends the key of the destination's settings; any non-empty "
                "string works locally",
            )
        if not self.db_path:
            raise SettingError("db_path", "is empty: give the SQLite database file to use")
        if not 0 <= self.port <= 65535:
            raise SettingError("port", f"must be 0 (any free port) to 65535, got {self.port}")
        if self.workers < 1:
            raise SettingError("workers", f"must be at least 1 process, got {self.workers}")
        day_zone_named(self.day_timezone)


def app_for(config: ServerConfig) -> ASGIApp:
    """The app one server process serves for `config` (uvicorn calls it in each worker)."""
    return create_app(
        Store(config.db_path),
        config.api_key,
        day_zone=day_zone_named(config.day_timezone),
        faults=config.faults if config.faults.active else None,
        access_log=buffered_stderr() if config.access_log else None,
        close_store_on_shutdown=True,  # a clean stop checkpoints and truncates the log
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _exit_quietly(signum: int, frame: object) -> None:
    sys.exit(0)


def serve(config: ServerConfig, *, announce: bool = True) -> None:
    """Serve until Ctrl-C or SIGTERM. Prints the URL and where the data lives once listening."""
    Path(config.db_path).parent.mkdir(parents=True, exist_ok=True)
    Store(config.db_path).close()  # create the tables once, before any worker races to
    sock = _bind(config.host, config.port)
    port = sock.getsockname()[1]
    uvicorn_config = uvicorn.Config(
        partial(app_for, config),  # pickled whole into each worker process
        factory=True,
        workers=config.workers,
        access_log=False,
        log_level="warning",
        lifespan="on",
        **uvicorn_options(),
    )
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: let that end the process with 0.
    signal.signal(signal.SIGTERM, _exit_quietly)
    if announce:
        print(
            f"Nat reference destination listening on {_url(config.host, port)}/segment", flush=True
        )
        print(f"Data: {Path(config.db_path).resolve()} (SQLite, WAL)", flush=True)
        print(f"Workers: {config.workers}; day time zone: {config.day_timezone}", flush=True)
    with closing(sock):
        if config.workers > 1:
            Multiprocess(uvicorn_config, sockets=[sock]).run()
        else:
            uvicorn.Server(uvicorn_config).run(sockets=[sock])


@contextmanager
def running_server(
    app: ASGIApp, host: str = "127.0.0.1", *, limits: ConnectionLimits | None = None
) -> Iterator[str]:
    """Serve `app` from a background thread on a free port; yields the base URL, stops on exit."""
    sock = _bind(host, 0)
    server = uvicorn.Server(
        uvicorn.Config(
            app, access_log=False, log_level="warning", lifespan="off", **uvicorn_options(limits)
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the reference destination failed to start")
            time.sleep(0.005)
        yield _url(host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
