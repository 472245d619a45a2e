"""Which strategies one Kruskal-Wallis test compares: seed 004's Tables 3 and 4.

Tier dimension (Table 3), per subject: each whole-model operator (I, Q, E, QE) across the
single tiers M, E, C (RQ1, RQ2, RQ3, RQ5-X); identity on M, E, C with P on ME, EC, MC (RQ4);
QE on M, E, C with QEP on ME, EC, MC (RQ5-Y).

Operator dimension (Table 4), per subject and single tier T: I, Q, E and QE on T with the
partitioned P and QEP on ME (the seed always takes the partitioned variants at ME).

A design keeps the groups that were measured and is dropped below two groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.study._schedule import Strategy

__all__ = ["Design", "study_designs"]

_WHOLE = ("I", "Q", "E", "QE")
_SINGLE = ("M", "E", "C")
_PAIRS = ("ME", "EC", "MC")


@returned_type
@dataclass(frozen=True)
class Design:
    """One Kruskal-Wallis family: a name, its dimension and its groups in table order."""

    name: str
    dimension: str  # "tier" or "operator"
    subject: str
    groups: tuple[Strategy, ...]


def _keep(
    name: str, dimension: str, subject: str, wanted: Iterable[Strategy], have: set[Strategy]
) -> list[Design]:
    groups = tuple(s for s in wanted if s in have)
    return [Design(name, dimension, subject, groups)] if len(groups) >= 2 else []


@validate_params(
    {"strategies": [InstanceOf(list, tuple, "collections.abc:Iterable", name="an iterable")]}
)
def study_designs(strategies: Iterable[Strategy]) -> list[Design]:
    """The tier and operator designs over the measured ``strategies``.

    >>> s = [Strategy("m", "I", t) for t in ("M", "E", "C")]
    >>> [(d.name, len(d.groups)) for d in study_designs(s)]
    [('I across tiers', 3)]
    """
    strategies = list(strategies)
    have = set(strategies)
    subjects = list(dict.fromkeys(s.subject for s in strategies))
    designs: list[Design] = []
    for subject in subjects:
        for op in _WHOLE:
            wanted = [Strategy(subject, op, t) for t in _SINGLE]
            designs += _keep(f"{op} across tiers", "tier", subject, wanted, have)
        for whole, split in (("I", "P"), ("QE", "QEP")):
            wanted = [Strategy(subject, whole, t) for t in _SINGLE]
            splits = [Strategy(subject, split, t) for t in _PAIRS]
            if not have.intersection(splits):  # without P, this is the design above again
                continue
            wanted += splits
            designs += _keep(f"{whole} and {split} across tiers", "tier", subject, wanted, have)
    for subject in subjects:
        for tier in _SINGLE:
            wanted = [Strategy(subject, op, tier) for op in _WHOLE]
            wanted += [Strategy(subject, op, "ME") for op in ("P", "QEP")]
            designs += _keep(f"operators on {tier}", "operator", subject, wanted, have)
    return designs
