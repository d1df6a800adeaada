"""Templates for bulk traffic: a built request with holes for the values each copy makes new.

Building a realistic Segment message field by field costs tens of microseconds; copying one with
a new contact number, messageId and other ids costs a few. A template is a request built with a
`MarkingSampler`, whose unique values are markers such as `{~u_3~}`; stamping fills the holes with
fresh values and decodes the result, so every copy is a new, independent payload.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from scenarios.model import Auth, Request
from scenarios.sampler import Sampler
from scenarios.variant import Variant

__all__ = [
    "Field",
    "MarkingSampler",
    "StampingFallback",
    "Template",
    "fill",
    "make_template",
    "stamp",
]

#: `{~<kind><length>_<serial>~}`: the kind's case survives `.upper()`/`.title()` of the text
#: around it and says the case of the value; the same serial gets the same value in one copy.
_MARKER = re.compile(r"\{~([A-Za-z])(\d*)_(\d+)~\}")
_OPENING = "{~"


class StampingFallback(UserWarning):
    """A variant declared stampable gave no template, so bulk traffic builds it in full: correct,
    but several times slower. Declare it `stampable=False`, or make its builder keep ids whole."""


class MarkingSampler(Sampler):
    """A sampler whose contact numbers and ids are markers; everything else is real and seeded."""

    __slots__ = ("issued",)
    issued: int

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


#: Makes a fresh value for a hole, from the run's sampler.
_Maker = Callable[[], str]


def _maker(sampler: Sampler, kind: str, length: int) -> _Maker | None:
    """The sampler's own way to make a value of one marker kind, or None for an unknown kind."""
    if kind == "e":
        return sampler.contact_number
    if kind == "u":
        return sampler.uuid4
    if kind == "i":
        return sampler.user_id
    if kind == "h":
        return partial(sampler.hex_id, length)
    if kind == "b":
        return partial(sampler.base62, length)
    return None


@dataclass(frozen=True, slots=True)
class Template:
    """A request's body cut at its holes: a copy's body is the pieces with new values between.

    Joining pieces copies memory; formatting (`str.format`, `%`) parses the whole body first,
    which made it the largest cost of a copy.
    """

    #: The body's text between holes, with an empty string where each hole goes: literal,
    #: hole, literal, ..., hole, literal.
    pieces: tuple[str, ...]
    #: How to make the value of each distinct hole, in the order they first appear; bound to
    #: the sampler the template was made with, whose run it belongs to.
    makers: tuple[_Maker, ...]
    #: Holes written in capitals (a builder upper-cased the text around them): each repeats the
    #: value of the given distinct hole in capitals; their values follow the makers'.
    capitals: tuple[int, ...]
    #: The value of each hole, in order of appearance, as an index into the makers' values and
    #: then the capitals'; None when that is just the makers' values in order (no hole repeats
    #: another or is in capitals).
    order: tuple[int, ...] | None
    #: The body was sent raw (not JSON, or JSON written another way), not as `payload`.
    raw: bool
    #: Whether a copy's body is decoded as its payload (False for bodies that are not JSON).
    decoded: bool
    content_type: str | None
    auth: Auth
    #: The serial of each distinct hole's marker, in the makers' order.
    serials: tuple[int, ...]
    #: The body as built, markers and all, decoded (None when it is not JSON): where `field`
    #: finds the holes of one value.
    marked: Any

    def field(self, place: str) -> Field | None:
        """The text at `place` (`a.b`) of the body, cut at its holes; None if no text is there."""
        value = self.marked
        for key in place.split("."):
            if type(value) is not dict or key not in value:
                return None
            value = value[key]
        if type(value) is not str:
            return None
        literals, holes = _cut(value, {serial: n for n, serial in enumerate(self.serials)})
        return Field(tuple(literals), tuple(holes))


