"""The pages of the servers, in a real browser: the reference destination's contacts and
timeline (`GET /ui`), and the Segment simulator's delivery view (`GET /ui` of the tracking API)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.segment import (
    DeliveryEndpoint,
    SegmentSimulator,
    SegmentSimulatorConfig,
    running_simulator,
)
from reference_impl import Store, create_app, running_server
from reference_impl.ui import CONTACTS_PER_PAGE
from tests.browser import Tab, open_tab
from tests.conftest import API_KEY, basic_auth
from tests.helpers import identify

PETER = "peter@example.com"


def _send(base: str, *calls: dict[str, Any]) -> None:
    for call in calls:
        answer = requests.post(base + "/segment", json=call, headers=basic_auth(), timeout=5)
        assert answer.status_code == 200, answer.text


@pytest.fixture
def destination(tmp_path: Any) -> Iterator[str]:
    """The reference destination on a fresh database, with Peter's known week of calls."""
    store = Store(tmp_path / "nat.db")
    with running_server(create_app(store, API_KEY)) as base:
        _send(
            base,
            identify(
                "Peter@Example.com",
                timestamp="2024-05-01T09:00:00Z",
                messageId="p-1",
                page={"url": "https://example.com/pricing"},
                traits={"plan": "pro"},
            ),
            identify(
                PETER,
                timestamp="2024-05-01T18:00:00Z",
                messageId="p-2",
                event="Logged In",
                traits={"order_completed_last_30_days": True},
            ),
            identify(
                PETER, timestamp="2024-05-01T19:00:00Z", messageId="p-3", traits={"churned": False}
            ),
            identify(
                PETER,
                timestamp="2024-05-02T08:00:00Z",
                messageId="p-4",
                event="Logged In",
                traits={"plan": "business"},
            ),
            identify("ada@example.org", timestamp="2024-06-01T10:00:00Z", messageId="a-1"),
        )
        yield base
    store.close()


@pytest.fixture
def signed_in(browser: Browser) -> Iterator[Tab]:
    """A tab that answers the Basic prompt with the key as user name, as Segment sends it."""
    with open_tab(browser, http_credentials={"username": API_KEY, "password": ""}) as opened:
        yield opened


def test_the_pages_are_behind_the_key_and_ask_for_it(destination: str) -> None:
    for path in ("/ui", f"/ui/contacts/{PETER}"):
        refused = requests.get(destination + path, timeout=5)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic realm=")
        assert "API key as the user name" in refused.text
        wrong = "Basic " + base64.b64encode(b"wrong-key:").decode()
        assert (
            requests.get(
                destination + path, headers={"Authorization": wrong}, timeout=5
            ).status_code
            == 401
        )
        assert requests.get(destination + path, headers=basic_auth(), timeout=5).status_code == 200


def test_contacts_are_listed_newest_first_and_found_by_search(
    destination: str, signed_in: Tab
) -> None:
    page = signed_in.page
    page.goto(destination + "/ui")
    assert page.locator("#contacts tbody tr td:first-child").all_inner_texts() == [
        "ada@example.org",
        PETER,
    ]
    assert page.locator("#contacts tbody tr").nth(1).inner_text().split("\t")[1:3] == [
        "2",
        "2024-05-02",
    ]
    page.fill("#search", "PETER@")
    page.click("#search-form button")
    page.wait_for_url("**/ui?search=PETER%40")
    assert page.locator("#contacts tbody tr td:first-child").all_inner_texts() == [PETER]
    page.click(f"text={PETER}")
    page.wait_for_url(f"**/ui/contacts/{PETER}")
    assert signed_in.errors == []


def test_the_list_is_paged(tmp_path: Any, signed_in: Tab) -> None:
    store = Store(tmp_path / "many.db")
    with running_server(create_app(store, API_KEY)) as base:
        _send(
            base,
            *(
                identify(
                    f"person{number:03d}@example.com",
                    timestamp="2024-05-01T09:00:00Z",
                    messageId=f"m{number}",
                )
                for number in range(CONTACTS_PER_PAGE + 3)
            ),
        )
        page = signed_in.page
        page.goto(base + "/ui")
        assert page.locator("#contacts tbody tr").count() == CONTACTS_PER_PAGE
        first = page.locator("#contacts tbody tr td:first-child").first.inner_text()
        assert first == f"person{CONTACTS_PER_PAGE + 2:03d}@example.com"
        page.click("#next")
        assert page.locator("#contacts tbody tr td:first-child").all_inner_texts() == [
            "person002@example.com", "person001@example.com", "person000@example.com",
        ]  # fmt: skip
        assert page.locator("#previous").count() == 1 and page.locator("#next").count() == 0
        assert signed_in.errors == []
    store.close()


