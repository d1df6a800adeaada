"""Validate JSON Lines of Nat payloads, or the scenario generator's output, against the schemas.

`validate_lines` streams one `LineResult` per payload and never holds the input. The verdict is the
compiled `jsonschema-rs` validator of `nat-accepted.json` (the hot path); only rejected payloads
are explained, by the acceptance rules (which field, what is accepted, the status Nat answers), by
the keyword of the schema that failed, and by the documented format the payload comes closest to.

A line is a payload, a generator scenario `{"scenario", "expect", "payload"}` (its raw body when
it has one, else its payload) or a generator sequence `{"sequence", "steps", "final"}` (each
step). Blank lines are skipped; a line that is not JSON is rejected as Nat would (400).

`nat-harness validate --format json` writes JSON Lines: one object per payload, then a summary.

    {"line": 7, "scenario": "malformed/bad-email" | null, "accepted": false, "status": 400,
     "reason": "traits.email invalid_format",
     "errors": [{"field": "traits.email", "code": "invalid_format", "message": "..."}],
     "schema_errors": [{"field": "traits.email", "rule": "nat-accepted.json#/$defs/email/pattern",
                        "message": "..."}],
     "format": {"schema": "nat-recommended", "title": "Nat recommended format", "matches": false,
                "missing": [{"field", "rule", "message"}]} | null,
     "expected_status": 400 | null, "meets_expectation": true | null,
     "about": "the API key" | "the content type" | null}
    {"summary": {"lines": 10, "payloads": 10, "accepted": 8, "rejected": 2,
                 "by_reason": {"accepted": 8, "traits.email invalid_format": 2},
                 "by_status": {"200": 8, "400": 2}, "by_format": {"nat-recommended": 6, ...},
                 "expectation_mismatches": 0, "first_mismatch_lines": [],
                 "expectations_met": 0, "not_about_payload": 0, "failing": 2}}

`errors` are the rules' reasons (what the destination would answer), `schema_errors` the failed
keywords of `nat-accepted.json`, and `format` the documented format the payload matches (accepted)
or is closest to (rejected: fewest missing parts), with what it still needs beyond `schema_errors`.
`schema_errors` and `format` of a rejection are left empty at `detail="reasons"`; `status` is
null, `reason` "rejected" and `format` null at `detail="verdict"`. For generator lines
`expected_status` is the scenario's, and `meets_expectation` says whether the verdict agrees with
it (null when the scenario is about the key or the content type rather than the payload; then
`about` says which: "the API key" or "the content type"). The summary's `failing` counts what
makes the command exit 1: plain payloads rejected, and generator scenarios whose payload did
not get the verdict they expect (a malformed scenario rejected as expected is no failure);
`expectations_met` and `not_about_payload` count the other generator scenarios.
"""

from __future__ import annotations

import itertools
import operator
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Literal, NamedTuple, get_args
from urllib.parse import urljoin

import jsonschema_rs
import orjson

from contract.limits import MAX_BODY_BYTES
from reference_impl.rules import EMAIL_PLACES, Accepted, Issue, Rejected, evaluate, parse_body
from schemas import ACCEPTED, SCHEMA_NAMES, load_schema

__all__ = [
    "FORMAT_SCHEMAS",
    "Detail",
    "FormatFit",
    "LineResult",
    "SchemaIssue",
    "ValidationSummary",
    "validate_lines",
]

#: The documented formats, most specific first: an accepted payload is said to match the first.
FORMAT_SCHEMAS: tuple[str, ...] = (
    "nat-engage",
    "nat-alternative-event",
    "nat-recommended",
    "nat-alternative-email",
)
#: How much `validate_lines` works out per payload: see its docstring.
Detail = Literal["verdict", "reasons", "full"]
_DETAILS: tuple[str, ...] = get_args(Detail)
_SCHEMA_BASE = "https://nat-harness.dev/schemas/"
_MESSAGE_LIMIT = 160
#: How `ValidationSummary.by_format` counts accepted payloads that match no documented format.
_NO_FORMAT = "(no documented format)"
#: `str(status)` of the usual statuses, looked up: `ValidationSummary.add` runs once a line.
_STATUS_TEXT = {status: str(status) for status in (200, 400, 401, 413, 415, 501, None)}
#: How many lines of scenarios that miss their expectation the summary names.
_FIRST_MISMATCHES = 10
_NO_EMAIL = "none of traits.email, context.traits.email, email holds a valid address"
#: The schema errors whose details the explanation reads.
_AnyOf = jsonschema_rs.ValidationErrorKind.AnyOf
_Required = jsonschema_rs.ValidationErrorKind.Required


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One failed keyword of a schema: at which field, which rule, and what it said."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


