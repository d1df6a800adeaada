"""`nat-harness serve` as a user runs it: a real process, stopped cleanly or killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.conftest import API_KEY, basic_auth, sigint_as_in_a_terminal
from tests.helpers import stop_group

NAT_HARNESS = [sys.executable, "-m", "harness"]


@contextmanager
def serving(db: Path, *extra: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `nat-harness serve` on a free port; yields the process and its /segment URL."""
    process = subprocess.Popen(
        [*NAT_HARNESS, "serve", "--api-key", API_KEY, "--port", "0", "--db", str(db), *extra],
        preexec_fn=sigint_as_in_a_terminal,
        start_new_session=True,  # its own process group: stopping the group stops its workers
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert "listening on http://" in first_line, process.stderr.read() if process.stderr else ""
        yield process, first_line.split()[-1]
    finally:
        stop_group(process)  # SIGTERM first, so that --workers N stops its workers cleanly
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def test_serve_announces_url_and_data_logs_requests_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    with serving(tmp_path / "nat.db") as (process, url):
        assert url.endswith("/segment")
        assert process.stdout is not None
        assert str(tmp_path / "nat.db") in process.stdout.readline()
        with requests.Session() as http:
            http.headers.update(basic_auth())
            http.post(url, json={"type": "identify", "timestamp": "2020-05-31T17:55:47Z"})
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        access = [line for line in process.stderr.read().splitlines() if line.startswith("{")]
        assert '"path":"/segment","status":400' in access[0]
        assert API_KEY not in "".join(access)


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "nat.db"
    acknowledged = []
    with serving(db, "--no-access-log") as (process, url), requests.Session() as http:
        http.headers.update(basic_auth())
        for day in range(1, 26):
            payload = {
                "type": "identify",
                "timestamp": f"2020-05-{day:02d}T12:00:00Z",
                "email": "durable@example.com",
                "messageId": f"kill-{day}",
            }
            assert http.post(url, json=payload).status_code == 200
            acknowledged.append(f"2020-05-{day:02d}")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with serving(db, "--no-access-log") as (_, url), requests.Session() as http:
        http.headers.update(basic_auth())
        base = url.removesuffix("/segment")
        entries = http.get(f"{base}/contacts/durable@example.com/timeline").json()["entries"]
        assert [entry["day"] for entry in entries] == acknowledged


def test_two_worker_processes_share_one_timeline(tmp_path: Path) -> None:
    with serving(tmp_path / "nat.db", "--workers", "2", "--no-access-log") as (_, url):
        payload = {
            "type": "identify",
            "timestamp": "2020-05-31T12:00:00Z",
            "email": "w@example.com",
        }
        outcomes = []
        for _ in range(12):
            with requests.Session() as http:  # new connections, so both workers answer
                http.headers.update(basic_auth())
                outcomes.append(http.post(url, json=payload).json()["outcome"])
        assert outcomes.count("created") == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["serve"], "--api-key (or set NAT_API_KEY) is missing"),
        (["serve", "--api-key", "k", "--day-timezone", "Mars/Olympus"], "unknown time zone"),
        (["serve", "--api-key", "k", "--fail-rate", "2"], "--fail-rate"),
    ],
    ids=["no-key", "bad-time-zone", "fail-rate-above-one"],
)
def test_serve_refuses_bad_options_with_a_message(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "NAT_API_KEY"}
    result = subprocess.run(
        [*NAT_HARNESS, *arguments, "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        env={**environment, "COLUMNS": "200"},
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("stop", "exit_code"),
    [(signal.SIGTERM, 0), (signal.SIGINT, 130)],  # 130: the shell's code for Ctrl-C
    ids=["sigterm", "sigint"],
)
def test_a_clean_stop_empties_the_write_ahead_log(
    tmp_path: Path, stop: signal.Signals, exit_code: int
) -> None:
    db = tmp_path / "nat.db"
    with serving(db, "--no-access-log") as (process, url), requests.Session() as http:
        http.headers.update(basic_auth())
        for n in range(200):
            payload = {
                "type": "identify",
                "timestamp": "2020-05-31T12:00:00Z",
                "email": f"wal-{n}@example.com",
            }
            assert http.post(url, json=payload).status_code == 200
        process.send_signal(stop)
        assert process.wait(timeout=10) == exit_code
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    wal = tmp_path / "nat.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    with serving(db, "--no-access-log") as (_, url), requests.Session() as http:
        http.headers.update(basic_auth())
        assert http.get(url.replace("/segment", "/stats")).json()["timeline"] == 200
