"""`nat-harness simulate segment|engage`: Segment's side of the pipe, on this machine."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
import typer
import uvicorn
from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contract.delivery import SEGMENT_TIMEOUT_S, delivery_headers
from contract.endpoints import read_api_base_of
from contract.timestamps import parse_iso_instant
from harness.cli._app import app
from harness.cli._options import ApiKeyOption
from harness.errors import UsageError
from harness.recording import RecordingWriter, post_recorder
from harness.segment import (
    DeliveryEndpoint,
    DeliveryFaults,
    EngageConfig,
    EngageSimulation,
    EngageSummary,
    SegmentSimulator,
    SegmentSimulatorConfig,
    Shutdown,
    Sync,
    create_ingest_app,
    embedded_destination,
    parse_time_scale,
    run_engage,
)
from reference_impl import Faults

simulate_app = typer.Typer(
    name="simulate",
    help="Simulate Segment's side of the pipe: its tracking API and delivery, or Engage syncs.",
    no_args_is_help=True,
)
app.add_typer(simulate_app, name="simulate")

_LOCAL_KEY = "local-nat-key"

DestinationOption = Annotated[
    str | None,
    typer.Option(
        "--destination",
        help="The Nat endpoint to deliver to (a URL without a path means /segment on it). "
        "Without it, the reference destination is started on a temporary database.",
        show_default=False,
    ),
]


def _api_key(destination: str | None, api_key: str | None) -> str:
    if api_key:
        return api_key
    if destination:
        raise UsageError(
            "no API key: pass --api-key KEY or set NAT_API_KEY (the key of the destination's "
            "settings in Segment)"
        )
    return _LOCAL_KEY


@contextlib.contextmanager
def _destination_url(
    destination: str | None, api_key: str, faults: Faults | None
) -> Iterator[tuple[str, bool]]:
    """The destination's URL, starting the reference destination when none is given."""
    if destination:
        if faults is not None and faults.active:
            raise UsageError(
                "--fail-rate and --slow-rate are injected by the reference destination this "
                "command starts; with --destination, start it yourself with "
                "`nat-harness serve --fail-rate ... --slow-rate ...`"
            )
        yield destination, False
        return
    with embedded_destination(api_key, faults=faults if faults and faults.active else None) as url:
        yield url, True


def _listen(host: str, port: int) -> socket.socket:
    try:
        return socket.create_server((host, port), reuse_port=False, backlog=2048)
    except OSError as error:
        raise UsageError(
            f"cannot listen on {host}:{port}: {error.strerror}; pick another --port (0: any free)"
        ) from None


def _status_line(simulator: SegmentSimulator) -> str:
    counts = simulator.journal.counts()
    return (
        f"accepted {counts['accepted']}  filtered {counts['filtered']}  "
        f"delivered {counts['delivered']}  retried {counts['retried']}  "
        f"dropped {counts['dropped']}  outstanding {simulator.outstanding()}"
    )


@contextlib.contextmanager
def _live_status(simulator: SegmentSimulator, console: Console) -> Iterator[None]:
    """A status line refreshed twice a second, only when stderr is a terminal."""
    if not console.is_terminal:
        yield
        return
    stop = threading.Event()
    with Live(_status_line(simulator), console=console, transient=False) as live:

        def refresh() -> None:
            while not stop.wait(0.5):
                live.update(_status_line(simulator))

        updater = threading.Thread(target=refresh, daemon=True)
        updater.start()
        try:
            yield
        finally:
            stop.set()
            updater.join(2)
            live.update(_status_line(simulator))


