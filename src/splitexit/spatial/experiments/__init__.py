"""Experiments and reports: the top layer of ``splitexit.spatial`` (imports every other).

Comparing methods on one problem, seed 003's Tables I-III and the alpha sweep, the
random-sample sweep, the dynamic-network study, and their info objects and renderers
(markdown, rich tables, matplotlib PNG). gymnasium is imported on first use of the
dynamic study.

>>> from splitexit.spatial.experiments import METHODS
>>> METHODS[0]
'offload'
"""

from __future__ import annotations

from typing import Any

from splitexit.spatial.experiments._compare import METHODS, Comparison, MethodResult, compare
from splitexit.spatial.experiments._experiments import (
    TABLES,
    Case,
    alpha_sweep,
    case_names,
    gpu_shaped,
    merge_records,
    run_table,
    table_markdown,
)
from splitexit.spatial.experiments._report import (
    BarsInfo,
    LinesInfo,
    bars_info,
    lines_markdown,
    print_comparison,
    render_bars,
    render_lines,
)
from splitexit.spatial.experiments._samples import (
    SAMPLE_SIZES,
    samples_markdown,
    samples_sweep,
)

__all__ = [
    "METHODS",
    "SAMPLE_SIZES",
    "TABLES",
    "BarsInfo",
    "Case",
    "Comparison",
    "DynamicResult",
    "LinesInfo",
    "MethodResult",
    "alpha_sweep",
    "bandwidth_traces",
    "bars_info",
    "case_names",
    "compare",
    "dynamic_study",
    "gpu_shaped",
    "lines_markdown",
    "merge_records",
    "print_comparison",
    "render_bars",
    "render_lines",
    "run_table",
    "samples_markdown",
    "samples_sweep",
    "table_markdown",
]

# gymnasium is imported on first use of the dynamic study.
_LAZY = {"DynamicResult", "bandwidth_traces", "dynamic_study"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from splitexit.spatial.experiments import _dynamic

        return getattr(_dynamic, name)
    raise AttributeError(f"module 'splitexit.spatial.experiments' has no attribute {name!r}")
