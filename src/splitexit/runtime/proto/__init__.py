"""Generated protobuf and gRPC code of the runtime's wire format (tools/gen_proto.py).

The source is ``splitexit_runtime.proto``; the ``_pb2`` modules are generated, committed and
never edited by hand.
"""
