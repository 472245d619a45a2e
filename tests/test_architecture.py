"""The room table of docs/architecture.md, enforced on every import under src/splitexit.

``ALLOWED`` mirrors the table's "may import" column: a module of room R may import (at
module level, inside a function, or under ``TYPE_CHECKING``: the whole syntax tree is
scanned) splitexit modules of R itself and of the rooms in ``ALLOWED[R]``. Rooms that do not
exist yet (``operators``, ``study``) are listed so that their merges fit. Whoever changes the
table changes it here in the same commit.
"""

from __future__ import annotations

import ast
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "splitexit"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

PACKAGE = "__init__"  # the package itself: `import splitexit`
CLI = "cli"  # the cli/ package and __main__.py
_BASE = {"errors", "units", "_boundary", "_transaction", "_validation", "configuration"}
_MODEL_ROOMS = {
    "errors", "units", "_boundary", "_transaction", "_validation", "configuration", "topology",
    "profile", "perfmodel", "planner", "nets", "datasets", "training", "profiling", "spatial",
    "export", "operators", "runtime", "fidelity",
}  # fmt: skip

# room -> the rooms it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_validation": {"errors"},
    "units": {"errors", "_validation"},
    "_boundary": {"errors", "units"},
    "_transaction": {"errors", "_boundary"},
    "configuration": {"errors", "_validation"},
    "topology": {"units", "errors", "_boundary", "_validation"},
    "profile": {"errors", "_boundary", "_transaction", "_validation", "configuration"},
    "perfmodel": {"topology", "profile", "configuration", "errors", "_validation"},
    "planner": {
        "perfmodel",
        "topology",
        "profile",
        "configuration",
        "units",
        "errors",
        "_validation",
    },
    "nets": {"errors", "_validation"},
    "datasets": {"errors", "_validation"},
    "training": {"nets", "datasets", "errors", "_boundary", "_validation"},
    "profiling": {
        "nets",
        "datasets",
        "training",
        "profile",
        "perfmodel",
        "topology",
        "export",
        "configuration",
        "errors",
        "_boundary",
        "_transaction",
        "_validation",
    },
    "spatial": {"errors", "units", "_boundary", "_transaction", "_validation"},
    "export": {
        "nets",
        "training",
        "profile",
        "topology",
        "configuration",
        "errors",
        "_boundary",
        "_transaction",
        "_validation",
    },
    "operators": {
        "profile",
        "configuration",
        "errors",
        "_boundary",
        "_transaction",
        "units",
        "_validation",
    },
    "runtime": {"export", "operators", "topology", "datasets"} | _BASE,
    "fidelity": {"perfmodel", "planner", "profile", "topology"} | _BASE,
    "reports": _MODEL_ROOMS,
    "experiment": _MODEL_ROOMS | {"reports"},
    "study": {"operators", "runtime", "reports", "profile", "topology", "fidelity", "planner"}
    | {"perfmodel"}
    | _BASE,
    CLI: _MODEL_ROOMS | {"reports", "experiment", "study", PACKAGE},
    PACKAGE: {"errors", "configuration", "perfmodel", "planner", "profile", "topology", "units"},
}

# rooms that never import torch, not even inside a function: the planner and a tier worker
TORCH_FREE = {
    "errors", "units", "_boundary", "_transaction", "_validation", "configuration", "topology",
    "profile", "perfmodel", "planner", "datasets", "fidelity", "runtime", "operators", "reports",
    PACKAGE,
}  # fmt: skip
_TORCH = {"torch", "torchvision", "stable_baselines3"}


