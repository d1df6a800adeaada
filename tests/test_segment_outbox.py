"""The outbox keeps what the simulator acknowledged (CONTRACT B.14), in process: a stop keeps
what is queued, the next simulator on the same directory delivers it once, deduplication
survives the restart, and a store that cannot be written takes nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.errors import SettingError
from harness.segment import (
    DeliveryEndpoint,
    Incoming,
    Outbox,
    SegmentSimulator,
    SegmentSimulatorConfig,
    StorageUnavailable,
    running_simulator,
)
from harness.segment.pipeline import Filtered
from reference_impl import Store, create_app, running_server
from tests.conftest import API_KEY
from tests.helpers import segment_identify
from tests.test_segment_delivery import Reply, stub_destination

identify = partial(
    segment_identify, message="kept", person="kept", timestamp="2026-05-01T10:00:00.000Z"
)


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """An address where connections are refused for as long as the test runs."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))  # bound, never listening
        yield f"http://127.0.0.1:{bound.getsockname()[1]}/segment"


def simulator(url: str, data: Path, **config: Any) -> SegmentSimulator:
    # Time scale 1: a retry waits real seconds, so nothing is settled while a test looks.
    config.setdefault("time_scale", 1.0)
    return SegmentSimulator(
        SegmentSimulatorConfig(
            DeliveryEndpoint.at(url, API_KEY), concurrency=4, data_dir=data, **config
        )
    )


def test_a_stop_keeps_what_is_queued_and_the_next_start_delivers_it_once(
    refusing_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first = simulator(refusing_url, data)
    with first:
        first.accept([identify(number) for number in range(50)])
    shutdown = first.stop()
    assert (shutdown.queued_at_stop, shutdown.kept, shutdown.settled) == (50, 50, 0)
    assert first.journal.counts()["kept"] == 50
    with stub_destination(lambda number, body: Reply()) as stub:
        second = simulator(stub.url, data)
        with second:
            assert second.wait_until_idle(20)
            second.outbox.flush()
            tally = second.tally()
        again = simulator(stub.url, data)
        with again:
            assert again.tally().restored == 0, "what was delivered is not delivered again"
    assert (tally.restored, tally.delivered, tally.queued) == (50, 50, 0)
    delivered = sorted(body["messageId"] for _, body in stub.received)
    assert delivered == sorted(f"kept-{number}" for number in range(50))
    assert second.journal.counts()["restored"] == 50


def test_deduplication_survives_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "nat.db")
    try:
        with running_server(create_app(store, API_KEY)) as url:
            first = simulator(f"{url}/segment", tmp_path / "data")
            with first:
                first.accept([identify(1)])
                assert first.wait_until_idle(10)
            second = simulator(f"{url}/segment", tmp_path / "data")
            with second:
                [verdict] = second.accept([identify(1)])
        assert isinstance(verdict, Filtered) and verdict.reason == "duplicate"
        assert [entry.message_id for entry in store.timeline("kept-1@example.com") or []] == [
            "kept-1"
        ]
    finally:
        store.close()


def test_two_simulators_cannot_share_a_data_directory(refusing_url: str, tmp_path: Path) -> None:
    with simulator(refusing_url, tmp_path), pytest.raises(SettingError, match="in use by another"):
        simulator(refusing_url, tmp_path)


def test_a_directory_holding_something_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "segment-simulator.db").write_bytes(b"not a database, just bytes" * 100)
    with pytest.raises(SettingError, match=r"cannot hold the simulator's outbox") as error:
        Outbox(tmp_path, retain=60)
    assert error.value.setting == "data_dir"  # the CLI names it --data


def test_settled_events_are_forgotten_after_their_window_and_queued_ones_never(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path, retain=60)
    old_settled, old_queued = outbox.add(1_000.0, [Incoming("a", "identify", b"{}")] * 2)
    outbox.add(1_000.0, [Incoming("filtered", "track", None)])
    outbox.add(1_050.0, [Incoming("recent", "identify", b"{}")])
    outbox.settle(old_settled, "delivered")
    outbox.close()
    reopened = Outbox(tmp_path, retain=60)
    try:
        seen = reopened.seen_since(1_010.0)
        assert seen == [("recent", 1_050.0)]
        assert [parcel.row for parcel in reopened.queued()] == [old_queued, old_settled + 3]
    finally:
        reopened.close()


def test_a_store_that_cannot_be_written_answers_503_and_takes_nothing(
    refusing_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator(refusing_url, tmp_path)
    with running_simulator(sim) as tracking_api:

        def disk_full(*args: object, **kwargs: object) -> list[int]:
            raise StorageUnavailable("the simulator cannot store events: database or disk is full")

        with monkeypatch.context() as patched:
            patched.setattr(sim.outbox, "add", disk_full)
            answer = requests.post(
                f"{tracking_api}/v1/batch", json={"batch": [identify(7)]}, timeout=5
            )
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["code"] == "unavailable"
        assert "disk is full" in answer.json()["message"]
        assert sim.journal.counts()["accepted"] == 0
        retry = requests.post(f"{tracking_api}/v1/batch", json={"batch": [identify(7)]}, timeout=5)
        assert retry.status_code == 200
        assert sim.tally().queued == 1, "the retry is no duplicate: the refused try took nothing"
