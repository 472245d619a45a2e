"""`splitexit distredge ...`: spread one CNN over several edge devices (seed 003)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from splitexit._boundary import check_output_folder
from splitexit._transaction import Outputs
from splitexit.cli._common import (
    check_json_out,
    check_png,
    cli_bandwidth,
    cli_duration,
    passive_openmp,
)
from splitexit.cli._common import console as _console
from splitexit.cli._common import user_errors as _user_errors
from splitexit.cli._outputs import check_output_file, is_stdout
from splitexit.cli._progress import (
    LogLevelOpt,
    QuietOpt,
    VerboseOpt,
    progress_enabled,
    set_log_level,
    steps,
)
from splitexit.errors import InputError

__all__ = ["distredge_app", "register"]

distredge_app = typer.Typer(
    help="Spread one CNN over several edge devices (DistrEdge, seed 003): simulate and compare.",
    no_args_is_help=True,
)

_ModelOpt = Annotated[
    str,
    typer.Option(help="Shipped model (vgg16, vgg19, resnet50, yolov2, tinycnn) or a .yaml spec."),
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
    fast_evaluations: Annotated[
        int, typer.Option(help="Simulator evaluations for our fast optimizer (deterministic).")
    ] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of LC-PSS and DDPG.")] = 0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write results and strategies as JSON here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a bar plot (PNG) here.")] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write a self-contained HTML report here.")
    ] = None,
    quiet: QuietOpt = False,
    log_level: LogLevelOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Images per second of the nine methods (seven baselines, DistrEdge, ours) on one case."""
    with _user_errors():
        set_log_level(log_level, verbose)
        check_png(plot)
        check_json_out(json_out)
        check_output_file(html, "--html")
        _check_units(bandwidth, overhead, requester_bandwidth)
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
        if fast_evaluations < 1:
            raise InputError(f"--fast-evaluations must be >= 1, got {fast_evaluations}")
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
        unknown = [m for m in chosen if m not in METHODS]
        if unknown:  # before any work, as compare() says it
            compare(problem, methods=unknown)
        parts = []  # one method at a time (they are independent), for the progress bar
        with steps("methods", len(chosen), enabled=progress_enabled(quiet)) as advance:
            for method in chosen:
                parts.append(
                    compare(
                        problem,
                        methods=[method],
                        osds_config=OSDSConfig(episodes=episodes, seed=seed),
                        alpha=alpha,
                        fast_evaluations=fast_evaluations,
                        seed=seed,
                    )
                )
                advance(f"{method}: {parts[-1].results[0].ips:.2f} IPS")
        comparison = dataclasses.replace(
            parts[0],
            results=tuple(p.results[0] for p in parts),
            notes={k: v for p in parts for k, v in p.notes.items()},
        )
        print_comparison(comparison, Console(stderr=True) if is_stdout(json_out) else _console())
        human = sys.stderr if is_stdout(json_out) else sys.stdout
        with Outputs() as outputs:  # all or none
            if json_out is not None:
                outputs.write_json(json_out, comparison.to_dict(problem), indent=1)
            if plot is not None:
                title = f"{comparison.model}, {comparison.cluster}"
                render_bars(bars_info([comparison.to_dict(problem)], title), outputs.file(plot))
            if html is not None:
                from splitexit.reports import bar_section, html_page

                rows = tuple(
                    (r.method, f"{r.ips:.3f}", f"{r.latency_s * 1e3:.2f}", f"{r.plan_s:.2f}")
                    for r in comparison.results
                )
                section = bar_section(
                    f"{comparison.model} on {comparison.cluster}",
                    [r.method for r in comparison.results],
                    [r.ips for r in comparison.results],
                    "images per second",
                    (("method", "IPS", "latency (ms)", "planning (s)"), *rows),
                )
                outputs.write_text(html, html_page("splitexit distredge compare", [section]))
        for path in outputs.targets:
            print(f"wrote {path}", file=human)


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
        _check_units(bandwidth, overhead, requester_bandwidth)
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
    name: Annotated[
        str, typer.Argument(help="table1, table2, table3, alpha, samples (Fig. 5) or dynamic.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for NAME.json, NAME.md and NAME.png.")],
    model: _ModelOpt = "vgg16",
    episodes: Annotated[int, typer.Option(help="DDPG training episodes per case.")] = 4000,
    fast_evaluations: Annotated[
        int, typer.Option(help="Simulator evaluations for our optimizer per case.")
    ] = 5000,
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
    repeats: Annotated[
        int, typer.Option(help="samples only: LC-PSS runs per |R_s^r| (the paper: 50).")
    ] = 50,
    sizes: Annotated[
        str, typer.Option(help="samples only: comma-separated |R_s^r| values.")
    ] = "5,10,25,50,100,200",
    seed: Annotated[int, typer.Option(help="Seed of LC-PSS, DDPG and the traces.")] = 0,
    gpu_shape: Annotated[
        Path | None,
        typer.Option(
            help="Tables only: a measured table (profile-device on a GPU) whose shape in the "
            "height the Nano, TX2 and Xavier take, each keeping its own speed."
        ),
    ] = None,
) -> None:
    """Re-run an experiment of seed 003, section V, on the simulator; write JSON, MD, PNG."""
    with _user_errors():
        check_output_folder(out, "--out")
        for suffix in (".json", ".md", ".png"):
            check_output_file(out / f"{name}{suffix}", "--out")
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

        names = [*TABLES, "alpha", "samples", "dynamic"]
        if name not in names:
            raise InputError(f"experiment {name!r} is not one of {', '.join(names)}")
        if episodes < 1:
            raise InputError(f"--episodes must be >= 1, got {episodes}")
        if fast_evaluations < 1:
            raise InputError(f"--fast-evaluations must be >= 1, got {fast_evaluations}")
        spec = load_model(model)
        config = OSDSConfig(episodes=episodes, seed=seed)
        shape = None
        if gpu_shape is not None:
            if name not in TABLES:
                raise InputError(f"--gpu-shape applies to {', '.join(TABLES)}, not {name!r}")
            from splitexit.spatial import load_device_table

            shape = load_device_table(gpu_shape)
            shape.latency_tables(spec)  # a table of another model is refused before the run
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
                fast_evaluations=fast_evaluations,
                cases=selected,
                methods=[m.strip() for m in chosen],
                progress=progress,
                shape=shape,
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
            draw: Callable[[Path], None] = partial(
                render_bars, bars_info(records, f"{spec.name}: {name}")
            )
        elif name == "alpha":
            info, raw = alpha_sweep(spec, splitter=splitter, osds_config=config, progress=progress)
            draw = partial(render_lines, info)
            payload = raw
            markdown = lines_markdown(info, "case", "alpha={:g}")
        elif name == "samples":
            from splitexit.spatial import samples_markdown, samples_sweep

            try:
                size_list = [int(n) for n in sizes.split(",")]
            except ValueError:
                raise InputError(
                    f"--sizes must be integers separated by commas, got {sizes!r}"
                ) from None
            info, raw = samples_sweep(
                spec, sizes=size_list, repeats=repeats, seed=seed, progress=progress
            )
            draw = partial(render_lines, info)
            payload = raw
            markdown = samples_markdown(raw)
        else:
            from splitexit.spatial import dynamic_study

            result = dynamic_study(spec, osds_config=config, seed=seed)
            draw = partial(render_lines, result.info())
            payload = {
                "times_s": result.times_s.tolist(),
                "latency_ms": {k: (v * 1e3).tolist() for k, v in result.latency_s.items()},
                "notes": result.notes,
            }
            markdown = result.markdown()
        with Outputs() as outputs:  # the three files: all or none
            outputs.write_json(out / f"{name}.json", payload, indent=1)
            outputs.write_text(out / f"{name}.md", markdown)
            draw(outputs.file(out / f"{name}.png"))
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
    torch_device: Annotated[
        str, typer.Option(help="Where the layers run: cpu, or cuda / cuda:N (a GPU).")
    ] = "cpu",
    precision: Annotated[
        str, typer.Option(help="float32, float16 (the paper's TensorRT FP16) or bfloat16.")
    ] = "float32",
) -> None:
    """Measure the latency of every layer at several heights on this machine (torch, batch 1)."""
    with _user_errors():
        check_output_file(out, "--out")
        passive_openmp()
        from splitexit.spatial import load_model, save_device_table
        from splitexit.spatial.devices._measure import measure_device

        spec = load_model(model)
        err = Console(stderr=True, highlight=False)
        table = measure_device(
            spec,
            name=name,
            granularity=granularity,
            repeats=repeats,
            threads=threads,
            progress=lambda line: err.print(line, markup=False),
            torch_device=torch_device,
            precision=precision,
        )
        import torch

        where = f"{threads} threads"
        if torch_device != "cpu":
            where = f"{torch.cuda.get_device_name(torch.device(torch_device))}, CUDA"
        measured_with = f"torch {torch.__version__}, {where}, {precision}, batch 1"
        save_device_table(out, table, measured_with=measured_with)
        print(f"wrote {out}")


