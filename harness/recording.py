"""Recordings: what a destination was sent and what it answered, as JSON Lines, in order.

The first line is a header (format, tool version, target, created); each further line is one
exchange: `sent` (method, path, headers with the key masked, body), `answered` (status, body)
and `offset`, seconds from the start of the recording. `explore` failures, the `record` proxy and
`simulate segment --record` write this format; `replay` and the `nat_replay` fixture read it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from harness.errors import UsageError

__all__ = [
    "FORMAT",
    "MASKED",
    "Recorded",
    "RecordedAnswer",
    "RecordedRequest",
    "Recording",
    "RecordingWriter",
    "masked_headers",
    "post_recorder",
    "read_recording",
]

#: The first line's `format`: a reader refuses any other.
FORMAT = "nat-harness-recording/1"
#: What stands for the credentials of an Authorization header (replay puts its key there).
MASKED = "<masked>"
#: Headers whose values are secrets: written with the credentials masked.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key"})


def _tool_version() -> str:
    try:
        return f"nat-harness {version('nat-harness')}"
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        return "nat-harness"


def masked_headers(headers: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, str]:
    """The headers as recorded: secrets keep their scheme (`Basic`, `Bearer`) and lose the rest."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    kept: dict[str, str] = {}
    for name, value in items:
        if name.lower() in _SECRET_HEADERS:
            scheme, _, credentials = value.partition(" ")
            value = f"{scheme} {MASKED}" if credentials else MASKED
        kept[name] = value
    return kept


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request as recorded: the path is relative to the target (`/segment`)."""

    method: str
    path: str
    headers: dict[str, str]
    body: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """The destination's answer: status and body (None when no answer came, with the reason)."""

    status: int | None
    body: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        view: dict[str, Any] = {"status": self.status, "body": self.body}
        if self.error is not None:
            view["error"] = self.error
        return view


@dataclass(frozen=True, slots=True)
class Recorded:
    """One exchange of a recording."""

    sent: RecordedRequest
    answered: RecordedAnswer
    offset: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent.to_dict(),
            "answered": self.answered.to_dict(),
            "offset": round(self.offset, 6),
        }


@dataclass(frozen=True, slots=True)
class Recording:
    """A whole recording: its header and its exchanges, in the order they happened."""

    target: str
    created: str
    tool: str
    exchanges: tuple[Recorded, ...] = field(default=())


class RecordingWriter:
    """Appends exchanges to a recording file as they happen; thread-safe, flushed per line.

    Written line by line (and flushed), so that a recorder killed mid-way leaves every exchange
    it finished; `close()` (or leaving the `with` block) closes the file.
    """

    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        try:
            self._file: IO[bytes] = path.open("wb")
        except OSError as error:
            raise UsageError(
                f"cannot write the recording {path}: {error.strerror or error}"
            ) from None
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.count = 0
        header = {
            "format": FORMAT,
            "tool": _tool_version(),
            "target": target,
            "created": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        self._write(header)

    def add(
        self,
        sent: RecordedRequest,
        answered: RecordedAnswer,
        *,
        offset: float | None = None,
    ) -> None:
        """Append one exchange; `offset` defaults to the seconds since the writer was made."""
        moment = time.monotonic() - self._started if offset is None else offset
        with self._lock:
            self._write(Recorded(sent, answered, moment).to_dict())
            self.count += 1

    def _write(self, line: dict[str, Any]) -> None:
        if self._file.closed:
            return
        self._file.write(orjson.dumps(line) + b"\n")
        self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_recording(path: Path) -> Recording:
    """Read a recording file; a `UsageError` names the line and what is wrong with it."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the recording {path}: {error.strerror or error}") from None
    lines = list(_numbered_lines(text))
    if not lines:
        raise UsageError(f"{path} is empty: a recording starts with a header line ({FORMAT})")
    number, first = lines[0]
    header = _object(path, number, first)
    if header.get("format") != FORMAT:
        raise UsageError(
            f"{path} line {number}: not a nat-harness recording (the header's `format` is "
            f"{header.get('format')!r}, expected {FORMAT!r})"
        )
    exchanges = tuple(
        _exchange(path, number, _object(path, number, line)) for number, line in lines[1:]
    )
    return Recording(
        target=str(header.get("target", "")),
        created=str(header.get("created", "")),
        tool=str(header.get("tool", "")),
        exchanges=exchanges,
    )


def _numbered_lines(text: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _object(path: Path, number: int, line: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise UsageError(f"{path} line {number}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path} line {number}: each line must be a JSON object")
    return value


def _exchange(path: Path, number: int, line: dict[str, Any]) -> Recorded:
    where = f"{path} line {number}"
    sent, answered, offset = line.get("sent"), line.get("answered"), line.get("offset", 0.0)
    if not isinstance(sent, dict) or not isinstance(answered, dict):
        raise UsageError(f"{where}: an exchange needs the objects `sent` and `answered`")
    method, request_path, headers, body = (
        sent.get("method"),
        sent.get("path"),
        sent.get("headers", {}),
        sent.get("body", ""),
    )
    if not isinstance(method, str) or not method:
        raise UsageError(f'{where}: `sent.method` must be an HTTP method like "POST"')
    if not isinstance(request_path, str) or not request_path.startswith("/"):
        raise UsageError(f"{where}: `sent.path` must be a path starting with / (like /segment)")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise UsageError(f"{where}: `sent.headers` must be an object of header names to strings")
    if not isinstance(body, str):
        raise UsageError(f"{where}: `sent.body` must be the body as a string")
    status, answer_body = answered.get("status"), answered.get("body", "")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise UsageError(f"{where}: `answered.status` must be an HTTP status (100-599) or null")
    if not isinstance(answer_body, str):
        raise UsageError(f"{where}: `answered.body` must be the body as a string")
    if not isinstance(offset, int | float) or isinstance(offset, bool) or offset < 0:
        raise UsageError(f"{where}: `offset` must be zero or more seconds")
    error = answered.get("error")
    return Recorded(
        RecordedRequest(method.upper(), request_path, dict(headers), body),
        RecordedAnswer(status, answer_body, error if isinstance(error, str) else None),
        float(offset),
    )


def post_recorder(
    writer: RecordingWriter, path: str, headers: Mapping[str, str]
) -> Callable[[bytes, int | None, bytes, str | None], None]:
    """A callback that records one POST of `body` to `path` with `headers` (masked) and its
    answer: what a sender that is not an HTTP client library (the Segment simulator) calls."""
    shown = masked_headers(headers)

    def recorded(body: bytes, status: int | None, answer: bytes, error: str | None) -> None:
        writer.add(
            RecordedRequest("POST", path, shown, body.decode("utf-8", "backslashreplace")),
            RecordedAnswer(status, answer.decode("utf-8", "backslashreplace"), error),
        )

    return recorded
