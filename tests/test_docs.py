"""The generated formats page: up to date, deterministic, and every example on it holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner, Result

import harness.docs
from harness.cli import app
from harness.docs import DOCUMENTED_FORMATS, ExampleInvalid, render_formats_page
from harness.errors import UsageError
from reference_impl.rules import Accepted, evaluate
from scenarios import catalogue
from schemas import ACCEPTED, load_schema, schema_registry

PAGE = Path(__file__).resolve().parent.parent / "docs" / "formats.md"
_JSON_BLOCK = re.compile(r"^ *```json\n(.*?)^ *```", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def page() -> str:
    return render_formats_page()


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        load_schema(name),
        registry=schema_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def test_the_checked_in_page_is_a_fresh_render(page: str) -> None:
    assert PAGE.read_text(encoding="utf-8") == page, (
        "docs/formats.md is out of date: run `nat-harness docs --out docs/formats.md`"
    )


def test_rendering_is_deterministic(page: str) -> None:
    assert render_formats_page() == page


def test_every_json_block_is_an_accepted_call_or_a_response_body(page: str) -> None:
    blocks = [orjson.loads(block) for block in _JSON_BLOCK.findall(page)]
    calls = [block for block in blocks if "type" in block]
    bodies = [block for block in blocks if "type" not in block]
    assert len(calls) >= sum(len(load_schema(name)["examples"]) for name in DOCUMENTED_FORMATS)
    for call in calls:
        assert _validator(ACCEPTED).is_valid(call), call
        assert isinstance(evaluate(call), Accepted), call
    assert len(bodies) >= 5
    for body in bodies:
        assert _validator("nat-response").is_valid(body), body


def test_the_page_describes_every_format_with_its_required_fields(page: str) -> None:
    for name in DOCUMENTED_FORMATS:
        schema = load_schema(name)
        assert f"## {schema['title']}" in page
        for field in schema["required"]:
            assert f"| `{field}` | yes |" in page


def test_the_page_lists_every_catalogue_scenario_with_its_status(page: str) -> None:
    for scenario in catalogue(0):
        row = next(line for line in page.splitlines() if line.startswith(f"| `{scenario.id}` |"))
        assert str(scenario.expect.status) in row.rsplit("|", 2)[1]


def test_the_page_says_what_the_original_doc_gets_wrong(page: str) -> None:
    errata = page.split("## What the original doc gets wrong", 1)[1]
    assert "Example 2 is not valid JSON" in errata
    assert "trailing comma is not allowed" in errata  # the parser's own words, computed
    assert "`page.url`" in errata and "`context.page.url`" in errata
    assert "in UTC" in errata and "is on 2020-06-01" in errata


def test_the_page_shows_status_codes_and_error_bodies(page: str) -> None:
    for status in ("200", "400", "401", "413", "415", "501"):
        assert f"| {status} |" in page
    assert '"message": "Missing email address' in page


def test_an_example_that_does_not_validate_stops_the_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_load = harness.docs.load_schema

    def with_a_broken_example(name: str) -> dict[str, Any]:
        schema = real_load(name)
        if name == "nat-alternative-email":
            schema["examples"] = [{"type": "identify", "email": "test@example.com"}]
        return schema

    monkeypatch.setattr(harness.docs, "load_schema", with_a_broken_example)
    with pytest.raises(ExampleInvalid, match=r"nat-alternative-email example 1.*timestamp"):
        render_formats_page()


# --- the command ---------------------------------------------------------------------------------


def run_cli(*args: str) -> Result:
    """`nat-harness docs ARGS` in process (a fresh interpreter per call costs seconds here)."""
    return CliRunner().invoke(app, ["docs", *args])


def test_cli_writes_the_page_and_check_passes_then_fails_once_it_changes(
    tmp_path: Path, page: str
) -> None:
    out = tmp_path / "docs" / "formats.md"
    assert run_cli("--out", str(out)).exit_code == 0
    assert out.read_text(encoding="utf-8") == page
    assert run_cli("--out", str(out), "--check").exit_code == 0

    out.write_text(page.replace("| 501 |", "| 502 |"), encoding="utf-8")
    stale = run_cli("--out", str(out), "--check")
    assert stale.exit_code == 1
    assert "out of date" in stale.stderr and "+| 501 |" in stale.stderr
    assert "| 502 |" in out.read_text(encoding="utf-8")  # --check writes nothing


def test_cli_prints_the_page_without_out(page: str) -> None:
    result = run_cli()
    assert result.exit_code == 0
    assert result.stdout == page


def test_cli_check_without_out_is_a_usage_error() -> None:
    result = run_cli("--check")
    assert isinstance(result.exception, UsageError)
    assert "--out" in str(result.exception)


def test_cli_help_has_an_example() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "nat-harness docs --out docs/formats.md" in result.stdout
