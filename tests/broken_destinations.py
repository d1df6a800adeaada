"""Nat destinations with exactly one defect each, to prove the harness catches it.

Each is the independent destination (`tests/independent_destination.py`, written from the
contract alone) with one method overridden, so a defect is one rule away from correct behaviour
and nothing of the reference's rules or scenarios is in them: a wrong expectation of the harness
shows up as a failure of `Defect.NONE`. `Defect.NONE` is the control: it must pass every check.
"""

from __future__ import annotations

import asyncio
import enum
import re
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response

from tests.independent_destination import EMAIL_PLACES, IndependentNat, Refusal

__all__ = ["Defect", "broken_destination"]


class Defect(enum.Enum):
    """One way to get the Nat contract wrong; the value is a readable test id."""

    NONE = "no-defect"
    # Calls the contract refuses
    ACCEPTS_INVALID = "accepts-invalid-calls"
    MISSING_EMAIL_500 = "500-for-missing-email"
    SERVER_TIME_FOR_MISSING_TIMESTAMP = "missing-timestamp-replaced-by-server-time"
    TIMESTAMP_WITHOUT_ZONE_ACCEPTED = "timestamp-without-zone-read-as-utc"
    OTHER_TYPES_ACCEPTED = "other-types-accepted"
    OVERSIZED_500 = "500-above-32kb"
    # Calls the contract accepts
    ALTERNATIVE_FORMATS_REJECTED = "alternative-formats-rejected"
    TYPE_CASE_SENSITIVE = "type-compared-case-sensitively"
    OFFSET_REFUSED = "only-z-timestamps-accepted"
    FRACTION_LIMITED = "at-most-3-fraction-digits"
    OFFSET_OVER_12_REFUSED = "offsets-beyond-12-hours-refused"
    NULL_EMAIL_INVALID = "null-email-counts-as-present"
    URL_REFUSED = "unusable-url-refused"
    SIZE_LIMIT_32KB = "413-from-32kb"
    STORES_NOTHING = "200-and-stores-nothing"
    # Which contact and day
    FLAT_EMAIL_FIRST = "top-level-email-first"
    FLAT_EMAIL_BEFORE_CONTEXT = "top-level-email-before-context-traits"
    NO_TRIM = "email-not-trimmed"
    CASE_SENSITIVE_EMAIL = "dedup-by-case-sensitive-email"
    OFFSET_SIGN_INVERTED = "offset-sign-inverted"
    LOCAL_DAY = "dedup-by-local-day"
    # The description
    EVENT_IGNORED = "event-ignored-as-description"
    EVENT_FIRST = "event-before-the-urls"
    URL_BEFORE_CONTEXT_URL = "url-before-context-page-url"
    URL_NOT_VALIDATED = "any-url-describes"
    LAST_DESCRIPTION_KEPT = "last-description-of-the-day-kept"
    # One entry per day, retries, properties
    NO_DEDUPLICATION = "no-deduplication"
    CHECK_THEN_INSERT_RACE = "check-then-insert-race"
    REPLAY_ADDS_ENTRY = "retry-on-another-day-adds-an-entry"
    REPLAY_CHANGES_PROPERTIES = "retry-changes-properties"
    DEDUPLICATED_TRAITS_DROPPED = "traits-of-deduplicated-calls-dropped"
    FALSE_DROPPED = "false-trait-values-dropped"
    LATEST_ARRIVAL_WINS = "latest-arrival-wins-not-latest-timestamp"
    # Auth and time
    AUTH_NOT_CHECKED = "auth-not-checked"
    REFUSED_YET_STORED = "wrong-key-answered-401-yet-stored"
    ANY_BEARER_ACCEPTED = "any-bearer-token-accepted"
    SLOW_ANSWER = "answer-slower-than-timeout"
    # Only SHOULD-level
    ERRORS_WITHOUT_FIELDS = "errors-without-field-list"
    BEARER_REFUSED = "bearer-key-refused"


#: How long the race defect waits, at most, for a second call of the same contact and day to
#: reach the same point (the await of an async database call, say).
RACE_WINDOW_S = 1.0


class _AcceptsInvalid(IndependentNat):
    def refused(self, refusal: Refusal) -> Response:
        if refusal.status == 401:
            return refusal.answer()
        return JSONResponse({"outcome": "created", "warnings": []})


