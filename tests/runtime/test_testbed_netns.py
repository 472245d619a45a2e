"""The testbed on kernel-shaped links (``network="netns"``): every tier's worker in its own
namespace, nothing left behind after a run or a SIGKILL of the driver, TLS between namespaces
addressed by IP as on separate hosts. Root only (CI runs as root); skipped with the reason
otherwise. No assertion on time beyond what the receiving sides must add."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from splitexit.export import ChainRunner
from splitexit.runtime import Chain, PixelCodec, TestbedOptions, WorkerOptions, run_testbed
from splitexit.runtime._cgroup import CpuLimits, detect_cpu_cgroup
from splitexit.runtime._local import LocalWorkers
from splitexit.runtime._netns import NetnsTestbed, free_octet, list_namespaces
from splitexit.runtime._netns_testbed import path_charge, path_delay_s

# they make namespaces, veths and CPU groups and look for leftovers machine-wide: under
# pytest-xdist (--dist loadgroup) they all run on one worker, one after the other
pytestmark = pytest.mark.xdist_group("netns")

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: makes network namespaces, veths, tc and cgroups"
)
ROOT = Path(__file__).resolve().parents[2]


def _leftovers() -> tuple[set[str], set[str], set[str]]:
    """Our namespaces, CPU groups and host links now present."""
    spaces = {n for n in list_namespaces() if n.startswith("splitexit-")}
    groups = {g.name for g in detect_cpu_cgroup().root.glob("splitexit-*")}
    links = {p.name for p in Path("/sys/class/net").glob("sx*")}
    return spaces, groups, links


def _pixels(deployable):  # type: ignore[no-untyped-def]
    data = deployable.data
    return PixelCodec(data.pixel_levels, data.mean, data.std)


@needs_root
@pytest.mark.slow
def test_testbed_netns_runs_cpu_quota_and_leaves_nothing(deployable) -> None:  # type: ignore[no-untyped-def]
    before = _leftovers()
    data, topo = deployable.data, deployable.topology
    options = TestbedOptions(
        samples=8, compute_mode="cpu-quota", network="netns", warmup=2, warm_samples=1
    )
    measurement = run_testbed(
        deployable.manifest, deployable.folder, topo, data.profile.images, data.profile.labels,
        _pixels(deployable), options, profile_name="tiny",
    )  # fmt: skip
    assert _leftovers() == before
    assert measurement["run"]["network"] == "netns"
    assert measurement["compute_mode"] == "cpu-quota"
    assert measurement["summary"]["delivered"] == 8
    expected = ChainRunner(deployable.manifest, deployable.folder).run(data.profile.images[:8])
    assert [s["exit"] for s in measurement["samples"]] == (expected.exit_partition + 1).tolist()
    calibration = measurement["run"]["calibration"]
    assert [c["tier"] for c in calibration] == ["smartphone", "edge", "cloud"]
    assert all(c["slowdown"] is None or c["slowdown"] > 0 for c in calibration)
    for s in measurement["samples"]:
        assert s["input_link_s"] == 0 and all(h["link_s"] == 0 for h in s["hops"])
        exit_tier = topo.tier_index(s["hops"][-1]["tier"])
        # the receiving sides added every link's propagation along the way and back
        there = path_delay_s(topo, topo.source, exit_tier)
        assert s["latency_s"] >= there + path_delay_s(topo, exit_tier, topo.destination)
        # each worker waited its path's propagation plus the buckets' credit, and said so
        previous = topo.source
        for hop in s["hops"]:
            here = topo.tier_index(hop["tier"])
            charge = path_charge(topo, previous, here)
            assert hop["receive_s"] >= charge.delay_s
            assert hop["receive_s"] > charge.delay_s or not charge.buckets
            previous = here


@needs_root
def test_testbed_netns_needs_local_workers(deployable) -> None:  # type: ignore[no-untyped-def]
    from splitexit.errors import InputError

    options = TestbedOptions(samples=1, network="netns")
    with pytest.raises(InputError, match="netns network need"):
        run_testbed(
            deployable.manifest, deployable.folder, deployable.topology,
            deployable.data.profile.images, deployable.data.profile.labels, None, options,
            profile_name="tiny", connect={"smartphone": "x", "edge": "y", "cloud": "z"},
            token="t",
        )  # fmt: skip


def test_testbed_netns_network_is_checked() -> None:
    from splitexit.errors import InputError

    with pytest.raises(InputError, match="network must be one of emulated, netns"):
        TestbedOptions(network="wifi")


@needs_root
@pytest.mark.slow
def test_testbed_netns_killed_driver_is_cleaned_on_the_next_start(deployable) -> None:  # type: ignore[no-untyped-def]
    before = _leftovers()
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from splitexit.export import load_manifest
        from splitexit.runtime import TestbedOptions, run_testbed
        from splitexit.topology import load_topology
        from splitexit.training import load_dataset
        data = load_dataset("digits")
        folder = Path({str(deployable.folder)!r})
        options = TestbedOptions(samples=10_000, compute_mode="cpu-quota", network="netns",
                                 warmup=1, warm_samples=0)
        def progress():
            print("running", flush=True)
        images = data.profile.images.repeat(100, axis=0)
        labels = data.profile.labels.repeat(100, axis=0)
        run_testbed(load_manifest(folder / "manifest.json"), folder, load_topology("mobile"),
                    images, labels, None, options, profile_name="tiny", progress=progress)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "running"  # workers in namespaces, confined
    spaces, groups, links = _leftovers()
    assert spaces > before[0] and groups > before[1] and links > before[2]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    with NetnsTestbed(tiers=["x"], links=[]), CpuLimits():
        pass  # the next start removes what the killed run left
    assert _leftovers() == before


def _certificate(folder: Path, addresses: list[str]) -> tuple[bytes, bytes]:
    openssl = shutil.which("openssl")
    assert openssl is not None, "the TLS test needs the openssl command"
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = ",".join(f"IP:{a}" for a in addresses)
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=splitexit-tier",
            "-addext", f"subjectAltName={names}",
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert.read_bytes(), key.read_bytes()


@needs_root
@pytest.mark.slow
def test_testbed_netns_workers_on_separate_hosts_by_ip_over_tls(  # type: ignore[no-untyped-def]
    deployable, tmp_path: Path
) -> None:
    """docs/netns.md "Beyond one machine": each worker binds its host's IP (here a namespace's),
    certificates name those IPs, the driver and the workers verify them."""
    topo = deployable.topology
    tiers = [p.tier for p in deployable.manifest.partitions]
    index = [topo.tier_index(t) for t in tiers]
    names = [t.name for t in topo.tiers]
    links = [(link.bandwidth, link.latency) for link in topo.links]
    octet = free_octet()
    with NetnsTestbed(tiers=names, links=links, host_tier=topo.source, octet=octet) as net:
        ips = [net.address(k) for k in range(len(names))] + [net.host_address]
        cert, key = _certificate(tmp_path, ips)
        (tmp_path / "ca.pem").write_bytes(cert)
        args = ["--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")]
        args += ["--tls-ca", str(tmp_path / "ca.pem")]
        with LocalWorkers(
            tiers, extra_args=args,
            prefixes={t: net.prefix(k) for t, k in zip(tiers, index, strict=True)},
            hosts={t: net.address(k) for t, k in zip(tiers, index, strict=True)},
        ) as workers:  # fmt: skip
            addresses = [workers.addresses[t] for t in tiers]
            assert [a.rsplit(":", 1)[0] for a in addresses] == [net.address(k) for k in index]
            chain = Chain(
                deployable.manifest, deployable.folder, topo, addresses, workers.token,
                compute_mode="none", warmup=1, deadline_s=20, pixels=_pixels(deployable),
                options=WorkerOptions(tls_cert=cert, tls_key=key, tls_ca=cert),
                sink_listen=f"{net.host_address}:0", emulate_links=False,
            )  # fmt: skip
            with chain:
                chain.wait_ready(timeout_s=20)
                chain.deploy()
                images, labels = deployable.data.profile.images, deployable.data.profile.labels
                records = chain.stream(images[:4], labels[:4], range(4))
            assert [r.status for r in records] == ["delivered"] * 4
