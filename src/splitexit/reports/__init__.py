"""Reports: info objects computed from results, then renderers (matplotlib PNG, SVG or PDF
through the Figure API; self-contained plotly HTML pages; rich console tables)."""

from splitexit.reports._fidelity import (
    FidelityInfo,
    FidelityRow,
    fidelity_info,
    fidelity_json,
    fidelity_markdown,
    render_fidelity_plot,
)
from splitexit.reports._figure import FIGURE_FORMATS, check_figure_path, save_figure
from splitexit.reports._html import (
    HtmlSection,
    bar_section,
    fidelity_figure,
    fidelity_section,
    html_page,
    pareto_figure,
    pareto_section,
    write_html_report,
)
from splitexit.reports._measurement_console import print_measurement
from splitexit.reports._pareto_plot import (
    ParetoPlotInfo,
    PointInfo,
    pareto_plot_info,
    render_pareto_plot,
)
from splitexit.reports._plan_console import print_plan

__all__ = [
    "FIGURE_FORMATS",
    "FidelityInfo",
    "FidelityRow",
    "HtmlSection",
    "ParetoPlotInfo",
    "PointInfo",
    "bar_section",
    "check_figure_path",
    "fidelity_figure",
    "fidelity_info",
    "fidelity_json",
    "fidelity_markdown",
    "fidelity_section",
    "html_page",
    "pareto_figure",
    "pareto_plot_info",
    "pareto_section",
    "print_measurement",
    "print_plan",
    "render_fidelity_plot",
    "render_pareto_plot",
    "save_figure",
    "write_html_report",
]
