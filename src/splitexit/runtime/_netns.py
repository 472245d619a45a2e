"""Tiers in Linux network namespaces, joined by kernel-shaped veth pairs along the chain.

Tier k (0-based) lives in namespace ``splitexit-<run_id>-<k>``. Link k joins tier k and tier
k + 1 by a veth pair on the private network 10.213.k.0/30 (tier k is .1, tier k + 1 is .2),
created directly inside the two namespaces: no host interface is made, moved or shaped. The
middle namespaces forward IPv4 and hold routes to every link beyond their neighbours, so
tier 0 reaches tier 2 by crossing links 0 and 1. Every veth end shapes its egress with a
``tbf`` qdisc, so each link is shaped in both directions (_shaping.py says how).

This kernel has no ``netem``, so propagation delay is not in the kernel: the receiving side
of link k adds ``link_delay_s(k)`` itself. Needs root and iproute2 (``ip``, ``tc``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from splitexit.errors import InputError, SplitexitError
from splitexit.runtime._owner import (
    PREFIX,
    STATE_DIR,
    ExitGuard,
    check_run_id,
    claim,
    new_run_id,
    owner_alive,
    run_id_of,
    unclaim,
)
from splitexit.runtime._shaping import LinkShape, tbf_args

__all__ = ["NetnsTestbed", "clean_stale_namespaces", "list_namespaces", "require_netns"]

_KIND = "netns"


def require_netns() -> None:
    """Raise one clear :class:`SplitexitError` unless this process can make namespaces."""
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        why = f"uid {os.geteuid()}" + (f", missing {' and '.join(missing)}" if missing else "")
        raise SplitexitError(
            f"the netns testbed needs root and iproute2 (`ip`, `tc`) on PATH; got {why}"
        )


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SplitexitError(f"`{' '.join(args)}` failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def list_namespaces() -> list[str]:
    """Names of the network namespaces ``ip netns list`` shows."""
    return [line.split()[0] for line in _run("ip", "netns", "list").splitlines() if line.strip()]


def clean_stale_namespaces(*, state_dir: Path = STATE_DIR) -> list[str]:
    """Delete every ``splitexit-<run_id>-*`` namespace whose owner is gone; return their names."""
    removed = []
    for name in list_namespaces():
        run_id = run_id_of(name)
        if run_id is not None and not owner_alive(run_id, _KIND, state_dir=state_dir):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
            unclaim(run_id, _KIND, state_dir=state_dir)
            removed.append(name)
    return removed


class NetnsTestbed:
    """One namespace per tier, veth links along the chain, each shaped in both directions.

    ``links[k]`` is ``(bandwidth_bps, latency_s)`` of the link between tier k and tier k + 1.
    A testbed asks :meth:`namespace`, :meth:`address`, :meth:`prefix` (to start a worker
    inside tier k) and :meth:`link_delay_s` (the propagation the receiver adds).

    >>> with NetnsTestbed(tiers=["device", "edge"], links=[(10e6, 0.005)]) as net:  # doctest: +SKIP
    ...     server = [*net.prefix(1), "python", "-m", "http.server", "--bind", net.address(1)]
    """

    def __init__(
        self,
        run_id: str | None = None,
        *,
        tiers: Sequence[str],
        links: Sequence[tuple[float, float]],
        state_dir: Path = STATE_DIR,
    ) -> None:
        if len(tiers) < 1 or len(links) != len(tiers) - 1 or len(links) > 254:
            raise InputError(
                f"a netns testbed needs 1-255 tiers and one link between neighbours, got "
                f"{len(tiers)} tiers and {len(links)} links"
            )
        self.run_id = check_run_id(run_id) if run_id is not None else new_run_id()
        self.tiers = list(tiers)
        self.links = [
            LinkShape(f"link {k} ({tiers[k]}-{tiers[k + 1]})", float(bw), float(lat))
            for k, (bw, lat) in enumerate(links)
        ]
        self._state_dir = state_dir
        self._made: list[str] = []
        self._guard: ExitGuard | None = None

    # -- what a testbed asks ---------------------------------------------------------------
    def namespace(self, k: int) -> str:
        """The namespace of tier ``k``: ``splitexit-<run_id>-<k>``."""
        self._check(k)
        return f"{PREFIX}{self.run_id}-{k}"

    def address(self, k: int) -> str:
        """Tier ``k``'s address, reachable from every tier (its end of its first link)."""
        self._check(k)
        return "127.0.0.1" if not self.links else (f"10.213.{k - 1}.2" if k > 0 else "10.213.0.1")

    def address_towards(self, k: int, neighbour: int) -> str:
        """Tier ``k``'s address on the link to ``neighbour`` (k - 1 or k + 1)."""
        self._check(k)
        if neighbour == k + 1 and k < len(self.links):
            return f"10.213.{k}.1"
        if neighbour == k - 1 and k > 0:
            return f"10.213.{k - 1}.2"
        raise InputError(f"tier {neighbour} is not a neighbour of tier {k}")

    def prefix(self, k: int) -> list[str]:
        """The command prefix that runs a program inside tier ``k``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(k)]

    def link_delay_s(self, k: int) -> float:
        """Propagation delay of link ``k`` (s): not in the kernel; the receiver adds it."""
        return self.links[k].latency_s

    def _check(self, k: int) -> None:
        if not 0 <= k < len(self.tiers):
            raise InputError(f"tier index must be in 0..{len(self.tiers) - 1}, got {k}")

    # -- set-up and tear-down --------------------------------------------------------------
    def __enter__(self) -> NetnsTestbed:
        require_netns()
        clean_stale_namespaces(state_dir=self._state_dir)
        claim(self.run_id, _KIND, state_dir=self._state_dir)
        self._guard = ExitGuard(self._teardown)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Delete every namespace this testbed made (idempotent)."""
        if self._guard is not None:
            self._guard.disarm()
            self._guard = None

    def _teardown(self) -> None:
        for name in reversed(self._made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
        self._made.clear()
        unclaim(self.run_id, _KIND, state_dir=self._state_dir)

    def _build(self) -> None:
        for k in range(len(self.tiers)):
            name = self.namespace(k)
            _run("ip", "netns", "add", name)
            self._made.append(name)
            _run("ip", "-n", name, "link", "set", "lo", "up")
            _run("ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for k, shape in enumerate(self.links):
            here, there = self.namespace(k), self.namespace(k + 1)
            a, b = f"to{k + 1}", f"to{k}"  # in tier k towards k + 1; in tier k + 1 towards k
            _run("ip", "link", "add", "name", a, "netns", here, "type", "veth",
                 "peer", "name", b, "netns", there)  # fmt: skip
            for ns, dev, host in ((here, a, 1), (there, b, 2)):
                _run("ip", "-n", ns, "addr", "add", f"10.213.{k}.{host}/30", "dev", dev)
                _run("ip", "-n", ns, "link", "set", dev, "up")
                _run("tc", "-n", ns, "qdisc", "add", "dev", dev, "root", *tbf_args(shape))
        for k in range(len(self.tiers)):
            for j in range(len(self.links)):
                if j > k:  # beyond the next tier: through tier k + 1
                    via = f"10.213.{k}.2"
                elif j < k - 1:  # before the previous tier: through tier k - 1
                    via = f"10.213.{k - 1}.1"
                else:
                    continue
                _run("ip", "-n", self.namespace(k), "route", "add", f"10.213.{j}.0/30", "via", via)
