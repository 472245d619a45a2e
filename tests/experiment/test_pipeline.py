"""The library pipelines behind `export`, `testbed run` and `run` (the cheap, torch-free parts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splitexit.errors import InputError
from splitexit.experiment import export_configuration, resolve_configuration
from splitexit.planner import plan
from splitexit.profile import load_profile
from splitexit.topology import load_topology


def test_pipeline_resolve_best_is_the_plans_best() -> None:
    profile, topology = load_profile("example"), load_topology("mobile")
    assert (
        resolve_configuration("example", profile, topology) == plan(profile, topology).best.config
    )


def test_pipeline_resolve_reads_a_configuration_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps({"threshold": 0.4, "partition": [2, 5], "placement": ["smartphone", "cloud"]})
    )
    config = resolve_configuration(
        "example", load_profile("example"), load_topology("mobile"), path
    )
    assert (config.partition, config.thresholds) == ((1, 4), (0.4,))


def test_pipeline_resolve_per_exit_thresholds_with_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="per-exit-thresholds applies to --config best only"):
        resolve_configuration(
            "example", load_profile("example"), load_topology("mobile"), tmp_path / "c.json",
            per_exit_thresholds=True,
        )  # fmt: skip


def test_pipeline_export_without_checkpoint_names_the_profile_command(tmp_path: Path) -> None:
    profile, topology = load_profile("example"), load_topology("mobile")
    config = resolve_configuration("example", profile, topology)
    with pytest.raises(InputError, match="no joint checkpoint; `splitexit profile --model"):
        export_configuration("example", config, topology, tmp_path / "out", work_dir=tmp_path)
    assert not (tmp_path / "out").exists()  # nothing half-written
