"""The experiments of seed 003, section V, on the simulator: Tables I-III and Fig. 4.

Each function returns info objects (comparisons, curves) and a Markdown table; the CLI
``splitexit distredge experiment`` writes them (JSON, PNG, Markdown) for docs/spatial.md.
The dynamic network of section V-F lives in ``_dynamic.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from splitexit._validation import Callable_, InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.spatial.devices._cluster import Cluster, Provider, group_cluster
from splitexit.spatial.devices._compile import make_problem
from splitexit.spatial.devices._devices import (
    DEVICE_PRESETS,
    ShapedDevice,
    TableDevice,
    device_preset,
)
from splitexit.spatial.experiments._compare import METHODS, compare
from splitexit.spatial.experiments._report import LinesInfo
from splitexit.spatial.geometry._geometry import ModelSpec
from splitexit.spatial.geometry._simulator import simulate
from splitexit.spatial.methods._fast import FAST_EVALUATIONS, polish, split_volumes
from splitexit.spatial.methods._lcpss import lcpss
from splitexit.spatial.methods._osds import OSDSConfig, osds

__all__ = [
    "GPU_PRESETS",
    "TABLES",
    "Case",
    "Record",
    "alpha_sweep",
    "case_names",
    "gpu_shaped",
    "merge_records",
    "run_table",
    "table_markdown",
]

Progress = Callable[[str], None]


@validate_params(
    {
        "group": [InstanceOf(str)],
        "bandwidth": [Interval(float, None, None), None],
        "device": [InstanceOf(str), None],
    }
)
@dataclass(frozen=True)
class Case:
    """One group of a table with its free parameter."""

    group: str
    bandwidth: float | None = None
    device: str | None = None

    @property
    def label(self) -> str:
        if self.bandwidth is not None:
            return f"{self.group} {self.bandwidth / 1e6:g}Mbps"
        return f"{self.group} {self.device}" if self.device else self.group

    def cluster(self) -> Cluster:
        return group_cluster(self.group, bandwidth=self.bandwidth, device=self.device)


TABLES: dict[str, tuple[Case, ...]] = {
    "table1": tuple(Case(g, bandwidth=b * 1e6) for g in ("DA", "DB", "DC") for b in (50, 300)),
    "table2": tuple(
        Case(g, device=d) for d in ("nano", "xavier") for g in ("NA", "NB", "NC", "ND")
    ),
    "table3": tuple(Case(g) for g in ("LA", "LB", "LC", "LD")),
}


Record = dict[str, Any]  # a case as JSON: Comparison.to_dict() with notes["case"]

# The presets that stand for GPUs (the Jetsons); the Pi3 computes on its CPU.
GPU_PRESETS = ("nano", "tx2", "xavier")


@validate_params({"cluster": [InstanceOf(Cluster)], "shape": [InstanceOf(TableDevice)]})
def gpu_shaped(cluster: Cluster, shape: TableDevice) -> Cluster:
    """``cluster`` with every GPU preset given ``shape``'s latency shape in the height
    (:class:`ShapedDevice`: the preset's speed per whole layer kept); the Pi3 and measured
    tables are left as they are."""
    gpus = {DEVICE_PRESETS[name] for name in GPU_PRESETS}
    providers = tuple(
        Provider(p.name, ShapedDevice(p.device, shape), p.bandwidth) if p.device in gpus else p
        for p in cluster.providers
    )
    return dataclasses.replace(cluster, providers=providers)


@validate_params({"name": [InstanceOf(str)]})
def case_names(name: str) -> list[str]:
    """The case labels of a table, in the paper's order."""
    if name not in TABLES:
        raise InputError(f"experiment {name!r} is not one of {', '.join(TABLES)}")
    return [case.label for case in TABLES[name]]


@validate_params(
    {
        "name": [InstanceOf(str)],
        "model": [InstanceOf(ModelSpec)],
        "osds_config": [InstanceOf(OSDSConfig)],
        "fast_evaluations": [Interval(int, None, None)],
        "cases": [InstanceOf(tuple, list), None],
        "methods": [InstanceOf(tuple, list)],
        "progress": [Callable_(), None],
        "shape": [InstanceOf(TableDevice), None],
    }
)
def run_table(
    name: str,
    model: ModelSpec,
    *,
    osds_config: OSDSConfig,
    fast_evaluations: int = FAST_EVALUATIONS,
    cases: Sequence[str] | None = None,
    methods: Sequence[str] = METHODS,
    progress: Progress | None = None,
    shape: TableDevice | None = None,
) -> list[Record]:
    """The nine methods (or ``methods``) on the cases of ``table1``, ``table2`` or ``table3``.

    ``cases`` are labels such as ``"NA nano"`` (case-insensitive, ``-`` for a space).
    ``shape``: every GPU preset takes this measured table's shape in the height
    (:func:`gpu_shaped`); the records' notes name its source.
    """
    labels = case_names(name)
    wanted = labels
    if cases is not None:
        lookup = {label.lower(): label for label in labels}
        wanted = []
        for text in cases:
            key = text.strip().replace("-", " ").lower()
            if key not in lookup:
                raise InputError(f"case {text!r} is not in {name}; cases: {', '.join(labels)}")
            wanted.append(lookup[key])
    out = []
    for case in TABLES[name]:
        if case.label not in wanted:
            continue
        cluster = case.cluster() if shape is None else gpu_shaped(case.cluster(), shape)
        problem = make_problem(model, cluster)
        comparison = compare(
            problem, methods=methods, osds_config=osds_config, fast_evaluations=fast_evaluations
        )
        comparison.notes["case"] = case.label
        if shape is not None:
            comparison.notes["gpu_shape"] = shape.source
        out.append(comparison.to_dict(problem))
        if progress is not None:
            ips = {r.method: r.ips for r in comparison.results}
            progress(f"{case.label}: " + ", ".join(f"{m} {v:.2f}" for m, v in ips.items()) + " IPS")
    return out


def merge_records(name: str, old: object, new: Sequence[Record], *, source: str) -> list[Record]:
    """Cases of an earlier run (``old``, parsed JSON) updated by ``new``, in table order.

    A case run again replaces the results of the methods it ran and keeps the others.
    """
    if not isinstance(old, list) or not all(
        isinstance(r, dict) and isinstance(r.get("notes"), dict) and "case" in r["notes"]
        for r in old
    ):
        raise InputError(f"{source}: not the JSON of an earlier `experiment {name}` run")
    by_case = {r["notes"]["case"]: r for r in old}
    for record in new:
        earlier = by_case.get(record["notes"]["case"])
        if earlier is not None:  # keep the methods that were not run again
            results = {r["method"]: r for r in earlier["results"]}
            results |= {r["method"]: r for r in record["results"]}
            notes = {**earlier["notes"], **record["notes"]}
            ordered = [results[m] for m in METHODS if m in results]
            record = {**record, "results": ordered, "notes": notes}
        by_case[record["notes"]["case"]] = record
    return [by_case[label] for label in case_names(name) if label in by_case]


def _ips(record: Record, method: str) -> float:
    return float(next(r["ips"] for r in record["results"] if r["method"] == method))


def _plan_s(record: Record, method: str) -> float:
    return float(next(r["plan_s"] for r in record["results"] if r["method"] == method))


@validate_params({"records": [InstanceOf(tuple, list)]})
def table_markdown(records: Sequence[Record]) -> str:
    """Images per second per case and method, and DistrEdge's and fast's ratios, apart.

    DistrEdge (the paper's method) and ``fast`` (ours) each get their own ratios to AOFL and
    to the best baseline; no column mixes them.
    """
    methods = [m for m in METHODS if any(r["method"] == m for r in records[0]["results"])]
    ours = [m for m in ("distredge", "fast") if m in methods]
    baselines = [m for m in methods if m not in ("distredge", "fast")]
    names = {"distredge": "DistrEdge", "fast": "fast"}
    ratios = [f"{names[m]}/{ref}" for m in ours for ref in ("AOFL", "best baseline")]
    times = [t for m, t in (("distredge", "DDPG train s"), ("fast", "fast s")) if m in ours]
    head = ["case", *methods, *ratios, *times]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for record in records:
        best_baseline = max(baselines, key=lambda m: _ips(record, m))
        cells = [
            str(record["notes"].get("case", record["cluster"])),
            *(f"{_ips(record, m):.2f}" for m in methods),
        ]
        for m in ours:
            cells.append(f"{_ips(record, m) / _ips(record, 'aofl'):.2f}x")
            cells.append(f"{_ips(record, m) / _ips(record, best_baseline):.2f}x ({best_baseline})")
        if "distredge" in ours:
            cells.append(f"{record['notes'].get('distredge_train_s', 0.0):.0f}")
        if "fast" in ours:
            cells.append(f"{_plan_s(record, 'fast'):.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _alpha_cases() -> list[tuple[str, Cluster]]:
    nano = device_preset("nano")
    providers = tuple(Provider(f"nano-{k + 1}", nano, 200e6) for k in range(4))
    homogeneous = Cluster(providers, 400e6, name="4xNano 200Mbps")
    return [
        ("(a) 4 Nano, 200Mbps", homogeneous),
        ("(b) DB 50Mbps", group_cluster("DB", bandwidth=50e6)),
        ("(c) NA Nano", group_cluster("NA", device="nano")),
        ("(d) LB", group_cluster("LB")),
        ("(d) LC", group_cluster("LC")),
        ("(d) LD", group_cluster("LD")),
    ]


@validate_params(
    {
        "model": [InstanceOf(ModelSpec)],
        "splitter": [InstanceOf(str)],
        "osds_config": [InstanceOf(OSDSConfig), None],
        "polish_evaluations": [Interval(int, None, None)],
        "progress": [Callable_(), None],
    }
)
def alpha_sweep(
    model: ModelSpec,
    *,
    splitter: str = "fast",
    osds_config: OSDSConfig | None = None,
    polish_evaluations: int = 2000,
    progress: Progress | None = None,
) -> tuple[LinesInfo, dict[str, Any]]:
    """Fig. 4: images per second with the LC-PSS scheme of each alpha.

    The split decisions for each scheme come from OSDS (``splitter="ddpg"``, as the paper) or,
    much faster, from our equal-finish splitter and ``polish_evaluations`` of polish on that
    fixed scheme (``"fast"``). The same arguments give the same numbers.
    """
    if splitter not in ("fast", "ddpg"):
        raise InputError(f"splitter must be 'fast' or 'ddpg', got {splitter!r}")
    labels, xs, ys = [], [], []
    raw: dict[str, Any] = {}
    for label, cluster in _alpha_cases():
        problem = make_problem(model, cluster)
        values, schemes = [], []
        for alpha in ALPHAS:
            boundaries = lcpss(problem, alpha=alpha)
            if splitter == "ddpg":
                latency = osds(problem, boundaries, osds_config or OSDSConfig()).latency_s
            else:
                start = split_volumes(problem, boundaries)
                tuned = polish(problem, start, max_evaluations=polish_evaluations)
                latency = simulate(problem, tuned).latency_s
            values.append(1.0 / latency)
            schemes.append([b + 1 for b in boundaries[:-1]])
            if progress is not None:
                volumes = len(boundaries) - 1
                progress(f"{label} alpha={alpha}: {volumes} volumes, {1 / latency:.2f} IPS")
        labels.append(label)
        xs.append(ALPHAS)
        ys.append(tuple(values))
        raw[label] = {"alpha": list(ALPHAS), "ips": values, "partition_locations": schemes}
    info = LinesInfo(
        f"IPS with the LC-PSS scheme of each alpha ({model.name}, splitter: {splitter})",
        "alpha",
        "images per second",
        tuple(labels),
        tuple(tuple(x) for x in xs),
        tuple(ys),
    )
    return info, raw
