"""Load traffic on Locust: seeded Nat scenarios sent at a rate, every answer judged."""

from pathlib import Path

from harness.load.judge import Mismatch, judge_answer
from harness.load.tally import FAILURE_KINDS, Tally

__all__ = ["FAILURE_KINDS", "LOCUSTFILE", "Mismatch", "Tally", "judge_answer"]

#: The Locust file shipped in the package (`locust -f` takes it as it is).
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
