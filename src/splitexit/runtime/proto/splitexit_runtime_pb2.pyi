from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tensor(_message.Message):
    __slots__ = ("dtype", "shape", "data")
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    data: bytes
    def __init__(self, dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., data: _Optional[bytes] = ...) -> None: ...

class NamedTensor(_message.Message):
    __slots__ = ("name", "tensor")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TENSOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    tensor: Tensor
    def __init__(self, name: _Optional[str] = ..., tensor: _Optional[_Union[Tensor, _Mapping]] = ...) -> None: ...

class LinkSpec(_message.Message):
    __slots__ = ("name", "bandwidth_bps", "latency_s")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTH_BPS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    name: str
    bandwidth_bps: float
    latency_s: float
    def __init__(self, name: _Optional[str] = ..., bandwidth_bps: _Optional[float] = ..., latency_s: _Optional[float] = ...) -> None: ...

class Hop(_message.Message):
    __slots__ = ("partition", "tier", "arrive_s", "compute_s", "busy_s", "link_s", "receive_s")
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    ARRIVE_S_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_S_FIELD_NUMBER: _ClassVar[int]
    BUSY_S_FIELD_NUMBER: _ClassVar[int]
    LINK_S_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_S_FIELD_NUMBER: _ClassVar[int]
    partition: int
    tier: str
    arrive_s: float
    compute_s: float
    busy_s: float
    link_s: float
    receive_s: float
    def __init__(self, partition: _Optional[int] = ..., tier: _Optional[str] = ..., arrive_s: _Optional[float] = ..., compute_s: _Optional[float] = ..., busy_s: _Optional[float] = ..., link_s: _Optional[float] = ..., receive_s: _Optional[float] = ...) -> None: ...

class DeployRequest(_message.Message):
    __slots__ = ("token", "partition", "count", "model", "sha256", "has_threshold", "threshold", "next_address", "next_tier", "sink_address", "destination", "forward_links", "result_links", "compute_ratio", "compute_mode", "threads", "warmup", "input_shape", "pixel_levels", "pixel_mean", "pixel_std", "deadline_s", "transport", "next_data_address", "sink_data_address")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    HAS_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    NEXT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NEXT_TIER_FIELD_NUMBER: _ClassVar[int]
    SINK_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    FORWARD_LINKS_FIELD_NUMBER: _ClassVar[int]
    RESULT_LINKS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_RATIO_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_MODE_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    PIXEL_LEVELS_FIELD_NUMBER: _ClassVar[int]
    PIXEL_MEAN_FIELD_NUMBER: _ClassVar[int]
    PIXEL_STD_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_S_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    NEXT_DATA_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SINK_DATA_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    token: str
    partition: int
    count: int
    model: bytes
    sha256: str
    has_threshold: bool
    threshold: float
    next_address: str
    next_tier: str
    sink_address: str
    destination: str
    forward_links: _containers.RepeatedCompositeFieldContainer[LinkSpec]
    result_links: _containers.RepeatedCompositeFieldContainer[LinkSpec]
    compute_ratio: float
    compute_mode: str
    threads: int
    warmup: int
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    pixel_levels: int
    pixel_mean: _containers.RepeatedScalarFieldContainer[float]
    pixel_std: _containers.RepeatedScalarFieldContainer[float]
    deadline_s: float
    transport: str
    next_data_address: str
    sink_data_address: str
    def __init__(self, token: _Optional[str] = ..., partition: _Optional[int] = ..., count: _Optional[int] = ..., model: _Optional[bytes] = ..., sha256: _Optional[str] = ..., has_threshold: _Optional[bool] = ..., threshold: _Optional[float] = ..., next_address: _Optional[str] = ..., next_tier: _Optional[str] = ..., sink_address: _Optional[str] = ..., destination: _Optional[str] = ..., forward_links: _Optional[_Iterable[_Union[LinkSpec, _Mapping]]] = ..., result_links: _Optional[_Iterable[_Union[LinkSpec, _Mapping]]] = ..., compute_ratio: _Optional[float] = ..., compute_mode: _Optional[str] = ..., threads: _Optional[int] = ..., warmup: _Optional[int] = ..., input_shape: _Optional[_Iterable[int]] = ..., pixel_levels: _Optional[int] = ..., pixel_mean: _Optional[_Iterable[float]] = ..., pixel_std: _Optional[_Iterable[float]] = ..., deadline_s: _Optional[float] = ..., transport: _Optional[str] = ..., next_data_address: _Optional[str] = ..., sink_data_address: _Optional[str] = ...) -> None: ...