class _MissingEmail500(IndependentNat):
    def missing_email(self) -> tuple[str, str]:
        raise Refusal(500, "server", "internal_error", "KeyError: 'email'")


class _ServerTime(IndependentNat):
    def moment_of(self, value: Any) -> datetime:
        return datetime.now(UTC) if value is None else super().moment_of(value)


class _NoZoneIsUtc(IndependentNat):
    def parse_timestamp(self, value: str) -> datetime | None:
        moment = super().parse_timestamp(value)
        if moment is None and value[4:5] == "-" and "T" in value.upper():
            try:
                return datetime.fromisoformat(value).replace(tzinfo=UTC)
            except ValueError:
                return None
        return moment


class _OtherTypes(IndependentNat):
    def is_identify(self, value: str) -> bool:
        return True


class _Oversized500(IndependentNat):
    """A 32 KB buffer that fails on a larger body instead of refusing it."""

    def decode(self, body: bytes, content_type: str | None) -> dict[str, Any]:
        if len(body) > 32 * 1024:
            raise Refusal(500, "server", "internal_error", "body too large for the buffer")
        return super().decode(body, content_type)


class _OnlyRecommended(IndependentNat):
    def email_places(self) -> tuple[tuple[str, ...], ...]:
        return (("traits", "email"),)

    def missing_email(self) -> tuple[str, str]:
        raise Refusal(400, "traits.email", "missing", "Missing traits.email")


class _TypeCase(IndependentNat):
    def is_identify(self, value: str) -> bool:
        return value == "identify"


class _OnlyZ(IndependentNat):
    def zone(self, sign: str, hours: int, minutes: int) -> Any:
        return None


class _ThreeDigits(IndependentNat):
    def parse_timestamp(self, value: str) -> datetime | None:
        fraction = re.match(r".{19}\.([0-9]*)", value)
        if fraction is not None and len(fraction[1]) > 3:
            return None  # milliseconds at most, as JavaScript writes them
        return super().parse_timestamp(value)


class _TwelveHours(IndependentNat):
    def zone(self, sign: str, hours: int, minutes: int) -> Any:
        return None if hours > 12 else super().zone(sign, hours, minutes)


class _NullIsAnEmail(IndependentNat):
    def absent(self, value: Any) -> bool:
        return False if value is None else super().absent(value)

    def contact_of(self, payload: dict[str, Any]) -> tuple[str, str]:
        # A null is looked at as an email only where a place holds the key at all.
        for place in self.email_places():
            parent = self.part(payload, place[:-1]) if len(place) > 1 else payload
            if parent is not None and place[-1] in parent:
                value = parent[place[-1]]
                name = ".".join(place)
                problem = self.email_problem(value)
                if problem is not None:
                    raise Refusal(400, name, "invalid", f"{name} {problem}")
                return name, self.contact_key(value)
        return self.missing_email()


class _UrlRefused(IndependentNat):
    def describe(self, payload: dict[str, Any]) -> tuple[str, list[Any]]:
        description, warnings = super().describe(payload)
        if warnings:
            field = str(warnings[0]).split(" ")[0]  # "page.url ignored: ..."
            raise Refusal(400, field, "invalid_url", f"Bad URL: {warnings[0]}")
        return description, warnings


class _Limit32(IndependentNat):
    def limit_bytes(self) -> int:
        return 32 * 1024 - 1  # refuses at exactly 32 KB


class _StoresNothing(IndependentNat):
    def create_entry(self, contact: str, day: str, description: str) -> dict[str, Any]:
        return {"id": "e0", "day": day, "description": description}

    def keep_traits(
        self, contact: str, traits: dict[str, Any], moment: datetime, *, deduplicated: bool
    ) -> None:
        pass


class _FlatFirst(IndependentNat):
    def email_places(self) -> tuple[tuple[str, ...], ...]:
        return (EMAIL_PLACES[2], EMAIL_PLACES[0], EMAIL_PLACES[1])


class _FlatBeforeContext(IndependentNat):
    def email_places(self) -> tuple[tuple[str, ...], ...]:
        return (EMAIL_PLACES[0], EMAIL_PLACES[2], EMAIL_PLACES[1])


class _NoTrim(IndependentNat):
    def contact_key(self, email: str) -> str:
        return email.lower()


