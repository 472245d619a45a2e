"""How far a device's latency is from linear in the height (seed 003's mechanism, issue 17).

DistrEdge's case rests on a provider's latency *not* falling in proportion to the rows it
computes: a quarter of a layer costing more than a quarter of the whole layer (launch costs,
partly filled GPU waves). For every layer of a model this script prints what a share ``s``
of the layer's height costs against ``s`` times the whole layer, ``t(ceil(s H)) / (s t(H))``
(1.00: linear; 2.00: a quarter of the rows costs half the layer), for each device given: the
presets and any measured tables (``splitexit distredge profile-device``, on a CPU or with
``--torch-device cuda`` on a GPU). Then the median and the range over the layers.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_spatial_shape.py --model vgg16
[--table T.json ...] [--per-layer]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

import numpy as np

from splitexit.spatial import DEVICE_PRESETS, load_device_table, load_model
from splitexit.spatial.devices import DeviceModel

SHARES = (1 / 8, 1 / 4, 1 / 2)


def ratios(device: DeviceModel, model_name: str) -> list[tuple[str, list[float]]]:
    """Per layer, ``t(ceil(s H)) / (s t(H))`` for every share of ``SHARES``."""
    model = load_model(model_name)
    tables, _tail = device.latency_tables(model)
    rows = []
    for layer, table in zip(model.layers, tables, strict=True):
        whole = float(table[-1])
        cells = []
        for share in SHARES:
            h = max(1, math.ceil(share * layer.h_out))
            cells.append(float(table[h]) / (h / layer.h_out * whole))
        rows.append((layer.name, cells))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--table", type=Path, action="append", default=[])
    parser.add_argument("--per-layer", action="store_true")
    args = parser.parse_args()
    devices: list[tuple[str, DeviceModel]] = [(name, d) for name, d in DEVICE_PRESETS.items()]
    devices += [(str(path), load_device_table(path)) for path in args.table]
    head = " | ".join(f"{share:g} of the height" for share in SHARES)
    print(f"model {args.model}: cost of a share of each layer's rows over that share of the layer")
    print(f"| device | {head} |")
    print("|---|" + "---|" * len(SHARES))
    for name, device in devices:
        rows = ratios(device, args.model)
        cells = []
        for k in range(len(SHARES)):
            column = np.array([cells_[k] for _, cells_ in rows])
            cells.append(f"{statistics.median(column):.2f} ({column.min():.2f}-{column.max():.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |")
        if args.per_layer:
            for layer, values in rows:
                print(f"|   {layer} | " + " | ".join(f"{v:.2f}" for v in values) + " |")


if __name__ == "__main__":
    main()
