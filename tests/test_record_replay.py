"""Recordings, the recording proxy and replay: the file format round-trips and bad files say
which line is wrong; the proxy answers as the destination does; a replay against the reference
finds nothing and against a broken destination reports the difference."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import requests

from harness.errors import SettingError, UsageError, option_words
from harness.proxy import recording_proxy
from harness.recording import (
    FORMAT,
    MASKED,
    RecordedAnswer,
    RecordedRequest,
    RecordingWriter,
    read_recording,
)
from harness.replay import ReplayResult, parse_speed, replay
from harness.target import Destination
from reference_impl import Store, create_app, running_server
from tests.broken_destinations import Defect, broken_destination
from tests.conftest import basic_auth, sigint_as_in_a_terminal
from tests.helpers import run_nat_harness

API_KEY = "replay-key"


def _identify(email: str, message_id: str, timestamp: str = "2026-03-28T12:00:00Z") -> bytes:
    return orjson.dumps(
        {"type": "identify", "messageId": message_id, "timestamp": timestamp,
         "traits": {"email": email, "plan": "pro"}}
    )  # fmt: skip


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[str]:
    store = Store(tmp_path / "nat.db")
    try:
        with running_server(create_app(store, API_KEY)) as url:
            yield url
    finally:
        store.close()


def _record_through_proxy(target: str, path: Path, bodies: list[bytes]) -> list[requests.Response]:
    """Send `bodies` through a recording proxy in front of `target`; the proxy's answers."""
    with (
        RecordingWriter(path, target) as writer,
        running_server(recording_proxy(target, writer)) as proxy,
    ):
        headers = {**basic_auth(API_KEY), "Content-Type": "application/json"}
        return [
            requests.post(proxy + "/segment", data=b, headers=headers, timeout=5) for b in bodies
        ]


def test_a_recording_round_trips_with_the_key_masked(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with RecordingWriter(path, "http://nat.example/segment") as writer:
        writer.add(
            RecordedRequest("POST", "/segment", {"Authorization": "Basic c2VjcmV0Og=="}, "{}"),
            RecordedAnswer(400, '{"message":"x"}'),
            offset=0.5,
        )
    header = orjson.loads(path.read_bytes().splitlines()[0])
    assert header["format"] == FORMAT and header["target"] == "http://nat.example/segment"
    assert header["created"].endswith("Z") and header["tool"].startswith("nat-harness")
    recording = read_recording(path)
    assert recording.target == "http://nat.example/segment"
    (only,) = recording.exchanges
    assert only.sent.headers == {"Authorization": "Basic c2VjcmV0Og=="}  # written as given
    assert only.answered.status == 400 and only.offset == 0.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"not json\n", "line 1: not valid JSON"),
        (b'{"format": "other/1"}\n', "line 1: not a nat-harness recording"),
        (
            b'{"format": "' + FORMAT.encode() + b'"}\n[1]\n',
            "line 2: each line must be a JSON object",
        ),
        (b'{"format": "' + FORMAT.encode() + b'"}\n\n{"sent": {}}\n', "line 3: an exchange needs"),
        (
            b'{"format": "' + FORMAT.encode() + b'"}\n'
            b'{"sent": {"method": "POST", "path": "segment"}, "answered": {"status": 200}}\n',
            "line 2: `sent.path` must be a path starting with /",
        ),
        (
            b'{"format": "' + FORMAT.encode() + b'"}\n'
            b'{"sent": {"method": "POST", "path": "/s"}, "answered": {"status": 999}}\n',
            "line 2: `answered.status` must be an HTTP status",
        ),
    ],
)
def test_a_bad_recording_names_the_line_and_the_problem(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("[", r"\[")):
        read_recording(path)


def test_the_proxy_returns_the_answers_unchanged_and_records_them(
    tmp_path: Path, reference: str
) -> None:
    path = tmp_path / "traffic.jsonl"
    bodies = [_identify("a@proxy.example.com", "m1"), _identify("a@proxy.example.com", "m1"), b"{"]
    answers = _record_through_proxy(reference, path, bodies)
    direct = requests.post(
        reference + "/segment", data=b"{", headers={**basic_auth(API_KEY)}, timeout=5
    )
    assert [a.status_code for a in answers] == [200, 200, 400]
    assert answers[1].json()["replayed"] is True
    assert answers[2].content == direct.content
    assert answers[0].headers["content-type"] == "application/json"
    recording = read_recording(path)
    assert [e.answered.status for e in recording.exchanges] == [200, 200, 400]
    assert recording.exchanges[0].sent.headers["authorization"] == f"Basic {MASKED}"
    assert API_KEY not in path.read_text()
    assert orjson.loads(recording.exchanges[1].answered.body)["replayed"] is True


