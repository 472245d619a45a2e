"""`splitexit profile` and `splitexit validate`: train, profile and validate real models (torch)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console

from splitexit._transaction import Outputs
from splitexit.cli._common import (
    check_device_option,
    check_json_out,
    check_png,
    check_threads,
    default_work_dir,
    torch_threads,
)
from splitexit.cli._common import user_errors as _user_errors
from splitexit.cli._outputs import check_output_file, is_stdout
from splitexit.errors import InputError

_WorkersOpt = Annotated[
    int | None,
    typer.Option(
        help="Processes of the local pool (default: the CPUs divided by --threads, at "
        "most one per task; 1: in this process)."
    ),
]

__all__ = ["profile_command", "register", "validate_command"]


def profile_command(
    out: Annotated[Path, typer.Option(help="Profile to write (JSON); the trace goes beside.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="Backbone: resnet8, resnet20, resnet56, ..., or your own FILE.py:FACTORY or "
            "MODULE:FACTORY (factory(num_classes=, in_channels=) -> blocks or (blocks, heads))."
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            help="Dataset: fashion-mnist, digits, an .npz (x, y) or a folder of class folders."
        ),
    ] = None,
    onnx: Annotated[
        Path | None,
        typer.Option(help="Profile a user's ONNX model instead (no torch; needs --data)."),
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="--onnx: samples, an .npz of input arrays (+ labels).")
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="--onnx: labels (.npy, or .npz with 'labels').")
    ] = None,
    input_shape: Annotated[
        list[str] | None, typer.Option(help="--onnx: NAME=1x3x32x32 for a dynamic input.")
    ] = None,
    cuts: Annotated[
        Literal["single", "all"],
        typer.Option(help="--onnx: blocks between 'single'-tensor cuts or 'all' cuts."),
    ] = "single",
    runs: Annotated[int, typer.Option(help="--onnx: timed batch-1 runs per block.")] = 50,
    operator: Annotated[
        str | None,
        typer.Option(help="--onnx: the operator variant this model is (I, Q, E, QE), for plan."),
    ] = None,
    timing: Annotated[
        str,
        typer.Option(
            metavar="[segments|whole]",
            help="--onnx: 'whole' scales the segment times to sum to the whole model's "
            "(fused int8 kernels).",
        ),
    ] = "segments",
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Checkpoints (default: the cache folder of these inputs); existing ones are "
            "reused."
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the Fashion-MNIST IDX files (or $SPLITEXIT_FASHION_MNIST_DIR)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Epochs of the joint training.")] = 8,
    separate_epochs: Annotated[int, typer.Option(help="Epochs of each separate model.")] = 1,
    separate_lr: Annotated[float, typer.Option(help="Peak learning rate, separate.")] = 0.02,
    separate_init: Annotated[
        str, typer.Option(help="Separate models start from the 'joint' weights or 'scratch'.")
    ] = "joint",
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (SGD, one-cycle).")] = 0.1,
    width: Annotated[float, typer.Option(help="Channel width multiplier.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of initialization, order, augmentation.")] = 0,
    device: Annotated[str, typer.Option(help="cpu, or cuda when present.")] = "cpu",
    precision: Annotated[
        str, typer.Option(help="Training precision: auto (bf16 where native), fp32, bf16.")
    ] = "auto",
    threads: Annotated[int, typer.Option(help="torch CPU threads (1 suits a shared machine).")] = 1,
    percentile: Annotated[float, typer.Option(help="Percentile of batch-1 timings.")] = 99.0,
    timing_samples: Annotated[int, typer.Option(help="Training samples timed.")] = 500,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
    cache: Annotated[
        Path | None,
        typer.Option(help="Checkpoint cache (or $SPLITEXIT_CACHE; default ~/.cache/splitexit)."),
    ] = None,
    executor: Annotated[
        Literal["local", "ray"],
        typer.Option(help="Where separate models train: local (a process pool) or ray."),
    ] = "local",
    workers: _WorkersOpt = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster ('auto' or host:port; default: start one).")
    ] = None,
    gpus_per_task: Annotated[float, typer.Option(help="GPUs per Ray task (untested).")] = 0.0,
    resize: Annotated[
        str | None, typer.Option(help="Resize your images to HxW first (e.g. 32x32).")
    ] = None,
    mean: Annotated[
        str | None, typer.Option(help="Per-channel mean after scaling to [0, 1] (0.5 or a,b,c).")
    ] = None,
    std: Annotated[str | None, typer.Option(help="Per-channel deviation (default: train's).")] = (
        None
    ),
    onnx_timing: Annotated[
        bool, typer.Option(help="Also time on ONNX Runtime (the workers' engine) and use it.")
    ] = True,
) -> None:
    """Train (joint and separate), profile, and write a splitexit.profile/1 file and trace;
    or, with --onnx, profile a user's ONNX model on ONNX Runtime (blocks between its cuts)."""
    with _user_errors():
        check_output_file(out, "--out")
        check_output_file(out.with_name(out.stem + ".trace.npz"), "--out (its trace)")
        if onnx is not None:
            how = (cuts, runs, percentile, timing, operator)
            _profile_onnx(onnx, data, out, labels, input_shape, how)
            return
        if model is None or dataset is None:
            raise InputError("give --model and --dataset (our backbones), or --onnx MODEL.onnx")
        check_threads(threads)
        check_device_option(device)
        from splitexit.datasets import DATASET_NAMES, Preprocessing, is_user_dataset
        from splitexit.nets import check_model

        check_model(model)  # unknown names fail before any import of the data
        if dataset not in DATASET_NAMES and not is_user_dataset(dataset):
            raise InputError(
                f"--dataset must be one of {', '.join(DATASET_NAMES)}, got {dataset!r} (or "
                "the path of an .npz file or of an image folder)"
            )
        preprocessing = Preprocessing.from_cli(resize=resize, mean=mean, std=std)
        torch_threads(threads)
        import dataclasses

        from splitexit.profiling import (
            ProfileSettings,
            RetimeSettings,
            profile_model,
            write_profile,
        )
        from splitexit.training import ExecutorSettings, TrainConfig, default_precision

        if precision == "auto":
            precision = default_precision(device)
        joint = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, precision=precision
        )
        settings = ProfileSettings(
            model=model,
            dataset=dataset,
            work_dir=work_dir,
            joint=joint,
            separate=dataclasses.replace(joint, epochs=separate_epochs, lr=separate_lr),
            separate_init=separate_init,
            width=width,
            data_dir=data_dir,
            device=device,
            percentile=percentile,
            timing_samples=timing_samples,
            preprocessing=preprocessing,
            cache=cache,
            executor=ExecutorSettings(
                executor=executor,
                workers=workers,
                ray_address=ray_address,
                gpus_per_task=gpus_per_task,
            ),
            onnx=RetimeSettings() if onnx_timing else None,
        )
        console = None if quiet else Console(stderr=True, highlight=False)
        profile, trace = profile_model(settings, console=console)
        trace_path = write_profile(profile, trace, out)
        print(f"wrote {out} and {trace_path}")
        print("branch accuracy (separate): " + " ".join(f"{a:.4f}" for a in profile.accuracy))
        if profile.accuracy_joint is not None:
            shown = " ".join(f"{a:.4f}" for a in profile.accuracy_joint)
            print(f"branch accuracy (joint):    {shown}")


