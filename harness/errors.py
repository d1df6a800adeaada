"""One error tree for nat-harness: each error says what went wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Mapping

from contract.settings import SettingError

__all__ = [
    "HarnessError",
    "NotANatDestination",
    "ReportedError",
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


#: What the CLI and the pytest plugin print as a message: our errors, and a record's setting
#: (`SettingError` is `contract.settings`', re-exported here beside the others).
ReportedError = (HarnessError, SettingError)


def option_words(
    error: HarnessError | SettingError,
    prefix: str = "--",
    environment: Mapping[str, str] | None = None,
    options: Mapping[str, str] | None = None,
) -> str:
    """The error's message with a setting named as its option: `options` maps a setting to an
    option spelled otherwise, else it is `prefix` + the dashed name; `environment` names the
    environment variable that can give it too."""
    if not isinstance(error, SettingError):
        return str(error)
    option = (options or {}).get(error.setting) or prefix + error.setting.replace("_", "-")
    variable = (environment or {}).get(error.setting)
    also = f" (or set {variable})" if variable else ""
    return f"{option}{also} {error.problem}"


class TargetUnreachable(HarnessError):
    """The destination under test could not be reached at all (refused, DNS, TLS, timeout)."""


class NotANatDestination(HarnessError):
    """The target answers, but not as a Nat destination that takes the key: no HTTP or TLS as
    asked, silence, the key refused, nothing at the path, every call answered alike."""
