"""Running the exploration: Hypothesis settings in process, seeded, shrinking to the fewest steps.

`explore()` sends examples until one diverges from the contract (then Hypothesis shrinks it and
the minimal one is returned) or the budget is spent. Nothing is written to the user's directory:
the example database is off.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import get_state_machine_test

from harness.explore.machine import ExploreContext, Step, machine_for
from harness.explore.oracle import Divergence
from harness.target import Destination, ReadBack

__all__ = ["ExploreResult", "explore"]


@dataclass(frozen=True, slots=True)
class ExploreResult:
    """How an exploration ended: the minimal failing steps and why, or nothing found."""

    examples: int
    steps_sent: int
    seed: int
    steps: tuple[Step, ...] = ()
    divergence: Divergence | None = None
    #: The failure did not happen again when repeated (a race, a flaky target).
    flaky: bool = False

    @property
    def found(self) -> bool:
        return self.divergence is not None


def explore(
    destination: Destination,
    read_back: ReadBack | None,
    *,
    max_examples: int = 100,
    steps: int = 10,
    seed: int = 0,
    on_example: Callable[[], None] = lambda: None,
    on_steps: Callable[[int], None] = lambda sent: None,
) -> ExploreResult:
    """Explore `destination` with up to `max_examples` examples of up to `steps` steps each."""
    sent = [0]

    def counted(count: int) -> None:
        sent[0] += count
        on_steps(count)

    context = ExploreContext(
        destination=destination,
        read_back=read_back,
        run_tag="x" + secrets.token_hex(3),
        timeout=destination.timeout,
        on_example=on_example,
        on_steps=counted,
    )
    chosen = settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        report_multiple_bugs=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    test = hypothesis_seed(seed)(get_state_machine_test(machine_for(context), settings=chosen))
    flaky = False
    try:
        with with_reporter(_quiet):  # the report is ours: no "Falsifying example" on stdout
            test()
    except Divergence:
        pass
    except Flaky:
        flaky = True
    failing = context.failing
    return ExploreResult(
        examples=context.examples,
        steps_sent=sent[0],
        seed=seed,
        steps=tuple(failing or ()),
        divergence=context.divergence,
        flaky=flaky and context.divergence is not None,
    )


def _quiet(text: object) -> None:
    """Hypothesis's own report is dropped: explore prints the minimal sequence itself."""
