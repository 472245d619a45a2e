"""Where checkpoints live: a user cache folder, one run folder per hash of (model source,
data, hyperparameters), so that changing any of them trains anew instead of failing or,
worse, reusing a stale checkpoint; the same inputs find their finished (or half-finished,
resumable) checkpoints again from any working directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.datasets import data_fingerprint
from splitexit.errors import InputError
from splitexit.nets import model_source_hash

__all__ = [
    "CACHE_ENV",
    "cache_key",
    "cache_root",
    "current_cache_key",
    "profile_run_dir",
    "run_dir",
    "training_record",
]

CACHE_ENV = "SPLITEXIT_CACHE"


@validate_params({"cache": [PathLike(), None]})
def cache_root(cache: str | Path | None = None) -> Path:
    """``cache``, else ``$SPLITEXIT_CACHE``, else ``~/.cache/splitexit`` (XDG_CACHE_HOME)."""
    if cache is not None:
        return Path(cache).expanduser()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "splitexit"


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    return value


def training_record(**hyperparameters: Any) -> dict[str, Any]:
    """The hyperparameters as JSON-ready values (``TrainConfig`` becomes a mapping)."""
    return {k: _jsonable(v) for k, v in sorted(hyperparameters.items())}


@validate_params(
    {
        "model": [InstanceOf(str)],
        "dataset": [InstanceOf(str)],
        "hyperparameters": [InstanceOf(dict)],
    }
)
def cache_key(model: str, dataset: str, hyperparameters: dict[str, Any]) -> str:
    """SHA-256 of the model's source, the data's content and the hyperparameters.

    >>> a = cache_key("resnet8", "digits", {"epochs": 1})
    >>> a == cache_key("resnet8", "digits", {"epochs": 2}), len(a)
    (False, 64)
    """
    digest = hashlib.sha256()
    digest.update(model_source_hash(model).encode())
    digest.update(data_fingerprint(dataset).encode())
    digest.update(
        json.dumps(training_record(**hyperparameters), sort_keys=True, allow_nan=False).encode()
    )
    return digest.hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", Path(text.split(":")[0]).stem or text)[:40]


@validate_params(
    {
        "root": [PathLike()],
        "model": [InstanceOf(str)],
        "dataset": [InstanceOf(str)],
        "key": [InstanceOf(str)],
    }
)
def run_dir(root: Path, model: str, dataset: str, key: str) -> Path:
    """``ROOT/<model>-<dataset>-<key[:16]>``: readable, and unique per key."""
    return root / f"{_slug(model)}-{_slug(dataset)}-{key[:16]}"


def current_cache_key(profile: Any) -> str | None:
    """The profile's recorded cache key, checked against its model source and data as they
    are now (``None`` for a profile that predates training records). A profile of an edited
    model file or of changed data is stale: an :class:`InputError`, never silently reused."""
    recorded = dict(getattr(profile, "training", None) or {})
    key = recorded.pop("cache_key", None)
    if not key:
        return None
    now = cache_key(profile.model, profile.dataset, recorded)
    if now != key:
        raise InputError(
            f"stale profile: the model source ({profile.model}) or the data "
            f"({profile.dataset}) changed since it was made (cache key {str(key)[:12]}, now "
            f"{now[:12]}); profile again"
        )
    return str(key)


def profile_run_dir(profile: Any, cache: str | Path | None = None) -> Path | None:
    """The cache folder of the run that made ``profile`` (its recorded ``cache_key``, checked
    by :func:`current_cache_key`), or ``None`` for a profile that predates training records."""
    key = current_cache_key(profile)
    if key is None:
        return None
    return run_dir(cache_root(cache), profile.model, profile.dataset, key)
