"""A tier's work, without any transport: take a partition, run a sample, exit or forward it.

A partition is either one of our exports (blocks plus an exit head: one input ``input``,
outputs ``activation``, ``probabilities``, ``entropy``) or a piece of a user's ONNX model
(``splitexit.operators``): any number of named inputs and outputs and no exit head. A piece
takes its inputs from the request's named tensors, forwards its outputs and every tensor it
received but did not read (a later piece may need it), and the last piece delivers the
model's outputs; a piece never exits early.

Knows nothing of gRPC or sockets. A deployed tier reaches the next tier and the sink through
two ``Route`` callables that the transport builds (a gRPC stub, a frame stub); a route that
cannot deliver raises ``RouteFailure`` with the reason, and the tier turns it into an
unsuccessful ``InferReply`` naming the unreachable tier. Refusals are errors the servicer maps
to status codes: ``WrongToken``, ``NotDeployed``, and ``InputError`` for a bad model or sample.

>>> tier = Tier("edge", "secret")
>>> tier.health("").deployed
False
>>> tier.authorize("guess")
Traceback (most recent call last):
...
splitexit.runtime._domain.WrongToken: wrong token
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from splitexit.configuration import leaves_here
from splitexit.errors import InputError, SplitexitError
from splitexit.export import call_time, call_time_runs, ort_session
from splitexit.runtime import _wire as wire
from splitexit.runtime._links import LinkEmulator, LinkHop, sleep_until
from splitexit.runtime._pixels import PixelCodec
from splitexit.runtime._shaping import ReceiveCharge

__all__ = [
    "NotDeployed",
    "Partition",
    "Route",
    "RouteFailure",
    "Tier",
    "WrongToken",
    "load_partition",
]

_ACTIVATION, _PROBABILITIES, _ENTROPY, _INPUT = "activation", "probabilities", "entropy", "input"

# send a message onward with a timeout (s): the reply, or RouteFailure
Route = Callable[[Any, float], wire.InferReply]


class WrongToken(SplitexitError):
    """A control call carried a token other than the worker's."""


class NotDeployed(SplitexitError):
    """A sample arrived before any partition was deployed."""


class RouteFailure(Exception):
    """A route could not deliver: ``where`` is the address, ``reason`` why."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where, self.reason = where, reason


@dataclass
class Partition:
    """A loaded partition: its deploy request, ONNX Runtime session and reference time."""

    spec: wire.DeployRequest
    session: Any
    outputs: list[str]
    reference_s: float
    pixels: PixelCodec | None
    forward_links: list[LinkHop]
    result_links: list[LinkHop]
    # (name, shape with batch, numpy dtype) of every session input
    inputs: tuple[tuple[str, tuple[int, ...], str], ...] = ()

    @property
    def is_piece(self) -> bool:
        """A piece of a user's model: no exit head (no ``entropy`` output), never exits early."""
        return _ENTROPY not in self.outputs

    @property
    def last(self) -> bool:
        return self.spec.partition == self.spec.count

    @property
    def threshold(self) -> float | None:
        """T_k of this partition's exit; None on the last partition (it takes every sample)."""
        last = self.spec.partition == self.spec.count
        return None if last else self.spec.threshold

    def output_bits(self, name: str) -> float:
        """Bits per sample of output ``name`` as float32; 0 if the partition has none.

        A piece's ``activation`` is all its outputs and ``probabilities`` its first output
        (at their own dtypes)."""
        outs = self.session.get_outputs()
        if self.is_piece:
            chosen = outs if name == _ACTIVATION else outs[:1]
            return float(sum(_nbytes(o.shape, o.type) * 8 for o in chosen))
        for out in outs:
            if out.name == name:
                return float(np.prod(out.shape[1:]) * 32)
        return 0.0


_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(uint8)": "uint8",
    "tensor(int64)": "int64",
}


def _static(shape: Any) -> tuple[int, ...]:
    """A session shape with symbolic dimensions read as 1 (the batch of one sample)."""
    return tuple(d if isinstance(d, int) and d > 0 else 1 for d in shape)


def _nbytes(shape: Any, ort_type: str) -> int:
    dtype = np.dtype(_ORT_TYPES.get(ort_type, "float32"))
    return int(np.prod(_static(shape), dtype=np.int64)) * dtype.itemsize