def test_a_recording_replays_against_a_fresh_reference_without_differences(
    tmp_path: Path, reference: str
) -> None:
    path = tmp_path / "traffic.jsonl"
    bodies = [
        _identify("b@replay.example.com", "m1"),
        _identify("b@replay.example.com", "m2", "2026-03-28T18:00:00Z"),
        _identify("b@replay.example.com", "m1"),
        orjson.dumps({"type": "identify", "timestamp": "2026-03-28T12:00:00Z"}),
    ]
    _record_through_proxy(reference, path, bodies)
    store = Store(tmp_path / "fresh.db")
    try:
        with (
            running_server(create_app(store, API_KEY)) as fresh,
            Destination(fresh + "/segment", API_KEY) as destination,
        ):
            result = replay(read_recording(path), destination)
    finally:
        store.close()
    assert result.sent == 4 and result.differences == ()


def test_replay_against_a_broken_destination_reports_the_differences(
    tmp_path: Path, reference: str
) -> None:
    path = tmp_path / "traffic.jsonl"
    bodies = [
        _identify("c@replay.example.com", "m1"),
        _identify("c@replay.example.com", "m2", "2026-03-28T18:00:00Z"),
    ]
    _record_through_proxy(reference, path, bodies)
    with (
        running_server(broken_destination(Defect.NO_DEDUPLICATION, API_KEY)) as url,
        Destination(url + "/segment", API_KEY) as destination,
    ):
        result = replay(read_recording(path), destination)
    against = {(d.index, d.against) for d in result.differences}
    assert against == {(2, "recorded"), (2, "contract")}
    contract = next(d for d in result.differences if d.against == "contract")
    assert contract.clause == "B.7" and "'deduplicated'" in contract.expected


def test_speed_is_max_or_a_factor() -> None:
    assert parse_speed("max") is None
    assert parse_speed("1x") == 1.0 and parse_speed("10x") == 10.0
    for bad in ("fast", "0x", "2"):
        with pytest.raises(SettingError) as error:
            parse_speed(bad)
        assert option_words(error.value).startswith("--speed ")


def _nat_harness(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    return run_nat_harness(monkeypatch, capsys, *args)


def test_a_saved_explore_failure_replays_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "failure.jsonl"
    with running_server(broken_destination(Defect.NO_DEDUPLICATION, API_KEY)) as url:
        code, out, _ = _nat_harness(
            monkeypatch, capsys, "explore", "--target", url, "--api-key", API_KEY,
            "--seed", "1", "--save", str(saved),
        )  # fmt: skip
        assert code == 1, out
    # A fresh destination with the same defect: the recorded contacts are new to it.
    with running_server(broken_destination(Defect.NO_DEDUPLICATION, API_KEY)) as url:
        code, out, _ = _nat_harness(
            monkeypatch, capsys, "replay", str(saved), "--target", url, "--api-key", API_KEY,
            "--json", str(tmp_path / "replay.json"),
        )  # fmt: skip
    assert code == 1, out
    assert "differs from the contract (B.7)" in out
    report = orjson.loads((tmp_path / "replay.json").read_bytes())
    assert report["format"] == "nat-harness-replay/1" and report["differences"]
    code, out, _ = _nat_harness(monkeypatch, capsys, "replay", str(saved))
    # The embedded reference keeps the contract: its answers differ from the recorded (broken)
    # ones, never from the contract.
    assert code == 1, out
    assert "differs from the recorded" in out and "differs from the contract" not in out


def test_replay_of_a_bad_file_exits_2_naming_the_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "nat-harness-recording/1"}\nnope\n')
    code, _, err = _nat_harness(monkeypatch, capsys, "replay", str(bad))
    assert code == 2
    assert "line 2: not valid JSON" in err


