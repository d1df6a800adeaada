"""`validate_lines` and `nat-harness validate`: verdicts, reasons, formats, streaming, exits."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest
from hypothesis import given, settings
from typer.testing import CliRunner, Result

from contract.limits import MAX_BODY_BYTES
from harness.cli import app
from harness.validate import (
    FORMAT_SCHEMAS,
    FormatFit,
    LineResult,
    SchemaIssue,
    ValidationSummary,
    validate_lines,
)
from reference_impl.rules import EMAIL_PLACES, evaluate
from scenarios import catalogue, generate, sequences
from schemas import ACCEPTED, load_schema
from tests.conftest import sigint_as_in_a_terminal
from tests.helpers import TIMESTAMP, identify
from tests.test_rules_agree_with_schema import identify_like

TS = TIMESTAMP


def email_at(place: str, email: str) -> dict[str, Any]:
    """An identify call with `email` at `place` (`traits.email`, `context.traits.email`, ...)."""
    *parents, key = place.split(".")
    payload = identify()
    container = payload
    for parent in parents:
        container = container.setdefault(parent, {})
    container[key] = email
    return payload


def line_of(payload: Any) -> bytes:
    return orjson.dumps(payload) + b"\n"


def only(payload: Any) -> LineResult:
    """The result of validating `payload` as a one-line file."""
    (result,) = validate_lines([line_of(payload)])
    return result


def padded(size: int) -> bytes:
    """An accepted payload whose JSON is exactly `size` bytes."""
    payload = identify(traits={"email": "peter@example.com", "notes": ""})
    payload["traits"]["notes"] = "x" * (size - len(orjson.dumps(payload)))
    body = orjson.dumps(payload)
    assert len(body) == size
    return body


def _format_examples() -> list[Any]:
    return [
        pytest.param(name, example, id=f"{name}#{index}")
        for name in FORMAT_SCHEMAS
        for index, example in enumerate(load_schema(name)["examples"])
    ]


@pytest.mark.parametrize(("name", "example"), _format_examples())
def test_each_documented_example_is_accepted_and_matched_to_its_format(
    name: str, example: dict[str, Any]
) -> None:
    result = only(example)
    assert (result.accepted, result.status, result.reason) == (True, 200, "accepted")
    assert result.format is not None and result.format.matches
    # The most specific format wins: an {email, event} call is format 2 even though it is
    # also format 1, and an Engage call is Engage even though it is also the recommended format.
    assert result.format.schema == name


def test_an_accepted_call_in_no_documented_format_says_so() -> None:
    result = only(identify(context={"traits": {"email": "ana@example.org"}}))
    assert result.accepted and result.format is None


@pytest.mark.parametrize("place", EMAIL_PLACES)
def test_a_bad_email_names_its_place_the_rule_and_status_400(place: str) -> None:
    result = only(email_at(place, "peter@@example.com"))
    assert not result.accepted
    assert result.status == 400
    assert result.reason == f"{place} invalid_format"
    assert result.errors[0].field == place and "peter@@example.com" in result.errors[0].message
    assert [(issue.field, issue.rule) for issue in result.schema_errors] == [
        (place, "nat-accepted.json#/$defs/email/pattern")
    ]


def test_a_missing_email_points_at_every_place_and_the_recommended_format() -> None:
    result = only(identify(traits={"name": "Peter"}))
    assert result.reason == "traits.email missing"
    assert "traits.email (recommended)" in result.errors[0].message
    assert result.schema_errors[0].rule == "nat-accepted.json#/anyOf"
    assert result.format is not None and result.format.schema == "nat-recommended"
    assert not result.format.matches
    assert [(issue.field, issue.message) for issue in result.format.missing] == [
        ("traits.email", "is required")
    ]


def test_a_flat_call_with_a_bad_email_is_closest_to_alternative_format_1() -> None:
    result = only(identify(email="not-an-address"))
    assert result.format is not None
    assert result.format.schema == "nat-alternative-email"
    assert result.format.missing == ()


def test_an_engage_call_with_a_bad_timestamp_is_closest_to_engage() -> None:
    engage = load_schema("nat-engage")["examples"][0]
    engage["timestamp"] = "yesterday"
    result = only(engage)
    assert result.reason == "timestamp invalid_format"
    # Engage and the recommended format both need nothing more: the more specific one is named.
    assert result.format is not None and result.format.schema == "nat-engage"
    assert not result.format.matches and result.format.missing == ()


def test_an_incomplete_engage_call_is_still_accepted_as_the_recommended_format() -> None:
    engage = load_schema("nat-engage")["examples"][0]
    del engage["context"]["personas"]["computation_key"]
    result = only(engage)
    assert result.accepted
    assert result.format is not None and result.format.schema == "nat-recommended"


@pytest.mark.parametrize(
    ("payload", "status", "reason", "rule"),
    [
        pytest.param(
            identify(email="a@example.com", timestamp="2020-05-31 17:55:47"),
            400,
            "timestamp invalid_format",
            "nat-accepted.json#/$defs/timestamp/pattern",
            id="timestamp-without-zone",
        ),
        pytest.param(
            {"type": "identify", "email": "a@example.com"},
            400,
            "timestamp missing",
            "nat-accepted.json#/required",
            id="timestamp-missing",
        ),
        pytest.param(
            identify(email="a@example.com", type="track"),
            501,
            "type unsupported_type",
            "nat-accepted.json#/$defs/identifyType/pattern",
            id="track-call",
        ),
        pytest.param(
            identify(email="a@example.com", messageId=7),
            400,
            "messageId invalid_type",
            "nat-accepted.json#/properties/messageId/type",
            id="numeric-message-id",
        ),
        pytest.param(
            [identify(email="a@example.com")],
            400,
            "body not_object",
            "nat-accepted.json#/type",
            id="array-body",
        ),
    ],
)
def test_rejections_carry_the_rules_status_reason_and_the_failed_keyword(
    payload: Any, status: int, reason: str, rule: str
) -> None:
    result = only(payload)
    assert (result.accepted, result.status, result.reason) == (False, status, reason)
    assert rule in [issue.rule for issue in result.schema_errors]


def test_a_line_that_is_not_json_is_reported_with_its_number() -> None:
    lines = [line_of(identify(email="a@example.com")), b"\n", b'{"type": "identify",}\n']
    results = list(validate_lines(lines))
    assert [(result.line, result.accepted) for result in results] == [(1, True), (3, False)]
    assert (results[1].status, results[1].reason) == (400, "body not_json")
    assert "not valid JSON" in results[1].errors[0].message


@pytest.mark.parametrize(
    ("size", "status"),
    [(MAX_BODY_BYTES, 200), (MAX_BODY_BYTES + 1, 413)],
    ids=["exactly-64KB", "one-byte-over"],
)
def test_bodies_over_32_kb_are_rejected_413(size: int, status: int) -> None:
    (result,) = validate_lines([padded(size) + b"\n"])
    assert result.status == status


def _generator_line(payload: Any, *, status: int, auth: str = "basic", **extra: Any) -> bytes:
    scenario = {"id": "family/case", "family": "family", "summary": "", "auth": auth}
    scenario.update({"content_type": "application/json", **extra})
    return line_of({"scenario": scenario, "expect": {"status": status}, "payload": payload})


def test_generator_lines_are_checked_against_their_expectation() -> None:
    good = identify(traits={"email": "peter@example.com"})
    lines = [
        _generator_line(good, status=200),
        _generator_line(good, status=400),  # a generator bug this command should surface
        _generator_line(good, status=401, auth="wrong"),  # about the key, not the payload
        _generator_line(None, status=400, raw_body='{"type": "identify",'),
        _generator_line(good, status=415, content_type="text/plain"),
    ]
    results = list(validate_lines(lines))
    assert [result.scenario for result in results] == ["family/case"] * 5
    assert [result.accepted for result in results] == [True, True, True, False, True]
    assert [result.meets_expectation for result in results] == [True, False, None, True, None]
    assert results[3].reason == "body not_json"
    assert [result.about for result in results] == [
        None,
        None,
        "the API key",
        None,
        "the content type",
    ]
    # Only the generator bug fails: the malformed one rejected as expected does not, nor do
    # the scenarios about the key or the content type, which a payload cannot decide.
    assert [result.fails_the_run for result in results] == [False, True, False, False, False]


def test_generator_sequences_yield_one_result_per_step() -> None:
    steps = [
        orjson.loads(_generator_line(identify(email=f"{name}@example.com"), status=200))
        for name in ("ana", "bob")
    ]
    line = line_of({"sequence": {"id": "dedup/same-day"}, "steps": steps, "final": {}})
    results = list(validate_lines([line]))
    assert [(result.line, result.accepted) for result in results] == [(1, True), (1, True)]


def test_a_payload_with_a_scenario_trait_is_still_a_payload() -> None:
    result = only(identify(email="a@example.com", scenario="checkout"))
    assert result.accepted and result.scenario is None


def test_validation_streams_and_never_reads_ahead() -> None:
    consumed = 0

    def endless() -> Iterator[bytes]:
        nonlocal consumed
        for count in itertools.count():
            consumed += 1
            yield line_of(identify(email=f"user{count}@example.com"))

    first = list(itertools.islice(validate_lines(endless()), 3))
    assert [result.line for result in first] == [1, 2, 3]
    assert consumed == 3


@settings(max_examples=200, deadline=None, database=None)
@given(identify_like())
def test_every_detail_level_gives_the_same_verdict(payload: dict[str, Any]) -> None:
    line = line_of(payload)
    (explained,) = validate_lines([line])
    (reasons,) = validate_lines([line], detail="reasons")
    (verdict,) = validate_lines([line], detail="verdict")
    assert explained.accepted == reasons.accepted == verdict.accepted
    assert (explained.status == 200) is explained.accepted
    assert (explained.status, explained.reason) == (reasons.status, reasons.reason)
    assert explained.format == reasons.format or not explained.accepted
    if not explained.accepted:
        assert explained.errors, "a rejection always says why"
        assert explained.errors == reasons.errors


@pytest.mark.parametrize("place", EMAIL_PLACES)
def test_the_accepted_schema_lists_email_places_in_the_rules_order(place: str) -> None:
    """`validate` shows the anyOf branch of the place the rules name: the orders must match."""
    payload = email_at(place, "a@example.com")
    accepted = load_schema(ACCEPTED)
    taking = [
        index
        for index, branch in enumerate(accepted["anyOf"])
        if jsonschema_rs.validator_for({**accepted, "anyOf": [branch]}).is_valid(payload)
    ]
    assert taking == [EMAIL_PLACES.index(place)]


def test_summary_counts_verdicts_reasons_statuses_and_formats() -> None:
    lines = [
        line_of(identify(traits={"email": "peter@example.com"})),
        line_of(identify(email="test@example.com")),
        line_of(identify(email="bad")),
        line_of(identify(email="a@example.com", type="page")),
    ]
    summary = ValidationSummary()
    for result in validate_lines(lines):
        summary.add(result)
    view = summary.as_dict()
    assert (view["payloads"], view["accepted"], view["rejected"]) == (4, 2, 2)
    assert view["by_reason"] == {
        "accepted": 2,
        "email invalid_format": 1,
        "type unsupported_type": 1,
    }
    assert view["by_status"] == {"200": 2, "400": 1, "501": 1}
    assert view["by_format"] == {"nat-recommended": 1, "nat-alternative-email": 1}


# --- the command ---------------------------------------------------------------------------------


def run_cli(*args: str, stdin: bytes | None = None) -> Result:
    """`nat-harness validate ARGS` in process; `main()` is exercised by the exit-2 test."""
    return CliRunner().invoke(app, ["validate", *args], input=stdin)


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    path = tmp_path / "payloads.jsonl"
    path.write_bytes(
        line_of(identify(traits={"email": "peter@example.com"}))
        + line_of(identify(traits={"email": "peter@"}))
        + b"not json\n"
    )
    return path


def test_cli_prints_each_line_and_a_summary_and_exits_1_on_a_rejection(mixed_file: Path) -> None:
    result = run_cli(str(mixed_file))
    assert result.exit_code == 1, result.output
    assert "line 1: accepted (Nat recommended format)" in result.stdout
    assert "line 2: rejected 400: traits.email invalid_format" in result.stdout
    assert "rule nat-accepted.json#/$defs/email/pattern (traits.email):" in result.stdout
    assert "line 3: rejected 400: body not_json" in result.stdout
    assert "1 accepted, 2 rejected of 3 payloads" in result.stdout


def test_cli_json_output_is_json_lines_ending_with_a_summary(mixed_file: Path) -> None:
    result = run_cli(str(mixed_file), "--format", "json")
    assert result.exit_code == 1
    records = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [record["line"] for record in records[:-1]] == [1, 2, 3]
    assert records[1]["errors"][0]["field"] == "traits.email"
    assert records[-1]["summary"]["rejected"] == 2


def test_cli_reads_stdin_and_exits_0_when_everything_is_accepted() -> None:
    result = run_cli("-", "--show", "none", stdin=line_of(identify(email="a@example.com")))
    assert result.exit_code == 0, result.output
    assert "line 1" not in result.stdout
    assert "1 accepted, 0 rejected" in result.stdout


def test_cli_exits_2_with_a_message_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "validate", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert result.returncode == 2
    assert f"cannot read {missing}" in result.stderr
    assert "Traceback" not in result.stderr


def test_generator_output_validates_with_exit_0_and_says_what_each_scenario_is_about() -> None:
    records = [scenario.to_dict() for scenario in catalogue(0)]
    stdin = b"".join(orjson.dumps(record) + b"\n" for record in records)
    result = run_cli("-", stdin=stdin)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "[malformed/missing-email]: rejected 400 as expected: traits.email missing" in text
    assert "[recommended/with-page-url]: accepted as expected (Nat recommended format)" in text
    assert (
        "[malformed/wrong-key]: about the API key, not the payload: the destination answers 401"
    ) in text
    assert "[malformed/wrong-content-type]: about the content type, not the payload" in text
    assert "[malformed/wrong-key]: accepted" not in text
    assert "got the verdict they expect" in " ".join(text.split())


def test_a_generator_scenario_that_misses_its_expectation_exits_1() -> None:
    good = identify(traits={"email": "peter@example.com"})
    result = run_cli("-", "--format", "json", stdin=_generator_line(good, status=400))
    assert result.exit_code == 1
    summary = orjson.loads(result.stdout.splitlines()[-1])["summary"]
    assert (summary["expectation_mismatches"], summary["failing"]) == (1, 1)


def test_cli_help_has_an_example() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "nat-harness validate payloads.jsonl" in result.stdout


def test_the_generators_expectations_hold_for_every_payload_it_makes() -> None:
    records = [
        *(scenario.to_dict() for scenario in catalogue(0)),
        *(sequence.to_dict() for sequence in sequences(0)),
        *(scenario.to_dict() for scenario in generate(2000, seed=5)),
    ]
    results = list(validate_lines(orjson.dumps(record) + b"\n" for record in records))
    checked = [result for result in results if result.meets_expectation is not None]
    assert len(results) > len(records)  # sequences yield one result per step
    assert all(result.scenario for result in results)
    assert {result.accepted for result in checked} == {True, False}
    mismatches = [result.as_dict() for result in checked if not result.meets_expectation]
    assert mismatches == []


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"sequence": {}, "steps": "not a list", "final": {}}, id="steps-not-a-list"),
        pytest.param(
            {"scenario": {"id": 5, "auth": ["basic"]}, "expect": [], "payload": 1}, id="junk"
        ),
    ],
)
def test_a_malformed_generator_record_still_gets_a_result(record: dict[str, Any]) -> None:
    (result,) = validate_lines([line_of(record)])
    assert not result.accepted and result.errors
    assert result.meets_expectation is None and result.expected_status is None


# --- the speed shortcuts, each held to what it stands in for ----------------------------------


def test_the_required_fields_shortcut_never_passes_over_a_matching_format() -> None:
    """A format's shape is run only on payloads holding the fields it requires; the shape itself
    is the oracle: whatever it accepts must hold them."""
    from harness.validate import _holds_all, _judge
    from tests.test_rules_agree_with_schema import _corpus_lines, _generated_bodies

    corpus = [param.values[0] for param in _corpus_lines()]
    payloads = [*_generated_bodies(), *corpus, [], "identify", None]
    passed_over = 0
    for name, _, shape, required in _judge().formats:
        for payload in payloads:
            held = _holds_all(payload, required)
            assert held or not shape.is_valid(payload), (name, payload)
            passed_over += not held
    assert passed_over > len(payloads), "the shortcut passes over the shapes that cannot match"


@given(identify_like())
@settings(max_examples=300)
def test_the_required_fields_shortcut_holds_for_any_identify_like_payload(payload: Any) -> None:
    from harness.validate import _holds_all, _judge

    for _, _, shape, required in _judge().formats:
        assert _holds_all(payload, required) or not shape.is_valid(payload)


def _verdict_then_format(payload: Any) -> tuple[bool, str | None]:
    """The verdict of the accepted schema, then the first format whose shape holds: what a
    format schema means (`allOf` the accepted schema and its shape)."""
    from harness.validate import _judge

    judge = _judge()
    if not judge.accepted.is_valid(payload):
        return False, None
    return True, next(
        (name for name, _, shape, _ in judge.formats if shape.is_valid(payload)), None
    )


def _verdict_and_format_found(payload: Any) -> tuple[bool, str | None]:
    from harness.validate import _judge

    accepted, fit = _judge().verdict_and_format(payload)
    return accepted, fit.schema if fit else None


def test_one_validation_by_a_whole_format_schema_gives_the_verdict_and_the_format() -> None:
    from tests.test_rules_agree_with_schema import _corpus_lines, _generated_bodies

    corpus = [param.values[0] for param in _corpus_lines()]
    payloads = [*_generated_bodies(), *corpus, [], "identify", None]
    for payload in payloads:
        assert _verdict_and_format_found(payload) == _verdict_then_format(payload), payload


@given(identify_like())
@settings(max_examples=300)
def test_the_whole_format_schemas_agree_for_any_identify_like_payload(payload: Any) -> None:
    assert _verdict_and_format_found(payload) == _verdict_then_format(payload)


@pytest.mark.parametrize("keyword", ["additionalProperties", "unevaluatedProperties"])
def test_a_format_that_reads_its_property_names_keeps_every_property(keyword: str) -> None:
    """Leaving out a property the accepted schema checks the same way keeps the verdict only
    while no keyword of the format reads which properties it names."""
    from harness.validate import _checked_once

    accepted, recommended = load_schema(ACCEPTED), load_schema("nat-recommended")
    assert set(_checked_once(recommended, accepted)["properties"]) == {"page", "traits"}
    strict = {**recommended, keyword: False}
    assert _checked_once(strict, accepted)["properties"] == recommended["properties"]


def _shown_by_the_whole_schema(payload: Any) -> list[jsonschema_rs.ValidationError]:
    """The failed keywords of `nat-accepted.json` worth showing, as the definition says: every
    failure of the whole schema in its order, with its one `anyOf` (the email places, in
    `EMAIL_PLACES` order) replaced by the errors of the place the rules refused, and kept whole
    when the rules found no email at all."""
    from harness.validate import _judge

    rules_errors = getattr(evaluate(payload), "errors", ())
    email_error = next((issue for issue in rules_errors if issue.field in EMAIL_PLACES), None)
    refused = None
    if email_error is not None and email_error.code != "missing":
        refused = EMAIL_PLACES.index(email_error.field)
    shown: list[jsonschema_rs.ValidationError] = []
    for error in _judge().accepted.iter_errors(payload):
        kind = error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.AnyOf) and refused is not None:
            shown.extend(kind.context[refused])
        else:
            shown.append(error)
    return shown


def _closest_by_trying_every_format(payload: dict[str, Any]) -> FormatFit:
    """The closest format as the definition says: every format's failures beyond the accepted
    schema's, the fewest missing parts first, then the fewest failures, then the most specific."""
    from harness.validate import _issue, _judge, _key

    judge = _judge()
    for name, title, shape, _ in judge.formats:
        if shape.is_valid(payload):
            return FormatFit(name, title, False)
    known = {_key(error) for error in _shown_by_the_whole_schema(payload)}
    ranked = []
    for order, (name, title, shape, _) in enumerate(judge.formats):
        own = [error for error in shape.iter_errors(payload) if _key(error) not in known]
        missing = sum(
            isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required) for error in own
        )
        ranked.append(
            (missing, len(own), order, FormatFit(name, title, False, tuple(map(_issue, own))))
        )
    return min(ranked, key=lambda candidate: candidate[:3])[3]


