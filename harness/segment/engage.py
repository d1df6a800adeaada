"""Engage audience syncs, simulated: a seeded population whose audience membership and computed
traits change over simulated days, sent to a destination as Engage sends them (CONTRACT A.6).

The first sync sends every member (`true`) and every computed trait; later syncs, every two to
three simulated hours, send only the changes (`true` on entry, `false` on exit, new trait values).
`check_membership` then reads the destination's user properties back and compares them with what
the audience and traits are at the end.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from faker import Faker

from contract.endpoints import without_credentials
from contract.engage import engage_identify
from contract.read_api import contact_url
from contract.timestamps import format_segment_time
from harness.errors import SettingError, TargetUnreachable
from harness.segment.clock import VirtualClock
from harness.segment.delivery import DeliveryEndpoint
from harness.segment.simulator import SegmentSimulator, SegmentSimulatorConfig
from scenarios.sampler import EMAIL_DOMAINS

__all__ = [
    "PROFILE_TRAITS",
    "EngageConfig",
    "EngageSimulation",
    "EngageSummary",
    "MembershipReport",
    "Mismatch",
    "Profile",
    "Sync",
    "check_membership",
    "run_engage",
    "snake_case",
]

HOUR = 3600.0
DAY = 24 * HOUR
#: The computed traits every profile has, and what kind of value each holds.
PROFILE_TRAITS: dict[str, str] = {"lifetime_orders": "number", "favorite_category": "string"}
_CATEGORIES = ("books", "garden", "kitchen", "music", "outdoors", "shoes", "toys", "travel")
_SYNC_EVERY = (2 * HOUR, 3 * HOUR)
_TAG = re.compile(r"[A-Za-z0-9_-]{0,20}")


def snake_case(name: str) -> str:
    """An audience or trait key as Engage makes it: "Order Completed Last 30 Days" becomes
    `order_completed_last_30_days`; camelCase words are split too."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    key = re.sub(r"[^0-9A-Za-z]+", "_", spaced).strip("_").lower()
    if not key:
        raise SettingError(
            "audience",
            f"{name!r} has no letters or digits: name it like 'Order Completed Last 30 Days'",
        )
    return key


@dataclass(frozen=True, slots=True)
class Profile:
    """One person in the Engage space."""

    user_id: str
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class EngageConfig:
    """What `nat-harness simulate engage` simulates."""

    audience: str
    population: int = 1000
    days: float = 7.0
    churn: float = 0.1
    seed: int = 0
    initial_share: float = 0.3
    computed_traits: bool = True
    tag: str = ""

    def __post_init__(self) -> None:
        snake_case(self.audience)
        if not _TAG.fullmatch(self.tag):
            raise SettingError(
                "tag",
                f"{self.tag!r} cannot go into an email address: use up to 20 letters, "
                "digits, '-' or '_' (or '' for none)",
            )
        if self.population < 1:
            raise SettingError("population", f"must be at least 1 profile, got {self.population}")
        if not 0 <= self.days <= 365:
            raise SettingError("days", f"must be between 0 and 365 simulated days, got {self.days}")
        if not 0.0 <= self.churn <= 1.0:
            raise SettingError(
                "churn",
                "must be between 0 and 1 (the share of members leaving per simulated "
                f"day, as many others joining), got {self.churn}",
            )
        if not 0.0 < self.initial_share < 1.0:
            raise SettingError(
                "initial_share",
                f"must be between 0 and 1 (the share of profiles in the audience at the first "
                f"sync), got {self.initial_share}",
            )


@dataclass(frozen=True, slots=True)
class Sync:
    """One sync: when, the identify calls it sends, and how the audience changed."""

    number: int
    at: datetime
    calls: tuple[dict[str, Any], ...]
    members: int
    entered: int
    exited: int
    trait_updates: int


