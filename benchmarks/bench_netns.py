"""Kernel-shaped links and CPU quotas against their targets (docs/netns.md).

1. Links: two namespaces joined by one veth shaped (tbf, both directions) to 1, 10, 50 and
   200 Mbit/s; 1 MB sent over TCP from tier 0 to tier 1, ``--repeats`` times per rate; the
   median payload throughput against the configured bandwidth.
2. Compute: a pure-Python busy loop of about ``--work-ms`` of CPU per call under quotas of
   1/2, 1/4 and 1/8 of a core, with the short period (2 ms, grown to the 1 ms minimum quota)
   and the kernel's default 100 ms; calls back to back and with a 5 ms idle gap before each
   (a sample that just crossed a link); effective slowdown = mean confined wall time over
   mean free CPU time.
3. Small messages (``--small``): 800 B to 30 kB over 500 kbit/s (mobile's Bluetooth link)
   and 10 Mbit/s with the testbed's bucket (``burst_bytes``): the kernel's time, the kernel's
   plus the bucket credit the testbed's receiver adds (``bucket_credit_s``), and what a real
   link takes, wire bytes / wire rate (``wire_bytes``: 66 bytes of headers per frame).

Needs root. Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_netns.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from splitexit.runtime._cgroup import DEFAULT_PERIOD_US, CpuLimits
from splitexit.runtime._cpu_calibration import calibrate_quota
from splitexit.runtime._netns import NetnsTestbed
from splitexit.runtime._netns_probe import measure_transfer
from splitexit.runtime._shaping import LinkShape, bucket_credit_s, burst_bytes, wire_bytes

RATES_MBPS = (1, 10, 50, 200)
RATIOS = (2, 4, 8)
SMALL_RATES_BPS = (500e3, 10e6)
SMALL_BYTES = (800, 3_000, 6_000, 30_000)


def links(repeats: int) -> None:
    print("rate (Mbit/s)  median (Mbit/s)  error   min..max (Mbit/s)")
    for rate in RATES_MBPS:
        with NetnsTestbed(tiers=["a", "b"], links=[(rate * 1e6, 0.0)]) as net:
            runs = 1 if rate == 1 else repeats  # 1 MB at 1 Mbit/s takes 8 s
            got = [measure_transfer(net, 0, 1).throughput_bps / 1e6 for _ in range(runs)]
        median = statistics.median(got)
        print(
            f"{rate:>13}  {median:>15.3f}  {median / rate - 1:+6.1%}  "
            f"{min(got):.2f}..{max(got):.2f}"
        )


def small_messages(repeats: int) -> None:
    print("rate (kbit/s)  bytes  kernel (ms)  + credit (ms)  real link (ms)  error  (median)")
    for rate in SMALL_RATES_BPS:
        wire_rate = LinkShape("l", rate, 0.0).wire_rate_bps
        burst = burst_bytes(wire_rate)
        with NetnsTestbed(tiers=["a", "b"], links=[(rate, 0.0)]) as net:
            for nbytes in SMALL_BYTES:
                kernel = statistics.median(
                    measure_transfer(net, 0, 1, nbytes).seconds for _ in range(repeats)
                )
                charged = kernel + bucket_credit_s(wire_rate, burst, nbytes)
                real = wire_bytes(nbytes) * 8 / wire_rate
                print(
                    f"{rate / 1e3:>13g}  {nbytes:>5}  {kernel * 1e3:>11.2f}  "
                    f"{charged * 1e3:>13.2f}  {real * 1e3:>14.2f}  {charged / real - 1:+6.1%}"
                )


def busy_for(work_s: float) -> int:
    """Loop count for about ``work_s`` of CPU."""
    n = 100_000
    start = time.process_time()
    total = 0
    for i in range(n):
        total += i
    return max(1, round(n * work_s / (time.process_time() - start)))


def compute(work_ms: float, calls: int) -> None:
    n = busy_for(work_ms / 1e3)

    def work() -> int:
        total = 0
        for i in range(n):
            total += i
        return total

    print(
        "ratio  period (ms)  gap (ms)  free CPU (ms)  free wall (ms)  confined (ms)  p50 (ms)  "
        "slowdown  error  stretch"
    )
    with CpuLimits() as limits:
        for ratio in RATIOS:
            for period_us in (DEFAULT_PERIOD_US, 100_000):
                for gap_s in (0.0, 0.005):
                    c = calibrate_quota(
                        work, ratio, limits=limits, period_us=period_us, calls=calls, gap_s=gap_s
                    )
                    print(
                        f"{ratio:>5}  {c.quota.period_us / 1e3:>11g}  {gap_s * 1e3:>8g}  "
                        f"{c.reference_s * 1e3:>13.2f}  {c.reference_wall_s * 1e3:>14.2f}  "
                        f"{c.confined_s * 1e3:>13.2f}  "
                        f"{c.confined_p50_s * 1e3:>8.2f}  {c.slowdown:>8.2f}  {c.error:+6.1%}  "
                        f"{c.stretch:>7.2f}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work-ms", type=float, default=10.0)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--small", action="store_true", help="only the small-message part")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.small:
        small_messages(args.repeats)
        return
    links(args.repeats)
    small_messages(args.repeats)
    compute(args.work_ms, args.calls)


if __name__ == "__main__":
    main()
