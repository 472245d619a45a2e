#!/usr/bin/env bash
# A tier worker needs no torch: install `.[runtime]` into a fresh virtual environment (no
# system site-packages), check that torch is not importable there, start `splitexit worker` on
# a free loopback port with a token and a metrics port, ask the standard gRPC health service
# (grpc.health.v1.Health: live, not yet ready) as a Kubernetes probe would, list its services
# by reflection, scrape /metrics as Prometheus would, stop it. Everything lives in one
# temporary folder, removed at the end whatever happens.
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
METRICS_PORT=$("$VPY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$WORK/venv/bin/splitexit" worker --tier edge --listen 127.0.0.1:0 \
    --token-file "$WORK/token" --metrics-port "$METRICS_PORT" --log-format json \
    >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!

ADDRESS=""
for _ in $(seq 1 300); do  # up to 60 s for the first line: "splitexit worker ready TIER ADDR"
    ADDRESS=$(sed -n 's/^splitexit worker ready edge //p' "$WORK/worker.log" | head -n 1)
    [ -n "$ADDRESS" ] && break
    kill -0 "$WORKER_PID" 2>/dev/null || break
    sleep 0.2
done
[ -n "$ADDRESS" ] || fail "the worker did not start: $(cat "$WORK/worker.log")"

# The standard health service, as a probe asks it: the server is live (""), the Worker
# service not ready before a deploy; reflection names the services; /metrics answers.
"$VPY" - "$ADDRESS" "$METRICS_PORT" <<'EOF' || fail "the worker at $ADDRESS did not answer health, reflection or metrics"
import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
with grpc.insecure_channel(sys.argv[1]) as channel:
    check = health_pb2_grpc.HealthStub(channel).Check
    live = check(health_pb2.HealthCheckRequest(service=""), timeout=10).status
    ready = check(health_pb2.HealthCheckRequest(service="splitexit.runtime.v1.Worker"), timeout=10)
    assert (live, ready.status) == (SERVING, NOT_SERVING), (live, ready)
    services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    expected = {"splitexit.runtime.v1.Worker", "grpc.health.v1.Health", "inference.GRPCInferenceService"}
    assert expected <= services, services
url = f"http://127.0.0.1:{sys.argv[2]}/metrics"
with urllib.request.urlopen(url, timeout=10) as reply:
    assert b'splitexit_worker_in_flight{tier="edge"} 0.0' in reply.read()
EOF

kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || fail "the worker did not stop cleanly on SIGTERM"
WORKER_PID=""
grep -q '"message": "worker edge serving on' "$WORK/worker.log" ||
    fail "the worker logged no JSON start line: $(cat "$WORK/worker.log")"
if grep -q "torch" "$WORK/worker.log"; then
    fail "the worker's log mentions torch: $(cat "$WORK/worker.log")"
fi
echo "check_runtime_extra: .[runtime] gives a working splitexit worker without torch"
