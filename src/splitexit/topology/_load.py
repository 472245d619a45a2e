"""Loading topologies from YAML files or by preset name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from splitexit._boundary import read_mapping
from splitexit._validation import (
    PathLike,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.topology._model import Topology
from splitexit.topology._schema import topology_from_mapping

__all__ = ["load_topology", "preset_names"]

_PRESETS = resources.files("splitexit.topology") / "presets"


def preset_names() -> list[str]:
    """Names of the bundled topologies (``mobile``, ``iot``, ``mec``)."""
    return sorted(
        p.name.removesuffix(".yaml") for p in _PRESETS.iterdir() if p.name.endswith(".yaml")
    )


@validate_params(
    {
        "spec": [PathLike()],
    }
)
def load_topology(spec: str | Path) -> Topology:
    """Load a topology from a YAML file, or a bundled preset by name.

    An existing path wins over a preset of the same name.

    >>> load_topology("iot").tiers[0].name
    'raspberry-pi'
    """
    path = Path(spec)
    if path.is_file():
        return topology_from_mapping(read_mapping(path, kind="topology"), source=str(path))
    name = str(spec)
    if name in preset_names():
        preset = _PRESETS / f"{name}.yaml"
        with resources.as_file(preset) as preset_path:
            data = read_mapping(preset_path, kind="topology")
        return topology_from_mapping(data, source=f"preset {name}")
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.parent != Path("."):
        raise InputError(f"{spec}: no such topology file")
    raise InputError(
        f"topology {name!r} is neither a file nor a preset; presets: {', '.join(preset_names())}"
    )
