"""Reading and writing ``splitexit.profile/1`` files, and the bundled example."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from splitexit._boundary import atomic_write_text, read_mapping
from splitexit.profile._model import Profile
from splitexit.profile._schema import profile_from_mapping

__all__ = ["EXAMPLE_PROFILE", "load_profile", "save_profile"]

EXAMPLE_PROFILE = "example"  # name that load_profile() maps to the bundled example


def load_profile(path: str | Path) -> Profile:
    """Load and validate a profile file; ``"example"`` loads the bundled example profile.

    >>> load_profile("example").num_blocks
    10
    """
    if str(path) == EXAMPLE_PROFILE and not Path(path).exists():
        bundled = resources.files("splitexit.profile") / "data" / "example_resnet20.json"
        with resources.as_file(bundled) as bundled_path:
            data = read_mapping(bundled_path, kind="profile")
        return profile_from_mapping(data, source="example profile")
    file = Path(path)
    return profile_from_mapping(read_mapping(file, kind="profile"), source=str(file))


def save_profile(profile: Profile, path: str | Path) -> None:
    """Write ``profile`` as JSON, atomically."""
    atomic_write_text(Path(path), json.dumps(profile.to_mapping(), indent=1) + "\n")
