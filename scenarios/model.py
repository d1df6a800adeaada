"""The records a scenario is made of: the request to send and the outcome the contract expects.

Scenarios are data: the generator makes them, the harness sends them, and neither the request nor
the expectation knows anything about HTTP clients or servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

__all__ = ["Auth", "Expect", "Outcome", "Request", "Scenario", "Sequence", "SequenceExpect"]

#: How a request authenticates: the target's key as Basic (Segment's way) or Bearer, none, or a
#: wrong key as Basic or as Bearer. The key itself is supplied by whoever sends the request.
Auth = Literal["basic", "bearer", "none", "wrong", "wrong-bearer"]
#: What the destination does with a call: makes the day's entry, finds one already there, or
#: refuses the call (any non-2xx status).
Outcome = Literal["created", "deduplicated", "rejected"]

# `Request`, `Expect` and `Scenario` are made once per generated scenario, so they write their
# whole state at once with `object.__setattr__(self, "__dict__", ...)`: the `__init__` that
# `dataclass(frozen=True)` generates calls `object.__setattr__` once per field, about twice the
# cost, which was a fifth of bulk generation's time. They are still frozen dataclasses (fields,
# `replace`, equality, repr); the test suite checks each `__init__` against the fields.


@dataclass(frozen=True, init=False)
class Request:
    """One POST of a Segment message to the destination.

    A request made by `encoded` holds its payload as JSON bytes and decodes it only when
    `payload` is first read: bulk traffic is mostly sent or written, not looked into.
    """

    payload: Any = None
    #: Raw bytes sent instead of `payload` (bodies that are not JSON, empty or oversized).
    raw_body: bytes | None = None
    content_type: str | None = "application/json"
    auth: Auth = "basic"

    def __init__(
        self,
        payload: Any = None,
        raw_body: bytes | None = None,
        content_type: str | None = "application/json",
        auth: Auth = "basic",
    ) -> None:
        state = {
            "payload": payload,
            "raw_body": raw_body,
            "content_type": content_type,
            "auth": auth,
        }
        object.__setattr__(self, "__dict__", state)

    @classmethod
    def encoded(
        cls, body: bytes, content_type: str | None = "application/json", auth: Auth = "basic"
    ) -> Request:
        """A request whose payload is `body`, JSON as `orjson.dumps` writes it (not checked)."""
        request = object.__new__(cls)
        state = {"_encoded": body, "raw_body": None, "content_type": content_type, "auth": auth}
        object.__setattr__(request, "__dict__", state)
        return request

    if not TYPE_CHECKING:  # for mypy, `payload` is the field above and nothing else is here

        def __getattr__(self, name: str) -> Any:
            """The payload of an `encoded` request, decoded when first read. From then on the
            body is encoded from it again, so a change made to the payload is sent."""
            state = self.__dict__
            if name != "payload" or "_encoded" not in state:
                raise AttributeError(name)
            payload = state["payload"] = orjson.loads(state.pop("_encoded"))
            return payload

    def body(self) -> bytes:
        """The exact bytes to send."""
        if self.raw_body is not None:
            return self.raw_body
        encoded = self.__dict__.get("_encoded")
        return orjson.dumps(self.payload) if encoded is None else encoded

    def payload_for_json(self) -> Any:
        """The payload for `orjson.dumps`: one not decoded yet goes in as its own bytes."""
        encoded = self.__dict__.get("_encoded")
        return self.payload if encoded is None else orjson.Fragment(encoded)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view; a raw body is given as text (bytes that are not UTF-8 are escaped)."""
        view: dict[str, Any] = {"content_type": self.content_type, "auth": self.auth}
        if self.raw_body is not None:
            view["raw_body"] = self.raw_body.decode("utf-8", errors="backslashreplace")
        return view


# The default's class attribute would hide `__getattr__` from a request made by `encoded`; the
# default stays the field's (and `__init__`'s).
del Request.payload


