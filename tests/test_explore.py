"""`explore`: it finds a representative set of defects within a bounded budget, shrinks each to a
few steps, and finds nothing against the reference and the independent destination."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.explore import ExploreResult, explore
from harness.recording import read_recording
from harness.target import Destination, ReadBack
from reference_impl import Store, create_app, running_server
from tests.broken_destinations import Defect, broken_destination
from tests.helpers import run_nat_harness

API_KEY = "explore-key"
#: The budget every defect below must be found within, and the most steps its minimal sequence
#: may have once shrunk.
MAX_EXAMPLES = 200
MAX_SHRUNK_STEPS = 4
#: The latency budget of these runs: generous, so a busy machine never makes a slow answer.
TIMEOUT_S = 3.0

#: Defects of different kinds: a refused call accepted, an accepted variant refused, the wrong
#: contact or day, the wrong description, the daily entry, retries, properties, auth, a race.
FOUND = (
    Defect.ACCEPTS_INVALID,
    Defect.MISSING_EMAIL_500,
    Defect.TIMESTAMP_WITHOUT_ZONE_ACCEPTED,
    Defect.TYPE_CASE_SENSITIVE,
    Defect.OFFSET_OVER_12_REFUSED,
    Defect.FRACTION_LIMITED,
    Defect.NULL_EMAIL_INVALID,
    Defect.FLAT_EMAIL_FIRST,
    Defect.CASE_SENSITIVE_EMAIL,
    Defect.OFFSET_SIGN_INVERTED,
    Defect.LOCAL_DAY,
    Defect.EVENT_FIRST,
    Defect.URL_BEFORE_CONTEXT_URL,
    Defect.URL_NOT_VALIDATED,
    Defect.LAST_DESCRIPTION_KEPT,
    Defect.NO_DEDUPLICATION,
    Defect.CHECK_THEN_INSERT_RACE,
    Defect.REPLAY_ADDS_ENTRY,
    Defect.REPLAY_CHANGES_PROPERTIES,
    Defect.FALSE_DROPPED,
    Defect.LATEST_ARRIVAL_WINS,
    Defect.REFUSED_YET_STORED,
    Defect.AUTH_NOT_CHECKED,
    Defect.ANY_BEARER_ACCEPTED,
    Defect.STORES_NOTHING,
    Defect.NO_TRIM,
    Defect.OFFSET_REFUSED,
    Defect.DEDUPLICATED_TRAITS_DROPPED,
)


def _explore(url: str, *, seed: int = 1, max_examples: int = MAX_EXAMPLES) -> ExploreResult:
    with Destination(url + "/segment", API_KEY, timeout=TIMEOUT_S) as destination:
        read_back = ReadBack(destination, url, wait=0.0)
        return explore(destination, read_back, max_examples=max_examples, steps=8, seed=seed)


@pytest.mark.parametrize("defect", FOUND, ids=lambda defect: defect.value)
def test_explore_finds_the_defect_and_shrinks_it_to_a_few_steps(defect: Defect) -> None:
    with running_server(broken_destination(defect, API_KEY)) as url:
        result = _explore(url)
    assert result.divergence is not None, f"{defect.value} not found in {result.examples} examples"
    assert 1 <= len(result.steps) <= MAX_SHRUNK_STEPS, [step.label for step in result.steps]
    assert result.divergence.step == len(result.steps)  # the last step is the one that diverged
    assert result.divergence.clause.startswith(("A.", "B.", "C"))


def test_explore_finds_nothing_against_the_independent_destination() -> None:
    with running_server(broken_destination(Defect.NONE, API_KEY)) as url:
        result = _explore(url, max_examples=60)
    assert result.divergence is None, str(result.divergence)
    assert result.examples >= 60 and result.steps_sent > 60


def test_explore_finds_nothing_against_the_reference(tmp_path: Path) -> None:
    store = Store(tmp_path / "nat.db")
    try:
        with running_server(create_app(store, API_KEY)) as url:
            result = _explore(url, seed=2, max_examples=60)
    finally:
        store.close()
    assert result.divergence is None, str(result.divergence)


def test_the_same_seed_explores_the_same_sequences() -> None:
    with running_server(broken_destination(Defect.LOCAL_DAY, API_KEY)) as url:
        first = _explore(url, seed=5)
        second = _explore(url, seed=5)
    assert [s.label for s in first.steps] == [s.label for s in second.steps]
    assert first.examples == second.examples


# -- the command --------------------------------------------------------------------------------


def _nat_harness(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    return run_nat_harness(monkeypatch, capsys, *args)


@pytest.fixture
def local_day_url() -> Iterator[str]:
    with running_server(broken_destination(Defect.LOCAL_DAY, API_KEY)) as url:
        yield url


def test_a_divergence_exits_1_prints_curl_lines_and_saves_a_recording(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    local_day_url: str,
) -> None:
    saved = tmp_path / "failure.jsonl"
    code, out, _ = _nat_harness(
        monkeypatch, capsys, "explore", "--target", local_day_url, "--api-key", API_KEY,
        "--seed", "1", "--max-examples", "200", "--save", str(saved),
    )  # fmt: skip
    assert code == 1, out
    assert "divergence from the contract (B.7)" in out
    assert "  1. curl -sS -i " in out and '-u "$NAT_API_KEY:"' in out
    assert "target:" in out and "contract:" in out
    assert API_KEY not in saved.read_text()
    recording = read_recording(saved)
    assert recording.exchanges and all(e.sent.path == "/segment" for e in recording.exchanges)


def test_nothing_found_exits_0_against_the_embedded_reference(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = _nat_harness(
        monkeypatch, capsys, "explore", "--max-examples", "10", "--steps", "4", "--seed", "3"
    )
    assert code == 0, out
    assert "nothing found" in out and "seed 3" in out
    assert list(tmp_path.iterdir()) == []  # no Hypothesis database, no recording


def test_a_target_that_is_no_nat_destination_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_server(broken_destination(Defect.NONE, API_KEY)) as url:
        code, _, err = _nat_harness(
            monkeypatch, capsys, "explore", "--target", url, "--api-key", "wrong-key"
        )
    assert code == 2
    assert "refused the key" in err
