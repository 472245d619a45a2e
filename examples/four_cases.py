"""The four cases of seed 000 (section 3.3) on the bundled ResNet-20 / Fashion-MNIST profile.

I    trimming: minimum latency with accuracy >= full accuracy - 3 points (mobile);
II   latency cap: maximum accuracy with latency below a cap (mobile): the paper's 300 ms and a
     cap that the whole DNN does not meet on our profile (35 ms);
III  non-consecutive placement: maximum accuracy under a cap on the IoT topology (the paper's
     80 ms, and 20 ms);
IV   destination: minimum latency with accuracy >= 80 % on the IoT topology, results consumed
     on the Raspberry Pi (tier 1) or in the global cloud (tier 4).

Each case runs with the paper's estimator and with the trace estimator (the planner's default
when a trace exists). Usage: .venv/bin/python examples/four_cases.py [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import splitexit
from splitexit.profile import DEFAULT_PROFILE, load_profile_trace, profile_path

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("I trimming", "mobile", {"min_accuracy": "full-3"}),
    ("II cap 300 ms", "mobile", {"max_latency_s": 0.300}),
    ("II cap 35 ms", "mobile", {"max_latency_s": 0.035}),
    ("III cap 80 ms", "iot", {"max_latency_s": 0.080}),
    ("III cap 20 ms", "iot", {"max_latency_s": 0.020}),
    ("IV dest. tier 1", "iot", {"min_accuracy": 0.80, "destination": "raspberry-pi"}),
    ("IV dest. tier 4", "iot", {"min_accuracy": 0.80, "destination": "global-cloud"}),
]


def run() -> list[dict[str, Any]]:
    """Solve every case with both estimators; one row per (case, estimator)."""
    profile = splitexit.load_profile(DEFAULT_PROFILE)
    trace = load_profile_trace(profile, profile_path(DEFAULT_PROFILE))
    rows = []
    for name, topology, requirement in CASES:
        kwargs = dict(requirement)
        if kwargs.get("min_accuracy") == "full-3":
            kwargs["min_accuracy"] = float(profile.accuracy[-1]) - 0.03
        for estimator in ("paper", "trace"):
            result = splitexit.plan(
                profile,
                splitexit.load_topology(topology),
                estimator=estimator,
                trace=trace if estimator == "trace" else None,
                **kwargs,
            )
            best = result.best.to_dict(result.topology)
            tiers = [tier.name for tier in result.topology.tiers]
            best["placement_tiers"] = [tiers.index(t) + 1 for t in best["placement"]]
            rows.append({"case": name, "topology": topology, "estimator": estimator, **best})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| case | estimator | T | P | A (tier numbers) | accuracy | latency |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        threshold = row["threshold"]
        text = "-" if threshold is None else f"{threshold:g}"
        pairs = zip(row["placement"], row["placement_tiers"], strict=True)
        placement = ", ".join(f"{t} ({n})" for t, n in pairs)
        lines.append(
            f"| {row['case']} | {row['estimator']} | {text} | {row['partition']} | {placement} | "
            f"{row['accuracy']:.2%} | {row['latency_s'] * 1e3:.1f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = run()
    print(markdown(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
