"""Running the contract against a destination: send every selected scenario and sequence, judge
the answers with the checks, and yield events for the reporters.

Library API (the CLI, the pytest plugin and the simulator all use it)::

    from harness.config import RunConfig
    from harness.runner import run, exit_code_of

    for event in run(RunConfig(target="http://127.0.0.1:8765/segment", api_key="secret", seed=7)):
        ...  # RunStarted, then a CheckResult per (check, subject), then RunFinished

`run` starts the reference destination itself when `config.target` is None, and runs the
preflight (`harness.preflight`) before the first event. Independent subjects are sent by
`config.concurrency` workers; a sequence's steps go in order, a concurrent sequence's steps all
at once. Results arrive as subjects finish; `RunFinished` carries the summary and the exit code
(`verdict_of`: 0 passed; 1 a MUST failed, a SHOULD under `strict`, or nothing could be judged; 3 a
check crashed; 2 when the target stopped answering mid-run, with a note saying how far it got).
"""

from __future__ import annotations

import queue
import random
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any, Literal

from contract.endpoints import endpoint_of, read_api_base_of
from harness.checks import (
    Check,
    CheckFailed,
    CheckSkipped,
    Observation,
    Registry,
    Subject,
    default_registry,
    steps_of,
)
from harness.config import RunConfig
from harness.errors import SettingError
from harness.preflight import preflight
from harness.target import Destination, Exchange, ReadBack, reference_destination
from scenarios.isolation import isolate
from scenarios.model import Scenario, Sequence

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_PASSED",
    "EXIT_TARGET",
    "OUTCOMES",
    "CheckResult",
    "Event",
    "Failure",
    "Outcome",
    "PlannedSubject",
    "RunFinished",
    "RunStarted",
    "Summary",
    "exit_code_of",
    "load_subjects",
    "plan",
    "run",
    "verdict_of",
]

#: passed; failed (a MUST that does not hold); warned (a SHOULD that does not hold); skipped
#: (could not be judged: no probe, no answer); error (the check itself crashed: a harness bug).
Outcome = Literal["passed", "failed", "warned", "skipped", "error"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "warned", "skipped", "error")
#: Seeds chosen for a run without one stay short enough to type back.
_SEED_RANGE = 1_000_000
#: A burst whose threads are not all ready by then is sent anyway.
_BARRIER_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class PlannedSubject:
    """A scenario or sequence to send, and the selected checks that apply to it."""

    subject: Subject
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a check did not hold: the request(s) as curl lines, the answer, the expectation."""

    sent: str
    received: str
    expected: str

    def to_dict(self) -> dict[str, str]:
        return {"sent": self.sent, "received": self.received, "expected": self.expected}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check on one subject."""

    check_id: str
    level: str
    family: str
    subject_id: str
    outcome: Outcome
    #: The CONTRACT.md clause the verdict rests on: the failure's, else the check's first.
    clause: str = ""
    failure: Failure | None = None
    #: Why the check was skipped or crashed; empty otherwise.
    reason: str = ""
    #: Seconds spent sending the subject's requests (shared by its checks) and judging.
    seconds: float = 0.0

    @property
    def name(self) -> str:
        """`check_id[subject_id]`, as `--select` also accepts it."""
        return f"{self.check_id}[{self.subject_id}]"


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run is about to send its first request."""

    seed: int
    #: Where events are POSTed (the embedded reference destination's URL if none was given).
    target: str
    #: The read-back base URL, or None without a probe.
    probe: str | None
    embedded: bool
    #: How many results will follow (one per selected check and subject).
    planned: int
    #: The subjects' ids, in plan order (reports list results in this order).
    subject_ids: tuple[str, ...]
    checks: tuple[Check, ...]
    #: Added to every email and messageId so runs never collide at a shared target ("" if off).
    isolation_tag: str
    strict: bool


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts of outcomes, the duration and the exit code of a finished run."""

    counts: dict[str, int]
    seconds: float
    exit_code: int
    strict: bool
    #: Why the exit code is what it is when the counts alone do not say (nothing was judged,
    #: a check crashed); "" otherwise.
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
            "strict": self.strict,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class RunFinished:
    """Every result is in."""

    summary: Summary


Event = RunStarted | CheckResult | RunFinished


#: The exit codes of a run: passed; a check failed or nothing could be judged; the target is
#: not a Nat destination, is unreachable or stopped answering (or the arguments are wrong); a
#: check crashed (a bug in nat-harness); the run was interrupted.
EXIT_PASSED, EXIT_FAILED, EXIT_TARGET, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
_JUDGED = ("passed", "failed", "warned")


