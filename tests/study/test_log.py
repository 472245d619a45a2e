from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from splitexit.errors import InputError
from splitexit.study import COLUMNS, LatencyLog, Strategy, read_latencies


def _log() -> LatencyLog:
    log = LatencyLog()
    log.add(Strategy("m", "I", "E"), 1, (3, 5), (0.1, 0.30000000000000004))
    log.add(Strategy("m", "P", "ME"), 1, (3, 5), (1.5, 2.5))
    log.add(Strategy("m", "I", "E"), 2, (3, 5), (0.2, 0.4))
    return log


def test_latency_log_writes_the_exact_columns(tmp_path: Path) -> None:
    path = tmp_path / "out" / "latencies.csv"
    _log().write(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "subject,operator,tiers,repetition,sample,latency_s"
    assert COLUMNS == ("subject", "operator", "tiers", "repetition", "sample", "latency_s")
    assert lines[1] == "m,I,E,1,3,0.1"
    assert len(lines) == 7
    assert [p.name for p in path.parent.iterdir()] == ["latencies.csv"]  # no temporary left


def test_latency_log_round_trips_exactly(tmp_path: Path) -> None:
    path = tmp_path / "latencies.csv"
    log = _log()
    log.write(path)
    back = read_latencies(path)
    assert back.rows == log.rows
    groups = back.groups()
    assert list(groups) == [Strategy("m", "I", "E"), Strategy("m", "P", "ME")]
    assert groups[Strategy("m", "I", "E")].tolist() == [0.1, 0.30000000000000004, 0.2, 0.4]
    np.testing.assert_allclose(back.repetition_medians()[Strategy("m", "I", "E")], [0.2, 0.3])


def test_latency_log_add_checks_lengths_and_values() -> None:
    log = LatencyLog()
    with pytest.raises(ValueError, match="1 latencies for 2 samples"):
        log.add(Strategy("m", "I", "E"), 1, (0, 1), (0.1,))
    with pytest.raises(ValueError, match="finite and >= 0"):
        log.add(Strategy("m", "I", "E"), 1, (0,), (float("nan"),))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n", "the header must be subject,operator"),
        (
            "subject,operator,tiers,repetition,sample,latency_s\nm,I,E,1,0\n",
            "line 2 has 5 fields, expected 6",
        ),
        ("subject,operator,tiers,repetition,sample,latency_s\nm,I,E,1,0,fast\n", "line 2: "),
        (
            "subject,operator,tiers,repetition,sample,latency_s\nm,I,E,1,0,-1\n",
            "line 2: m I@E: latency must be finite and >= 0",
        ),
    ],
)
def test_read_latencies_bad_file_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "latencies.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_latencies(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
