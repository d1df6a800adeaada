"""The Hypothesis state machine explore runs: identify calls as rules, the model as the oracle.

Rules: a call for a new or known contact (email case, whitespace and place variants, a decoy
address at a later place, timestamps either side of midnight and across offsets, out-of-order
trait updates, descriptions from each source), a retry (the same call again), a fresh call that
reuses an earlier messageId, an Engage audience flip, a refused call, a wrong key, and a burst
of concurrent duplicates. After each step the answers and the read-back are judged by `oracle`.
Each example's contacts carry an example tag, so a long-lived target's state never leaks in.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from harness.explore.oracle import Divergence, Expected, Model, judge_answers, judge_read_back
from harness.target import Destination, Exchange, ReadBack
from reference_impl.rules import contact_key_of
from scenarios.model import Auth, Request

__all__ = ["ExploreContext", "Step", "machine_for"]

#: The first day explored; the others follow it.
_FIRST_DAY = date(2026, 3, 28)
# Hypothesis draws early members of a choice more often (and shrinks towards the first): the
# choices that tell defects apart come early, after the plainest one.
_CLOCKS = ("12:00:00", "23:30:00", "00:30:00", "23:59:59", "00:00:00")
_FRACTIONS = ("", ".250", ".123456")
_OFFSETS = ("Z", "-05:00", "+14:00", "+05:30", "-12:00", "+02:00", "+00:00")
_PLACES = ("traits.email", "context.traits.email", "email")
_CASES = ("lower", "upper", "title")
_DESCRIPTIONS: tuple[tuple[str, ...], ...] = (
    (),
    ("event", "url"),
    ("url", "context.page.url"),
    ("bad:page.url", "event"),
    ("event",),
    ("bad:url",),
    ("page.url",),
    ("context.page.url",),
    ("url",),
)
_PLANS = (None, "free", "pro", "team")
_REFUSED = ("no-email", "no-timestamp", "no-zone", "bad-email")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of an example: what it did, its calls and answers, and the contract's view."""

    label: str
    exchanges: tuple[Exchange, ...]
    expected: tuple[Expected, ...]


@dataclass
class ExploreContext:
    """What every example shares: the target, its read API, budgets and the progress hooks."""

    destination: Destination
    read_back: ReadBack | None
    run_tag: str
    timeout: float
    on_example: Callable[[], None] = lambda: None
    on_steps: Callable[[int], None] = lambda sent: None
    examples: int = 0
    #: The steps of the example running now; after a failure, those of the last failing one.
    steps: list[Step] = field(default_factory=list)
    failing: list[Step] | None = None
    divergence: Divergence | None = None


def _timestamp(day: int, clock: str, fraction: str, offset: str) -> str:
    return f"{(_FIRST_DAY + timedelta(days=day)).isoformat()}T{clock}{fraction}{offset}"


def _cased(email: str, case: str, pad: bool) -> str:
    text = {"lower": email, "upper": email.upper(), "title": email.title()}[case]
    return f"  {text} " if pad else text


def _set(payload: dict[str, Any], place: str, value: Any) -> None:
    *parents, name = place.split(".")
    holder = payload
    for parent in parents:
        holder = holder.setdefault(parent, {})
    holder[name] = value


