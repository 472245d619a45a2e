from __future__ import annotations

import pytest

from splitexit.spatial import Run, Strategy, make_problem, simulate
from tests.spatial.helpers import hand_cluster, hand_model


def test_simulator_two_devices_hand_computed() -> None:
    # Two 3x3 convs (p=1) on a 4x1x1 image; A: 1 s/row, 8 bit/s; B: 2 s/row, 16 bit/s;
    # requester 16 bit/s; 0.5 s per transfer. Each layer is a volume, A gets rows 0-1, B 2-3.
    # Volume 0: A needs image rows 0-2 (24 bits), B rows 1-3 (24 bits).
    #   requester -> A: 24/min(16,8) + .5 = 3.5 s, arrives 3.5; link busy 24/16 + .5 = 2.0
    #   requester -> B: starts 2.0, 24/16 + .5 = 2.0, arrives 4.0
    #   A computes 2 rows: 3.5 -> 5.5; B computes 2 rows at 2 s: 4.0 -> 8.0
    # Volume 1: A needs row 2 (from B), B needs row 1 (from A); 16 bits each.
    #   A -> B: starts 5.5, 16/8 + .5 = 2.5, arrives 8.0
    #   B -> A: starts 8.0, 16/min(16,8) + .5 = 2.5, arrives 10.5; B's link free at 9.5
    #   A: max(5.5, 10.5) + 2 = 12.5; B: max(8.0, 8.0) + 4 = 12.0
    # Result (no tail): A -> requester 32 bits: 12.5 + 32/8 + .5 = 17.0;
    #   B -> requester: 12.0 + 32/16 + .5 = 14.5. Latency 17.0 s.
    model = hand_model(2)
    problem = make_problem(model, hand_cluster(model, [1.0, 2.0], [8.0, 16.0]))
    run = Run(problem, (0, 1, 2))
    assert run.step((2,)).tolist() == pytest.approx([5.5, 8.0])
    assert run.step((2,)).tolist() == pytest.approx([12.5, 12.0])
    result = run.finish()
    assert result.latency_s == pytest.approx(17.0)
    assert result.compute_s.tolist() == pytest.approx([4.0, 8.0])
    assert result.send_s.tolist() == pytest.approx([2.5 + 4.5, 2.5 + 2.5])
    assert result.requester_send_s == pytest.approx(3.5 + 2.0)
    assert simulate(problem, Strategy((0, 1, 2), ((2,), (2,)))).latency_s == pytest.approx(17.0)


def test_simulator_fused_volume_computes_halo_and_skips_exchange() -> None:
    # One volume of both layers: A's rows 0-1 of layer 1 need rows 0-2 of layer 0 (3 rows,
    # one of them a halo) and image rows 0-3; B's rows 2-3 need rows 1-3, image rows 0-3.
    # Requester: A 32/8 + .5 = 4.5 (link 32/16 + .5 = 2.5); B starts 2.5, 32/16 + .5 -> 5.0.
    # A computes 3 + 2 rows = 5 s: 4.5 -> 9.5; B (3 + 2) * 2 = 10 s: 5.0 -> 15.0.
    # Results: A 9.5 + 4.5 = 14.0; B 15.0 + 2.5 = 17.5.
    model = hand_model(2)
    problem = make_problem(model, hand_cluster(model, [1.0, 2.0], [8.0, 16.0]))
    result = simulate(problem, Strategy((0, 2), ((2,),)))
    assert result.latency_s == pytest.approx(17.5)
    assert result.compute_s.tolist() == pytest.approx([5.0, 10.0])


def test_simulator_part_waits_for_the_slowest_sender() -> None:
    # B computes all of layer 0; A's volume-1 part cannot start before B's rows arrive,
    # however idle A is (the dependency of challenge 4).
    model = hand_model(2)
    problem = make_problem(model, hand_cluster(model, [1.0, 1.0], [16.0, 16.0], overhead=0.0))
    run = Run(problem, (0, 1, 2))
    first = run.step((0,))  # B computes all 4 rows of layer 0: image 32/16 = 2 s, +4 s
    assert first.tolist() == pytest.approx([0.0, 6.0])
    second = run.step((2,))  # A needs rows 0-2 from B: 48/16 = 3 s after 6.0, then 2 s
    assert second.tolist() == pytest.approx([11.0, 8.0])


def test_simulator_tail_runs_on_largest_share() -> None:
    # Rows 0-2 on A (largest share), row 3 on B; B sends its row to A, A runs the tail (1 s)
    # and returns 2 results * 16 bits. Overhead 0, all links 16 bit/s.
    # Image: A rows 0-3 (needs 0..3) 32 bits: 2 s; B rows 2-3: 16 bits, link free at 2 -> 3 s.
    # A: 2 + 3 = 5; B: 3 + 1 = 4. B -> A 16 bits: 4 + 1 = 5. Tail 5 -> 6; result 32/16 -> 8.
    model = hand_model(1, tail=True)
    problem = make_problem(
        model, hand_cluster(model, [1.0, 1.0], [16.0, 16.0], overhead=0.0, tail_s=1.0)
    )
    result = simulate(problem, Strategy((0, 1), ((3,),)))
    assert result.tail_device == 0
    assert result.latency_s == pytest.approx(8.0)


def test_simulator_empty_part_neither_receives_nor_computes() -> None:
    model = hand_model(2)
    problem = make_problem(model, hand_cluster(model, [1.0, 2.0], [8.0, 16.0]))
    result = simulate(problem, Strategy((0, 2), ((4,),)))
    assert result.compute_s.tolist() == pytest.approx([8.0, 0.0])  # 4 rows of 2 layers
    assert result.send_s[1] == 0.0
    # image 32 bits at 8 bit/s + .5; 8 s; 64 result bits at 8 bit/s + .5
    assert result.latency_s == pytest.approx(4.5 + 8.0 + 8.5)
