"""Templates for bulk traffic: a built request with holes for the values each copy makes new.

Building a realistic Segment message field by field costs tens of microseconds; copying one with
a new contact number, messageId and other ids costs a few. A template is a request built with a
`MarkingSampler`, whose unique values are markers such as `{~u3~}`; stamping fills the holes with
fresh values and decodes the result, so every copy is a new, independent payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from scenarios.model import Request
from scenarios.sampler import Sampler
from scenarios.variant import Variant

__all__ = ["MarkingSampler", "Template", "make_template", "stamp"]

#: `{~<kind><length>_<serial>~}`: the kind's case survives `.upper()`/`.title()` of the text
#: around it and says the case of the value; the same serial gets the same value in one copy.
_MARKER = re.compile(rb"\{~([A-Za-z])(\d*)_(\d+)~\}")
_OPENING = b"{~"


class MarkingSampler(Sampler):
    """A sampler whose contact numbers and ids are markers; everything else is real and seeded."""

    __slots__ = ("issued",)

    @classmethod
    def over(cls, sampler: Sampler) -> MarkingSampler:
        """A marking view of `sampler`: the same generator, pools, tag and time window."""
        marking = object.__new__(cls)
        for name in Sampler.__slots__:
            setattr(marking, name, getattr(sampler, name))
        marking.issued = 0
        return marking

    def _marker(self, kind: str, length: int | str = "") -> str:
        serial = self.issued
        self.issued = serial + 1
        return f"{{~{kind}{length}_{serial}~}}"

    def contact_number(self) -> str:
        return self._marker("e")

    def uuid4(self) -> str:
        return self._marker("u")

    def hex_id(self, length: int = 24) -> str:
        return self._marker("h", length)

    def base62(self, length: int) -> str:
        return self._marker("b", length)

    def user_id(self) -> str:
        return self._marker("i")


@dataclass(frozen=True, slots=True)
class Template:
    """A request's body split at its holes: `literals[0] hole[0] literals[1] ... literals[-1]`."""

    literals: tuple[bytes, ...]
    #: (kind, length, serial) of each hole, in order.
    holes: tuple[tuple[bytes, int, int], ...]
    #: The body was sent raw (not JSON, or JSON written another way), not as `payload`.
    raw: bool
    #: Whether a copy's body is decoded as its payload (False for bodies that are not JSON).
    decoded: bool
    content_type: str | None
    auth: str


def make_template(variant: Variant, sampler: Sampler) -> Template | None:
    """A template of one request of `variant`; None when its body cannot be stamped safely.

    Holes must be whole (no builder cut or measured a marker) and must all be markers this
    sampler issued, so a copy can never differ from a built request in more than its ids.
    """
    marking = MarkingSampler.over(sampler)
    request = variant.build(marking)
    body = request.body()
    holes = []
    literals = []
    start = 0
    for match in _MARKER.finditer(body):
        kind, length, serial = match.group(1), match.group(2), int(match.group(3))
        if serial >= marking.issued:
            return None
        literals.append(body[start : match.start()])
        holes.append((kind, int(length or 0), serial))
        start = match.end()
    literals.append(body[start:])
    if body.count(_OPENING) != len(holes):
        return None
    # A copy's expected day and description are the template's: no hole may touch them.
    payload = request.payload
    if isinstance(payload, dict) and _OPENING in orjson.dumps(payload.get("timestamp")):
        return None
    return Template(
        literals=tuple(literals),
        holes=tuple(holes),
        raw=request.raw_body is not None,
        decoded=request.raw_body is None or _is_json(request.raw_body),
        content_type=request.content_type,
        auth=request.auth,
    )


def _is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


def _fresh(sampler: Sampler, kind: bytes, length: int) -> str:
    letter = kind.lower()
    if letter == b"e":
        return sampler.contact_number()
    if letter == b"u":
        return sampler.uuid4()
    if letter == b"i":
        return sampler.user_id()
    if letter == b"h":
        return sampler.hex_id(length)
    if letter == b"b":
        return sampler.base62(length)
    raise ValueError(f"unknown marker kind {kind!r}")


def stamp(template: Template, sampler: Sampler) -> Request:
    """A new request from `template`: every hole filled with a fresh value from `sampler`."""
    literals = template.literals
    parts = [literals[0]]
    values: dict[int, str] = {}
    for index, (kind, length, serial) in enumerate(template.holes, 1):
        value = values.get(serial)
        if value is None:
            value = values[serial] = _fresh(sampler, kind, length)
        parts.append((value if kind.islower() else value.upper()).encode())
        parts.append(literals[index])
    body = b"".join(parts)
    if template.raw:
        payload = orjson.loads(body) if template.decoded else None
        return Request(
            payload, raw_body=body, content_type=template.content_type, auth=template.auth
        )
    return Request(orjson.loads(body), content_type=template.content_type, auth=template.auth)
