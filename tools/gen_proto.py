"""Regenerate the runtime's protobuf and gRPC code from its ``.proto`` files (needs grpcio-tools).

For each of ``PROTOS`` (the runtime's own ``splitexit_runtime.proto`` and the KServe v2 subset
``kserve_predict_v2.proto``, both in ``src/splitexit/runtime/proto/``) writes ``NAME_pb2.py``,
``NAME_pb2.pyi`` and ``NAME_pb2_grpc.py`` beside it. The generated files are committed, so
installing splitexit needs no grpcio-tools; tests/runtime/test_proto.py and
tests/runtime/test_edge_kserve.py check that regenerating gives them byte for byte.

Usage: python tools/gen_proto.py [--out DIR]   (DIR: write there instead, e.g. to compare)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src"
PROTO = Path("splitexit/runtime/proto/splitexit_runtime.proto")  # relative to ROOT
KSERVE = Path("splitexit/runtime/proto/kserve_predict_v2.proto")
PROTOS = (PROTO, KSERVE)
OUTPUTS = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out: Path, proto: Path = PROTO) -> list[Path]:
    """Compile ``proto`` (relative to ``src/``) into ``out``; the files written."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as tmp:
        code = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{ROOT}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                str(ROOT / proto),
            ]
        )
        if code != 0:
            raise SystemExit(f"protoc failed on {ROOT / proto} (status {code})")
        out.mkdir(parents=True, exist_ok=True)
        written = []
        stem = proto.stem
        for suffix in OUTPUTS:
            target = out / f"{stem}{suffix}"
            shutil.copyfile(Path(tmp) / proto.parent / f"{stem}{suffix}", target)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / PROTO.parent)
    args = parser.parse_args(argv)
    for proto in PROTOS:
        for path in generate(args.out, proto):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
