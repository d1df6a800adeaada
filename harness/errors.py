"""One error tree for nat-harness: each error says what went wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "HarnessError",
    "NotANatDestination",
    "SettingError",
    "TargetUnreachable",
    "UsageError",
    "option_words",
]


class HarnessError(Exception):
    """Base of every error nat-harness raises on purpose; the CLI prints it without a traceback."""

    #: The process exit code the CLI uses for this error.
    exit_code = 2


class UsageError(HarnessError):
    """The arguments or input files are wrong: the message says which and what is accepted."""


class SettingError(UsageError):
    """One setting of a library record cannot be used, said in library words (`setting` is the
    field's name); the CLI and the pytest plugin name their own option for it."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting} {problem}")
        self.setting = setting
        self.problem = problem


def option_words(
    error: HarnessError, prefix: str = "--", environment: Mapping[str, str] | None = None
) -> str:
    """The error's message with a setting named as the option `prefix` + its dashed name, and
    the environment variable that can give it too, if `environment` has one for it."""
    if not isinstance(error, SettingError):
        return str(error)
    variable = (environment or {}).get(error.setting)
    also = f" (or set {variable})" if variable else ""
    return f"{prefix}{error.setting.replace('_', '-')}{also} {error.problem}"


class TargetUnreachable(HarnessError):
    """The destination under test could not be reached at all (refused, DNS, TLS, timeout)."""


class NotANatDestination(HarnessError):
    """The target answers, but not as a Nat destination that takes the key: no HTTP or TLS as
    asked, silence, the key refused, nothing at the path, every call answered alike."""
