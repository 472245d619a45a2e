"""Run a configuration for real: tier workers over gRPC and the emulated testbed.

A worker (``splitexit worker``) is a gRPC server that runs one exported ONNX partition, exits
or forwards each sample and records timestamps; the driver deploys a manifest on workers,
streams samples from the source tier and receives results at the destination; links are
emulated on the transfer path and slower tiers' compute stretched. Needs grpcio and
onnxruntime (the ``full`` extra); importing ``splitexit`` does not load this package.

Layers: ``proto/`` (the generated wire format), ``_domain`` (a tier's work, no gRPC),
``_servicer`` (gRPC calls adapted to the domain), ``_transport`` (server factory, channels,
TLS, routes), ``_frames`` (the TCP data plane), ``_worker`` and ``_sink`` (servers wired
from those), ``_plan`` (the one adapter to ``splitexit.export``), ``_driver`` and ``_testbed``.
"""

from splitexit.runtime._cgroup import CpuQuota, confine, quota_for, release
from splitexit.runtime._driver import COMPUTE_MODES, TRANSPORTS, Chain, PartitionInfo, SampleRecord
from splitexit.runtime._interleave import interleaved_order, measure_interleaved
from splitexit.runtime._links import LinkEmulator, LinkHop, path_links, sleep_until
from splitexit.runtime._local import READY_PREFIX, TOKEN_ENV, LocalWorkers
from splitexit.runtime._pixels import PixelCodec
from splitexit.runtime._plan import ChainPlan, export_pieces, plan_of
from splitexit.runtime._sink import Sink
from splitexit.runtime._testbed import (
    MEASUREMENT_FORMAT,
    TestbedOptions,
    TestbedSession,
    measure,
    open_testbed,
    run_testbed,
    summarize,
)
from splitexit.runtime._worker import WorkerOptions, WorkerServer

__all__ = [
    "COMPUTE_MODES",
    "MEASUREMENT_FORMAT",
    "READY_PREFIX",
    "TOKEN_ENV",
    "TRANSPORTS",
    "Chain",
    "ChainPlan",
    "CpuQuota",
    "LinkEmulator",
    "LinkHop",
    "LocalWorkers",
    "PartitionInfo",
    "PixelCodec",
    "SampleRecord",
    "Sink",
    "TestbedOptions",
    "TestbedSession",
    "WorkerOptions",
    "WorkerServer",
    "confine",
    "export_pieces",
    "interleaved_order",
    "measure",
    "measure_interleaved",
    "open_testbed",
    "path_links",
    "plan_of",
    "quota_for",
    "release",
    "run_testbed",
    "sleep_until",
    "summarize",
]
