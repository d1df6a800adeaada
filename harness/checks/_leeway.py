"""What the contract leaves open for a refused call: whether a destination may accept it, which
statuses and which error fields it may answer with (CONTRACT B.3, B.5, C).

The scenarios carry the reference's answer; these rules widen it where the contract allows
another: 501 instead of 400 for a missing type, accepting a call whose only fault is an optional
field of the wrong JSON type (and ignoring the field), any of the three email places as the
field of a missing email, any body above the reference's size limit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import orjson

from reference_impl.rules import EMAIL_PLACES, Accepted, Rejected, evaluate
from scenarios.model import Scenario

__all__ = ["Refusal", "allowed_error_fields", "allowed_statuses", "refusal", "unauthenticated"]

#: How firmly the contract refuses a call. must: accepting it stores a call without a valid
#: email, timestamp or type (CONTRACT C); should: the contract refuses it, but accepting it harms
#: nothing (a declared non-JSON content type); may: the reference refuses it, the contract
#: allows accepting it (a body over the reference's limit, an optional field of the wrong type).
Refusal = Literal["must", "should", "may"]

#: Optional parts a destination may ignore when they have the wrong JSON type (CONTRACT B.5).
_OPTIONAL_FIELDS = ("traits", "context", "page", "context.traits", "context.page", "messageId")
#: Errors about the body as a whole, the key or the size: any field name will do.
_WHOLE_CALL_FIELDS = ("body", "Authorization")


def unauthenticated(step: Scenario) -> bool:
    """The call carries no key or a wrong one."""
    return step.request.auth in ("none", "wrong", "wrong-bearer")


def refusal(step: Scenario) -> Refusal | None:
    """How firmly the contract refuses `step`; None when it accepts it."""
    expect = step.expect
    if expect.outcome != "rejected":
        return None
    if expect.status == 413:
        return "may"  # CONTRACT B.5: the reference's limit; a larger one loses nothing
    if expect.status == 415:
        return "should"
    if expect.error_field in _OPTIONAL_FIELDS and _valid_without(step, expect.error_field):
        return "may"
    return "must"


def allowed_statuses(step: Scenario) -> frozenset[int]:
    """The statuses the contract allows for a refused call: its own, and 501 as well as 400
    for a call whose type is missing, null or not a string (both are final for Segment)."""
    expect = step.expect
    if expect.error_field == "type" and expect.status == 400:
        return frozenset({400, 501})
    return frozenset({expect.status})


def allowed_error_fields(step: Scenario) -> frozenset[str] | None:
    """The fields an error answer may name for a refused call; None when any name will do (the
    whole body, the key). A missing email may be named at any of its three places (B.3); an
    optional field of the wrong type may be ignored, and then what is still wrong is named."""
    field = step.expect.error_field
    if field is None or field in _WHOLE_CALL_FIELDS or unauthenticated(step):
        return None
    if field in EMAIL_PLACES and _missing_email(step):
        return frozenset(EMAIL_PLACES)
    if field in _OPTIONAL_FIELDS:
        fields = {field}
        without = _verdict_without(step, field)
        if isinstance(without, Rejected):
            for issue in without.errors:
                missing = issue.code == "missing" and issue.field in EMAIL_PLACES
                fields.update(EMAIL_PLACES if missing else (issue.field,))
        return frozenset(fields)
    return frozenset({field})


def _missing_email(step: Scenario) -> bool:
    verdict = _verdict_of(step.request.payload) if step.request.raw_body is None else None
    return isinstance(verdict, Rejected) and any(
        issue.code == "missing" and issue.field in EMAIL_PLACES for issue in verdict.errors
    )


def _valid_without(step: Scenario, field: str) -> bool:
    return isinstance(_verdict_without(step, field), Accepted)


def _verdict_without(step: Scenario, field: str) -> Accepted | Rejected | None:
    """The rules' verdict on the call with `field` left out, as a destination ignoring it sees
    the call; None when the request has no JSON object to leave it out of."""
    payload = step.request.payload
    if step.request.raw_body is not None or not isinstance(payload, dict):
        return None
    parent_path, _, key = field.rpartition(".")
    copy = dict(payload)
    if parent_path:
        parent = copy.get(parent_path)
        if not isinstance(parent, dict):
            return None
        copy[parent_path] = {name: value for name, value in parent.items() if name != key}
    else:
        copy.pop(key, None)
    return _verdict_of(copy)


def _verdict_of(payload: Any) -> Accepted | Rejected:
    return _verdict(orjson.dumps(payload))


@lru_cache(maxsize=256)
def _verdict(body: bytes) -> Accepted | Rejected:
    """The rules' verdict, cached by the body: several checks ask about one step."""
    return evaluate(orjson.loads(body))
