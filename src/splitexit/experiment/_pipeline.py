"""The library pipelines behind `splitexit export`, `splitexit testbed run` and `splitexit run`.

Each step is one function, called by the CLI (which only parses, calls, renders and maps
errors) and by :func:`~splitexit.experiment.run_experiment`:

- :func:`resolve_configuration`: ``"best"`` (plan now, as `splitexit plan` does by default)
  or a configuration file, read into the one ``Configuration`` type;
- :func:`export_configuration`: the ONNX partitions and manifest of a configuration, with the
  joint weights or a final model trained for it (:func:`export_net` is the export step alone);
- :func:`deploy_and_measure`: deploy an exported folder on the testbed, stream samples, and
  return the ``splitexit.measurement/1`` document.

None of them imports torch or gRPC at module level.

>>> from splitexit.profile import load_profile
>>> from splitexit.topology import load_topology
>>> best = resolve_configuration("example", load_profile("example"), load_topology("mobile"))
>>> best.num_partitions >= 1
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitexit._validation import Callable_, InstanceOf, Options, returned_type, validate_params
from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.profile import Profile
from splitexit.topology import Topology

if TYPE_CHECKING:
    from rich.console import Console

    from splitexit.datasets import DatasetSplits
    from splitexit.export import JointCheckpoint, Manifest
    from splitexit.nets import MultiExitNet
    from splitexit.runtime import TestbedOptions, TestbedSession, WorkerOptions
    from splitexit.training import FinalSettings

__all__ = [
    "ExportResult",
    "default_work_dir",
    "deploy_and_measure",
    "export_configuration",
    "export_net",
    "open_deployment",
    "profile_data",
    "resolve_configuration",
]

_PATH = InstanceOf(str, Path)


@validate_params({"model": [InstanceOf(str)], "dataset": [InstanceOf(str)]})
def default_work_dir(model: str, dataset: str) -> Path:
    """Where `splitexit profile` keeps its checkpoints, and later steps look for them."""
    return Path("runs") / f"{model}-{dataset}"


@validate_params({"profile": [InstanceOf(Profile)], "data_dir": [_PATH, None]})
def profile_data(profile: Profile, data_dir: str | Path | None = None) -> DatasetSplits:
    """The profile's dataset as it was profiled: the recorded preprocessing (resize, mean,
    deviation) applied, so that export and the runtime feed the network what it trained on.
    """
    from splitexit.datasets import Preprocessing, load_dataset  # numpy only, no torch

    return load_dataset(
        profile.dataset,
        data_dir=None if data_dir is None else Path(data_dir),
        preprocessing=Preprocessing.from_record(profile.preprocessing),
    )


@validate_params(
    {
        "spec": [InstanceOf(str)],
        "profile": [InstanceOf(Profile)],
        "topology": [InstanceOf(Topology)],
        "config": [InstanceOf(str, Path)],
        "per_exit_thresholds": [InstanceOf(bool)],
    }
)
def resolve_configuration(
    spec: str,
    profile: Profile,
    topology: Topology,
    config: str | Path = "best",
    *,
    per_exit_thresholds: bool = False,
) -> Configuration:
    """``"best"`` plans ``profile`` (named ``spec``) on ``topology`` with the defaults of
    `splitexit plan` (the trace estimator when the profile has a trace); anything else is a
    configuration file (`splitexit plan --json` output or one point)."""
    from splitexit.export import config_from_file

    if str(config) != "best":
        if per_exit_thresholds:
            raise InputError("--per-exit-thresholds applies to --config best only")
        return config_from_file(Path(config), topology, num_blocks=profile.num_blocks)
    from splitexit.planner import plan
    from splitexit.profile import load_profile_trace, profile_path

    trace = None if profile.trace is None else load_profile_trace(profile, profile_path(spec))
    return plan(profile, topology, trace=trace, per_exit_thresholds=per_exit_thresholds).best.config


@returned_type
@dataclass(frozen=True)
class ExportResult:
    """The manifest written into ``folder`` and where its weights came from (for people)."""

    manifest: Manifest
    folder: Path
    weights: str


@validate_params(
    {
        "net": [InstanceOf("splitexit.nets:MultiExitNet")],
        "configuration": [InstanceOf(Configuration)],
        "topology": [InstanceOf(Topology)],
        "profile": [InstanceOf(Profile)],
        "out": [_PATH],
    }
)
def export_net(
    net: MultiExitNet,
    configuration: Configuration,
    topology: Topology,
    profile: Profile,
    out: Path,
) -> Manifest:
    """Write the ONNX partitions of ``configuration`` of ``net`` and their manifest."""
    from splitexit.export import export_partitions, input_shape_from_bits

    in_channels = int(next(net.parameters()).shape[1])
    return export_partitions(
        net,
        partition=configuration.partition,
        placement=[topology.tiers[a].name for a in configuration.placement],
        threshold=configuration.thresholds,
        destination=topology.tiers[topology.destination].name,
        model=profile.model,
        dataset=profile.dataset,
        input_shape=input_shape_from_bits(profile.input_bits, in_channels),
        out_dir=Path(out),
    )


@validate_params(
    {
        "spec": [InstanceOf(str)],
        "configuration": [InstanceOf(Configuration)],
        "topology": [InstanceOf(Topology)],
        "out": [_PATH],
        "weights": [Options(("joint", "final"))],
        "work_dir": [_PATH, None],
        "final": [InstanceOf("splitexit.training:FinalSettings"), None],
        "console": [InstanceOf("rich.console:Console"), None],
    }
)
def export_configuration(
    spec: str,
    configuration: Configuration,
    topology: Topology,
    out: Path,
    *,
    weights: str = "joint",
    work_dir: Path | None = None,
    final: FinalSettings | None = None,
    console: Console | None = None,
) -> ExportResult:
    """Export ``configuration`` of the profile ``spec``'s model into ``out``: the joint
    checkpoint's weights (``work_dir/joint.pt``, else the bundled ones), or with
    ``weights="final"`` a model trained with only the configuration's exits (``final``;
    precision ``"auto"`` is resolved for its device; cached, progress on ``console``)."""
    from splitexit.export import bundled_checkpoint, load_profile_joint
    from splitexit.profile import load_profile

    profile = load_profile(spec)
    if profile.onnx is not None:  # a user's ONNX model: pieces by the operators, no torch
        return _export_pieces(spec, profile, configuration, topology, Path(out))
    folder = Path(work_dir) if work_dir is not None else None
    if folder is None:  # the run's cache folder when the profile records one, else runs/
        from splitexit.training import profile_run_dir

        folder = profile_run_dir(profile) or default_work_dir(profile.model, profile.dataset)
    if weights == "final" and final is None:
        from splitexit.training import FinalSettings

        final = FinalSettings()
    settings = final if weights == "final" else None
    has_joint = (folder / "joint.pt").exists() or bundled_checkpoint(spec) is not None
    if not has_joint and (settings is None or settings.init == "joint"):
        raise InputError(_no_checkpoint(folder / "joint.pt", spec, profile, folder))
    joint = load_profile_joint(profile, spec, folder) if has_joint else None
    if settings is None:
        assert joint is not None  # the joint source needs a checkpoint, checked above
        net, source = joint.net, f"joint ({joint.path})"
    else:
        net, source = _final_net(profile, configuration, folder, joint, settings, console)
    manifest = export_net(net, configuration, topology, profile, Path(out))
    return ExportResult(manifest=manifest, folder=Path(out), weights=source)


def _export_pieces(
    spec: str, profile: Profile, configuration: Configuration, topology: Topology, out: Path
) -> ExportResult:
    """The pieces of a profiled ONNX model (``profile.onnx``) cut at ``configuration``'s
    partition, with the runtime's manifest: no exit heads, no weights to choose."""
    from splitexit.operators import export_onnx_profile
    from splitexit.profile import profile_path
    from splitexit.runtime import export_pieces

    pieces = export_onnx_profile(profile, profile_path(spec), configuration.partition)
    manifest = export_pieces(pieces, configuration, topology, out)
    source = profile.onnx.path if profile.onnx is not None else profile.model
    return ExportResult(manifest=manifest, folder=out, weights=f"pieces of {source}")


