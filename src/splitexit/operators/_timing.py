"""``cuts --time``: ONNX Runtime time of the head and the tail of every offered cut."""

from __future__ import annotations

from dataclasses import replace

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.operators._cuts import Cut
from splitexit.operators._graph import GraphInfo, random_inputs
from splitexit.operators._measure import latency
from splitexit.operators._pieces import build_pieces, run_model

__all__ = ["time_cuts"]


@validate_params(
    {
        "info": [InstanceOf(GraphInfo)],
        "cuts": [InstanceOf(list, tuple)],
        "runs": [Interval(int, 1, None, closed="left")],
    }
)
def time_cuts(info: GraphInfo, cuts: list[Cut], *, runs: int = 10) -> list[Cut]:
    """Each cut with ``seconds = (head, tail)``, medians of ``runs`` batch runs."""
    feeds = random_inputs(info.loaded.inputs)
    timed = []
    for cut in cuts:
        head, tail = build_pieces(info, [cut.tensors])
        source = str(info.loaded.path)
        middle = {**feeds, **run_model(head.model, feeds, source=source)}
        timed.append(
            replace(
                cut,
                seconds=(
                    latency(head.model, feeds, runs=runs, source=source),
                    latency(tail.model, middle, runs=runs, source=source),
                ),
            )
        )
    return timed