def _profile_onnx(
    model: Path,
    data: Path | None,
    out: Path,
    labels: Path | None,
    input_shape: list[str] | None,
    how: tuple[str, int, float, str, str | None],
) -> None:
    if data is None:
        raise InputError("--onnx needs --data SAMPLES.npz (timing inputs and accuracy)")
    if out.suffix.lower() != ".json":
        raise InputError(f"--out {out}: the profile is a .json file")
    import dataclasses

    from splitexit.operators import OnnxProfileSettings, parse_input_shapes, profile_onnx
    from splitexit.profile import save_profile

    cuts, runs, percentile, timing, operator = how
    settings = OnnxProfileSettings(
        cuts=cuts, runs=runs, percentile=percentile, timing=timing, operator=operator,  # type: ignore[arg-type]
    )  # fmt: skip
    trace = out.with_suffix(".trace.npz")
    with Outputs() as outputs:  # the profile and its trace: both or neither
        profile = profile_onnx(
            model, data, out=out, labels=labels, input_shapes=parse_input_shapes(input_shape),
            settings=settings, trace_out=outputs.file(trace),
        )  # fmt: skip
        profile = dataclasses.replace(profile, trace=trace.name)
        save_profile(profile, outputs.file(out))
    total = profile.block_compute_s.sum()
    print(
        f"wrote {out}: {profile.num_blocks} blocks, whole model {total * 1e3:.3f} ms "
        f"({profile.reference_device}), accuracy {profile.accuracy[-1]:.4f}"
    )


