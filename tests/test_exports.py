"""Each package exports exactly its public surface: every name in `__all__` resolves, once."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = ("schemas", "reference_impl", "scenarios", "harness", "harness.segment")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves_once(name: str) -> None:
    package = importlib.import_module(name)
    assert len(set(package.__all__)) == len(package.__all__)
    for exported in package.__all__:
        value = getattr(package, exported)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{exported} has no docstring"


def test_harness_names_are_the_ones_their_modules_define() -> None:
    import harness
    from harness.nat_simulator import NatSimulator
    from harness.runner import run

    assert harness.run is run
    assert harness.NatSimulator is NatSimulator
    assert sorted(dir(harness)) == sorted(harness.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = harness.nope
