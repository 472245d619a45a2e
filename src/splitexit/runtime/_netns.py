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

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
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

__all__ = [
    "NetnsTestbed",
    "clean_stale_namespaces",
    "free_octet",
    "list_namespaces",
    "require_netns",
]

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
            _del_host_link(run_id)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
            unclaim(run_id, _KIND, state_dir=state_dir)
            removed.append(name)
    return removed


def _host_link_name(run_id: str) -> str:
    return f"sx{run_id}"[:15]


def _del_host_link(run_id: str) -> None:
    """Delete the run's host veth now (the kernel would, but only once the namespace is gone)."""
    name = _host_link_name(run_id)
    if Path("/sys/class/net", name).exists():
        subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)


def free_octet(candidates: range = range(214, 254)) -> int:
    """An octet X whose 10.X.0.0/16 no host route or address uses (for a host link)."""
    used = _run("ip", "-4", "route", "show") + _run("ip", "-4", "addr", "show")
    for octet in candidates:
        if f"10.{octet}." not in used:
            return octet
    raise SplitexitError(
        f"no free 10.X.0.0/16 for a netns testbed's host link (tried X in "
        f"{candidates.start}..{candidates.stop - 1}); stale `sx*` interfaces? see `ip -4 addr`"
    )


@contextlib.contextmanager
def _host_lock(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "netns.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
        host_tier: int | None = None,
        octet: int | None = None,
    ) -> None:
        if octet is not None and not 1 <= octet <= 254:
            raise InputError(f"the netns subnet octet must be in 1..254, got {octet}")
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
        # every address is 10.<octet>.x.y; with a host link a free octet is chosen at start
        self.octet = octet if octet is not None else 213
        self._auto_octet = octet is None and host_tier is not None
        self.host_tier = host_tier
        if host_tier is not None:
            self._check(host_tier)
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
        if not self.links:
            return "127.0.0.1" if self.host_tier is None else f"10.{self.octet}.255.2"
        return f"10.{self.octet}.{k - 1}.2" if k > 0 else f"10.{self.octet}.0.1"

    def address_towards(self, k: int, neighbour: int) -> str:
        """Tier ``k``'s address on the link to ``neighbour`` (k - 1 or k + 1)."""
        self._check(k)
        if neighbour == k + 1 and k < len(self.links):
            return f"10.{self.octet}.{k}.1"
        if neighbour == k - 1 and k > 0:
            return f"10.{self.octet}.{k - 1}.2"
        raise InputError(f"tier {neighbour} is not a neighbour of tier {k}")

    def prefix(self, k: int) -> list[str]:
        """The command prefix that runs a program inside tier ``k``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(k)]

    @property
    def host_address(self) -> str:
        """The host's end of the unshaped veth into tier ``host_tier`` (bind the sink there)."""
        if self.host_tier is None:
            raise InputError("this netns testbed has no host link (host_tier=None)")
        return f"10.{self.octet}.255.1"

    @property
    def host_interface(self) -> str:
        """The host's veth end: ``sx<run_id>`` (at most 15 characters)."""
        return _host_link_name(self.run_id)

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
            with _host_lock(self._state_dir):  # two runs never pick the same host subnet
                if self._auto_octet:
                    self.octet = free_octet()
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
        if self.host_tier is not None:
            _del_host_link(self.run_id)
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
                _run("ip", "-n", ns, "addr", "add", f"10.{self.octet}.{k}.{host}/30", "dev", dev)
                _run("ip", "-n", ns, "link", "set", dev, "up")
                _run("tc", "-n", ns, "qdisc", "add", "dev", dev, "root", *tbf_args(shape))
        for k in range(len(self.tiers)):
            for j in range(len(self.links)):
                if j > k:  # beyond the next tier: through tier k + 1
                    via = f"10.{self.octet}.{k}.2"
                elif j < k - 1:  # before the previous tier: through tier k - 1
                    via = f"10.{self.octet}.{k - 1}.1"
                else:
                    continue
                _run(
                    "ip",
                    "-n",
                    self.namespace(k),
                    "route",
                    "add",
                    f"10.{self.octet}.{j}.0/30",
                    "via",
                    via,
                )
        if self.host_tier is not None:
            self._build_host_link(self.host_tier)

    def _build_host_link(self, h: int) -> None:
        """An unshaped veth from the host into tier ``h`` (10.<octet>.255.0/30), and routes:
        the host reaches every tier through tier h; every tier reaches the host through the
        neighbour towards h. Deleting tier h's namespace deletes both ends."""
        net, host_dev = f"10.{self.octet}", self.host_interface
        _run("ip", "link", "add", "name", host_dev, "type", "veth",
             "peer", "name", "tohost", "netns", self.namespace(h))  # fmt: skip
        _run("ip", "addr", "add", f"{net}.255.1/30", "dev", host_dev)
        _run("ip", "link", "set", host_dev, "up")
        _run("ip", "-n", self.namespace(h), "addr", "add", f"{net}.255.2/30", "dev", "tohost")
        _run("ip", "-n", self.namespace(h), "link", "set", "tohost", "up")
        if self.links:
            _run("ip", "route", "add", f"{net}.0.0/16", "via", f"{net}.255.2", "dev", host_dev)
        for k in range(len(self.tiers)):
            if k != h:
                via = self.address_towards(k + 1 if k < h else k - 1, k)
                _run("ip", "-n", self.namespace(k), "route", "add", f"{net}.255.0/30", "via", via)
