"""The nat-harness pytest plugin: the Nat contract as pytest items, and Nat fixtures for tests.

`pytest --nat-target URL --nat-api-key KEY` adds one item per (scenario, check) of the contract,
with ids like `nat::recommended/with-page-url::accepted_call_is_answered_2xx`, judged by the
harness runner. Without `--nat-target` nothing is added. Fixtures: `nat_simulator` (a started
`NatSimulator`), `nat_scenarios` (the scenario catalogue for `--nat-seed`) and `nat_replay`
(replays a recording as a test).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.checks import Check, Subject
    from harness.config import RunConfig
    from harness.nat_simulator import NatSimulator
    from harness.replay import ReplayResult
    from harness.runner import CheckResult, Event, PlannedSubject
    from scenarios.model import Scenario

__all__ = ["DEFAULT_SEED", "NatCheckItem", "NatContract", "NatSubject"]

#: The scenario seed when `--nat-seed` is not given: fixed, so runs repeat.
DEFAULT_SEED = 0
#: The node id of the collector that holds the contract's items.
_ROOT = "nat"

_RUN_CONFIG = pytest.StashKey["RunConfig | None"]()


# -- options -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nat", "Nat destination contract (nat-harness)")
    group.addoption(
        "--nat-target",
        metavar="URL",
        default=None,
        help="Run the Nat contract against this destination (the URL Segment POSTs to; a bare "
        "origin means <origin>/segment). Without it no contract items are collected.",
    )
    group.addoption(
        "--nat-api-key",
        metavar="KEY",
        default=None,
        help="The destination's API key (default: $NAT_API_KEY).",
    )
    group.addoption(
        "--nat-seed",
        metavar="N",
        type=int,
        default=DEFAULT_SEED,
        help=f"Seed of the generated scenarios (default: {DEFAULT_SEED}).",
    )
    group.addoption(
        "--nat-probe",
        metavar="MODE",
        default="reference",
        help="How the contract reads state back: 'reference' (the read API next to the "
        "target), 'none' (state checks are skipped), or the base URL of a read API.",
    )
    group.addoption(
        "--nat-timeout",
        metavar="S",
        type=float,
        default=None,
        help="Latency budget in seconds: a slower answer fails (default: Segment's 5).",
    )
    group.addoption(
        "--nat-strict",
        action="store_true",
        default=False,
        help="Fail on SHOULD checks too (by default an unmet SHOULD is reported as xfailed).",
    )
    group.addoption(
        "--nat-simulator-url",
        metavar="URL",
        default=None,
        help="Base URL of the nat_simulator fixture (default: the nat_simulator_url ini value).",
    )
    parser.addini(
        "nat_simulator_url",
        "Base URL the nat_simulator fixture answers at.",
        default="https://nat.example",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "nat: a check of the Nat destination contract")
    config.stash[_RUN_CONFIG] = _run_config(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    run_config = config.stash.get(_RUN_CONFIG, None)
    if run_config is None or run_config.target is None:
        return None
    from contract.endpoints import endpoint_of

    return (
        f"nat-harness: contract against {endpoint_of(run_config.target)} "
        f"(seed {run_config.seed}, probe {run_config.probe}"
        f"{', strict' if run_config.strict else ''})"
    )


def _run_config(config: pytest.Config) -> RunConfig | None:
    """The contract run the options ask for, or None without `--nat-target`."""
    target = config.getoption("nat_target")
    if target is None:
        return None
    api_key = config.getoption("nat_api_key") or os.environ.get("NAT_API_KEY")
    if not api_key:
        raise pytest.UsageError(
            "--nat-target needs the destination's API key: pass --nat-api-key KEY "
            "or set NAT_API_KEY"
        )
    from harness.config import RunConfig
    from harness.errors import SettingError, UsageError, option_words

    timeout = config.getoption("nat_timeout")
    try:
        return RunConfig(
            target=target,
            api_key=api_key,
            seed=config.getoption("nat_seed"),
            strict=config.getoption("nat_strict"),
            probe=config.getoption("nat_probe"),
            **({} if timeout is None else {"timeout": timeout}),
        )
    except (UsageError, SettingError) as error:
        words = option_words(error, prefix="--nat-")
        raise pytest.UsageError(f"nat-harness: {words} (pytest options are --nat-*)") from None


# -- contract items ----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Add the contract's collector next to the session's files when `--nat-target` is given."""
    report: pytest.CollectReport = yield
    if (
        isinstance(collector, pytest.Session)
        and report.passed
        and collector.config.stash.get(_RUN_CONFIG, None) is not None
    ):
        report.result.append(NatContract.from_parent(collector, name=_ROOT, nodeid=_ROOT))
    return report


