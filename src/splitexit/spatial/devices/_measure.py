"""Measuring a device table on this machine with PyTorch (imports torch).

For every layer and every height ``h`` in ``granularity, 2*granularity, ..., H`` (``H``
always included) the layer computes output rows ``[0, h)`` from exactly the input rows the
Vertical-Splitting Law gives, batch size 1, with the same split-part code as the geometry
proof; the median of ``repeats`` runs after ``warmup`` runs is kept. The FC tail is timed
whole. The paper profiles with granularity 1 on TensorRT; a coarser granularity is read back
with linear interpolation (or k-nearest-neighbours).

Two orders (``mode``):

- ``"isolated"``: one layer and height at a time, its runs back to back (optionally with a
  buffer written before each run to evict the caches).
- ``"chained"`` (the profile in place of ``distredge run``): *passes* through the whole
  model in the order an execution touches it. Each pass runs every layer, first to last, at
  the same share of its height (as many passes as the tallest layer has heights;
  :func:`pass_heights`), each from a fresh copy of its input rows; so a layer's weights
  were last touched a whole pass earlier, as in an executed image they were an image
  earlier. Each pass runs twice: *woken* (``gap_s`` asleep before each layer, ``lock``
  taken for each: every layer as the first of a split-part, which an executing device
  computes right after waking up for its rows while the host ran other devices) into
  ``first_seconds``, and *chained* (asleep once, ``lock`` held through the pass: every layer
  as one that follows another within a split-part) into ``seconds``. ``lock`` is the
  compute lock of ``distredge run``'s workers, so that devices profiling at once take turns
  on the host as executing ones do. ``warmup`` untimed rounds of passes, then ``repeats``
  timed ones; every sample of an entry is kept for its median.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from splitexit.errors import InputError
from splitexit.spatial.devices._devices import TableDevice
from splitexit.spatial.devices._slowdown import emulated_clock, no_gc, timed
from splitexit.spatial.geometry._geometry import ModelSpec, layer_input_rows
from splitexit.spatial.geometry._problem import NEAR_LAYERS
from splitexit.spatial.geometry._torch import (
    TorchModel,
    run_split_part,
    run_split_part_twice,
    warm_split_part,
)

__all__ = [
    "ChainedProfile",
    "SpeedProbe",
    "measure_device",
    "pass_heights",
    "shuffled_passes",
    "time_part_twice",
]


def _median_seconds(
    run: Callable[[], object],
    warmup: int,
    repeats: int,
    slowdown: float = 1.0,
    flush: Callable[[], None] | None = None,
) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        if flush is not None:  # evict the layer's weights and rows, as a chained run does
            flush()
        times.append(timed(run, slowdown)[1])
    return statistics.median(times)


_PRECISIONS = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _torch_device(name: str) -> torch.device:
    """``name`` as a torch device this machine has (``cpu``, ``cuda``, ``cuda:1``)."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise InputError(
            f"torch device {name!r} is not a device name (cpu, cuda, cuda:N)"
        ) from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise InputError(f"torch device {name!r}: only cpu and cuda are supported")
    if not torch.cuda.is_available():
        raise InputError(
            f"torch device {name!r}: CUDA is not available here (torch {torch.__version__}, "
            f"built with CUDA {torch.version.cuda})"
        )
    index = 0 if device.index is None else device.index
    if index >= torch.cuda.device_count():
        raise InputError(
            f"torch device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return torch.device("cuda", index)


def _synchronizer(device: torch.device) -> Callable[[], None]:
    """What makes a timed run end when the device has finished it (CUDA runs asynchronously)."""
    if device.type == "cuda":
        return functools.partial(torch.cuda.synchronize, device)
    return lambda: None


def _flusher(device: torch.device, flush_bytes: int) -> Callable[[], None] | None:
    """A buffer of ``flush_bytes`` written in place, on the device being profiled."""
    if flush_bytes <= 0:
        return None
    if device.type == "cpu":
        array = np.zeros(flush_bytes // 8)

        def flush_host() -> None:
            np.add(array, 1.0, out=array)

        return flush_host
    buffer = torch.zeros(max(1, flush_bytes // 4), dtype=torch.float32, device=device)
    sync = _synchronizer(device)

    def flush_gpu() -> None:
        buffer.add_(1.0)
        sync()

    return flush_gpu


def measure_device(
    model: ModelSpec,
    *,
    name: str,
    granularity: int = 8,
    repeats: int = 3,
    warmup: int = 1,
    threads: int = 1,
    progress: Callable[[str], None] | None = None,
    slowdown: float = 1.0,
    seed: int = 0,
    flush_bytes: int = 0,
    mode: Literal["isolated", "chained"] = "isolated",
    gap_s: float = 0.0,
    lock: Any = None,
    torch_device: str = "cpu",
    precision: str = "float32",
) -> TableDevice:
    """Time every layer of ``model`` at several heights on this machine.

    ``slowdown`` emulates a slower device the way ``distredge run`` does (see ``timed``);
    ``flush_bytes`` > 0 writes a buffer that large before each timed run, so that a layer is
    not timed with its weights and input still in cache from the previous repetition (in a
    chained run the other layers have evicted them; without it the per-layer times of a
    channel-reduced VGG-16 summed to 5-25% less than the whole model's run here).
    ``mode``, ``gap_s`` and ``lock``: see the module docstring (``"chained"``: the profile
    in place of ``distredge run``).
    ``torch_device`` (``"cuda"``: a GPU) and ``precision`` (``float32``, ``float16``,
    ``bfloat16``) are where and in what the layers run; on a GPU every timed run ends with a
    synchronisation and is read on the wall clock (the isolated order only: the chained one
    emulates devices on this machine's CPU).
    """
    for option, value, low in (("granularity", granularity, 1), ("repeats", repeats, 1),
                               ("warmup", warmup, 0), ("threads", threads, 1)):  # fmt: skip
        if value < low:
            raise InputError(f"{option} must be >= {low}, got {value}")
    if mode not in ("isolated", "chained"):
        raise InputError(f"mode must be 'isolated' or 'chained', got {mode!r}")
    if not gap_s >= 0:
        raise InputError(f"gap_s must be >= 0, got {gap_s}")
    if precision not in _PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(_PRECISIONS)}, got {precision!r}")
    device = _torch_device(torch_device)
    if device.type != "cpu" and (mode != "isolated" or slowdown != 1.0 or lock is not None):
        raise InputError(
            f"torch device {torch_device!r}: only the isolated profile at slowdown 1 runs off "
            "the CPU (the chained one emulates devices on this machine's CPU)"
        )
    torch.set_num_threads(threads)
    dtype = _PRECISIONS[precision]
    net = TorchModel(model, seed=seed, dtype=dtype).to(device).eval()
    if mode == "chained":
        profile = ChainedProfile(
            model, net, name=name, granularity=granularity, slowdown=slowdown, gap_s=gap_s,
            lock=lock, flush_bytes=flush_bytes,
        )  # fmt: skip
        for round_ in range(warmup + repeats):
            profile.round(keep=round_ >= warmup)
        return profile.table()
    flush = _flusher(device, flush_bytes)
    sync = _synchronizer(device)
    heights_all, seconds_all = [], []
    with torch.inference_mode():
        x = torch.randn(1, model.c_in, model.h_in, model.w_in).to(device=device, dtype=dtype)
        for index, layer in enumerate(model.layers):
            heights = sorted({*range(granularity, layer.h_out, granularity), layer.h_out})
            seconds = []
            for h in heights:
                lo, hi = layer_input_rows(layer, np.array([0]), np.array([h - 1]))
                piece = x[:, :, int(lo[0]) : int(hi[0]) + 1].contiguous()

                def run(
                    piece: torch.Tensor = piece, start: int = int(lo[0]), h: int = h, i: int = index
                ) -> object:
                    out = run_split_part(net, i, i, piece, start, 0, h - 1)
                    sync()
                    return out

                seconds.append(_median_seconds(run, warmup, repeats, slowdown, flush))
            heights_all.append(tuple(heights))
            seconds_all.append(tuple(seconds))
            if progress is not None:
                whole = seconds[-1] * 1e3
                progress(f"{layer.name}: {len(heights)} heights, whole layer {whole:.2f} ms")
            x = run_split_part(net, index, index, x, 0, 0, layer.h_out - 1)

        def head(x: torch.Tensor = x) -> object:
            out = net.head(x)
            sync()
            return out

        tail = _median_seconds(head, warmup, repeats, slowdown, flush) if model.tail_fc else 0.0
    return TableDevice(
        name=name,
        model_name=model.name,
        layer_names=tuple(layer.name for layer in model.layers),
        heights=tuple(heights_all),
        seconds=tuple(seconds_all),
        tail_s=tail,
        source=f"measured {name}",
    )


def pass_heights(heights: list[list[int]]) -> list[list[int]]:
    """Per pass of the chained order, the index of every layer's height (its share).

    There are as many passes as the tallest layer has heights; pass ``p`` runs every layer at
    the same fraction ``p / (passes - 1)`` of its heights (rounded), as a provider computes
    about the same share of every layer of a split. A layer with fewer heights is timed at
    some heights more than once per round (all of them kept for the median).
    """
    passes = max(len(hs) for hs in heights)
    if passes == 1:
        return [[0] * len(heights)]
    return [[round(p * (len(hs) - 1) / (passes - 1)) for hs in heights] for p in range(passes)]


def shuffled_passes(passes: list[list[int]], rng: np.random.Generator) -> list[list[int]]:
    """``passes`` with each layer's heights dealt to the passes in a random order: every
    layer keeps the heights it had (as many times each), but which pass runs which height is
    drawn per layer, so that the entries a provider's parts use (about the same share of
    every layer) are no longer all taken in the same pass, at the same moment of the host's
    load; each pass stays a mix of tall and short work."""
    columns = [rng.permutation([at[index] for at in passes]) for index in range(len(passes[0]))]
    return [[int(column[p]) for column in columns] for p in range(len(passes))]


class SpeedProbe:
    """The host's speed right now, read from one fixed convolution (session 14, ``--probe``).

    The CPU time of the same work moves by 11-13% between two moments 30 s apart on this
    machine (``benchmarks/bench_host_drift.py``): a neighbour on the physical core, the shared
    cache, the clock. :meth:`scale` times the probe (computed twice, the second timed, as a
    part's layers are), and returns the worker's reference probe time over the median of its
    last ``window`` readings: a part's CPU seconds times that are what they would have been
    at the reference speed. The reference is the median of ``calibration`` readings taken
    at the probe's first use; the profile and the executed parts of one worker share it, so
    that a device is ``slowdown`` times slower than this machine *at that speed*.
    """

    def __init__(self, *, seed: int = 0, window: int = 5, calibration: int = 50):
        generator = torch.Generator().manual_seed(seed)
        # 64 -> 64 channels, 3x3, 4 output rows of 14: about 2 Mflop, 100-200 us here
        self.x = torch.randn(1, 64, 6, 14, generator=generator)
        self.w = torch.randn(64, 64, 3, 3, generator=generator)
        self.recent: collections.deque[float] = collections.deque(maxlen=window)
        self.calibration = calibration
        self.reference = 0.0

    def read(self) -> float:
        """The probe's CPU seconds, its second of two runs in a row."""
        with torch.inference_mode():
            torch.nn.functional.conv2d(self.x, self.w, padding=(0, 1))
            started = time.thread_time()
            torch.nn.functional.conv2d(self.x, self.w, padding=(0, 1))
            return time.thread_time() - started

    def calibrate(self) -> None:
        """Take the reference: the median of ``calibration`` readings."""
        self.reference = statistics.median(self.read() for _ in range(self.calibration))

    def scale(self) -> float:
        """Reference over the median of the last readings, one taken now."""
        if not self.reference > 0:
            self.calibrate()
        self.recent.append(self.read())
        return self.reference / statistics.median(self.recent)

    def held(self) -> _HeldScale:
        """One reading now, kept for every layer computed under the same lock: an executing
        worker reads the probe once per part, after its wait, and a profile's chained pass
        (or chain of woken layers) does the same, once per pass, not once per layer (read
        between layers computed back to back, the probe ran faster than after a wait, and
        the chained tables came out 13-22% over the executed layers; set 4, session 14)."""
        return _HeldScale(self.scale())


@dataclass(frozen=True)
class _HeldScale:
    """A probe reading held for the layers of one pass (:meth:`SpeedProbe.held`)."""

    value: float

    def scale(self) -> float:
        return self.value


def time_part_twice(
    net: TorchModel,
    first: int,
    last: int,
    x: torch.Tensor,
    x_lo: int,
    a: int,
    b: int,
    slowdown: float,
    probe: SpeedProbe | _HeldScale | None = None,
) -> tuple[torch.Tensor, tuple[float, ...]]:
    """``run_split_part_twice`` on the emulated clock of ``slowdown`` (see ``timed``), the
    garbage collector off: the output and each layer's emulated seconds. The one timing of the
    *twice* mode, shared by the chained profile and an executing worker, so that both read
    the clock around the same window. With ``probe`` (above ``slowdown`` 1) the seconds are
    scaled to the probe's reference speed, read right before the part."""
    clock, factor = emulated_clock(slowdown)
    if probe is not None and slowdown > 1:
        factor *= probe.scale()
    with no_gc():
        out, spent = run_split_part_twice(net, first, last, x, x_lo, a, b, clock)
    return out, tuple(factor * t for t in spent)


class ChainedProfile:
    """The ``"chained"`` order (module docstring), round by round, its samples kept.

    Every pass is run twice: *woken*, asleep before each layer and the lock taken for each
    (a layer that is the first of a split-part: ``first_seconds``), and *chained*, asleep
    once before the pass and the lock held through it (a layer that follows another in the
    same split-part: ``seconds``). With ``shuffle_seed`` each round deals every layer's
    heights to the passes in its own seeded random order (:func:`shuffled_passes`).
    :meth:`round` runs one round of passes (and the tail);
    :meth:`table` gives the medians of every sample kept so far, so that more rounds can be
    taken later (``distredge measure`` takes one before each block of images).

    A woken layer sleeps ``gap_s``; with ``sleep_out`` at least what the emulated device
    would still be busy with its previous woken layer (its emulated seconds minus the CPU
    seconds the host spent: ``(1 - 1/slowdown)`` of them), as an executing device sleeps
    until it is ready before its next split-part, so that as much of the host's other work
    runs in between (a device with a larger slowdown sleeps longer and wakes up colder).
    With shuffled passes the previous layer was dealt another share of its height than the
    woken one, so the sleep is that of the previous layer at the woken one's share, as last
    timed (an executing device computes about the same share of every layer).
    With ``warm_s`` > 0 a woken layer is preceded (under the lock, untimed) by that much CPU
    time of warm-up (``warm_split_part``), as an executing worker's split-part is. With
    ``twice`` every timed layer (woken or chained, and the tail) is computed once untimed
    right before, as an executing worker in the *twice* timing computes every layer; a layer
    is timed by the executing worker's own code (:func:`time_part_twice`, its clock around
    the layer's computation alone), not around ``run_split_part`` through :func:`timed`,
    whose bookkeeping inside the timed window read a one-layer part of this model's 150-300 us
    28% more (``benchmarks/bench_spatial_timing.py``); ``warm_s`` is then not used.
    Only every ``woken_every``-th pass (and the last) is run woken (sleeping out is slow);
    at the other heights ``first_seconds`` is the chained entry times the woken/chained
    ratio interpolated linearly between the woken heights. Warm-up rounds only sleep
    ``gap_s``.
    """

    def __init__(
        self,
        model: ModelSpec,
        net: TorchModel,
        *,
        name: str,
        granularity: int = 1,
        slowdown: float = 1.0,
        gap_s: float = 0.0,
        lock: Any = None,
        flush_bytes: int = 0,
        sleep_out: bool = False,
        woken_every: int = 1,
        warm_s: float = 0.0,
        chain: int = 1,
        twice: bool = False,
        shuffle_seed: int | None = None,
        probe: SpeedProbe | None = None,
    ):
        if granularity < 1:
            raise InputError(f"granularity must be >= 1, got {granularity}")
        if woken_every < 1:
            raise InputError(f"woken_every must be >= 1, got {woken_every}")
        if not 1 <= chain <= NEAR_LAYERS + 1:
            raise InputError(f"chain must be in [1, {NEAR_LAYERS + 1}], got {chain}")
        self.chain, self.twice, self.probe = chain, twice, probe
        self.shuffle_seed = shuffle_seed
        self._taken = 0  # rounds taken so far, kept or not (each shuffled afresh)
        self.sleep_out, self.woken_every, self.warm_s = sleep_out, woken_every, warm_s
        self._owed = 0.0  # what the emulated device still sleeps of its last woken layer
        if not gap_s >= 0:
            raise InputError(f"gap_s must be >= 0, got {gap_s}")
        self.model, self.net, self.name = model, net, name
        self.slowdown, self.gap_s = slowdown, gap_s
        self.guard = lock if lock is not None else contextlib.nullcontext()
        self.flush = _flusher(torch.device("cpu"), flush_bytes)
        self.heights = [
            sorted({*range(granularity, layer.h_out, granularity), layer.h_out})
            for layer in model.layers
        ]
        with torch.inference_mode():
            self.inputs = [torch.randn(1, model.c_in, model.h_in, model.w_in)]
            for index, layer in enumerate(model.layers):
                x = run_split_part(net, index, index, self.inputs[-1], 0, 0, layer.h_out - 1)
                self.inputs.append(x)
        self.rows = [
            [tuple(int(r[0]) for r in layer_input_rows(layer, np.array([0]), np.array([h - 1])))
             for h in hs]
            for layer, hs in zip(model.layers, self.heights, strict=True)
        ]  # fmt: skip
        self.woken: list[list[list[float]]] = [[[] for _ in hs] for hs in self.heights]
        self.chained: list[list[list[float]]] = [[[] for _ in hs] for hs in self.heights]
        self.near: list[list[list[float]]] = [[[] for _ in hs] for hs in self.heights]
        self.tails: list[float] = []
        # the emulated seconds each layer and height took when last timed (woken or chained,
        # kept or not); the warm-up round's chained passes time every one of them
        self._latest: list[list[float | None]] = [[None for _ in hs] for hs in self.heights]
        self.rounds = 0  # kept rounds so far
        # sample counts of woken, chained, near entries and of tails before the last round
        self._marks: tuple[list[list[int]], ...] = ()
        self._tail_mark = 0

    def _one(
        self, index: int, p: int, warm_s: float = 0.0, probe: _HeldScale | None = None
    ) -> float:
        lo, hi = self.rows[index][p]
        piece = self.inputs[index][:, :, lo : hi + 1].clone()  # fresh, as gathered rows are
        h = self.heights[index][p]
        if self.twice:  # timed as an executing worker times each layer, by the same code
            _, layers = time_part_twice(
                self.net, index, index, piece, lo, 0, h - 1, self.slowdown, probe
            )
            seconds = layers[0]
        else:
            if warm_s > 0:  # as an executing worker warms up before a part
                warm_split_part(self.net, index, index, piece, lo, 0, h - 1, warm_s)
            part = functools.partial(run_split_part, self.net, index, index, piece, lo, 0, h - 1)
            seconds = timed(part, self.slowdown)[1]
        self._latest[index][p] = seconds
        return seconds

    def _same_share(self, index: int, of: int, q: int) -> int:
        """The height of layer ``index`` at the share of its height that height ``q`` is of
        layer ``of`` (both counted in their table's heights)."""
        mine, theirs = len(self.heights[index]), len(self.heights[of])
        share = q / (theirs - 1) if theirs > 1 else 1.0
        return round(share * (mine - 1))

    def _owed_before(self, links: range, q: int, measured: list[float]) -> float:
        """The emulated seconds of layers ``links`` at the share of their height that the
        next layer's height ``q`` is of its own, as last timed (shuffled passes: the
        sleep-out before a woken layer is the device's previous layers at the *same* share,
        as an executing device computing that share of every layer sleeps them out, not the
        share the shuffle happened to deal them in this pass). A height not timed yet counts
        as ``measured``, what the layers took just now."""
        nxt = links[-1] + 1
        latest = [self._latest[j][self._same_share(j, nxt, q)] for j in links]
        return sum(t if t is not None else m for t, m in zip(latest, measured, strict=True))

    def _pause(self, owed: float = 0.0) -> None:
        if max(self.gap_s, owed) > 0:
            time.sleep(max(self.gap_s, owed))
        if self.flush is not None:
            self.flush()

    def round(self, *, keep: bool = True) -> None:
        """One round: every pass woken, then chained; then the tail (woken)."""
        awake = 1.0 - 1.0 / self.slowdown if self.sleep_out and self.slowdown > 1 else 0.0
        if keep:
            self._marks = tuple(
                [[len(t) for t in per] for per in times]
                for times in (self.woken, self.chained, self.near)
            )
            self._tail_mark = len(self.tails)
        with torch.inference_mode():
            passes = pass_heights(self.heights)
            if self.shuffle_seed is not None:
                rng = np.random.default_rng([self.shuffle_seed, self._taken])
                passes = shuffled_passes(passes, rng)
            self._taken += 1
            woken = 0
            for p, at in enumerate(passes):
                if p % self.woken_every == 0 or p == len(passes) - 1:
                    for links in self._chains(len(at), woken):
                        self._pause(self._owed if keep else 0.0)
                        measured = []
                        with self.guard:
                            reading = self._reading()
                            for j, index in enumerate(links):
                                q = at[index]
                                warm = self.warm_s if j == 0 else 0.0
                                seconds = self._one(index, q, warm, reading)
                                measured.append(seconds)
                                if keep:
                                    (self.near if j else self.woken)[index][q].append(seconds)
                        nxt = links[-1] + 1
                        shuffled = self.shuffle_seed is not None and nxt < len(at)
                        self._owed = awake * (
                            self._owed_before(links, at[nxt], measured)
                            if shuffled
                            else sum(measured)
                        )
                    woken += 1
                self._pause()
                with self.guard:
                    reading = self._reading()
                    for index, q in enumerate(at):
                        seconds = self._one(index, q, probe=reading)
                        if keep:
                            self.chained[index][q].append(seconds)
            if self.model.tail_fc:
                self._pause(self._owed if keep else 0.0)
                with self.guard:
                    if self.twice:
                        self.net.head(self.inputs[-1])
                    seconds = timed(lambda: self.net.head(self.inputs[-1]), self.slowdown)[1]
                if keep:
                    self.tails.append(seconds)
        self.rounds += keep

    def _reading(self) -> _HeldScale | None:
        """The probe read once for the layers about to be computed under the lock."""
        return self.probe.held() if self.probe is not None and self.twice else None

    def _chains(self, layers: int, woken: int) -> list[range]:
        """The layers of a woken pass in chains of ``chain``, asleep before each chain; the
        chains start one layer later from one woken pass to the next, so that every layer is
        timed first, second, ... of a chain in turn."""
        start = woken % self.chain
        chains = [range(0, start)] if start else []
        chains += [range(i, min(i + self.chain, layers)) for i in range(start, layers, self.chain)]
        return chains

    def table(self, *, latest: bool = False) -> TableDevice:
        """The medians of every kept sample (at least one round must have been kept); with
        ``latest``, of the last kept round's samples alone."""
        if self.rounds == 0:
            raise InputError("no round of the chained profile was kept yet")

        def taken(times: list[list[list[float]]], which: int) -> list[list[list[float]]]:
            if not latest:
                return times
            marks = self._marks[which]
            return [[t[m:] for t, m in zip(per, ms, strict=True)] for per, ms in zip(
                times, marks, strict=True)]  # fmt: skip

        def medians(times: list[list[list[float]]]) -> tuple[tuple[float, ...], ...]:
            return tuple(tuple(statistics.median(t) for t in per) for per in times)

        chained = medians(taken(self.chained, 1))
        first = _by_ratio(taken(self.woken, 0), chained)
        near = _by_ratio(taken(self.near, 2), chained) if self.chain > 1 else None
        tails = self.tails[self._tail_mark :] if latest else self.tails

        return TableDevice(
            name=self.name,
            model_name=self.model.name,
            layer_names=tuple(layer.name for layer in self.model.layers),
            heights=tuple(tuple(hs) for hs in self.heights),
            seconds=chained,
            tail_s=statistics.median(tails) if tails else 0.0,
            source=f"measured {self.name} (chained, "
            + ("its latest round)" if latest else f"{self.rounds} rounds)"),
            first_seconds=first,
            near_seconds=near,
        )


def _by_ratio(
    samples: list[list[list[float]]], chained: tuple[tuple[float, ...], ...]
) -> tuple[tuple[float, ...], ...]:
    """Per layer and height: the median of ``samples`` where taken, elsewhere the chained
    entry times the samples' ratio to it, interpolated linearly in the height (1 where a
    layer has no sample at all)."""
    out = []
    for taken, plain in zip(samples, chained, strict=True):
        known = [q for q, t in enumerate(taken) if t]
        ratios = [statistics.median(taken[q]) / max(plain[q], 1e-12) for q in known]
        scale = np.interp(np.arange(len(plain)), known, ratios) if known else np.ones(len(plain))
        out.append(
            tuple(
                statistics.median(taken[q]) if taken[q] else float(plain[q] * scale[q])
                for q in range(len(plain))
            )
        )
    return tuple(out)
