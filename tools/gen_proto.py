"""Regenerate the runtime's protobuf and gRPC code from its ``.proto`` (needs grpcio-tools).

Writes ``splitexit_runtime_pb2.py``, ``splitexit_runtime_pb2.pyi`` and
``splitexit_runtime_pb2_grpc.py`` beside ``src/splitexit/runtime/proto/splitexit_runtime.proto``.
The generated files are committed, so installing splitexit needs no grpcio-tools;
tests/runtime/test_proto.py checks that regenerating gives them byte for byte.

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
OUTPUTS = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generate(out: Path) -> list[Path]:
    """Compile the ``.proto`` into ``out`` (the package's proto folder); the files written."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as tmp:
        code = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{ROOT}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                str(ROOT / PROTO),
            ]
        )
        if code != 0:
            raise SystemExit(f"protoc failed on {ROOT / PROTO} (status {code})")
        out.mkdir(parents=True, exist_ok=True)
        written = []
        stem = PROTO.stem
        for suffix in OUTPUTS:
            target = out / f"{stem}{suffix}"
            shutil.copyfile(Path(tmp) / PROTO.parent / f"{stem}{suffix}", target)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / PROTO.parent)
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
