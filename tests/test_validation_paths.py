"""A path parameter may be given as text: the function body still gets a Path."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitexit._validation import PathLike, validate_params
from splitexit.errors import InputError
from splitexit.experiment import default_experiment_path, load_experiment


def test_path_like_normalizes_text_to_path() -> None:
    assert PathLike().check("a/b.yaml") == Path("a/b.yaml")


def test_path_like_refuses_a_number_naming_the_parameter() -> None:
    @validate_params({"path": [PathLike()]})
    def read(path: Path) -> str:
        return path.name

    assert read("x/y.json") == "y.json"
    with pytest.raises(InputError, match="`path`"):
        read(3)


def test_load_experiment_accepts_a_string_path() -> None:
    assert load_experiment(str(default_experiment_path())).name
