"""Server-rendered SVG charts for the KPI pages (pygal): no JavaScript, no build step."""

from __future__ import annotations

import sys
from typing import Any

from chatbot.supervision.kpi import KpiReport


def _pygal() -> Any:
    """pygal, imported on the first chart: it costs about 11 MB resident to every process.

    pygal appends an old-style import hook (find_module only, for its pygal.maps plugins,
    which Loket does not use) to sys.meta_path. Every later import of a missing module then
    raises ImportWarning ("find_spec() not found"), an error under -W error; take it out.
    """
    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]
    return pygal


def _config(title: str) -> dict[str, Any]:
    # js=[]: pygal would otherwise link its tooltip script from the internet.
    return {
        "title": title,
        "style": _pygal().style.CleanStyle,
        "js": [],
        "disable_xml_declaration": True,
        "width": 720,
        "height": 300,
        "x_label_rotation": 45,
        "show_minor_x_labels": True,
        "legend_at_bottom": True,
        "print_values": False,
    }


def _render(chart: Any) -> str:
    return str(chart.render(is_unicode=True))


def report_charts(report: KpiReport) -> dict[str, str]:
    """The dashboard's four charts as inline SVG, keyed by name.

    The SVG holds only dates, numbers and fixed titles (no client text), so it is safe to
    embed in the page as it is.
    """
    days = [point["day"][5:] for point in report.daily]  # MM-DD
    pygal = _pygal()
    per_day = pygal.StackedBar(**_config("Cases per day by category"))
    per_day.x_labels = days
    for name in ("easy", "normal", "hard", "uncategorised"):
        per_day.add(name, [point[name] for point in report.daily])

    rates = pygal.Line(**_config("FRT within target and SLA met (%)"), range=(0, 100))
    rates.x_labels = days
    rates.add("FRT within target", [point["frt_within"] for point in report.daily])
    rates.add("SLA met", [point["sla_met"] for point in report.daily])

    csat = pygal.Bar(**_config("CSAT distribution"))
    csat.x_labels = [f"{star} ★" for star in report.csat_distribution]
    csat.add("ratings", list(report.csat_distribution.values()))

    backlog = pygal.Line(**_config("Backlog through the day"))
    backlog.x_labels = [hour for hour, _ in report.backlog_by_hour]
    backlog.add("backlog", [count for _, count in report.backlog_by_hour])
    return {
        "per_day": _render(per_day),
        "rates": _render(rates),
        "csat": _render(csat),
        "backlog": _render(backlog),
    }