def _check_units(bandwidth: str | None, overhead: str | None, requester: str | None) -> None:
    """Bare numbers typed on the command line are refused with a hint."""
    cli_bandwidth(bandwidth, "--bandwidth")
    cli_bandwidth(requester, "--requester-bandwidth")
    if overhead is not None:
        cli_duration(overhead, "--overhead")


_EmulatedOpt = Annotated[
    Path,
    typer.Option(
        "--cluster", help="Emulated cluster YAML (providers with slowdown and bandwidth)."
    ),
]
_DivisorOpt = Annotated[
    int, typer.Option(help="Divide every layer's channels by this (a channel-reduced model).")
]
_InputSizeOpt = Annotated[
    int | None, typer.Option(help="Square input size, e.g. 112 (default: the model's).")
]
_ProfileOpt = Annotated[
    str,
    typer.Option(
        help="In-place profile: chained (passes through the model, as parts run) or isolated."
    ),
]
_WarmOpt = Annotated[
    float,
    typer.Option(
        "--warm-ms",
        help="CPU ms a worker warms up (untimed) before each part and woken profile layer.",
    ),
]
_ChainOpt = Annotated[
    int,
    typer.Option(
        "--profile-chain",
        help="Woken profile passes sleep before chains of this many layers (3: near tables).",
    ),
]
_TimingOpt = Annotated[
    str,
    typer.Option(
        "--timing",
        help="twice: every layer computed twice, the second timed; once: after --warm-ms.",
    ),
]
_InterleaveOpt = Annotated[
    str,
    typer.Option(
        "--interleave",
        help="image: the methods take turns image by image; method: a method's images in a row.",
    ),
]
_PassesOpt = Annotated[
    str,
    typer.Option(
        "--passes",
        help="shuffled: each profile round deals heights to passes at random; ordered: by share.",
    ),
]
_ProbeOpt = Annotated[
    bool,
    typer.Option(
        "--probe/--no-probe",
        help="Twice timing: scale every profiled and executed part to the host's speed, read "
        "from a fixed convolution once per compute lock (the default since session 15).",
    ),
]
_KeepHeapOpt = Annotated[
    bool,
    typer.Option(
        "--keep-heap/--no-keep-heap",
        help="Workers keep the memory they free (glibc mallopt), so that no activation is "
        "charged the kernel's zeroing of fresh pages (the default since session 15).",
    ),
]
_BlocksOpt = Annotated[int, typer.Option(help="Repeated blocks (methods interleaved in each).")]
_ImagesOpt = Annotated[int, typer.Option(help="Images per method per block, one at a time.")]