@dataclass(frozen=True, slots=True)
class FormatFit:
    """The documented format a payload matches, or comes closest to and what it still needs."""

    schema: str
    title: str
    matches: bool
    #: For a rejected payload: what the format needs beyond fixing the payload's schema errors.
    missing: tuple[SchemaIssue, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "title": self.title,
            "matches": self.matches,
            "missing": [issue.as_dict() for issue in self.missing],
        }


class LineResult(NamedTuple):
    """The verdict on one payload of the input, and when rejected, why.

    A named tuple rather than a frozen dataclass: one is made per line, and a frozen dataclass
    takes several times longer to build, which shows at a million lines.
    """

    line: int
    accepted: bool
    #: "accepted"; or the rules' first error as "<field> <code>"; "rejected" for verdicts only.
    reason: str
    #: What Nat answers: 200, or the rules' status (400, 413, 501); None for verdicts only.
    status: int | None
    errors: tuple[Issue, ...] = ()
    schema_errors: tuple[SchemaIssue, ...] = ()
    format: FormatFit | None = None
    #: The generator's scenario id, for generator output.
    scenario: str | None = None
    expected_status: int | None = None
    meets_expectation: bool | None = None
    #: For a generator scenario whose answer is decided by the request rather than the payload:
    #: what it is about ("the API key", "the content type"); None otherwise.
    about: str | None = None

    @property
    def fails_the_run(self) -> bool:
        """Whether this result makes `nat-harness validate` exit 1: a plain payload that is
        rejected, or a generator scenario whose payload does not get the verdict it expects
        (a malformed scenario rejected as expected is no failure)."""
        return _fails_the_run(self.accepted, self.expected_status, self.meets_expectation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "scenario": self.scenario,
            "accepted": self.accepted,
            "status": self.status,
            "reason": self.reason,
            "errors": [issue.as_dict() for issue in self.errors],
            "schema_errors": [issue.as_dict() for issue in self.schema_errors],
            "format": self.format.as_dict() if self.format else None,
            "expected_status": self.expected_status,
            "meets_expectation": self.meets_expectation,
            "about": self.about,
        }


def _fails_the_run(accepted: bool, expected_status: int | None, meets: bool | None) -> bool:
    """`LineResult.fails_the_run`, from the fields it reads."""
    return meets is False if expected_status is not None else not accepted


#: What `ValidationSummary` counts of a result: all but its line, errors and scenario id.
_kind_of_result = operator.itemgetter(1, 2, 3, 6, 8, 9, 10)


