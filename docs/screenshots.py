"""Make the screenshots of the three pages in docs/ from known traffic, in headless Chromium.

    .venv/bin/python docs/screenshots.py      # needs Debian's chromium (apt-get install chromium)

The run report of a run against a destination that answers 500 for a missing email, the
reference destination's timeline of a contact with a deduplicated day, and the Segment
simulator's delivery view after a retried delivery.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from harness.config import RunConfig  # noqa: E402
from harness.reports import record  # noqa: E402
from harness.reports.html import write_html  # noqa: E402
from harness.runner import run  # noqa: E402
from harness.segment import (  # noqa: E402
    DeliveryEndpoint,
    SegmentSimulator,
    SegmentSimulatorConfig,
    running_simulator,
)
from reference_impl import Store, create_app, running_server  # noqa: E402
from tests.broken_destinations import Defect, broken_destination  # noqa: E402
from tests.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402

KEY = "docs-key"
DOCS = REPOSITORY / "docs"


def _identify(email: str, timestamp: str, message_id: str, **fields: object) -> dict[str, object]:
    traits = {"email": email, **fields.pop("traits", {})}  # type: ignore[dict-item]
    return {
        "type": "identify",
        "timestamp": timestamp,
        "messageId": message_id,
        "traits": traits,
        **fields,
    }


def _timeline_traffic(base: str) -> None:
    calls = [
        _identify("Peter@Example.com", "2024-05-01T09:12:00Z", "msg-101",
                  page={"url": "https://example.com/pricing"},
                  traits={"plan": "pro", "name": "Peter Jones"}),
        _identify("peter@example.com", "2024-05-01T17:40:00Z", "msg-102", event="Logged In",
                  traits={"order_completed_last_30_days": True},
                  context={"personas": {"computation_class": "audience"}}),
        _identify("peter@example.com", "2024-05-01T19:05:00Z", "msg-103",
                  traits={"lifetime_orders": 12}),
        _identify("peter@example.com", "2024-05-02T08:30:00Z", "msg-104", event="Trial Started"),
        _identify("peter@example.com", "2024-05-04T11:00:00Z", "msg-105",
                  traits={"plan": "business", "high_value_customers": False}),
    ]  # fmt: skip
    for call in calls:
        requests.post(base + "/segment", json=call, auth=(KEY, ""), timeout=5).raise_for_status()


def _fails_once() -> Starlette:
    seen: set[str] = set()

    async def segment(request: Request) -> Response:
        message_id = (await request.json()).get("messageId")
        if message_id not in seen and message_id.endswith(("3", "7")):
            seen.add(message_id)
            return JSONResponse({"message": "Temporarily down"}, status_code=503)
        return JSONResponse({"outcome": "created", "warnings": []})

    return Starlette(routes=[Route("/segment", segment, methods=["POST"])])


def main() -> None:
    path = chromium_path()
    if path is None:
        sys.exit("docs/screenshots.py needs Chromium: apt-get install chromium")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
        context = browser.new_context(
            viewport={"width": 1200, "height": 820},
            http_credentials={"username": KEY, "password": ""},
        )
        page = context.new_page()

        with running_server(broken_destination(Defect.MISSING_EMAIL_500, KEY)) as url:
            report = record(run(RunConfig(target=url + "/segment", api_key=KEY, seed=7)))
        report_page = Path(scratch) / "report.html"
        write_html(report, report_page)
        page.goto(report_page.as_uri())
        page.screenshot(path=str(DOCS / "run-report.png"))

        store = Store()
        with running_server(create_app(store, KEY)) as base:
            _timeline_traffic(base)
            page.goto(base + "/ui/contacts/peter@example.com")
            page.screenshot(path=str(DOCS / "contact-timeline.png"))
        store.close()

        with running_server(_fails_once()) as destination:
            simulator = SegmentSimulator(
                SegmentSimulatorConfig(DeliveryEndpoint.at(destination, KEY))
            )
            with running_simulator(simulator) as url:
                batch = [
                    {"type": "identify", "userId": f"user-{n}", "messageId": f"docs-{n}",
                     "traits": {"email": f"person{n}@example.com"}}
                    for n in range(12)
                ]  # fmt: skip
                batch.append(
                    {"type": "track", "userId": "u-1", "event": "Clicked", "messageId": "docs-t"}
                )
                requests.post(
                    url + "/v1/batch", json={"batch": batch}, timeout=5
                ).raise_for_status()
                simulator.wait_until_idle(30)
                page.goto(url + "/ui")
                page.locator("tr.event[data-message-id='docs-3']").click()
                page.screenshot(path=str(DOCS / "delivery-view.png"))
        browser.close()
    print("wrote docs/run-report.png, docs/contact-timeline.png, docs/delivery-view.png")


if __name__ == "__main__":
    main()