def verdict_of(results: Iterable[CheckResult], *, strict: bool) -> tuple[int, str]:
    """The exit code of finished results, and a sentence when the counts alone do not explain it.

    0 when every MUST held (and every SHOULD, if strict) and something was judged; 1 when a
    check failed, or when nothing (or no MUST check) could be judged: a run that judged nothing
    says nothing about the destination; 3 when a check crashed.
    """
    results = list(results)
    outcomes = {result.outcome for result in results}
    if "error" in outcomes:
        crashed = sum(result.outcome == "error" for result in results)
        return EXIT_INTERNAL, (
            f"{crashed} check results crashed: a bug in nat-harness, so the verdict cannot be "
            "trusted (the reasons are in the report)"
        )
    if "failed" in outcomes or (strict and "warned" in outcomes):
        return EXIT_FAILED, ""
    if not outcomes & set(_JUDGED):
        return EXIT_FAILED, (
            f"nothing was judged: all {len(results)} results were skipped, so the run says "
            "nothing about the destination"
        )
    musts = [result for result in results if result.level == "MUST"]
    if musts and not any(result.outcome in _JUDGED for result in musts):
        return EXIT_FAILED, (
            f"no MUST check could be judged: all {len(musts)} MUST results were skipped, so the "
            "run cannot say the destination keeps the contract"
        )
    return EXIT_PASSED, ""


def exit_code_of(results: Iterable[CheckResult], *, strict: bool) -> int:
    """The exit code of finished results: see `verdict_of`."""
    return verdict_of(results, strict=strict)[0]


def load_subjects(seed: int) -> tuple[Subject, ...]:
    """The contract's catalogue of scenarios, then its sequences, for `seed`."""
    import scenarios

    return (*scenarios.catalogue(seed=seed), *scenarios.sequences(seed=seed))


def plan(
    subjects: Iterable[Subject], registry: Registry, select: Iterable[str] = ()
) -> tuple[PlannedSubject, ...]:
    """Each subject with the checks that apply to it and are selected; subjects with none drop.

    A (check, subject) pair is selected when any pattern matches (glob, case-sensitive) the
    check's id or family, the subject's id, or `check_id[subject_id]`; no pattern selects all.
    """
    patterns = tuple(select)
    planned = []
    for subject in subjects:
        chosen = tuple(
            item
            for item in registry.values()
            if item.applies(subject) and _selected(patterns, item, subject)
        )
        if chosen:
            planned.append(PlannedSubject(subject, chosen))
    return tuple(planned)


def _selected(patterns: tuple[str, ...], item: Check, subject: Subject) -> bool:
    if not patterns:
        return True
    names = (item.id, item.family, subject.id, f"{item.id}[{subject.id}]")
    # Equality first: `check[subject]` is a literal name, though `[...]` is a glob class.
    return any(
        name == pattern or fnmatchcase(name, pattern) for pattern in patterns for name in names
    )


def run(
    config: RunConfig,
    *,
    subjects: Iterable[Subject] | None = None,
    registry: Registry | None = None,
) -> Iterator[Event]:
    """Run the contract and yield its events (see the module docstring).

    `subjects` defaults to the scenarios and sequences of `config.seed` (random when None);
    `registry` to every built-in check. Raises `UsageError` when the selection is empty,
    `TargetUnreachable` when nothing listens at the target and `NotANatDestination` when the
    preflight finds it is not a Nat destination that takes the key (all exit 2).
    """
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(_SEED_RANGE)
    registry = registry if registry is not None else default_registry()
    chosen = tuple(subjects) if subjects is not None else load_subjects(seed)
    planned = plan(chosen, registry, config.select)
    if not planned:
        raise SettingError(
            "select",
            f"{' '.join(config.select)!r} matches no check or scenario: `nat-harness run "
            "--list` shows their ids",
        )
    used = {item.id for subject in planned for item in subject.checks}
    checks = tuple(item for item in registry.values() if item.id in used)
    if config.target is not None:
        assert config.api_key is not None  # RunConfig insists
        yield from _run(config, seed, planned, checks, endpoint_of(config.target), config.api_key)
        return
    api_key = config.api_key or secrets.token_urlsafe(16)
    with reference_destination(api_key) as endpoint:
        yield from _run(config, seed, planned, checks, endpoint, api_key, embedded=True)


def _run(
    config: RunConfig,
    seed: int,
    planned: tuple[PlannedSubject, ...],
    checks: tuple[Check, ...],
    endpoint: str,
    api_key: str,
    *,
    embedded: bool = False,
) -> Iterator[Event]:
    started = time.perf_counter()
    tag = "h" + secrets.token_hex(3) if config.isolate and not embedded else ""
    if tag:
        planned = tuple(replace(item, subject=isolate(item.subject, tag)) for item in planned)
    with Destination(endpoint, api_key, timeout=config.timeout, settings=config.settings) as dest:
        dest.connect()
        probe_base = _probe_base(config, endpoint)
        read_back = (
            None if probe_base is None else ReadBack(dest, probe_base, wait=config.probe_wait)
        )
        found = preflight(dest, read_back)
        yield RunStarted(
            seed=seed,
            target=endpoint,
            probe=probe_base,
            embedded=embedded,
            planned=sum(len(item.checks) for item in planned),
            subject_ids=tuple(item.subject.id for item in planned),
            checks=checks,
            isolation_tag=tag,
            strict=config.strict,
        )
        results: list[CheckResult] = []
        judged = 0
        for batch in _judge_all(planned, dest, read_back, config, found.accepts_identify):
            judged += 1
            results.extend(batch)
            yield from batch
        lost = dest.lost
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        counts[result.outcome] += 1
    exit_code, note = verdict_of(results, strict=config.strict)
    if lost is not None:
        exit_code = EXIT_TARGET
        note = (
            f"the target stopped answering after {judged} of {len(planned)} scenarios and "
            f"sequences ({len(results)} of {sum(len(item.checks) for item in planned)} check "
            f"results): {lost}"
        )
    yield RunFinished(
        Summary(
            counts=counts,
            seconds=time.perf_counter() - started,
            exit_code=exit_code,
            strict=config.strict,
            note=note,
        )
    )


