"""Helpers shared by the test modules: payloads, ports, the golden file, process groups.

One home for each, so a test module never restates how an identify call or a free port is made.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest

#: The timestamp the hand-written calls carry unless a test gives another (Segment's style).
TIMESTAMP = "2020-05-31T17:55:47.263Z"
GOLDEN = Path(__file__).resolve().parent / "golden" / "catalogue.json"
#: Pass as `timestamp=` to leave the field out (None sends a JSON null).
ABSENT: Any = object()


def identify(
    email: str | None = None, /, *, timestamp: Any = TIMESTAMP, **fields: Any
) -> dict[str, Any]:
    """An identify call: `type`, `timestamp`, `traits.email` when `email` is given (merged with
    any `traits=`), then `fields` as they are (`email=` is the flat format's top-level email)."""
    payload: dict[str, Any] = {"type": "identify"}
    if timestamp is not ABSENT:
        payload["timestamp"] = timestamp
    if email is not None:
        payload["traits"] = {"email": email, **fields.pop("traits", {})}
    payload.update(fields)
    return payload


def segment_identify(
    key: int | str,
    *,
    user: str = "user",
    message: str = "message",
    person: str | None = None,
    timestamp: Any = "2024-05-01T10:00:00.000Z",
    **fields: Any,
) -> dict[str, Any]:
    """An identify call as Segment delivers it, its ids and email made from `key`:
    `userId` `{user}-{key}`, `messageId` `{message}-{key}`, email `{person}-{key}@example.com`
    (just `{key}@example.com` when `person` is None)."""
    email = f"{key}@example.com" if person is None else f"{person}-{key}@example.com"
    payload: dict[str, Any] = {
        "type": "identify",
        "userId": f"{user}-{key}",
        "messageId": f"{message}-{key}",
        "traits": {"email": email},
    }
    if timestamp is not ABSENT:
        payload["timestamp"] = timestamp
    payload.update(fields)
    return payload


def free_port() -> int:
    """A loopback TCP port nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_nat_harness(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    columns: int = 160,
) -> tuple[int, str, str]:
    """Run `nat-harness <args>` in process, without NAT_API_KEY: (exit code, stdout, stderr)."""
    from harness.cli import main

    monkeypatch.setattr(sys, "argv", ["nat-harness", *args])
    monkeypatch.delenv("NAT_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", str(columns))
    with pytest.raises(SystemExit) as exit_:
        main()
    out, err = capsys.readouterr()
    code = exit_.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


@cache
def golden() -> dict[str, Any]:
    """The reviewed golden file of the catalogue and the sequences (tests/golden/make_golden.py)."""
    document: dict[str, Any] = orjson.loads(GOLDEN.read_bytes())
    return document


def stop_group(process: subprocess.Popen[Any], *, timeout: float = 10) -> None:
    """Stop a child started with `start_new_session=True` and everything it started: SIGTERM to
    its process group, then SIGKILL to whatever of the group is left (workers the parent left
    behind, or a parent that did not exit within `timeout`)."""
    group = process.pid  # a new session's leader: its pid is its group's id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait()


@dataclass(frozen=True, slots=True)
class Running:
    """A process found in /proc: its id and its command line."""

    pid: int
    command: str


def _started_with(pid: int, marker: bytes) -> Running | None:
    """The process `pid` if its environment at start holds `marker`, else None."""
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes()
        if marker not in environment.split(b"\0"):
            return None
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:  # gone meanwhile, or not ours to read
        return None
    return Running(pid, command.decode(errors="replace")) if command else None  # "" is a zombie


def _is_own_resource_tracker(running: Running, own: int) -> bool:
    """multiprocessing's resource tracker of this process: it lives as long as its parent (it
    reads a pipe until the parent exits), so it is no test's leak."""
    if "multiprocessing.resource_tracker" not in running.command:
        return False
    try:
        stat = Path(f"/proc/{running.pid}/stat").read_text()
    except OSError:
        return True  # gone meanwhile
    return int(stat.rpartition(")")[2].split()[1]) == own


def leaked_processes(owner: str, *, grace: float) -> list[Running]:
    """Processes whose environment says `owner` started them (`NAT_TESTS_OWNER`), other than
    this one, still alive after waiting up to `grace` seconds for each to exit (a pidfd)."""
    marker = f"NAT_TESTS_OWNER={owner}".encode()
    own = os.getpid()
    found = [
        running
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and int(entry.name) != own
        if (running := _started_with(int(entry.name), marker)) is not None
        if not _is_own_resource_tracker(running, own)
    ]
    deadline = time.monotonic() + grace
    alive = []
    for running in found:
        try:
            handle = os.pidfd_open(running.pid)
        except ProcessLookupError:
            continue
        try:
            exited, _, _ = select.select([handle], [], [], max(deadline - time.monotonic(), 0))
        finally:
            os.close(handle)
        if not exited and _started_with(running.pid, marker) is not None:
            alive.append(running)
    return alive