class DeployReply(_message.Message):
    __slots__ = ("reference_s", "activation_bits", "result_bits")
    REFERENCE_S_FIELD_NUMBER: _ClassVar[int]
    ACTIVATION_BITS_FIELD_NUMBER: _ClassVar[int]
    RESULT_BITS_FIELD_NUMBER: _ClassVar[int]
    reference_s: float
    activation_bits: float
    result_bits: float
    def __init__(self, reference_s: _Optional[float] = ..., activation_bits: _Optional[float] = ..., result_bits: _Optional[float] = ...) -> None: ...

class InferRequest(_message.Message):
    __slots__ = ("request_id", "sent_ns", "label", "input", "hops", "input_link_s", "timeout_s", "tensors")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_NS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    INPUT_LINK_S_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    TENSORS_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    sent_ns: int
    label: int
    input: Tensor
    hops: _containers.RepeatedCompositeFieldContainer[Hop]
    input_link_s: float
    timeout_s: float
    tensors: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    def __init__(self, request_id: _Optional[int] = ..., sent_ns: _Optional[int] = ..., label: _Optional[int] = ..., input: _Optional[_Union[Tensor, _Mapping]] = ..., hops: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ..., input_link_s: _Optional[float] = ..., timeout_s: _Optional[float] = ..., tensors: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ...) -> None: ...

class InferReply(_message.Message):
    __slots__ = ("ok", "error", "failed_tier")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILED_TIER_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    error: str
    failed_tier: str
    def __init__(self, ok: _Optional[bool] = ..., error: _Optional[str] = ..., failed_tier: _Optional[str] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("request_id", "sent_ns", "label", "exit", "prediction", "entropy", "probabilities", "hops", "input_link_s", "outputs")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_NS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_FIELD_NUMBER: _ClassVar[int]
    ENTROPY_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    HOPS_FIELD_NUMBER: _ClassVar[int]
    INPUT_LINK_S_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    sent_ns: int
    label: int
    exit: int
    prediction: int
    entropy: float
    probabilities: Tensor
    hops: _containers.RepeatedCompositeFieldContainer[Hop]
    input_link_s: float
    outputs: _containers.RepeatedCompositeFieldContainer[NamedTensor]
    def __init__(self, request_id: _Optional[int] = ..., sent_ns: _Optional[int] = ..., label: _Optional[int] = ..., exit: _Optional[int] = ..., prediction: _Optional[int] = ..., entropy: _Optional[float] = ..., probabilities: _Optional[_Union[Tensor, _Mapping]] = ..., hops: _Optional[_Iterable[_Union[Hop, _Mapping]]] = ..., input_link_s: _Optional[float] = ..., outputs: _Optional[_Iterable[_Union[NamedTensor, _Mapping]]] = ...) -> None: ...

class HealthReply(_message.Message):
    __slots__ = ("tier", "deployed", "partition", "served", "failed", "data_address")
    TIER_FIELD_NUMBER: _ClassVar[int]
    DEPLOYED_FIELD_NUMBER: _ClassVar[int]
    PARTITION_FIELD_NUMBER: _ClassVar[int]
    SERVED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DATA_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    tier: str
    deployed: bool
    partition: int
    served: int
    failed: int
    data_address: str
    def __init__(self, tier: _Optional[str] = ..., deployed: _Optional[bool] = ..., partition: _Optional[int] = ..., served: _Optional[int] = ..., failed: _Optional[int] = ..., data_address: _Optional[str] = ...) -> None: ...

class ShutdownRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
