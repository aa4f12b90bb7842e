"""Write a run folder's reports: ``report.html``, ``report.md`` and ``frontier.svg``, each atomically.

The one module here that imports the renderers; only the pipeline (:mod:`routeeval.pipeline`) imports it.
"""

from __future__ import annotations

from pathlib import Path

from routeeval.files import make_folder, write_text_atomic
from routeeval.report.figures import report_figures
from routeeval.report.html import render_html
from routeeval.report.markdown import render_markdown
from routeeval.report.plots import frontier_svg
from routeeval.summary import RunSummary


def write_reports(
    out_dir: str | Path,
    summary: RunSummary,
    outcomes,
    chosen_rows: list[dict],
    logs=None,
    monthly_queries: int | None = None,
    *,
    figures: dict | None = None,
    data=None,
    sample_rate: float | None = None,
) -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` and ``frontier.svg`` into ``out_dir``; return their paths.

    ``logs``: a :class:`routeeval.logs.LogSet` (or a path to one) for the traffic volume and duplicate
    share; ``monthly_queries`` overrides the volume. ``figures``: what :func:`report_figures` returned,
    when the caller already computed it (to store it in summary.json under ``report``). ``data``: see
    :func:`report_figures`.
    """
    if figures is None:
        figures = report_figures(
            summary,
            outcomes,
            chosen_rows,
            logs=logs,
            monthly_queries=monthly_queries,
            data=data,
            sample_rate=sample_rate,
        )
    out_dir = Path(out_dir)
    make_folder(out_dir)
    svg = frontier_svg(summary)
    paths = {
        "html": out_dir / "report.html",
        "markdown": out_dir / "report.md",
        "frontier_svg": out_dir / "frontier.svg",
    }
    write_text_atomic(paths["frontier_svg"], svg)
    write_text_atomic(paths["html"], render_html(summary, figures, svg))
    write_text_atomic(
        paths["markdown"],
        render_markdown(summary, figures, plot_name=paths["frontier_svg"].name),
    )
    return paths
