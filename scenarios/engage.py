"""Identify calls as Segment Engage sends them: audiences entered and exited, computed traits."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from contract.engage import ComputationClass, engage_identify
from scenarios.model import Request
from scenarios.sampler import Sampler
from scenarios.variant import Variant

__all__ = ["AUDIENCES", "COMPUTED_TRAITS", "VARIANTS", "engage_payload"]

#: Audience keys as Engage snake_cases audience names.
AUDIENCES: tuple[str, ...] = (
    "first_time_shopper",
    "high_value_customers",
    "churn_risk",
    "active_trial_users_7d",
    "enterprise_leads",
    "newsletter_subscribers",
)
#: Computed trait keys; their values come in every JSON type.
COMPUTED_TRAITS: tuple[str, ...] = (
    "lifetime_value",
    "logins_30d",
    "last_product_viewed",
    "is_power_user",
    "favorite_categories",
    "last_order",
)


def _computed_value(sampler: Sampler, key: str) -> Any:
    rng = sampler.rng
    if key == "lifetime_value":
        return round(rng.uniform(0, 5_000), 2)
    if key == "logins_30d":
        return rng.randint(0, 90)
    if key == "last_product_viewed":
        return sampler.pick(sampler.pools.words).title()
    if key == "is_power_user":
        return rng.random() < 0.5
    if key == "favorite_categories":
        return [sampler.pick(sampler.pools.words) for _ in range(rng.randint(1, 3))]
    return {"id": sampler.hex_id(12), "total": round(rng.uniform(5, 400), 2), "currency": "USD"}


def engage_payload(
    sampler: Sampler,
    *,
    email: str | None,
    computation_class: ComputationClass,
    key: str,
    value: Any,
    moment: int,
    space_id: str,
) -> dict[str, Any]:
    """An Engage identify for one audience or computed trait (`email` None: not known), with
    drawn ids and the times Segment stamps at `moment`."""
    prefix = "aud" if computation_class == "audience" else "tra"
    # The same audience or trait of a space keeps its id from one sync to the next.
    digest = hashlib.blake2b(f"{space_id}/{key}".encode(), digest_size=21).digest()
    computation_id = base64.b64encode(digest, altchars=b"Qz").decode()[:27]
    message_id = f"personas_{sampler.base62(27)}"
    times = sampler.segment_times(moment, skew=False)
    call = engage_identify(
        computation_class=computation_class,
        computation_id=f"{prefix}_{computation_id}",
        key=key,
        value=value,
        email=email,
        namespace=f"spa_{space_id}",
        space_id=space_id,
        message_id=message_id,
        user_id=sampler.user_id(),
    )
    return {**call, **times}


def _audience(sampler: Sampler, *, entered: bool, email: bool = True) -> Request:
    person = sampler.person()
    return Request(
        engage_payload(
            sampler,
            email=person.email if email else None,
            computation_class="audience",
            key=sampler.pick(AUDIENCES),
            value=entered,
            moment=sampler.moment(),
            space_id=sampler.pick(sampler.pools.engage_spaces),
        )
    )


def audience_entered(sampler: Sampler) -> Request:
    return _audience(sampler, entered=True)


def audience_exited(sampler: Sampler) -> Request:
    return _audience(sampler, entered=False)


def audience_without_email(sampler: Sampler) -> Request:
    return _audience(sampler, entered=True, email=False)


def computed_trait(sampler: Sampler) -> Request:
    person = sampler.person()
    key = sampler.pick(COMPUTED_TRAITS)
    return Request(
        engage_payload(
            sampler,
            email=person.email,
            computation_class="trait",
            key=key,
            value=_computed_value(sampler, key),
            moment=sampler.moment(),
            space_id=sampler.pick(sampler.pools.engage_spaces),
        )
    )


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "engage/audience-entered",
        "Engage audience entered: traits{<audience>: true, email}, context.personas",
        audience_entered,
        weight=4,
    ),
    Variant(
        "engage/audience-exited",
        "Engage audience exited: the audience trait is false",
        audience_exited,
        weight=2,
    ),
    Variant(
        "engage/computed-trait",
        "Engage computed trait: a value of any JSON type, computation_class trait",
        computed_trait,
        weight=3,
    ),
    Variant(
        "engage/audience-without-email",
        "Engage audience member with no known email: rejected 400, the email is required",
        audience_without_email,
    ),
)