class _CaseSensitive(IndependentNat):
    def contact_key(self, email: str) -> str:
        return email.strip()


class _SignInverted(IndependentNat):
    def zone(self, sign: str, hours: int, minutes: int) -> Any:
        return super().zone("+" if sign == "-" else "-", hours, minutes)


class _LocalDay(IndependentNat):
    def day_of(self, moment: datetime, payload: dict[str, Any]) -> str:
        return str(payload["timestamp"])[:10]  # the date as the sender wrote it


class _EventIgnored(IndependentNat):
    def describe(self, payload: dict[str, Any]) -> tuple[str, list[Any]]:
        return super().describe({key: value for key, value in payload.items() if key != "event"})


class _EventFirst(IndependentNat):
    def describe(self, payload: dict[str, Any]) -> tuple[str, list[Any]]:
        event = payload.get("event")
        if isinstance(event, str) and event.strip():
            return event, []
        return super().describe(payload)


class _UrlBeforeContextUrl(IndependentNat):
    def url_places(self) -> tuple[tuple[str, ...], ...]:
        return (("page", "url"), ("url",), ("context", "page", "url"))


class _AnyUrl(IndependentNat):
    def usable_url(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value)


class _LastDescription(IndependentNat):
    def seen_again(self, entry: dict[str, Any], description: str) -> None:
        entry["description"] = description


class _NoDedup(IndependentNat):
    def find_entry(self, contact: str, day: str) -> dict[str, Any] | None:
        return None


