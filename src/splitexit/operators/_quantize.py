"""The quantization operator: ONNX Runtime static post-training quantization, QDQ format.

Pre-processing runs ``quant_pre_process`` (symbolic shape inference, then, when that fails,
again without it, then not at all); per-channel weights need opset 13, so older models are
upgraded first. Partition pieces are calibrated on the activations their float predecessors
produce from the user's calibration inputs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.operators._data import Samples
from splitexit.operators._measure import Agreement, agreement, outputs_of, paired_latency
from splitexit.operators._model import LoadedModel

__all__ = ["QuantReport", "compare", "quantize_bytes", "quantize_loaded"]

_PER_CHANNEL_OPSET = 13


@returned_type
@dataclass(frozen=True)
class QuantReport:
    """A variant against its float model on the held-out runs."""

    float_bytes: int
    variant_bytes: int
    float_seconds: float
    variant_seconds: float
    agreement: Agreement
    notes: tuple[str, ...] = ()

    @property
    def speedup(self) -> float:
        return self.float_seconds / self.variant_seconds if self.variant_seconds else 0.0

    def to_mapping(self) -> dict[str, Any]:
        return {
            "float_bytes": self.float_bytes,
            "variant_bytes": self.variant_bytes,
            "float_seconds": self.float_seconds,
            "variant_seconds": self.variant_seconds,
            "speedup": self.speedup,
            "agreement": self.agreement.to_mapping(),
            "notes": list(self.notes),
        }


class _Reader:
    """ORT's CalibrationDataReader protocol over a list of feeds."""

    def __init__(self, feeds: list[dict[str, np.ndarray]], names: set[str]) -> None:
        self._it = iter([{k: v for k, v in f.items() if k in names} for f in feeds])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def _opset(model: onnx.ModelProto) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def _without_initializer_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy whose graph inputs are only the real ones: old models (IR < 4) list every
    initializer as an input too, and once the pre-processing optimizer merges equal
    initializers those inputs dangle and ONNX Runtime asks the caller to feed them."""
    constant = {t.name for t in model.graph.initializer}
    if not any(v.name in constant for v in model.graph.input):
        return model
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    real = [v for v in copy.graph.input if v.name not in constant]
    del copy.graph.input[:]
    copy.graph.input.extend(real)
    copy.ir_version = max(copy.ir_version, 4)  # from IR 4 initializers need not be inputs
    return copy


@validate_params(
    {
        "model": [InstanceOf("onnx:ModelProto")],
        "calibration": [InstanceOf(list, tuple)],
        "source": [InstanceOf(str)],
        "per_channel": [InstanceOf(bool)],
    }
)
def quantize_bytes(
    model: onnx.ModelProto,
    calibration: list[dict[str, np.ndarray]],
    *,
    source: str,
    per_channel: bool = True,
) -> tuple[bytes, tuple[str, ...]]:
    """Static PTQ of ``model`` calibrated on ``calibration``; returns the QDQ model's bytes and
    notes on what pre-processing did.

    >>> data, notes = quantize_bytes(model, feeds, source="m.onnx")  # doctest: +SKIP
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static  # type: ignore[import-untyped]
    from onnxruntime.quantization.shape_inference import quant_pre_process  # type: ignore[import-untyped]

    if not calibration:
        raise InputError(f"{source}: quantization needs at least one calibration sample")
    notes: list[str] = []
    model = _without_initializer_inputs(model)
    if per_channel and _opset(model) < _PER_CHANNEL_OPSET:
        try:
            model = onnx.version_converter.convert_version(model, _PER_CHANNEL_OPSET)
            notes.append(f"opset upgraded to {_PER_CHANNEL_OPSET} for per-channel weights")
        except Exception:
            per_channel = False
            notes.append("opset upgrade failed; per-tensor weights")
    with tempfile.TemporaryDirectory(prefix="splitexit-quant-") as tmp:
        raw, pre, out = Path(tmp, "float.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        onnx.save(model, str(raw))
        src = raw
        for skip_symbolic in (False, True):
            try:
                quant_pre_process(str(raw), str(pre), skip_symbolic_shape=skip_symbolic)
                src = pre
                if skip_symbolic:
                    notes.append("symbolic shape inference failed; pre-processed without it")
                break
            except Exception:
                continue
        else:
            notes.append("pre-processing failed; quantized the model as given")
        names = {v.name for v in model.graph.input}
        try:
            quantize_static(
                str(src),
                str(out),
                _Reader(calibration, names),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{source}: ONNX Runtime quantization failed: {first}") from None
        return out.read_bytes(), tuple(notes)


def compare(
    float_model: onnx.ModelProto | bytes,
    variant: bytes,
    held_out: Samples,
    *,
    source: str,
    runs: int = 20,
    threads: int = 1,
    notes: tuple[str, ...] = (),
) -> QuantReport:
    """Size, latency on the first held-out run (float and variant interleaved, ``threads``
    intra-op threads), and agreement over all held-out runs."""
    ref = outputs_of(float_model, held_out.feeds, source=source)
    got = outputs_of(variant, held_out.feeds, source=f"{source} (variant)")
    float_bytes = len(float_model) if isinstance(float_model, bytes) else float_model.ByteSize()
    float_s, variant_s = paired_latency(
        float_model, variant, held_out.feeds[0], runs=runs, threads=threads, source=source
    )
    return QuantReport(
        float_bytes=float_bytes,
        variant_bytes=len(variant),
        float_seconds=float_s,
        variant_seconds=variant_s,
        agreement=agreement(ref, got, held_out.labels),
        notes=notes,
    )


def quantize_loaded(
    loaded: LoadedModel,
    calibration: Samples,
    held_out: Samples,
    *,
    per_channel: bool = True,
    runs: int = 20,
) -> tuple[bytes, QuantReport]:
    """Quantize a loaded model and compare it with the float one."""
    data, notes = quantize_bytes(
        loaded.model, calibration.feeds, source=str(loaded.path), per_channel=per_channel
    )
    report = compare(
        loaded.model,
        data,
        held_out if held_out.feeds else calibration,
        source=str(loaded.path),
        runs=runs,
        notes=notes,
    )
    return data, report
