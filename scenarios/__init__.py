"""Seeded, reproducible Nat scenarios: requests with the answers the contract expects.

`catalogue` (module `cases`) names every case of the contract once, `sequences` (module
`sequence_cases`) shows deduplication, idempotency and ordering for one contact each, and
`generate` (module `bulk`) makes bulk realistic traffic. No module shares a name with a function,
so `scenarios.generate` is always the function. Every expectation comes from the acceptance rules
in `reference_impl.rules`.
"""

from scenarios.bulk import DEFAULT_MIX, format_mix, generate, parse_mix
from scenarios.cases import catalogue
from scenarios.errors import ScenarioError
from scenarios.expect import Ledger, expect_for, expect_sequence
from scenarios.families import FAMILIES
from scenarios.isolation import isolate
from scenarios.model import Auth, Expect, Outcome, Request, Scenario, Sequence, SequenceExpect
from scenarios.sequence_cases import sequences
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
    "ScenarioError",
    "Sequence",
    "SequenceExpect",
    "StampingFallback",
    "catalogue",
    "expect_for",
    "expect_sequence",
    "format_mix",
    "generate",
    "isolate",
    "parse_mix",
    "sequences",
]
