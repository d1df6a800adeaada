"""`nat-harness load`: the judge of each answer, the per-worker traffic, and real Locust runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from harness.errors import UsageError
from harness.load import LOCUSTFILE, Tally, judge_answer
from harness.load.launcher import LoadConfig, endpoint_parts, locust_command
from harness.load.traffic import Traffic
from harness.target import poll
from reference_impl import running_server
from scenarios import Expect
from tests.broken_destinations import Defect, broken_destination
from tests.conftest import API_KEY, sigint_as_in_a_terminal
from tests.helpers import free_port

CREATED = Expect(200, "created", contact="a@example.com", day="2024-05-01")
REJECTED = Expect(400, "rejected", error_field="traits.email")


def _answer(**fields: Any) -> bytes:
    body = {"outcome": "created", "contact": "a@example.com", "day": "2024-05-01"}
    body.update(replayed=False, warnings=[])
    return orjson.dumps({**body, **fields})


# -- the judge -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expect", "status", "body"),
    [
        (CREATED, 200, _answer()),
        (CREATED, 201, _answer(extra="more fields are allowed")),
        (REJECTED, 400, b'{"message": "Missing email address"}'),
        (REJECTED, 501, b'{"message": "a final status other than the expected one"}'),
        (REJECTED, 422, b""),
    ],
    ids=["created", "2xx-with-more-fields", "rejected-400", "rejected-501", "rejected-422-empty"],
)
def test_answers_that_keep_the_contract_pass(expect: Expect, status: int, body: bytes) -> None:
    assert judge_answer(expect, status, body) is None


@pytest.mark.parametrize(
    ("expect", "status", "body", "kind", "summary"),
    [
        (CREATED, 400, b"{}", "wrong status", "expected 200, got 400"),
        (CREATED, 503, b"{}", "wrong status", "expected 200, got 503"),
        (REJECTED, 200, _answer(), "wrong status", "expected 400, got 200"),
        (REJECTED, 503, b"{}", "wrong status", "expected 400, got 503"),
        (REJECTED, 429, b"{}", "wrong status", "expected 400, got 429"),
        (CREATED, 200, b"ok", "wrong body", "not a JSON object"),
        (CREATED, 200, _answer(outcome="deduplicated"), "wrong body", "outcome wrong"),
        (
            CREATED,
            200,
            _answer(contact="A@example.com", day="2024-05-02"),
            "wrong body",
            "contact, day wrong",
        ),
    ],
    ids=[
        "accepted-refused",
        "accepted-answered-retryable",
        "refused-accepted",
        "refused-answered-retryable",
        "refused-answered-429",
        "body-not-json",
        "second-entry-reported",
        "contact-and-day-wrong",
    ],
)
def test_wrong_answers_are_named_by_kind(
    expect: Expect, status: int, body: bytes, kind: str, summary: str
) -> None:
    mismatch = judge_answer(expect, status, body)
    assert mismatch is not None
    assert (mismatch.kind, mismatch.summary) == (kind, summary)


def test_a_wrong_body_says_what_came_back() -> None:
    mismatch = judge_answer(CREATED, 200, _answer(day="2024-05-02"))
    assert mismatch is not None
    assert mismatch.detail == "day '2024-05-02' (expected '2024-05-01')"


def test_retryable_answer_to_a_refused_call_says_segment_retries_it() -> None:
    mismatch = judge_answer(REJECTED, 500, b"{}")
    assert mismatch is not None and "retries for four hours" in mismatch.detail


# -- the tally -----------------------------------------------------------------------------------


def test_worker_reports_add_up_and_keep_a_few_examples() -> None:
    worker, run = Tally(), Tally()
    for number in range(8):
        worker.sent += 1
        worker.answered += 1
        worker.judged += 1
        worker.failed("wrong status", {"scenario": f"s{number}"})
    run.add(worker.take())
    assert worker.to_dict() == Tally().to_dict(), "a report empties the worker's tally"
    worker.sent, worker.answered, worker.judged = 2, 1, 1
    worker.failed("timeout", {"scenario": "late"})
    run.add(worker.take())
    assert (run.sent, run.answered, run.judged) == (10, 9, 9)
    assert run.failures["wrong status"] == 8 and run.failures["timeout"] == 1
    assert run.wrong == 8 and run.unanswered == 1
    assert [example["scenario"] for example in run.examples["wrong status"]] == [
        "s0", "s1", "s2", "s3", "s4",
    ]  # fmt: skip


# -- the traffic ---------------------------------------------------------------------------------


def _contacts(traffic: Traffic, count: int) -> set[str]:
    return {
        scenario.expect.contact
        for scenario in (traffic.next_scenario() for _ in range(count))
        if scenario.expect.contact is not None
    }


def test_workers_never_share_a_contact_and_a_seed_repeats_its_stream() -> None:
    first, second = Traffic(5, worker=0), Traffic(5, worker=1)
    ones, twos = _contacts(first, 300), _contacts(second, 300)
    assert ones and twos and not ones & twos
    again = Traffic(5, worker=0)
    assert _contacts(again, 300) == ones


def test_each_user_gets_ordered_sequences_on_contacts_of_its_own() -> None:
    traffic = Traffic(5, worker=0)
    users = [traffic.sequences_of(number) for number in range(2)]
    seen: list[set[str]] = []
    for sequences in users:
        batch = [next(sequences) for _ in range(25)]  # more than one batch
        assert not any(sequence.concurrent for sequence in batch)
        seen.append({sequence.final.contact for sequence in batch})
        assert len(seen[-1]) == 25, "every sequence of a user has its own contact"
    assert not seen[0] & seen[1]


# -- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("http://127.0.0.1:8765", ("http://127.0.0.1:8765", "/segment")),
        ("https://nat.example/", ("https://nat.example", "/segment")),
        ("http://nat.example/hooks/nat?x=1", ("http://nat.example", "/hooks/nat?x=1")),
    ],
    ids=["bare-origin", "origin-with-slash", "path-and-query"],
)
def test_a_target_is_split_into_the_host_and_the_path(
    target: str, expected: tuple[str, str]
) -> None:
    assert endpoint_parts(target) == expected


def test_a_target_that_is_no_http_url_is_refused() -> None:
    with pytest.raises(UsageError, match="not an http"):
        endpoint_parts("nat.example:8765")


def test_local_processes_get_a_master_port_of_their_own() -> None:
    command = locust_command(
        LoadConfig(users=4, processes=2, run_time="3s"), "http://h:1", None, LOCUSTFILE
    )
    ports = {command[command.index(flag) + 1] for flag in ("--master-bind-port", "--master-port")}
    assert command[command.index("--processes") + 1] == "2" and len(ports) == 1
    assert command[command.index("--run-time") + 1] == "3s" and "--headless" in command


def test_a_worker_needs_only_its_master() -> None:
    config = LoadConfig(role="worker", master_host="10.0.0.2", master_port=5600)
    command = locust_command(config, None, None, LOCUSTFILE)
    assert command[-5:] == ["--worker", "--master-host", "10.0.0.2", "--master-port", "5600"]
    assert "--host" not in command


# -- real runs -----------------------------------------------------------------------------------


def _load(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "NAT_API_KEY": API_KEY, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "harness", "load", "--headless", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        start_new_session=True,
    )


def _locust_totals(output: str) -> dict[str, int]:
    """Locust's own totals at the end of the run, as the summary prints them."""
    match = re.search(r"^(\d+) requests, (\d+) failed by Locust", output, re.MULTILINE)
    assert match is not None, output
    return {"requests": int(match.group(1)), "failures": int(match.group(2))}


