"""How a sample's latency spreads around a model, per path: a spread every sample has and one
per link its messages cross (docs/fidelity.md, "Session 11, interleaved").

One pooled spread (the median over configurations of their residual quantiles) gives a
configuration whose messages cross no link the spread of those whose messages cross several;
on the netns testbed a link crossed adds TCP over shaped veths, the middle namespace's
forwarding and a receive-side sleep, each with its own variation. The spread of a sample
whose path crosses h links is taken as

    Q_h(q) = base(q) + h * per_link(q)    at each quantile level q,

base and per_link each a quantile function (non-decreasing in q, so every Q_h is one for
h >= 0), each centred on 0 so that the mean latency, and with it every plan, is unchanged.
Adding quantile functions is adding comonotone parts (a slow link and a slow compute come
together, as under a load spike); independent parts would add less in the tail, so this is
the wider of the two readings.

Fitted once per network from the fitted files' residuals (measured latency minus the
model's, per delivered sample, with the links crossed of its measured exit): every (file,
links crossed) group of at least ``MIN_GROUP`` samples gives its ``LEVELS`` quantiles,
centred on the group's own mean (its offset is the mean model's error, not spread); base and
per_link minimise the sum over groups and levels of |group quantile - Q_h| (least absolute
deviations, one linear programme with the monotonicity as constraints, scipy's HiGHS). Where
the groups show one number of links only, per_link is 0 and base their median quantiles (the
pooled spread as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError

__all__ = ["LEVELS", "MIN_GROUP", "SPREADS", "Spread", "fit_path_spread", "levels"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Spread = Literal["path", "pooled"]  # per path (this module), or one for every path (before)
SPREADS: tuple[Spread, ...] = ("path", "pooled")
# quantile levels kept, evenly spaced: (i + 0.5) / LEVELS, 0.1%, 0.3%, ..., 99.9%. As fine as
# a run of 500 samples: the p99 of a configuration with 1% of its samples on a slow path is
# the fast path's largest value (its ~99.8th percentile), which 100 levels (the top one
# 99.5%) cannot reach (docs/fidelity.md, "Session 12").
LEVELS = 500
MIN_GROUP = 100  # samples of one (file, links crossed) group for its quantiles to count


def levels(count: int | None = None) -> FloatArray:
    """The quantile levels (percent) of a spread of ``count`` values (``LEVELS``)."""
    count = LEVELS if count is None else count
    return np.asarray((np.arange(count) + 0.5) / count * 100, np.float64)


@validate_params(
    {
        "residuals": [InstanceOf(list, tuple)],
        "links": [InstanceOf(list, tuple)],
        "min_group": [Interval(int, 1, None)],
    }
)
def fit_path_spread(
    residuals: Sequence[FloatArray],
    links: Sequence[IntArray],
    *,
    min_group: int = MIN_GROUP,
) -> tuple[FloatArray, FloatArray]:
    """(base, per_link), each ``LEVELS`` centred values, from per-file residuals (s) and the
    links crossed of each of their samples.

    Groups smaller than ``min_group`` are left out, unless no group has that many: then every
    file counts as one group at its mean links crossed."""
    if len(residuals) != len(links) or not residuals:
        raise InputError(
            f"one links array per residual array, at least one, got {len(residuals)} and "
            f"{len(links)}"
        )
    grid = levels()
    rows: list[FloatArray] = []
    hops: list[float] = []
    for r, h in zip(residuals, links, strict=True):
        r, h = np.asarray(r, np.float64), np.asarray(h, np.int64)
        if r.shape != h.shape:
            raise InputError(f"residuals and links differ in shape: {r.shape} and {h.shape}")
        for value in np.unique(h):
            group = r[h == value]
            if len(group) >= min_group:
                rows.append(np.percentile(group - group.mean(), grid))
                hops.append(float(value))
    if not rows:  # small files: each one group
        for r, h in zip(residuals, links, strict=True):
            if len(r):
                r = np.asarray(r, np.float64)
                rows.append(np.percentile(r - r.mean(), grid))
                hops.append(float(np.mean(h)))
    if not rows:
        raise InputError("fitting a spread needs at least one delivered sample")
    table, crossed = np.array(rows), np.array(hops, np.float64)
    if np.ptp(crossed) == 0:
        base, per_link = np.median(table, axis=0), np.zeros(LEVELS)
    else:
        base, per_link = _monotone_lad(table, crossed)
    return (
        np.asarray(base - base.mean(), np.float64),
        np.asarray(per_link - per_link.mean(), np.float64),
    )


def _monotone_lad(table: FloatArray, hops: FloatArray) -> tuple[FloatArray, FloatArray]:
    """base, per_link (each non-decreasing) minimising sum |table[g, q] - base[q] - hops[g] *
    per_link[q]| over groups g and levels q."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, hstack, identity, kron, vstack

    groups, count = table.shape
    eye = identity(count, format="csr")
    # variables: base (count), per_link (count), then the positive and negative errors
    fit = hstack(
        [
            kron(csr_matrix(np.ones((groups, 1))), eye),
            kron(csr_matrix(hops[:, None]), eye),
            identity(groups * count),
            -identity(groups * count),
        ],
        format="csr",
    )
    step = csr_matrix(  # x[q] - x[q + 1] <= 0
        (
            np.concatenate([np.ones(count - 1), -np.ones(count - 1)]),
            (
                np.concatenate([np.arange(count - 1)] * 2),
                np.concatenate([np.arange(count - 1), np.arange(1, count)]),
            ),
        ),
        shape=(count - 1, count),
    )
    zeros = csr_matrix((count - 1, count))
    free = csr_matrix((count - 1, 2 * groups * count))  # the errors are not constrained
    upper = vstack([hstack([step, zeros, free]), hstack([zeros, step, free])], format="csr")
    cost = np.concatenate([np.zeros(2 * count), np.ones(2 * groups * count)])
    bounds = [(None, None)] * (2 * count) + [(0, None)] * (2 * groups * count)
    found = linprog(
        cost, A_ub=upper, b_ub=np.zeros(2 * (count - 1)), A_eq=fit, b_eq=table.ravel(),
        bounds=bounds, method="highs",
    )  # fmt: skip
    if not found.success:  # pragma: no cover - feasible (all zero) and bounded below
        raise InputError(f"the spread fit failed: {found.message}")
    # exactly non-decreasing: the solver holds the constraints to its tolerance (~1e-8 s)
    return (
        np.maximum.accumulate(found.x[:count]),
        np.maximum.accumulate(found.x[count : 2 * count]),
    )