def _measure_run(
    cluster: Path,
    model: str,
    channel_divisor: int,
    input_size: int | None,
    methods: list[str] | None,
    blocks: int,
    images: int,
    reject_pct: float,
    episodes: int,
    fast_evaluations: int,
    granularity: int,
    seed: int,
    json_out: Path | None,
    markdown_out: Path | None,
    profile: str = "chained",
    warm_ms: float = 0.5,
    profile_chain: int = 1,
    timing: str = "twice",
    interleave: str = "image",
    passes: str = "shuffled",
    probe: bool = True,
    keep_heap: bool = True,
) -> None:
    check_json_out(json_out)
    check_output_file(markdown_out, "--markdown")
    passive_openmp()
    from splitexit.spatial import METHODS, load_model
    from splitexit.spatial.execution import load_emulated, measure_methods

    if profile not in ("chained", "isolated"):
        raise InputError(f"--profile must be 'chained' or 'isolated', got {profile!r}")
    if not 0 <= warm_ms <= 100:
        raise InputError(f"--warm-ms must be in [0, 100] ms, got {warm_ms}")
    if not 1 <= profile_chain <= 3:
        raise InputError(f"--profile-chain must be 1, 2 or 3, got {profile_chain}")
    if timing not in ("once", "twice"):
        raise InputError(f"--timing must be 'once' or 'twice', got {timing!r}")
    if interleave not in ("image", "method"):
        raise InputError(f"--interleave must be 'image' or 'method', got {interleave!r}")
    if passes not in ("shuffled", "ordered"):
        raise InputError(f"--passes must be 'shuffled' or 'ordered', got {passes!r}")
    emulated = load_emulated(cluster)
    chosen = list(METHODS) if methods is None else methods
    unknown = [m for m in chosen if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method {unknown[0]!r}; methods: {', '.join(METHODS)}")
    size = None if input_size is None else (input_size, input_size)
    spec = load_model(model, channel_divisor=channel_divisor, input_size=size)
    err = Console(stderr=True, highlight=False)
    measured = measure_methods(
        spec, emulated, methods=chosen, blocks=blocks, images=images, reject_pct=reject_pct,
        episodes=episodes, fast_evaluations=fast_evaluations, granularity=granularity, seed=seed,
        profile_mode="isolated" if profile == "isolated" else "chained", warm_s=warm_ms * 1e-3,
        profile_chain=profile_chain, timing="once" if timing == "once" else "twice",
        interleave="method" if interleave == "method" else "image",
        shuffle_passes=passes == "shuffled", probe=probe, keep_heap=keep_heap,
        progress=lambda line: err.print(line, markup=False),
    )  # fmt: skip
    markdown = measured.markdown()
    with Outputs() as outputs:  # both or neither
        if json_out is not None:
            outputs.write_json(json_out, measured.to_dict(), indent=1)
        if markdown_out is not None:
            outputs.write_text(markdown_out, markdown)
    print(markdown, end="", file=sys.stderr if is_stdout(json_out) else sys.stdout)


@distredge_app.command("run")
def distredge_run_command(
    cluster: _EmulatedOpt,
    model: _ModelOpt = "vgg16",
    channel_divisor: _DivisorOpt = 1,
    input_size: _InputSizeOpt = None,
    method: Annotated[str, typer.Option(help="The method whose strategy runs.")] = "fast",
    images: _ImagesOpt = 3,
    episodes: Annotated[int, typer.Option(help="DDPG episodes of DistrEdge.")] = 300,
    fast_evaluations: Annotated[int, typer.Option(help="Evaluations of fast.")] = 1000,
    granularity: Annotated[
        int, typer.Option(help="Profile height step in rows (the paper: 1).")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Seed of weights, image and planners.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON here.")] = None,
    profile: _ProfileOpt = "chained",
    probe: _ProbeOpt = True,
    keep_heap: _KeepHeapOpt = True,
) -> None:
    """Execute one method's split decision for real: a worker process per emulated device."""
    with _user_errors():
        _measure_run(
            cluster, model, channel_divisor, input_size, [method], 1, images, 100.0, episodes,
            fast_evaluations, granularity, seed, json_out, None, profile, probe=probe,
            keep_heap=keep_heap,
        )  # fmt: skip


@distredge_app.command("measure")
def distredge_measure_command(
    cluster: _EmulatedOpt,
    model: _ModelOpt = "vgg16",
    channel_divisor: _DivisorOpt = 1,
    input_size: _InputSizeOpt = None,
    methods: Annotated[str, typer.Option(help="Comma-separated methods (default: all)")] = "all",
    blocks: _BlocksOpt = 10,
    images: _ImagesOpt = 3,
    reject_pct: Annotated[
        float, typer.Option(help="Reject a block whose median deviates more than this %.")
    ] = 15.0,
    episodes: Annotated[int, typer.Option(help="DDPG episodes of DistrEdge.")] = 300,
    fast_evaluations: Annotated[int, typer.Option(help="Evaluations of fast.")] = 1000,
    granularity: Annotated[
        int, typer.Option(help="Profile height step in rows (the paper: 1).")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Seed of weights, image and planners.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write JSON here.")] = None,
    markdown_out: Annotated[
        Path | None, typer.Option("--markdown", help="Write the Markdown table here.")
    ] = None,
    profile: _ProfileOpt = "chained",
    warm_ms: _WarmOpt = 0.5,
    profile_chain: _ChainOpt = 1,
    timing: _TimingOpt = "twice",
    interleave: _InterleaveOpt = "image",
    passes: _PassesOpt = "shuffled",
    probe: _ProbeOpt = True,
    keep_heap: _KeepHeapOpt = True,
) -> None:
    """Measured against simulated for every method: img/s and median latency, blocks."""
    with _user_errors():
        chosen = None if methods == "all" else [m.strip() for m in methods.split(",")]
        _measure_run(
            cluster, model, channel_divisor, input_size, chosen, blocks, images, reject_pct,
            episodes, fast_evaluations, granularity, seed, json_out, markdown_out, profile,
            warm_ms, profile_chain, timing, interleave, passes, probe, keep_heap,
        )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add the `distredge` sub-app to ``app``."""
    app.add_typer(distredge_app, name="distredge")
