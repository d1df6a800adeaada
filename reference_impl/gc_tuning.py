"""Garbage-collector settings for a server process: fewer, cheaper collections.

Speed code, fenced: requests make many short-lived objects and almost no reference cycles, and a
full collection over a large heap is a long pause (a p99 spike). `tune_for_serving` freezes what
start-up left alive (it lives for the whole process) and raises the youngest generation's
threshold; `default_collector` is the plain setting, the oracle the tests compare with, and
tests/test_gc_tuning.py checks that cycles are still collected. Figures: bench/README.md.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SERVING_THRESHOLDS", "default_collector", "tune_for_serving", "tuned_for_serving"]

#: Allocations before a young collection (CPython's default: 700), and the two older ratios.
SERVING_THRESHOLDS = (50_000, 20, 100)


def tune_for_serving() -> None:
    """Freeze everything alive now and collect less often; for a worker process after start-up."""
    gc.collect()
    gc.freeze()  # what is alive after start-up lives for the whole process
    gc.set_threshold(*SERVING_THRESHOLDS)


def default_collector() -> None:
    """CPython's own settings: nothing frozen, thresholds (700, 10, 10)."""
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)


@contextmanager
def tuned_for_serving() -> Iterator[None]:
    """`tune_for_serving` for the length of a block, then the thresholds from before it and
    nothing frozen (for tests and benchmarks, which share a process with other code)."""
    thresholds = gc.get_threshold()
    tune_for_serving()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
