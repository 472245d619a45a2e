"""The command line: parse, call the library, render, and turn user errors into exit status 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from splitexit._boundary import atomic_write_text
from splitexit.errors import InputError, SplitexitError
from splitexit.units import parse_duration

app = typer.Typer(
    name="splitexit",
    help="Plan DNN deployments that combine partitioning, early exit and placement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

USER_ERROR = 2


def _console() -> Console:
    """Stdout console; piped output gets 120 columns rather than rich's default of 80."""
    console = Console()
    return console if console.is_terminal else Console(width=120)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Print a SplitexitError as one line on stderr and exit with status 2."""
    try:
        yield
    except SplitexitError as exc:
        Console(stderr=True, highlight=False).print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(USER_ERROR) from None


def _min_accuracy(text: str) -> float:
    """``0.92`` or ``92%`` -> 0.92."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(
            f"--min-accuracy must be a fraction like 0.92 or a percentage like 92%, got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise InputError(f"--min-accuracy must be in [0, 1] (or 0% to 100%), got {text!r}")
    return value


def _max_latency(text: str) -> float:
    try:
        value = parse_duration(text)
    except InputError as exc:
        raise InputError(f"--max-latency: {exc}") from None
    if value <= 0:
        raise InputError(f"--max-latency must be > 0, got {text!r}")
    return value


@app.command("plan")
def plan_command(
    profile: Annotated[
        str,
        typer.Option(
            help="Profile file (splitexit.profile/1 JSON) or a bundled one: "
            "'resnet20-fashion-mnist' (measured) or 'example' (synthetic)."
        ),
    ] = "resnet20-fashion-mnist",
    topology: Annotated[
        str, typer.Option(help="Topology YAML file or preset name (mobile, iot, mec).")
    ] = "mobile",
    min_accuracy: Annotated[
        str | None,
        typer.Option(help="Solve P_lat: minimum latency with accuracy >= this (0.92 or 92%)."),
    ] = None,
    max_latency: Annotated[
        str | None,
        typer.Option(help="Solve P_acc: maximum accuracy with latency <= this (e.g. 300ms)."),
    ] = None,
    destination: Annotated[
        str | None, typer.Option(help="Tier that consumes the results (default: the topology's).")
    ] = None,
    accuracy: Annotated[
        str,
        typer.Option(
            help="Branch accuracies from 'separate' training (paper) or the 'joint' model."
        ),
    ] = "separate",
    solver: Annotated[
        str,
        typer.Option(help="'enumerate' all, 'exact' dynamic programming, or 'auto' (by size)."),
    ] = "auto",
    estimator: Annotated[
        str,
        typer.Option(
            help="'trace' (replay the profile's per-sample trace), 'paper' (full-configuration "
            "exit rates), or 'auto': trace when the profile names one."
        ),
    ] = "auto",
    per_exit_thresholds: Annotated[
        bool,
        typer.Option(
            "--per-exit-thresholds",
            help="One threshold per selected exit (|T|^(L-1) choices; needs --estimator trace).",
        ),
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the plan as JSON here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the Pareto plot (PNG) here.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Print every frontier point.")] = False,
) -> None:
    """Recommend (threshold, partitioning, placement) and show the latency/accuracy frontier."""
    with _user_errors():
        from splitexit.planner import plan
        from splitexit.profile import load_profile
        from splitexit.reports import pareto_plot_info, print_plan, render_pareto_plot
        from splitexit.topology import load_topology

        if accuracy not in ("separate", "joint"):
            raise InputError(f"--accuracy must be 'separate' or 'joint', got {accuracy!r}")
        if plot is not None and plot.suffix.lower() != ".png":
            raise InputError(f"--plot {plot}: the plot is a PNG file; give a name ending in .png")
        loaded = load_profile(profile)
        trace = None
        if estimator == "trace" or (estimator == "auto" and loaded.trace is not None):
            from splitexit.profile import load_profile_trace, profile_path

            trace = load_profile_trace(loaded, profile_path(profile))
        result = plan(
            loaded,
            load_topology(topology),
            min_accuracy=None if min_accuracy is None else _min_accuracy(min_accuracy),
            max_latency_s=None if max_latency is None else _max_latency(max_latency),
            destination=destination,
            accuracy=accuracy,
            solver=solver,
            estimator=estimator,
            trace=trace,
            per_exit_thresholds=per_exit_thresholds,
        )
        print_plan(result, _console(), show_all=show_all)
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(result.to_dict(), indent=2) + "\n")
            print(f"wrote {json_out}")
        if plot is not None:
            render_pareto_plot(pareto_plot_info(result), plot)
            print(f"wrote {plot}")


