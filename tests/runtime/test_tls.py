"""Remote use: workers and the sink over TLS with a self-signed certificate (openssl)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from splitexit.runtime import Chain, LocalWorkers, PixelCodec, WorkerOptions
from splitexit.runtime import _wire as wire


def _certificate(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "the TLS test needs the openssl command"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.slow
def test_a_chain_runs_over_tls_and_plaintext_is_refused(deployable, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cert, key = _certificate(tmp_path)
    tls = ["--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(cert)]
    tiers = [p.tier for p in deployable.manifest.partitions]
    options = WorkerOptions(
        tls_cert=cert.read_bytes(), tls_key=key.read_bytes(), tls_ca=cert.read_bytes()
    )
    data = deployable.data
    with LocalWorkers(tiers, extra_args=tls) as workers:
        chain = Chain(
            deployable.manifest, deployable.folder, deployable.topology,
            [workers.addresses[t] for t in tiers], workers.token, compute_mode="none",
            warmup=1, deadline_s=20, options=options,
            pixels=PixelCodec(data.pixel_levels, data.mean, data.std),
        )  # fmt: skip
        with chain:
            chain.wait_ready(timeout_s=20)
            chain.deploy()
            records = chain.stream(data.profile.images[:5], data.profile.labels[:5], range(5))
        assert [r.status for r in records] == ["delivered"] * 5
        plain = grpc.insecure_channel(workers.addresses["cloud"])
        health = plain.unary_unary(
            wire.method(wire.WORKER_SERVICE, "Health"),
            request_serializer=wire.Empty.SerializeToString,
            response_deserializer=wire.HealthReply.FromString,
        )
        with pytest.raises(grpc.RpcError):
            health(wire.Empty(), timeout=3)
        plain.close()
