"""The server's garbage-collector tuning: the settings it says, and cycles still collected."""

from __future__ import annotations

import gc
import threading
import weakref

from reference_impl.gc_tuning import SERVING_THRESHOLDS, tuned_for_serving


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle_collected_without_asking(allocations: int) -> bool:
    """Make a reference cycle, drop it, allocate `allocations` containers kept alive: was the
    cycle collected by an automatic collection (no `gc.collect()`)?"""
    collected = threading.Event()
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    weakref.finalize(first, collected.set)
    del first, second
    kept = [[] for _ in range(allocations)]
    assert len(kept) == allocations
    return collected.is_set()


def test_tuning_sets_the_thresholds_freezes_start_up_and_is_undone() -> None:
    before = gc.get_threshold()
    with tuned_for_serving():
        assert gc.isenabled()
        assert gc.get_threshold() == SERVING_THRESHOLDS
        assert gc.get_freeze_count() > 0, "what start-up left alive is frozen"
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_tuned_collector_still_collects_cycles_by_itself() -> None:
    with tuned_for_serving():
        assert _cycle_collected_without_asking(4 * SERVING_THRESHOLDS[0])