class NatContract(pytest.Collector):
    """Every scenario and sequence of the contract, each with the checks that apply to it.

    Setting it up starts one harness run for the selected items; their results stream in as
    subjects are judged, and tearing it down stops the run.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        run_config = self.config.stash[_RUN_CONFIG]
        assert run_config is not None
        self.run_config: RunConfig = run_config
        self._run: _ContractRun | None = None

    def collect(self) -> Iterator[NatSubject]:
        from harness.checks import default_registry
        from harness.runner import load_subjects, plan

        seed = self.run_config.seed if self.run_config.seed is not None else DEFAULT_SEED
        for planned in plan(load_subjects(seed), default_registry()):
            yield NatSubject.from_parent(self, name=planned.subject.id, planned=planned)

    def setup(self) -> None:
        selected = [item for item in self.session.items if isinstance(item, NatCheckItem)]
        self._run = _ContractRun(self.run_config, selected)

    def teardown(self) -> None:
        if self._run is not None:
            self._run.close()
            self._run = None

    def result_for(self, item: NatCheckItem) -> CheckResult:
        assert self._run is not None, "the contract run starts when its first item is set up"
        return self._run.result_for(item.check.id, item.subject_id)


class NatSubject(pytest.Collector):
    """One scenario or sequence: its requests are sent once and judged by each of its checks."""

    def __init__(self, *, planned: PlannedSubject, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned

    def collect(self) -> Iterator[NatCheckItem]:
        for check in self.planned.checks:
            yield NatCheckItem.from_parent(self, name=check.id, check=check)


class NatCheckItem(pytest.Item):
    """One check of the contract on one subject; passes, fails, skips or xfails as it did."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        assert isinstance(self.parent, NatSubject)
        self.subject: Subject = self.parent.planned.subject
        self.subject_id = self.subject.id
        self.add_marker("nat")
        # `-k MUST`, `-k auth`: the level and family select items too.
        self.extra_keyword_matches.update((check.level, check.family))
        self.user_properties.append(("nat_level", check.level))

    def runtest(self) -> None:
        contract = self.getparent(NatContract)
        assert contract is not None
        result = contract.result_for(self)
        if result.outcome == "passed":
            return
        if result.outcome == "skipped":
            pytest.skip(f"{self.check.id} could not be judged: {result.reason}")
        if result.outcome == "warned" and not contract.run_config.strict:
            assert result.failure is not None
            pytest.xfail(f"SHOULD not met (fails with --nat-strict): {result.failure.expected}")
        raise NatCheckFailed(result, self.check.summary)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, NatCheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.nodeid


class NatCheckFailed(Exception):
    """A contract check did not hold (or crashed): shown as what was sent, received, expected."""

    def __init__(self, result: CheckResult, summary: str) -> None:
        from harness.clauses import CLAUSES

        clause = f", CONTRACT {result.clause} ({CLAUSES[result.clause]})" if result.clause else ""
        lines = [
            f"{result.check_id} ({result.level}, {result.family}{clause}) {result.outcome} "
            f"on {result.subject_id}",
            f"  {summary}",
        ]
        if result.failure is not None:
            lines += ["", "expected:", _indented(result.failure.expected)]
            lines += ["sent:", _indented(result.failure.sent)]
            lines += ["received:", _indented(result.failure.received)]
        if result.reason:
            lines += ["", result.reason]
        super().__init__("\n".join(lines))


def _indented(text: str) -> str:
    return "\n".join("    " + line for line in (text or "<nothing>").splitlines())