def machine_for(context: ExploreContext) -> type[RuleBasedStateMachine]:
    """A state machine class bound to `context` (Hypothesis makes one instance per example)."""

    class NatExplorer(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            context.examples += 1
            context.steps = []
            context.on_example()
            self.model = Model()
            self.tag = f"{context.run_tag}e{context.examples}"
            self.sent: list[dict[str, Any]] = []
            self.serial = 0

        def teardown(self) -> None:
            self.model.close()

        # -- building calls ------------------------------------------------------------------

        def email(self, contact: int) -> str:
            return f"{self.tag}-c{contact}@explore.example.com"

        def message_id(self) -> str:
            self.serial += 1
            return f"{self.tag}-m{self.serial}"

        def call(
            self,
            *,
            contact: int,
            case: str = "lower",
            pad: bool = False,
            place: str = "traits.email",
            decoy: bool = False,
            null_first: bool = False,
            moment: str,
            plan: str | None = None,
            vip: bool | None = None,
            description: tuple[str, ...] = (),
            call_type: str = "identify",
        ) -> dict[str, Any]:
            self.serial += 1
            payload: dict[str, Any] = {
                "type": call_type,
                "messageId": f"{self.tag}-m{self.serial}",
                "timestamp": moment,
                "traits": {},
            }
            _set(payload, place, _cased(self.email(contact), case, pad))
            later = _PLACES[_PLACES.index(place) + 1 :]
            if decoy and later:
                _set(payload, later[0], self.email(contact + 7))
            if null_first and place != "traits.email":
                payload["traits"]["email"] = None
            if plan is not None:
                payload["traits"]["plan"] = plan
            if vip is not None:
                payload["traits"]["vip"] = vip
            for source in description:
                bad = source.startswith("bad:")
                where = source.removeprefix("bad:")
                value = (
                    f"{where.split('.')[0]} number {self.serial}"
                    if where == "event"
                    else ("not a url" if bad else f"https://shop.example/{where}/{self.serial}")
                )
                _set(payload, where, value)
            return payload

        # -- sending and judging -------------------------------------------------------------

        def send(
            self,
            label: str,
            payloads: list[dict[str, Any]],
            *,
            auth: Auth = "basic",
            concurrent: bool = False,
        ) -> None:
            number = len(context.steps) + 1
            requests = [Request(payload, auth=auth) for payload in payloads]
            destination = context.destination
            if concurrent:
                with ThreadPoolExecutor(max_workers=len(requests)) as pool:
                    exchanges = list(pool.map(destination.send, requests))
            else:
                exchanges = [destination.send(request) for request in requests]
            authorized = auth in ("basic", "bearer")
            expected = [self.model.call(payload, authorized=authorized) for payload in payloads]
            context.steps.append(Step(label, tuple(exchanges), tuple(expected)))
            context.on_steps(len(exchanges))
            self.sent.extend(payloads)
            try:
                judge_answers(
                    number,
                    exchanges,
                    expected,
                    list(payloads),
                    timeout=context.timeout,
                    concurrent=concurrent,
                )
                self.read_back(number, payloads)
            except Divergence as divergence:
                context.failing = list(context.steps)
                context.divergence = divergence
                raise

        def read_back(self, number: int, payloads: list[dict[str, Any]]) -> None:
            read_back = context.read_back
            if read_back is None:
                return
            contacts: set[str] = set()
            for payload in payloads:
                for index in range(3):
                    if self.email(index) in str(payload).lower():
                        contacts.add(contact_key_of(self.email(index)))
            for contact in sorted(contacts):
                want = self.model.timeline(contact)

                def same_days(exchange: Exchange, want: list[tuple[str, str]] = want) -> bool:
                    entries = exchange.document()
                    found = entries.get("entries") if isinstance(entries, dict) else None
                    if exchange.status == 404:
                        return not want
                    return isinstance(found, list) and len(found) == len(want)

                timeline = read_back.timeline(contact, until=same_days)
                properties = read_back.contact(contact, until=lambda exchange: True)
                judge_read_back(number, contact, self.model, timeline, properties)

        # -- rules ---------------------------------------------------------------------------

        @rule(
            contact=st.integers(0, 2),
            case=st.sampled_from(_CASES),
            pad=st.booleans(),
            place=st.sampled_from(_PLACES),
            decoy=st.booleans(),
            null_first=st.booleans(),
            day=st.integers(0, 2),
            clock=st.sampled_from(_CLOCKS),
            fraction=st.sampled_from(_FRACTIONS),
            offset=st.sampled_from(_OFFSETS),
            plan=st.sampled_from(_PLANS),
            vip=st.sampled_from((None, True, False)),
            description=st.sampled_from(_DESCRIPTIONS),
            type_case=st.sampled_from(("identify", "Identify", "IDENTIFY")),
            bearer=st.booleans(),
        )
        def identify(
            self,
            contact: int,
            case: str,
            pad: bool,
            place: str,
            decoy: bool,
            null_first: bool,
            day: int,
            clock: str,
            fraction: str,
            offset: str,
            plan: str | None,
            vip: bool | None,
            description: tuple[str, ...],
            type_case: str,
            bearer: bool,
        ) -> None:
            moment = _timestamp(day, clock, fraction, offset)
            payload = self.call(
                contact=contact,
                case=case,
                pad=pad,
                place=place,
                decoy=decoy,
                null_first=null_first,
                moment=moment,
                plan=plan,
                vip=vip,
                description=description,
                call_type=type_case,
            )
            self.send(
                f"identify contact {contact} at {moment} ({place}, {case})",
                [payload],
                auth="bearer" if bearer else "basic",
            )

        @precondition(lambda self: bool(self.sent))
        @rule(index=st.integers(0, 50))  # 0: the latest call, so shrinking keeps the pairing
        def retry(self, index: int) -> None:
            payload = self.sent[-1 - index % len(self.sent)]
            self.send("the same call again (a retry, same messageId)", [payload])

        @precondition(lambda self: bool(self.sent))
        @rule(
            index=st.integers(0, 50),
            day=st.integers(0, 2),
            plan=st.sampled_from(_PLANS[1:]),
        )
        def retry_on_another_day(self, index: int, day: int, plan: str) -> None:
            first = self.sent[-1 - index % len(self.sent)]
            moment = _timestamp(day, "12:00:00", "", "Z")
            contact = next((c for c in range(3) if self.email(c) in str(first).lower()), 0)
            payload = self.call(contact=contact, moment=moment, plan=plan)
            payload["messageId"] = first.get("messageId")
            self.send(f"a new call for contact {contact} reusing an earlier messageId", [payload])

        @rule(
            contact=st.integers(0, 2),
            member=st.booleans(),
            day=st.integers(0, 2),
            clock=st.sampled_from(_CLOCKS),
        )
        def audience_flip(self, contact: int, member: bool, day: int, clock: str) -> None:
            moment = _timestamp(day, clock, "", "Z")
            payload = self.call(contact=contact, moment=moment)
            payload["traits"]["big_spenders"] = member
            payload["context"] = {
                "personas": {
                    "computation_class": "audience",
                    "computation_id": "aud_explore",
                    "computation_key": "big_spenders",
                    "namespace": "spa_explore",
                    "space_id": "spa_explore",
                }
            }
            payload["integrations"] = {"All": False, "Nat": True}
            self.send(
                f"Engage: contact {contact} {'enters' if member else 'leaves'} big_spenders",
                [payload],
            )

        @rule(contact=st.integers(0, 2), kind=st.sampled_from(_REFUSED), day=st.integers(0, 2))
        def refused_call(self, contact: int, kind: str, day: int) -> None:
            payload = self.call(contact=contact, moment=_timestamp(day, "12:00:00", "", "Z"))
            if kind == "no-email":
                del payload["traits"]["email"]
            elif kind == "no-timestamp":
                del payload["timestamp"]
            elif kind == "no-zone":
                payload["timestamp"] = payload["timestamp"].removesuffix("Z")
            else:
                payload["traits"]["email"] = self.email(contact).replace("@", " at ")
            self.send(f"a call the contract refuses ({kind})", [payload])

        @rule(
            contact=st.integers(0, 2),
            day=st.integers(0, 2),
            bearer=st.booleans(),
        )
        def wrong_key(self, contact: int, day: int, bearer: bool) -> None:
            payload = self.call(contact=contact, moment=_timestamp(day, "12:00:00", "", "Z"))
            self.send(
                f"a call for contact {contact} with a wrong key",
                [payload],
                auth="wrong-bearer" if bearer else "wrong",
            )

        @rule(contact=st.integers(0, 2), count=st.integers(2, 4), day=st.integers(0, 2))
        def burst(self, contact: int, count: int, day: int) -> None:
            moment = _timestamp(day, "12:00:00", "", "Z")
            first = self.call(contact=contact, moment=moment, description=("page.url",))
            payloads = [first]
            for _ in range(count - 1):
                payloads.append({**first, "messageId": self.message_id()})
            self.send(
                f"{count} concurrent calls for contact {contact}, one day, fresh messageIds",
                payloads,
                concurrent=True,
            )

    return NatExplorer
