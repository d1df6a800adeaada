"""Every entry point is configured by one frozen record that checks itself in one way: a bad
value raises `SettingError` naming the record's own field, which the CLI turns into its option."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from harness.config import RunConfig
from harness.errors import SettingError, option_words
from harness.load.launcher import LoadConfig
from harness.segment.delivery import DeliveryEndpoint
from harness.segment.engage import EngageConfig
from harness.segment.simulator import SegmentSimulatorConfig
from reference_impl.app import Faults
from reference_impl.server import ServerConfig

ENDPOINT = DeliveryEndpoint.at("http://127.0.0.1:9/segment", "key")
SERVER = {"api_key": "key", "db_path": "nat.db"}
BAD_VALUES: list[tuple[type, dict[str, Any], str]] = [
    (RunConfig, {"target": "ftp://nat.example"}, "target"),
    (RunConfig, {"concurrency": 0}, "concurrency"),
    (RunConfig, {"target": "http://127.0.0.1:9"}, "api_key"),
    (LoadConfig, {"target": "nat.example"}, "target"),
    (LoadConfig, {"users": 0}, "users"),
    (LoadConfig, {"sequence_share": 1.5}, "sequence_share"),
    (LoadConfig, {"timeout": 0}, "timeout"),
    (EngageConfig, {"audience": "!!!"}, "audience"),
    (EngageConfig, {"audience": "A", "initial_share": 1.0}, "initial_share"),
    (SegmentSimulatorConfig, {"destination": ENDPOINT, "concurrency": 0}, "concurrency"),
    (SegmentSimulatorConfig, {"destination": ENDPOINT, "time_scale": -1.0}, "time_scale"),
    (SegmentSimulatorConfig, {"destination": ENDPOINT, "journal_size": 0}, "journal_size"),
    (ServerConfig, {**SERVER, "api_key": ""}, "api_key"),
    (ServerConfig, {**SERVER, "day_timezone": "Mars/Olympus"}, "day_timezone"),
    (ServerConfig, {**SERVER, "workers": 0}, "workers"),
    (ServerConfig, {**SERVER, "port": 70000}, "port"),
    (Faults, {"fail_rate": 2.0}, "fail_rate"),
    (Faults, {"fail_status": 99}, "fail_status"),
]


@pytest.mark.parametrize(
    ("record", "values", "setting"),
    BAD_VALUES,
    ids=[f"{record.__name__}-{setting}" for record, _, setting in BAD_VALUES],
)
def test_a_bad_setting_is_refused_by_name(
    record: type, values: dict[str, Any], setting: str
) -> None:
    with pytest.raises(SettingError) as error:
        record(**values)
    assert error.value.setting == setting
    assert setting in {field.name for field in dataclasses.fields(record)}
    assert "--" not in error.value.problem  # library words: the CLI names the option
    assert option_words(error.value).startswith(f"--{setting.replace('_', '-')} ")


@pytest.mark.parametrize(
    "record",
    [
        RunConfig(),
        LoadConfig(),
        EngageConfig("Trial Ending Soon"),
        SegmentSimulatorConfig(ENDPOINT),
        ServerConfig("key", "nat.db"),
    ],
    ids=lambda record: type(record).__name__,
)
def test_each_record_is_frozen(record: Any) -> None:
    field = dataclasses.fields(record)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, field, getattr(record, field))


def test_the_server_config_reaches_worker_processes_whole() -> None:
    """uvicorn pickles the app factory, config included, into each worker process."""
    config = ServerConfig("key", "nat.db", workers=2, faults=Faults(fail_rate=0.5, seed=3))
    assert pickle.loads(pickle.dumps(config)) == config
