"""Every public callable of the walked rooms declares its constraints, and enforces them.

For each function or class in a room's ``__all__`` (and ``splitexit``'s own), the test reads
the constraints declared with ``splitexit._validation.validate_params``, then calls it once
per constrained parameter with a value of a wrong type and once with a value of the right
type out of range, every other required parameter given a valid value. Each call must raise
a ``SplitexitError`` subclass whose message names the parameter, before any work is done.

Classes marked ``returned_type`` (results, info objects, validated file contents: the library
builds them, users only read them) need no constraints. To walk another room, add it to
``ROOMS``; to exempt a callable, add it to ``EXEMPT`` with the reason.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from splitexit._validation import (
    CONSTRAINTS_ATTRIBUTE,
    Callable_,
    Constraint,
    InstanceOf,
    Interval,
    Options,
    Unit,
    constraints_of,
    is_returned_type,
)
from splitexit.errors import SplitexitError

# rooms whose __all__ is walked (every room of docs/architecture.md but the CLI); `nets` and
# `training` import torch, which this test may (it is not a torch-free room)
ROOMS = [
    "splitexit",
    "splitexit.configuration",
    "splitexit.topology",
    "splitexit.profile",
    "splitexit.perfmodel",
    "splitexit.planner",
    "splitexit.export",
    "splitexit.fidelity",
    "splitexit.units",
    "splitexit.reports",
    "splitexit.experiment",
    "splitexit.datasets",
    "splitexit.operators",
    "splitexit.study",
    "splitexit.runtime",
    "splitexit.profiling",
    "splitexit.training",
    "splitexit.nets",
    "splitexit.spatial",
    "splitexit.spatial.geometry",
    "splitexit.spatial.devices",
    "splitexit.spatial.methods",
    "splitexit.spatial.experiments",
    "splitexit.spatial.execution",
]

# qualified name -> why it declares no constraints
EXEMPT: dict[str, str] = {
    "splitexit.preset_names": "takes no parameters",
    "splitexit.training.current_cache_key": "duck-typed: any object with model, dataset and "
    "training attributes (a Profile, or what a caller rebuilt from one)",
    "splitexit.training.profile_run_dir": "duck-typed like current_cache_key, which it calls",
    "splitexit.experiment.default_experiment_path": "takes no parameters",
    "splitexit.configuration.leaves_here": "the per-sample hot path (tier worker, oracles); "
    "its threshold comes from a validated Configuration",
    "splitexit.study.StrategyExecutor": "a Protocol: callers implement it, nobody constructs it",
    "splitexit.study.StudySpec": "a pydantic model: it validates its own fields",
    "splitexit.training.JointStart": "a Protocol: export's JointCheckpoint implements it",
    "splitexit.training.training_record": "takes any keyword hyperparameters (JSON-ready "
    "values) and only converts them",
    "splitexit.spatial.group_names": "takes no parameters",
    "splitexit.spatial.model_names": "takes no parameters",
    "splitexit.spatial.geometry.Network": "a Protocol: devices.Cluster implements it",
    "splitexit.spatial.devices.DeviceModel": "a Protocol: the device models implement it",
    "splitexit.spatial.methods.FinishModel": "a Protocol: LinearFinish and ExactFinish "
    "implement it",
    "splitexit.spatial.op_input_rows": "the simulator's per-op hot path; its op and rows come "
    "from a validated ModelSpec and Strategy",
    "splitexit.spatial.layer_input_rows": "the simulator's per-layer hot path (as op_input_rows)",
    "splitexit.spatial.volume_rows": "the simulator's per-volume hot path (as op_input_rows)",
    "splitexit.spatial.cuts_to_intervals": "the simulator's per-volume hot path (as op_input_rows)",
    "splitexit.spatial.model_from_mapping": "takes any parsed YAML/JSON value and refuses a bad "
    "one itself, naming the file",
    "splitexit.spatial.strategy_from_mapping": "takes any parsed YAML/JSON value and refuses a "
    "bad one itself, naming the file",
    "splitexit.spatial.merge_records": "takes any parsed JSON value (an earlier run's file) and "
    "refuses a bad one itself, naming the file",
    "splitexit.study.study_from_mapping": "takes any parsed YAML/JSON value and refuses a bad "
    "one itself, naming the file",
}


def _public_callables() -> Iterator[tuple[str, Any]]:
    seen: set[int] = set()
    for room in ROOMS:
        module = importlib.import_module(room)
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or id(obj) in seen:
                continue
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # the error hierarchy itself
            if _is_type_alias(obj):
                continue  # Literal / Callable aliases: types, not callables
            seen.add(id(obj))
            yield f"{room}.{name}", obj


def _is_type_alias(obj: Any) -> bool:
    return typing.get_origin(obj) is not None


CALLABLES = sorted(_public_callables(), key=lambda item: item[0])


def _valid(constraint: Constraint | None) -> Any:
    """A value ``constraint`` accepts."""
    if constraint is None:
        return None
    if isinstance(constraint, Interval):
        for value in (constraint.left, constraint.right, 0, 1):
            if value is None:
                continue
            for candidate in (value, value + 1, value - 1, value + 0.5, value - 0.5):
                try:
                    return constraint.check(constraint.kind(candidate))
                except ValueError:
                    continue
        return constraint.kind(1)
    if isinstance(constraint, Options):
        return constraint.values[0]
    if isinstance(constraint, Unit):
        return 1.0 if constraint.within is None else _valid(constraint.within)
    if isinstance(constraint, Callable_):
        return lambda *args, **kwargs: None
    if isinstance(constraint, InstanceOf):
        kind = constraint.types[0]
        simple = {str: "x", bool: False, int: 1, float: 1.0, Path: Path("x"), tuple: (), list: []}
        if kind in simple:
            return simple[kind]
        return _instance_of(kind)
    raise AssertionError(f"no valid example for {constraint!r}")


@functools.cache
def _instance_of(kind: type) -> Any:
    """A stand-in instance of ``kind``, made once: autospeccing a class (a torch module, a
    pydantic model) takes up to a second, and the callable refuses the bad parameter before
    it touches the others."""
    return mock.create_autospec(kind, instance=True)


class _Stranger:
    """A type no constraint accepts."""

    def __repr__(self) -> str:
        return "<stranger>"


def _cases() -> Iterator[Any]:
    for qualified, obj in CALLABLES:
        declared = constraints_of(obj)
        if not declared:
            continue
        for param, accepted in declared.items():
            yield pytest.param(qualified, obj, param, "type", id=f"{qualified}-{param}-type")
            bad = [c.bad_value() for c in accepted if c is not None]
            if any(not _missing(b) for b in bad):
                yield pytest.param(qualified, obj, param, "value", id=f"{qualified}-{param}-value")


def _missing(value: Any) -> bool:
    from splitexit._validation import _MISSING

    return value is _MISSING


def _call_with(obj: Any, param: str, value: Any) -> Callable[[], Any]:
    declared = constraints_of(obj) or {}
    function = obj.__init__ if inspect.isclass(obj) else obj
    signature = inspect.signature(function)
    kwargs: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if name in ("self", "cls") or parameter.kind in (
            parameter.VAR_POSITIONAL,
            parameter.VAR_KEYWORD,
        ):
            continue
        if name == param:
            kwargs[name] = value
        elif parameter.default is parameter.empty:
            assert name in declared, f"required parameter {name!r} has no declared constraint"
            kwargs[name] = _valid(declared[name][0])
    return lambda: obj(**kwargs)


@pytest.mark.parametrize(("qualified", "obj", "param", "kind"), list(_cases()))
def test_public_callable_refuses_bad_parameter(
    qualified: str, obj: Any, param: str, kind: str
) -> None:
    accepted = (constraints_of(obj) or {})[param]
    if kind == "type":
        value: Any = _Stranger()
    else:
        value = next(
            c.bad_value() for c in accepted if c is not None and not _missing(c.bad_value())
        )
    with pytest.raises(SplitexitError) as info:
        _call_with(obj, param, value)()
    assert f"`{param}`" in str(info.value), f"{qualified}: {info.value}"
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("qualified", "obj"), CALLABLES, ids=[q for q, _ in CALLABLES])
def test_public_callable_declares_constraints(qualified: str, obj: Any) -> None:
    if qualified in EXEMPT or is_returned_type(obj):
        assert constraints_of(obj) is None, f"{qualified} is exempt but declares constraints"
        return
    declared = constraints_of(obj)
    assert declared is not None, f"{qualified} declares no constraints (validate_params)"
    function = obj.__init__ if inspect.isclass(obj) else obj
    assert hasattr(function, CONSTRAINTS_ATTRIBUTE), f"{qualified}: constraints not enforced"
    params = [
        name
        for name, p in inspect.signature(function).parameters.items()
        if name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    missing = [p for p in params if p not in declared]
    assert not missing, f"{qualified}: no constraint declared for {missing}"


def test_exempt_names_exist() -> None:
    names = {q for q, _ in CALLABLES}
    assert set(EXEMPT) <= names, set(EXEMPT) - names
