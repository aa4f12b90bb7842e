"""Write a run folder's reports: ``report.html``, ``report.md`` and ``frontier.svg``, each atomically.

The one module here that imports the renderers; only the pipeline (:mod:`routeeval.pipeline`) imports it.
"""

from __future__ import annotations

import hashlib
import json
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
    svg = _frontier_svg_reused(out_dir / "frontier.svg", summary)
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


_PLOT_KEY_MARK = "<!-- routeeval frontier plot of "


def _plot_key(summary: RunSummary) -> str:
    """What the frontier plot is drawn from: the summary without its timings (``created_at`` and every ``*_s``
    field, which differ on every rerun and are not plotted), the plotting code and matplotlib's version."""
    from importlib.metadata import version

    from routeeval.report import plots

    def untimed(value):
        if isinstance(value, dict):
            return {k: untimed(v) for k, v in value.items() if k != "created_at" and not k.endswith("_s")}
        if isinstance(value, list):
            return [untimed(v) for v in value]
        return value

    digest = hashlib.sha256(json.dumps(untimed(summary.to_json()), sort_keys=True, default=str).encode())
    digest.update(Path(plots.__file__).read_bytes())
    digest.update(version("matplotlib").encode())
    return "sha256:" + digest.hexdigest()


def _frontier_svg_reused(path: Path, summary: RunSummary) -> str:
    """The frontier plot: the one already at ``path`` when it was drawn from the same key (a cached rerun draws
    the same picture; matplotlib's import and drawing cost about a second), else drawn now. The key sits in a
    comment before the ``<svg>`` element, so the plot inlined in report.html is byte for byte the same."""
    key = _plot_key(summary)
    mark = f"{_PLOT_KEY_MARK}{key} -->\n"
    try:
        previous = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        previous = ""
    if mark in previous[: previous.find("<svg")]:
        return previous
    svg = frontier_svg(summary)
    start = svg.find("<svg")
    return svg[:start] + mark + svg[start:] if start >= 0 else svg
