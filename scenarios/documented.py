"""The formats Nat's own doc shows: the recommended one and the two alternatives."""

from __future__ import annotations

from scenarios.model import Request
from scenarios.sampler import Sampler
from scenarios.variant import Variant

__all__ = ["VARIANTS"]


def _recommended(sampler: Sampler, *, url: bool) -> Request:
    person = sampler.person()
    payload = {
        "type": "identify",
        "timestamp": sampler.iso(sampler.moment()),
        "traits": sampler.traits(person),
    }
    if url:
        payload["page"] = {"url": sampler.url()}
    return Request(payload)


def with_page_url(sampler: Sampler) -> Request:
    return _recommended(sampler, url=True)


def without_url(sampler: Sampler) -> Request:
    return _recommended(sampler, url=False)


def flat_email(sampler: Sampler) -> Request:
    person = sampler.person()
    return Request(
        {"timestamp": sampler.iso(sampler.moment()), "type": "identify", "email": person.email}
    )


def flat_email_event(sampler: Sampler) -> Request:
    person = sampler.person()
    return Request(
        {
            "timestamp": sampler.iso(sampler.moment()),
            "type": "identify",
            "email": person.email,
            "event": sampler.event_name(),
        }
    )


def flat_email_url(sampler: Sampler) -> Request:
    person = sampler.person()
    return Request(
        {
            "timestamp": sampler.iso(sampler.moment()),
            "type": "identify",
            "email": person.email,
            "url": sampler.url(),
        }
    )


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "recommended/with-page-url",
        "The doc's recommended format: traits.email and page.url, which becomes the description",
        with_page_url,
        weight=3,
    ),
    Variant(
        "recommended/without-url",
        "Recommended format without page: the standard description is used",
        without_url,
        weight=2,
    ),
    Variant(
        "alternative/flat-email",
        "Alternative 1: top-level email and timestamp only",
        flat_email,
        weight=2,
    ),
    Variant(
        "alternative/flat-email-event",
        "Alternative 2: top-level email with an event, which becomes the description",
        flat_email_event,
        weight=2,
    ),
    Variant(
        "alternative/flat-email-url",
        "Flat email with a top-level url, the optional description data point",
        flat_email_url,
    ),
)
