"""``_transaction.Outputs``: several outputs written all or none, temporaries never left."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from splitexit._boundary import OUTPUT_MARKER
from splitexit._transaction import Outputs
from splitexit.errors import InputError


def _listing(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text() if p.is_file() else "<dir>"
        for p in sorted(root.rglob("*"))
    }


def test_outputs_commit_writes_and_replaces_every_target(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("old")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "stale.txt").write_text("old")
    with Outputs() as out:
        out.write_json(tmp_path / "a.json", {"x": 1}, indent=None)
        out.write_text(tmp_path / "sub" / "b.md", "# b\n")  # a missing folder is made
        folder = out.folder(tmp_path / "report", owner="test")
        (folder / "new.txt").write_text("new")
        assert (tmp_path / "a.json").read_text() == "old"  # nothing swapped before the end
    assert _listing(tmp_path) == {
        "a.json": '{"x": 1}\n',
        "report": "<dir>",
        f"report/{OUTPUT_MARKER}": "test\n",
        "report/new.txt": "new",
        "sub": "<dir>",
        "sub/b.md": "# b\n",
    }
    assert out.targets == (tmp_path / "a.json", tmp_path / "sub" / "b.md", tmp_path / "report")


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, RuntimeError, SystemExit])
def test_outputs_leave_targets_and_no_temporary_on_any_exception(
    tmp_path: Path, interrupt: type[BaseException]
) -> None:
    (tmp_path / "a.json").write_text("old")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "mine.txt").write_text("mine")
    before = _listing(tmp_path)
    with pytest.raises(interrupt), Outputs() as out:
        out.write_text(tmp_path / "a.json", "new")
        (out.folder(tmp_path / "report") / "x").write_text("x")
        out.file(tmp_path / "plot.png")
        raise interrupt
    assert _listing(tmp_path) == before


def test_outputs_failed_rename_puts_back_what_was_swapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    before = _listing(tmp_path)
    real = Path.rename
    calls = {"n": 0}

    def flaky(self: Path, target: Path) -> Path:  # the 4th rename: b's temporary into place
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk gone")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", flaky)
    out = Outputs()
    out.write_text(tmp_path / "a.txt", "new a")
    out.write_text(tmp_path / "b.txt", "new b")
    with pytest.raises(OSError, match="disk gone"):
        out.commit()
    assert _listing(tmp_path) == before


def test_outputs_refuse_nan_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"rows\[1\]\.ms"), Outputs() as out:
        out.write_text(tmp_path / "a.md", "# a\n")
        out.write_json(tmp_path / "a.json", {"rows": [{"ms": 1.0}, {"ms": math.inf}]})
    assert list(tmp_path.iterdir()) == []


def test_outputs_refuse_one_target_twice_and_a_folder_for_a_file(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError, match="named twice"), Outputs() as out:
        out.write_text(tmp_path / "a.md", "1")
        out.write_text(tmp_path / "a.md", "2")
    with pytest.raises(InputError, match="is a folder"), Outputs() as out:
        out.file(tmp_path / "dir")
    assert _listing(tmp_path) == {"dir": "<dir>"}


def test_outputs_json_dash_goes_to_stdout_after_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Outputs() as out:
        out.write_json("-", {"ok": True}, indent=None)
        out.write_text(tmp_path / "a.md", "a")
        assert capsys.readouterr().out == ""
    assert capsys.readouterr().out == '{"ok": true}\n'
    assert out.targets == (tmp_path / "a.md",)


def test_outputs_files_get_the_usual_permissions(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        with Outputs() as out:
            out.write_text(tmp_path / "a.md", "a")
            out.folder(tmp_path / "f")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.md").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o755