def room_of(module: str) -> str | None:
    """The room of a dotted splitexit module name, None outside splitexit."""
    parts = module.split(".")
    if parts[0] != "splitexit":
        return None
    if len(parts) == 1:
        return PACKAGE
    top = parts[1]
    return CLI if top in ("cli", "__main__") else top


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every import anywhere in ``path``; relative ones resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module != "splitexit":
                found.append((node.lineno, module))
                continue
            # `from splitexit import training` imports a room; `import InputError`, the package
            for alias in node.names:
                is_room = (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").is_file()
                found.append((node.lineno, f"splitexit.{alias.name}" if is_room else module))
    return found


@cache
def modules() -> tuple[Path, ...]:
    return tuple(sorted(SRC.rglob("*.py")))


def _room_of_file(path: Path) -> str:
    room = room_of(_module_name(path))
    assert room is not None
    return room


def test_architecture_every_room_is_in_the_table() -> None:
    missing = {_room_of_file(p) for p in modules()} - set(ALLOWED)
    assert not missing, f"rooms missing from ALLOWED (and docs/architecture.md): {missing}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_architecture_imports_follow_the_room_table(path: Path) -> None:
    room = _room_of_file(path)
    allowed = ALLOWED[room] | {room}
    bad = []
    for line, module in imported_modules(path):
        target = room_of(module)
        if target is not None and target not in allowed:
            bad.append(f"{path.name}:{line} imports {module} (room {target})")
    assert not bad, f"room {room} may import only {sorted(ALLOWED[room])}: {bad}"


@pytest.mark.parametrize(
    "path", [p for p in modules() if _room_of_file(p) in TORCH_FREE], ids=lambda p: p.name
)
def test_architecture_torch_free_rooms_never_import_torch(path: Path) -> None:
    bad = [
        f"{path.name}:{line} imports {module}"
        for line, module in imported_modules(path)
        if module.split(".")[0] in _TORCH
    ]
    assert not bad, bad


def test_architecture_table_has_no_cycle() -> None:
    def reach(room: str, seen: set[str]) -> set[str]:
        for other in ALLOWED.get(room, set()) - seen:
            seen.add(other)
            reach(other, seen)
        return seen

    cyclic = [r for r in ALLOWED if r != CLI and r in reach(r, set())]
    assert cyclic == [], f"rooms that may import themselves through others: {cyclic}"


def test_architecture_doc_lists_every_room_of_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z_]+)(?:/|\.py)?`", text, flags=re.MULTILINE))
    missing = set(ALLOWED) - rows - {PACKAGE}
    assert not missing, f"docs/architecture.md has no row for {sorted(missing)}"


@pytest.mark.parametrize(
    ("module", "room"),
    [
        ("splitexit", PACKAGE),
        ("splitexit.training._final", "training"),
        ("splitexit.cli.runtime", CLI),
        ("splitexit.__main__", CLI),
        ("splitexit.cli.plan", CLI),
        ("numpy", None),
    ],
)
def test_architecture_room_of_names(module: str, room: str | None) -> None:
    assert room_of(module) == room


def test_architecture_lazy_and_type_checking_imports_are_seen(tmp_path: Path) -> None:
    # a file that is not under SRC is named as if it were splitexit/fake/_x.py
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from splitexit.training import TrainConfig\n"
        "def f():\n    import splitexit.runtime\n    from . import _y\n"
    )
    fake = SRC / "fake" / "_x.py"
    found = {m for _, m in _imports_of_text(source, fake)}
    assert {"splitexit.training", "splitexit.runtime", "splitexit.fake"} <= found


def _imports_of_text(source: str, as_path: Path) -> list[tuple[int, str]]:
    import unittest.mock

    with unittest.mock.patch.object(Path, "read_text", return_value=source):
        return imported_modules(as_path)


def _pyproject() -> dict[str, Any]:
    with (SRC.parents[1] / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def test_packaging_version_has_one_source() -> None:
    import splitexit

    version = _pyproject()["project"]["version"]
    assert splitexit.__version__ == version
    assert f'"{version}"' not in (SRC / "__init__.py").read_text(encoding="utf-8")


def test_packaging_ships_py_typed() -> None:
    assert (SRC / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["splitexit"]


def test_packaging_runtime_extra_has_no_torch_and_all_has_every_extra() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]
    assert not [r for r in extras["runtime"] if r.lower().startswith("torch")]
    assert {"runtime", "train", "spatial", "all", "full", "dev"} <= set(extras)
    (everything,) = extras["all"]  # every extra but dev and the aliases
    named = everything.removeprefix("splitexit[").removesuffix("]").split(",")
    assert sorted(named) == sorted(set(extras) - {"all", "full", "dev"})
    assert extras["full"] == ["splitexit[all]"]