@dataclass
class ValidationSummary:
    """Counts over every result seen: per verdict, reason, status and matched format.

    `by_format` needs results with formats (`detail` "reasons" or "full"); `lines` is the number
    of the last line that held a payload.
    """

    lines: int = 0
    payloads: int = 0
    accepted: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_format: Counter[str] = field(default_factory=Counter)
    expectation_mismatches: int = 0
    first_mismatch_lines: list[int] = field(default_factory=list)
    #: Generator scenarios whose payload got the verdict they expect.
    expectations_met: int = 0
    #: Generator scenarios about the key or the content type, which a payload cannot decide.
    not_about_payload: int = 0
    #: Results that make the command exit 1 (`LineResult.fails_the_run`).
    failing: int = 0
    #: The status Nat answers for each reason (a reason always comes with the same status).
    status_of_reason: dict[str, int | None] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return self.payloads - self.accepted

    def add(self, result: LineResult) -> None:
        """Count one result (the one counting rule is `add_all`'s)."""
        self.add_all((result,))

    def add_all(self, results: Sequence[LineResult]) -> None:
        """Count each of `results`, in order. A chunk of lines holds a few dozen kinds of result
        (verdict, reason, status, format, expectation), so each kind is counted once, with how
        many results are of it, instead of every result on its own."""
        if not results:
            return
        self.lines = max(self.lines, results[-1].line)
        mismatches = 0
        for kind, count in Counter(map(_kind_of_result, results)).items():
            accepted, reason, status, fit, expected, meets, about = kind
            self.payloads += count
            self.by_reason[reason] += count
            self.status_of_reason.setdefault(reason, status)
            self.by_status[_STATUS_TEXT.get(status) or str(status)] += count
            if accepted:
                self.accepted += count
                self.by_format[fit.schema if fit else _NO_FORMAT] += count
            if meets is False:
                mismatches += count
            elif meets:
                self.expectations_met += count
            elif about is not None:
                self.not_about_payload += count
            if _fails_the_run(accepted, expected, meets):
                self.failing += count
        if mismatches:
            self.expectation_mismatches += mismatches
            room = _FIRST_MISMATCHES - len(self.first_mismatch_lines)
            missed = (result.line for result in results if result.meets_expectation is False)
            self.first_mismatch_lines.extend(itertools.islice(missed, max(room, 0)))

    def merge(self, later: ValidationSummary) -> None:
        """Count in the results of `later`, a summary of the lines after the ones seen here
        (what the worker processes of `nat-harness validate` send back, chunk by chunk)."""
        self.lines = max(self.lines, later.lines)
        self.payloads += later.payloads
        self.accepted += later.accepted
        self.by_reason.update(later.by_reason)
        self.by_status.update(later.by_status)
        self.by_format.update(later.by_format)
        self.expectation_mismatches += later.expectation_mismatches
        room = _FIRST_MISMATCHES - len(self.first_mismatch_lines)
        self.first_mismatch_lines.extend(later.first_mismatch_lines[: max(room, 0)])
        self.expectations_met += later.expectations_met
        self.not_about_payload += later.not_about_payload
        self.failing += later.failing
        for reason, status in later.status_of_reason.items():
            self.status_of_reason.setdefault(reason, status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "payloads": self.payloads,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "by_reason": dict(self.by_reason.most_common()),
            "by_status": dict(sorted(self.by_status.items())),
            "by_format": dict(self.by_format.most_common()),
            "expectation_mismatches": self.expectation_mismatches,
            "first_mismatch_lines": list(self.first_mismatch_lines),
            "expectations_met": self.expectations_met,
            "not_about_payload": self.not_about_payload,
            "failing": self.failing,
        }


def validate_lines(
    lines: Iterable[bytes], *, detail: Detail = "full", first_line: int = 1
) -> Iterator[LineResult]:
    """One result per payload in `lines` (JSON Lines as bytes), in order, streaming; the first
    line is numbered `first_line` (a chunk of a longer input knows where it starts).

    `detail` says how much to work out: "full" explains every rejection (the rules' reasons, the
    failed keywords, the closest format) and names the format of every acceptance; "reasons"
    leaves out the failed keywords and the closest format (enough for a summary); "verdict" only
    decides (the benchmark's path): a rejected payload gets no reasons and its `status` is None
    unless the line is not JSON (400) or too large (413).
    """
    judge = _judge()
    is_valid, verdict_and_format = judge.accepted.is_valid, judge.verdict_and_format
    loads, not_json = orjson.loads, orjson.JSONDecodeError
    if detail not in _DETAILS:
        raise ValueError(f"detail must be one of {', '.join(_DETAILS)}, not {detail!r}")
    verdict_only = detail == "verdict"
    for number, line in enumerate(lines, start=first_line):
        try:
            document = loads(line)
        except not_json:
            if not line.strip():
                continue  # a blank line separates nothing in JSON Lines
            document = parse_body(line.rstrip(b"\r\n"))  # the rules' own 400 (or 413)
        if len(line) > MAX_BODY_BYTES and not _is_generator_record(document):
            document = parse_body(line.rstrip(b"\r\n"))  # the rules' 413, or the payload
        if type(document) is dict:
            if "scenario" in document or "sequence" in document:
                for case in _generator_cases(document, len(line)):
                    yield _judge_case(judge, number, case, detail)
                continue
        elif type(document) is Rejected:
            yield _unreadable(number, document)
            continue
        # The path a million plain payloads take: no call that can be spared.
        if verdict_only:
            if is_valid(document):
                yield LineResult(number, True, "accepted", 200)
            else:
                yield LineResult(number, False, "rejected", None)
            continue
        accepted, fit = verdict_and_format(document)
        if accepted:
            yield LineResult(number, True, "accepted", 200, format=fit)
        else:
            yield _explained(judge, number, document, full=detail == "full")


