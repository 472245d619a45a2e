"""Multi-tier topologies: tiers, links, YAML files and the bundled presets."""

from splitexit.topology._load import load_topology, preset_names
from splitexit.topology._model import Link, Overheads, Tier, Topology

__all__ = ["Link", "Overheads", "Tier", "Topology", "load_topology", "preset_names"]
