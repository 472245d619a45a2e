"""A measurement with what it is predicted from: its profile, trace and topology, checked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    returned_type,
    validate_params,
)
from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.fidelity._measurement import Measurement, load_measurement
from splitexit.fidelity._predict import ComputeSource, PathCosts, path_costs
from splitexit.profile import Profile, Trace, load_profile, load_profile_trace, profile_path
from splitexit.topology import Topology, load_topology

__all__ = ["FidelityCase", "load_cases", "make_case"]

_RATIO_MATCH = 1e-9  # relative: the runtime's R_j must be the topology's


@returned_type
@dataclass(frozen=True, eq=False)
class FidelityCase:
    """One measured configuration and the inputs of its prediction."""

    measurement: Measurement
    profile: Profile
    trace: Trace
    topology: Topology  # with the measurement's source and destination
    deployment: Configuration

    @property
    def name(self) -> str:
        return Path(self.measurement.source_file).name

    @property
    def rows(self) -> npt.NDArray[np.int64]:
        """Trace rows of the delivered samples."""
        return self.measurement.index[self.measurement.delivered]

    def costs(self, compute: ComputeSource, *, overheads: bool = True) -> PathCosts:
        """Path costs per exit; ``overheads``: with the topology's message overheads."""
        return path_costs(
            self.profile,
            self.topology,
            self.deployment,
            compute=compute,
            measurement=self.measurement,
            overheads=overheads,
        )


@validate_params(
    {
        "measurement": [InstanceOf(Measurement)],
        "profile": [InstanceOf(Profile)],
        "trace": [InstanceOf(Trace)],
        "topology": [InstanceOf(Topology)],
    }
)
def make_case(
    measurement: Measurement, profile: Profile, trace: Trace, topology: Topology
) -> FidelityCase:
    """Check that the measurement fits the profile, trace and topology, and bundle them."""
    where = measurement.source_file
    names = [tier.name for tier in topology.tiers]
    named = [("source", measurement.source), ("destination", measurement.destination)]
    named += [(f"config.placement[{k}]", name) for k, name in enumerate(measurement.placement)]
    for field_name, name in named:
        if name not in names:
            raise InputError(
                f"{where}: {field_name} {name!r} is not a tier of topology {topology.name!r} "
                f"({', '.join(names)}); give the topology it ran on with --topology"
            )
    topo = replace(
        topology,
        source=names.index(measurement.source),
        destination=names.index(measurement.destination),
    )
    deployment = measurement.configuration(topo)
    if measurement.partition[-1] >= profile.num_blocks:
        raise InputError(
            f"{where}: config.partition {[p + 1 for p in measurement.partition]} goes beyond "
            f"the {profile.num_blocks} blocks of profile {profile.model!r}"
        )
    if trace.num_blocks != profile.num_blocks:
        raise InputError(
            f"{where}: the trace has {trace.num_blocks} branches, the profile "
            f"{profile.num_blocks} blocks"
        )
    largest = int(measurement.index.max())
    if largest >= trace.num_samples:
        raise InputError(
            f"{where}: samples index {largest} is not a row of the trace "
            f"({trace.num_samples} samples)"
        )
    for k, part in enumerate(measurement.partitions):
        expected = topo.tiers[deployment.placement[k]].compute_ratio
        if abs(part.compute_ratio - expected) > _RATIO_MATCH * expected:
            raise InputError(
                f"{where}: partitions[{k}].compute_ratio is {part.compute_ratio:g}, but tier "
                f"{part.tier!r} of topology {topo.name!r} has {expected:g}"
            )
    return FidelityCase(measurement, profile, trace, topo, deployment)


@validate_params(
    {
        "paths": [InstanceOf(list, tuple)],
        "profile": [InstanceOf(str), None],
        "topology": [InstanceOf(str), None],
    }
)
def load_cases(
    paths: Sequence[str | Path], *, profile: str | None = None, topology: str | None = None
) -> list[FidelityCase]:
    """Load measurement files; each is predicted from ``profile`` and ``topology`` (a name or
    a file), or by default from the profile and topology the file names."""
    profiles: dict[str, tuple[Profile, Trace]] = {}
    topologies: dict[str, Topology] = {}
    cases = []
    for path in paths:
        measurement = load_measurement(path)
        profile_spec = profile or measurement.profile
        if profile_spec not in profiles:
            loaded = load_profile(profile_spec)
            trace = load_profile_trace(loaded, profile_path(profile_spec))
            profiles[profile_spec] = (loaded, trace)
        topology_spec = topology or measurement.topology
        if topology_spec not in topologies:
            topologies[topology_spec] = load_topology(topology_spec)
        prof, trace = profiles[profile_spec]
        cases.append(make_case(measurement, prof, trace, topologies[topology_spec]))
    return cases
