"""``--device cuda`` where torch sees no CUDA device: one line, exit status 2, nothing written,
before any work; the API's settings refuse it the same way. (No GPU machine was lent to the
sessions that checked issue 15: a run on CUDA is not tested.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from splitexit.cli import run
from splitexit.errors import InputError
from splitexit.training import FinalSettings, check_device


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as one without CUDA, whatever it has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.mark.parametrize(
    "argv",
    [
        ["profile", "--model", "resnet8", "--dataset", "digits", "--out", "p.json"],
        ["validate", "--profile", "p.json", "--json", "v.json"],
        ["export", "--profile", "resnet20-fashion-mnist", "--config", "c.json", "--out", "e"],
    ],
    ids=["profile", "validate", "export"],
)
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
@pytest.mark.usefixtures("no_cuda")
def test_cuda_without_a_device_is_one_line_exit_2(
    argv: list[str],
    device: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code = run([*argv, "--device", device])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert err == [
        f"error: --device {device}: torch {torch.__version__} "
        f"({'a CPU-only build' if torch.version.cuda is None else 'CUDA ' + torch.version.cuda})"
        " sees no CUDA device on this machine; use cpu"
    ]
    assert list(tmp_path.iterdir()) == []  # refused before any work


@pytest.mark.usefixtures("no_cuda")
def test_the_api_settings_refuse_cuda_without_a_device() -> None:
    from splitexit.profiling import ProfileSettings

    with pytest.raises(InputError, match=r"device cuda: .* sees no CUDA device"):
        ProfileSettings(model="resnet8", dataset="digits", device="cuda")
    with pytest.raises(InputError, match=r"device cuda:0: .* sees no CUDA device"):
        FinalSettings(device="cuda:0")
    assert check_device("cpu") == "cpu"


def test_a_cuda_index_beyond_the_devices_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert check_device("cuda") == "cuda" and check_device("cuda:0") == "cuda:0"
    with pytest.raises(
        InputError, match=r"cuda:1: torch sees 1 CUDA device\(s\) \(cuda:0..cuda:0\)"
    ):
        check_device("cuda:1")
    with pytest.raises(InputError, match="must be 'cpu' or 'cuda"):
        check_device("cuda:x")
