"""`nat-harness simulate segment` as a real process for tests: started in its own process
group, its output read line by line on a thread, every wait bounded, killed at the end."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

WAIT = 60.0  # seconds any one wait may take before the test fails
SUMMARY = re.compile(
    r"Stopped\. accepted (?P<accepted>\d+), restored (?P<restored>\d+): filtered "
    r"(?P<filtered>\d+), delivered (?P<delivered>\d+), dropped (?P<dropped>\d+), kept "
    r"(?P<kept>\d+)"
)


class Running:
    """A `nat-harness simulate segment` process in its own process group, its output read
    line by line on a thread so that waits are bounded."""

    def __init__(self, *arguments: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harness", "simulate", "segment", "--port", "0", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        banner = self.wait_for_line("Segment tracking API on ")
        self.url = banner.split(" on ", 1)[1].split("/v1/", 1)[0]
        self.wait_for_line("Data: ")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, prefix: str) -> str:
        deadline = time.monotonic() + WAIT
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the simulator ended before {prefix!r}: {self.lines}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting {prefix!r} within {WAIT:g} s: {self.lines}")

    def send(self, events: list[dict[str, Any]]) -> None:
        answer = requests.post(f"{self.url}/v1/batch", json={"batch": events}, timeout=10)
        assert answer.status_code == 200, answer.text

    def status(self) -> dict[str, Any]:
        answer = requests.get(f"{self.url}/status", timeout=10)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def wait_until(self, what: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Poll GET /status until `done` says yes about it (bounded)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            status = self.status()
            if done(status):
                return status
            time.sleep(0.02)
        raise AssertionError(f"{what} did not happen within {WAIT:g} s: {self.status()}")

    def stop(self, signum: int) -> tuple[int, dict[str, int]]:
        """Send `signum`; the exit code and the summary's counts."""
        self.process.send_signal(signum)
        line = self.wait_for_line("Stopped. ")
        match = SUMMARY.match(line)
        assert match, line
        while (rest := self._queue.get(timeout=WAIT)) is not None:
            self.lines.append(rest)
        return self.process.wait(WAIT), {
            name: int(value) for name, value in match.groupdict().items()
        }

    def kill(self) -> None:
        """SIGKILL the process group (whatever of it still runs) and reap the process."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(WAIT)
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextlib.contextmanager
def simulator_processes() -> Iterator[Callable[..., Running]]:
    """Starts simulators; kills the process group of every one still running at the end."""
    processes: list[Running] = []

    def start(*arguments: str, env: dict[str, str] | None = None) -> Running:
        running = Running(*arguments, env=env)
        processes.append(running)
        return running

    try:
        yield start
    finally:
        for running in processes:
            running.kill()
