"""`splitexit validate` on each executor from the same profile: wall time and final checkpoints.

Issue 15's second target: ``validate --k K --executor ray`` on a local 2-CPU Ray cluster gives
the same final checkpoints as ``--executor local``. The profile's run folder (its joint and
separate checkpoints) is copied into one fresh cache per executor, so every executor trains
the same K final models from the same joint weights; then each final checkpoint's weights
are compared across executors (``torch.equal`` on every tensor) and the files hashed.

Executors: ``local`` (``--executor local --workers 1``: in process), ``pool`` (``--executor
local``, the default: a process pool of one process per CPU, here 2), ``ray`` (``--executor
ray --ray-address``, against a cluster this script starts with ``ray start --head --num-cpus
2 --block`` and stops by signalling that one process).

Usage: .venv/bin/python benchmarks/bench_executors.py --profile P.json --cache CACHE
       [--k 4] [--out-dir DIR] [--executors local,pool,ray]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY_CPUS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_env() -> dict[str, str]:
    """Our throw-away cluster and its driver both without Ray's token authentication (on
    by default in a cluster from ``ray start``, which a driver must then share)."""
    return {**os.environ, "RAY_AUTH_MODE": "disabled"}


def start_ray(temp_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A 2-CPU Ray head of our own; returns the process (``--block``) and its address."""
    port = _free_port()
    ray = Path(sys.executable).with_name("ray")
    log = (temp_dir / "ray-start.log").open("wb")
    process = subprocess.Popen(
        [str(ray), "start", "--head", f"--num-cpus={RAY_CPUS}", f"--port={port}",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
         "--block"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=_ray_env(),
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if b"Ray runtime started" in (temp_dir / "ray-start.log").read_bytes():
            return process, address
        if process.poll() is not None:
            raise RuntimeError(f"ray start failed: see {temp_dir / 'ray-start.log'}")
        time.sleep(0.5)
    raise RuntimeError("ray start did not come up within 120 s")


def stop_ray(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)  # --block: stops the processes it started
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def weights_sha256(path: Path) -> str:
    """SHA-256 of a checkpoint's weights (names and bytes, in order): the files themselves
    also hold each epoch's wall time, which differs between any two runs."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in torch.load(path, weights_only=False)["model"].items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def final_checkpoints(cache: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(cache.glob("*/validate-*/final-*.pt"))}


def run_validate(
    profile: Path, cache: Path, k: int, extra: list[str], out: Path
) -> tuple[float, str]:
    command = [sys.executable, "-m", "splitexit", "validate", "--profile", str(profile),
               "--k", str(k), "--quiet", "--cache", str(cache), "--json", str(out),
               *extra]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=_ray_env())
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, " ".join(["splitexit", *command[3:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="the profile run's cache")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/bench_executors"))
    parser.add_argument("--executors", default="local,pool,ray")
    args = parser.parse_args()

    import torch

    from splitexit.profile import load_profile
    from splitexit.training import profile_run_dir

    run = profile_run_dir(load_profile(args.profile), args.cache)
    if run is None or not (run / "joint.pt").exists():
        raise SystemExit(f"{args.profile}: no run folder with joint.pt under {args.cache}")
    out = args.out_dir
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
    results: dict[str, dict[str, object]] = {}
    for name in args.executors.split(","):
        cache = out / f"cache-{name}"
        shutil.copytree(run, cache / run.name, ignore=shutil.ignore_patterns("validate-*"))
        extra = {"local": ["--workers", "1"], "pool": [], "ray": []}[name]
        ray = None
        if name == "ray":
            # Ray wants an absolute, short temp folder (its socket paths have a length limit)
            ray_dir = Path(tempfile.mkdtemp(prefix="sxray-"))
            ray, address = start_ray(ray_dir)
            extra = ["--executor", "ray", "--ray-address", address]
        try:
            wall, command = run_validate(args.profile, cache, args.k, extra, out / f"{name}.json")
        finally:
            if ray is not None:
                stop_ray(ray)
                shutil.copy(ray_dir / "ray-start.log", out / "ray-start.log")
                shutil.rmtree(ray_dir, ignore_errors=True)
        files = final_checkpoints(cache)
        results[name] = {
            "wall_s": wall,
            "command": command,
            "files": files,
            "weights_sha256": {n: weights_sha256(p) for n, p in files.items()},
            "load": Path("/proc/loadavg").read_text().strip(),
        }
        print(f"{name}: {wall:.1f} s wall, {len(files)} final models; `{command}`")
    reference = next(iter(results))
    ref_files = results[reference]["files"]
    assert isinstance(ref_files, dict)
    for name, result in results.items():
        files = result["files"]
        assert isinstance(files, dict)
        same = files.keys() == ref_files.keys()
        for key in ref_files:
            if not same:
                break
            a = torch.load(ref_files[key], weights_only=False)["model"]
            b = torch.load(files[key], weights_only=False)["model"]
            same = a.keys() == b.keys() and all(torch.equal(a[t], b[t]) for t in a)
        result["weights_equal_to_" + reference] = same
        print(f"{name}: weights equal to {reference}'s: {same}; {result['weights_sha256']}")
    summary = {name: {k: v for k, v in r.items() if k != "files"} for name, r in results.items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}; wrote {out / 'summary.json'}")


if __name__ == "__main__":
    main()