def _tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto of ``graph``: initializers and node attributes, subgraphs too."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for sub in attribute.graphs:
                yield from _tensors(sub)


def load_partition(
    spec: wire.DeployRequest, providers: Sequence[str] = ("CPUExecutionProvider",)
) -> Partition:
    """Check the model (SHA-256, then ``onnx.checker``), load it and time it (median).

    ``providers``: ONNX Runtime execution providers in order of preference, already checked
    against this machine (``_providers.choose_providers``)."""
    import onnx

    digest = hashlib.sha256(spec.model).hexdigest()
    if digest != spec.sha256:
        raise InputError(
            f"partition {spec.partition}: model SHA-256 {digest[:12]}... does not "
            f"match the manifest's {spec.sha256[:12]}..."
        )
    try:
        model = onnx.load_from_string(spec.model)
    except Exception as error:
        raise InputError(f"partition {spec.partition}: not an ONNX model: {error}") from None
    external = [t.name for t in _tensors(model.graph) if t.data_location == t.EXTERNAL]
    if external:  # ONNX Runtime would read them from paths the sender chose: never
        raise InputError(
            f"partition {spec.partition}: tensor {external[0]!r} keeps its data in an external "
            f"file; a worker takes only self-contained models (save without external data)"
        )
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:  # onnx raises several types for a bad model
        raise InputError(
            f"partition {spec.partition}: onnx.checker rejected the model: {error}"
        ) from None
    if spec.transport not in ("", "grpc", "tcp"):
        raise InputError(f"transport must be grpc or tcp, got {spec.transport!r}")
    session = ort_session(spec.model, max(1, spec.threads), list(providers))
    outputs = [o.name for o in session.get_outputs()]
    inputs = tuple(
        (i.name, _static(i.shape), _ORT_TYPES.get(i.type, "")) for i in session.get_inputs()
    )
    piece = _ENTROPY not in outputs
    if not piece and spec.partition != spec.count and not spec.has_threshold:
        raise InputError(
            f"partition {spec.partition} of {spec.count} needs a threshold (only the last "
            "partition takes every sample)"
        )
    for name, _, dtype in inputs:
        if not dtype:
            raise InputError(f"partition {spec.partition}: input {name!r} has an unsupported type")
    pixels = None
    if spec.pixel_levels > 0:
        pixels = PixelCodec(spec.pixel_levels, list(spec.pixel_mean), list(spec.pixel_std))
    if piece:
        probe = {name: np.zeros(shape, dtype=dtype) for name, shape, dtype in inputs}
    else:
        probe = {_INPUT: np.zeros((1, *(int(d) for d in spec.input_shape)), dtype=np.float32)}
    warmup, runs = call_time_runs(max(1, spec.warmup))
    return Partition(
        spec=spec,
        session=session,
        outputs=outputs,
        reference_s=call_time(session, probe, runs=runs, warmup=warmup),
        pixels=pixels,
        forward_links=[LinkHop(k.name, k.bandwidth_bps, k.latency_s) for k in spec.forward_links],
        result_links=[LinkHop(k.name, k.bandwidth_bps, k.latency_s) for k in spec.result_links],
        inputs=inputs,
    )


@dataclass
class _Installed:
    partition: Partition
    forward: Route | None  # to the next tier's worker
    deliver: Route | None  # to the destination's sink
    close: Callable[[], None] = field(default=lambda: None)