class EngageSimulation:
    """A seeded population with an audience and computed traits that change sync after sync.

    Everything comes from the seed (the same config gives byte-identical calls): names, ids,
    membership. Emails are on reserved domains (RFC 2606), so a call can reach no real person,
    and carry `+tag` when the config has one, as do messageIds (`.tag`), so that runs with
    different tags never share a contact or a messageId on a long-lived destination.

    `expected_properties` says what the destination should hold for each profile: the latest
    value sent for each key.
    """

    def __init__(
        self, config: EngageConfig, *, start: datetime, faker: Faker | None = None
    ) -> None:
        self.config = config
        self.start = start
        self.audience_key = snake_case(config.audience)
        self._rng = random.Random(config.seed)
        # messageIds have their own stream, so membership is the same whatever ids are drawn.
        self._ids = random.Random(f"message-ids-{config.seed}")
        self._id_suffix = f".{config.tag}" if config.tag else ""
        if faker is None:
            faker = Faker("en_US")
            faker.seed_instance(config.seed)
        self.profiles = tuple(
            _make_profile(faker, number, config.tag) for number in range(config.population)
        )
        self.space_id = f"spa_{self._rng.getrandbits(64):016x}"
        self._computation_ids = {
            key: f"{'aud' if key == self.audience_key else 'trt'}_{self._rng.getrandbits(64):016x}"
            for key in (self.audience_key, *PROFILE_TRAITS)
        }
        self.members = {
            number
            for number in range(config.population)
            if self._rng.random() < config.initial_share
        }
        self.traits: list[dict[str, Any]] = [
            {
                "lifetime_orders": self._rng.randint(0, 20),
                "favorite_category": self._rng.choice(_CATEGORIES),
            }
            for _ in self.profiles
        ]
        self._sent: list[dict[str, Any]] = [{} for _ in self.profiles]

    def syncs(self) -> Iterator[Sync]:
        """The initial sync, then one every two to three simulated hours for `days` days."""
        end = self.config.days * DAY
        yield self._initial_sync()
        at, number = self._rng.uniform(*_SYNC_EVERY), 2
        previous = 0.0
        while at <= end:
            yield self._later_sync(number, at, at - previous)
            previous, number = at, number + 1
            at += self._rng.uniform(*_SYNC_EVERY)

    def expected_properties(self, profile_number: int) -> dict[str, Any]:
        """The user properties a correct destination holds for this profile from these syncs."""
        return dict(self._sent[profile_number])

    def _initial_sync(self) -> Sync:
        calls = [
            self._call(number, self.audience_key, True, 0.0) for number in sorted(self.members)
        ]
        if self.config.computed_traits:
            for number, traits in enumerate(self.traits):
                calls.extend(self._call(number, key, value, 0.0) for key, value in traits.items())
        return Sync(1, self.start, tuple(calls), len(self.members), len(self.members), 0, 0)

    def _later_sync(self, sync_number: int, at: float, interval: float) -> Sync:
        rng = self._rng
        leave = 1.0 - (1.0 - self.config.churn) ** (interval / DAY)
        share = self.config.initial_share
        join = leave * share / (1.0 - share)  # as many join as leave, on average
        entered, exited = [], []
        for number in range(len(self.profiles)):
            if number in self.members:
                if rng.random() < leave:
                    exited.append(number)
            elif rng.random() < join:
                entered.append(number)
        self.members.difference_update(exited)
        self.members.update(entered)
        calls = [self._call(number, self.audience_key, True, at) for number in entered]
        calls += [self._call(number, self.audience_key, False, at) for number in exited]
        trait_updates = 0
        if self.config.computed_traits:
            for number, traits in enumerate(self.traits):
                if rng.random() < leave:
                    traits["lifetime_orders"] += rng.randint(1, 2)
                    calls.append(
                        self._call(number, "lifetime_orders", traits["lifetime_orders"], at)
                    )
                    trait_updates += 1
                if rng.random() < leave / 2:
                    choice = rng.choice(_CATEGORIES)
                    if choice != traits["favorite_category"]:
                        traits["favorite_category"] = choice
                        calls.append(self._call(number, "favorite_category", choice, at))
                        trait_updates += 1
        return Sync(
            sync_number,
            self.start + timedelta(seconds=at),
            tuple(calls),
            len(self.members),
            len(entered),
            len(exited),
            trait_updates,
        )

    def _call(self, number: int, key: str, value: Any, at: float) -> dict[str, Any]:
        """The identify call Engage sends for one computed value of one profile."""
        profile = self.profiles[number]
        self._sent[number][key] = value
        self._sent[number]["email"] = profile.email
        call = engage_identify(
            computation_class="audience" if key == self.audience_key else "trait",
            computation_id=self._computation_ids[key],
            key=key,
            value=value,
            email=profile.email,
            namespace=self.space_id,
            space_id=self.space_id,
            message_id=f"personas_{self._ids.getrandbits(128):032x}{self._id_suffix}",
            user_id=profile.user_id,
        )
        call["channel"] = "server"
        call["timestamp"] = format_segment_time(self.start + timedelta(seconds=at))
        return call


