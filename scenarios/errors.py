"""The scenarios' one error: an argument of the generator that cannot be used, in library words
(the CLI and the pytest plugin say which option it came from)."""

from __future__ import annotations

__all__ = ["ScenarioError"]


class ScenarioError(ValueError):
    """A count, mix or family the generator cannot use; the message says what is accepted."""