@simulate_app.command("segment")
def segment_command(
    destination: DestinationOption = None,
    api_key: ApiKeyOption = None,
    write_key: Annotated[
        str | None,
        typer.Option(
            help="Accept only this write key (in the body or as Basic writeKey:); any by default.",
            show_default=False,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address the tracking API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the tracking API; 0 picks a free one.")] = 8787,
    log: Annotated[
        Path | None,
        typer.Option(
            help="Append every journal entry to this JSON Lines file.", show_default=False
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Deliveries in flight at once.")] = 32,
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds before a delivery attempt times out.")
    ] = SEGMENT_TIMEOUT_S,
    time_scale: Annotated[
        str,
        typer.Option(
            help="How fast retries and delays fall due: 'instant' (jump to the next due retry "
            "when idle), 1 for real time, or a factor such as 60 (a simulated minute per "
            "second). Events keep their real receivedAt and timestamp."
        ),
    ] = "instant",
    dedup_window: Annotated[
        float,
        typer.Option(min=0.0, help="Real seconds a messageId is remembered for deduplication."),
    ] = 86400.0,
    duplicate_rate: Annotated[
        float, typer.Option(help="Share of events delivered twice (same messageId).")
    ] = 0.0,
    reorder_window: Annotated[
        float, typer.Option(help="Delay each delivery by 0 to this many simulated seconds.")
    ] = 0.0,
    seed: Annotated[
        int | None, typer.Option(help="Seed for duplicates, reordering and backoff jitter.")
    ] = None,
    journal_size: Annotated[
        int, typer.Option(min=1, help="Journal entries kept for GET /journal.")
    ] = 10_000,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Keep acknowledged events in this directory (SQLite) until they are delivered: "
            "a simulator started again on it delivers what the last one left. Default: a new "
            "temporary directory, removed at the stop unless events are kept in it.",
            show_default=False,
        ),
    ] = None,
    drain_timeout: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="On Ctrl-C or SIGTERM, seconds to go on delivering what is queued; the rest is "
            "kept in --data for the next start.",
        ),
    ] = 5.0,
    fail_rate: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Reference destination only: share answered --fail-status."
        ),
    ] = 0.0,
    fail_status: Annotated[
        int, typer.Option(help="Reference destination only: status of injected failures.")
    ] = 503,
    slow_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Reference destination only: share answered late."),
    ] = 0.0,
    slow_seconds: Annotated[
        float, typer.Option(help="Reference destination only: how late a slow answer is.")
    ] = 6.0,
    record: Annotated[
        Path | None,
        typer.Option(
            help="Record every delivery attempt and its answer here (JSON Lines, the key "
            "masked), for nat-harness replay.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run Segment's tracking API locally and deliver identify calls as Segment does.

    Deduplication, timestamp correction, integrations, retries on a virtual clock, duplicates,
    reordering and failures on demand, and a journal of what happened to every event. What it
    acknowledged is kept in --data until delivered, across a stop or a crash.

    Example:

        nat-harness simulate segment --port 8787 --fail-rate 0.2 --data ./segment-data

        curl -u mywritekey: -H 'Content-Type: application/json' \\
          http://127.0.0.1:8787/v1/identify \\
          -d '{"userId":"u1","traits":{"email":"peter@example.com"}}'

        curl 'http://127.0.0.1:8787/journal?status=delivered'
    """
    key = _api_key(destination, api_key)
    scale = parse_time_scale(time_scale)
    destination_faults = Faults(fail_rate, fail_status, slow_rate, slow_seconds, seed)
    delivery_faults = DeliveryFaults(duplicate_rate, reorder_window, seed)
    console = Console(stderr=True)
    with _StopRequests() as stop, _data_directory(data) as data_dir:
        listener = _listen(host, port)
        with (
            contextlib.closing(listener),
            _destination_url(destination, key, destination_faults) as (url, embedded),
        ):
            simulator = SegmentSimulator(
                SegmentSimulatorConfig(
                    DeliveryEndpoint.at(url, key, timeout=timeout),
                    write_key=write_key,
                    concurrency=concurrency,
                    time_scale=scale,
                    dedup_window=dedup_window,
                    faults=delivery_faults,
                    journal_size=journal_size,
                    log_path=log,
                    data_dir=data_dir.path,
                )
            )
            recording = _recording(record, simulator, url, key)
            try:
                simulator.start()
                _print_banner(listener, embedded, key, simulator, time_scale, log)
                server = uvicorn.Server(
                    uvicorn.Config(
                        create_ingest_app(simulator),
                        access_log=False,
                        log_level="warning",
                        lifespan="off",
                    )
                )
                with _live_status(simulator, console):
                    stop.on_first(server)
                    if not stop.requested.is_set():
                        server.run(sockets=[listener])
                    _drain(simulator, drain_timeout, stop)
            finally:
                shutdown = simulator.stop()  # at once, if something failed before the drain
                data_dir.keep = data_dir.keep or shutdown.kept > 0
                if recording is not None:
                    recording.close()
                    console.print(f"Recorded {recording.count} deliveries to {record}")
        _print_shutdown(shutdown, simulator)


def _recording(
    path: Path | None, simulator: SegmentSimulator, url: str, key: str
) -> RecordingWriter | None:
    """With --record, a writer that every delivery attempt is appended to."""
    if path is None:
        return None
    writer = RecordingWriter(path, url)
    endpoint = urlsplit(url)
    simulator.delivery.on_exchange = post_recorder(
        writer, endpoint.path or "/", delivery_headers(key)
    )
    return writer


class _StopRequests:
    """SIGINT and SIGTERM alike ask for a clean stop (exit 0): the first one stops the server
    and starts the drain, the next one cuts the drain short.

    uvicorn takes both signals while it serves and raises them again once it has stopped; they
    land here then, so neither kills the process (SIGTERM used to end it with 143).
    """

    def __init__(self) -> None:
        self.received: list[str] = []
        self.requested = threading.Event()
        self.again = threading.Event()
        self._server: uvicorn.Server | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequests:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def on_first(self, server: uvicorn.Server) -> None:
        """Stop `server` on the first request (it may have come already)."""
        self._server = server
        if self.requested.is_set():
            server.should_exit = True

    def _handle(self, signum: int, frame: object) -> None:
        self.received.append(signal.Signals(signum).name)
        if self.requested.is_set():
            self.again.set()
        self.requested.set()
        if self._server is not None:
            self._server.should_exit = True


@dataclass
class _DataDirectory:
    path: Path
    temporary: bool
    keep: bool = True


@contextlib.contextmanager
def _data_directory(given: Path | None) -> Iterator[_DataDirectory]:
    """`--data`, or a new temporary directory that is removed at the end unless it keeps
    events for the next start."""
    if given is not None:
        yield _DataDirectory(given, temporary=False)
        return
    directory = _DataDirectory(Path(tempfile.mkdtemp(prefix="nat-simulate-")), temporary=True)
    directory.keep = False
    try:
        yield directory
    finally:
        if not directory.keep:
            shutil.rmtree(directory.path, ignore_errors=True)


def _drain(simulator: SegmentSimulator, seconds: float, stop: _StopRequests) -> None:
    """Deliver what is queued for up to `seconds`, saying so; a second signal cuts it short."""
    queued = simulator.tally().queued
    if queued and seconds > 0 and not stop.again.is_set():
        why = stop.received[0] if stop.received else "the server's end"
        print(
            f"Stopping on {why}: {queued} events still to deliver; delivering for up to "
            f"{seconds:g} s (Ctrl-C again keeps them for the next start)",
            flush=True,
        )
    simulator.stop(seconds, interrupted=stop.again)


def _print_banner(
    listener: socket.socket,
    embedded: bool,
    key: str,
    simulator: SegmentSimulator,
    time_scale: str,
    log: Path | None,
) -> None:
    bound_host, bound_port = listener.getsockname()[:2]
    base = f"http://{bound_host}:{bound_port}"
    print(f"Segment tracking API on {base}/v1/{{identify,track,page,...,batch}}", flush=True)
    where = "reference destination (temporary database)" if embedded else "destination"
    shown = simulator.config.destination.shown_url
    print(f"Delivering identify calls to the {where} at {shown}", flush=True)
    if embedded:
        print(
            f"  read it back: curl -u {_shown_key(key)}: {read_api_base_of(shown)}/contacts/EMAIL",
            flush=True,
        )
    config = simulator.config
    print(
        f"Concurrency {config.concurrency}, timeout {config.destination.timeout:g} s, time scale "
        f"{time_scale}; journal: {base}/journal?messageId=ID&status=delivered"
        + (f", log {log}" if log else ""),
        flush=True,
    )
    restored = simulator.tally().restored
    print(
        f"Data: {simulator.outbox.directory} (acknowledged events, SQLite)"
        + (f"; delivering {restored} events kept by an earlier run" if restored else ""),
        flush=True,
    )


def _shown_key(key: str) -> str:
    """The API key as the banner may show it: the built-in local key (no secret: it is in the
    README), else where the user put theirs, never the key itself."""
    if key == _LOCAL_KEY:
        return key
    return '"$NAT_API_KEY"' if os.environ.get("NAT_API_KEY") == key else "YOUR_API_KEY"


def _print_shutdown(shutdown: Shutdown, simulator: SegmentSimulator) -> None:
    tally = shutdown.tally
    print(
        f"Stopped. accepted {tally.accepted}, restored {tally.restored}: filtered "
        f"{tally.filtered}, delivered {tally.delivered}, dropped {tally.dropped}, kept "
        f"{shutdown.kept} (retries {simulator.journal.counts()['retried']})",
        flush=True,
    )
    if shutdown.kept:
        print(
            f"Kept {shutdown.kept} events in {shutdown.data_dir}: start again with --data "
            f"{shutdown.data_dir} to deliver them",
            flush=True,
        )


def _start_time(text: str | None, days: float) -> datetime:
    if text is None:
        now = datetime.now(UTC).replace(microsecond=0)
        return now - timedelta(days=days)
    moment = parse_iso_instant(text)
    if moment is None:
        raise UsageError(
            f"--start {text!r} is not an ISO 8601 date-time: use e.g. 2024-05-01T00:00:00Z"
        )
    return moment


@simulate_app.command("engage")
def engage_command(
    audience: Annotated[
        str,
        typer.Option(
            help="The audience's name; its key is snake_cased as Engage does.", show_default=False
        ),
    ],
    destination: DestinationOption = None,
    api_key: ApiKeyOption = None,
    population: Annotated[int, typer.Option(help="Profiles in the Engage space.")] = 1000,
    days: Annotated[float, typer.Option(help="Simulated days of syncs after the first.")] = 7.0,
    churn: Annotated[
        float, typer.Option(help="Share of members leaving per simulated day (as many join).")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed for profiles, ids, membership and traits.")] = 0,
    tag: Annotated[
        str | None,
        typer.Option(
            help="Put +TAG in every email and .TAG on every messageId, so that runs against one "
            "long-lived destination never collide. Default: a new tag per run with "
            "--destination, none with the built-in one; '' for none.",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Simulated time of the first sync (ISO 8601); default: --days ago.",
            show_default=False,
        ),
    ] = None,
    computed_traits: Annotated[
        bool, typer.Option(help="Also sync computed traits (a number and a string).")
    ] = True,
    check: Annotated[
        bool,
        typer.Option(
            help="Afterwards, check the destination's user properties (reference read API)."
        ),
    ] = True,
    concurrency: Annotated[int, typer.Option(min=1, help="Deliveries in flight at once.")] = 32,
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds before a delivery attempt times out.")
    ] = SEGMENT_TIMEOUT_S,
    log: Annotated[
        Path | None,
        typer.Option(
            help="Append every journal entry to this JSON Lines file.", show_default=False
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Replay Engage audience syncs into a Nat destination and check the result.

    An initial sync of every member, then only changes every two to three simulated hours;
    afterwards the destination's user properties must equal the audience membership.

    Example:

        nat-harness simulate engage --audience "Order Completed Last 30 Days" \\
          --population 1000 --days 7 --churn 0.1 --seed 42

        nat-harness simulate engage --destination http://127.0.0.1:8765 --api-key secret \\
          --audience "Trial Ending Soon" --no-computed-traits
    """
    key = _api_key(destination, api_key)
    config = EngageConfig(
        audience=audience,
        population=population,
        days=days,
        churn=churn,
        seed=seed,
        computed_traits=computed_traits,
        tag=_engage_tag(tag, destination),
    )
    console = Console(stderr=True)
    simulation = EngageSimulation(config, start=_start_time(start, days))
    expected_syncs = 1 + int(days * 24 / 2.5)
    with (
        _destination_url(destination, key, None) as (url, _),
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("Engage syncs", total=expected_syncs)

        def on_sync(sync: Sync) -> None:
            progress.update(task, advance=1, total=max(expected_syncs, sync.number))

        summary = run_engage(
            simulation,
            DeliveryEndpoint.at(url, key, timeout=timeout),
            concurrency=concurrency,
            log_path=log,
            check=check,
            on_sync=on_sync,
        )
    if json_output:
        print(orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_engage_summary(summary, audience, population, computed_traits)
    if summary.check is not None and not summary.check.ok:
        raise typer.Exit(1)


def _engage_tag(given: str | None, destination: str | None) -> str:
    """The run's tag: the one given, else a new one against a destination that outlives the
    run (as `nat-harness run` tags), else none (the built-in destination starts empty)."""
    if given is not None:
        return given
    return "e" + secrets.token_hex(3) if destination else ""


def _print_engage_summary(
    summary: EngageSummary, audience: str, population: int, traits: bool
) -> None:
    out = sys.stdout.write
    out(f'Engage audience "{audience}" -> traits.{summary.audience_key}\n')
    if summary.tag:
        out(f"Tag:        +{summary.tag} on every email, .{summary.tag} on every messageId\n")
    out(f"Syncs:      {summary.syncs} ({summary.first_sync_at} to {summary.last_sync_at})\n")
    out(
        f"Calls sent: {summary.calls} (delivered {summary.delivered}, retried "
        f"{summary.retried}, dropped {summary.dropped})\n"
    )
    out(
        f"Members:    {summary.members} of {population} profiles "
        f"({summary.initial_members} at the first sync); entered {summary.entered}, "
        f"exited {summary.exited}\n"
    )
    if traits:
        out(f"Traits:     lifetime_orders, favorite_category; {summary.trait_updates} updates\n")
    report = summary.check
    if report is None:
        out("Check:      skipped (--no-check)\n")
    elif report.ok:
        out(
            f"Check:      OK, the user properties of all {report.checked} profiles equal the "
            "audience membership and computed traits\n"
        )
    else:
        out(f"Check:      FAILED, {len(report.mismatches)} user properties differ:\n")
        for mismatch in report.mismatches[:20]:
            out(f"  {mismatch.describe()}\n")
        if len(report.mismatches) > 20:
            out(f"  ... and {len(report.mismatches) - 20} more (--json lists them all)\n")
