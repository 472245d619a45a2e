"""Small models and clusters whose timings can be computed by hand."""

from __future__ import annotations

from typing import Any

from splitexit.spatial import Cluster, ModelSpec, Provider, TableDevice, model_from_mapping


def hand_model(layers: int = 2, *, height: int = 4, tail: bool = False) -> ModelSpec:
    """``layers`` 3x3 convs with padding 1 on a ``height`` x 1 x 1 input (every map H x 1 x 1)."""
    mapping: dict[str, Any] = {
        "name": "hand",
        "input": {"height": height, "width": 1, "channels": 1},
        "layers": [
            {"name": f"c{i}", "kind": "conv", "c_out": 1, "f": 3, "s": 1, "p": 1}
            for i in range(layers)
        ],
        "tail": {"pool": "flatten", "fc": [2]} if tail else {"pool": "none"},
    }
    return model_from_mapping(mapping, source="hand")


def linear_device(
    name: str, model: ModelSpec, per_row_s: float, tail_s: float = 0.0
) -> TableDevice:
    """A device taking ``per_row_s`` seconds per output row of every layer."""
    heights = tuple(tuple(range(1, layer.h_out + 1)) for layer in model.layers)
    return TableDevice(
        name=name,
        model_name=model.name,
        layer_names=tuple(layer.name for layer in model.layers),
        heights=heights,
        seconds=tuple(tuple(per_row_s * h for h in hs) for hs in heights),
        tail_s=tail_s,
        source=name,
    )


def hand_cluster(
    model: ModelSpec,
    per_row_s: list[float],
    bandwidths: list[float],
    *,
    requester: float = 16.0,
    overhead: float = 0.5,
    tail_s: float = 0.0,
) -> Cluster:
    """Providers with linear tables; bandwidths in bit/s; 8-bit image, 16-bit features."""
    providers = tuple(
        Provider(f"d{k}", linear_device(f"d{k}", model, s, tail_s), b)
        for k, (s, b) in enumerate(zip(per_row_s, bandwidths, strict=True))
    )
    return Cluster(providers, requester, overhead, input_bits=8, feature_bits=16, name="hand")
