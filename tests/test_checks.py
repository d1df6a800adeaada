"""The checks on answers alone: each passes the contract's answer and fails the wrong ones.

Requests and expectations come from the contract (`scenarios.expect`); answers are built as
`Exchange` records, so every verdict here is about the check's logic, without HTTP.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from harness.checks import (
    FAMILIES,
    Check,
    CheckFailed,
    CheckSkipped,
    Observation,
    Registry,
    check,
    default_registry,
)
from harness.checks.base import segment_retries
from harness.target import Exchange, Sent
from scenarios.expect import expect_for, expect_sequence
from scenarios.model import Request, Scenario, Sequence

TS = "2020-05-31T17:55:47.263Z"
URL = "http://127.0.0.1:9/segment"
REGISTRY = default_registry()


def _scenario(payload: Any, *, auth: str = "basic", name: str = "case/one") -> Scenario:
    request = Request(payload, auth=auth)  # type: ignore[arg-type]
    return Scenario(name, name.split("/")[0], request, expect_for(request))


def _answer(scenario: Scenario, status: int | None, body: Any = None, **extra: Any) -> Exchange:
    sent = Sent("POST", URL, scenario.request.auth, (), scenario.request.body())
    if status is None:
        return Exchange(sent, error="ConnectionError: [Errno 104] reset", **extra)
    raw = body if isinstance(body, bytes) else orjson.dumps(body) if body is not None else b""
    return Exchange(sent, status, "application/json", raw, extra.pop("elapsed", 0.01), **extra)


def _judge(check_id: str, scenario: Scenario | Sequence, *exchanges: Exchange) -> None:
    REGISTRY[check_id].verify(Observation(scenario, exchanges, None, 5.0))


def _fails(check_id: str, scenario: Scenario | Sequence, *exchanges: Exchange) -> CheckFailed:
    with pytest.raises(CheckFailed) as failure:
        _judge(check_id, scenario, *exchanges)
    return failure.value


RECOMMENDED = _scenario(
    {"type": "identify", "timestamp": TS, "traits": {"email": "Peter@Example.com"}},
    name="recommended/plain",
)
MISSING_EMAIL = _scenario({"type": "identify", "timestamp": TS}, name="malformed/missing-email")
TRACK = _scenario({"type": "track", "timestamp": TS, "email": "a@example.com"}, name="type/track")
WRONG_KEY = _scenario(
    {"type": "identify", "timestamp": TS, "email": "a@example.com"},
    auth="wrong",
    name="auth/wrong-key",
)


def _success(scenario: Scenario, **changes: Any) -> dict[str, Any]:
    """The success body the contract expects for `scenario`, with `changes`."""
    expect = scenario.expect
    body = {
        "outcome": expect.outcome,
        "contact": expect.contact,
        "day": expect.day,
        "description": expect.description,
        "description_source": expect.description_source,
        "replayed": expect.replayed,
        "warnings": [],
    }
    return {**body, **changes}


def _error_body(scenario: Scenario) -> dict[str, Any]:
    return {
        "message": "what is wrong",
        "errors": [{"field": scenario.expect.error_field, "code": "x", "message": "wrong"}],
    }


# -- the registry --------------------------------------------------------------------------------


def test_every_check_has_a_unique_id_a_level_and_a_summary() -> None:
    checks = list(default_registry().values())
    assert len({item.id for item in checks}) == len(checks)
    assert {item.family for item in checks} == {m.__name__.rpartition(".")[2] for m in FAMILIES}
    for item in checks:
        assert item.level in ("MUST", "SHOULD")
        assert item.summary and not item.summary.endswith(" ")


def test_a_registry_refuses_a_second_check_with_the_same_id() -> None:
    item = REGISTRY["accepted_call_is_answered_2xx"]
    with pytest.raises(ValueError, match="duplicate check id 'accepted_call_is_answered_2xx'"):
        Registry([item, item])


def test_the_decorator_takes_id_family_and_summary_from_the_function() -> None:
    @check("SHOULD", applies=lambda subject: True)
    def answers_politely(observation: Observation) -> None:
        """Every answer is polite.

        More detail that is not part of the summary."""

    assert isinstance(answers_politely, Check)
    assert (answers_politely.id, answers_politely.level) == ("answers_politely", "SHOULD")
    assert answers_politely.family == "test_checks"
    assert answers_politely.summary == "Every answer is polite."


def test_the_decorator_refuses_an_unknown_level_and_a_missing_docstring() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        check("MAY", applies=lambda subject: True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a docstring"):

        @check("MUST", applies=lambda subject: True)
        def undocumented(observation: Observation) -> None:
            pass


def test_checks_apply_by_the_scenarios_expectation() -> None:
    def applying(scenario: Scenario) -> set[str]:
        return {item.id for item in REGISTRY.values() if item.applies(scenario)}

    assert "malformed_call_is_rejected_4xx" in applying(MISSING_EMAIL)
    assert "accepted_call_is_answered_2xx" not in applying(MISSING_EMAIL)
    assert "other_type_is_answered_501" in applying(TRACK)
    assert "malformed_call_is_rejected_4xx" not in applying(TRACK)
    assert "unauthenticated_call_is_refused_401" in applying(WRONG_KEY)
    assert "accepted_call_is_answered_2xx" in applying(RECOMMENDED)
    assert "answered_within_segment_timeout" in applying(RECOMMENDED)
    assert not {"one_entry_per_contact_per_day", "latest_trait_value_wins"} & applying(RECOMMENDED)


# -- acceptance ----------------------------------------------------------------------------------


def test_an_accepted_call_passes_with_the_contracts_answer() -> None:
    _judge("accepted_call_is_answered_2xx", RECOMMENDED, _answer(RECOMMENDED, 200, {}))
    _judge("accepted_call_is_answered_2xx", RECOMMENDED, _answer(RECOMMENDED, 202, {}))
    _judge(
        "success_answer_matches_contract",
        RECOMMENDED,
        _answer(RECOMMENDED, 200, _success(RECOMMENDED)),
    )


@pytest.mark.parametrize(
    ("status", "consequence"),
    [(400, "without retrying"), (503, "four hours"), (429, "four hours")],
    ids=["dropped-400", "retried-503", "retried-429"],
)
def test_an_accepted_call_refused_fails_and_says_what_segment_does(
    status: int, consequence: str
) -> None:
    failure = _fails(
        "accepted_call_is_answered_2xx", RECOMMENDED, _answer(RECOMMENDED, status, {"message": "x"})
    )
    assert consequence in failure.expected
    assert f"HTTP {status}" in failure.received
    assert failure.sent.startswith("curl ") and "peter@example.com".lower() in failure.sent.lower()


def test_a_success_body_with_the_wrong_outcome_or_contact_fails() -> None:
    wrong = _success(RECOMMENDED, outcome="deduplicated", contact="Peter@Example.com")
    failure = _fails(
        "success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 200, wrong)
    )
    assert "outcome='created'" in failure.expected
    assert f"contact={RECOMMENDED.expect.contact!r}" in failure.expected
    assert "day=" not in failure.expected  # only what differs is named


def test_a_success_body_that_is_not_json_fails_the_should_check() -> None:
    failure = _fails(
        "success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 200, b"OK")
    )
    assert "JSON object" in failure.expected


# -- rejection -----------------------------------------------------------------------------------


def test_a_malformed_call_refused_with_the_contracts_status_passes() -> None:
    answer = _answer(MISSING_EMAIL, 400, _error_body(MISSING_EMAIL))
    for check_id in (
        "malformed_call_is_rejected_4xx",
        "rejection_status_matches_contract",
        "error_body_has_message",
        "error_names_the_field",
    ):
        _judge(check_id, MISSING_EMAIL, answer)


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (200, "stored or silently lost"),
        (500, "four hours"),
        (503, "four hours"),
        (429, "four hours"),
        (408, "four hours"),
    ],
    ids=["accepted-200", "server-error-500", "unavailable-503", "rate-limited-429", "timeout-408"],
)
def test_a_malformed_call_answered_with_a_retried_or_success_status_fails(
    status: int, words: str
) -> None:
    failure = _fails(
        "malformed_call_is_rejected_4xx", MISSING_EMAIL, _answer(MISSING_EMAIL, status, {})
    )
    assert words in failure.expected
    assert str(MISSING_EMAIL.expect.status) in failure.expected


def test_a_different_4xx_passes_the_must_and_warns_on_the_exact_status() -> None:
    answer = _answer(MISSING_EMAIL, 422, _error_body(MISSING_EMAIL))
    _judge("malformed_call_is_rejected_4xx", MISSING_EMAIL, answer)
    failure = _fails("rejection_status_matches_contract", MISSING_EMAIL, answer)
    assert failure.expected.startswith(f"HTTP {MISSING_EMAIL.expect.status}")


def test_segment_retries_the_statuses_its_docs_name() -> None:
    assert [s for s in (400, 401, 403, 404, 408, 413, 415, 423, 429) if segment_retries(s)] == [
        408,
        423,
        429,
    ]
    assert segment_retries(500) and segment_retries(503) and not segment_retries(501)


def test_an_error_without_a_message_or_field_warns() -> None:
    bare = _answer(MISSING_EMAIL, 400, b"Bad Request")
    assert "message" in _fails("error_body_has_message", MISSING_EMAIL, bare).expected
    wrong_field = _answer(MISSING_EMAIL, 400, {"message": "x", "errors": [{"field": "email"}]})
    failure = _fails("error_names_the_field", MISSING_EMAIL, wrong_field)
    assert repr(MISSING_EMAIL.expect.error_field) in failure.expected


def test_another_type_must_get_501() -> None:
    _judge("other_type_is_answered_501", TRACK, _answer(TRACK, 501, {"message": "x"}))
    for status in (200, 400):
        failure = _fails("other_type_is_answered_501", TRACK, _answer(TRACK, status, {}))
        assert "501" in failure.expected


# -- auth and latency ----------------------------------------------------------------------------


def test_a_wrong_key_must_be_refused() -> None:
    _judge("unauthenticated_call_is_refused_401", WRONG_KEY, _answer(WRONG_KEY, 401, {}))
    failure = _fails("unauthenticated_call_is_refused_401", WRONG_KEY, _answer(WRONG_KEY, 200, {}))
    assert "wrong API key" in failure.expected
    assert "-u not-the-api-key:" in failure.sent


def test_an_answer_slower_than_the_budget_fails_and_a_fast_one_passes() -> None:
    _judge("answered_within_segment_timeout", RECOMMENDED, _answer(RECOMMENDED, 200, elapsed=4.9))
    failure = _fails(
        "answered_within_segment_timeout", RECOMMENDED, _answer(RECOMMENDED, 200, elapsed=5.2)
    )
    assert "within 5 s" in failure.expected and "5.20 s" in failure.expected


def test_no_answer_at_all_fails_latency_and_skips_the_other_checks() -> None:
    silent = _answer(RECOMMENDED, None)
    failure = _fails("answered_within_segment_timeout", RECOMMENDED, silent)
    assert "no answer" in failure.received and "reset" in failure.received
    with pytest.raises(CheckSkipped, match="no answer"):
        _judge("accepted_call_is_answered_2xx", RECOMMENDED, silent)


# -- sequences -----------------------------------------------------------------------------------


def _sequence(payloads: list[dict[str, Any]], *, name: str = "sequence/retry") -> Sequence:
    requests = [Request(payload) for payload in payloads]
    expects, final = expect_sequence(requests)
    steps = tuple(
        Scenario(f"{name}/{index}", "sequence", request, expect)
        for index, (request, expect) in enumerate(zip(requests, expects, strict=True))
    )
    return Sequence(name, steps, final)


RETRY = _sequence(
    [
        {"type": "identify", "timestamp": TS, "email": "ann@example.com", "messageId": "m-1"},
        {"type": "identify", "timestamp": TS, "email": "ann@example.com", "messageId": "m-1"},
    ]
)


def test_a_retry_answered_like_the_first_call_passes_and_a_different_answer_fails() -> None:
    first = _success(RETRY.steps[0], entry_id=7)
    _judge(
        "retried_message_id_is_replayed",
        RETRY,
        _answer(RETRY.steps[0], 200, first),
        _answer(RETRY.steps[1], 200, {**first, "replayed": True}),
    )
    failure = _fails(
        "retried_message_id_is_replayed",
        RETRY,
        _answer(RETRY.steps[0], 200, first),
        _answer(RETRY.steps[1], 200, {**first, "outcome": "deduplicated", "replayed": True}),
    )
    assert "outcome differ" in failure.expected
    assert failure.sent.count("curl ") == 2 and "first:" in failure.received


def test_read_back_checks_are_skipped_without_a_probe_never_passed() -> None:
    exchanges = [_answer(step, 200, _success(step)) for step in RETRY.steps]
    with pytest.raises(CheckSkipped, match="no probe"):
        _judge("one_entry_per_contact_per_day", RETRY, *exchanges)
    with pytest.raises(CheckSkipped, match="no probe"):
        _judge("description_follows_precedence", RECOMMENDED, _answer(RECOMMENDED, 200, {}))


def test_the_package_exports_what_all_says() -> None:
    import harness.checks as package

    assert len(set(package.__all__)) == len(package.__all__)
    assert all(hasattr(package, name) for name in package.__all__)
    assert {"Check", "CheckFailed", "Registry", "check", "default_registry"} <= set(package.__all__)
