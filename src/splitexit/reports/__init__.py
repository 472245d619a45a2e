"""Reports: info objects computed from results, then renderers (matplotlib PNG)."""

from splitexit.reports._pareto_plot import ParetoPlotInfo, pareto_plot_info, render_pareto_plot
from splitexit.reports._plan_console import print_plan

__all__ = ["ParetoPlotInfo", "pareto_plot_info", "print_plan", "render_pareto_plot"]
