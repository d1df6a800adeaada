"""Sequences for one contact each: deduplication per day, idempotent retries, latest value wins.

Each sequence's requests are built first; the answers and the final state then follow from the
contract (`scenarios.expect.Ledger`), never from numbers written next to the requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from scenarios.engage import AUDIENCES, engage_payload
from scenarios.expect import expect_sequence
from scenarios.model import Request, Scenario, Sequence
from scenarios.pools import Pools, make_pools
from scenarios.sampler import DAY_MS, Person, Sampler

__all__ = ["sequences"]

_HOUR_MS = 3_600_000
_MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class _Plan:
    id: str
    summary: str
    build: Callable[[Sampler], list[Request]]
    concurrent: bool = False


def _recommended(sampler: Sampler, email: str, moment: int, **extra: Any) -> Request:
    payload: dict[str, Any] = {
        "type": "identify",
        "timestamp": sampler.iso(moment),
        "traits": {"email": email},
        "page": {"url": sampler.url()},
    }
    payload.update(extra)
    return Request(payload)


def _day(sampler: Sampler) -> int:
    """Midnight UTC of a day in the window with a whole day after it inside the window too."""
    return sampler.day_start(sampler.rng.randrange(10))


def _moments(sampler: Sampler, start: int, span: int, count: int) -> list[int]:
    """`count` distinct moments in [start, start + span), in time order."""
    return sorted(start + offset for offset in sampler.rng.sample(range(span), count))


def same_day_calls(sampler: Sampler) -> list[Request]:
    person = sampler.person()
    moments = _moments(sampler, _day(sampler) + _HOUR_MS, 22 * _HOUR_MS, 5)
    email = person.email
    requests = [
        _recommended(sampler, email, moments[0], messageId=sampler.uuid4()),
        Request({"type": "identify", "timestamp": sampler.iso(moments[1]), "email": email}),
        Request(
            {
                "type": "identify",
                "timestamp": sampler.iso(moments[2]),
                "email": email,
                "event": sampler.event_name(),
            }
        ),
        Request(
            {
                "type": "identify",
                "messageId": sampler.uuid4(),
                "timestamp": sampler.iso(moments[3]),
                "context": {"traits": {"email": email}, "page": sampler.page()},
                "traits": {"plan": "pro"},
            }
        ),
        _recommended(sampler, email, moments[4]),
    ]
    # Segment does not promise order: the first to arrive makes the entry, whichever it is.
    sampler.rng.shuffle(requests)
    return requests


def either_side_of_midnight(sampler: Sampler) -> list[Request]:
    person = sampler.person()
    midnight = _day(sampler) + DAY_MS
    before = midnight - sampler.rng.randint(1, 900)
    after = midnight + sampler.rng.randint(0, 900)
    return [
        _recommended(sampler, person.email, before, messageId=sampler.uuid4()),
        _recommended(sampler, person.email, after, messageId=sampler.uuid4()),
    ]


def offsets_one_utc_day(sampler: Sampler) -> list[Request]:
    """Local dates on either side of midnight that are one UTC day (23:00 and 23:30 UTC)."""
    person = sampler.person()
    late = _day(sampler) + 23 * _HOUR_MS
    first = Request(
        {
            "type": "identify",
            "timestamp": sampler.iso(late + 30 * _MINUTE_MS, 2 * 60),
            "traits": {"email": person.email},
        }
    )
    second = Request(
        {
            "type": "identify",
            "timestamp": sampler.iso(late, -4 * 60),
            "email": person.email,
        }
    )
    return [first, second]


def email_case_variants(sampler: Sampler) -> list[Request]:
    person = sampler.person()
    local, _, domain = person.email.partition("@")
    moments = _moments(sampler, _day(sampler), DAY_MS, 4)
    spellings = (
        f"{local.title()}@{domain.title()}",
        f"  {person.email.upper()} ",
        person.email,
        f"\t{local}@{domain.upper()}",
    )
    return [
        _recommended(sampler, spellings[0], moments[0], messageId=sampler.uuid4()),
        Request(
            {
                "type": "identify",
                "timestamp": sampler.iso(moments[1]),
                "context": {"traits": {"email": spellings[1]}},
            }
        ),
        Request({"type": "identify", "timestamp": sampler.iso(moments[2]), "email": spellings[2]}),
        _recommended(sampler, spellings[3], moments[3]),
    ]


def _browser_identify(sampler: Sampler, person: Person, moment: int) -> dict[str, Any]:
    return {
        "anonymousId": sampler.uuid4(),
        "context": {
            "library": {"name": "analytics.js", "version": "npm:next-1.70.0"},
            "page": sampler.page(),
        },
        "integrations": {},
        "messageId": f"ajs-next-{moment}-{sampler.uuid4()}",
        **sampler.segment_times(moment),
        "traits": sampler.traits(person, extra=2),
        "type": "identify",
        "userId": sampler.user_id(),
    }


def retried_message_id(sampler: Sampler) -> list[Request]:
    """The first delivery, Segment's retry of it, then the same messageId on another day."""
    person = sampler.person()
    moment = _day(sampler) + sampler.rng.randrange(DAY_MS)
    payload = _browser_identify(sampler, person, moment)
    moved = {
        **payload,
        "timestamp": sampler.iso(moment + DAY_MS),
        "traits": {**payload["traits"], "plan": "changed"},
    }
    return [Request(payload), Request(payload), Request(moved)]


