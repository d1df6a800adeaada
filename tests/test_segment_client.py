"""Segment's own Python library, pointed at the simulator: its identify calls end on the reference
destination's timeline, its track calls in the journal as filtered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from harness.segment import (
    DeliveryEndpoint,
    SegmentSimulator,
    SegmentSimulatorConfig,
    running_simulator,
)
from reference_impl import Store, create_app, running_server
from tests.conftest import API_KEY

WRITE_KEY = "python-write-key"


@pytest.fixture
def simulator(store: Store) -> Iterator[SegmentSimulator]:
    with running_server(create_app(store, API_KEY)) as destination_url:
        yield SegmentSimulator(
            SegmentSimulatorConfig(
                DeliveryEndpoint.at(destination_url, API_KEY), write_key=WRITE_KEY, concurrency=4
            )
        )


@pytest.fixture
def tracking_api(simulator: SegmentSimulator) -> Iterator[str]:
    with running_simulator(simulator) as url:
        yield url


def client_errors() -> tuple[list[Any], Any]:
    errors: list[Any] = []
    return errors, lambda error, batch: errors.append(error)


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_sync_client_identify_reaches_the_timeline_and_track_is_filtered(
    tracking_api: str, simulator: SegmentSimulator, store: Store, gzip: bool
) -> None:
    errors, on_error = client_errors()
    client = Client(WRITE_KEY, host=tracking_api, sync_mode=True, gzip=gzip, on_error=on_error)
    client.identify(
        "user-1",
        {"email": "Ada@Example.com", "plan": "pro"},
        message_id="python-identify-1",
        context={"page": {"url": "https://example.com/pricing"}},
    )
    client.track("user-1", "Order Completed", {"revenue": 10}, message_id="python-track-1")
    assert errors == []
    assert simulator.wait_until_idle(10)

    timeline = store.timeline("ada@example.com")
    assert timeline is not None
    assert [(e.message_id, e.description) for e in timeline] == [
        ("python-identify-1", "https://example.com/pricing")
    ]
    contact = store.contact("ada@example.com")
    assert contact is not None and contact.properties["plan"].value == "pro"
    track = simulator.journal.query(message_id="python-track-1")
    assert [(e.status, e.type, e.reason) for e in track] == [
        ("accepted", "track", None),
        ("filtered", "track", "type"),
    ]


def test_batching_gzip_client_delivers_every_identify(
    tracking_api: str, simulator: SegmentSimulator, store: Store
) -> None:
    errors, on_error = client_errors()
    client = Client(
        WRITE_KEY, host=tracking_api, gzip=True, upload_size=50, on_error=on_error, max_retries=1
    )
    for number in range(30):
        client.identify(f"user-{number}", {"email": f"batch{number}@example.com"})
        client.track(f"user-{number}", "Signed In")
    client.shutdown()
    assert errors == []
    assert simulator.wait_until_idle(10)
    counts = simulator.journal.counts()
    assert counts["accepted"] == 60
    assert counts["filtered"] == 30
    assert store.counts()["timeline"] == 30


def test_client_with_a_wrong_write_key_is_refused(tracking_api: str, store: Store) -> None:
    client = Client("not-the-key", host=tracking_api, sync_mode=True)
    with pytest.raises(APIError, match="Invalid write key"):
        client.identify("user-1", {"email": "refused@example.com"})
    assert store.contact("refused@example.com") is None
