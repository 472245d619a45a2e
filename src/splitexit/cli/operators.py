"""`splitexit onnx ...`: the black-box operators on any ONNX model (seed 004).

Hybrids are one command, ``splitexit onnx hybrid qe|qep``; ``quantize`` also takes a
partition folder (with ``pieces.json``) and calibrates each piece on its predecessor's
activations. The operators room is imported inside each command so that ``import
splitexit.cli`` loads neither onnx nor onnxruntime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from splitexit._boundary import atomic_write_text, claim_folder, dump_json, mark_folder
from splitexit.cli._common import check_json_out, emit_json
from splitexit.cli._common import console as _console
from splitexit.cli._common import user_errors as _user_errors
from splitexit.cli._outputs import check_output_file, is_stdout

__all__ = ["onnx_app", "register"]

onnx_app = typer.Typer(
    help="Black-box operators on any ONNX model: cuts, partition, quantize, early exit, hybrids.",
    no_args_is_help=True,
)

_Shapes = Annotated[
    list[str] | None,
    typer.Option("--input-shape", help="Shape of a dynamic input: NAME=1x3x224x224 (repeatable)."),
]
_Data = Annotated[
    Path | None,
    typer.Option(
        help="Calibration/held-out data: an .npz of input arrays (+ 'labels') or an "
        "image folder. Default: seeded random inputs."
    ),
]
_Mean = Annotated[float, typer.Option(help="Image preprocessing: (pixel/255 - mean) / std.")]
_Std = Annotated[float, typer.Option(help="Image preprocessing: (pixel/255 - mean) / std.")]


def _shapes(items: list[str] | None) -> dict[str, tuple[int, ...]]:
    from splitexit.operators import parse_input_shapes

    return parse_input_shapes(items)


@onnx_app.command("cuts")
def cuts_command(
    model: Path,
    input_shape: _Shapes = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write splitexit.cuts/1.")] = None,
    time: Annotated[bool, typer.Option("--time", help="Time each side on ONNX Runtime.")] = False,
) -> None:
    """List the valid cuts of MODEL (single- and multi-tensor), in graph order."""
    with _user_errors():
        check_json_out(json_out)
        from splitexit.operators import analyse, cuts_to_mapping, find_cuts, load_model, time_cuts

        info = analyse(load_model(model, _shapes(input_shape)))
        cuts = find_cuts(info)
        if time:
            cuts = time_cuts(info, cuts)
        doc = cuts_to_mapping(info, cuts)
        if is_stdout(json_out):
            emit_json(json_out, doc, indent=1)
            return
        if json_out is not None:
            atomic_write_text(json_out, dump_json(doc, indent=1))
        out = _console()
        out.print(f"{model}: {len(info.nodes)} nodes, {len(cuts)} cuts", highlight=False)
        for k, cut in enumerate(doc["cuts"], 1):
            secs = ""
            if "seconds" in cut["head"]:
                secs = (
                    f"  {cut['head']['seconds'] * 1e3:.2f} | {cut['tail']['seconds'] * 1e3:.2f} ms"
                )
            out.print(
                f"{k:4d}  {','.join(cut['tensors'])}  {cut['bytes']} B  "
                f"params {cut['head']['param_bytes']}|{cut['tail']['param_bytes']} B  "
                f"FLOPs {cut['head']['flops']:.3g}|{cut['tail']['flops']:.3g}{secs}",
                highlight=False,
                markup=False,
            )


@onnx_app.command("partition")
def partition_command(
    model: Path,
    out: Annotated[Path, typer.Option(help="Folder for piece-K.onnx and pieces.json.")],
    cut: Annotated[list[str] | None, typer.Option(help="T1[,T2...]: one cut (repeatable).")] = None,
    pieces: Annotated[
        int | None, typer.Option(help="Number of pieces, chosen by --criterion.")
    ] = None,
    criterion: Annotated[
        str,
        typer.Option(
            help="size (equal MB), compute (equal measured ORT time) or flops (equal FLOPs)."
        ),
    ] = "size",
    input_shape: _Shapes = None,
    samples: Annotated[int, typer.Option(help="Random inputs for the equivalence proof.")] = 3,
) -> None:
    """Split MODEL into pieces and prove that, chained, they reproduce its outputs."""
    with _user_errors():
        claim_folder(out, "--out", "onnx partition")  # replaced whole: never a user's folder
        from splitexit.errors import InputError
        from splitexit.operators import partition
        from splitexit.operators._partition import CRITERIA

        if criterion not in CRITERIA:
            raise InputError(f"--criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
        cuts = None if cut is None else [tuple(c.split(",")) for c in cut]
        result = partition(
            model,
            out,
            cuts=cuts,
            pieces=pieces,
            criterion=criterion,  # type: ignore[arg-type]
            input_shapes=_shapes(input_shape),
            samples=samples,
        )
        mark_folder(out, "onnx partition")
        console = _console()
        for p in result.manifest.pieces:
            console.print(
                f"piece {p.index}: {p.file}  in {[t.name for t in p.inputs]}  "
                f"out {[t.name for t in p.outputs]}  {p.param_bytes} B params",
                highlight=False,
                markup=False,
            )
        console.print(
            f"max abs diff {result.max_abs_diff:.3g} (output scale "
            f"{result.output_scale:.3g}) over {result.samples} samples: equal",
            highlight=False,
        )


def _report(title: str, mapping: dict[str, object]) -> None:
    _console().print(f"{title}\n{json.dumps(mapping, indent=1)}", highlight=False, markup=False)


@onnx_app.command("quantize")
def quantize_command(
    model: Annotated[Path, typer.Argument(help="An .onnx file or a partition folder.")],
    out: Annotated[Path, typer.Option(help="Output .onnx file (or folder for pieces).")],
    data: _Data = None,
    input_shape: _Shapes = None,
    count: Annotated[int, typer.Option(help="Runs read from the data (half calibrate).")] = 64,
    per_channel: Annotated[bool, typer.Option(help="Per-channel weight scales.")] = True,
    mean: _Mean = 0.0,
    std: _Std = 1.0,
    held_out: Annotated[
        Path | None,
        typer.Option(
            help="Held-out .npz or image folder; then all --count runs of --data calibrate."
        ),
    ] = None,
    runs: Annotated[int, typer.Option(help="Timed runs, float and int8 interleaved.")] = 20,
    threads: Annotated[int, typer.Option(help="ONNX Runtime intra-op threads when timing.")] = 1,
) -> None:
    """Static PTQ (ONNX Runtime, QDQ); report size, latency and agreement."""
    with _user_errors():
        if model.is_dir():
            claim_folder(out, "--out", "onnx quantize")
        else:
            check_output_file(out, "--out", suffixes=(".onnx",))
        from splitexit.operators import quantize, quantize_pieces

        if model.is_dir():
            sizes = quantize_pieces(
                model, out, data=data, count=count, per_channel=per_channel, mean=mean, std=std
            )
            mark_folder(out, "onnx quantize")
            for file, before, after in sizes:
                _console().print(f"{file}: {before} -> {after} bytes", highlight=False)
            return
        report = quantize(
            model,
            out,
            data=data,
            input_shapes=_shapes(input_shape),
            count=count,
            per_channel=per_channel,
            mean=mean,
            std=std,
            held_out=held_out,
            runs=runs,
            threads=threads,
        )
        _report(f"{out}: quantized", report.to_mapping())


@onnx_app.command("early-exit")
def early_exit_command(
    model: Path,
    out: Annotated[Path, typer.Option(help="Output .onnx file.")],
    skip: Annotated[int, typer.Option(help="Blocks to skip at the end of the run.")] = 2,
    run: Annotated[int, typer.Option(help="Which run (1 = the longest).")] = 1,
    data: _Data = None,
    input_shape: _Shapes = None,
) -> None:
    """Skip the last SKIP of a run of identically structured sub-graphs."""
    with _user_errors():
        check_output_file(out, "--out", suffixes=(".onnx",))
        from splitexit.operators import early_exit

        result = early_exit(
            model, out, skip=skip, run_index=run, data=data, input_shapes=_shapes(input_shape)
        )
        _report(
            f"{out}: skipped {skip} of {result.run.count} blocks ending at "
            f"{result.run.boundaries[-1]!r}",
            result.report.to_mapping(),
        )
        if result.collapsed:
            _console().print("WARNING: accuracy collapses with this exit.", highlight=False)


@onnx_app.command("hybrid")
def hybrid_command(
    kind: Annotated[str, typer.Argument(help="qe (early exit + quantize) or qep (+ partition).")],
    model: Path,
    out: Annotated[Path, typer.Option(help="Output .onnx (qe) or folder (qep).")],
    skip: Annotated[int, typer.Option(help="Blocks to skip.")] = 2,
    pieces: Annotated[int, typer.Option(help="Pieces for qep.")] = 2,
    data: _Data = None,
    input_shape: _Shapes = None,
) -> None:
    """QE and QEP as compositions of early exit, partition and quantize."""
    with _user_errors():
        from splitexit.errors import InputError
        from splitexit.operators import hybrid

        if kind not in ("qe", "qep"):
            raise InputError(f"hybrid KIND must be qe or qep, got {kind!r}")
        if kind == "qep":
            claim_folder(out, "--out", "onnx hybrid")
        else:
            check_output_file(out, "--out", suffixes=(".onnx",))
        k: Literal["qe", "qep"] = "qe" if kind == "qe" else "qep"
        exit_result, quant = hybrid(
            k, model, out, skip=skip, pieces=pieces, data=data, input_shapes=_shapes(input_shape)
        )
        if kind == "qep":
            mark_folder(out, "onnx hybrid")
        _report("early exit", exit_result.report.to_mapping())
        if isinstance(quant, list):
            for file, before, after in quant:
                _console().print(f"{file}: {before} -> {after} bytes", highlight=False)
        else:
            _report(f"{out}: quantized", quant.to_mapping())


def register(app: typer.Typer) -> None:
    """Add ``splitexit onnx`` to the main app."""
    app.add_typer(onnx_app, name="onnx")
