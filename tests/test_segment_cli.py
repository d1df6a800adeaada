"""`nat-harness simulate segment|engage` from the command line."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import requests
from typer.testing import CliRunner

from harness.cli import app
from harness.errors import ReportedError, option_words
from tests.conftest import sigint_as_in_a_terminal
from tests.segment_processes import Running, simulator_processes
from tests.test_segment_delivery import Reply, stub_destination

runner = CliRunner()


@pytest.fixture
def started() -> Iterator[Callable[..., Running]]:
    with simulator_processes() as start:
        yield start


def test_engage_command_prints_a_summary_and_checks() -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "engage",
            "--audience",
            "Order Completed Last 30 Days",
            "--population",
            "60",
            "--days",
            "1",
            "--seed",
            "3",
            "--start",
            "2024-05-01T00:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        'Engage audience "Order Completed Last 30 Days" -> traits.order_completed_last_30_days'
        in (result.output)
    )
    assert "Syncs:      " in result.output
    assert "(2024-05-01T00:00:00.000Z to 2024-05-01T" in result.output
    assert "Check:      OK, the user properties of all 60 profiles" in result.output


def test_engage_command_json_summary_adds_up() -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "engage",
            "--audience",
            "VIP",
            "--population",
            "40",
            "--days",
            "1",
            "--churn",
            "0.5",
            "--no-computed-traits",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert summary["audience_key"] == "vip"
    assert summary["initial_members"] + summary["entered"] - summary["exited"] == summary["members"]
    assert summary["calls"] == summary["initial_members"] + summary["entered"] + summary["exited"]
    assert summary["check"] == {"ok": True, "checked": 40, "mismatches": []}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["segment", "--destination", "http://127.0.0.1:9/segment"], "no API key"),
        (["segment", "--time-scale", "fast"], "'instant'"),
        (["segment", "--destination", "ftp://x", "--api-key", "k"], "is not an http(s) URL"),
        (
            [
                "segment",
                "--destination",
                "http://127.0.0.1:9",
                "--api-key",
                "k",
                "--fail-rate",
                "0.2",
            ],
            "nat-harness serve --fail-rate",
        ),
        (["segment", "--duplicate-rate", "2"], "--duplicate-rate must be between 0 and 1"),
        (["engage", "--audience", "???"], "has no letters or digits"),
        (["engage", "--audience", "A", "--start", "last week"], "is not an ISO 8601 date-time"),
    ],
    ids=[
        "missing-api-key",
        "bad-time-scale",
        "bad-url",
        "faults-need-the-reference",
        "bad-duplicate-rate",
        "bad-audience",
        "bad-start",
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert isinstance(result.exception, ReportedError), result.output
    assert message in option_words(result.exception)  # as `nat-harness` prints it


def test_segment_command_serves_delivers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    log = tmp_path / "journal.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from harness.cli import main; main()",
            "simulate",
            "segment",
            "--port",
            "0",
            "--log",
            str(log),
            "--fail-rate",
            "0.5",
            "--seed",
            "1",
        ],
        preexec_fn=sigint_as_in_a_terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("Segment tracking API on http://127.0.0.1:"), banner
        base = banner.split(" on ", 1)[1].split("/v1/", 1)[0]
        answer = requests.post(
            f"{base}/v1/identify",
            json={"userId": "u1", "messageId": "cli-1", "traits": {"email": "cli@example.com"}},
            auth=("any-write-key", ""),
            timeout=5,
        )
        assert answer.json() == {"success": True}
        deadline = time.monotonic() + 20
        statuses: list[str] = []
        while "delivered" not in statuses and time.monotonic() < deadline:
            entries = requests.get(f"{base}/journal", params={"messageId": "cli-1"}, timeout=5)
            statuses = [entry["status"] for entry in entries.json()["entries"]]
            time.sleep(0.05)
        assert "delivered" in statuses, statuses
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "Stopped. accepted 1" in output
    assert "delivered 1" in output
    logged = [orjson.loads(line)["status"] for line in log.read_bytes().splitlines()]
    assert logged[0] == "accepted" and logged[-1] == "delivered"


def test_banner_status_and_journal_never_show_the_keys(
    started: Callable[..., Running], tmp_path: Path
) -> None:
    """A `user:pass@` destination URL and the destination's API key stay off the screen and the
    status route; the Host header carries no credentials either."""
    with stub_destination(lambda number, body: Reply()) as stub:
        port = stub.url.split(":")[2].split("/")[0]
        secret_url = f"http://nat-user:url-secret@127.0.0.1:{port}/segment"
        simulator = started(
            "--destination", secret_url, "--api-key", "api-key-secret", "--data", str(tmp_path)
        )
        simulator.send([{"userId": "u1", "messageId": "m1", "type": "identify"}])
        status = simulator.wait_until("a delivery", lambda s: s["events"]["delivered"] == 1)
        journal = requests.get(f"{simulator.url}/journal", timeout=5).text
        exit_code, _ = simulator.stop(signal.SIGTERM)
    assert exit_code == 0
    assert status["destination"] == f"http://***@127.0.0.1:{port}/segment"
    shown = "\n".join([*simulator.lines, orjson.dumps(status).decode(), journal])
    assert f"***@127.0.0.1:{port}/segment" in shown
    for secret in ("url-secret", "nat-user", "api-key-secret"):
        assert secret not in shown
    [(headers, _)] = stub.received
    assert headers["host"] == f"127.0.0.1:{port}"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"api-key-secret:").decode()


@pytest.mark.parametrize(
    ("arguments", "env", "shown"),
    [
        ((), {}, "curl -u local-nat-key: "),
        (("--api-key", "my-own-secret"), {}, "curl -u YOUR_API_KEY: "),
        ((), {"NAT_API_KEY": "my-own-secret"}, 'curl -u "$NAT_API_KEY": '),
    ],
    ids=["built-in-key", "key-option", "key-in-environment"],
)
def test_the_read_back_hint_names_where_the_key_is_not_the_key(
    started: Callable[..., Running],
    tmp_path: Path,
    arguments: tuple[str, ...],
    env: dict[str, str],
    shown: str,
) -> None:
    simulator = started(*arguments, "--data", str(tmp_path), env=env)
    exit_code, _ = simulator.stop(signal.SIGTERM)  # a clean stop removes the embedded database
    assert exit_code == 0
    [hint] = [line for line in simulator.lines if "read it back" in line]
    assert shown in hint
    assert "my-own-secret" not in "\n".join(simulator.lines)
