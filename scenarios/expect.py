"""Expected answers, derived from the contract's rules rather than written per case.

A single request's answer comes from `reference_impl.rules` (`parse_body`, then `evaluate`), after
the destination's auth check. A sequence adds what the contract says about state: one entry per
(contact, day), a repeated `messageId` replays the first answer, the latest trait value wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from reference_impl.rules import (
    Accepted,
    Rejected,
    contact_key_of,
    evaluate,
    parse_body,
)
from scenarios.model import Expect, Request, SequenceExpect

__all__ = ["AUTH_ERROR_FIELD", "ExpectShape", "Ledger", "expect_for", "expect_sequence"]

#: The field a 401 names: the destination checks the key before it reads the body.
AUTH_ERROR_FIELD = "Authorization"


def _verdict(request: Request, day_zone: tzinfo) -> Accepted | Rejected | None:
    """The rules' verdict on a request; None when the key is missing or wrong."""
    if request.auth in ("none", "wrong", "wrong-bearer"):
        return None
    payload = parse_body(request.body(), request.content_type)
    if isinstance(payload, Rejected):
        return payload
    return evaluate(payload, day_zone=day_zone)


def _rejection(verdict: Rejected | None) -> Expect:
    if verdict is None:
        return Expect(status=401, outcome="rejected", error_field=AUTH_ERROR_FIELD)
    field = verdict.errors[0].field if verdict.errors else None
    return Expect(status=verdict.status, outcome="rejected", error_field=field)


def _acceptance(event: Accepted, outcome: str, description: str, source: str) -> Expect:
    return Expect(
        status=200,
        outcome=outcome,  # type: ignore[arg-type]  # "created" | "deduplicated"
        contact=event.contact_key,
        day=event.day.isoformat(),
        description=description,
        description_source=source,
        warning_fields=tuple(warning.field for warning in event.warnings),
    )


def expect_for(request: Request, *, day_zone: tzinfo = UTC) -> Expect:
    """What the contract says a destination with no prior state answers to `request`."""
    verdict = _verdict(request, day_zone)
    if not isinstance(verdict, Accepted):
        return _rejection(verdict)
    return _acceptance(verdict, "created", verdict.description, verdict.description_source)


@dataclass(frozen=True, slots=True)
class ExpectShape:
    """The answer to one request, kept for copies of it that differ only in their ids.

    A stamped copy (`scenarios.stamping`) has the same fields and timestamp as its template,
    and a new contact number and ids: the rules' verdict on one copy holds for every copy,
    except for the contact and description, found in each copy where the rules found them.
    """

    expect: Expect
    #: Where the rules found the email (`traits.email`); None for a rejection.
    email_at: str | None
    #: Where they found the description; None for a rejection or the standard text.
    description_at: str | None

    @classmethod
    def of(cls, request: Request, *, day_zone: tzinfo = UTC) -> ExpectShape:
        """The rules' answer to `request`, and where its contact comes from."""
        verdict = _verdict(request, day_zone)
        if not isinstance(verdict, Accepted):
            return cls(_rejection(verdict), None, None)
        expect = _acceptance(verdict, "created", verdict.description, verdict.description_source)
        source = verdict.description_source
        return cls(expect, verdict.email_field, None if source == "standard" else source)

    def expect_for(self, request: Request) -> Expect:
        """The answer to a copy of the request this shape came from."""
        if self.email_at is None:
            return self.expect
        payload = request.payload
        description = None
        if self.description_at is not None:
            description = _read(payload, self.description_at)
        return self.expect_with(_read(payload, self.email_at), description)

    def expect_with(self, email: Any, description: Any = None) -> Expect:
        """The answer to a copy whose email is `email`, and whose description is `description`
        (None: the same as this shape's). Meant for an accepted shape (`email_at` is set)."""
        expect = self.expect
        return Expect(
            200,
            "created",
            contact_key_of(email),
            expect.day,
            expect.description if description is None else description,
            expect.description_source,
            False,
            None,
            expect.warning_fields,
        )


def _read(payload: Any, place: str) -> Any:
    """`payload[a][b]` for the place `a.b`."""
    value = payload
    for key in place.split("."):
        value = value[key]
    return value


class Ledger:
    """The contract's state for expectations: daily entries, answered messageIds, properties.

    Requests are applied in the order the destination receives them.
    """

    def __init__(self, *, day_zone: tzinfo = UTC) -> None:
        self.day_zone = day_zone
        self._entries: dict[tuple[str, str], tuple[str, str]] = {}
        self._answers: dict[str, Expect] = {}
        self._properties: dict[str, dict[str, tuple[datetime, Any]]] = {}

    def apply(self, request: Request) -> Expect:
        """The answer to `request` given everything applied before it."""
        verdict = _verdict(request, self.day_zone)
        if not isinstance(verdict, Accepted):
            return _rejection(verdict)
        if verdict.message_id is not None and verdict.message_id in self._answers:
            return replace(self._answers[verdict.message_id], replayed=True)
        key = (verdict.contact_key, verdict.day.isoformat())
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = (verdict.description, verdict.description_source)
            expect = _acceptance(verdict, "created", *entry)
        else:
            expect = _acceptance(verdict, "deduplicated", *entry)
        properties = self._properties.setdefault(verdict.contact_key, {})
        for name, value in verdict.traits.items():
            previous = properties.get(name)
            # Ties go to the later arrival, as with the store's `>=`.
            if previous is None or verdict.occurred_at >= previous[0]:
                properties[name] = (verdict.occurred_at, value)
        if verdict.message_id is not None:
            self._answers[verdict.message_id] = expect
        return expect

    def final(self, contact: str) -> SequenceExpect:
        """The contact's timeline days and user properties after everything applied."""
        days = tuple(sorted(day for key, day in self._entries if key == contact))
        properties = {
            name: value for name, (_, value) in sorted(self._properties.get(contact, {}).items())
        }
        return SequenceExpect(contact=contact, timeline_days=days, properties=properties)

    def contacts(self) -> tuple[str, ...]:
        """Every contact with an entry, in the order they were first seen."""
        return tuple(dict.fromkeys(key for key, _ in self._entries))


def expect_sequence(
    requests: Iterable[Request], *, day_zone: tzinfo = UTC
) -> tuple[tuple[Expect, ...], SequenceExpect]:
    """Each request's answer when sent in order, and the one contact's state afterwards."""
    ledger = Ledger(day_zone=day_zone)
    expects = tuple(ledger.apply(request) for request in requests)
    contacts = ledger.contacts()
    if len(contacts) != 1:
        raise ValueError(f"a sequence is about one contact, these requests reach {contacts!r}")
    return expects, ledger.final(contacts[0])
