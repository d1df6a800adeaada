"""Starting servers for the benchmarks: free ports, waiting for them, pinning them to a CPU."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


@contextmanager
def pinned_process(command: list[str], cpu: int | str, port: int) -> Iterator[int]:
    """Run `command` on the given CPU(s) until it listens on `port`; yields its pid (taskset
    execs the command itself) and stops it afterwards."""
    process = subprocess.Popen(
        ["taskset", "-c", str(cpu), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def nat_serve(port: int, db: Path, api_key: str, *, access_log: bool = False) -> list[str]:
    """The command line of `nat-harness serve` with a fresh database."""
    flag = "--access-log" if access_log else "--no-access-log"
    return [sys.executable, "-m", "harness", "serve", "--api-key", api_key, "--port", str(port),
            "--db", str(db), flag]  # fmt: skip