@app.command("presets")
def presets_command() -> None:
    """List the bundled topologies with their tiers and links."""
    from rich.table import Table

    from splitexit.topology import load_topology, preset_names
    from splitexit.units import format_bandwidth, format_duration

    console = _console()
    for name in preset_names():
        topo = load_topology(name)
        table = Table(
            title=f"{name}: source {topo.tiers[topo.source].name}, destination "
            f"{topo.tiers[topo.destination].name}"
        )
        table.add_column("tier")
        table.add_column("compute ratio", justify="right")
        table.add_column("link to next tier", justify="right")
        for j, tier in enumerate(topo.tiers):
            link = topo.links[j] if j < len(topo.links) else None
            text = (
                ""
                if link is None
                else (f"{format_bandwidth(link.bandwidth)}, {format_duration(link.latency)}")
            )
            table.add_row(tier.name, f"{tier.compute_ratio:g}", text)
        console.print(table)


# --- profiling commands (issue 3) go here ---


@app.command("profile")
def profile_command(
    model: Annotated[str, typer.Option(help="Backbone: resnet8, resnet20, resnet56, ...")],
    dataset: Annotated[str, typer.Option(help="Dataset: fashion-mnist or digits.")],
    out: Annotated[Path, typer.Option(help="Profile to write (JSON); the trace goes beside.")],
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Checkpoints (default runs/MODEL-DATASET); existing ones are reused."),
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
) -> None:
    """Train (joint and separate), profile, and write a splitexit.profile/1 file and trace."""
    with _user_errors():
        if threads < 1:
            raise InputError(f"--threads must be >= 1, got {threads}")
        from splitexit.nets import model_spec
        from splitexit.training import DATASET_NAMES

        model_spec(model)  # unknown names fail before any import of the data
        if dataset not in DATASET_NAMES:
            raise InputError(
                f"--dataset must be one of {', '.join(DATASET_NAMES)}, got {dataset!r}"
            )
        # Idle OpenMP threads sleep instead of spinning: on a shared machine spinning pools of
        # several processes slow each other down several times over. Set before torch loads.
        import dataclasses
        import os

        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch

        from splitexit.profiling import ProfileSettings, profile_model, write_profile
        from splitexit.training import TrainConfig, default_precision

        torch.set_num_threads(threads)
        if precision == "auto":
            precision = default_precision(device)
        joint = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, precision=precision
        )
        settings = ProfileSettings(
            model=model,
            dataset=dataset,
            work_dir=work_dir or Path("runs") / f"{model}-{dataset}",
            joint=joint,
            separate=dataclasses.replace(joint, epochs=separate_epochs, lr=separate_lr),
            separate_init=separate_init,
            width=width,
            data_dir=data_dir,
            device=device,
            percentile=percentile,
            timing_samples=timing_samples,
        )
        console = None if quiet else Console(stderr=True, highlight=False)
        profile, trace = profile_model(settings, console=console)
        trace_path = write_profile(profile, trace, out)
        print(f"wrote {out} and {trace_path}")
        print("branch accuracy (separate): " + " ".join(f"{a:.4f}" for a in profile.accuracy))
        if profile.accuracy_joint is not None:
            shown = " ".join(f"{a:.4f}" for a in profile.accuracy_joint)
            print(f"branch accuracy (joint):    {shown}")


