"""Measure a link as a program sees it: one TCP transfer between two tiers' namespaces.

A receiver started inside tier ``dst``'s namespace listens on that tier's address (port
chosen by the kernel), reads ``nbytes`` and answers one byte; a sender inside tier ``src``'s
namespace connects, then times from its first byte to that answer. The connection set-up is
outside the timing; the answer's trip back (one small packet) is inside it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from splitexit.errors import SplitexitError
from splitexit.runtime._netns import NetnsTestbed

__all__ = ["Transfer", "measure_transfer"]

_RECEIVER = """
import socket, sys
server = socket.socket()
server.bind((sys.argv[1], 0))
server.listen(1)
print(server.getsockname()[1], flush=True)
conn, _ = server.accept()
left = int(sys.argv[2])
while left > 0:
    chunk = conn.recv(1 << 20)
    if not chunk:
        break
    left -= len(chunk)
conn.sendall(b"k")
"""

_SENDER = """
import socket, sys, time
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
data = b"x" * int(sys.argv[3])
start = time.perf_counter()
conn.sendall(data)
conn.recv(1)
print(time.perf_counter() - start)
"""


@dataclass(frozen=True)
class Transfer:
    """``nbytes`` of payload from tier ``src`` to tier ``dst`` took ``seconds``."""

    src: int
    dst: int
    nbytes: int
    seconds: float

    @property
    def throughput_bps(self) -> float:
        """Payload bits per second."""
        return self.nbytes * 8 / self.seconds


def measure_transfer(
    net: NetnsTestbed, src: int, dst: int, nbytes: int = 1_000_000, *, timeout_s: float = 60
) -> Transfer:
    """Send ``nbytes`` over TCP from tier ``src`` to tier ``dst`` of ``net`` and time it.

    >>> with NetnsTestbed(tiers=["a", "b"], links=[(10e6, 0.0)]) as net:  # doctest: +SKIP
    ...     print(measure_transfer(net, 0, 1).throughput_bps / 1e6)
    """
    address = net.address(dst)
    receiver = subprocess.Popen(
        [*net.prefix(dst), sys.executable, "-c", _RECEIVER, address, str(nbytes)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = receiver.stdout.readline().strip() if receiver.stdout else ""
        if not port:
            raise SplitexitError(f"the receiver in tier {dst} ({address}) did not start")
        sender = subprocess.run(
            [*net.prefix(src), sys.executable, "-c", _SENDER, address, port, str(nbytes)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if sender.returncode != 0:
            raise SplitexitError(
                f"transfer tier {src} -> {dst} ({address}:{port}) failed: {sender.stderr.strip()}"
            )
        return Transfer(src, dst, nbytes, float(sender.stdout))
    finally:
        receiver.kill()
        receiver.wait()
