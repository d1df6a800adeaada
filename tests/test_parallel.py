"""`harness.parallel`: chunks of whole lines, and results in order from worker processes."""

from __future__ import annotations

import io
import itertools
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.parallel import LineChunk, line_chunks, ordered_map


@st.composite
def json_lines(draw: st.DrawFn) -> bytes:
    """Lines of any bytes but a newline, the last one with or without its newline."""
    line = st.binary(max_size=12).map(lambda text: text.replace(b"\n", b""))
    lines = draw(st.lists(line, max_size=30))
    ends_with_newline = draw(st.booleans()) and bool(lines)
    return b"\n".join(lines) + (b"\n" if ends_with_newline else b"")


chunk_sizes = st.integers(min_value=1, max_value=40)


@given(json_lines(), chunk_sizes)
def test_chunks_hold_whole_lines_numbered_from_1(data: bytes, size: int) -> None:
    chunks = list(line_chunks(io.BytesIO(data), size))
    assert b"".join(chunk.data for chunk in chunks) == data
    expected_first = 1
    for chunk in chunks:
        assert chunk.first_line == expected_first
        assert chunk.data  # never an empty chunk
        assert chunk.data.endswith(b"\n") or chunk is chunks[-1]
        expected_first += chunk.data.count(b"\n")


@given(json_lines(), chunk_sizes)
def test_chunks_of_a_file_can_say_where_their_lines_lie_instead(data: bytes, size: int) -> None:
    with tempfile.TemporaryFile() as file:
        file.write(b"skipped\n" + data)
        file.seek(len(b"skipped\n"))  # chunks start where the stream stands
        by_value = list(line_chunks(io.BytesIO(data), size))
        by_reference = list(line_chunks(file, size, by_reference=True))
        assert all(chunk.data == b"" and chunk.span for chunk in by_reference)
        assert numbered_lines(by_reference) == numbered_lines(by_value)


def numbered_lines(chunks: list[LineChunk]) -> list[tuple[int, bytes]]:
    """Each line of the chunks with its number, as the chunks say."""
    return [
        (chunk.first_line + offset, line)
        for chunk in chunks
        for offset, line in enumerate(io.BytesIO(chunk.read()))
    ]


def test_a_stream_that_is_no_file_is_chunked_by_value_even_when_asked_by_reference() -> None:
    (chunk,) = line_chunks(io.BytesIO(b"one\ntwo\n"), by_reference=True)
    assert chunk == LineChunk(1, b"one\ntwo\n") and chunk.read() == b"one\ntwo\n"


def test_lines_from_a_pipe_are_passed_on_as_they_arrive() -> None:
    reading, writing = os.pipe()
    written_more = threading.Event()

    def writer() -> None:
        with os.fdopen(writing, "wb", buffering=0) as out:
            out.write(b'{"first": 1}\n')
            written_more.wait(timeout=10)
            out.write(b'{"second": 2}\n')

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(reading, "rb") as stream:
        chunks = line_chunks(stream)
        first = next(chunks)  # before the writer has written the second line
        written_more.set()
        rest = list(chunks)
    thread.join()
    assert first == LineChunk(1, b'{"first": 1}\n')
    assert rest == [LineChunk(2, b'{"second": 2}\n')]


def slow_for_early_items(item: int) -> tuple[int, int]:
    """The item and the process that worked on it; early items take longest."""
    time.sleep(max(0.0, 0.05 - item * 0.01))
    return item, os.getpid()


def fails_on_three(item: int) -> int:
    if item == 3:
        raise ValueError("three is not allowed")
    return item


@pytest.mark.parametrize("jobs", [1, 2, 3], ids=lambda jobs: f"{jobs}-jobs")
def test_results_come_in_the_order_of_the_items(jobs: int) -> None:
    results = list(ordered_map(slow_for_early_items, range(8), jobs=jobs))
    assert [item for item, _ in results] == list(range(8))
    workers = {pid for _, pid in results}
    if jobs == 1:
        assert workers == {os.getpid()}
    else:
        assert os.getpid() not in workers and len(workers) <= jobs
    assert multiprocessing.active_children() == []


def test_a_single_item_is_worked_on_here_without_starting_workers() -> None:
    ((item, pid),) = ordered_map(slow_for_early_items, [7], jobs=4)
    assert (item, pid) == (7, os.getpid())


def test_only_a_few_items_are_taken_ahead_of_the_results_read() -> None:
    taken = 0

    def endless() -> Iterator[int]:
        nonlocal taken
        for item in itertools.count():
            taken += 1
            yield item

    results = ordered_map(slow_for_early_items, endless(), jobs=2)
    assert [item for item, _ in itertools.islice(results, 3)] == [0, 1, 2]
    assert taken <= 3 + 2 * 2  # what was read, and two chunks in flight per worker
    results.close()  # the reader stops early: the workers are stopped with it
    assert multiprocessing.active_children() == []


def test_a_failure_in_a_worker_reaches_the_caller_and_stops_the_workers() -> None:
    with pytest.raises(ValueError, match="three is not allowed"):
        list(ordered_map(fails_on_three, range(10), jobs=2))
    assert multiprocessing.active_children() == []


def test_jobs_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        list(ordered_map(fails_on_three, range(3), jobs=0))


@pytest.fixture
def ctrl_c_as_the_workers_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGINT to this process the moment `ordered_map`'s workers exist."""
    from harness import parallel

    starting = parallel._pool

    def interrupted_as_it_starts(jobs: int) -> Pool:
        pool = starting(jobs)
        os.kill(os.getpid(), signal.SIGINT)
        return pool

    monkeypatch.setattr(parallel, "_pool", interrupted_as_it_starts)


@contextmanager
def sigint_handled_by(handler: Any) -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_as_the_workers_start")
def test_ctrl_c_while_the_workers_start_stops_them_too() -> None:
    # Ctrl-C's usual handler, even where the suite runs with SIGINT ignored (a background job).
    with sigint_handled_by(signal.default_int_handler), pytest.raises(KeyboardInterrupt):
        list(ordered_map(slow_for_early_items, range(8), jobs=2))
    assert multiprocessing.active_children() == []


@pytest.mark.usefixtures("ctrl_c_as_the_workers_start")
def test_an_ignored_ctrl_c_while_the_workers_start_stays_ignored() -> None:
    with sigint_handled_by(signal.SIG_IGN):
        results = list(ordered_map(slow_for_early_items, range(8), jobs=2))
    assert [item for item, _ in results] == list(range(8))
    assert multiprocessing.active_children() == []
