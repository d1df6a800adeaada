"""The identify call Segment Engage sends a destination for one audience or computed trait.

CONTRACT A.6: the audience (snake_cased, true on entry, false on exit) or the computed trait is a
trait beside `traits.email` where known; `context.personas` names the computation; only the
destinations the audience syncs to are enabled. The scenarios (`scenarios.engage`) and the
Engage simulation (`harness.segment.engage`) both build their calls here; each adds its times.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["ComputationClass", "engage_identify"]

#: What a computation is: an audience (a boolean trait) or a computed trait (any JSON value).
ComputationClass = Literal["audience", "trait"]


def engage_identify(
    *,
    computation_class: ComputationClass,
    computation_id: str,
    key: str,
    value: Any,
    email: str | None,
    namespace: str,
    space_id: str,
    message_id: str,
    user_id: str,
) -> dict[str, Any]:
    """One Engage identify without its times (`email` None: the profile has none known)."""
    traits: dict[str, Any] = {key: value}
    if email is not None:
        traits["email"] = email
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": user_id,
        "traits": traits,
        "context": {
            "library": {"name": "unknown", "version": "unknown"},
            "personas": {
                "computation_class": computation_class,
                "computation_id": computation_id,
                "computation_key": key,
                "namespace": namespace,
                "space_id": space_id,
            },
        },
        "integrations": {"All": False, "Nat": True},
    }