class _Race(IndependentNat):
    """Looks for the day's entry, awaits (a database call), then inserts without looking again."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self._arrived: dict[tuple[str, str], asyncio.Event] = {}

    async def between_look_and_write(self, contact: str, day: str) -> None:
        key = (contact, day)
        if key in self._arrived:
            self._arrived[key].set()  # a second call got here too: both insert
            return
        self._arrived[key] = asyncio.Event()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._arrived[key].wait(), RACE_WINDOW_S)


class _ReplayAddsEntry(IndependentNat):
    def replay(
        self,
        first: dict[str, Any],
        contact: str,
        day: str,
        moment: datetime,
        traits: dict[str, Any],
    ) -> dict[str, Any]:
        if self.find_entry(contact, day) is None:
            self.create_entry(contact, day, "retried")
        return super().replay(first, contact, day, moment, traits)


class _ReplayChangesProperties(IndependentNat):
    def replay(
        self,
        first: dict[str, Any],
        contact: str,
        day: str,
        moment: datetime,
        traits: dict[str, Any],
    ) -> dict[str, Any]:
        self.keep_traits(contact, traits, moment, deduplicated=True)
        return super().replay(first, contact, day, moment, traits)


class _DeduplicatedTraitsDropped(IndependentNat):
    def keep_traits(
        self, contact: str, traits: dict[str, Any], moment: datetime, *, deduplicated: bool
    ) -> None:
        if not deduplicated:
            super().keep_traits(contact, traits, moment, deduplicated=deduplicated)


class _FalseDropped(IndependentNat):
    def keep_traits(
        self, contact: str, traits: dict[str, Any], moment: datetime, *, deduplicated: bool
    ) -> None:
        kept = {name: value for name, value in traits.items() if value is not False}
        super().keep_traits(contact, kept, moment, deduplicated=deduplicated)


class _LatestArrivalWins(IndependentNat):
    def keep_traits(
        self, contact: str, traits: dict[str, Any], moment: datetime, *, deduplicated: bool
    ) -> None:
        held = self.state.properties.setdefault(contact, {})
        for name, value in traits.items():
            super().keep_traits(contact, {name: value}, moment, deduplicated=deduplicated)
            held[name].value = value  # whatever came last


class _AuthNotChecked(IndependentNat):
    def authorize(self, headers: Any) -> None:
        pass


class _RefusedYetStored(IndependentNat):
    """Checks the key only after storing the call: 401, and the contact is written anyway."""

    async def _segment(self, request: Any) -> Response:
        try:
            self.authorize(request.headers)
        except Refusal as refusal:
            try:
                payload = self.decode(await request.body(), request.headers.get("content-type"))
                await self.accept(payload)
            except Refusal:
                pass
            return refusal.answer()
        return await super()._segment(request)


class _AnyBearer(IndependentNat):
    def authorize(self, headers: Any) -> None:
        if headers.get("authorization", "").lower().startswith("bearer "):
            return
        super().authorize(headers)


class _Slow(IndependentNat):
    """Slow at one kind of call (those with an `event`), as a cold path would be."""

    slow_seconds = 1.0

    async def accept(self, payload: dict[str, Any]) -> dict[str, Any]:
        if "event" in payload:
            await asyncio.sleep(self.slow_seconds)
        return await super().accept(payload)


class _ErrorsWithoutFields(IndependentNat):
    def refused(self, refusal: Refusal) -> Response:
        return JSONResponse({"message": refusal.message}, refusal.status)


class _BearerRefused(IndependentNat):
    def key_in(self, authorization: str) -> str | None:
        if authorization.lower().startswith("bearer"):
            return None
        return super().key_in(authorization)


_DESTINATIONS: dict[Defect, type[IndependentNat]] = {
    Defect.NONE: IndependentNat,
    Defect.ACCEPTS_INVALID: _AcceptsInvalid,
    Defect.MISSING_EMAIL_500: _MissingEmail500,
    Defect.SERVER_TIME_FOR_MISSING_TIMESTAMP: _ServerTime,
    Defect.TIMESTAMP_WITHOUT_ZONE_ACCEPTED: _NoZoneIsUtc,
    Defect.OTHER_TYPES_ACCEPTED: _OtherTypes,
    Defect.OVERSIZED_500: _Oversized500,
    Defect.ALTERNATIVE_FORMATS_REJECTED: _OnlyRecommended,
    Defect.TYPE_CASE_SENSITIVE: _TypeCase,
    Defect.OFFSET_REFUSED: _OnlyZ,
    Defect.FRACTION_LIMITED: _ThreeDigits,
    Defect.OFFSET_OVER_12_REFUSED: _TwelveHours,
    Defect.NULL_EMAIL_INVALID: _NullIsAnEmail,
    Defect.URL_REFUSED: _UrlRefused,
    Defect.SIZE_LIMIT_32KB: _Limit32,
    Defect.STORES_NOTHING: _StoresNothing,
    Defect.FLAT_EMAIL_FIRST: _FlatFirst,
    Defect.FLAT_EMAIL_BEFORE_CONTEXT: _FlatBeforeContext,
    Defect.NO_TRIM: _NoTrim,
    Defect.CASE_SENSITIVE_EMAIL: _CaseSensitive,
    Defect.OFFSET_SIGN_INVERTED: _SignInverted,
    Defect.LOCAL_DAY: _LocalDay,
    Defect.EVENT_IGNORED: _EventIgnored,
    Defect.EVENT_FIRST: _EventFirst,
    Defect.URL_BEFORE_CONTEXT_URL: _UrlBeforeContextUrl,
    Defect.URL_NOT_VALIDATED: _AnyUrl,
    Defect.LAST_DESCRIPTION_KEPT: _LastDescription,
    Defect.NO_DEDUPLICATION: _NoDedup,
    Defect.CHECK_THEN_INSERT_RACE: _Race,
    Defect.REPLAY_ADDS_ENTRY: _ReplayAddsEntry,
    Defect.REPLAY_CHANGES_PROPERTIES: _ReplayChangesProperties,
    Defect.DEDUPLICATED_TRAITS_DROPPED: _DeduplicatedTraitsDropped,
    Defect.FALSE_DROPPED: _FalseDropped,
    Defect.LATEST_ARRIVAL_WINS: _LatestArrivalWins,
    Defect.AUTH_NOT_CHECKED: _AuthNotChecked,
    Defect.REFUSED_YET_STORED: _RefusedYetStored,
    Defect.ANY_BEARER_ACCEPTED: _AnyBearer,
    Defect.SLOW_ANSWER: _Slow,
    Defect.ERRORS_WITHOUT_FIELDS: _ErrorsWithoutFields,
    Defect.BEARER_REFUSED: _BearerRefused,
}


def broken_destination(defect: Defect, api_key: str, *, slow_seconds: float = 1.0) -> Starlette:
    """A destination that keeps the contract except for `defect` (none for `Defect.NONE`)."""
    destination = _DESTINATIONS[defect](api_key)
    if isinstance(destination, _Slow):
        destination.slow_seconds = slow_seconds
    return destination.app
