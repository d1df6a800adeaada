"""The seeded source of every value in a run: unique contacts, recent moments, ids and traits.

One `Sampler` per call of `catalogue`, `sequences` or `generate`: it owns the `random.Random`, the
pools and the contact counter, so the same seed always yields the same values in the same order.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from scenarios.iso_format import DAY_MS, MomentFormatter
from scenarios.pools import EVENT_NAMES, Pools

__all__ = ["DAY_MS", "EMAIL_DOMAINS", "Person", "Sampler", "seed_tag"]

_T = TypeVar("_T")

#: Reserved example domains (RFC 2606): no generated address can reach a real person.
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")
#: Hosts of page URLs, on the same reserved domains.
_URL_HOSTS = ("www.example.com", "app.example.com", "example.org", "shop.example.net")
#: Documentation address blocks (RFC 5737), for `context.ip`.
_IP_BLOCKS = ("192.0.2.", "198.51.100.", "203.0.113.")
_PLANS = ("free", "starter", "pro", "business", "enterprise")
_UTM_SOURCES = ("newsletter", "google", "linkedin", "twitter", "partner")
_LOCALES = ("en-US", "en-GB", "de-DE", "fr-FR", "ja-JP", "pt-BR", "es-ES")
_TIMEZONES = ("America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Sao_Paulo", "UTC")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_UNIX_EPOCH = date(1970, 1, 1)
#: base64's two symbols mapped onto letters: base64 output becomes base62-looking ids.
_TO_BASE62 = bytes.maketrans(b"+/", b"Qz")
#: The RFC 4122 variant digit (8, 9, a or b) for any hex digit, keeping its two low bits.
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
#: Moments are recent but come from the seed, not the clock: a window of `_WINDOW_DAYS` days
#: that starts up to `_ANCHOR_SPREAD_DAYS` days after `_ANCHOR`.
_ANCHOR = date(2026, 1, 5)
_ANCHOR_SPREAD_DAYS = 300
_WINDOW_DAYS = 14
#: Days either side of the window that formatting keeps ready (offsets, clock skew).
_MARGIN_DAYS = 3


def seed_tag(seed: int) -> str:
    """A short text that differs for every seed (base 36), carried by every email of the run."""
    # "_" is no base 36 digit: negative seeds can never share a tag with positive ones.
    sign, number = ("_", -seed) if seed < 0 else ("", seed)
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = _BASE36[digit] + digits
        if not number:
            return sign + digits


@dataclass(frozen=True, slots=True)
class Person:
    """One generated contact: names and an email address no other scenario of any run uses."""

    email: str
    first_name: str
    last_name: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Sampler:
    """Values for one run; `scope` keeps catalogue, sequences and bulk contacts apart per seed."""

    __slots__ = ("_moments", "_next_contact", "pools", "rng", "tag", "window_ms")

    def __init__(self, seed: int, pools: Pools, scope: str) -> None:
        if len(scope) != 1 or not scope.isalpha():
            raise ValueError(f"scope must be one letter, got {scope!r}")
        self.pools = pools
        self.rng = random.Random(f"nat-harness/{scope}/{seed}")
        #: In every email: `<scope><seed in base 36>.<counter>` makes the address unique.
        self.tag = scope + seed_tag(seed)
        self._next_contact = 0
        start = _ANCHOR + timedelta(days=self.rng.randrange(_ANCHOR_SPREAD_DAYS))
        first_day = (start - _UNIX_EPOCH).days
        #: [start, end) of the run's moments, in milliseconds since the Unix epoch (UTC).
        self.window_ms = (first_day * DAY_MS, (first_day + _WINDOW_DAYS) * DAY_MS)
        self._moments = MomentFormatter(first_day - _MARGIN_DAYS, _WINDOW_DAYS + 2 * _MARGIN_DAYS)

    # -- choices ---------------------------------------------------------------------------------

    def pick(self, pool: tuple[_T, ...]) -> _T:
        """One value of `pool`, uniformly."""
        return pool[int(self.rng.random() * len(pool))]

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    # -- contacts --------------------------------------------------------------------------------

    def person(self, domain: str | None = None) -> Person:
        """A new contact whose email no other call of this run, or run of another seed, uses."""
        pools = self.pools
        size = len(pools.first_names)
        first = int(self.rng.random() * size)
        last = int(self.rng.random() * len(pools.last_names))
        if domain is None:
            domain = EMAIL_DOMAINS[int(self.rng.random() * 3)]
        number = self.contact_number()
        email = f"{pools.email_first[first]}.{pools.email_last[last]}+{self.tag}.{number}@{domain}"
        return Person(email, pools.first_names[first], pools.last_names[last])

    def contact_number(self) -> str:
        """The next number of the run's contacts: with the tag, what makes an email unique."""
        number = self._next_contact
        self._next_contact = number + 1
        return str(number)

    # -- time ------------------------------------------------------------------------------------

    def moment(self) -> int:
        """A moment in the run's window, in milliseconds since the Unix epoch."""
        start, end = self.window_ms
        return start + int(self.rng.random() * (end - start))

    def day_start(self, index: int) -> int:
        """Midnight UTC of the window's day `index` (0 is the first day), in milliseconds."""
        return self.window_ms[0] + index * DAY_MS

    def day_of(self, moment_ms: int) -> str:
        """The UTC calendar day of a moment, as YYYY-MM-DD."""
        return self._moments.day_text(moment_ms // DAY_MS)

    def iso(self, moment_ms: int, offset_minutes: int = 0, *, style: str = "js") -> str:
        """The moment as RFC 3339 text, as a client library writes it (`scenarios.iso_format`).

        `js`: milliseconds and Z (analytics.js, Segment's delivery); `python`: microseconds and
        an explicit offset (analytics-python's `isoformat()`); `seconds`: no fraction.
        """
        micros = int(self.rng.random() * 1000) if style == "python" else 0
        return self._moments.iso(moment_ms, offset_minutes, style, micros)

    def segment_times(self, moment_ms: int, *, skew: bool = True) -> dict[str, str]:
        """`timestamp` and the three times it is derived from, consistent as Segment makes them.

        Segment sets `timestamp = receivedAt - (sentAt - originalTimestamp)`; a browser's clock
        may be off (`skew`), a server's is taken as right.
        """
        random = self.rng.random
        clock_skew = int(random() * 180_000) - 90_000 if skew else 0
        in_flight = 5 + int(random() * 4_000)
        return {
            "originalTimestamp": self.iso(moment_ms + clock_skew),
            "sentAt": self.iso(moment_ms + clock_skew + in_flight),
            "receivedAt": self.iso(moment_ms + in_flight),
            "timestamp": self.iso(moment_ms),
        }

    # -- identifiers -----------------------------------------------------------------------------

    def uuid4(self) -> str:
        """A version 4 UUID drawn from the seeded generator (not from the OS)."""
        text = self.rng.randbytes(16).hex()
        return (
            f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{_UUID_VARIANT[text[16]]}{text[17:20]}-"
            f"{text[20:]}"
        )

    def hex_id(self, length: int = 24) -> str:
        return f"{self.rng.getrandbits(length * 4):0{length}x}"

    def base62(self, length: int) -> str:
        """Random letters and digits, like KSUIDs and Engage ids."""
        raw = base64.b64encode(self.rng.randbytes(length * 3 // 4 + 3))
        return raw[:length].translate(_TO_BASE62).decode()

    def user_id(self) -> str:
        """A userId as products assign them: database ids, prefixed ids or UUIDs."""
        roll = self.rng.random()
        if roll < 0.4:
            return str(1_000 + int(roll * 20_000_000))
        if roll < 0.7:
            return "usr_" + self.base62(14)
        return self.uuid4()

    def ip(self) -> str:
        return f"{self.pick(_IP_BLOCKS)}{1 + int(self.rng.random() * 254)}"

    # -- content ---------------------------------------------------------------------------------

    def page(self) -> dict[str, str]:
        """A `page` object as analytics.js fills it (path, referrer, search, title, url)."""
        pools = self.pools
        host = self.pick(_URL_HOSTS)
        path = self.pick(pools.page_paths)
        search = f"?utm_source={self.pick(_UTM_SOURCES)}" if self.chance(0.3) else ""
        return {
            "path": path,
            "referrer": f"https://{self.pick(_URL_HOSTS)}{self.pick(pools.page_paths)}"
            if self.chance(0.6)
            else "",
            "search": search,
            "title": self.pick(pools.page_titles),
            "url": f"https://{host}{path}{search}",
        }

    def url(self) -> str:
        return f"https://{self.pick(_URL_HOSTS)}{self.pick(self.pools.page_paths)}"

    def event_name(self) -> str:
        return self.pick(EVENT_NAMES)

    def traits(
        self, person: Person, *, email: bool = True, extra: int | None = None
    ) -> dict[str, Any]:
        """Traits as customers send them: the email first, then a few of the common ones."""
        random = self.rng.random
        pools = self.pools
        traits: dict[str, Any] = {"email": person.email} if email else {}
        count = int(random() * 5) if extra is None else extra
        if count > 0:
            traits["name"] = person.name
        if count > 1:
            traits["firstName"] = person.first_name
            traits["lastName"] = person.last_name
        if count > 2:
            traits["plan"] = self.pick(_PLANS)
            traits["company"] = {"name": self.pick(pools.companies)}
        if count > 3:
            traits["title"] = self.pick(pools.job_titles)
            traits["createdAt"] = self.iso(self.window_ms[0] - int(random() * 900 * DAY_MS))
            traits["logins"] = 1 + int(random() * 400)
        return traits

    def locale(self) -> str:
        return self.pick(_LOCALES)

    def timezone(self) -> str:
        return self.pick(_TIMEZONES)