def _closest_found(payload: dict[str, Any]) -> FormatFit | None:
    from harness.validate import _judge, _key

    known = {_key(error) for error in _shown_by_the_whole_schema(payload)}
    return _judge().closest_format(payload, known)


def _rejected_payloads() -> list[Any]:
    """Every rejected payload we have: the catalogue's, the generator's and Segment's corpus."""
    from harness.validate import _judge
    from tests.test_rules_agree_with_schema import _corpus_lines, _generated_bodies

    corpus = [param.values[0] for param in _corpus_lines()]
    payloads = [*_generated_bodies(), *corpus, [], "identify", None, {}]
    return [payload for payload in payloads if not _judge().accepted.is_valid(payload)]


def _failures_asked_apart(payload: Any) -> list[tuple[tuple[Any, ...], SchemaIssue]]:
    from harness.validate import _judge

    failures = _judge().apart.failures(payload, evaluate(payload))
    return [(failure.key, failure.issue) for failure in failures]


def _failures_of_the_whole_schema(payload: Any) -> list[tuple[tuple[Any, ...], SchemaIssue]]:
    from harness.validate import _issue, _key

    return [(_key(error), _issue(error)) for error in _shown_by_the_whole_schema(payload)]


def test_the_accepted_schema_asked_apart_shows_what_the_whole_schema_does() -> None:
    """The failures shown for a rejection come from the schema without its email places, and
    from the one place the rules refused: the same, in the same order, as the whole schema's
    failures with its `anyOf` cut down to that place."""
    from harness.validate import _email_place_looked_at

    rejected = _rejected_payloads()
    assert len(rejected) > 100
    for payload in rejected:
        assert _failures_asked_apart(payload) == _failures_of_the_whole_schema(payload), payload
    refused_places = {_email_place_looked_at(evaluate(payload)) for payload in rejected}
    assert refused_places == {None, 0, 1, 2}, "each email place is refused by some payload"


