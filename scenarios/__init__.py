"""Seeded, reproducible Nat scenarios: requests with the answers the contract expects.

`catalogue` names every case of the contract once, `sequences` shows deduplication, idempotency
and ordering for one contact each, and `generate` makes bulk realistic traffic. Every expectation
comes from the acceptance rules in `reference_impl.rules`.
"""

from scenarios.catalogue import catalogue
from scenarios.expect import Ledger, expect_for, expect_sequence
from scenarios.families import FAMILIES
from scenarios.generate import DEFAULT_MIX, format_mix, generate, parse_mix
from scenarios.model import Auth, Expect, Outcome, Request, Scenario, Sequence, SequenceExpect
from scenarios.sequences import sequences
from scenarios.stamping import StampingFallback

__all__ = [
    "DEFAULT_MIX",
    "FAMILIES",
    "Auth",
    "Expect",
    "Ledger",
    "Outcome",
    "Request",
    "Scenario",
    "Sequence",
    "SequenceExpect",
    "StampingFallback",
    "catalogue",
    "expect_for",
    "expect_sequence",
    "format_mix",
    "generate",
    "parse_mix",
    "sequences",
]
