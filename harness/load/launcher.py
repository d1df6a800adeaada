"""Starting a load run: the reference destination when no target is given, the harness's
preflight (is it a Nat destination that takes the key?), then Locust with the shipped Locust
file, in its own process.

Locust runs in a child process because it patches the standard library (gevent) as it is
imported; the child writes the run's summary to a file that `run_load` reads back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from contract.delivery import SEGMENT_TIMEOUT_S
from contract.endpoints import (
    EXAMPLE_ENDPOINT,
    SEGMENT_PATH,
    endpoint_of,
    is_http_url,
    require_http_url,
)
from harness.errors import SettingError, TargetUnreachable, UsageError
from harness.load.summary import SUMMARY_VARIABLES, read_summary
from harness.preflight import preflight
from harness.target import Destination
from scenarios import format_mix

__all__ = ["LoadConfig", "LoadResult", "endpoint_parts", "locust_command", "run_load"]

#: The key of the reference destination started when no target is given.
EMBEDDED_KEY = "local-nat-key"
#: Locust's own default port for workers to reach the master.
LOCUST_MASTER_PORT = 5557
Role = Literal["local", "master", "worker"]


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """Everything one `nat-harness load` run needs."""

    target: str | None = None
    api_key: str | None = None
    users: int = 10
    spawn_rate: float | None = None
    run_time: str | None = None
    rate: float | None = None
    mix: dict[str, int] | None = None
    sequence_share: float = 0.1
    seed: int = 0
    processes: int = 1
    headless: bool = True
    csv_prefix: Path | None = None
    html: Path | None = None
    timeout: float = SEGMENT_TIMEOUT_S
    role: Role = "local"
    master_host: str = "127.0.0.1"
    master_port: int = LOCUST_MASTER_PORT
    expect_workers: int = 1
    web_port: int = 8089
    extra: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.target is not None:
            require_http_url("target", self.target)
        if self.users < 1:
            raise SettingError("users", f"must be 1 or more, got {self.users}")
        if self.processes < 1:
            raise SettingError("processes", f"must be 1 or more, got {self.processes}")
        if not 0 <= self.sequence_share <= 1:
            raise SettingError(
                "sequence_share",
                f"must be 0 to 1 (the share of senders running sequences), got "
                f"{self.sequence_share}",
            )
        if self.rate is not None and self.rate <= 0:
            raise SettingError("rate", f"must be more than 0 calls a second, got {self.rate}")
        if self.timeout <= 0:
            raise SettingError("timeout", f"must be more than 0 seconds, got {self.timeout}")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """How a run ended: Locust's exit code and the summary it wrote (None if it wrote none)."""

    returncode: int
    summary: dict[str, Any] | None
    target: str
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 every answer was right; 1 some were wrong or missing; 130 interrupted."""
        if self.interrupted or self.returncode in (130, -signal.SIGINT):
            return 130
        if self.summary is None:
            return 1 if self.returncode == 0 else self.returncode
        tally = self.summary["tally"]
        failed = sum(tally["failures"].values())
        return 1 if failed or not tally["judged"] else 0


def endpoint_parts(target: str) -> tuple[str, str]:
    """`(origin, path)` of a target URL; a bare origin means `<origin>/segment`."""
    if not is_http_url(target):
        raise UsageError(
            f"target {target!r} is not an http(s) URL: give one like {EXAMPLE_ENDPOINT}"
        )
    parts = urlsplit(endpoint_of(target))
    origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return origin, parts.path + (f"?{parts.query}" if parts.query else "")


def locust_command(
    config: LoadConfig, origin: str | None, summary: Path | None, locustfile: Path
) -> list[str]:
    """The Locust command line for `config` (the key and the traffic settings go by environment)."""
    command = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    if config.role == "worker":
        command += ["--worker", "--master-host", config.master_host]
        command += ["--master-port", str(config.master_port)]
        if config.processes > 1:
            command += ["--processes", str(config.processes)]
        return [*command, *config.extra]
    assert origin is not None
    spawn_rate = config.spawn_rate if config.spawn_rate is not None else config.users
    command += ["--host", origin, "--users", str(config.users)]
    command += ["--spawn-rate", f"{spawn_rate:g}"]
    if config.headless:
        command += ["--headless", "--run-time", config.run_time or "1m"]
    else:
        command += ["--web-host", "127.0.0.1", "--web-port", str(config.web_port)]
        if config.run_time:
            command += ["--run-time", config.run_time]
    if config.role == "master":
        command += ["--master", "--master-bind-port", str(config.master_port)]
        command += ["--expect-workers", str(config.expect_workers)]
    elif config.processes > 1:
        port = _free_port()
        command += ["--processes", str(config.processes)]
        command += ["--master-bind-port", str(port), "--master-port", str(port)]
    if config.csv_prefix is not None:
        command += ["--csv", str(config.csv_prefix)]
    if config.html is not None:
        command += ["--html", str(config.html)]
    if summary is not None:
        command += ["--nat-summary", str(summary)]
    return [*command, *config.extra]


def _environment(config: LoadConfig, path: str, api_key: str) -> dict[str, str]:
    names = SUMMARY_VARIABLES
    variables = {
        **os.environ,
        "NAT_API_KEY": api_key,
        names["path"]: path,
        names["seed"]: str(config.seed),
        names["sequence_share"]: f"{config.sequence_share:g}",
        names["timeout"]: f"{config.timeout:g}",
        names["user_rate"]: f"{(config.rate or 0) / config.users:g}",
    }
    if config.mix is not None:
        variables[names["mix"]] = format_mix(config.mix)
    return variables


def run_load(config: LoadConfig, *, on_target: Any = None) -> LoadResult:
    """Run Locust to the end for `config`; `on_target(url)` is called once the target is known."""
    from harness.load import LOCUSTFILE

    with tempfile.TemporaryDirectory(prefix="nat-load-") as directory:
        summary = Path(directory) / "summary.json"
        if config.role == "worker":
            command = locust_command(config, None, None, LOCUSTFILE)
            environment = _environment(config, SEGMENT_PATH, config.api_key or "")
            returncode, interrupted = _run(command, environment)
            return LoadResult(returncode, None, "", interrupted)
        with _target(config, Path(directory)) as (target, api_key):
            origin, path = endpoint_parts(target)
            with Destination(origin + path, api_key, timeout=config.timeout) as destination:
                preflight(destination, None)  # exit 2 with one sentence if it is no Nat destination
            if on_target is not None:
                on_target(origin + path)
            command = locust_command(config, origin, summary, LOCUSTFILE)
            returncode, interrupted = _run(command, _environment(config, path, api_key))
            return LoadResult(returncode, read_summary(summary), origin + path, interrupted)


def _run(command: list[str], environment: dict[str, str]) -> tuple[int, bool]:
    """Run Locust in the foreground: its exit code, and whether Ctrl-C ended it.

    Ctrl-C reaches Locust too (the same process group), which stops and writes its summary.
    """
    process = subprocess.Popen(command, env=environment)
    try:
        return process.wait(), False
    except KeyboardInterrupt:
        try:
            return process.wait(timeout=30), True
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(), True


@contextmanager
def _target(config: LoadConfig, directory: Path) -> Iterator[tuple[str, str]]:
    """The target and its key: the given ones, or the reference destination on a free port."""
    if config.target is not None:
        if not config.api_key:
            raise SettingError("api_key", "is missing: a target needs the destination's API key")
        yield config.target, config.api_key
        return
    with embedded_reference(directory) as url:
        yield url, EMBEDDED_KEY


@contextmanager
def embedded_reference(directory: Path) -> Iterator[str]:
    """`nat-harness serve` on a free port and a fresh database, in its own process."""
    command = [
        sys.executable, "-m", "harness", "serve", "--port", "0", "--no-access-log",
        "--api-key", EMBEDDED_KEY, "--db", str(directory / "nat.db"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        if " on http" not in banner:
            raise TargetUnreachable("the reference destination did not start: " + banner.strip())
        yield banner.split(" on ", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