@dataclass(frozen=True, init=False)
class Expect:
    """What the contract says the destination answers to one request."""

    status: int
    outcome: Outcome
    contact: str | None = None
    day: str | None = None
    description: str | None = None
    description_source: str | None = None
    replayed: bool = False
    #: For a rejection: the field the error must name (`traits.email`, `timestamp`, `body`, ...).
    error_field: str | None = None
    #: For an acceptance: fields whose optional data must come back as warnings.
    warning_fields: tuple[str, ...] = ()

    def __init__(
        self,
        status: int,
        outcome: Outcome,
        contact: str | None = None,
        day: str | None = None,
        description: str | None = None,
        description_source: str | None = None,
        replayed: bool = False,
        error_field: str | None = None,
        warning_fields: tuple[str, ...] = (),
    ) -> None:
        state = {
            "status": status,
            "outcome": outcome,
            "contact": contact,
            "day": day,
            "description": description,
            "description_source": description_source,
            "replayed": replayed,
            "error_field": error_field,
            "warning_fields": warning_fields,
        }
        object.__setattr__(self, "__dict__", state)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view that leaves out what is unset (None, or no warning fields)."""
        # Field by field rather than filtering a full dict: this runs once per generated line.
        view: dict[str, Any] = {"status": self.status, "outcome": self.outcome}
        if self.contact is not None:
            view["contact"] = self.contact
        if self.day is not None:
            view["day"] = self.day
        if self.description is not None:
            view["description"] = self.description
        if self.description_source is not None:
            view["description_source"] = self.description_source
        view["replayed"] = self.replayed
        if self.error_field is not None:
            view["error_field"] = self.error_field
        if self.warning_fields:
            view["warning_fields"] = list(self.warning_fields)
        return view


@dataclass(frozen=True, init=False)
class Scenario:
    """One request and its expected answer, with a readable, stable id (`recommended/with-url`)."""

    id: str
    family: str
    request: Request
    expect: Expect
    #: One line for people: what this scenario shows.
    summary: str = ""

    def __init__(
        self, id: str, family: str, request: Request, expect: Expect, summary: str = ""
    ) -> None:
        state = {
            "id": id,
            "family": family,
            "request": request,
            "expect": expect,
            "summary": summary,
        }
        object.__setattr__(self, "__dict__", state)

    def to_dict(self) -> dict[str, Any]:
        """The generator's JSON Lines record: `{"scenario", "expect", "payload"}`."""
        return self._record(self.request.payload)

    def to_json(self) -> bytes:
        """The JSON Lines record as bytes, the same as `orjson.dumps(to_dict())`, without
        decoding a payload that is still encoded (`Request.encoded`)."""
        return orjson.dumps(self._record(self.request.payload_for_json()))

    def _record(self, payload: Any) -> dict[str, Any]:
        scenario = {"id": self.id, "family": self.family, "summary": self.summary}
        scenario.update(self.request.to_dict())
        return {"scenario": scenario, "expect": self.expect.to_dict(), "payload": payload}


@dataclass(frozen=True, slots=True)
class SequenceExpect:
    """What the contact's state must be after every step of a sequence has been answered."""

    contact: str
    timeline_days: tuple[str, ...]
    #: User properties that must hold afterwards (name -> value).
    properties: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "contact": self.contact,
            "timeline_days": list(self.timeline_days),
            "properties": self.properties,
        }


@dataclass(frozen=True, slots=True)
class Sequence:
    """Steps for one contact whose combined effect shows deduplication, idempotency or ordering.

    With `concurrent` the steps are sent all at once and only the final state is checked, since
    which one wins the race is not specified; otherwise they are sent in order and each answer is
    checked against its step's `expect`.
    """

    id: str
    steps: tuple[Scenario, ...]
    final: SequenceExpect
    concurrent: bool = False
    summary: str = ""
    family: str = "sequence"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequence": {
                "id": self.id,
                "family": self.family,
                "summary": self.summary,
                "concurrent": self.concurrent,
            },
            "steps": [step.to_dict() for step in self.steps],
            "final": self.final.to_dict(),
        }
