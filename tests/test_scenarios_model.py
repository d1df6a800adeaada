"""The shared records: frozen dataclasses whose constructors, views and copies act as declared."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from typing import Any

import orjson
import pytest

from scenarios import Expect, Request, Scenario

RECORDS = (Request, Expect, Scenario)

EXPECTS = {
    "created": Expect(
        200,
        "created",
        contact="ann@example.com",
        day="2026-03-01",
        description="https://example.com/pricing",
        description_source="page.url",
        warning_fields=("context.page.url",),
    ),
    "replayed-empty-description": Expect(
        200, "deduplicated", "ann@example.com", "2026-03-01", "", "event", replayed=True
    ),
    "rejected": Expect(400, "rejected", error_field="traits.email"),
    "unauthorised": Expect(status=401, outcome="rejected", error_field="Authorization"),
}


def _example(record: type) -> Any:
    request = Request({"type": "identify"}, auth="bearer")
    if record is Request:
        return request
    if record is Expect:
        return EXPECTS["created"]
    return Scenario("recommended/with-page-url#3", "recommended", request, EXPECTS["rejected"])


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.__name__)
def test_the_constructor_takes_the_fields_in_order_with_their_defaults(record: type) -> None:
    parameters = list(inspect.signature(record).parameters.values())
    fields = dataclasses.fields(record)
    assert [parameter.name for parameter in parameters] == [field.name for field in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        expected = (
            inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        )
        assert parameter.default == expected, field.name
        assert parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.__name__)
def test_every_field_is_set_from_its_argument(record: type) -> None:
    example = _example(record)
    values = {field.name: object() for field in dataclasses.fields(record)}
    built = record(**values)
    assert {name: getattr(built, name) for name in values} == values
    assert built == record(*values.values())
    assert built != example


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.__name__)
def test_records_are_frozen(record: type) -> None:
    example = _example(record)
    for field in dataclasses.fields(record):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(example, field.name, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(example, field.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.unknown = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("record", RECORDS, ids=lambda record: record.__name__)
def test_replace_and_pickle_give_equal_new_records(record: type) -> None:
    example = _example(record)
    first = dataclasses.fields(record)[0].name
    changed = dataclasses.replace(example, **{first: "other"})
    assert getattr(changed, first) == "other"
    assert changed != example
    assert dataclasses.replace(changed, **{first: getattr(example, first)}) == example
    assert pickle.loads(pickle.dumps(example)) == example
    assert repr(example).startswith(f"{record.__name__}(")


def test_defaults_are_the_declared_ones() -> None:
    assert Request() == Request(None, None, "application/json", "basic")
    expect = Expect(200, "created")
    assert (expect.contact, expect.replayed, expect.warning_fields) == (None, False, ())
    assert Scenario("a/b#1", "a", Request(), expect).summary == ""


@pytest.mark.parametrize("name", EXPECTS)
def test_expect_view_leaves_out_only_what_is_unset(name: str) -> None:
    expect = EXPECTS[name]
    view = expect.to_dict()
    # Every field in declaration order, less None values and an empty warning list.
    full = {field.name: getattr(expect, field.name) for field in dataclasses.fields(expect)}
    full["warning_fields"] = list(expect.warning_fields)
    assert list(view.items()) == [
        (key, value) for key, value in full.items() if value is not None and value != []
    ]
    assert view["replayed"] is expect.replayed


def test_scenario_view_is_the_generator_record() -> None:
    request = Request(None, b"\xff{not json", "text/plain", "wrong")
    scenario = Scenario("malformed/not-json#9", "malformed", request, EXPECTS["rejected"], "cut")
    assert scenario.to_dict() == {
        "scenario": {
            "id": "malformed/not-json#9",
            "family": "malformed",
            "summary": "cut",
            "content_type": "text/plain",
            "auth": "wrong",
            "raw_body": "\\xff{not json",
        },
        "expect": {
            "status": 400,
            "outcome": "rejected",
            "replayed": False,
            "error_field": "traits.email",
        },
        "payload": None,
    }


ENCODED_BODY = orjson.dumps(
    {"type": "identify", "traits": {"email": "ann@example.com"}, "timestamp": "2026-03-01T10:00Z"}
)


def test_an_encoded_request_sends_its_bytes_and_reads_as_their_payload() -> None:
    encoded = Request.encoded(ENCODED_BODY, auth="bearer")
    assert encoded.body() is ENCODED_BODY
    assert encoded == Request(orjson.loads(ENCODED_BODY), auth="bearer")
    assert encoded.payload["traits"]["email"] == "ann@example.com"
    assert encoded.body() == ENCODED_BODY


def test_a_change_to_an_encoded_requests_payload_is_sent() -> None:
    encoded = Request.encoded(ENCODED_BODY)
    encoded.payload["traits"]["email"] = "bob@example.com"
    assert orjson.loads(encoded.body())["traits"]["email"] == "bob@example.com"


def test_an_encoded_request_pickles_and_replaces_as_its_payload() -> None:
    encoded = Request.encoded(ENCODED_BODY, content_type="text/plain")
    copied = pickle.loads(pickle.dumps(encoded))
    assert copied.body() == ENCODED_BODY
    assert copied == Request(orjson.loads(ENCODED_BODY), content_type="text/plain")
    assert dataclasses.replace(encoded, auth="none").payload == orjson.loads(ENCODED_BODY)


@pytest.mark.parametrize(
    "request_",
    [
        Request.encoded(ENCODED_BODY),
        Request(orjson.loads(ENCODED_BODY)),
        Request(None, b"\xff{not json", "text/plain", "wrong"),
    ],
    ids=["encoded", "decoded", "raw"],
)
def test_the_record_as_bytes_is_the_record_dumped(request_: Request) -> None:
    scenario = Scenario("recommended/with-page-url#1", "recommended", request_, EXPECTS["created"])
    assert scenario.to_json() == orjson.dumps(scenario.to_dict())
