"""Work through a long JSON Lines input in chunks, on every CPU, with the results in input order.

`line_chunks` cuts a byte stream into chunks of whole lines, each knowing the number of its first
line; `ordered_map` applies a function to each chunk in worker processes and yields the results
in the order of the chunks, with only a few chunks in flight, so a long input never sits in
memory. An input of one chunk, or `jobs=1`, is worked through in this process: no worker starts.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
import stat
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from multiprocessing.pool import AsyncResult, Pool
from typing import BinaryIO, NamedTuple, TypeVar

__all__ = [
    "CHUNK_BYTES",
    "LineChunk",
    "available_cpus",
    "forks_workers",
    "line_chunks",
    "ordered_map",
]

#: How many bytes of whole lines a chunk holds, about (a line longer than that is one chunk).
#: Each chunk costs the pool's hand-offs (about half a millisecond of this process's time):
#: 4 MB keeps them few, and a chunk still takes well under a second to work through.
CHUNK_BYTES = 4 << 20
#: Chunks in flight per worker: enough to keep every worker busy while the results are written.
_AHEAD = 2

Item = TypeVar("Item")
Result = TypeVar("Result")


class LineChunk(NamedTuple):
    """Whole lines of the input and the number of the first one (from 1): the bytes, or where
    they lie in a file that the worker reads them from itself (`span`: descriptor, offset,
    length), so that a long file is not copied through pipes to the workers."""

    first_line: int
    data: bytes
    span: tuple[int, int, int] | None = None

    def read(self) -> bytes:
        """The lines' bytes."""
        if self.span is None:
            return self.data
        descriptor, offset, length = self.span
        return os.pread(descriptor, length, offset)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def line_chunks(
    stream: BinaryIO, size: int | None = None, *, by_reference: bool = False
) -> Iterator[LineChunk]:
    """The lines of `stream` in chunks of about `size` bytes (`CHUNK_BYTES`), cut after a newline.

    Reads what the stream has (`read1`), so lines piped in slowly are worked on as they come
    rather than once `size` bytes have arrived. `by_reference`: when the stream is a regular
    file, the chunks say where their lines lie instead of holding them (for forked workers,
    which share the file's descriptor).
    """
    size = size or CHUNK_BYTES
    if by_reference and _is_regular_file(stream):
        yield from _file_spans(stream.fileno(), stream.tell(), size)
        return
    read = getattr(stream, "read1", stream.read)
    first_line, carried = 1, b""
    while block := read(size):
        cut = block.rfind(b"\n")
        if cut < 0:
            carried += block  # no line ends here yet
            continue
        data, carried = carried + block[: cut + 1], block[cut + 1 :]
        yield LineChunk(first_line, data)
        first_line += data.count(b"\n")
    if carried:
        yield LineChunk(first_line, carried)  # the last line, without its newline


def _file_spans(descriptor: int, offset: int, size: int) -> Iterator[LineChunk]:
    # One buffer, read into again and again: a new block of bytes for each chunk costs more
    # than the reading itself.
    buffer = bytearray(size)
    first_line = 1
    while filled := _read_into(descriptor, buffer, offset):
        cut = buffer.rfind(b"\n", 0, filled)
        if cut >= 0:
            length, newlines = cut + 1, buffer.count(b"\n", 0, cut + 1)
        else:  # a line longer than a chunk: it is the chunk, to its end or the file's
            length, newlines = _through_newline(descriptor, offset, size)
        yield LineChunk(first_line, b"", (descriptor, offset, length))
        first_line += newlines
        offset += length


def _read_into(descriptor: int, buffer: bytearray, offset: int) -> int:
    if hasattr(os, "preadv"):
        return os.preadv(descriptor, [buffer], offset)
    block = os.pread(descriptor, len(buffer), offset)
    buffer[: len(block)] = block
    return len(block)


def _through_newline(descriptor: int, start: int, size: int) -> tuple[int, int]:
    """How many bytes from `start` up to and including the next newline (or to the end of the
    file), and how many newlines that is (1, or 0 at the end of the file)."""
    position = start
    while block := os.pread(descriptor, size, position):
        found = block.find(b"\n")
        if found >= 0:
            return position + found + 1 - start, 1
        position += len(block)
    return position - start, 0


def _is_regular_file(stream: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode) and stream.seekable()
    except (OSError, ValueError):  # no descriptor (an in-memory stream)
        return False


def forks_workers() -> bool:
    """Whether `ordered_map`'s workers are forked from this process (and share its files)."""
    return "fork" in multiprocessing.get_all_start_methods()


def ordered_map(
    function: Callable[[Item], Result], items: Iterable[Item], *, jobs: int
) -> Generator[Result, None, None]:
    """`function(item)` for each of `items`, in order, computed by up to `jobs` processes.

    `function` must be a module-level function (workers are forked, or spawned where fork is
    not available). Workers ignore SIGINT, so that Ctrl-C reaches this process alone; they are
    stopped when the results have been read, or when the caller stops reading: close the
    generator (`contextlib.closing`) when an error may stop the reading half-way.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    pending = iter(items)
    opening = list(itertools.islice(pending, 2))
    if jobs == 1 or len(opening) < 2:  # nothing to share out: no worker is worth starting
        yield from map(function, itertools.chain(opening, pending))
        return
    with contextlib.ExitStack() as stack:
        with _interrupts_deferred():  # Ctrl-C while the workers start must not orphan them
            pool = stack.enter_context(_pool(jobs))
        in_flight: deque[AsyncResult[Result]] = deque()
        for item in itertools.chain(opening, pending):
            in_flight.append(pool.apply_async(function, (item,)))
            if len(in_flight) >= jobs * _AHEAD:
                yield in_flight.popleft().get()
        while in_flight:
            yield in_flight.popleft().get()


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold a SIGINT (Ctrl-C) that arrives in the block until its end, and deliver it then, to
    whatever handled it before (KeyboardInterrupt, as a rule; nothing if it was ignored).

    Only the main thread receives signals in Python; elsewhere this holds nothing back.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield  # not ours to hold (the handler was set outside Python)
        return
    interrupted: list[bool] = []
    signal.signal(signal.SIGINT, lambda number, frame: interrupted.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if interrupted:
            signal.raise_signal(signal.SIGINT)


def _pool(jobs: int) -> Pool:
    context = multiprocessing.get_context("fork" if forks_workers() else "spawn")
    return context.Pool(jobs, initializer=_ignore_interrupts)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
