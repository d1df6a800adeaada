"""The checks on answers alone: each passes the contract's answer (and what the contract leaves
open), fails the wrong ones with the clause it rests on, and skips what it cannot judge.

Requests and expectations come from the contract (`scenarios.expect`); answers are built as
`Exchange` records and read-backs come from a canned probe, so every verdict here is about the
check's logic, without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from contract.retry import segment_retries
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
from harness.clauses import CLAUSES
from harness.target import Exchange, Sent
from scenarios.expect import expect_for, expect_sequence
from scenarios.model import Request, Scenario, Sequence
from tests.helpers import TIMESTAMP, identify

TS = TIMESTAMP
PETER = "Peter@Example.com"
URL = "http://127.0.0.1:9/segment"
REGISTRY = default_registry()


def _scenario(payload: Any, *, name: str = "case/one", **request: Any) -> Scenario:
    made = Request(payload, **request)
    return Scenario(name, name.split("/")[0], made, expect_for(made))


def _exchange(sent: Sent, status: int | None, body: Any = None, **extra: Any) -> Exchange:
    if status is None:
        return Exchange(sent, error="ConnectionError: [Errno 104] reset", **extra)
    raw = body if isinstance(body, bytes) else orjson.dumps(body) if body is not None else b""
    return Exchange(sent, status, "application/json", raw, extra.pop("elapsed", 0.01), **extra)


def _answer(scenario: Scenario, status: int | None, body: Any = None, **extra: Any) -> Exchange:
    sent = Sent("POST", URL, scenario.request.auth, (), scenario.request.body())
    return _exchange(sent, status, body, **extra)


class _Probe:
    """A read-back that answers from canned timelines and properties, by contact."""

    def __init__(
        self,
        entries: dict[str, list[dict[str, Any]]] | None = None,
        properties: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.entries = entries or {}
        self.properties = properties or {}
        self.reads = 0

    def _read(self, url: str, found: Any) -> Exchange:
        self.reads += 1
        sent = Sent("GET", url, "basic", ())
        return (
            _exchange(sent, 404, {"message": "no such contact"})
            if found is None
            else (_exchange(sent, 200, found))
        )

    def timeline(self, email: str, until: Callable[[Exchange], bool]) -> Exchange:
        entries = self.entries.get(email)
        found = None if entries is None else {"contact": email, "entries": entries}
        return self._read(f"http://127.0.0.1:9/contacts/{email}/timeline", found)

    def contact(self, email: str, until: Callable[[Exchange], bool]) -> Exchange:
        properties = self.properties.get(email)
        found = None if properties is None else {"contact": email, "properties": properties}
        return self._read(f"http://127.0.0.1:9/contacts/{email}", found)


def _observe(
    subject: Scenario | Sequence,
    *exchanges: Exchange,
    probe: _Probe | None = None,
    accepts_identify: bool = True,
) -> Observation:
    return Observation(subject, exchanges, probe, 5.0, accepts_identify)  # type: ignore[arg-type]


def _judge(check_id: str, subject: Scenario | Sequence, *exchanges: Exchange, **seen: Any) -> None:
    REGISTRY[check_id].verify(_observe(subject, *exchanges, **seen))


def _fails(
    check_id: str, subject: Scenario | Sequence, *exchanges: Exchange, **seen: Any
) -> CheckFailed:
    with pytest.raises(CheckFailed) as failure:
        _judge(check_id, subject, *exchanges, **seen)
    return failure.value


def _skips(check_id: str, subject: Scenario | Sequence, *exchanges: Exchange, **seen: Any) -> str:
    with pytest.raises(CheckSkipped) as skipped:
        _judge(check_id, subject, *exchanges, **seen)
    return skipped.value.reason


RECOMMENDED = _scenario(
    identify(PETER, page={"url": "https://a.example/x"}), name="recommended/plain"
)
BEARER = _scenario(identify(PETER), name="edge/bearer-auth", auth="bearer")
MISSING_EMAIL = _scenario({"type": "identify", "timestamp": TS}, name="malformed/missing-email")
BAD_EMAIL = _scenario(identify("not-an-address"), name="malformed/invalid-email")
MISSING_TYPE = _scenario({"timestamp": TS, "email": "a@example.com"}, name="malformed/no-type")
CONTEXT_LIST = _scenario(identify(PETER, context=[]), name="malformed/context-not-object")
TRAITS_TEXT = _scenario(
    {"type": "identify", "timestamp": TS, "traits": "a@example.com"}, name="malformed/traits-text"
)
TRACK = _scenario({"type": "track", "timestamp": TS, "email": "a@example.com"}, name="type/track")
WRONG_KEY = _scenario(identify("a@example.com"), auth="wrong", name="auth/wrong-key")
RELATIVE_URL = _scenario(
    identify(PETER, page={"url": "/pricing"}, event="Logged In"), name="edge/relative-url-warning"
)


def _success(scenario: Scenario, **changes: Any) -> dict[str, Any]:
    """The success body the contract requires for `scenario` (no optional fields), with
    `changes`."""
    expect = scenario.expect
    body = {
        "outcome": expect.outcome,
        "contact": expect.contact,
        "entry_id": 1,
        "day": expect.day,
        "replayed": expect.replayed,
        "warnings": [],
    }
    return {**body, **changes}


def _error_body(field: str | None) -> dict[str, Any]:
    return {"message": "what is wrong", "errors": [{"field": field, "code": "x", "message": "y"}]}


def _entry(scenario: Scenario, **changes: Any) -> dict[str, Any]:
    expect = scenario.expect
    return {"day": expect.day, "description": expect.description, **changes}


# -- the registry --------------------------------------------------------------------------------


def test_every_check_has_a_unique_id_a_level_known_clauses_and_a_summary() -> None:
    checks = list(default_registry().values())
    assert len({item.id for item in checks}) == len(checks)
    assert {item.family for item in checks} == {m.__name__.rpartition(".")[2] for m in FAMILIES}
    for item in checks:
        assert item.level in ("MUST", "SHOULD")
        assert item.clauses and set(item.clauses) <= set(CLAUSES)
        assert item.clause == item.clauses[0]
        assert item.summary and not item.summary.endswith(" ")
        assert item.to_dict()["clauses"] == list(item.clauses)


def test_a_registry_refuses_a_second_check_with_the_same_id() -> None:
    item = REGISTRY["accepted_call_is_answered_2xx"]
    with pytest.raises(ValueError, match="duplicate check id 'accepted_call_is_answered_2xx'"):
        Registry([item, item])


def test_the_decorator_takes_id_family_clauses_and_summary_from_the_function() -> None:
    @check("SHOULD", "B.10", "B.8", applies=lambda subject: True)
    def answers_politely(observation: Observation) -> None:
        """Every answer is polite.

        More detail that is not part of the summary."""

    assert isinstance(answers_politely, Check)
    assert (answers_politely.id, answers_politely.level) == ("answers_politely", "SHOULD")
    assert answers_politely.clauses == ("B.10", "B.8")
    assert answers_politely.family == "test_checks"
    assert answers_politely.summary == "Every answer is polite."


def test_the_decorator_refuses_an_unknown_level_or_clause_and_a_missing_docstring() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        check("MAY", "B.1", applies=lambda subject: True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"B\.42 unknown"):
        check("MUST", "B.42", applies=lambda subject: True)
    with pytest.raises(ValueError, match="clauses must be ids"):
        check("MUST", applies=lambda subject: True)
    with pytest.raises(ValueError, match="needs a docstring"):

        @check("MUST", "B.1", applies=lambda subject: True)
        def undocumented(observation: Observation) -> None:
            pass


def test_checks_apply_by_the_scenarios_expectation() -> None:
    def applying(scenario: Scenario) -> set[str]:
        return {item.id for item in REGISTRY.values() if item.applies(scenario)}

    assert "invalid_call_is_not_accepted" in applying(MISSING_EMAIL)
    assert "accepted_call_is_answered_2xx" not in applying(MISSING_EMAIL)
    assert {"other_type_is_answered_501", "invalid_call_is_not_accepted"} <= applying(TRACK)
    assert "rejection_status_matches_contract" not in applying(TRACK)
    assert "unauthenticated_call_is_refused" in applying(WRONG_KEY)
    assert "invalid_call_is_not_accepted" not in applying(WRONG_KEY)
    assert "invalid_call_is_not_accepted" not in applying(CONTEXT_LIST)  # may be accepted
    assert "invalid_call_is_not_accepted" in applying(TRAITS_TEXT)  # no email is left
    assert {"accepted_call_is_answered_2xx", "accepted_call_is_stored"} <= applying(RECOMMENDED)
    assert "accepted_variant_is_answered_2xx" in applying(BEARER)
    assert "accepted_call_is_answered_2xx" not in applying(BEARER)
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
    assert failure.sent.startswith("curl ") and "peter@example.com" in failure.sent.lower()


def test_a_refused_accepted_call_cites_the_clause_of_the_field_the_destination_named() -> None:
    failure = _fails(
        "accepted_call_is_answered_2xx",
        RECOMMENDED,
        _answer(RECOMMENDED, 400, _error_body("timestamp")),
    )
    assert failure.clause == "B.4"
    failure = _fails("accepted_call_is_answered_2xx", RECOMMENDED, _answer(RECOMMENDED, 400, b""))
    assert failure.clause is None  # the check's own first clause
    # A retried status is the destination's own failure, whatever field its body names.
    retried = _answer(RECOMMENDED, 500, _error_body("timestamp"))
    assert _fails("accepted_call_is_answered_2xx", RECOMMENDED, retried).clause == "A.3"


def test_a_variant_segment_never_sends_is_only_a_should() -> None:
    assert REGISTRY["accepted_variant_is_answered_2xx"].level == "SHOULD"
    _judge("accepted_variant_is_answered_2xx", BEARER, _answer(BEARER, 200, {}))
    failure = _fails("accepted_variant_is_answered_2xx", BEARER, _answer(BEARER, 401, {}))
    assert "Bearer" in failure.expected and failure.clause == "B.2"


def test_a_success_body_with_the_wrong_outcome_or_contact_fails() -> None:
    wrong = _success(RECOMMENDED, outcome="deduplicated", contact="Peter@Example.com")
    failure = _fails(
        "success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 200, wrong)
    )
    assert "outcome='created'" in failure.expected
    assert f"contact={RECOMMENDED.expect.contact!r}" in failure.expected
    assert "day=" not in failure.expected  # only what differs is named
    assert failure.clause == "B.7"


def test_a_success_body_needs_only_the_contracts_fields() -> None:
    terse = _success(RECOMMENDED, entry_id="e-9")
    _judge("success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 200, terse))
    more = _success(RECOMMENDED, description="anything", received_at="now")
    _judge("success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 200, more))
    without_id = {key: value for key, value in terse.items() if key != "entry_id"}
    failure = _fails(
        "success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 200, without_id)
    )
    assert "entry_id" in failure.expected


def test_a_success_body_that_is_not_json_fails_the_should_check() -> None:
    failure = _fails(
        "success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 200, b"OK")
    )
    assert "JSON object" in failure.expected


def test_a_call_answered_500_is_skipped_by_the_checks_of_its_answer_never_passed() -> None:
    reason = _skips("success_answer_matches_contract", RECOMMENDED, _answer(RECOMMENDED, 500, {}))
    assert reason == "the call was answered 500, see accepted_call_is_answered_2xx"


# -- stored for its contact and day --------------------------------------------------------------


def test_an_accepted_call_is_stored_when_its_day_is_on_its_contacts_timeline() -> None:
    contact = str(RECOMMENDED.expect.contact)
    probe = _Probe({contact: [_entry(RECOMMENDED)]})
    answer = _answer(RECOMMENDED, 200, _success(RECOMMENDED))
    _judge("accepted_call_is_stored", RECOMMENDED, answer, probe=probe)


def test_a_2xx_that_stores_nothing_fails_as_lost() -> None:
    answer = _answer(RECOMMENDED, 200, _success(RECOMMENDED))
    failure = _fails("accepted_call_is_stored", RECOMMENDED, answer, probe=_Probe())
    assert failure.clause is None and "nothing is there" in failure.expected  # B.12
    assert "then read back" in failure.sent and "HTTP 404" in failure.received


def test_a_call_stored_for_another_contact_or_day_names_the_rule_it_broke() -> None:
    contact = str(RECOMMENDED.expect.contact)
    other_contact = _answer(RECOMMENDED, 200, _success(RECOMMENDED, contact="Peter@Example.com"))
    failure = _fails("accepted_call_is_stored", RECOMMENDED, other_contact, probe=_Probe())
    assert failure.clause == "B.3" and "'Peter@Example.com'" in failure.expected
    wrong_day = _Probe({contact: [_entry(RECOMMENDED, day="2020-06-01")]})
    answer = _answer(RECOMMENDED, 200, _success(RECOMMENDED))
    failure = _fails("accepted_call_is_stored", RECOMMENDED, answer, probe=wrong_day)
    assert failure.clause == "B.7" and "2020-06-01" in failure.expected


def test_read_back_checks_are_skipped_without_a_probe_never_passed() -> None:
    answer = _answer(RECOMMENDED, 200, _success(RECOMMENDED))
    for check_id in ("accepted_call_is_stored", "description_follows_precedence"):
        assert "no probe" in _skips(check_id, RECOMMENDED, answer)
    exchanges = [_answer(step, 200, _success(step)) for step in RETRY.steps]
    assert "no probe" in _skips("one_entry_per_contact_per_day", RETRY, *exchanges)


# -- rejection -----------------------------------------------------------------------------------


def test_a_malformed_call_refused_with_the_contracts_status_passes() -> None:
    answer = _answer(MISSING_EMAIL, 400, _error_body("traits.email"))
    for check_id in (
        "invalid_call_is_not_accepted",
        "client_mistake_is_not_retried",
        "rejection_status_matches_contract",
        "error_body_has_message",
        "error_names_the_field",
    ):
        _judge(check_id, MISSING_EMAIL, answer)


def test_a_malformed_call_answered_2xx_fails_with_the_clause_of_its_fault() -> None:
    failure = _fails("invalid_call_is_not_accepted", MISSING_EMAIL, _answer(MISSING_EMAIL, 200, {}))
    assert "stored or silently lost" in failure.expected and failure.clause == "B.3"
    no_zone = _scenario(identify(PETER, timestamp="2020-05-31T17:55:47"), name="malformed/no-zone")
    failure = _fails("invalid_call_is_not_accepted", no_zone, _answer(no_zone, 201, {}))
    assert failure.clause == "B.4"


@pytest.mark.parametrize("status", [500, 503, 429, 408], ids=lambda status: f"http-{status}")
def test_a_client_mistake_answered_with_a_retried_status_fails(status: int) -> None:
    for scenario in (MISSING_EMAIL, WRONG_KEY, CONTEXT_LIST):
        failure = _fails("client_mistake_is_not_retried", scenario, _answer(scenario, status, {}))
        assert "four hours" in failure.expected
        assert failure.clause == ("B.13" if status >= 500 else "A.3")


def test_a_different_4xx_passes_the_musts_and_warns_on_the_exact_status() -> None:
    answer = _answer(MISSING_EMAIL, 422, _error_body("traits.email"))
    _judge("invalid_call_is_not_accepted", MISSING_EMAIL, answer)
    _judge("client_mistake_is_not_retried", MISSING_EMAIL, answer)
    failure = _fails("rejection_status_matches_contract", MISSING_EMAIL, answer)
    assert failure.expected.startswith("HTTP 400 for")


def test_a_missing_type_may_be_answered_400_or_501() -> None:
    for status in (400, 501):
        answer = _answer(MISSING_TYPE, status, _error_body("type"))
        _judge("rejection_status_matches_contract", MISSING_TYPE, answer)
        _judge("error_names_the_field", MISSING_TYPE, answer)
    failure = _fails(
        "rejection_status_matches_contract", MISSING_TYPE, _answer(MISSING_TYPE, 404, {})
    )
    assert "HTTP 400 or HTTP 501" in failure.expected


def test_an_optional_field_of_the_wrong_type_may_be_ignored() -> None:
    accepted = _answer(CONTEXT_LIST, 200, {"outcome": "created"})
    for check_id in ("client_mistake_is_not_retried", "rejection_status_matches_contract"):
        _judge(check_id, CONTEXT_LIST, accepted)
    refused = _answer(CONTEXT_LIST, 400, _error_body("context"))
    _judge("error_names_the_field", CONTEXT_LIST, refused)
    # Ignoring a wrong-typed traits leaves no email: refusing it naming an email place is right.
    email = _answer(TRAITS_TEXT, 400, _error_body("email"))
    _judge("error_names_the_field", TRAITS_TEXT, email)
    _fails("invalid_call_is_not_accepted", TRAITS_TEXT, _answer(TRAITS_TEXT, 200, {}))


def test_a_missing_email_may_be_named_at_any_of_its_places_an_invalid_one_only_where_it_is() -> (
    None
):
    for field in ("traits.email", "context.traits.email", "email"):
        _judge(
            "error_names_the_field", MISSING_EMAIL, _answer(MISSING_EMAIL, 400, _error_body(field))
        )
    failure = _fails(
        "error_names_the_field", BAD_EMAIL, _answer(BAD_EMAIL, 400, _error_body("email"))
    )
    assert "'traits.email'" in failure.expected and failure.clause == "B.3"


def test_an_error_without_a_message_or_a_well_formed_errors_list_warns() -> None:
    bare = _answer(MISSING_EMAIL, 400, b"Bad Request")
    failure = _fails("error_body_has_message", MISSING_EMAIL, bare)
    assert "message" in failure.expected and failure.clause == "B.13"
    loose = _answer(MISSING_EMAIL, 400, {"message": "x", "errors": ["traits.email is missing"]})
    assert "objects" in _fails("error_names_the_field", MISSING_EMAIL, loose).expected


def test_error_checks_skip_a_call_answered_2xx() -> None:
    reason = _skips("error_body_has_message", MISSING_EMAIL, _answer(MISSING_EMAIL, 200, {}))
    assert (
        reason
        == "the call was answered 200, no error body to judge (see invalid_call_is_not_accepted)"
    )


def test_segment_retries_the_statuses_its_docs_name() -> None:
    assert [s for s in (400, 401, 403, 404, 408, 413, 415, 423, 429) if segment_retries(s)] == [
        408,
        423,
        429,
    ]
    assert segment_retries(500) and segment_retries(503) and not segment_retries(501)


def test_another_type_should_get_501_from_a_destination_that_accepts_identify() -> None:
    assert REGISTRY["other_type_is_answered_501"].level == "SHOULD"
    _judge("other_type_is_answered_501", TRACK, _answer(TRACK, 501, {"message": "x"}))
    failure = _fails("other_type_is_answered_501", TRACK, _answer(TRACK, 400, {}))
    assert "501" in failure.expected
    failure = _fails("invalid_call_is_not_accepted", TRACK, _answer(TRACK, 200, {}))
    assert failure.clause == "B.5"
    reason = _skips(
        "other_type_is_answered_501", TRACK, _answer(TRACK, 501, {}), accepts_identify=False
    )
    assert "did not accept the documented identify call" in reason


# -- auth and latency ----------------------------------------------------------------------------


def test_a_wrong_key_must_never_be_let_in() -> None:
    _judge("unauthenticated_call_is_refused", WRONG_KEY, _answer(WRONG_KEY, 401, {}))
    _judge("unauthenticated_call_is_refused", WRONG_KEY, _answer(WRONG_KEY, 403, {}))
    failure = _fails("unauthenticated_call_is_refused", WRONG_KEY, _answer(WRONG_KEY, 200, {}))
    assert "wrong API key" in failure.expected and failure.clause is None  # B.2
    assert "-u not-the-api-key:" in failure.sent
    status = _fails("rejection_status_matches_contract", WRONG_KEY, _answer(WRONG_KEY, 403, {}))
    assert status.expected.startswith("HTTP 401") and status.clause == "B.2"


def test_a_wrong_key_refused_but_stored_fails_when_the_state_can_be_read() -> None:
    refused = _answer(WRONG_KEY, 401, _error_body("Authorization"))
    _judge("unauthenticated_call_is_refused", WRONG_KEY, refused, probe=_Probe())
    stored = _Probe({"a@example.com": [{"day": "2020-05-31", "description": "x"}]})
    failure = _fails("unauthenticated_call_is_refused", WRONG_KEY, refused, probe=stored)
    assert "was refused, yet stored" in failure.expected and "then read back" in failure.sent


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
    reason = _skips("accepted_call_is_answered_2xx", RECOMMENDED, silent)
    assert "got no answer" in reason and "see answered_within_segment_timeout" in reason


# -- description ---------------------------------------------------------------------------------


def test_the_description_follows_precedence_and_an_unusable_url_is_skipped() -> None:
    contact = str(RELATIVE_URL.expect.contact)
    assert RELATIVE_URL.expect.description == "Logged In"
    answer = _answer(RELATIVE_URL, 200, _success(RELATIVE_URL))
    _judge(
        "description_follows_precedence",
        RELATIVE_URL,
        answer,
        probe=_Probe({contact: [_entry(RELATIVE_URL)]}),
    )
    wrong = _Probe({contact: [_entry(RELATIVE_URL, description="/pricing")]})
    failure = _fails("description_follows_precedence", RELATIVE_URL, answer, probe=wrong)
    assert "'Logged In'" in failure.expected and failure.clause == "B.6"
    reason = _skips("description_follows_precedence", RELATIVE_URL, answer, probe=_Probe())
    assert reason.endswith("see accepted_call_is_stored")


def test_warnings_may_be_objects_or_texts_that_name_the_field() -> None:
    for warnings in ([{"field": "page.url", "code": "x"}], ["page.url ignored: not a URL"]):
        answer = _answer(RELATIVE_URL, 200, _success(RELATIVE_URL, warnings=warnings))
        _judge("ignored_url_is_reported_as_warning", RELATIVE_URL, answer)
    answer = _answer(RELATIVE_URL, 200, _success(RELATIVE_URL, warnings=["something"]))
    assert "page.url" in _fails("ignored_url_is_reported_as_warning", RELATIVE_URL, answer).expected


# -- sequences -----------------------------------------------------------------------------------


def _sequence(payloads: list[dict[str, Any]], *, name: str = "sequence/retry") -> Sequence:
    requests = [Request(payload) for payload in payloads]
    expects, final = expect_sequence(requests)
    steps = tuple(
        Scenario(f"{name}/{index}", "sequence", request, expect)
        for index, (request, expect) in enumerate(zip(requests, expects, strict=True))
    )
    return Sequence(name, steps, final)


def _flat(**extra: Any) -> dict[str, Any]:
    return {"type": "identify", "timestamp": TS, "email": "ann@example.com", **extra}


RETRY = _sequence(
    [
        _flat(messageId="m-1", traits={"plan": "basic"}),
        _flat(messageId="m-1", traits={"plan": "pro"}, timestamp="2020-06-02T08:00:00Z"),
    ]
)
SAME_DAY = _sequence(
    [_flat(url="https://a.example/first"), _flat(url="https://a.example/later")],
    name="sequence/same-day",
)


def _answers(sequence: Sequence, *statuses: int) -> list[Exchange]:
    return [
        _answer(step, status, _success(step, entry_id=7))
        for step, status in zip(sequence.steps, statuses, strict=True)
    ]


def test_a_retry_that_changes_nothing_passes_the_must() -> None:
    probe = _Probe(
        {"ann@example.com": [{"day": "2020-05-31"}]}, {"ann@example.com": {"plan": "basic"}}
    )
    _judge("retried_message_id_is_replayed", RETRY, *_answers(RETRY, 200, 200), probe=probe)


def test_a_retry_that_adds_an_entry_or_changes_a_property_fails() -> None:
    two_days = _Probe({"ann@example.com": [{"day": "2020-05-31"}, {"day": "2020-06-02"}]})
    failure = _fails(
        "retried_message_id_is_replayed", RETRY, *_answers(RETRY, 200, 200), probe=two_days
    )
    assert "add no entry" in failure.expected
    changed = _Probe(
        {"ann@example.com": [{"day": "2020-05-31"}]}, {"ann@example.com": {"plan": "pro"}}
    )
    failure = _fails(
        "retried_message_id_is_replayed", RETRY, *_answers(RETRY, 200, 200), probe=changed
    )
    assert "plan='basic', not 'pro'" in failure.expected


def test_a_retry_whose_first_call_failed_is_not_judged() -> None:
    reason = _skips(
        "retried_message_id_is_replayed", RETRY, *_answers(RETRY, 501, 501), probe=_Probe()
    )
    assert reason.startswith("the call sequence/retry/0 was answered 501")
    reason = _skips("retry_gets_the_first_answer", RETRY, *_answers(RETRY, 501, 501))
    assert "see accepted_call_is_answered_2xx" in reason


def test_a_retry_should_get_the_first_answer_marked_replayed() -> None:
    first = _success(RETRY.steps[0], entry_id=7)
    _judge(
        "retry_gets_the_first_answer",
        RETRY,
        _answer(RETRY.steps[0], 200, first),
        _answer(RETRY.steps[1], 200, {**first, "replayed": True, "extra": 1}),
    )
    failure = _fails(
        "retry_gets_the_first_answer",
        RETRY,
        _answer(RETRY.steps[0], 200, first),
        _answer(RETRY.steps[1], 200, {**first, "outcome": "deduplicated", "replayed": True}),
    )
    assert "outcome differ" in failure.expected
    assert failure.sent.count("curl ") == 2 and "first:" in failure.received
    unmarked = _fails(
        "retry_gets_the_first_answer",
        RETRY,
        _answer(RETRY.steps[0], 200, first),
        _answer(RETRY.steps[1], 200, first),
    )
    assert '"replayed": true' in unmarked.expected


def test_the_first_call_of_the_day_keeps_its_description() -> None:
    exchanges = _answers(SAME_DAY, 200, 200)
    kept = _Probe(
        {"ann@example.com": [{"day": "2020-05-31", "description": "https://a.example/first"}]}
    )
    _judge("description_follows_precedence", SAME_DAY, *exchanges, probe=kept)
    overwritten = _Probe(
        {"ann@example.com": [{"day": "2020-05-31", "description": "https://a.example/later"}]}
    )
    failure = _fails("description_follows_precedence", SAME_DAY, *exchanges, probe=overwritten)
    assert failure.clause == "B.7" and "sequence/same-day/1" in failure.expected


def test_answers_after_a_call_that_went_wrong_are_not_judged() -> None:
    # The day's first call failed, so the second one rightly made the entry: no false warning.
    first, second = SAME_DAY.steps
    exchanges = [
        _answer(first, 500, {"message": "boom"}),
        _answer(second, 200, _success(second, outcome="created")),
    ]
    reason = _skips("success_answer_matches_contract", SAME_DAY, *exchanges)
    assert reason.startswith("the call sequence/same-day/0 was answered 500")
    assert "and 1 more calls" in reason


def test_one_read_back_serves_every_check_of_a_subject() -> None:
    contact = str(RECOMMENDED.expect.contact)
    probe = _Probe({contact: [_entry(RECOMMENDED)]})
    observation = _observe(
        RECOMMENDED, _answer(RECOMMENDED, 200, _success(RECOMMENDED)), probe=probe
    )
    REGISTRY["accepted_call_is_stored"].verify(observation)
    REGISTRY["description_follows_precedence"].verify(observation)
    assert probe.reads == 1
