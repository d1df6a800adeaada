"""Delivery faults Segment produces in production, on demand: duplicates and reordering.

A duplicate is a second, independent delivery of the same message (same `messageId`), as a retry
after a lost answer would be; reordering delays each delivery by a random 0 to `reorder_window`
virtual seconds, so events that close together may arrive in any order.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from harness.errors import SettingError

__all__ = ["DeliveryFaults"]


@dataclass(frozen=True, slots=True)
class DeliveryFaults:
    """Which faults to inject on the way to the destination; `seed` makes them repeatable."""

    duplicate_rate: float = 0.0
    reorder_window: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duplicate_rate) and 0.0 <= self.duplicate_rate <= 1.0):
            raise SettingError(
                "duplicate_rate",
                "must be between 0 and 1 (the share of events delivered twice), "
                f"got {self.duplicate_rate}",
            )
        if not (math.isfinite(self.reorder_window) and self.reorder_window >= 0.0):
            raise SettingError(
                "reorder_window",
                "must be 0 or more seconds (how far a delivery may be delayed), "
                f"got {self.reorder_window}",
            )

    def delays(self, rng: random.Random) -> list[float]:
        """Virtual delays of each copy of one event: one copy, or two when it is duplicated."""
        copies = 2 if self.duplicate_rate and rng.random() < self.duplicate_rate else 1
        if not self.reorder_window:
            return [0.0] * copies
        return [rng.uniform(0.0, self.reorder_window) for _ in range(copies)]
