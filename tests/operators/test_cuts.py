from __future__ import annotations

from pathlib import Path

import pytest

from splitexit.errors import InputError
from splitexit.operators import analyse, find_cuts, load_model, partition, split_at
from tests.operators import graphs


def _info(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    return analyse(load_model(graphs.save(graphs.ALL[name](), tmp_path)))


@pytest.mark.parametrize("name", sorted(graphs.ALL))
def test_cuts_every_offered_cut_partitions_equal(tmp_path: Path, name: str) -> None:
    info = _info(tmp_path, name)
    cuts = find_cuts(info, min_gap=3)
    assert cuts
    for cut in cuts:
        result = partition(tmp_path / "model.onnx", tmp_path / "out", cuts=[cut.tensors], samples=1)
        assert result.max_abs_diff <= 1e-5 * max(1.0, result.output_scale)


def test_cuts_chain_offers_every_activation_and_one_next_to_the_output(tmp_path: Path) -> None:
    tensors = [c.tensors for c in find_cuts(_info(tmp_path, "chain"))]
    assert ("r0",) in tensors and ("flat",) in tensors
    assert ("x",) not in tensors and ("y",) not in tensors


def test_cuts_residual_never_cuts_inside_a_block_with_one_tensor(tmp_path: Path) -> None:
    singles = {c.tensors[0] for c in find_cuts(_info(tmp_path, "residual")) if len(c.tensors) == 1}
    assert "b1o" in singles and "b1r" not in singles and "b1a" not in singles


def test_cuts_fpn_neck_gets_multi_tensor_cuts_in_the_middle(tmp_path: Path) -> None:
    cuts = find_cuts(_info(tmp_path, "fpn"), min_gap=3)
    multi = [c.tensors for c in cuts if len(c.tensors) > 1]
    assert any("l1" in m or "s1" in m for m in multi)


def test_cuts_two_branch_gets_a_cut_across_both_branches(tmp_path: Path) -> None:
    multi = [
        c.tensors for c in find_cuts(_info(tmp_path, "two_branch"), min_gap=3) if len(c.tensors) > 1
    ]
    assert any(
        any(t.startswith("p") for t in m) and any(t.startswith("q") for t in m) for m in multi
    )


def test_cuts_if_node_keeps_the_outer_tensor_its_branches_read_live(tmp_path: Path) -> None:
    info = _info(tmp_path, "with_if")
    tensors = [c.tensors for c in find_cuts(info, min_gap=1)]
    assert ("tot",) not in tensors and ("cond",) not in tensors  # r0 is still read by If
    with pytest.raises(InputError, match="reads 'r0'"):
        split_at(info, ("cond",))


def test_cuts_multi_input_late_input_joins_the_cut(tmp_path: Path) -> None:
    info = _info(tmp_path, "multi_input")
    split = split_at(info, ("c1", "z"))
    assert split.tail and split.head
    with pytest.raises(InputError, match="add 'z' to the cut"):
        split_at(info, ("c1",))


def test_cuts_bytes_and_params_add_up(tmp_path: Path) -> None:
    info = _info(tmp_path, "chain")
    total = sum(info.initializer_bytes.values())
    for cut in find_cuts(info):
        assert cut.head_param_bytes + cut.tail_param_bytes == total
        assert cut.tensor_bytes == sum(info.tensors[t].nbytes for t in cut.tensors)
    assert find_cuts(info)[0].tensor_bytes == 4 * 8 * 8 * 4


def test_cuts_backend_model_resnet50_all_offered_cuts_are_valid_splits() -> None:
    onnx = pytest.importorskip("onnx")
    path = Path(onnx.__file__).parent / "backend/test/data/light/light_resnet50.onnx"
    if not path.is_file():
        pytest.skip("onnx backend test data not installed")
    info = analyse(load_model(path))
    cuts = find_cuts(info)
    assert len(cuts) > 10
    for cut in cuts:
        split_at(info, cut.tensors)
