"""Reports: info objects computed from results, then renderers (matplotlib PNG)."""

from splitexit.reports._fidelity import (
    FidelityInfo,
    FidelityRow,
    fidelity_info,
    fidelity_json,
    fidelity_markdown,
    render_fidelity_plot,
)
from splitexit.reports._measurement_console import print_measurement
from splitexit.reports._pareto_plot import ParetoPlotInfo, pareto_plot_info, render_pareto_plot
from splitexit.reports._plan_console import print_plan

__all__ = [
    "FidelityInfo",
    "FidelityRow",
    "ParetoPlotInfo",
    "fidelity_info",
    "fidelity_json",
    "fidelity_markdown",
    "pareto_plot_info",
    "print_measurement",
    "print_plan",
    "render_fidelity_plot",
    "render_pareto_plot",
]
