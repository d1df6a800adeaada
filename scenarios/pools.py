"""Pre-generated, seeded pools of realistic values that scenarios sample from.

Faker makes a few thousand values per second; sampling a pool makes hundreds of thousands. So each
run asks a seeded Faker for a few hundred values per field once, and scenarios pick from those.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from faker import Faker

__all__ = ["EVENT_NAMES", "Pools", "make_pools"]

#: Event names as customers name them in the Segment spec's style (the alternative Example 2
#: puts one in `event`, which then describes the timeline entry).
EVENT_NAMES: tuple[str, ...] = (
    "User logged in",
    "Signed Up",
    "Logged In",
    "Trial Started",
    "Subscription Upgraded",
    "Order Completed",
    "Demo Requested",
    "Invite Sent",
    "Account Created",
    "Feature Activated",
    "Report Exported",
    "Password Reset",
)

#: Locales for names that are not plain ASCII (traits and unicode edge cases).
_UNICODE_LOCALES = ("de_DE", "fr_FR", "ja_JP", "ru_RU", "pt_BR", "tr_TR", "zh_CN")
_NOT_LETTER = re.compile(r"[^a-z]")
_ID_LETTERS = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Pools:
    """Immutable value pools; every tuple is non-empty."""

    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    #: The same names as lowercase ASCII letters, index for index: safe in an email's local part.
    email_first: tuple[str, ...]
    email_last: tuple[str, ...]
    unicode_names: tuple[str, ...]
    companies: tuple[str, ...]
    job_titles: tuple[str, ...]
    cities: tuple[str, ...]
    country_codes: tuple[str, ...]
    phone_numbers: tuple[str, ...]
    page_paths: tuple[str, ...]
    page_titles: tuple[str, ...]
    user_agents: tuple[str, ...]
    words: tuple[str, ...]
    #: Engage space ids: a workspace has one or two, and every audience lives in one.
    engage_spaces: tuple[str, ...]


def _ascii_letters(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NOT_LETTER.sub("", folded)


def make_pools(seed: int, size: int = 256) -> Pools:
    """Pools drawn from Faker seeded with `seed`: the same seed always gives the same pools."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    small = max(16, size // 4)
    first_names = tuple(fake.first_name() for _ in range(size))
    last_names = tuple(fake.last_name() for _ in range(size))
    unicode_fake = Faker(list(_UNICODE_LOCALES))
    unicode_fake.seed_instance(seed)
    unicode_names = tuple(
        name for name in (unicode_fake.name() for _ in range(small)) if not name.isascii()
    )
    return Pools(
        first_names=first_names,
        last_names=last_names,
        email_first=tuple(_ascii_letters(name) or "user" for name in first_names),
        email_last=tuple(_ascii_letters(name) or "user" for name in last_names),
        unicode_names=unicode_names or ("Zoë Ångström",),
        companies=tuple(fake.company() for _ in range(small)),
        job_titles=tuple(fake.job() for _ in range(small)),
        cities=tuple(fake.city() for _ in range(small)),
        country_codes=tuple(fake.country_code() for _ in range(small)),
        phone_numbers=tuple(fake.phone_number() for _ in range(small)),
        page_paths=tuple("/" + fake.uri_path() for _ in range(size)),
        page_titles=tuple(fake.sentence(nb_words=3).rstrip(".") for _ in range(size)),
        user_agents=tuple(fake.user_agent() for _ in range(small)),
        words=tuple(fake.word() for _ in range(size)),
        engage_spaces=tuple(fake.lexify("?" * 22, letters=_ID_LETTERS) for _ in range(2)),
    )