def _make_profile(faker: Faker, number: int, tag: str) -> Profile:
    first, last = faker.first_name(), faker.last_name()
    local = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower())
    plus = f"+{tag}" if tag else ""
    return Profile(
        user_id=f"user_{number:06d}",
        email=f"{local}.{number}{plus}@{EMAIL_DOMAINS[number % len(EMAIL_DOMAINS)]}",
        first_name=first,
        last_name=last,
    )


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A user property the destination holds differently from the audience or trait."""

    email: str
    name: str
    expected: Any
    found: Any

    def describe(self) -> str:
        found = "missing" if self.found is _MISSING else repr(self.found)
        return f"{self.email}: {self.name} should be {self.expected!r}, destination has {found}"


class _Missing:
    def __repr__(self) -> str:
        return "missing"


_MISSING: Any = _Missing()


def _same(found: Any, expected: Any) -> bool:
    """Equal as JSON values: true is not 1, and 1 is 1.0."""
    if isinstance(found, bool) or isinstance(expected, bool):
        return found is expected
    return bool(found == expected)


@dataclass(frozen=True, slots=True)
class MembershipReport:
    """The outcome of `check_membership`: profiles checked and every property that differs."""

    checked: int
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def check_membership(
    simulation: EngageSimulation,
    read_api: str,
    api_key: str,
    *,
    workers: int = 8,
    timeout: float = 10.0,
) -> MembershipReport:
    """Compare the destination's user properties (`GET /contacts/{email}` of the reference read
    API) with the audience membership and computed traits the syncs should have left."""
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.auth = (api_key, "")
        held: requests.Session = local.session
        return held

    audience_key = simulation.audience_key

    def compare(number: int) -> list[Mismatch]:
        expected = simulation.expected_properties(number)
        expected.pop("email", None)
        email = simulation.profiles[number].email
        url = contact_url(read_api, email)
        try:
            answer = session().get(url, timeout=timeout)
        except requests.RequestException as error:
            shown = without_credentials(url)
            raise TargetUnreachable(f"cannot read {shown}: {error}") from None
        if answer.status_code == 404:
            held: dict[str, Any] = {}
        elif answer.status_code == 200:
            held = {name: p.get("value") for name, p in answer.json()["properties"].items()}
        else:
            raise TargetUnreachable(
                f"GET {without_credentials(url)} answered {answer.status_code}: the membership "
                "check needs the reference read API (GET /contacts/{email}); run with --no-check "
                "for other destinations"
            )
        mismatches = [
            Mismatch(email, name, value, held.get(name, _MISSING))
            for name, value in expected.items()
            if not _same(held.get(name, _MISSING), value)
        ]
        never_member = held.get(audience_key, _MISSING)
        if (
            audience_key not in expected
            and never_member is not _MISSING
            and never_member is not False
        ):
            mismatches.append(Mismatch(email, audience_key, _MISSING, never_member))
        return mismatches

    numbers = range(len(simulation.profiles))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = [mismatch for batch in pool.map(compare, numbers) for mismatch in batch]
    checked = len(numbers)
    return MembershipReport(checked, tuple(found))


@dataclass(frozen=True, slots=True)
class EngageSummary:
    """What a simulated Engage run did."""

    audience_key: str
    syncs: int
    calls: int
    initial_members: int
    members: int
    entered: int
    exited: int
    trait_updates: int
    delivered: int
    retried: int
    dropped: int
    first_sync_at: str
    last_sync_at: str
    tag: str = ""
    check: MembershipReport | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            name: getattr(self, name) for name in self.__dataclass_fields__ if name != "check"
        }
        if self.check is not None:
            result["check"] = {
                "ok": self.check.ok,
                "checked": self.check.checked,
                "mismatches": [mismatch.describe() for mismatch in self.check.mismatches],
            }
        return result


def run_engage(
    simulation: EngageSimulation,
    destination: DeliveryEndpoint,
    *,
    concurrency: int = 32,
    log_path: str | Path | None = None,
    check: bool = True,
    on_sync: Callable[[Sync], None] | None = None,
    sync_timeout: float = 600.0,
) -> EngageSummary:
    """Send every sync through the simulator's pipeline and delivery, each at its simulated time
    (retries on the virtual clock), then check the destination's user properties if asked."""
    clock = VirtualClock(0, start=simulation.start)
    # The one place events carry simulated times: each sync is received at its simulated moment.
    simulator = SegmentSimulator(
        SegmentSimulatorConfig(destination, concurrency=concurrency, log_path=log_path),
        clock=clock,
        wall=clock.datetime,
    )
    syncs = calls = initial_members = entered = exited = trait_updates = 0
    last_at = simulation.start
    with simulator:
        for sync in simulation.syncs():
            clock.advance_to((sync.at - simulation.start).total_seconds())
            simulator.accept(sync.calls)
            if not simulator.wait_until_idle(sync_timeout):
                raise TargetUnreachable(
                    f"sync {sync.number} was still delivering after {sync_timeout:g} s: "
                    f"is {destination.shown_url} answering?"
                )
            syncs += 1
            calls += len(sync.calls)
            if sync.number == 1:
                initial_members = sync.members
            else:
                entered += sync.entered
                exited += sync.exited
            trait_updates += sync.trait_updates
            last_at = sync.at
            if on_sync is not None:
                on_sync(sync)
        counts = simulator.journal.counts()
    report = (
        check_membership(simulation, destination.base_url, destination.api_key) if check else None
    )
    return EngageSummary(
        audience_key=simulation.audience_key,
        syncs=syncs,
        calls=calls,
        initial_members=initial_members,
        members=len(simulation.members),
        entered=entered,
        exited=exited,
        trait_updates=trait_updates,
        delivered=counts["delivered"],
        retried=counts["retried"],
        dropped=counts["dropped"],
        first_sync_at=format_segment_time(simulation.start),
        last_sync_at=format_segment_time(last_at),
        tag=simulation.config.tag,
        check=report,
    )