@app.command("validate")
def validate_command(
    profile: Annotated[Path, typer.Option(help="Profile written by `splitexit profile`.")],
    work_dir: Annotated[
        Path | None,
        typer.Option(help="The profile run's checkpoints (default runs/MODEL-DATASET)."),
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Random partitionings to train and measure.")] = 3,
    max_parts: Annotated[int, typer.Option(help="Partitions per partitioning, 2 to this.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the partitioning draw.")] = 0,
    init: Annotated[
        str, typer.Option(help="Final models start from the 'joint' weights or 'scratch'.")
    ] = "joint",
    final_epochs: Annotated[int, typer.Option(help="Epochs of each final model.")] = 1,
    final_lr: Annotated[float, typer.Option(help="Peak learning rate, final models.")] = 0.02,
    epochs: Annotated[int, typer.Option(help="Joint epochs of the profile run.")] = 8,
    batch_size: Annotated[int, typer.Option(help="Batch size of the profile run.")] = 128,
    lr: Annotated[float, typer.Option(help="Joint peak learning rate of the profile run.")] = 0.1,
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
) -> None:
    """Train K final models and compare every estimator's predictions with their measurements."""
    with _user_errors():
        if threads < 1:
            raise InputError(f"--threads must be >= 1, got {threads}")
        if plot is not None and plot.suffix.lower() != ".png":
            raise InputError(f"--plot {plot}: the plot is a PNG file; give a name ending in .png")
        import dataclasses
        import os

        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see `profile`
        import torch
        from rich.table import Table

        from splitexit.profile import load_profile
        from splitexit.profiling import ValidationSettings, render_validation_plot, validate
        from splitexit.training import TrainConfig, default_precision

        torch.set_num_threads(threads)
        loaded = load_profile(profile)
        if precision == "auto":
            precision = default_precision(device)
        joint = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, seed=0, precision=precision
        )
        settings = ValidationSettings(
            profile=profile,
            work_dir=work_dir or Path("runs") / f"{loaded.model}-{loaded.dataset}",
            joint=joint,
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
        _console().print(table)
        shown = "; ".join("P=[" + ",".join(str(b + 1) for b in p) + "]" for p in result.partitions)
        print(f"partitionings: {shown}")
        print(f"best (lowest accuracy MAE): {result.best}")
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(result.to_dict(), indent=1) + "\n")
            print(f"wrote {json_out}")
        if plot is not None:
            render_validation_plot(result, plot)
            print(f"wrote {plot}")


# --- spatial (DistrEdge) commands (issue 4) go here ---

distredge_app = typer.Typer(
    help="Spread one CNN over several edge devices (DistrEdge, seed 003): simulate and compare.",
    no_args_is_help=True,
)
app.add_typer(distredge_app, name="distredge")

_ModelOpt = Annotated[
    str, typer.Option(help="Shipped model (vgg16, resnet50, yolov2, tinycnn) or a .yaml spec.")
]
_GroupOpt = Annotated[
    str | None, typer.Option(help="A group of the paper: DA-DC, NA-ND (Tables I-II), LA-LD.")
]
_BandwidthOpt = Annotated[
    str | None, typer.Option(help="Provider bandwidth for DA-DC, e.g. 50Mbps.")
]
_DeviceOpt = Annotated[str | None, typer.Option(help="Device type for NA-ND: nano or xavier.")]
_ClusterOpt = Annotated[
    Path | None, typer.Option(help="Cluster YAML (providers, bandwidths), instead of --group.")
]
_OverheadOpt = Annotated[str | None, typer.Option(help="Per-transfer I/O overhead (default 2ms).")]
_RequesterOpt = Annotated[
    str | None, typer.Option(help="Requester link bandwidth (default 400Mbps).")
]


