"""Executors: the same seeds give the same checkpoints in process and on Ray (CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from splitexit import InputError
from splitexit.training import ExecutorSettings, TrainConfig, TrainTask, run_tasks


def _tasks(work_dir: Path) -> list[TrainTask]:
    config = TrainConfig(epochs=1, batch_size=64, lr=0.05)
    return [
        TrainTask(
            kind="final",
            model="resnet8",
            dataset="digits",
            exits=exits,
            config=config,
            work_dir=work_dir,
            width=0.25,
        )
        for exits in ((0, 1), (1, 3))
    ]


def _weights(paths: list[str]) -> list[dict[str, torch.Tensor]]:
    return [torch.load(p, weights_only=False)["model"] for p in paths]


def test_executor_settings_refuse_unknown_executor() -> None:
    with pytest.raises(InputError, match="executor must be 'local' or 'ray'"):
        ExecutorSettings(executor="dask")


@pytest.mark.slow  # starts a Ray cluster and trains twice
def test_run_tasks_ray_gives_the_local_checkpoints(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    local = run_tasks(_tasks(tmp_path / "local"), ExecutorSettings())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_tasks(_tasks(tmp_path / "ray"), ExecutorSettings(executor="ray"))
    finally:
        ray.shutdown()
    assert [Path(p).name for p in remote] == [Path(p).name for p in local]
    for a, b in zip(_weights(local), _weights(remote), strict=True):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
