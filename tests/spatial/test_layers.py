"""The sub-packages of ``splitexit.spatial`` import only downwards (read from the source, ast).

geometry <- devices <- methods <- experiments <- execution: a module may import its own layer
and the layers before it, never a later one, nor the ``splitexit.spatial`` package itself (which
re-exports every layer). Imports inside functions and ``TYPE_CHECKING`` blocks count too.
:func:`imported_modules` and :func:`layer_violations` take any package and layer order, so a
global architecture test can reuse them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path

import splitexit.spatial

LAYERS = ("geometry", "devices", "methods", "experiments", "execution")
PACKAGE = "splitexit.spatial"
ROOT = Path(splitexit.spatial.__file__).parent


def module_name(path: Path, root: Path, package: str) -> str:
    """Dotted name of the module in ``path`` (``__init__`` names its package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def imported_modules(path: Path, module: str) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """``(line, absolute module, names)`` of every import in the file, relative ones resolved.

    ``names`` are those of ``from module import a, b`` (empty for ``import module``).
    """
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = module.split(".")
                drop = node.level - 1 if is_package else node.level
                base = base[: len(base) - drop]
                target = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, target, tuple(alias.name for alias in node.names)


def layer_of(module: str, package: str, layers: Sequence[str]) -> int | None:
    """Index of the layer ``module`` belongs to; ``None`` outside them; -1 for the package."""
    if module == package:
        return -1
    if not module.startswith(package + "."):
        return None
    head = module[len(package) + 1 :].split(".")[0]
    return layers.index(head) if head in layers else None


def layer_violations(root: Path, package: str, layers: Sequence[str]) -> list[str]:
    """Every import from a layer module to a later layer or to the package itself."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root, package)
        source = layer_of(module, package, layers)
        if source is None or source < 0:
            continue
        for line, target, names in imported_modules(path, module):
            # ``from package import layer`` imports that layer, not the package.
            targets = [f"{target}.{name}" for name in names] if target == package else []
            targets = [t for t in targets if layer_of(t, package, layers) is not None]
            for imported in targets or [target]:
                rank = layer_of(imported, package, layers)
                if rank is not None and (rank < 0 or rank > source):
                    where = f"{path.relative_to(root)}:{line}"
                    found.append(f"{where}: {layers[source]} imports {imported}")
    return sorted(set(found))


def test_layers_every_module_sits_in_a_layer() -> None:
    loose = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if path.name != "__init__.py" or path.parent != ROOT
        if layer_of(module_name(path, ROOT, PACKAGE), PACKAGE, LAYERS) is None
    ]
    assert loose == []
    for layer in LAYERS:
        assert (ROOT / layer / "__init__.py").is_file()


def test_layers_import_only_downwards() -> None:
    assert layer_violations(ROOT, PACKAGE, LAYERS) == []


def test_layers_each_subpackage_declares_all() -> None:
    import importlib

    for layer in LAYERS:
        names = importlib.import_module(f"{PACKAGE}.{layer}").__all__
        assert names and len(names) == len(set(names))
        assert set(names) <= set(dir(importlib.import_module(f"{PACKAGE}.{layer}"))) | {
            "SplitEnv",
            "action_to_cuts",
            "DynamicResult",
            "bandwidth_traces",
            "dynamic_study",
        }


def test_layers_package_reexports_every_name_it_declares() -> None:
    import importlib

    spatial = importlib.import_module(PACKAGE)
    missing = [name for name in spatial.__all__ if getattr(spatial, name, None) is None]
    assert missing == []


def test_layers_checker_catches_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "geometry").mkdir()
    (tmp_path / "methods").mkdir()
    (tmp_path / "geometry" / "__init__.py").write_text("")
    (tmp_path / "methods" / "__init__.py").write_text("")
    (tmp_path / "methods" / "_ok.py").write_text("from ..geometry import x\n")
    (tmp_path / "geometry" / "_bad.py").write_text(
        "def f():\n    from pkg.methods._ok import y\n    from .. import methods\n"
    )
    (tmp_path / "geometry" / "_top.py").write_text("import pkg\n")
    found = layer_violations(tmp_path, "pkg", ("geometry", "methods"))
    assert found == [
        "geometry/_bad.py:2: geometry imports pkg.methods._ok",
        "geometry/_bad.py:3: geometry imports pkg.methods",
        "geometry/_top.py:1: geometry imports pkg",
    ]