class _Case(NamedTuple):
    """One payload taken from a generator record, with what the scenario expects."""

    scenario: str | None
    body: Any
    expected_status: int | None
    about_payload: bool
    #: What the scenario is about when not its payload: "the API key", "the content type".
    about: str | None = None


def _is_generator_record(document: Any) -> bool:
    """A generator line, which holds the body: its own length is not the body's."""
    return type(document) is dict and ("scenario" in document or "sequence" in document)


def _generator_cases(document: dict[str, Any], line_length: int) -> list[_Case]:
    """The payloads of a generator record; a plain payload with such keys is itself the case."""
    if "steps" in document and "final" in document and isinstance(document["steps"], list):
        return [_case_of(step, line_length) for step in document["steps"]]
    if "expect" in document and "payload" in document:
        return [_case_of(document, line_length)]
    return [_Case(None, document, None, False)]


def _case_of(record: Any, line_length: int) -> _Case:
    """The payload of one generator scenario (a record, or a step of a sequence)."""
    scenario = record.get("scenario") if isinstance(record, dict) else None
    if not isinstance(scenario, dict):
        return _Case(None, record, None, False)
    expect = record.get("expect")
    expected = expect.get("status") if isinstance(expect, dict) else None
    about = _what_it_is_about(scenario.get("auth", "basic"), scenario.get("content_type"))
    raw_body = scenario.get("raw_body")
    if isinstance(raw_body, str):
        body = parse_body(raw_body.encode("utf-8", errors="surrogateescape"))
    else:
        body = record.get("payload")
        if line_length > MAX_BODY_BYTES:
            body = parse_body(orjson.dumps(body))
    scenario_id = scenario.get("id")
    return _Case(
        scenario_id if isinstance(scenario_id, str) else None,
        body,
        expected if type(expected) is int else None,
        about is None,
        about,
    )


def _what_it_is_about(auth: Any, content_type: Any) -> str | None:
    """None when a scenario's expected answer is about its payload; else what decides it:
    "the API key" or "the content type"."""
    if (
        isinstance(auth, str)
        and (content_type is None or isinstance(content_type, str))
        and _about_payload(auth, content_type)
    ):
        return None
    return "the content type" if auth in ("basic", "bearer") else "the API key"


@lru_cache(maxsize=64)
def _about_payload(auth: str, content_type: str | None) -> bool:
    """Whether a scenario's expected answer is about its payload: the key is right and the
    content type is JSON (or not declared), so only the body decides."""
    return auth in ("basic", "bearer") and not isinstance(parse_body(b"{}", content_type), Rejected)


def _judge_case(judge: _Judge, number: int, case: _Case, detail: Detail) -> LineResult:
    expected = case.expected_status
    about = case.about if expected is not None else None
    if type(case.body) is Rejected:
        result = _unreadable(number, case.body)
    else:
        accepted, fit = _verdict_and_format(judge, case.body, detail)
        if accepted:  # most generator lines: their one result, built at once
            meets = 200 <= expected < 300 if case.about_payload and expected is not None else None
            return LineResult(
                number, True, "accepted", 200, (), (), fit, case.scenario, expected, meets, about
            )
        if detail == "verdict":
            result = LineResult(number, False, "rejected", None)
        else:
            result = _explained(judge, number, case.body, full=detail == "full")
    meets = None
    if case.about_payload and expected is not None:
        meets = result.accepted == (200 <= expected < 300)
    line, accepted, reason, status, errors, schema_errors, fit = result[:7]
    return LineResult(
        line,
        accepted,
        reason,
        status,
        errors,
        schema_errors,
        fit,
        case.scenario,
        expected,
        meets,
        about,
    )


def _verdict_and_format(
    judge: _Judge, payload: Any, detail: Detail
) -> tuple[bool, FormatFit | None]:
    if detail == "verdict":
        return judge.accepted.is_valid(payload), None
    return judge.verdict_and_format(payload)


def _unreadable(number: int, rejection: Rejected) -> LineResult:
    """A body the destination refuses before reading it: too large (413) or not JSON (400)."""
    first = rejection.errors[0]
    return LineResult(
        number, False, f"{first.field} {first.code}", rejection.status, rejection.errors
    )


