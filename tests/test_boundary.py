from __future__ import annotations

import os
import stat
from pathlib import Path

from splitexit._boundary import atomic_write_text


def test_atomic_write_gives_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out" / "plan.json"
    atomic_write_text(target, "{}\n")
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert list(target.parent.iterdir()) == [target]  # no temporary left behind
