"""A tier over the Open Inference Protocol (KServe v2 gRPC): a client built from the generated
stubs runs the deployed partition and gets what ONNX Runtime computes on the same model; the
committed KServe code regenerates byte for byte and keeps the public field numbers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
import pytest

from splitexit.runtime import WorkerOptions, WorkerServer
from splitexit.runtime import _wire as wire
from splitexit.runtime.proto import kserve_predict_v2_pb2 as pb
from splitexit.runtime.proto import kserve_predict_v2_pb2_grpc as kserve_rpc

from ._edge_helpers import last_partition_request, worker_call

ROOT = Path(__file__).resolve().parents[2]

# the public protocol's numbering (message -> "field=number"), which real clients rely on
FIELDS = {
    "ModelInferRequest": (
        "model_name=1 model_version=2 id=3 parameters=4 inputs=5 outputs=6 raw_input_contents=7"
    ),
    "ModelInferRequest.InferInputTensor": "name=1 datatype=2 shape=3 parameters=4 contents=5",
    "ModelInferResponse": (
        "model_name=1 model_version=2 id=3 parameters=4 outputs=5 raw_output_contents=6"
    ),
    "ModelMetadataResponse": "name=1 versions=2 platform=3 inputs=4 outputs=5",
    "ModelMetadataResponse.TensorMetadata": "name=1 datatype=2 shape=3",
    "InferTensorContents": (
        "bool_contents=1 int_contents=2 int64_contents=3 uint_contents=4 uint64_contents=5 "
        "fp32_contents=6 fp64_contents=7 bytes_contents=8"
    ),
    "ModelReadyRequest": "name=1 version=2",
}


def test_kserve_proto_regenerates_to_the_committed_files(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "tools" / "gen_proto.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_proto"] = module
    spec.loader.exec_module(module)
    committed = ROOT / "src" / "splitexit" / "runtime" / "proto"
    for proto in module.PROTOS:
        for path in module.generate(tmp_path, proto):
            assert path.read_bytes() == (committed / path.name).read_bytes(), path.name


def test_kserve_messages_keep_the_public_field_numbers() -> None:
    for name, expected in FIELDS.items():
        message = pb
        for part in name.split("."):
            message = getattr(message, part)
        got = " ".join(f"{f.name}={f.number}" for f in message.DESCRIPTOR.fields)  # type: ignore[attr-defined]
        assert got == expected, name
    service = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert service.full_name == "inference.GRPCInferenceService"


@pytest.mark.slow
def test_kserve_model_infer_runs_the_deployed_partition(deployable) -> None:  # type: ignore[no-untyped-def]
    part = deployable.manifest.partitions[-1]
    model = (deployable.folder / part.file).read_bytes()
    reference = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((2, *part.inputs[0].shape)).astype(np.float32)
    expected = dict(
        zip(
            [o.name for o in reference.get_outputs()],
            reference.run(None, {"input": x}),
            strict=True,
        )
    )
    server = WorkerServer("cloud", "secret", options=WorkerOptions())
    address = f"127.0.0.1:{server.start()}"
    try:
        with grpc.insecure_channel(address) as channel:
            client = kserve_rpc.GRPCInferenceServiceStub(channel)  # type: ignore[no-untyped-call]
            assert client.ServerLive(pb.ServerLiveRequest(), timeout=5).live
            assert not client.ServerReady(pb.ServerReadyRequest(), timeout=5).ready
            assert not client.ModelReady(pb.ModelReadyRequest(name="cloud"), timeout=5).ready
            request = pb.ModelInferRequest(model_name="cloud", id="r1")
            request.inputs.add(name="input", datatype="FP32", shape=list(x.shape))
            request.raw_input_contents.append(x.tobytes())
            with pytest.raises(grpc.RpcError) as early:
                client.ModelInfer(request, timeout=5)
            assert early.value.code() == grpc.StatusCode.UNAVAILABLE

            deploy = worker_call(channel, "Deploy", wire.DeployRequest, wire.DeployReply)
            deploy(last_partition_request(deployable, "secret"), timeout=30)
            assert client.ServerReady(pb.ServerReadyRequest(), timeout=5).ready
            assert client.ModelReady(pb.ModelReadyRequest(name="cloud"), timeout=5).ready
            meta = client.ModelMetadata(pb.ModelMetadataRequest(name="cloud"), timeout=5)
            assert (meta.name, list(meta.versions), meta.platform) == (
                "cloud",
                ["3"],
                "onnxruntime_onnx",
            )
            assert [(t.name, t.datatype, list(t.shape)) for t in meta.inputs] == [
                ("input", "FP32", [-1, *part.inputs[0].shape])
            ]
            assert sorted(t.name for t in meta.outputs) == sorted(expected)

            reply = client.ModelInfer(request, timeout=10)
            assert (reply.model_name, reply.model_version, reply.id) == ("cloud", "3", "r1")
            assert len(reply.raw_output_contents) == len(reply.outputs) == len(expected)
            for tensor, raw in zip(reply.outputs, reply.raw_output_contents, strict=True):
                assert tensor.datatype == "FP32"
                got = np.frombuffer(raw, dtype="<f4").reshape(tuple(tensor.shape))
                np.testing.assert_array_equal(got, expected[tensor.name])

            typed = pb.ModelInferRequest(model_name="cloud")
            typed.inputs.add(name="input", datatype="FP32", shape=list(x.shape))
            typed.inputs[0].contents.fp32_contents.extend(x.reshape(-1).tolist())
            typed.outputs.add(name="probabilities")
            one = client.ModelInfer(typed, timeout=10)
            assert [t.name for t in one.outputs] == ["probabilities"]
            probabilities = np.frombuffer(one.raw_output_contents[0], dtype="<f4")
            np.testing.assert_array_equal(probabilities, expected["probabilities"].reshape(-1))

            for bad, code, words in [
                (pb.ModelInferRequest(model_name="edge"), grpc.StatusCode.NOT_FOUND, "'edge'"),
                (_with(request, datatype="FP64"), grpc.StatusCode.INVALID_ARGUMENT, "FP32"),
                (_with(request, shape=[2, 3]), grpc.StatusCode.INVALID_ARGUMENT, "shape"),
                (_with(request, name="x"), grpc.StatusCode.INVALID_ARGUMENT, "inputs are input"),
            ]:
                with pytest.raises(grpc.RpcError) as refused:
                    client.ModelInfer(bad, timeout=5)
                assert refused.value.code() == code and words in (refused.value.details() or "")
    finally:
        server.stop(0)
    assert (
        server.metrics.value("splitexit_worker_requests_total", partition="3", api="kserve") == 6.0
    )
    assert (
        server.metrics.value(
            "splitexit_worker_failures_total",
            partition="3",
            api="kserve",
            reason="invalid_argument",
        )
        == 3.0
    )


def _with(request: pb.ModelInferRequest, **changes: object) -> pb.ModelInferRequest:
    """``request`` with its first input's fields changed."""
    copy = pb.ModelInferRequest()
    copy.CopyFrom(request)
    tensor = copy.inputs[0]
    for key, value in changes.items():
        if key == "shape":
            del tensor.shape[:]
            tensor.shape.extend(value)  # type: ignore[call-overload]
        else:
            setattr(tensor, key, value)
    return copy