def concurrent_duplicates(sampler: Sampler) -> list[Request]:
    person = sampler.person()
    moments = _moments(sampler, _day(sampler), DAY_MS, 8)
    return [
        _recommended(sampler, person.email, moment, messageId=sampler.uuid4()) for moment in moments
    ]


def concurrent_retries(sampler: Sampler) -> list[Request]:
    person = sampler.person()
    payload = _browser_identify(sampler, person, _day(sampler) + sampler.rng.randrange(DAY_MS))
    return [Request(payload) for _ in range(6)]


def audience_out_of_order(sampler: Sampler) -> list[Request]:
    """Entered on one day, exited the next; the exit arrives first."""
    person = sampler.person()
    audience = sampler.pick(AUDIENCES)
    space_id = sampler.pick(sampler.pools.engage_spaces)
    entered_at = _day(sampler) + sampler.rng.randrange(DAY_MS)
    calls = [
        engage_payload(
            sampler,
            email=person.email,
            computation_class="audience",
            key=audience,
            value=value,
            moment=moment,
            space_id=space_id,
        )
        for value, moment in ((True, entered_at), (False, entered_at + DAY_MS))
    ]
    return [Request(calls[1]), Request(calls[0])]


def computed_trait_out_of_order(sampler: Sampler) -> list[Request]:
    """Three values of one computed trait in a day, arriving latest first."""
    person = sampler.person()
    space_id = sampler.pick(sampler.pools.engage_spaces)
    moments = _moments(sampler, _day(sampler), DAY_MS, 3)
    values = sampler.rng.sample(range(1, 500), 3)
    calls = [
        Request(
            engage_payload(
                sampler,
                email=person.email,
                computation_class="trait",
                key="logins_30d",
                value=value,
                moment=moment,
                space_id=space_id,
            )
        )
        for value, moment in zip(values, moments, strict=True)
    ]
    return [calls[2], calls[0], calls[1]]


def deduplicated_call_sets_properties(sampler: Sampler) -> list[Request]:
    """The day's second call is deduplicated, and still sets a newer value and a new trait."""
    person = sampler.person()
    first, second = _moments(sampler, _day(sampler), DAY_MS, 2)
    plan, upgraded = sampler.rng.sample(("free", "trial", "pro", "business"), 2)
    return [
        _recommended(sampler, person.email, first, traits={"email": person.email, "plan": plan}),
        Request(
            {
                "type": "identify",
                "timestamp": sampler.iso(second),
                "traits": {"email": person.email, "plan": upgraded, "seats": 3},
            }
        ),
    ]