class Tier:
    """One tier's state: the installed partition, the compute lock, the served counts."""

    def __init__(self, name: str, token: str, *, receive: ReceiveCharge | None = None) -> None:
        if not token:
            raise InputError("a worker needs a non-empty shared token")
        self.name = name
        self._token = token.encode()
        self._installed: _Installed | None = None
        self._compute = threading.Lock()  # a tier is one processor
        self._state = threading.Lock()
        self._links = LinkEmulator()
        # propagation of the links a sample crossed to get here and their buckets' credit
        # (netns testbed): waited from its arrival, before compute, outside the compute lock
        # (samples overlap in flight)
        self.receive = receive or ReceiveCharge()
        self.served = 0
        self.failed = 0

    def authorize(self, token: str) -> None:
        """Raise ``WrongToken`` unless ``token`` is the shared one (constant-time compare)."""
        if not hmac.compare_digest(token.encode(), self._token):
            raise WrongToken("wrong token")

    def install(
        self,
        partition: Partition,
        forward: Route | None,
        deliver: Route | None,
        close: Callable[[], None] = lambda: None,
    ) -> None:
        """Serve ``partition`` from now on; the previous one's routes are closed."""
        with self._state:
            old = self._installed
            self._installed = _Installed(partition, forward, deliver, close)
        if old is not None:
            old.close()

    def close(self) -> None:
        """Close the installed partition's routes."""
        with self._state:
            old, self._installed = self._installed, None
        if old is not None:
            old.close()

    @property
    def partition(self) -> Partition | None:
        installed = self._installed
        return None if installed is None else installed.partition

    def health(self, data_address: str) -> wire.HealthReply:
        partition = self.partition
        return wire.HealthReply(
            tier=self.name,
            deployed=partition is not None,
            partition=0 if partition is None else partition.spec.partition,
            served=self.served,
            failed=self.failed,
            data_address=data_address,
        )

    def infer(
        self, request: wire.InferRequest, time_left_s: float | None, arrive_ns: int
    ) -> wire.InferReply:
        """Run one sample, then deliver it (it exits here) or forward it; counted either way.

        ``time_left_s`` is what the caller's deadline left at ``arrive_ns`` (None: only the
        deploy's ``deadline_s`` bounds the outgoing call)."""
        installed = self._installed
        if installed is None:
            raise NotDeployed(f"tier {self.name}: not deployed")
        receive_s = 0.0
        if self.receive.delay_s > 0 or self.receive.buckets:
            receive_s = self.receive.seconds(request.ByteSize())
            sleep_until(arrive_ns / 1e9 + receive_s)
        try:
            reply = self._infer(installed, request, time_left_s, arrive_ns, receive_s)
        except InputError as error:
            self._count(False)
            raise InputError(f"tier {self.name}: {error}") from None
        self._count(reply.ok)
        return reply

    def _count(self, ok: bool) -> None:
        with self._state:
            if ok:
                self.served += 1
            else:
                self.failed += 1

    def _infer(
        self,
        installed: _Installed,
        request: wire.InferRequest,
        time_left_s: float | None,
        arrive_ns: int,
        receive_s: float = 0.0,
    ) -> wire.InferReply:
        part = installed.partition
        spec = part.spec
        feeds, carried = _feeds(part, request)
        with self._compute:
            start = time.perf_counter()
            values = part.session.run(part.outputs, feeds)
            compute_s = time.perf_counter() - start
            if spec.compute_mode == "sleep" and spec.compute_ratio > 1:
                sleep_until(time.monotonic() + spec.compute_ratio * part.reference_s - compute_s)
            busy_s = time.perf_counter() - start
        out = dict(zip(part.outputs, values, strict=True))
        hop = wire.Hop(
            partition=spec.partition,
            tier=self.name,
            arrive_s=(arrive_ns - request.sent_ns) / 1e9,
            compute_s=compute_s,
            busy_s=busy_s,
            receive_s=receive_s,
        )
        timeout = spec.deadline_s
        if time_left_s is not None:  # what the caller had left, less what this tier used
            timeout = min(timeout, time_left_s - (time.monotonic_ns() - arrive_ns) / 1e9)
        until = time.monotonic() + timeout  # the emulated link delay below spends from it
        if part.is_piece:
            tensors = {**carried, **out}
            if part.last:
                return self._deliver_piece(installed, request, hop, tensors, until)
            hop.link_s = self._links.send(
                part.forward_links, sum(a.nbytes for a in tensors.values()) * 8
            )
            onward = _onward(request, hop, wire.to_tensor(np.zeros(0, np.float32)))
            onward.ClearField("input")
            onward.tensors.extend(wire.to_named(tensors))
            return _send(installed.forward, onward, until, spec.next_tier)
        entropy = float(out[_ENTROPY].reshape(-1)[0])
        if leaves_here(entropy, part.threshold):
            probabilities = np.ascontiguousarray(out[_PROBABILITIES].reshape(-1))
            hop.link_s = self._links.send(part.result_links, probabilities.nbytes * 8)
            result = wire.Result(
                request_id=request.request_id,
                sent_ns=request.sent_ns,
                label=request.label,
                exit=spec.partition,
                prediction=int(probabilities.argmax()),
                entropy=entropy,
                probabilities=wire.to_tensor(probabilities),
                input_link_s=request.input_link_s,
            )
            result.hops.extend(request.hops)
            result.hops.append(hop)
            return _send(installed.deliver, result, until, "destination sink")
        activation = np.ascontiguousarray(out[_ACTIVATION])
        hop.link_s = self._links.send(part.forward_links, activation.nbytes * 8)
        onward = _onward(request, hop, wire.to_tensor(activation))
        return _send(installed.forward, onward, until, spec.next_tier)

    def _deliver_piece(
        self,
        installed: _Installed,
        request: wire.InferRequest,
        hop: wire.Hop,
        tensors: dict[str, Any],
        until: float,
    ) -> wire.InferReply:
        """The last piece: the model's outputs to the sink; the first one is the prediction."""
        part = installed.partition
        outputs = {n: np.ascontiguousarray(tensors[n]) for n in part.outputs}
        first = outputs[part.outputs[0]].reshape(-1)
        hop.link_s = self._links.send(
            part.result_links, sum(a.nbytes for a in outputs.values()) * 8
        )
        result = wire.Result(
            request_id=request.request_id,
            sent_ns=request.sent_ns,
            label=request.label,
            exit=part.spec.partition,
            prediction=int(first.argmax()) if first.size else 0,
            probabilities=wire.to_tensor(first.astype(np.float32)),
            input_link_s=request.input_link_s,
        )
        result.outputs.extend(wire.to_named(outputs))
        result.hops.extend(request.hops)
        result.hops.append(hop)
        return _send(installed.deliver, result, until, "destination sink")


