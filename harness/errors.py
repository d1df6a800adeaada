"""One error tree for nat-harness: each error says what went wrong and what to do about it."""

from __future__ import annotations

__all__ = ["HarnessError", "NotANatDestination", "TargetUnreachable", "UsageError"]


class HarnessError(Exception):
    """Base of every error nat-harness raises on purpose; the CLI prints it without a traceback."""

    #: The process exit code the CLI uses for this error.
    exit_code = 2


class UsageError(HarnessError):
    """The arguments or input files are wrong: the message says which and what is accepted."""


class TargetUnreachable(HarnessError):
    """The destination under test could not be reached at all (refused, DNS, TLS, timeout)."""


class NotANatDestination(HarnessError):
    """The target answers, but not as a Nat destination that takes the key: no HTTP or TLS as
    asked, silence, the key refused, nothing at the path, every call answered alike."""