def test_the_nat_replay_fixture_passes_a_good_replay_and_fails_a_bad_one(
    tmp_path: Path, reference: str, nat_replay: Callable[..., ReplayResult]
) -> None:
    path = tmp_path / "traffic.jsonl"
    bodies = [
        _identify("d@replay.example.com", "m1"),
        _identify("d@replay.example.com", "m2", "2026-03-28T18:00:00Z"),
    ]
    _record_through_proxy(reference, path, bodies)
    assert nat_replay(path).sent == 2  # a fresh embedded reference: no difference
    broken = running_server(broken_destination(Defect.NO_DEDUPLICATION, API_KEY))
    differs = r"call 2 differs from the contract \(B.7\)"
    with broken as url, pytest.raises(pytest.fail.Exception, match=differs):
        nat_replay(path, target=url, api_key=API_KEY)


def test_the_segment_simulators_deliveries_are_recorded_attempt_by_attempt(
    tmp_path: Path,
) -> None:
    from contract.delivery import delivery_headers
    from harness.recording import post_recorder
    from tests.conftest import API_KEY as SEGMENT_KEY
    from tests.test_segment_delivery import (
        Reply,
        deliver,
        simulator_for,
        stub_destination,
    )
    from tests.test_segment_delivery import identify as segment_identify

    def answer(number: int, body: dict[str, object]) -> Reply:
        return Reply(503, {"message": "try later"}) if number == 1 else Reply()

    path = tmp_path / "deliveries.jsonl"
    with stub_destination(answer) as stub, RecordingWriter(path, "stub") as writer:
        simulator = simulator_for(stub.url)  # type: ignore[attr-defined]  # set by the stub
        simulator.delivery.on_exchange = post_recorder(
            writer, "/segment", delivery_headers(SEGMENT_KEY)
        )
        deliver(simulator, [segment_identify("recorded")])
    recording = read_recording(path)
    assert [e.answered.status for e in recording.exchanges] == [503, 200]
    first, second = recording.exchanges
    assert first.sent.body == second.sent.body  # a retry is the same event again
    assert orjson.loads(first.sent.body)["messageId"] == "message-recorded"
    assert first.sent.headers["Authorization"] == f"Basic {MASKED}"
    assert first.sent.headers["User-Agent"] == "Segment.io/1.0"
    assert SEGMENT_KEY not in path.read_text()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_record_command_stops_cleanly_with_every_exchange_written(
    tmp_path: Path, reference: str, stop: signal.Signals
) -> None:
    out = tmp_path / "traffic.jsonl"
    command = [sys.executable, "-m", "harness", "record", "--listen", "0"]
    proxy = subprocess.Popen(
        [*command, "--forward", reference, "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_as_in_a_terminal,
    )
    try:
        assert proxy.stderr is not None
        banner = proxy.stderr.readline()  # printed once the proxy listens
        address = re.search(r"http://[0-9.]+:[0-9]+", banner)
        assert address is not None, banner
        headers = {**basic_auth(API_KEY), "Content-Type": "application/json"}
        answer = requests.post(
            address[0] + "/segment", data=_identify("e@rec.example.com", "m1"), headers=headers
        )
        assert answer.status_code == 200
        proxy.send_signal(stop)
        _, rest = proxy.communicate(timeout=30)
    finally:
        if proxy.poll() is None:
            proxy.kill()
            proxy.wait()
    assert proxy.returncode == 0, rest
    assert "recorded 1 exchanges" in rest
    (only,) = read_recording(out).exchanges
    assert only.answered.status == 200 and "e@rec.example.com" in only.sent.body


def test_replay_at_1x_waits_for_each_recorded_offset(tmp_path: Path, reference: str) -> None:
    path = tmp_path / "paced.jsonl"
    headers = {"Authorization": f"Basic {MASKED}", "Content-Type": "application/json"}
    with RecordingWriter(path, reference) as writer:
        for number, offset in enumerate((0.0, 30.0, 90.0)):
            body = _identify(f"p{number}@pace.example.com", f"p{number}").decode()
            writer.add(
                RecordedRequest("POST", "/segment", headers, body),
                RecordedAnswer(200, ""),
                offset=offset,
            )
    waits: list[float] = []
    with Destination(reference + "/segment", API_KEY) as destination:
        replay(read_recording(path), destination, speed=10.0, sleep=waits.append)
    assert len(waits) == 2  # nothing before the first call
    assert 2.5 < waits[0] <= 3.0 and 8.5 < waits[1] <= 9.0  # a tenth of 30 s and 90 s
