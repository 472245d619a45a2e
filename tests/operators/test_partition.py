from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from splitexit.errors import InputError
from splitexit.operators import load_pieces, partition
from tests.operators import graphs


def test_partition_three_pieces_keep_names_pass_checker_and_carry_a_manifest(
    tmp_path: Path,
) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    result = partition(path, tmp_path / "out", pieces=3, criterion="compute")
    manifest = load_pieces(tmp_path / "out" / "pieces.json")
    assert len(manifest.pieces) == 3
    for piece in manifest.pieces:
        onnx.checker.check_model(onnx.load(str(tmp_path / "out" / piece.file)))
    assert [t.name for t in manifest.pieces[1].inputs] == list(manifest.cuts[0])
    assert result.max_abs_diff <= 1e-5 * max(1.0, result.output_scale)
    doc = json.loads((tmp_path / "out" / "pieces.json").read_text())
    assert doc["format"] == "splitexit.pieces/1" and len(doc["pieces"][0]["sha256"]) == 64


def test_partition_multi_output_model_aux_output_comes_from_the_first_piece(tmp_path: Path) -> None:
    path = graphs.save(graphs.multi_output(), tmp_path)
    result = partition(path, tmp_path / "out", cuts=[("r1",)])
    first = result.manifest.pieces[0]
    assert "aux" in [t.name for t in first.outputs]


def test_partition_tampered_piece_is_refused_on_load(tmp_path: Path) -> None:
    path = graphs.save(graphs.chain(), tmp_path)
    partition(path, tmp_path / "out", cuts=[("r1",)])
    (tmp_path / "out" / "piece-2.onnx").write_bytes(b"junk")
    with pytest.raises(InputError, match="sha256 does not match"):
        load_pieces(tmp_path / "out" / "pieces.json")


def test_partition_invalid_cut_writes_nothing(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    with pytest.raises(InputError, match="not a valid cut"):
        partition(path, tmp_path / "out", cuts=[("b0r",)])
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_partition_overlapping_cuts_are_refused(tmp_path: Path) -> None:
    path = graphs.save(graphs.chain(), tmp_path)
    with pytest.raises(InputError, match=r"overlap|not a valid"):
        partition(path, tmp_path / "out", cuts=[("r1",), ("r1",)])