@distredge_app.command("compare")
def distredge_compare_command(
    model: _ModelOpt = "vgg16",
    group: _GroupOpt = None,
    bandwidth: _BandwidthOpt = None,
    device: _DeviceOpt = None,
    cluster: _ClusterOpt = None,
    overhead: _OverheadOpt = None,
    requester_bandwidth: _RequesterOpt = None,
    methods: Annotated[
        str, typer.Option(help="Comma-separated methods (default: all nine).")
    ] = "all",
    episodes: Annotated[
        int, typer.Option(help="DDPG training episodes of DistrEdge (the paper: 4000).")
    ] = 4000,
    alpha: Annotated[float, typer.Option(help="LC-PSS alpha (Eq. 3).")] = 0.75,
    fast_budget: Annotated[float, typer.Option(help="Seconds for our fast optimizer.")] = 8.0,
    seed: Annotated[int, typer.Option(help="Seed of LC-PSS and DDPG.")] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write results and strategies as JSON here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a bar plot (PNG) here.")] = None,
) -> None:
    """Images per second of the nine methods (seven baselines, DistrEdge, ours) on one case."""
    with _user_errors():
        from splitexit.spatial import (
            METHODS,
            OSDSConfig,
            bars_info,
            compare,
            print_comparison,
            problem_from_options,
            render_bars,
        )

        if episodes < 1:
            raise InputError(f"--episodes must be >= 1, got {episodes}")
        if not 0.0 <= alpha <= 1.0:
            raise InputError(f"--alpha must be in [0, 1], got {alpha}")
        if not fast_budget > 0:
            raise InputError(f"--fast-budget must be > 0 s, got {fast_budget}")
        if plot is not None and plot.suffix.lower() != ".png":
            raise InputError(f"--plot {plot}: the plot is a PNG file; give a name ending in .png")
        chosen = list(METHODS) if methods == "all" else [m.strip() for m in methods.split(",")]
        problem = problem_from_options(
            model,
            group=group,
            bandwidth=bandwidth,
            device=device,
            cluster=cluster,
            overhead=overhead,
            requester_bandwidth=requester_bandwidth,
        )
        comparison = compare(
            problem,
            methods=chosen,
            osds_config=OSDSConfig(episodes=episodes, seed=seed),
            alpha=alpha,
            fast_budget_s=fast_budget,
            seed=seed,
        )
        print_comparison(comparison, _console())
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(comparison.to_dict(problem), indent=1) + "\n")
            print(f"wrote {json_out}")
        if plot is not None:
            title = f"{comparison.model}, {comparison.cluster}"
            render_bars(bars_info([comparison.to_dict(problem)], title), plot)
            print(f"wrote {plot}")


@distredge_app.command("simulate")
def distredge_simulate_command(
    strategy: Annotated[Path, typer.Option(help="Strategy JSON (devices, volumes, splits).")],
    model: _ModelOpt = "vgg16",
    group: _GroupOpt = None,
    bandwidth: _BandwidthOpt = None,
    device: _DeviceOpt = None,
    cluster: _ClusterOpt = None,
    overhead: _OverheadOpt = None,
    requester_bandwidth: _RequesterOpt = None,
) -> None:
    """Latency and images per second of a strategy file (devices, volumes, splits)."""
    with _user_errors():
        from splitexit._boundary import read_mapping
        from splitexit.spatial import problem_from_options, simulate, strategy_from_mapping
        from splitexit.units import format_duration

        problem = problem_from_options(
            model,
            group=group,
            bandwidth=bandwidth,
            device=device,
            cluster=cluster,
            overhead=overhead,
            requester_bandwidth=requester_bandwidth,
        )
        data = read_mapping(strategy, kind="strategy")
        result = simulate(problem, strategy_from_mapping(data, problem, source=str(strategy)))
        print(f"latency {format_duration(result.latency_s)}, {result.ips:.3f} images/s")
        for name, busy, sent in zip(
            problem.cluster.names, result.compute_s, result.send_s, strict=True
        ):
            print(f"  {name}: computing {format_duration(busy)}, sending {format_duration(sent)}")


