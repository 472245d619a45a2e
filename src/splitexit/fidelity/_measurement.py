"""The ``splitexit.measurement/1`` file the runtime writes, validated once here.

Inside, partitions and exits are 0-based and failed samples are kept (``delivered`` is
False, their latency NaN); hops are flattened into arrays so calibration needs no loops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BeforeValidator, Field, model_validator

from splitexit._boundary import StrictModel, read_mapping
from splitexit._validation import (
    InstanceOf,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.configuration import Configuration, check_exit_thresholds
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.topology import Topology

__all__ = [
    "MEASUREMENT_FORMAT",
    "MeasuredPartition",
    "Measurement",
    "load_measurement",
    "measurement_from_mapping",
]

MEASUREMENT_FORMAT = "splitexit.measurement/1"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _number(lower: float, *, open_lower: bool = False) -> Any:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        number = float(value)
        below = number <= lower if open_lower else number < lower
        if not math.isfinite(number) or below:
            sign = ">" if open_lower else ">="
            raise ValueError(f"must be a finite number {sign} {lower:g}, got {value!r}")
        return number

    return BeforeValidator(check)


NonNegative = Annotated[float, _number(0.0)]
Positive = Annotated[float, _number(0.0, open_lower=True)]
Threshold = Annotated[float, _number(0.0, open_lower=True), Field(le=1.0)]  # (0, 1]


class _ConfigSpec(StrictModel):
    threshold: Threshold | None = None
    thresholds: list[Threshold] | None = None
    partition: list[int]
    placement: list[str]

    @model_validator(mode="after")
    def _consistent(self) -> _ConfigSpec:
        count = len(self.partition)
        if count == 0:
            raise ValueError("partition must list at least one block")
        if any(p < 1 for p in self.partition) or any(
            b <= a for a, b in zip(self.partition, self.partition[1:], strict=False)
        ):
            raise ValueError(f"partition must be increasing 1-based blocks, got {self.partition}")
        if len(self.placement) != count or len(set(self.placement)) != count:
            raise ValueError(
                f"placement must name {count} distinct tiers (one per partition), "
                f"got {self.placement}"
            )
        if self.threshold is not None and self.thresholds is not None:
            raise ValueError("give threshold or thresholds, not both")
        if count > 1 and self.threshold is None and self.thresholds is None:
            raise ValueError(f"a configuration of {count} partitions needs threshold(s)")
        return self


class _PartitionSpec(StrictModel):
    index: int
    tier: str
    compute_ratio: Positive
    reference_s: NonNegative
    activation_bits: Positive | None
    result_bits: Positive


class _HopSpec(StrictModel):
    partition: int
    tier: str
    arrive_s: NonNegative
    compute_s: NonNegative
    busy_s: NonNegative
    link_s: NonNegative
    # optional (older files lack it): what the worker waited from the arrival before its
    # compute (netns: the propagation and the links' bucket credit, ``_shaping``)
    receive_s: NonNegative | None = None


class _SampleSpec(StrictModel):
    index: int
    label: int
    prediction: int | None
    exit: int | None
    status: Literal["delivered", "failed"]
    reason: str | None = None
    latency_s: NonNegative | None
    input_link_s: NonNegative
    hops: list[_HopSpec]
    # optional (older files lack them): the 1-based client that sent it, and when it left
    # and its result arrived, in seconds from the run's first send
    client: Annotated[int, Field(ge=1)] | None = None
    sent_s: NonNegative | None = None
    received_s: NonNegative | None = None
    # optional: the 0-based block it was measured in, when the run measured its samples in
    # several blocks interleaved with other configurations' (``splitexit run``'s interleave)
    block: Annotated[int, Field(ge=0)] | None = None


class _MeasurementSpec(StrictModel):
    format: Literal["splitexit.measurement/1"]
    profile: str
    topology: str
    config: _ConfigSpec
    source: str
    destination: str
    compute_mode: Literal["sleep", "cpu-quota", "none"]
    input_bits: Positive
    partitions: list[_PartitionSpec]
    samples: list[_SampleSpec]
    # written by the testbed for people (how it ran, its own summary); read only for clients
    run: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _MeasurementSpec:
        count = len(self.config.partition)
        if len(self.partitions) != count:
            raise ValueError(f"partitions has {len(self.partitions)} entries, expected {count}")
        for k, part in enumerate(self.partitions):
            if part.index != k + 1 or part.tier != self.config.placement[k]:
                raise ValueError(
                    f"partitions[{k}] must be partition {k + 1} on {self.config.placement[k]!r}, "
                    f"got partition {part.index} on {part.tier!r}"
                )
            if (part.activation_bits is None) != (k == count - 1):
                raise ValueError(
                    f"partitions[{k}].activation_bits must be "
                    + ("null (last partition)" if k == count - 1 else "a number of bits")
                )
        if not self.samples:
            raise ValueError("samples must list at least one sample")
        seen: set[int] = set()
        for s, sample in enumerate(self.samples):
            _check_sample(s, sample, self.config.placement, seen)
        return self


def _check_sample(s: int, sample: _SampleSpec, placement: list[str], seen: set[int]) -> None:
    where = f"samples[{s}]"
    count = len(placement)
    if sample.index < 0 or sample.index in seen:
        raise ValueError(f"{where}.index must be a distinct row >= 0, got {sample.index}")
    seen.add(sample.index)
    if (
        sample.sent_s is not None
        and sample.received_s is not None
        and sample.received_s < sample.sent_s
    ):
        raise ValueError(
            f"{where}.received_s must not be before sent_s, got {sample.received_s:g} < "
            f"{sample.sent_s:g}"
        )
    if sample.status == "failed":
        return
    if sample.latency_s is None or sample.exit is None:
        raise ValueError(f"{where}: a delivered sample needs latency_s and exit")
    if not 1 <= sample.exit <= count:
        raise ValueError(f"{where}.exit must be in 1..{count}, got {sample.exit}")
    visited = [hop.partition for hop in sample.hops]
    if visited != list(range(1, sample.exit + 1)):
        raise ValueError(
            f"{where}.hops must visit partitions 1..{sample.exit} in order, got {visited}"
        )
    for h, hop in enumerate(sample.hops):
        if hop.tier != placement[hop.partition - 1]:
            raise ValueError(
                f"{where}.hops[{h}].tier must be {placement[hop.partition - 1]!r} (placement), "
                f"got {hop.tier!r}"
            )


@returned_type
@dataclass(frozen=True)
class MeasuredPartition:
    """One deployed partition: tier, R, measured reference time and the sizes it sends."""

    tier: str
    compute_ratio: float
    reference_s: float
    activation_bits: float | None
    result_bits: float


@returned_type
@dataclass(frozen=True, eq=False)
class Measurement:
    """A validated measurement file; 0-based partitions and exits inside.

    Per sample (S,): ``index`` (trace row), ``exit`` (-1 when failed), ``delivered``,
    ``latency_s`` (NaN when failed). Per hop (H,), delivered samples only: ``hop_sample``
    (position in the sample arrays), ``hop_partition``, ``arrive_s``, ``compute_s``,
    ``busy_s``, ``link_s`` (and ``receive_s`` where every hop records it).
    """

    source_file: str
    profile: str
    topology: str
    threshold: float | None  # the global T, when the file gives one
    exit_thresholds: tuple[float, ...]  # T_k for every exit but the last (L - 1 values)
    partition: tuple[int, ...]  # 0-based last block of each partition
    placement: tuple[str, ...]  # tier names
    source: str
    destination: str
    compute_mode: str
    input_bits: float
    partitions: tuple[MeasuredPartition, ...]
    clients: int  # samples in flight at once (run.clients; 1 when absent)
    index: IntArray
    label: IntArray
    prediction: IntArray  # -1 when null
    exit: IntArray
    delivered: npt.NDArray[np.bool_]
    latency_s: FloatArray
    input_link_s: FloatArray
    hop_sample: IntArray
    hop_partition: IntArray
    arrive_s: FloatArray
    compute_s: FloatArray
    busy_s: FloatArray
    link_s: FloatArray
    transport: str = "grpc"  # run.transport: how samples travelled (grpc when absent)
    network: str = "emulated"  # run.network: emulated or netns links (emulated when absent)
    # per sample (S,), when every sample names it: the 1-based client; else None
    client: IntArray | None = None
    # per sample (S,), NaN where absent; None when no sample has them: seconds from the
    # run's first send to the sample's send and to its result's arrival
    sent_s: FloatArray | None = None
    received_s: FloatArray | None = None
    # per sample (S,), when every sample names it: the 0-based block (interleaved runs)
    block: IntArray | None = None
    # per hop, when every hop has it: what its worker waited from the arrival before its
    # compute (netns: propagation and bucket credit); None in older files
    receive_s: FloatArray | None = None

    @property
    def setting(self) -> tuple[str, str]:
        """(compute mode, transport): measurements calibrated together must share it."""
        return self.compute_mode, self.transport

    @property
    def num_partitions(self) -> int:
        return len(self.partition)

    @property
    def num_samples(self) -> int:
        return int(self.index.shape[0])

    @property
    def per_exit(self) -> bool:
        """Whether the file gave one threshold per exit rather than one T."""
        return self.threshold is None and self.num_partitions > 1

    def configuration(self, topology: Topology) -> Configuration:
        """The measured (T, P, A) as a :class:`Configuration` (tiers named by ``topology``)."""
        where = self.source_file
        placement = tuple(
            topology.tier_index(name, field_name=f"{where}: config.placement tier")
            for name in self.placement
        )
        return Configuration(self.partition, placement, self.exit_thresholds)

    def label_text(self) -> str:
        """``P=[3,9] A=[smartphone,edge] T=0.6`` (1-based P), for tables and plots."""
        text = "P=[" + ",".join(str(p + 1) for p in self.partition) + "]"
        text += " A=[" + ",".join(self.placement) + "]"
        if self.num_partitions > 1:
            shown = self.exit_thresholds if self.per_exit else self.exit_thresholds[:1]
            text += " T=" + "/".join(f"{t:g}" for t in shown)
        return text


@validate_params(
    {
        "data": [InstanceOf(dict)],
        "source": [InstanceOf(str)],
    }
)
def measurement_from_mapping(data: object, *, source: str = "<measurement>") -> Measurement:
    """Validate a parsed measurement file and build a :class:`Measurement`."""
    if isinstance(data, dict) and data.get("format") not in (None, MEASUREMENT_FORMAT):
        raise InputError(
            f"{source}: format must be {MEASUREMENT_FORMAT!r}, got {data.get('format')!r}"
        )
    spec = _MeasurementSpec.parse(data, source=source)
    count = len(spec.config.partition)
    if spec.config.thresholds is not None:
        given: list[float] = spec.config.thresholds
    elif spec.config.threshold is not None:
        given = [spec.config.threshold] * (count - 1)
    else:
        given = []
    exit_thresholds = check_exit_thresholds(given, count, where=f"{source}: config.thresholds")
    samples = spec.samples
    delivered = np.array([s.status == "delivered" for s in samples], dtype=bool)
    hops = [(i, hop) for i, s in enumerate(samples) if s.status == "delivered" for hop in s.hops]
    return Measurement(
        source_file=source,
        profile=spec.profile,
        topology=spec.topology,
        threshold=spec.config.threshold,
        exit_thresholds=exit_thresholds,
        partition=tuple(p - 1 for p in spec.config.partition),
        placement=tuple(spec.config.placement),
        source=spec.source,
        destination=spec.destination,
        compute_mode=spec.compute_mode,
        input_bits=spec.input_bits,
        clients=_clients(spec.run, source),
        transport=_transport(spec.run, source),
        network=_network(spec.run, source),
        client=(
            np.array([s.client for s in samples], dtype=np.int64)
            if all(s.client is not None for s in samples)
            else None
        ),
        sent_s=_times([s.sent_s for s in samples]),
        received_s=_times([s.received_s for s in samples]),
        block=(
            np.array([s.block for s in samples], dtype=np.int64)
            if samples and all(s.block is not None for s in samples)
            else None
        ),
        partitions=tuple(
            MeasuredPartition(
                tier=p.tier,
                compute_ratio=p.compute_ratio,
                reference_s=p.reference_s,
                activation_bits=p.activation_bits,
                result_bits=p.result_bits,
            )
            for p in spec.partitions
        ),
        index=np.array([s.index for s in samples], dtype=np.int64),
        label=np.array([s.label for s in samples], dtype=np.int64),
        prediction=np.array(
            [-1 if s.prediction is None else s.prediction for s in samples], dtype=np.int64
        ),
        exit=np.array(
            [
                s.exit - 1 if ok and s.exit is not None else -1
                for s, ok in zip(samples, delivered, strict=True)
            ],
            dtype=np.int64,
        ),
        delivered=delivered,
        latency_s=np.array(
            [
                s.latency_s if ok and s.latency_s is not None else np.nan
                for s, ok in zip(samples, delivered, strict=True)
            ],
            dtype=np.float64,
        ),
        input_link_s=np.array([s.input_link_s for s in samples], dtype=np.float64),
        hop_sample=np.array([i for i, _ in hops], dtype=np.int64),
        hop_partition=np.array([hop.partition - 1 for _, hop in hops], dtype=np.int64),
        arrive_s=np.array([hop.arrive_s for _, hop in hops], dtype=np.float64),
        compute_s=np.array([hop.compute_s for _, hop in hops], dtype=np.float64),
        busy_s=np.array([hop.busy_s for _, hop in hops], dtype=np.float64),
        link_s=np.array([hop.link_s for _, hop in hops], dtype=np.float64),
        receive_s=(
            np.array([hop.receive_s for _, hop in hops], dtype=np.float64)
            if hops and all(hop.receive_s is not None for _, hop in hops)
            else None
        ),
    )


def _clients(run: dict[str, Any] | None, source: str) -> int:
    value = 1 if run is None else run.get("clients", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{source}: run.clients must be an integer >= 1, got {value!r}")
    return value


def _transport(run: dict[str, Any] | None, source: str) -> str:
    value = "grpc" if run is None else run.get("transport", "grpc")
    if value not in ("grpc", "tcp"):
        raise InputError(f"{source}: run.transport must be grpc or tcp, got {value!r}")
    return str(value)


def _network(run: dict[str, Any] | None, source: str) -> str:
    value = "emulated" if run is None else run.get("network", "emulated")
    if value not in ("emulated", "netns"):
        raise InputError(f"{source}: run.network must be emulated or netns, got {value!r}")
    return str(value)


def _times(values: list[float | None]) -> FloatArray | None:
    if all(v is None for v in values):
        return None
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


@validate_params(
    {
        "path": [PathLike()],
    }
)
def load_measurement(path: str | Path) -> Measurement:
    """Read and validate a ``splitexit.measurement/1`` JSON file.

    Every problem is an :class:`~splitexit.errors.InputError` of one line naming the file and
    the field, e.g. ``run.json: config.partition must be increasing 1-based blocks, got [3, 2]``.
    """
    file = Path(path)
    return measurement_from_mapping(read_mapping(file, kind="measurement"), source=str(file))