def test_a_timeline_shows_one_card_per_day_with_the_deduplicated_calls_and_the_properties(
    destination: str, signed_in: Tab
) -> None:
    page = signed_in.page
    page.goto(f"{destination}/ui/contacts/{PETER}")
    days = page.locator("article.day")
    assert days.count() == 2
    first = page.locator("article.day[data-day='2024-05-01']")
    link = first.locator(".description a")
    assert link.get_attribute("href") == "https://example.com/pricing"
    assert "from page.url" in first.inner_text() and "p-1" in first.inner_text()
    folded = first.locator("details.deduplicated")
    assert "2 more calls deduplicated" in folded.inner_text()
    assert "p-2" in folded.inner_text() and "p-3" in folded.inner_text()
    second = page.locator("article.day[data-day='2024-05-02']")
    assert second.locator(".description").inner_text() == "Logged In"
    assert second.locator("details.deduplicated").count() == 0
    plan = page.locator("#properties tr[data-name='plan']")
    assert '"business"' in plan.inner_text() and "2024-05-02T08:00:00" in plan.inner_text()
    badges = page.locator("#audiences .badge")
    assert sorted(badges.all_inner_texts()) == ["churned (left)", "order_completed_last_30_days"]
    assert signed_in.errors == []


def test_a_timeline_refreshes_while_traffic_arrives(destination: str, signed_in: Tab) -> None:
    page = signed_in.page
    page.goto(f"{destination}/ui/contacts/{PETER}")
    assert page.locator("article.day").count() == 2
    _send(
        destination,
        identify(PETER, timestamp="2024-05-03T08:00:00Z", messageId="p-5", event="Trial Started"),
    )
    page.wait_for_selector("article.day[data-day='2024-05-03']", timeout=15_000)
    assert page.locator("article.day").count() == 3
    assert signed_in.errors == []


def test_an_unknown_contact_is_a_404_page(destination: str) -> None:
    answer = requests.get(
        f"{destination}/ui/contacts/nobody@example.com", headers=basic_auth(), timeout=5
    )
    assert answer.status_code == 404 and "No contact nobody@example.com" in answer.text


# -- the Segment simulator's delivery view --------------------------------------------------------


@pytest.fixture
def fails_once() -> Iterator[str]:
    """A destination that answers 503 to the first attempt of each messageId, then 200."""
    seen: set[str] = set()

    async def segment(request: Request) -> Response:
        message_id = (await request.json()).get("messageId")
        if message_id not in seen:
            seen.add(message_id)
            return JSONResponse({"message": "try again"}, status_code=503)
        return JSONResponse({"outcome": "created", "warnings": []})

    with running_server(Starlette(routes=[Route("/segment", segment, methods=["POST"])])) as url:
        yield url + "/segment"


@pytest.fixture
def delivered(fails_once: str) -> Iterator[str]:
    """A simulator that delivered two identifies (each retried once) and filtered a track."""
    simulator = SegmentSimulator(
        SegmentSimulatorConfig(DeliveryEndpoint.at(fails_once, API_KEY), concurrency=2)
    )
    with running_simulator(simulator) as url:
        events = [
            {"type": "identify", "userId": "u1", "messageId": "view-1", "traits": {"plan": "a"}},
            {"type": "identify", "userId": "u2", "messageId": "view-2", "traits": {"plan": "b"}},
            {"type": "track", "userId": "u1", "event": "Clicked", "messageId": "view-3"},
        ]
        assert requests.post(url + "/v1/batch", json={"batch": events}, timeout=5).ok
        assert simulator.wait_until_idle(20)
        yield url


def test_the_delivery_view_shows_counts_a_chart_and_each_events_attempts(
    delivered: str, tab: Tab
) -> None:
    page = tab.page
    page.goto(delivered + "/ui")
    counts = {
        tile.get_attribute("data-status"): tile.locator("b").inner_text()
        for tile in page.locator("#counts .tile").all()
    }
    assert counts["accepted"] == "3" and counts["delivered"] == "2"
    assert counts["retried"] == "2" and counts["filtered"] == "1" and counts["outstanding"] == "0"
    totals = {
        line.get_attribute("data-status"): line.get_attribute("data-total")
        for line in page.locator("#chart polyline").all()
    }
    assert totals["delivered"] == "2" and totals["retried"] == "2"
    row = page.locator("tr.event[data-message-id='view-1']")
    assert row.get_attribute("data-status") == "delivered"
    attempts = page.locator("tr.attempts[data-message-id='view-1']")
    assert attempts.is_hidden()
    row.click()
    assert attempts.is_visible()
    statuses = attempts.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert statuses == ["accepted", "retried", "delivered"]
    assert attempts.locator("tbody tr td:nth-child(4)").all_inner_texts()[1:] == ["503", "200"]
    assert tab.errors == []


def test_the_delivery_view_filters_by_status_and_message_id(delivered: str, tab: Tab) -> None:
    page = tab.page
    page.goto(delivered + "/ui")
    page.select_option("#filter-status", "filtered")
    page.click("#filter-form button")
    page.wait_for_url("**/ui?status=filtered*")
    assert page.locator("tr.event").evaluate_all("rows => rows.map(r => r.dataset.messageId)") == [
        "view-3"
    ]
    page.goto(delivered + "/ui?messageId=view-2")
    assert page.locator("tr.event").count() == 1
    assert page.locator("tr.event").get_attribute("data-message-id") == "view-2"
    assert tab.errors == []