@distredge_app.command("experiment")
def distredge_experiment_command(
    name: Annotated[str, typer.Argument(help="table1, table2, table3, alpha or dynamic.")],
    out: Annotated[Path, typer.Option(help="Folder for NAME.json, NAME.md and NAME.png.")],
    model: _ModelOpt = "vgg16",
    episodes: Annotated[int, typer.Option(help="DDPG training episodes per case.")] = 4000,
    fast_budget: Annotated[float, typer.Option(help="Seconds for our optimizer per case.")] = 8.0,
    splitter: Annotated[
        str, typer.Option(help="alpha only: 'fast' (ours on each scheme) or 'ddpg' (OSDS).")
    ] = "fast",
    cases: Annotated[
        str | None,
        typer.Option(
            help="Tables only: run these cases (e.g. 'NA-nano,NB-nano') and merge them into "
            "an existing OUT/NAME.json."
        ),
    ] = None,
    methods: Annotated[
        str,
        typer.Option(help="Tables only: run these methods and merge them (default: all nine)."),
    ] = "all",
    seed: Annotated[int, typer.Option(help="Seed of LC-PSS, DDPG and the traces.")] = 0,
) -> None:
    """Re-run an experiment of seed 003, section V, on the simulator; write JSON, MD, PNG."""
    with _user_errors():
        from splitexit.spatial import (
            TABLES,
            OSDSConfig,
            alpha_sweep,
            bars_info,
            lines_markdown,
            load_model,
            render_bars,
            render_lines,
            run_table,
            table_markdown,
        )

        if name not in (*TABLES, "alpha", "dynamic"):
            raise InputError(
                f"experiment {name!r} is not one of {', '.join([*TABLES, 'alpha', 'dynamic'])}"
            )
        if episodes < 1:
            raise InputError(f"--episodes must be >= 1, got {episodes}")
        spec = load_model(model)
        config = OSDSConfig(episodes=episodes, seed=seed)
        err = Console(stderr=True, highlight=False)

        def progress(line: str) -> None:
            err.print(line, markup=False)

        if name in TABLES:
            from splitexit.spatial import METHODS, merge_records

            selected = None if cases is None else cases.split(",")
            chosen = list(METHODS) if methods == "all" else methods.split(",")
            records = run_table(
                name,
                spec,
                osds_config=config,
                fast_budget_s=fast_budget,
                cases=selected,
                methods=[m.strip() for m in chosen],
                progress=progress,
            )
            earlier = out / f"{name}.json"
            if (selected is not None or methods != "all") and earlier.is_file():
                try:
                    old = json.loads(earlier.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    old = None
                records = merge_records(name, old, records, source=str(earlier))
            markdown = table_markdown(records)
            payload: object = records
            render_bars(bars_info(records, f"{spec.name}: {name}"), out / f"{name}.png")
        elif name == "alpha":
            info, raw = alpha_sweep(spec, splitter=splitter, osds_config=config, progress=progress)
            render_lines(info, out / "alpha.png")
            payload = raw
            markdown = lines_markdown(info, "case", "alpha={:g}")
        else:
            from splitexit.spatial import dynamic_study

            result = dynamic_study(spec, osds_config=config, seed=seed)
            render_lines(result.info(), out / "dynamic.png")
            payload = {
                "times_s": result.times_s.tolist(),
                "latency_ms": {k: (v * 1e3).tolist() for k, v in result.latency_s.items()},
                "notes": result.notes,
            }
            markdown = result.markdown()
        atomic_write_text(out / f"{name}.json", json.dumps(payload, indent=1) + "\n")
        atomic_write_text(out / f"{name}.md", markdown)
        print(markdown, end="")
        print(f"wrote {out / name}.json, .md, .png")


@distredge_app.command("profile-device")
def distredge_profile_device_command(
    out: Annotated[Path, typer.Option(help="Device table to write (splitexit.device/1 JSON).")],
    model: _ModelOpt = "vgg16",
    name: Annotated[str, typer.Option(help="Name of this device in the table.")] = "this-machine",
    granularity: Annotated[int, typer.Option(help="Height step in rows (the paper: 1).")] = 8,
    repeats: Annotated[int, typer.Option(help="Timed runs per point; the median is kept.")] = 3,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
) -> None:
    """Measure the latency of every layer at several heights on this machine (torch, batch 1)."""
    with _user_errors():
        import os

        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from splitexit.spatial import load_model, save_device_table
        from splitexit.spatial._measure import measure_device

        spec = load_model(model)
        err = Console(stderr=True, highlight=False)
        table = measure_device(
            spec,
            name=name,
            granularity=granularity,
            repeats=repeats,
            threads=threads,
            progress=lambda line: err.print(line, markup=False),
        )
        import torch

        save_device_table(out, table, measured_with=f"torch {torch.__version__}, {threads} threads")
        print(f"wrote {out}")


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":
    main()