@given(identify_like())
@settings(max_examples=300)
def test_the_accepted_schema_asked_apart_agrees_for_any_identify_like_payload(
    payload: Any,
) -> None:
    from harness.validate import _judge

    if not _judge().accepted.is_valid(payload):
        assert _failures_asked_apart(payload) == _failures_of_the_whole_schema(payload)


def test_the_closest_format_tries_only_the_formats_that_could_be_closest() -> None:
    """`closest_format` skips a format that cannot beat the best found (it lacks more required
    fields than the best has parts missing, or as many and comes later with no fewer failures);
    trying every format is its oracle, on every rejected payload we have."""
    rejected = [payload for payload in _rejected_payloads() if isinstance(payload, dict)]
    assert len(rejected) > 100
    for payload in rejected:
        assert _closest_found(payload) == _closest_by_trying_every_format(payload), payload


@given(identify_like())
@settings(max_examples=300)
def test_the_closest_format_is_the_same_for_any_identify_like_payload(payload: Any) -> None:
    from harness.validate import _judge

    if isinstance(payload, dict) and not _judge().accepted.is_valid(payload):
        assert _closest_found(payload) == _closest_by_trying_every_format(payload)


def test_a_command_loads_only_its_own_module() -> None:
    """`nat-harness validate` starts without the HTTP server or the other commands; `--help`
    (no command named) lists them all."""
    probe = (
        "import sys; from harness import cli; cli._load_commands(['validate', 'x.jsonl']); "
        "print(sorted(m for m in ('uvicorn', 'reference_impl.app', 'harness.cli.run', "
        "'harness.cli.validate') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout.strip() == "['harness.cli.validate']"
    listing = subprocess.run(
        [sys.executable, "-m", "harness", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    commands = ("demo", "serve", "run", "validate", "generate", "docs", "simulate", "load")
    for command in (*commands, "explore", "record", "replay"):
        assert f" {command} " in listing.stdout, command


# --- worker processes ----------------------------------------------------------------------------


@pytest.fixture
def generator_output(tmp_path: Path) -> Path:
    """The generator's default mix, sequences included, with a line longer than a chunk."""
    path = tmp_path / "generated.jsonl"
    records = [orjson.dumps(scenario.to_dict()) for scenario in generate(600, seed=4)]
    records += [orjson.dumps(sequence.to_dict()) for sequence in sequences(4)]
    records.insert(100, orjson.dumps(identify(traits={"email": "a@example.com", "n": "x" * 5000})))
    path.write_bytes(b"\n".join(records) + b"\nnot json")  # the last line has no newline
    return path


@pytest.mark.parametrize(
    "options",
    [(), ("--show", "rejected"), ("--show", "none"), ("--format", "json")],
    ids=["text", "rejected-only", "summary-only", "json"],
)
def test_the_output_is_the_same_whatever_the_number_of_workers(
    generator_output: Path, monkeypatch: pytest.MonkeyPatch, options: tuple[str, ...]
) -> None:
    monkeypatch.setattr("harness.parallel.CHUNK_BYTES", 4096)  # dozens of chunks, not one
    alone = run_cli(str(generator_output), "--jobs", "1", *options)
    shared = run_cli(str(generator_output), "--jobs", "3", *options)
    assert alone.exit_code == shared.exit_code == 1  # the last line is not JSON
    assert alone.stdout == shared.stdout
    if options == ():
        assert "line 101: accepted (Nat recommended format)" in alone.stdout  # the long line
    if options == ("--format", "json"):
        numbers = [orjson.loads(line).get("line") for line in alone.stdout.splitlines()]
        assert numbers[-2] == len(generator_output.read_bytes().splitlines())


def test_fewer_than_one_worker_is_refused_with_the_option_named(mixed_file: Path) -> None:
    result = run_cli(str(mixed_file), "--jobs", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--jobs'" in result.output and "greater than or equal to 1" in (
        " ".join(result.output.split())
    )


def test_a_summary_merged_chunk_by_chunk_is_the_summary_of_the_whole() -> None:
    results = list(validate_lines(_scenario_lines(300)))
    whole = ValidationSummary()
    for result in results:
        whole.add(result)
    for cut in (0, 1, 57, 150, len(results)):
        merged, later = ValidationSummary(), ValidationSummary()
        for result in results[:cut]:
            merged.add(result)
        for result in results[cut:]:
            later.add(result)
        merged.merge(later)
        assert merged.as_dict() == whole.as_dict()
        assert list(merged.by_reason) == list(whole.by_reason)  # ties keep their first-seen order
        assert merged.status_of_reason == whole.status_of_reason


def test_a_summary_counted_kind_by_kind_is_the_summary_counted_one_by_one() -> None:
    """`add_all` over a worker's chunk, whatever its size, counts what one result at a time
    does, on generator scenarios, plain payloads, and more scenarios that miss their
    expectation than the summary names."""
    good = identify(traits={"email": "peter@example.com"})
    lines = _scenario_lines(300)
    lines += [line_of(good), line_of({"type": "identify"}), b"not json\n"]
    lines += [_generator_line(good, status=400)] * 12
    lines += [_generator_line(good, status=401, auth="wrong")]
    results = list(validate_lines(lines))
    one_by_one = ValidationSummary()
    for result in results:
        one_by_one.add(result)
    for size in (1, 7, 100, len(results)):
        by_kind = ValidationSummary()
        for start in range(0, len(results), size):
            by_kind.add_all(results[start : start + size])
        assert by_kind.as_dict() == one_by_one.as_dict()
        assert list(by_kind.by_reason) == list(one_by_one.by_reason)
        assert by_kind.status_of_reason == one_by_one.status_of_reason
    assert one_by_one.expectation_mismatches == 12 and one_by_one.failing == 14
    assert one_by_one.not_about_payload >= 1 and len(one_by_one.first_mismatch_lines) == 10


def _scenario_lines(count: int) -> list[bytes]:
    return [orjson.dumps(scenario.to_dict()) + b"\n" for scenario in generate(count, seed=9)]


@pytest.mark.parametrize(
    ("workers_seen", "then_wait"),
    [(1, 0.0), (2, 0.0), (2, 0.5)],
    ids=["as-the-workers-start", "once-both-started", "while-they-work"],
)
def test_ctrl_c_stops_the_command_and_its_workers_without_a_traceback(
    tmp_path: Path, workers_seen: int, then_wait: float
) -> None:
    rejected = line_of(identify(traits={"email": "not-an-address"}))
    path = tmp_path / "long.jsonl"
    path.write_bytes(rejected * 400_000)  # many seconds of explanations
    command = subprocess.Popen(
        [sys.executable, "-m", "harness", "validate", str(path), "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_as_in_a_terminal,
    )
    try:
        _wait_for_children(command.pid, count=workers_seen)
        time.sleep(then_wait)
        workers = _children(command.pid)
        command.send_signal(signal.SIGINT)
        _, stderr = command.communicate(timeout=30)
    finally:
        command.kill()
    assert command.returncode == 130
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)


def _children(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def _wait_for_children(parent: int, *, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(_children(parent)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"validate did not start {count} workers")
        time.sleep(0.01)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_output_reaches_a_text_stream_with_no_bytes_beneath_it() -> None:
    import io

    from harness.cli.validate import OutputFormat, _write

    summary, out = ValidationSummary(), io.StringIO()
    chunks = iter([("line 1: accepted (Nat recommended format) …\n".encode(), summary)])
    _write(chunks, ValidationSummary(), OutputFormat.json, out)
    first, last = out.getvalue().splitlines()
    assert first == "line 1: accepted (Nat recommended format) …"
    assert orjson.loads(last)["summary"]["payloads"] == 0