def _counts(output: str) -> dict[str, int]:
    counts = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    return counts


def test_two_local_workers_against_the_reference_send_answer_and_judge_every_call(
    tmp_path: Path,
) -> None:
    prefix = tmp_path / "stats"
    done = _load("--users", "4", "--run-time", "5s", "--processes", "2", "--seed", "11",
                 "--csv", str(prefix))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    counts = _counts(done.stdout)
    locust = _locust_totals(done.stdout)
    assert counts["sent"] == counts["answered"] == counts["judged"] == locust["requests"] > 0
    assert locust["failures"] == 0
    assert all(counts[kind] == 0 for kind in ("wrong status", "wrong body", "timeout"))
    assert "PASSED" in done.stdout and "--seed 11" in done.stdout


@pytest.fixture
def accepts_invalid() -> Iterator[str]:
    with running_server(broken_destination(Defect.ACCEPTS_INVALID, API_KEY)) as url:
        yield url + "/segment"


def test_a_destination_that_accepts_invalid_calls_fails_with_counted_mismatches(
    accepts_invalid: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "stats"
    done = _load("--target", accepts_invalid, "--users", "2", "--run-time", "4s",
                 "--mix", "malformed=1", "--sequences", "0", "--csv", str(prefix))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    counts = _counts(done.stdout)
    assert counts["sent"] == counts["answered"] == counts["judged"]
    # Every malformed body is accepted; only the calls with a wrong key are still refused.
    locust = _locust_totals(done.stdout)
    assert counts["wrong status"] == locust["failures"] > counts["sent"] * 0.8
    assert (tmp_path / "stats_failures.csv").read_text().count("wrong status: malformed/") > 1
    assert "FAILED" in done.stdout and "expected 4" in done.stdout


def test_an_unreachable_target_ends_at_once_with_exit_2() -> None:
    done = _load("--target", "http://127.0.0.1:9/segment", "--run-time", "30s", timeout=30)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "http://127.0.0.1:9/segment" in done.stderr and "refused" in done.stderr


def test_the_locust_file_path_is_printed_for_locust_itself() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "load", "--print-locustfile"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    path = Path(done.stdout.strip())
    assert path == LOCUSTFILE and path.is_file()
    assert "class NatUser(FastHttpUser)" in path.read_text()


def test_without_headless_the_web_ui_comes_up_and_ctrl_c_ends_with_130() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "load", "--web-port", str(port)],
        preexec_fn=sigint_as_in_a_terminal,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"}, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Starting web interface" in line:
                break
        # Locust logs that line just before it binds: wait for the port to answer.
        page = poll(lambda: _get(f"http://127.0.0.1:{port}/"), lambda page: page is not None, 20)
        assert page is not None and page.status_code == 200 and "locust" in page.text.lower()
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 130, "".join(lines) + rest
    assert f"Locust's web UI: http://127.0.0.1:{port}" in "".join(lines)


def _get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=5)
    except requests.ConnectionError:
        return None