def validate_command(
    profile: Annotated[Path, typer.Option(help="Profile written by `splitexit profile`.")],
    work_dir: Annotated[
        Path | None,
        typer.Option(help="The profile run's checkpoints (default: its cache folder)."),
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Random partitionings to train and measure.")] = 3,
    max_parts: Annotated[int, typer.Option(help="Partitions per partitioning, 2 to this.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the partitioning draw.")] = 0,
    init: Annotated[
        str, typer.Option(help="Final models start from the 'joint' weights or 'scratch'.")
    ] = "joint",
    final_epochs: Annotated[int, typer.Option(help="Epochs of each final model.")] = 1,
    final_lr: Annotated[float, typer.Option(help="Peak learning rate, final models.")] = 0.02,
    epochs: Annotated[
        int | None, typer.Option(help="Joint epochs of the profile run (default: recorded).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Batch size of the profile run (default: recorded).")
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Joint peak learning rate (default: recorded).")
    ] = None,
    width: Annotated[float, typer.Option(help="Width multiplier of the profile run.")] = 1.0,
    precision: Annotated[str, typer.Option(help="auto, fp32 or bf16 (as the profile run).")] = (
        "auto"
    ),
    data_dir: Annotated[Path | None, typer.Option(help="Folder of the dataset files.")] = None,
    device: Annotated[str, typer.Option(help="cpu, or cuda when present.")] = "cpu",
    threads: Annotated[int, typer.Option(help="torch CPU threads (1 suits a shared machine).")] = 1,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write every point and score as JSON here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Predicted vs measured plot (PNG).")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
    cache: Annotated[
        Path | None, typer.Option(help="Checkpoint cache (as `profile`'s --cache).")
    ] = None,
    executor: Annotated[
        Literal["local", "ray"],
        typer.Option(help="Where final models train: local (a process pool) or ray."),
    ] = "local",
    workers: _WorkersOpt = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster ('auto' or host:port; default: start one).")
    ] = None,
    gpus_per_task: Annotated[float, typer.Option(help="GPUs per Ray task (untested).")] = 0.0,
) -> None:
    """Train K final models and compare every estimator's predictions with their measurements."""
    with _user_errors():
        check_threads(threads)
        check_device_option(device)
        check_png(plot)
        check_json_out(json_out)
        torch_threads(threads)
        import dataclasses

        from rich.table import Table

        from splitexit.profile import load_profile
        from splitexit.profiling import ValidationSettings, render_validation_plot, validate
        from splitexit.training import ExecutorSettings, TrainConfig, default_precision

        loaded = load_profile(profile)
        recorded = (loaded.training or {}).get("joint")
        if precision == "auto":
            precision = default_precision(device)
        given: dict[str, Any] = {"epochs": epochs, "batch_size": batch_size, "lr": lr}
        try:
            base = TrainConfig(**recorded) if isinstance(recorded, dict) else None
        except TypeError as exc:
            raise InputError(
                f"{profile}: training.joint is not a training configuration: {exc}"
            ) from None
        joint = dataclasses.replace(  # the recorded run, with what was given on top
            base or TrainConfig(epochs=8, batch_size=128, lr=0.1, seed=0, precision=precision),
            **{name: value for name, value in given.items() if value is not None},
        )
        if work_dir is None and not (loaded.training or {}).get("cache_key"):
            work_dir = default_work_dir(loaded.model, loaded.dataset)  # an older profile
        settings = ValidationSettings(
            profile=profile,
            work_dir=work_dir,
            joint=joint,
            cache=cache,
            executor=ExecutorSettings(
                executor=executor,
                workers=workers,
                ray_address=ray_address,
                gpus_per_task=gpus_per_task,
            ),
            final=dataclasses.replace(joint, epochs=final_epochs, lr=final_lr),
            init=init,
            k=k,
            max_parts=max_parts,
            seed=seed,
            width=width,
            data_dir=data_dir,
            device=device,
        )
        console = None if quiet else Console(stderr=True, highlight=False)
        result = validate(settings, console=console)
        table = Table(title=f"{k} final models x {len(result.thresholds)} thresholds (test split)")
        for column in ("estimator", "acc MAE", "acc max", "acc slope", "acc R2"):
            table.add_column(column, justify="right")
        for column in ("exit MAE", "exit max", "exit slope", "exit R2"):
            table.add_column(column, justify="right")
        for name in result.predicted:
            row = [name + (" *" if name == result.best else "")]
            for fit in (result.accuracy_fit[name], result.exit_rate_fit[name]):
                row += [f"{fit.mae * 100:.2f} pp", f"{fit.max_error * 100:.2f} pp"]
                row += [f"{fit.slope:.3f}", f"{fit.r2:.3f}"]
            table.add_row(*row)
        human = sys.stderr if is_stdout(json_out) else sys.stdout  # stdout may hold the JSON
        Console(file=human, width=None if human.isatty() else 120).print(table)
        shown = "; ".join("P=[" + ",".join(str(b + 1) for b in p) + "]" for p in result.partitions)
        print(f"partitionings: {shown}", file=human)
        print(f"best (lowest accuracy MAE): {result.best}", file=human)
        with Outputs() as out:  # all or none
            if json_out is not None:
                out.write_json(json_out, result.to_dict(), indent=1)
            if plot is not None:
                render_validation_plot(result, out.file(plot))
        for path in out.targets:
            print(f"wrote {path}", file=human)


def register(app: typer.Typer) -> None:
    """Add `profile` and `validate` to ``app``."""
    app.command("profile")(profile_command)
    app.command("validate")(validate_command)
