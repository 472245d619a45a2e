"""Reading and writing ``splitexit.profile/1`` files, and the bundled profiles."""

from __future__ import annotations

from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from splitexit._boundary import atomic_write_text, dump_json, read_mapping
from splitexit._validation import (
    InstanceOf,
    PathLike,
    validate_params,
)
from splitexit.profile._model import Profile
from splitexit.profile._schema import profile_from_mapping

__all__ = [
    "BUNDLED_PROFILES",
    "DEFAULT_PROFILE",
    "EXAMPLE_PROFILE",
    "load_profile",
    "profile_path",
    "save_profile",
]

# Names that load_profile() maps to files shipped in splitexit/profile/data/.
BUNDLED_PROFILES = {
    # measured on this project's machine by `splitexit profile` (docs/profiling.md)
    "resnet20-fashion-mnist": "resnet20_fashion_mnist.json",
    # the same model and trace, compute re-timed on ONNX Runtime by `splitexit retime`
    # (what the runtime's workers execute; docs/runtime.md)
    "resnet20-fashion-mnist-ort": "resnet20_fashion_mnist_ort.json",
    # synthetic, for tests and examples (tools/make_example_profile.py)
    "example": "example_resnet20.json",
}
DEFAULT_PROFILE = "resnet20-fashion-mnist"
EXAMPLE_PROFILE = "example"

# Bundled files stay extracted for the life of the process (a no-op for plain installs).
_EXTRACTED = ExitStack()


@validate_params(
    {
        "spec": [PathLike()],
    }
)
def profile_path(spec: str | Path) -> Path:
    """The file behind ``spec``: an existing path, or the file of a bundled profile name."""
    path = Path(spec)
    if path.exists() or str(spec) not in BUNDLED_PROFILES:
        return path
    bundled = resources.files("splitexit.profile") / "data" / BUNDLED_PROFILES[str(spec)]
    return _EXTRACTED.enter_context(resources.as_file(bundled))


@validate_params(
    {
        "spec": [PathLike()],
    }
)
def load_profile(spec: str | Path) -> Profile:
    """Load and validate a profile file, or a bundled profile by name
    (``"resnet20-fashion-mnist"``, measured; ``"example"``, synthetic).

    >>> load_profile("example").num_blocks
    10
    """
    path = profile_path(spec)
    source = (
        f"profile {spec}" if str(spec) in BUNDLED_PROFILES and path != Path(spec) else str(path)
    )
    return profile_from_mapping(read_mapping(path, kind="profile"), source=source)


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "path": [PathLike()],
    }
)
def save_profile(profile: Profile, path: str | Path) -> None:
    """Write ``profile`` as JSON, atomically."""
    atomic_write_text(Path(path), dump_json(profile.to_mapping(), indent=1, where=str(path)))
