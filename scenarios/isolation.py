"""Scenarios rewritten to reach contacts and messageIds no earlier run used: `+tag` in every
email, `.tag` on every messageId, with the expectations following (a run against a long-lived
destination would otherwise meet its own earlier contacts)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from contract.limits import MAX_MESSAGE_ID_LENGTH
from reference_impl.rules import EMAIL_PLACES
from scenarios.expect import expect_for
from scenarios.model import Request, Scenario, Sequence

__all__ = ["isolate"]


def isolate(subject: Scenario | Sequence, tag: str) -> Scenario | Sequence:
    """The subject with `+tag` in every email and `.tag` on every messageId, so that it reaches
    contacts and messageIds no earlier run used; expectations follow. A request the tag would
    change the contract's verdict on (an address at its length limit, say) is left as it is.
    """
    if isinstance(subject, Scenario):
        return _isolate_step(subject, tag) or _isolate_step(subject, tag, keep_size=True) or subject
    tagged = [_isolate_step(step, tag) for step in subject.steps]
    steps = tuple(step for step in tagged if step is not None)
    if len(steps) != len(tagged):
        return subject
    emails = {
        original: _tag_email(original, tag)
        for step in subject.steps
        for original in _emails_of(step.request.payload)
    }
    final = replace(
        subject.final,
        contact=_tag_email(subject.final.contact, tag),
        properties=_replace_strings(subject.final.properties, emails),
    )
    return replace(subject, steps=steps, final=final)


def _isolate_step(step: Scenario, tag: str, *, keep_size: bool = False) -> Scenario | None:
    request = step.request
    tagged = _tagged_request(request, tag)
    if tagged is not None and keep_size:
        tagged = _same_size(tagged, len(request.body()))
    if tagged is None:
        return None
    before, after = expect_for(request), expect_for(tagged)
    contact = _tag_email(before.contact, tag) if before.contact else None
    if replace(before, contact=contact) != after:
        return None
    expect_contact = _tag_email(step.expect.contact, tag) if step.expect.contact else None
    return replace(step, request=tagged, expect=replace(step.expect, contact=expect_contact))


def _tagged_request(request: Request, tag: str) -> Request | None:
    """The request with tagged emails and messageId; a raw body is edited as bytes, in place."""
    payload = request.payload
    if request.raw_body is not None:
        try:
            payload = orjson.loads(request.raw_body)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(payload, dict):
        return None
    replacements = {original: _tag_email(original, tag) for original in _emails_of(payload)}
    message_id = payload.get("messageId")
    if isinstance(message_id, str) and message_id:
        replacements[message_id] = _tag_message_id(message_id, tag)
    if request.raw_body is None:
        return replace(request, payload=_replace_strings(payload, replacements))
    body = request.raw_body
    for original, tagged in replacements.items():
        body = body.replace(orjson.dumps(original), orjson.dumps(tagged))
    return replace(request, raw_body=body)


def _same_size(request: Request, size: int) -> Request | None:
    """The request with its longest trait text shortened so the body is `size` bytes again, for
    a scenario whose point is its size (a body of exactly 64 KB); None if there is no such text."""
    payload = request.payload
    traits = payload.get("traits") if isinstance(payload, dict) else None
    if request.raw_body is not None or not isinstance(traits, dict):
        return None
    excess = len(request.body()) - size
    texts = [name for name, value in traits.items() if isinstance(value, str) and value.isascii()]
    if excess <= 0 or not texts:
        return None
    longest = max(texts, key=lambda name: len(traits[name]))
    if len(traits[longest]) <= excess:
        return None
    shorter = {**traits, longest: traits[longest][:-excess]}
    return replace(request, payload={**payload, "traits": shorter})


def _emails_of(payload: Any) -> list[str]:
    found = []
    for place in EMAIL_PLACES:
        value: Any = payload
        for key in place.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and "@" in value:
            found.append(value)
    return found


def _tag_email(email: str, tag: str) -> str:
    local, at, domain = email.rpartition("@")
    return f"{local}+{tag}{at}{domain}" if at else email


def _tag_message_id(message_id: str, tag: str) -> str:
    suffix = "." + tag
    if len(message_id) + len(suffix) <= MAX_MESSAGE_ID_LENGTH:
        return message_id + suffix
    return message_id[: MAX_MESSAGE_ID_LENGTH - len(suffix)] + suffix


def _replace_strings(value: Any, replacements: dict[str, str]) -> Any:
    """A copy of a JSON value with every string found in `replacements` replaced."""
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, dict):
        return {key: _replace_strings(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_strings(item, replacements) for item in value]
    return value
