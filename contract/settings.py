"""The one error of a config record: a setting that cannot be used, said in library words.

Every entry point is configured by one frozen record (`RunConfig`, `LoadConfig`, `EngageConfig`,
`SegmentSimulatorConfig`, `ServerConfig`) that checks its own fields as it is built and raises
this error naming the field. It lives at the bottom so that every layer raises the same one; the
CLI and the pytest plugin turn the field's name into their own option (`--x`, `--nat-x`).
"""

from __future__ import annotations

__all__ = ["SettingError"]


class SettingError(ValueError):
    """`setting` (a record's field name) cannot be used: `problem` says why and what works."""

    #: The process exit code the CLI uses: a usage error.
    exit_code = 2

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting} {problem}")
        self.setting = setting
        self.problem = problem
