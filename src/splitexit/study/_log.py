"""Every measured latency, one row per inference: ``latencies.csv``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splitexit._boundary import atomic_write_text
from splitexit._validation import PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.study._schedule import Strategy

__all__ = ["COLUMNS", "LatencyLog", "read_latencies"]

COLUMNS: tuple[str, ...] = ("subject", "operator", "tiers", "repetition", "sample", "latency_s")


@returned_type
@dataclass
class LatencyLog:
    """Latencies in seconds, in the order they were measured.

    >>> log = LatencyLog()
    >>> log.add(Strategy("m", "I", "E"), 1, (0, 1), (0.5, 0.25))
    >>> log.groups()[Strategy("m", "I", "E")].tolist()
    [0.5, 0.25]
    """

    rows: list[tuple[Strategy, int, int, float]] = field(default_factory=list)

    def add(
        self,
        strategy: Strategy,
        repetition: int,
        samples: Sequence[int],
        latencies: Sequence[float],
    ) -> None:
        """Log one repetition; ``latencies[i]`` is the round trip of ``samples[i]``."""
        if len(samples) != len(latencies):
            raise ValueError(
                f"{strategy.label} repetition {repetition}: {len(latencies)} latencies "
                f"for {len(samples)} samples"
            )
        for sample, latency in zip(samples, latencies, strict=True):
            value = float(latency)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{strategy.label}: latency must be finite and >= 0, got {value}")
            self.rows.append((strategy, repetition, int(sample), value))

    def groups(self) -> dict[Strategy, np.ndarray]:
        """Latencies per strategy (all repetitions and samples pooled), first-seen order."""
        pooled: dict[Strategy, list[float]] = {}
        for strategy, _, _, latency in self.rows:
            pooled.setdefault(strategy, []).append(latency)
        return {s: np.asarray(v, dtype=np.float64) for s, v in pooled.items()}

    def repetition_medians(self) -> dict[Strategy, np.ndarray]:
        """The median of each repetition, per strategy (the seed's other reading of
        "median among the five repetitions")."""
        per: dict[Strategy, dict[int, list[float]]] = {}
        for strategy, repetition, _, latency in self.rows:
            per.setdefault(strategy, {}).setdefault(repetition, []).append(latency)
        return {
            s: np.asarray([np.median(v) for _, v in sorted(reps.items())])
            for s, reps in per.items()
        }

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for s, repetition, sample, latency in self.rows:
            writer.writerow((s.subject, s.operator, s.tiers, repetition, sample, repr(latency)))
        return buffer.getvalue()

    def write(self, path: Path) -> None:
        """Write ``latencies.csv`` atomically (readers never see half a file)."""
        atomic_write_text(path, self.to_csv())


@validate_params({"path": [PathLike()]})
def read_latencies(path: Path) -> LatencyLog:
    """Read a ``latencies.csv`` back; a bad row is one :class:`InputError` line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the latencies ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise InputError(f"{path}: the header must be {','.join(COLUMNS)}, got {header}")
    log = LatencyLog()
    for line, row in enumerate(reader, start=2):
        if len(row) != len(COLUMNS):
            raise InputError(f"{path}: line {line} has {len(row)} fields, expected 6")
        subject, operator, tiers, repetition, sample, latency = row
        try:
            log.add(
                Strategy(subject, operator, tiers), int(repetition), [int(sample)], [float(latency)]
            )
        except ValueError as exc:
            raise InputError(f"{path}: line {line}: {exc}") from None
    return log
