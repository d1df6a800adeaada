"""`harness.segment` exports exactly its public surface, each name defined where it is used."""

from __future__ import annotations

import importlib
import inspect

import harness.segment as package

MODULES = (
    "clock",
    "delivery",
    "engage",
    "faults",
    "ingest",
    "journal",
    "outbox",
    "pipeline",
    "retry",
)


def test_all_names_exist_once() -> None:
    assert len(set(package.__all__)) == len(package.__all__)
    assert all(hasattr(package, name) for name in package.__all__)


def test_every_public_name_of_every_module_is_exported() -> None:
    """Each module's `__all__` is reachable from the package, so users need one import."""
    for name in ("simulator", *MODULES):
        module = importlib.import_module(f"harness.segment.{name}")
        missing = set(module.__all__) - set(package.__all__)
        assert not missing, f"harness.segment.{name} exports {missing} but the package does not"


def test_exported_classes_and_functions_are_documented() -> None:
    for name in package.__all__:
        value = getattr(package, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"
