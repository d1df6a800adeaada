"""The contact pages of the reference destination: `GET /ui` and `GET /ui/contacts/{email}`.

They show what the read API holds the way Nat draws it: contacts newest first, and a contact's
timeline as one card per day (its description, where it came from, the calls deduplicated into
it) beside its user properties (Engage audiences as badges). Behind the destination's key, asked
for with the browser's Basic prompt (the key as user name); queries run off the event loop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from reference_impl import http_core, rules
from reference_impl.pages import page_environment
from reference_impl.store import Property, Store, TimelineDay

__all__ = ["CONTACTS_PER_PAGE", "ui_routes"]

#: Contacts on one page of `GET /ui`.
CONTACTS_PER_PAGE = 50
_REALM = 'Basic realm="Nat reference destination (user name: the API key)", charset="UTF-8"'


def _refused(answer: http_core.Answer) -> Response:
    """A 401 that makes the browser ask for the key (the API key as user name, as Segment's
    Basic `key:` has it)."""
    page = page_environment().from_string(
        '{% extends "layout.html.j2" %}{% block heading %}Nat reference destination{% endblock %}'
        "{% block content %}<p class='card'>{{ message }} The browser asks for the key the way "
        "Segment sends it: the API key as the user name, the password empty.</p>{% endblock %}"
    )
    return HTMLResponse(
        page.render(message=answer.body["message"]),
        status_code=401,
        headers={"WWW-Authenticate": _REALM},
    )


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return int(text) if text.isdigit() and int(text) >= 1 else 1


def ui_routes(store: Store, api_key: str) -> list[Route]:
    """The two page routes, for the reference destination's app."""
    environment = page_environment()

    def guarded(request: Request) -> Response | None:
        denied = http_core.authorize(request.headers, api_key)
        return None if denied is None else _refused(denied)

    async def contacts(request: Request) -> Response:
        refusal = guarded(request)
        if refusal is not None:
            return refusal
        search = request.query_params.get("search", "").strip()
        page = _page_number(request)
        offset = (page - 1) * CONTACTS_PER_PAGE
        total, rows = await run_in_threadpool(
            store.contacts_page, search, CONTACTS_PER_PAGE, offset
        )
        listed = [{**row._asdict(), "href": _contact_href(row.contact)} for row in rows]
        return HTMLResponse(
            environment.get_template("contacts.html.j2").render(
                contacts=listed,
                search=search,
                total=total,
                first=offset + 1 if rows else 0,
                last=offset + len(rows),
                previous_href=_list_href(search, page - 1) if page > 1 else None,
                next_href=_list_href(search, page + 1) if offset + len(rows) < total else None,
            )
        )

    async def contact(request: Request) -> Response:
        refusal = guarded(request)
        if refusal is not None:
            return refusal
        key = rules.contact_key_of(request.path_params["email"])
        found = await run_in_threadpool(store.contact_view, key)
        if found is None:
            page = environment.from_string(
                '{% extends "layout.html.j2" %}{% block heading %}Nat reference destination'
                "{% endblock %}{% block content %}<p class='card' id='unknown'>No contact "
                "{{ contact }}: nothing accepted for it yet. <a href='/ui'>All contacts</a>"
                "</p>{% endblock %}"
            )
            return HTMLResponse(page.render(contact=key), status_code=404)
        properties = sorted(found.contact.properties.items())
        shown = [_shown_property(name, held) for name, held in properties]
        return HTMLResponse(
            environment.get_template("contact.html.j2").render(
                contact=key,
                days=[_shown_day(day) for day in found.days],
                properties=shown,
                audiences=[prop for prop in shown if isinstance(prop["value"], bool)],
            )
        )

    return [
        Route("/ui", contacts, methods=["GET"]),
        Route("/ui/contacts/{email:path}", contact, methods=["GET"]),
    ]


def _contact_href(contact: str) -> str:
    return "/ui/contacts/" + quote(contact, safe="@")


def _list_href(search: str, page: int) -> str:
    query = {"page": str(page)} | ({"search": search} if search else {})
    return "/ui?" + urlencode(query)


def _is_link(description: str) -> bool:
    return description.startswith(("http://", "https://"))


def _shown_day(day: TimelineDay) -> dict[str, Any]:
    entry = day.entry
    return {
        **entry._asdict(),
        "deduplicated": day.deduplicated,
        "is_url": _is_link(entry.description),
    }


def _shown_property(name: str, held: Property) -> dict[str, Any]:
    return {
        "name": name,
        "value": held.value,
        "shown": orjson.dumps(held.value).decode(),
        "set_at": held.set_at,
    }
