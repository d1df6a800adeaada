"""The counts a load run keeps besides Locust's own statistics: what was sent, answered, judged
and wrong, with a few examples of each kind of wrong answer. Workers send theirs to the master,
which adds them up; the master writes the sum as the run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EXAMPLES_PER_KIND", "FAILURE_KINDS", "Tally"]

#: Every way an answer can fail under load: the judge's two and the two of getting no answer.
FAILURE_KINDS = ("wrong status", "wrong body", "timeout", "connection error")
#: How many examples of each kind the summary keeps (the counts are exact).
EXAMPLES_PER_KIND = 5


@dataclass
class Tally:
    """Counts of one process since its last report, or of the whole run once added up."""

    sent: int = 0
    answered: int = 0
    judged: int = 0
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAILURE_KINDS, 0))
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def failed(self, kind: str, example: dict[str, Any]) -> None:
        """Count one failure of `kind`, keeping its example while there is room."""
        self.failures[kind] += 1
        kept = self.examples.setdefault(kind, [])
        if len(kept) < EXAMPLES_PER_KIND:
            kept.append(example)

    @property
    def wrong(self) -> int:
        """Answers that came back and were wrong."""
        return self.failures["wrong status"] + self.failures["wrong body"]

    @property
    def unanswered(self) -> int:
        return self.failures["timeout"] + self.failures["connection error"]

    def add(self, other: dict[str, Any]) -> None:
        """Add a report (`to_dict` of another tally) to this one."""
        self.sent += other["sent"]
        self.answered += other["answered"]
        self.judged += other["judged"]
        for kind, count in other["failures"].items():
            self.failures[kind] = self.failures.get(kind, 0) + count
        for kind, examples in other["examples"].items():
            kept = self.examples.setdefault(kind, [])
            kept.extend(examples[: EXAMPLES_PER_KIND - len(kept)])

    def take(self) -> dict[str, Any]:
        """This tally as a report, leaving it empty (workers report what is new since last time)."""
        report = self.to_dict()
        fresh = Tally()
        self.sent, self.answered, self.judged = fresh.sent, fresh.answered, fresh.judged
        self.failures, self.examples = fresh.failures, fresh.examples
        return report

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "answered": self.answered,
            "judged": self.judged,
            "failures": dict(self.failures),
            "examples": {kind: list(examples) for kind, examples in self.examples.items()},
        }