def _onward(request: wire.InferRequest, hop: wire.Hop, tensor: wire.Tensor) -> wire.InferRequest:
    onward = wire.InferRequest(
        request_id=request.request_id,
        sent_ns=request.sent_ns,
        label=request.label,
        input=tensor,
        input_link_s=request.input_link_s,
    )
    onward.hops.extend(request.hops)
    onward.hops.append(hop)
    return onward


def _feeds(part: Partition, request: wire.InferRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """The session's feeds, checked, and the received tensors it does not read (a piece
    carries them on). Named tensors feed a piece; ``input`` feeds a single-input partition."""
    if request.tensors:
        if not part.is_piece:
            raise InputError("named tensors go to pieces of a user's model, not to exports")
        received = wire.from_named(request.tensors)
    else:
        x = wire.from_tensor(request.input)
        if part.pixels is not None:
            x = part.pixels.decode(x)
        if not part.is_piece:
            shape = (1, *(int(d) for d in part.spec.input_shape))
            if tuple(x.shape) != shape or x.dtype != np.float32:
                raise InputError(f"input must be float32 of shape {shape}, got {x.dtype} {x.shape}")
            return {_INPUT: x}, {}
        if len(part.inputs) != 1:
            raise InputError(
                f"partition {part.spec.partition} reads {len(part.inputs)} tensors; send them "
                "by name"
            )
        received = {part.inputs[0][0]: x}
    feeds = {}
    for name, shape, dtype in part.inputs:
        if name not in received:
            raise InputError(f"tensor {name!r} is missing; got {sorted(received)}")
        x = received[name]
        if tuple(x.shape) != shape or x.dtype != np.dtype(dtype):
            raise InputError(
                f"tensor {name!r} must be {dtype} of shape {shape}, got {x.dtype} {x.shape}"
            )
        feeds[name] = x
    return feeds, {n: a for n, a in received.items() if n not in feeds}


def _send(route: Route | None, message: Any, until: float, target: str) -> wire.InferReply:
    """Send ``message`` on ``route`` with what is left before ``until`` (monotonic s)."""
    if route is None:
        return wire.InferReply(ok=False, error=f"{target}: no address", failed_tier=target)
    timeout = max(until - time.monotonic() - 0.01, 0.001)
    if isinstance(message, wire.InferRequest):
        message.timeout_s = timeout  # the tcp transport carries it; gRPC has its own
    try:
        return route(message, timeout)
    except RouteFailure as failure:
        return wire.InferReply(
            ok=False, error=f"{target} at {failure.where}: {failure.reason}", failed_tier=target
        )