class _ContractRun:
    """One harness run over the selected items, read lazily: each item waits for its result."""

    def __init__(self, config: RunConfig, items: list[NatCheckItem]) -> None:
        from harness.checks import Registry
        from harness.runner import run

        subjects = {item.subject.id: item.subject for item in items}
        checks = {item.check.id: item.check for item in items}
        self._results: dict[tuple[str, str], CheckResult] = {}
        self._events: Iterator[Event] | None = run(
            config, subjects=list(subjects.values()), registry=Registry(checks.values())
        )

    def result_for(self, check_id: str, subject_id: str) -> CheckResult:
        from harness.errors import ReportedError
        from harness.runner import EXIT_TARGET, CheckResult, RunFinished

        key = (check_id, subject_id)
        while key not in self._results:
            if self._events is None:
                raise RuntimeError(f"the contract run ended without a result for {key}")
            try:
                event = next(self._events)
            except StopIteration:
                self._events = None
                continue
            except ReportedError as error:
                self.close()
                pytest.exit(f"nat-harness: {error}", returncode=error.exit_code)
            if isinstance(event, CheckResult):
                self._results[(event.check_id, event.subject_id)] = event
            elif isinstance(event, RunFinished) and event.summary.exit_code == EXIT_TARGET:
                self.close()  # the target stopped answering: the other items cannot be judged
                pytest.exit(f"nat-harness: {event.summary.note}", returncode=EXIT_TARGET)
        return self._results[key]

    def close(self) -> None:
        events, self._events = self._events, None
        if isinstance(events, Generator):
            events.close()  # stops the runner's workers and closes its connections


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def nat_simulator(request: pytest.FixtureRequest) -> Iterator[NatSimulator]:
    """A `NatSimulator` answering `requests` calls for this test (base URL from
    `--nat-simulator-url` or the `nat_simulator_url` ini value); unmatched requests are refused."""
    from harness.errors import UsageError
    from harness.nat_simulator import NatSimulator

    base_url = request.config.getoption("nat_simulator_url") or request.config.getini(
        "nat_simulator_url"
    )
    try:
        simulator = NatSimulator(base_url)
    except UsageError as error:
        pytest.fail(
            f"nat_simulator: {error} (set by --nat-simulator-url or nat_simulator_url)",
            pytrace=False,
        )
    with simulator:
        yield simulator
    simulator.close()


@pytest.fixture(scope="session")
def nat_scenarios(request: pytest.FixtureRequest) -> tuple[Scenario, ...]:
    """The contract's scenario catalogue for `--nat-seed` (fixed by default): requests with the
    outcome the contract expects for each."""
    import scenarios

    return tuple(scenarios.catalogue(seed=request.config.getoption("nat_seed")))


@pytest.fixture
def nat_replay(request: pytest.FixtureRequest) -> Callable[..., ReplayResult]:
    """Replay a recording as a test: `nat_replay("failure.jsonl")` re-sends it to `--nat-target`
    (or a fresh embedded reference destination) and fails the test, with every difference from
    the recording or the contract, unless there is none. Returns the `ReplayResult`."""
    from pathlib import Path

    from contract.endpoints import endpoint_of
    from harness.errors import ReportedError
    from harness.recording import read_recording
    from harness.replay import replay
    from harness.target import Destination, reference_destination

    def replay_file(
        path: str | os.PathLike[str], *, target: str | None = None, api_key: str | None = None
    ) -> ReplayResult:
        chosen = target or request.config.getoption("nat_target")
        key = api_key or request.config.getoption("nat_api_key") or os.environ.get("NAT_API_KEY")
        try:
            recording = read_recording(Path(path))
            if chosen is None:
                with (
                    reference_destination(key or "nat-replay") as endpoint,
                    Destination(endpoint, key or "nat-replay") as destination,
                ):
                    result = replay(recording, destination)
            else:
                if not key:
                    pytest.fail("nat_replay: no API key (--nat-api-key or NAT_API_KEY)", False)
                with Destination(endpoint_of(chosen), key) as destination:
                    destination.connect()
                    result = replay(recording, destination)
        except ReportedError as error:
            pytest.fail(f"nat_replay: {error}", pytrace=False)
        if result.differences:
            lines = [
                f"call {d.index} differs from the {d.against}"
                + (f" ({d.clause})" if d.clause != "-" else "")
                + f": the target {d.answered}; expected {d.expected}\n  {d.curl}"
                for d in result.differences
            ]
            pytest.fail(f"{len(lines)} differences replaying {path}:\n" + "\n".join(lines), False)
        return result

    return replay_file