def _probe_base(config: RunConfig, endpoint: str) -> str | None:
    if config.probe == "none":
        return None
    if config.probe == "reference":
        return read_api_base_of(endpoint)
    return config.probe.rstrip("/")


def _judge_all(
    planned: tuple[PlannedSubject, ...],
    destination: Destination,
    read_back: ReadBack | None,
    config: RunConfig,
    accepts_identify: bool,
) -> Iterator[list[CheckResult]]:
    """Each subject's results as soon as it is judged, by `config.concurrency` workers.

    The workers are daemon threads fed from a queue: when the run ends early (the target is
    lost, the caller closes the generator, Ctrl-C), nothing more is sent and nobody waits for a
    request still in flight. Subjects judged after the target was lost are left out: their
    answers say nothing but that it is gone.
    """
    work: queue.SimpleQueue[PlannedSubject | None] = queue.SimpleQueue()
    done: queue.SimpleQueue[list[CheckResult] | BaseException] = queue.SimpleQueue()
    for item in planned:
        work.put(item)
    workers = min(config.concurrency, len(planned))
    for _ in range(workers):
        work.put(None)

    def worker() -> None:
        while (item := work.get()) is not None:
            if destination.stopped:
                done.put([])
                continue
            try:
                done.put(_judge(item, destination, read_back, config.timeout, accepts_identify))
            except BaseException as error:  # a bug of ours: the caller re-raises it
                done.put(error)

    for number in range(workers):
        threading.Thread(target=worker, name=f"nat-harness-{number}", daemon=True).start()
    try:
        for _ in planned:
            batch = done.get()
            if isinstance(batch, BaseException):
                raise batch
            if destination.lost is not None:
                destination.stop()
                return
            yield batch
    finally:
        destination.stop()


def _judge(
    item: PlannedSubject,
    destination: Destination,
    read_back: ReadBack | None,
    budget: float,
    accepts_identify: bool,
) -> list[CheckResult]:
    """Send one subject's requests, then run its checks on what came back."""
    started = time.perf_counter()
    exchanges = _send(item.subject, destination)
    sending = time.perf_counter() - started
    observation = Observation(item.subject, exchanges, read_back, budget, accepts_identify)
    return [_verdict(check, observation, sending) for check in item.checks]


def _verdict(check: Check, observation: Observation, sending: float) -> CheckResult:
    started = time.perf_counter()
    failure: Failure | None = None
    reason = ""
    clause = check.clause
    outcome: Outcome
    try:
        check.verify(observation)
        outcome = "passed"
    except CheckFailed as failed:
        outcome = "failed" if check.level == "MUST" else "warned"
        failure = Failure(failed.sent, failed.received, failed.expected)
        if failed.clause in check.clauses:
            clause = failed.clause
    except CheckSkipped as skipped:
        outcome, reason = "skipped", skipped.reason
    except Exception as error:  # a bug in a check must not hide the other results
        outcome, reason = "error", f"the check crashed: {type(error).__name__}: {error}"
    return CheckResult(
        check_id=check.id,
        level=check.level,
        family=check.family,
        subject_id=observation.subject.id,
        outcome=outcome,
        clause=clause,
        failure=failure,
        reason=reason,
        seconds=sending + time.perf_counter() - started,
    )


def _send(subject: Subject, destination: Destination) -> tuple[Exchange, ...]:
    steps = steps_of(subject)
    if isinstance(subject, Sequence) and subject.concurrent:
        return _burst(steps, destination)
    return tuple(destination.send(step.request) for step in steps)


def _burst(steps: tuple[Scenario, ...], destination: Destination) -> tuple[Exchange, ...]:
    """Send every step at the same moment, each from its own (daemon) thread and connection."""
    barrier = threading.Barrier(len(steps))
    answers: queue.SimpleQueue[tuple[int, Exchange]] = queue.SimpleQueue()

    def fire(index: int, step: Scenario) -> None:
        with suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=_BARRIER_TIMEOUT_S)
        answers.put((index, destination.send(step.request)))

    for index, step in enumerate(steps):
        name = f"nat-harness-burst-{index}"
        threading.Thread(target=fire, args=(index, step), name=name, daemon=True).start()
    collected = dict(answers.get() for _ in steps)
    return tuple(collected[index] for index in range(len(steps)))


# -- isolation ------------------------------------------------------------------------------------