def _explained(judge: _Judge, number: int, payload: Any, *, full: bool) -> LineResult:
    """A rejected payload with the rules' reasons; `full`: the failed keywords, closest format."""
    verdict = evaluate(payload)
    schema_errors: tuple[SchemaIssue, ...] = ()
    fit = None
    if full:
        shown = judge.apart.failures(payload, verdict)
        schema_errors = tuple(failure.issue for failure in shown)
        if isinstance(payload, dict):
            fit = judge.closest_format(payload, {failure.key for failure in shown})
    if isinstance(verdict, Accepted):
        # The schema and the rules disagree: a bug in one of them, said plainly.
        reason = "schema-only rejection"
        issue = Issue("body", "schema_only", "the schema rejects what the rules accept: report it")
        return LineResult(number, False, reason, None, (issue,), schema_errors, fit)
    first = verdict.errors[0]
    return LineResult(
        number,
        False,
        f"{first.field} {first.code}",
        verdict.status,
        verdict.errors,
        schema_errors,
        fit,
    )


class _Failure(NamedTuple):
    """One failed keyword worth showing: what it is about (`_key`) and how it is shown."""

    key: tuple[Any, ...]
    issue: SchemaIssue


def _failure(error: jsonschema_rs.ValidationError) -> _Failure:
    return _Failure(_key(error), _issue(error))


def _email_place_looked_at(verdict: Accepted | Rejected) -> int | None:
    """Which of `EMAIL_PLACES` the rules found an email at and refused (its index), or None
    when they refused none there (no email at all, or only other fields)."""
    issues = verdict.errors if isinstance(verdict, Rejected) else ()
    first = next((issue for issue in issues if issue.field in EMAIL_PLACES), None)
    if first is None or first.code == "missing":
        return None
    return EMAIL_PLACES.index(first.field)


def _issue(error: jsonschema_rs.ValidationError) -> SchemaIssue:
    path = [str(part) for part in error.instance_path]
    kind = type(error.kind).__name__
    if kind == "AnyOf":  # the email places: see `_AcceptedApart.failures`
        return SchemaIssue("traits.email", _rule(error), _NO_EMAIL)
    if isinstance(error.kind, _Required):  # name the missing field, not the object lacking it
        path.append(str(error.kind.property))
        message = "is required"
    elif kind == "Pattern":
        message = f"{_shorten(error.instance)} does not match the pattern"
    else:
        message = _shorten_text(error.message)
    return SchemaIssue(".".join(path) or "body", _rule(error), message)


def _rule(error: jsonschema_rs.ValidationError) -> str:
    location = error.absolute_keyword_location or "#/" + "/".join(map(str, error.schema_path))
    return location.removeprefix(_SCHEMA_BASE)


