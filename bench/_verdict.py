"""One line per target: the figure measured, the target, PASS or FAIL (`make bench` exits 1 on
any FAIL; run_all.py counts them)."""

from __future__ import annotations


def verdict(what: str, figure: str, target: str, met: bool) -> bool:
    """Print `what: figure (target ...) PASS|FAIL` and return whether the target was met."""
    print(f"  {what}: {figure}  (target {target})  {'PASS' if met else 'FAIL'}", flush=True)
    return met
