"""Each package exports exactly its public surface, checked both ways (as httpx's
tests/test_exported_members.py does): every public name its `__init__.py` binds is in `__all__`,
and every name in `__all__` is bound there and resolves at run time.

The names a package binds are read from its source (imports from its own modules, definitions),
so a lazily importing package (`harness`) is judged like the others, and a name imported only for
the package's own use (`typing.Any`, `rich.Console`) is not mistaken for an export.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPOSITORY


def _packages() -> list[str]:
    """Every package the wheel ships (pyproject.toml) and every subpackage of them."""
    pyproject = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    found = []
    for top in pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]:
        found.append(top)
        package = importlib.import_module(top)
        found += [
            info.name
            for info in pkgutil.walk_packages(package.__path__, prefix=f"{top}.")
            if info.ispkg
        ]
    return sorted(found)


PACKAGES = _packages()


def _is_own(module: str | None, level: int, package: str) -> bool:
    return level > 0 or module == package or (module or "").startswith(f"{package}.")


def _bound_by_source(package: ModuleType) -> set[str]:
    """Public names `__init__.py` defines or imports from the package's own modules (at module
    level, in `if TYPE_CHECKING:` too); a submodule imported for its side effects is left out."""
    name = package.__name__
    submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    statements = list(ast.parse(Path(str(package.__file__)).read_text(encoding="utf-8")).body)
    names: set[str] = set()
    while statements:
        node = statements.pop()
        if isinstance(node, ast.If):
            statements += node.body + node.orelse
        elif isinstance(node, ast.ImportFrom) and _is_own(node.module, node.level, name):
            imported = {alias.asname or alias.name for alias in node.names}
            names |= imported - submodules if node.module == name else imported
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_exactly_what_the_package_binds(name: str) -> None:
    package = importlib.import_module(name)
    exported = package.__all__
    assert len(set(exported)) == len(exported), f"{name}.__all__ names something twice"
    bound = _bound_by_source(package)
    assert sorted(bound - set(exported)) == [], f"public in {name} but missing from __all__"
    assert sorted(set(exported) - bound) == [], f"in {name}.__all__ but not bound by it"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_export_resolves_and_is_documented(name: str) -> None:
    package = importlib.import_module(name)
    for exported in package.__all__:
        value = getattr(package, exported)  # a lazy package imports it now
        assert not isinstance(value, ModuleType), f"{name}.{exported} is a module"
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name}.{exported} has no docstring"
            home = importlib.import_module(value.__module__)
            assert getattr(home, value.__name__) is value, f"{name}.{exported} is a stale copy"


def test_a_lazy_package_refuses_an_unknown_name_as_python_would() -> None:
    import harness

    with pytest.raises(AttributeError, match="module 'harness' has no attribute 'nope'"):
        _ = harness.nope