@dataclass(frozen=True, slots=True)
class Field:
    """One text of a template's body cut at its holes, so that a copy's text is made from the
    copy's values (`fill`) without decoding the copy."""

    #: Literal, hole, literal, ... as in `Template.pieces`, the holes left out.
    pieces: tuple[str, ...]
    #: Each hole's distinct hole (an index into a copy's values), and whether it is in capitals.
    holes: tuple[tuple[int, bool], ...]

    def fill(self, values: list[str]) -> str:
        """The text in a copy whose distinct holes got `values`."""
        pieces = self.pieces
        if not self.holes:
            return pieces[0]
        parts = [pieces[0]]
        for (number, in_capitals), piece in zip(self.holes, pieces[1:], strict=True):
            value = values[number]
            parts.append(value.upper() if in_capitals else value)
            parts.append(piece)
        return "".join(parts)


def make_template(variant: Variant, sampler: Sampler) -> Template | None:
    """A template of one request of `variant`; None when its body cannot be stamped safely.

    Holes must be whole (no builder cut or measured a marker) and must all be markers this
    sampler issued, so a copy can never differ from a built request in more than its ids.
    """
    marking = MarkingSampler.over(sampler)
    request = variant.build(marking)
    try:
        text = request.body().decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.count(_OPENING) != len(_MARKER.findall(text)):
        return None
    # A copy's expected day and description are the template's: no hole may touch them.
    payload = request.payload
    if isinstance(payload, dict) and _OPENING in str(payload.get("timestamp")):
        return None
    numbers: dict[int, int] = {}  # each marker's serial -> its distinct hole
    makers: list[_Maker] = []
    for match in _MARKER.finditer(text):
        kind, length, serial = match.group(1), int(match.group(2) or 0), int(match.group(3))
        maker = _maker(sampler, kind.lower(), length)
        if serial >= marking.issued or maker is None:
            return None
        if serial not in numbers:
            numbers[serial] = len(makers)
            makers.append(maker)
    literals, holes = _cut(text, numbers)
    capitals: list[int] = []
    order: list[int] = []
    pieces = [literals[0]]
    for (number, in_capitals), literal in zip(holes, literals[1:], strict=True):
        if in_capitals:  # numbered after the makers' values
            capitals.append(number)
            number = len(makers) + len(capitals) - 1
        order.append(number)
        pieces.extend(("", literal))
    marked, decoded = _decoded(text)
    return Template(
        pieces=tuple(pieces),
        makers=tuple(makers),
        capitals=tuple(capitals),
        order=None if order == list(range(len(makers))) else tuple(order),
        raw=request.raw_body is not None,
        decoded=decoded,
        content_type=request.content_type,
        auth=request.auth,
        serials=tuple(numbers),
        marked=marked,
    )


def _cut(text: str, numbers: dict[int, int]) -> tuple[list[str], list[tuple[int, bool]]]:
    """`text` cut at its markers: the literal text around them, and each marker's distinct hole
    (`numbers` maps a marker's serial to it) and whether it is in capitals."""
    literals: list[str] = []
    holes: list[tuple[int, bool]] = []
    start = 0
    for match in _MARKER.finditer(text):
        literals.append(text[start : match.start()])
        holes.append((numbers[int(match.group(3))], match.group(1).isupper()))
        start = match.end()
    literals.append(text[start:])
    return literals, holes


def _decoded(text: str) -> tuple[Any, bool]:
    """`text` decoded, and whether it is JSON (the body a copy is sent as is `text` stamped)."""
    try:
        return orjson.loads(text), True
    except orjson.JSONDecodeError:
        return None, False


def stamp(template: Template) -> Request:
    """A new request from `template`: every hole filled with a fresh value of its run."""
    return fill(template)[0]


def fill(template: Template) -> tuple[Request, list[str]]:
    """A new request from `template`, and the fresh value of each distinct hole in it (what a
    `Field` of the template needs to make the copy's text). The payload stays encoded."""
    made = [make() for make in template.makers]
    values = made
    if template.capitals:
        values = made + [made[number].upper() for number in template.capitals]
    if template.order is not None:
        values = [values[number] for number in template.order]
    body = list(template.pieces)
    body[1::2] = values
    text = "".join(body)
    if template.raw:
        payload = orjson.loads(text) if template.decoded else None
        return Request(payload, text.encode(), template.content_type, template.auth), made
    return Request.encoded(text.encode(), template.content_type, template.auth), made