def three_days(sampler: Sampler) -> list[Request]:
    person = sampler.person()
    start = _day(sampler)
    return [
        _recommended(sampler, person.email, start + day * DAY_MS + sampler.rng.randrange(DAY_MS))
        for day in range(3)
    ]


def rejected_then_fixed(sampler: Sampler) -> list[Request]:
    """A call refused for its timestamp, then the corrected call with the same messageId."""
    person = sampler.person()
    moment = _day(sampler) + sampler.rng.randrange(DAY_MS)
    message_id = sampler.uuid4()
    fixed = _recommended(sampler, person.email, moment, messageId=message_id)
    broken = {**fixed.payload, "timestamp": fixed.payload["timestamp"].rstrip("Z")}
    return [Request(broken), fixed]


_PLANS: tuple[_Plan, ...] = (
    _Plan(
        "sequence/same-day-n-calls",
        "Five calls for one contact in one UTC day, in every format, in any order: one entry",
        same_day_calls,
    ),
    _Plan(
        "sequence/either-side-of-utc-midnight",
        "23:59:59.x and 00:00:00.x UTC: two days, two entries",
        either_side_of_midnight,
    ),
    _Plan(
        "sequence/offsets-one-utc-day",
        "01:30+02:00 and 19:00-04:00 on different local dates are one UTC day: one entry",
        offsets_one_utc_day,
    ),
    _Plan(
        "sequence/email-case-variants",
        "Case and space variants of one address, in every email place: one contact, one entry",
        email_case_variants,
    ),
    _Plan(
        "sequence/retried-message-id",
        "A retried messageId gets the first answer, marked replayed, and changes nothing",
        retried_message_id,
    ),
    _Plan(
        "sequence/concurrent-duplicates",
        "Eight calls for one contact and day sent at once: exactly one entry",
        concurrent_duplicates,
        concurrent=True,
    ),
    _Plan(
        "sequence/concurrent-retries",
        "Six copies of one message sent at once: one entry, one processed message",
        concurrent_retries,
        concurrent=True,
    ),
    _Plan(
        "sequence/audience-out-of-order",
        "Audience exit (later) arrives before entry: the trait ends false, two days' entries",
        audience_out_of_order,
    ),
    _Plan(
        "sequence/computed-trait-out-of-order",
        "Three computed-trait values arrive latest first: the latest timestamp's value wins",
        computed_trait_out_of_order,
    ),
    _Plan(
        "sequence/deduplicated-call-sets-properties",
        "The day's second call is deduplicated and still sets a newer value and a new trait",
        deduplicated_call_sets_properties,
    ),
    _Plan(
        "sequence/three-days",
        "One call on each of three days: three entries",
        three_days,
    ),
    _Plan(
        "sequence/rejected-then-fixed",
        "A refused call, then the fixed call with the same messageId: created, not a replay",
        rejected_then_fixed,
    ),
)


def sequences(
    seed: int = 0, *, day_zone: tzinfo = UTC, pools: Pools | None = None
) -> list[Sequence]:
    """Every deduplication, idempotency and ordering sequence, each for its own new contact.

    `pools` (by default `make_pools(seed)`) lets many seeds share the Faker values built once.
    """
    sampler = Sampler(seed, pools or make_pools(seed), scope="s")
    built = []
    for plan in _PLANS:
        requests = plan.build(sampler)
        expects, final = expect_sequence(requests, day_zone=day_zone)
        steps = tuple(
            Scenario(
                id=f"{plan.id}/{index}",
                family="sequence",
                request=request,
                expect=expect,
                summary=f"step {index + 1} of {len(requests)}",
            )
            for index, (request, expect) in enumerate(zip(requests, expects, strict=True))
        )
        built.append(
            Sequence(
                id=plan.id,
                steps=steps,
                final=final,
                concurrent=plan.concurrent,
                summary=plan.summary,
            )
        )
    return built
