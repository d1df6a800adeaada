"""The contract's clauses as the package carries them: the same ids and titles as CONTRACT.md's
headings, and every check citing only clauses that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.checks import default_registry
from harness.clauses import CLAUSES, clause_of_field, clause_title, require_clause

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "CONTRACT.md"
_SECTION = re.compile(r"^## (?P<letter>[A-Z])\. ")
_ITEM = re.compile(r"^(?P<number>\d+)\. (?P<text>.*)")


def _headings(text: str) -> dict[str, str]:
    """Clause id -> title from CONTRACT.md: a B item's bold lead, an A item's opening words."""
    found: dict[str, str] = {}
    letter = ""
    for line in text.splitlines():
        section = _SECTION.match(line)
        if section:
            letter = section["letter"]
            continue
        item = _ITEM.match(line)
        if not (item and letter in ("A", "B")):
            continue
        body = item["text"]
        bold = re.match(r"\*\*(.+?)\*\*", body)
        title = bold[1].rstrip(".") if bold else re.split(r" \(|:|\.", body, maxsplit=1)[0]
        found[f"{letter}.{item['number']}"] = title
    return found


@pytest.mark.skipif(not CONTRACT.is_file(), reason=f"no CONTRACT.md at {CONTRACT}")
def test_the_clauses_are_the_contracts_headings() -> None:
    assert _headings(CONTRACT.read_text(encoding="utf-8")) == CLAUSES


def test_headings_are_read_from_both_kinds_of_item() -> None:
    text = (
        "## A. Facts\n1. Retries (`src/x.md`): timeouts\n2. Delivery is at least once. More\n"
        "## B. Decisions\n7. **One entry per contact per day.** The day\n"
        "13. **Every answer is JSON**, redirects\n## C. How\n1. not a clause\n"
    )
    assert _headings(text) == {
        "A.1": "Retries",
        "A.2": "Delivery is at least once",
        "B.7": "One entry per contact per day",
        "B.13": "Every answer is JSON",
    }


def test_every_check_cites_known_clauses_and_every_b_clause_of_the_http_contract_is_judged() -> (
    None
):
    cited = {clause for item in default_registry().values() for clause in item.clauses}
    assert cited <= set(CLAUSES)
    # The decisions about what a destination answers are each judged by some check.
    assert {f"B.{number}" for number in (2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13)} <= cited


def test_unknown_clauses_are_refused_and_fields_map_to_their_clause() -> None:
    assert require_clause(["B.7"]) == ("B.7",)
    with pytest.raises(ValueError, match=r"B\.99 unknown"):
        require_clause(["B.99"])
    with pytest.raises(ValueError, match="clauses must be ids"):
        require_clause([])
    assert clause_title("B.7") == "B.7 (One entry per contact per day)"
    assert [clause_of_field(field) for field in ("email", "timestamp", "type", "page.url")] == [
        "B.3",
        "B.4",
        "B.5",
        "B.6",
    ]
    assert clause_of_field("Authorization") == clause_of_field("apiKey") == "B.2"
    assert clause_of_field("nickname") is None and clause_of_field(None) is None
