"""Shared fixtures: a fresh reference destination served over real HTTP on loopback."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import settings

from reference_impl import Store, create_app, running_server
from tests.helpers import leaked_processes

pytest_plugins = ["tests.browser"]

API_KEY = "test-key"
REPOSITORY = Path(__file__).resolve().parents[1]
# Segment's own tester corpus sits in ../shared beside the repository (read-only, never copied in).
CORPUS = REPOSITORY.parent / "shared" / "corpus" / "segment-direct-integration-tester"

# Every Hypothesis test draws the same examples on every run: a failure is a defect, never chance.
settings.register_profile("nat", derandomize=True, database=None, deadline=None)
settings.load_profile("nat")


def sigint_as_in_a_terminal() -> None:
    """`preexec_fn` for a child a test stops with SIGINT: Ctrl-C's default action, even when the
    suite runs where SIGINT is ignored (a background job of a non-interactive shell, which
    Python then leaves ignored, so Ctrl-C would never reach the program under test)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def basic_auth(key: str = API_KEY) -> dict[str, str]:
    """The Authorization header exactly as Segment sends it."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store on a fresh SQLite file."""
    fresh = Store(tmp_path / "nat.db")
    yield fresh
    fresh.close()


@pytest.fixture
def destination_url(store: Store) -> Iterator[str]:
    """Base URL of the destination served by uvicorn on a free loopback port."""
    with running_server(create_app(store, API_KEY)) as url:
        yield url


@pytest.fixture
def http(destination_url: str) -> Iterator[requests.Session]:
    """A requests session against the served destination, authenticated as Segment would be."""
    with requests.Session() as session:
        session.headers.update(basic_auth())
        yield session


#: Every process this pytest process starts inherits this variable; one still alive at the end of
#: the session is a leak (a server or worker a test forgot to stop).
_OWNER_VARIABLE = "NAT_TESTS_OWNER"


def pytest_configure(config: pytest.Config) -> None:
    # Each xdist worker overrides what it inherited from the controller: its own children only.
    os.environ[_OWNER_VARIABLE] = f"{os.getpid()}-{uuid.uuid4().hex}"


@pytest.fixture(scope="session", autouse=True)
def _no_process_outlives_the_tests() -> Iterator[None]:
    """Fail the run if a process a test started is still alive once every test has finished.

    The leaked processes are killed and named (pid and command line) in the error."""
    yield
    leaked = leaked_processes(os.environ[_OWNER_VARIABLE], grace=10.0)
    for process in leaked:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    assert not leaked, "processes started by the tests are still running: " + "; ".join(
        f"pid {process.pid}: {process.command}" for process in leaked
    )
