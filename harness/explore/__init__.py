"""Stateful exploration of a Nat destination: Hypothesis sends sequences of identify calls,
compares every answer and read-back with the contract's model, and shrinks a divergence to the
fewest steps (`nat-harness explore`)."""

from harness.explore.machine import ExploreContext, Step, machine_for
from harness.explore.oracle import Divergence, Expected, Model
from harness.explore.report import render_result, save_failure
from harness.explore.search import ExploreResult, explore

__all__ = [
    "Divergence",
    "Expected",
    "ExploreContext",
    "ExploreResult",
    "Model",
    "Step",
    "explore",
    "machine_for",
    "render_result",
    "save_failure",
]