def _shorten(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return _shorten_text(text, 60)


def _shorten_text(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class _Judge:
    """The compiled validators: `nat-accepted.json`, and each documented format's own shape.

    A format schema is `nat-accepted.json` plus a shape (`allOf: [{$ref: nat-accepted.json}]`).
    Here the shape is compiled alone: it is asked only about payloads whose verdict is known, so
    the accepted schema is not checked five times over. Each shape comes with the fields it
    requires, so that a shape a payload cannot match is passed over without running it.
    """

    accepted: jsonschema_rs.Validator
    #: The accepted schema in two parts, to explain a rejection.
    apart: _AcceptedApart
    formats: tuple[tuple[str, str, jsonschema_rs.Validator, _Paths], ...]
    #: Each format's whole schema (the accepted one and the shape), by name.
    whole: dict[str, jsonschema_rs.Validator]
    #: Each format's fit with nothing missing, matched and not: made once, they are immutable.
    matched: dict[str, FormatFit] = field(init=False)
    nearly: dict[str, FormatFit] = field(init=False)

    def __post_init__(self) -> None:
        for attribute, matches in (("matched", True), ("nearly", False)):
            fits = {name: FormatFit(name, title, matches) for name, title, _, _ in self.formats}
            object.__setattr__(self, attribute, fits)

    def verdict_and_format(self, payload: Any) -> tuple[bool, FormatFit | None]:
        """Whether `payload` is accepted, and the most specific format it matches. A format's
        whole schema is tried first: an accepted payload in a documented format (most of them)
        is validated once, not once for the verdict and once more for the format."""
        for name, _, _, required in self.formats:
            if _holds_all(payload, required) and self.whole[name].is_valid(payload):
                return True, self.matched[name]
        return self.accepted.is_valid(payload), None

    def closest_format(self, payload: dict[str, Any], known: set[tuple[Any, ...]]) -> FormatFit:
        """The format with the fewest parts missing beyond the failures of `nat-accepted.json`
        already shown (their `known` keys); of equally close ones, the most specific
        (`FORMAT_SCHEMAS` order)."""
        for name, _, shape, required in self.formats:
            if _holds_all(payload, required) and shape.is_valid(payload):
                return self.nearly[name]  # nothing missing: none can be closer
        # A format misses at least the required fields the payload lacks beyond those already
        # known, and each is one of its failures: a format whose (fewest missing, fewest
        # failures, order) cannot beat the best found is not asked.
        bounds = sorted(
            (_fewest_missing(payload, required, known), order)
            for order, (_, _, _, required) in enumerate(self.formats)
        )
        best: tuple[int, int, int, list[jsonschema_rs.ValidationError]] | None = None
        for bound, order in bounds:
            if best is not None and (bound, bound, order) >= best[:3]:
                continue
            own = [
                error
                for error in self.formats[order][2].iter_errors(payload)
                if _key(error) not in known
            ]
            missing = sum(type(error.kind).__name__ == "Required" for error in own)
            if best is None or (missing, len(own), order) < best[:3]:
                best = (missing, len(own), order, own)
        assert best is not None  # there is always a format to try
        name, title, _, _ = self.formats[best[2]]
        return FormatFit(name, title, False, tuple(_issue(error) for error in best[3]))


@dataclass(frozen=True)
class _AcceptedApart:
    """`nat-accepted.json` asked in two parts to explain a rejection: the schema without its
    `anyOf` of email places, and the places. A failed `anyOf` brings every place's errors, each
    holding the payload, at several times the cost of all the other keywords together; only the
    place the rules looked at is shown, so only that place is asked for its errors."""

    #: The accepted schema without its `anyOf` (its other failures are located as in the whole).
    rest: jsonschema_rs.Validator
    #: Valid when some place holds a valid email: the `anyOf` itself.
    any_place: jsonschema_rs.Validator
    #: Each place (`EMAIL_PLACES` order), referred to where the whole schema has it (`#/anyOf/i`).
    places: tuple[jsonschema_rs.Validator, ...]
    #: The `anyOf`'s own failure, shown when the rules found no email to refuse.
    no_email: _Failure

    def failures(self, payload: Any, verdict: Accepted | Rejected) -> list[_Failure]:
        """The failed keywords of `nat-accepted.json` worth showing, in the schema's order: of
        the email places, only the place the rules refused, or the `anyOf` itself when the
        rules found no email at all."""
        shown = [_failure(error) for error in self.rest.iter_errors(payload)]
        if self.any_place.is_valid(payload):
            return shown
        place = _email_place_looked_at(verdict)
        if place is None:
            shown.append(self.no_email)
        else:
            shown.extend(_failure(error) for error in self.places[place].iter_errors(payload))
        return shown


def _fewest_missing(payload: dict[str, Any], required: _Paths, known: set[tuple[Any, ...]]) -> int:
    """How many fields a format requires that `payload` lacks and the accepted schema did not
    already report: each is one `required` failure of the format's own shape, at least."""
    top, nested = required
    count = sum(key not in payload and ((key,), "Required") not in known for key in top)
    for parent, keys in nested:
        inner = payload.get(parent)
        if type(inner) is dict:
            count += sum(
                key not in inner and ((parent, key), "Required") not in known for key in keys
            )
    return count


def _key(error: jsonschema_rs.ValidationError) -> tuple[Any, ...]:
    """What a failure is about: the same field failing the same kind of check is one problem,
    whichever schema says so (a format's `required: [timestamp]` repeats the accepted one's)."""
    kind = type(error.kind).__name__
    path = tuple(error.instance_path)
    if isinstance(error.kind, _Required):
        return (*path, error.kind.property), kind
    return path, kind


@cache
def _judge() -> _Judge:
    """Compile the validators once per process (a few milliseconds)."""
    documents = {name: load_schema(name) for name in SCHEMA_NAMES}
    registry = jsonschema_rs.Registry([(schema["$id"], schema) for schema in documents.values()])
    accepted = jsonschema_rs.validator_for(documents[ACCEPTED], validate_formats=True)
    apart = _accepted_apart(accepted, documents[ACCEPTED], registry)
    formats = []
    for name in FORMAT_SCHEMAS:
        shape = _shape_of(documents[name])
        formats.append((name, shape["title"], _compile(shape, registry), _required_paths(shape)))
    whole = {
        name: _compile(_checked_once(documents[name], documents[ACCEPTED]), registry)
        for name in FORMAT_SCHEMAS
    }
    return _Judge(accepted, apart, tuple(formats), whole)


def _accepted_apart(
    accepted: jsonschema_rs.Validator, document: dict[str, Any], registry: jsonschema_rs.Registry
) -> _AcceptedApart:
    rest = jsonschema_rs.validator_for(
        {key: value for key, value in document.items() if key != "anyOf"}, validate_formats=True
    )
    places = [{"$ref": f"{document['$id']}#/anyOf/{index}"} for index in range(len(EMAIL_PLACES))]
    no_email = next(
        _failure(error) for error in accepted.iter_errors({}) if isinstance(error.kind, _AnyOf)
    )
    return _AcceptedApart(
        rest,
        _compile({"anyOf": places}, registry),
        tuple(_compile(place, registry) for place in places),
        no_email,
    )


#: The fields a shape requires: its own top-level keys, then each required object's keys.
_Paths = tuple[frozenset[str], tuple[tuple[str, frozenset[str]], ...]]


def _required_paths(shape: dict[str, Any]) -> _Paths:
    """The keys `shape` requires, and those its required objects require in turn (as written in
    the shape itself: a `$ref` is not followed, so this is never more than the schema asks)."""
    properties = shape.get("properties", {})
    nested = []
    for key in shape.get("required", ()):
        inner = properties.get(key)
        if isinstance(inner, dict) and inner.get("type") == "object" and inner.get("required"):
            nested.append((key, frozenset(inner["required"])))
    return frozenset(shape.get("required", ())), tuple(nested)


def _holds_all(payload: Any, required: _Paths) -> bool:
    """Whether `payload` has every key `required` names (a shape without one cannot be valid)."""
    top, nested = required
    if type(payload) is not dict or not top <= payload.keys():
        return False
    for key, keys in nested:
        inner = payload[key]
        if type(inner) is not dict or not keys <= inner.keys():
            return False
    return True


#: How a format schema includes the accepted one: an entry of its `allOf`.
_INCLUDES_ACCEPTED = {"$ref": f"{ACCEPTED}.json"}
#: Keywords that read which properties the same schema names: they rule out leaving one out.
_READS_PROPERTY_NAMES = frozenset({"additionalProperties", "unevaluatedProperties"})


def _shape_of(format_schema: dict[str, Any]) -> dict[str, Any]:
    """The format schema without its `allOf` reference to the accepted schema."""
    shape = dict(format_schema)
    rest = [part for part in shape.pop("allOf", []) if part != _INCLUDES_ACCEPTED]
    if rest:
        shape["allOf"] = rest
    return shape


def _checked_once(format_schema: dict[str, Any], accepted: dict[str, Any]) -> dict[str, Any]:
    """`format_schema` without the properties that say what `nat-accepted.json`, which it
    includes, already says of the same field (`type`, `timestamp`): the same verdict, without
    checking those fields twice. Unchanged when its keywords could read what is left out."""
    includes = _INCLUDES_ACCEPTED in format_schema.get("allOf", ())
    if not includes or not _READS_PROPERTY_NAMES.isdisjoint(format_schema):
        return format_schema

    def target(document: dict[str, Any], subschema: Any) -> Any:
        if isinstance(subschema, dict) and set(subschema) == {"$ref"}:
            return urljoin(document["$id"], subschema["$ref"])
        return subschema

    inherited = accepted.get("properties", {})
    properties = {
        key: subschema
        for key, subschema in format_schema.get("properties", {}).items()
        if key not in inherited
        or target(format_schema, subschema) != target(accepted, inherited[key])
    }
    return {**format_schema, "properties": properties}


def _compile(schema: dict[str, Any], registry: jsonschema_rs.Registry) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(schema, validate_formats=True, registry=registry)
