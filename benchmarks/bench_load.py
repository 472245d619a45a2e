"""Load on local workers (issue 14): C clients x R requests over gRPC and over TCP frames.

Exports a tiny chain (ResNet-8 at quarter width, seeded random weights, the digits dataset;
three partitions on three tiers), starts one ``splitexit worker`` process per tier on
loopback (``LocalWorkers``, frames on), and streams C x R samples with C concurrent clients,
once per transport, without emulated compute stretch (``compute_mode="none"``) and with the
``mobile`` topology's emulated links. Reports per transport: delivered, failed, lost (a
sample with no record), duplicated (a result the sink got twice, or an index twice) and the
wall time. Loopback only; bounded by C x R and the per-sample deadline.

Usage: PYTHONPATH=src .venv/bin/python benchmarks/bench_load.py [--clients 40] [--requests 50]
       [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from splitexit.export import export_partitions
from splitexit.nets import build_network
from splitexit.runtime import Chain, LocalWorkers, PixelCodec, WorkerOptions
from splitexit.topology import load_topology
from splitexit.training import load_dataset

PLACEMENT = ("smartphone", "edge", "cloud")


def export_tiny(folder: Path) -> Any:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = load_dataset("digits")
    net = build_network("resnet8", in_channels=1, num_classes=10, width=0.25).eval()
    manifest = export_partitions(
        net, partition=(0, 2, 3), placement=PLACEMENT, threshold=0.9,
        destination="smartwatch", model="resnet8", dataset="digits",
        input_shape=data.train.images.shape[1:], out_dir=folder,
    )  # fmt: skip
    return manifest, data


def run(
    transport: str, clients: int, requests: int, folder: Path, manifest: Any, data: Any
) -> dict[str, Any]:
    n = clients * requests
    images = data.profile.images
    reps = -(-n // len(images))
    all_images = torch.from_numpy(images).repeat(reps, 1, 1, 1).numpy()[:n]
    labels = torch.from_numpy(data.profile.labels).repeat(reps).numpy()[:n]
    with LocalWorkers(list(PLACEMENT), extra_args=["--transport", "tcp"]) as workers:
        addresses = [workers.addresses[t] for t in PLACEMENT]
        with Chain(
            manifest, folder, load_topology("mobile"), addresses, workers.token,
            compute_mode="none", warmup=2, deadline_s=120, transport=transport,
            pixels=PixelCodec(data.pixel_levels, data.mean, data.std), options=WorkerOptions(),
        ) as chain:  # fmt: skip
            chain.wait_ready()
            chain.deploy()
            start = time.monotonic()
            records = chain.stream(all_images, labels, list(range(n)), clients=clients)
            wall = time.monotonic() - start
            seen = Counter(r.index for r in records)
            failed = [r for r in records if r.status != "delivered"]
            return {
                "transport": transport,
                "clients": clients,
                "requests_per_client": requests,
                "samples": n,
                "delivered": n - len(failed),
                "failed": len(failed),
                "first_failure": failed[0].reason if failed else None,
                "lost": sum(1 for i in range(n) if i not in seen),
                "duplicated": sum(c - 1 for c in seen.values()) + chain.sink.duplicates,
                "sink_received": chain.sink.received,
                "wall_s": round(wall, 2),
                "samples_per_s": round(n / wall, 1),
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp) / "export"
        manifest, data = export_tiny(folder)
        rows = [
            run(t, args.clients, args.requests, folder, manifest, data) for t in ("grpc", "tcp")
        ]
    for row in rows:
        print(json.dumps(row))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