def _no_checkpoint(checkpoint: Path, spec: str, profile: Profile, folder: Path) -> str:
    from splitexit.profile import profile_path

    source = profile_path(spec)
    target = source if source.exists() and source == Path(spec) else "PROFILE.json"
    return (
        f"{checkpoint}: no joint checkpoint; `splitexit profile --model {profile.model} "
        f"--dataset {profile.dataset} --out {target} --work-dir {folder}` trains one"
    )


def _final_net(
    profile: Profile,
    configuration: Configuration,
    folder: Path,
    joint: JointCheckpoint | None,
    settings: FinalSettings,
    console: Console | None,
) -> tuple[MultiExitNet, str]:
    """Train (or load the cached) final model of the configuration's partitioning."""
    from splitexit.training import default_precision, train_final_net

    if settings.precision == "auto":
        settings = dataclasses.replace(settings, precision=default_precision(settings.device))
    trained = train_final_net(
        model=profile.model,
        dataset=profile.dataset,
        partition=configuration.partition,
        work_dir=folder,
        joint=joint,
        settings=settings,
        console=console,
        data=profile_data(profile, settings.data_dir),  # with the recorded preprocessing
    )
    return trained.net, f"final ({trained.checkpoint})"


@validate_params(
    {
        "folder": [_PATH],
        "topology": [InstanceOf(Topology)],
        "profile": [InstanceOf(Profile)],
        "options": [InstanceOf("splitexit.runtime:TestbedOptions")],
        "profile_name": [InstanceOf(str)],
        "data_dir": [_PATH, None],
        "token": [InstanceOf(str), None],
        "sink_listen": [InstanceOf(str)],
        "data": [InstanceOf("splitexit.datasets:DatasetSplits"), None],
        "connect": [InstanceOf(Mapping), None],
        "worker_options": [InstanceOf("splitexit.runtime:WorkerOptions"), None],
        "progress": [Callable_(), None],
    }
)
def deploy_and_measure(
    folder: Path,
    topology: Topology,
    profile: Profile,
    options: TestbedOptions,
    *,
    profile_name: str,
    data: DatasetSplits | None = None,
    data_dir: Path | None = None,
    connect: Mapping[str, str] | None = None,
    token: str | None = None,
    sink_listen: str = "127.0.0.1:0",
    worker_options: WorkerOptions | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Deploy the export in ``folder`` on the testbed (local workers, or ``connect``: tier ->
    address with ``token``), stream the profiling split of the profile's dataset (``data``,
    else read from ``data_dir``), and return the ``splitexit.measurement/1`` document
    (``fidelity.measurement_from_mapping`` reads it into a ``Measurement``)."""
    from splitexit.runtime import run_testbed

    manifest, images, labels, pixels = _deployment_inputs(
        folder, profile, profile_name, data, data_dir
    )
    return run_testbed(
        manifest, Path(folder), topology, images, labels, pixels,
        options, profile_name=profile_name, connect=connect, token=token, progress=progress,
        worker_options=worker_options, sink_listen=sink_listen,
    )  # fmt: skip


def _deployment_inputs(
    folder: Path,
    profile: Profile,
    profile_name: str,
    data: DatasetSplits | None,
    data_dir: Path | None,
) -> tuple[Any, Any, Any, Any]:
    """(manifest, images, labels, pixel codec) of the export in ``folder`` for the testbed."""
    from splitexit.export import load_manifest
    from splitexit.runtime import PixelCodec

    path = Path(folder) / "manifest.json"
    manifest = load_manifest(path)
    if manifest.model != profile.model or manifest.dataset != profile.dataset:
        raise InputError(
            f"{path}: exports {manifest.model} on {manifest.dataset}, "
            f"the profile is {profile.model} on {profile.dataset}"
        )
    pixels: PixelCodec | None
    if profile.onnx is not None:  # a user's ONNX model: its own samples, float32 on the wire
        from splitexit.operators import onnx_profile_samples
        from splitexit.profile import profile_path

        images, labels = onnx_profile_samples(profile, profile_path(profile_name))
        pixels = None
    else:
        if data is None:
            data = profile_data(profile, None if data_dir is None else Path(data_dir))
        images, labels = data.profile.images, data.profile.labels
        pixels = PixelCodec(data.pixel_levels, data.mean, data.std)
    return manifest, images, labels, pixels


@validate_params(
    {
        "folder": [_PATH],
        "topology": [InstanceOf(Topology)],
        "profile": [InstanceOf(Profile)],
        "options": [InstanceOf("splitexit.runtime:TestbedOptions")],
        "profile_name": [InstanceOf(str)],
        "data": [InstanceOf("splitexit.datasets:DatasetSplits"), None],
    }
)
@contextmanager
def open_deployment(
    folder: Path,
    topology: Topology,
    profile: Profile,
    options: TestbedOptions,
    *,
    profile_name: str,
    data: DatasetSplits | None = None,
) -> Iterator[TestbedSession]:
    """The export in ``folder`` deployed on local workers, as a testbed session that
    measures the profiling split in blocks (``runtime.open_testbed``; interleaved runs)."""
    from splitexit.runtime import open_testbed

    manifest, images, labels, pixels = _deployment_inputs(folder, profile, profile_name, data, None)
    with open_testbed(
        manifest, Path(folder), topology, images, labels, pixels, options,
        profile_name=profile_name,
    ) as session:  # fmt: skip
        yield session
