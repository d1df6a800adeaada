"""The Locust file of `nat-harness load`: seeded Nat traffic, every answer judged.

Use it through `nat-harness load`, or directly with Locust's own command line:

    NAT_API_KEY=secret locust -f "$(nat-harness load --print-locustfile)" \\
        --host http://127.0.0.1:8765 --headless -u 20 -r 20 -t 30s --nat-seed 7

`NatTraffic` sends bulk scenarios of the generator and, in a share of its turns, one of its own
deduplication sequences in order. A wrong answer is a Locust failure named by its kind, the
scenario and what differed, so Locust's failure table counts wrong calls, not only slow ones.
To add tasks of your own, subclass `NatUser` in your locustfile (it is abstract).
"""

from __future__ import annotations

import itertools
import random
import socket
import types
from collections.abc import Iterator
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from contract.delivery import SEGMENT_TIMEOUT_S
from contract.endpoints import SEGMENT_PATH
from harness.load.judge import judge_answer
from harness.load.summary import SUMMARY_VARIABLES, summary_of, write_summary
from harness.load.tally import Tally
from harness.load.traffic import Traffic, request_headers
from scenarios import Scenario, parse_mix
from scenarios.pools import Pools, make_pools

__all__ = ["NatTraffic", "NatUser"]

#: What this process has counted since its last report to the master.
_TALLY = Tally()
#: The whole run's counts, on the master (or on the one local process).
_RUN_TALLY = Tally()
_TRAFFIC: Traffic | None = None
_POOLS: Pools | None = None
_USER_NUMBERS = itertools.count()
_SHOWN_ANSWER_BYTES = 300


def _add_options(parser: Any) -> None:
    group = parser.add_argument_group("nat-harness")
    names = SUMMARY_VARIABLES
    group.add_argument("--nat-api-key", env_var="NAT_API_KEY", default="", help="The key.")
    group.add_argument("--nat-path", env_var=names["path"], default=SEGMENT_PATH)
    group.add_argument("--nat-seed", env_var=names["seed"], type=int, default=0)
    group.add_argument("--nat-mix", env_var=names["mix"], default="")
    group.add_argument(
        "--nat-sequence-share", env_var=names["sequence_share"], type=float, default=0.1
    )
    group.add_argument("--nat-user-rate", env_var=names["user_rate"], type=float, default=0.0)
    group.add_argument(
        "--nat-timeout", env_var=names["timeout"], type=float, default=SEGMENT_TIMEOUT_S
    )
    group.add_argument("--nat-summary", env_var=names["summary"], default="")


def _on_init(environment: Environment, **_: Any) -> None:
    global _POOLS
    options = environment.parsed_options
    if options is not None:
        NatUser.network_timeout = NatUser.connection_timeout = options.nat_timeout
        _POOLS = make_pools(options.nat_seed)  # the slow part of the traffic, before the run
    # gevent's loop caches the time; after this module's imports and the pools (seconds of work
    # before the loop runs), Locust's --run-time timer would start from that stale time and
    # end the run early.
    gevent.get_hub().loop.update_now()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _hooks(environment).report_to_master.add_listener(_report)
    elif isinstance(runner, MasterRunner):
        _hooks(environment).worker_report.add_listener(_receive)


def _report(client_id: str, data: dict[str, Any]) -> None:
    data["nat"] = _TALLY.take()


def _receive(client_id: str, data: dict[str, Any]) -> None:
    if "nat" in data:
        _RUN_TALLY.add(data["nat"])


def _on_quitting(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    if not isinstance(environment.runner, MasterRunner):
        _RUN_TALLY.add(_TALLY.take())
    options = environment.parsed_options
    if options is not None and options.nat_summary:
        write_summary(options.nat_summary, summary_of(environment, _RUN_TALLY))


def _hooks(environment: Environment | None = None) -> Any:
    """Locust's event hooks (untyped in Locust: reached through Any)."""
    return events if environment is None else environment.events


_hooks().init_command_line_parser.add_listener(_add_options)
_hooks().init.add_listener(_on_init)
_hooks().quitting.add_listener(_on_quitting)


def _traffic(environment: Environment) -> Traffic:
    """This process's traffic, made when its first user starts (the worker index is known then)."""
    global _TRAFFIC
    if _TRAFFIC is None:
        options = environment.parsed_options
        seed = options.nat_seed if options is not None else 0
        mix = parse_mix(options.nat_mix) if options is not None and options.nat_mix else None
        worker = max(0, getattr(environment.runner, "worker_index", 0))
        _TRAFFIC = Traffic(seed, worker, mix, pools=_POOLS)
    return _TRAFFIC


class NatUser(FastHttpUser):
    """A Segment sender: posts scenarios with Segment's headers and judges every answer."""

    abstract = True
    host = "http://127.0.0.1:8765"

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.traffic = _traffic(self.environment)
        self.number = next(_USER_NUMBERS)
        self.path = options.nat_path if options is not None else SEGMENT_PATH
        self.api_key = options.nat_api_key if options is not None else ""
        self.sequence_share = options.nat_sequence_share if options is not None else 0.1
        self.choices = random.Random(self.traffic.seeds.user(self.number, 0))
        self.own_sequences: Iterator[Any] = self.traffic.sequences_of(self.number)
        rate = options.nat_user_rate if options is not None else 0.0
        if rate > 0:
            self.wait_time = types.MethodType(constant_throughput(rate), self)  # type: ignore[method-assign]

    def send(self, scenario: Scenario, name: str) -> bool:
        """POST one scenario and judge the answer; False when it was not what the contract says."""
        request = scenario.request
        with self.client.post(
            self.path,
            data=request.body(),  # type: ignore[arg-type]  # bytes go out as they are
            headers=request_headers(scenario, self.api_key),
            name=name,
            catch_response=True,
        ) as response:
            # Counted once the exchange is over, as Locust counts it: a request cut short when
            # the run stops is in neither count.
            _TALLY.sent += 1
            status = response.status_code or 0
            if status == 0:
                kind = "timeout" if _timed_out(response.error) else "connection error"
                _TALLY.failed(kind, {"scenario": scenario.id, "error": str(response.error)})
                response.failure(f"{kind}: {response.error}")
                return False
            _TALLY.answered += 1
            body = response.content or b""
            mismatch = judge_answer(scenario.expect, status, body)
            _TALLY.judged += 1
            if mismatch is None:
                response.success()
                return True
            _TALLY.failed(
                mismatch.kind,
                {
                    "scenario": scenario.id,
                    "detail": mismatch.detail,
                    "status": status,
                    "answer": body[:_SHOWN_ANSWER_BYTES].decode("utf-8", errors="replace"),
                },
            )
            response.failure(f"{mismatch.kind}: {_family_id(scenario)}: {mismatch.summary}")
            return False


class NatTraffic(NatUser):
    """The generator's traffic in the run's mix, with ordered deduplication sequences between."""

    @task
    def next_call(self) -> None:
        if self.choices.random() < self.sequence_share:
            sequence = next(self.own_sequences)
            for step in sequence.steps:
                if not self.send(step, "sequence"):
                    break  # later steps expect what this one should have done
            return
        scenario = self.traffic.next_scenario()
        self.send(scenario, scenario.family)


def _family_id(scenario: Scenario) -> str:
    """The scenario's id without its serial number, so alike failures group in Locust's table."""
    return scenario.id.partition("#")[0]


def _timed_out(error: BaseException | None) -> bool:
    if isinstance(error, TimeoutError | socket.timeout):
        return True
    return error is not None and "timeout" in type(error).__name__.lower()
