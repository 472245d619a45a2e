"""The real executor: the operators' variants deployed on the runtime's workers.

A strategy on a tier pair runs piece 1 on the first tier and piece 2 on the second; a
single-tier strategy runs the whole variant on that tier. ``restart`` closes the previous
strategy's workers and starts fresh ones (``LocalWorkers`` + the driver's ``Chain``), so each
deployment has its own lifetime. Source and destination are the topology's mobile tier, so
every latency is a round trip from it. Compute is stretched by each tier's
``compute_ratio`` (``sleep`` by default; ``cpu-quota`` confines the workers by CPU groups).

>>> executor = RuntimeExecutor(study, Path("work"))  # doctest: +SKIP
>>> run_study(study, Path("out"), executor, predictions=executor.predictions())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from splitexit._validation import Callable_, InstanceOf, Interval, PathLike, validate_params
from splitexit.errors import SplitexitError
from splitexit.operators import Samples, load_model, load_samples, random_inputs
from splitexit.study._accuracy import AccuracyRow
from splitexit.study._predict import Prediction
from splitexit.study._schedule import Strategy
from splitexit.study._segmentation import load_masks, mean_iou, predicted_masks
from splitexit.study._spec import Study
from splitexit.study._variants import Variant, build_variants, time_variants, variant_predictions
from splitexit.topology import Topology

__all__ = ["REFERENCE_RUNS", "RuntimeExecutor", "message_costs"]

# Runs each worker times its piece at deploy; the sleep stretch holds every inference for
# compute_ratio x the median of the last three quarters of them. With the runtime's few runs
# (5 gave a median of 4) one noisy draw per deployment, multiplied by 12 (edge) or 24
# (mobile), decided a whole block: on 2 shared cores the reference of one piece varied
# 2-3x between restarts. 100 runs cost a few ms per deployment (docs/study.md).
REFERENCE_RUNS = 100


@validate_params(
    {
        "topology": [InstanceOf(Topology)],
        "path": [InstanceOf(list, tuple)],
        "bits": [InstanceOf(list, tuple)],
    }
)
def message_costs(topology: Topology, path: Sequence[int], bits: Sequence[float]) -> list[float]:
    """What each message of a strategy costs the model: the message from ``path[i]`` to
    ``path[i + 1]`` (tier indices: the source, each piece's tier, the destination) carries
    ``bits[i]`` and costs its transfer (PL + bits * IB) plus the topology's per-message
    overhead (``Topology.message_s``, 0 without ``overheads:``), also where it crosses no link.

    >>> from splitexit.topology import Overheads, load_topology
    >>> from dataclasses import replace
    >>> topo = replace(load_topology("seed004"), overheads=Overheads(0.001, 0.0005))
    >>> [round(c * 1e3, 3) for c in message_costs(topo, [0, 0, 1, 0], [8e5, 2e5, 80.0])]
    [1.0, 2.5, 1.5]
    """
    return [
        topology.transfer_s(b, a, c) + topology.message_s(a, c)
        for b, a, c in zip(bits, path[:-1], path[1:], strict=True)
    ]


@validate_params(
    {
        "study": [InstanceOf("splitexit.study._spec:Study")],
        "work": [PathLike()],
        "compute_mode": [InstanceOf(str)],
        "skip": [Interval(int, 1, None, closed="left")],
        "progress": [Callable_(), None],
    }
)
class RuntimeExecutor:
    """Deploys and times the study's strategies on local workers (``StrategyExecutor``)."""

    def __init__(
        self,
        study: Study,
        work: Path,
        *,
        compute_mode: str = "sleep",
        skip: int = 2,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.study, self.work, self.compute_mode = study, work, compute_mode
        self.progress = progress or (lambda line: None)
        self.samples: dict[str, Samples] = {}
        self.masks: dict[str, np.ndarray] = {}  # segmentation subjects: (samples, H, W)
        self.variants: dict[str, dict[str, Variant]] = {}
        operators = tuple(dict.fromkeys(op for op, _ in study.cells))
        for spec in study.spec.subjects:
            if spec.onnx is None:
                raise SplitexitError(
                    f"subject {spec.name!r}: model {spec.model!r} is not exported yet; "
                    "`splitexit study` exports it (splitexit.experiment.export_study_subject, "
                    "then splitexit.study.with_subject_files)"
                )
            path = study.base_dir / spec.onnx
            inputs = load_model(path).inputs
            if spec.data is not None:
                samples = load_samples(study.base_dir / spec.data, inputs)
                masks = load_masks(study.base_dir / spec.data)
                if masks is not None:  # load_samples kept the rows every array has
                    self.masks[spec.name] = masks[: len(samples.feeds)]
            else:
                count = max(study.spec.samples.count, 2)
                samples = Samples([random_inputs(inputs, s) for s in range(count)], None)
            self.samples[spec.name] = samples
            self.progress(f"{spec.name}: building {', '.join(operators)}")
            self.variants[spec.name] = build_variants(
                path, work / spec.name, samples, operators, skip=skip
            )
        self._stack: ExitStack | None = None
        self._chain: object = None
        self._current: Strategy | None = None

    # -- StrategyExecutor ----------------------------------------------------------------
    def restart(self, strategy: Strategy) -> None:
        """Fresh workers for ``strategy`` (the previous deployment's are shut down)."""
        from splitexit.runtime import Chain, ChainPlan, LocalWorkers
        from splitexit.runtime._plan import PartitionPlan

        self.close()
        variant = self.variants[strategy.subject][strategy.operator]
        tiers = self.study.tier_names(strategy.tiers)
        folder = variant.pieces[0].file.parent
        plan = ChainPlan(
            partitions=tuple(
                PartitionPlan(
                    file=str(p.file.relative_to(folder)),
                    sha256=p.sha256,
                    tier=tier,
                    input_shape=tuple(p.inputs[0].shape[1:]),
                    last_block=k + 1,
                )
                for k, (p, tier) in enumerate(zip(variant.pieces, tiers, strict=True))
            ),
            thresholds=(None,) * len(variant.pieces),
            destination=self.study.topology.tiers[self.study.topology.destination].name,
        )
        stack = ExitStack()
        try:
            workers = stack.enter_context(LocalWorkers(list(tiers), start_timeout_s=60.0))
            chain = Chain(
                plan, folder, self.study.topology, [workers.addresses[t] for t in tiers],
                workers.token, compute_mode=self.compute_mode, warmup=REFERENCE_RUNS,
            )  # fmt: skip
            stack.enter_context(chain)
            chain.wait_ready()
            chain.deploy()
            if self.compute_mode == "cpu-quota":
                self._confine(stack, workers, tiers)
        except BaseException:
            stack.close()
            raise
        self._stack, self._chain, self._current = stack, chain, strategy

    def cpu_quotas(self) -> dict[str, tuple[int, int]]:
        """Tier name -> (quota_us, period_us) of the CFS quota that ``cpu-quota`` mode puts
        its workers under (the runtime's short-period ``quota_for``); tiers with a compute
        ratio of 1 run unconfined and are absent. Empty in ``sleep`` mode."""
        if self.compute_mode != "cpu-quota":
            return {}
        from splitexit.runtime import quota_for

        return {
            tier.name: (q.quota_us, q.period_us)
            for tier in self.study.topology.tiers
            if tier.compute_ratio > 1 and (q := quota_for(tier.compute_ratio))
        }

    def _confine(self, stack: ExitStack, workers: object, tiers: Sequence[str]) -> None:
        from splitexit.runtime._cgroup import CpuLimits, CpuQuota

        limits = stack.enter_context(CpuLimits())
        quotas = self.cpu_quotas()
        for tier in tiers:
            if tier in quotas:
                quota, period = quotas[tier]
                pid = workers.processes[tier].pid  # type: ignore[attr-defined]
                k = self.study.topology.tier_index(tier)
                limits.confine(pid, f"t{k}", CpuQuota(period_us=period, quota_us=quota))

    def run_strategy(self, strategy: Strategy, samples: Sequence[int]) -> list[float]:
        """One round-trip latency (s) per sample, sequentially, on the deployed strategy."""
        if self._current != strategy:
            self.restart(strategy)
        chain = self._chain
        data = self.samples[strategy.subject]
        name = next(iter(data.feeds[0]))
        out = []
        for i in samples:
            image = data.feeds[i % len(data.feeds)][name][0]
            label = int(data.labels[i % len(data.feeds)][0]) if data.labels is not None else 0
            record = chain.infer(i, image, label)  # type: ignore[attr-defined]
            if record.latency_s is None:
                raise SplitexitError(f"{strategy.label}: sample {i} failed: {record.reason}")
            out.append(float(record.latency_s))
        return out

    def close(self) -> None:
        """Shut the current deployment down (idempotent)."""
        if self._stack is not None:
            self._stack.close()
        self._stack, self._chain, self._current = None, None, None

    # -- accuracy and predictions ----------------------------------------------------------
    def accuracy(self) -> list[AccuracyRow]:
        """mIoU in percent for a subject with masks; else top-1 (and top-5 over more than 5
        classes) with labels, else top-1 agreement with I; one row per strategy (every tier
        runs the same ONNX Runtime)."""
        rows = []
        for subject, variants in self.variants.items():
            data = self.samples[subject]
            logits = {
                op: np.stack([v.predict(f)[0] for f in data.feeds]) for op, v in variants.items()
            }
            ident = logits["I"].argmax(1) if "I" in logits else None
            for op, tiers in self.study.cells:
                scores = logits[op]
                values: dict[str, float] = {}
                if subject in self.masks:
                    values["mIoU"] = mean_iou(self.masks[subject], predicted_masks(scores))
                elif data.labels is not None:
                    labels = data.labels[:, 0]
                    values["top-1"] = 100.0 * float((scores.argmax(1) == labels).mean())
                    if scores.shape[1] > 5:
                        top5 = np.argsort(-scores, axis=1)[:, :5]
                        values["top-5"] = 100.0 * float((top5 == labels[:, None]).any(1).mean())
                elif ident is not None:
                    values["agreement"] = 100.0 * float((scores.argmax(1) == ident).mean())
                rows += [AccuracyRow(subject, op, tiers, m, v) for m, v in values.items()]
        return rows

    def predictions(self, *, runs: int = 200) -> dict[Strategy, Prediction]:
        """The performance model per strategy: ONNX Runtime piece times on this machine (a
        subject's variants timed interleaved, ``time_variants``) x the tier's compute ratio,
        plus the input, cut and result transfers over the links, each with the topology's
        per-message overhead (``overheads:``, 0 without it): a strategy of k pieces sends
        k + 1 messages, also the ones that cross no link. In ``cpu-quota`` mode a piece on a
        confined tier takes whole CFS periods instead (``variant_predictions``)."""
        topo = self.study.topology
        quotas = self.cpu_quotas()
        out: dict[Strategy, Prediction] = {}
        for subject, variants in self.variants.items():
            feed = self.samples[subject].feeds[0]
            timed = time_variants(variants, feed, runs=runs)
            for op, tiers in self.study.cells:
                variant = variants[op]
                idx = [topo.tier_index(t) for t in self.study.tier_names(tiers)]
                ratios = [topo.tiers[k].compute_ratio for k in idx]
                hops = [topo.source, *idx, topo.destination]
                bits = [8.0 * t.nbytes for t in variant.pieces[0].inputs]
                bits += [8.0 * sum(t.nbytes for t in p.outputs) for p in variant.pieces]
                transfers = message_costs(topo, hops, bits)
                limits = [quotas.get(topo.tiers[k].name) for k in idx]
                median, p99 = variant_predictions(variant, timed[op], ratios, transfers, limits)
                out[Strategy(subject, op, tiers)] = Prediction(median, p99)
        return out
