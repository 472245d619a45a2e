#!/usr/bin/env bash
# A tier worker needs no torch: install `.[runtime]` into a fresh virtual environment (no
# system site-packages), check that torch is not importable there, start `splitexit worker` on
# a free loopback port with a token, ask it for its health over gRPC, stop it. Everything
# lives in one temporary folder, removed at the end whatever happens.
#
#   tools/check_runtime_extra.sh            # PYTHON=python3.12 picks the interpreter
#
# pip reaches the package index (and its cache) for the extra's dependencies.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/splitexit-runtime-extra.XXXXXX")
WORKER_PID=""

cleanup() {
    if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
        kill -TERM "$WORKER_PID" 2>/dev/null || true
        wait "$WORKER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    echo "check_runtime_extra: $*" >&2
    exit 1
}

"$PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
# a copy of the sources, so that the build writes nothing into the checkout
mkdir "$WORK/src"
cp -r "$ROOT/src" "$ROOT/pyproject.toml" "$ROOT/README.md" "$WORK/src/"
find "$WORK/src" \( -name "__pycache__" -o -name "*.egg-info" \) -prune -exec rm -rf {} +
"$VPY" -m pip install -qq --disable-pip-version-check "$WORK/src[runtime]" ||
    fail "pip install '.[runtime]' failed"

if "$VPY" -c "import torch" 2>/dev/null; then
    fail "torch is importable after installing only the runtime extra"
fi
"$VPY" -c "import splitexit.runtime" || fail "import splitexit.runtime failed without torch"

echo "check-token-$$" >"$WORK/token"
"$WORK/venv/bin/splitexit" worker --tier edge --listen 127.0.0.1:0 \
    --token-file "$WORK/token" >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!

ADDRESS=""
for _ in $(seq 1 300); do  # up to 60 s for the first line: "splitexit worker ready TIER ADDR"
    ADDRESS=$(sed -n 's/^splitexit worker ready edge //p' "$WORK/worker.log" | head -n 1)
    [ -n "$ADDRESS" ] && break
    kill -0 "$WORKER_PID" 2>/dev/null || break
    sleep 0.2
done
[ -n "$ADDRESS" ] || fail "the worker did not start: $(cat "$WORK/worker.log")"

# Health takes an empty message and answers the tier's name; raw bytes keep this check
# independent of the Python wire classes.
"$VPY" - "$ADDRESS" <<'EOF' || fail "the worker at $ADDRESS did not answer health"
import sys

import grpc

with grpc.insecure_channel(sys.argv[1]) as channel:
    health = channel.unary_unary("/splitexit.runtime.v1.Worker/Health")
    reply = health(b"", timeout=10)
assert b"edge" in reply, reply
EOF

kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || fail "the worker did not stop cleanly on SIGTERM"
WORKER_PID=""
if grep -q "torch" "$WORK/worker.log"; then
    fail "the worker's log mentions torch: $(cat "$WORK/worker.log")"
fi
echo "check_runtime_extra: .[runtime] gives a working splitexit worker without torch"
