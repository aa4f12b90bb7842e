"""The frontier plot: dollars per 1,000 queries against accuracy, as small SVG text.

matplotlib is imported inside the function and drawn through its object API with the Agg canvas
(no pyplot, no global backend or rcParams change), so a report can be built in a headless run, a
notebook or a thread without side effects.
"""

from __future__ import annotations

import io
from typing import Any

from routeeval.summary import Baseline, HullPoint, RunSummary, Selection

ROUTER_COLOURS = {
    "static": "#1f77b4",
    "classifier": "#ff7f0e",
    "knn": "#2ca02c",
    "llm": "#9467bd",
    "cascade": "#d62728",
}
OTHER_COLOURS = ("#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
TIER_COLOUR = "#222222"
CI_BARS_PER_ROUTER = 8
MAX_PRICED_TIER_LABELS = 5  # with more tiers, labels carry the name only (the x axis gives the price)
LEGEND_WIDTH_CHARS = 34
# Where a point's label may go, in order of preference: (dx, dy) in points from the point, and alignment.
LABEL_SPOTS = (
    (7, -3, "left", "top"),
    (7, 3, "left", "bottom"),
    (-7, -3, "right", "top"),
    (-7, 3, "right", "bottom"),
    (0, -9, "center", "top"),
    (0, 9, "center", "bottom"),
    (7, -14, "left", "top"),
    (-7, 14, "right", "bottom"),
    (7, 14, "left", "bottom"),
    (-7, -14, "right", "top"),
)


def router_colour(router: str, routers: list[str]) -> str:
    """A fixed colour per known router; others take the next spare colour in sorted order."""
    if router in ROUTER_COLOURS:
        return ROUTER_COLOURS[router]
    others = sorted(r for r in routers if r not in ROUTER_COLOURS)
    return OTHER_COLOURS[others.index(router) % len(OTHER_COLOURS)] if router in others else OTHER_COLOURS[0]


def frontier_svg(summary: RunSummary, *, width_in: float = 9.6, height_in: float = 5.2) -> str:
    """The frontier plot as a standalone SVG document (text kept as text: no embedded glyphs).

    Single tiers (labelled, with CI bars), each router's points on the frontier (or its own curve when
    the summary carries ``curves``), the zero-router hull, the oracle, the max-drop bar under the
    baseline and the chosen point. "SIMULATED" joins the title when the tiers were simulated.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    frontier = summary.frontier
    single = summary.single_tiers
    chosen = summary.chosen
    baseline = summary.baseline or Baseline()
    selection = summary.selection or Selection()
    confidence = selection.confidence or 0.95
    routers = sorted({p.router for p in frontier if p.router != "tier"} | set(summary.routers))

    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": "routeeval", "font.size": 9, "font.family": "DejaVu Sans"}
    ):
        figure = Figure(figsize=(width_in, height_in))
        # Fixed margins (constrained layout costs 0.1 s); the legend sits in the right-hand margin.
        figure.subplots_adjust(left=0.075, right=0.72, bottom=0.1, top=0.93)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        xs: list[float] = []

        hull = [(p.cost_per_1k_usd, p.accuracy) for p in summary.zero_router]
        if len(hull) >= 2:
            ax.plot(*zip(*hull, strict=True), ls="--", lw=1.2, color="#999999", zorder=1)

        curves = {router: [HullPoint.from_json(c) for c in curve] for router, curve in (summary.curves or {}).items()}
        for router in routers:
            colour = router_colour(router, routers)
            points = sorted((p for p in frontier if p.router == router and _finite(p)), key=lambda p: _xy(p)[0])
            curve = [c for c in curves.get(router, []) if _finite(c)]
            if curve:
                curve.sort(key=lambda c: _xy(c)[0])
                ax.plot(
                    [_xy(c)[0] for c in curve],
                    [_xy(c)[1] for c in curve],
                    color=colour,
                    lw=1.1,
                    alpha=0.75,
                    marker="o" if len(curve) == 1 else None,  # a fixed router (llm) is one point
                    ms=4,
                    zorder=2,
                )
                xs += [_xy(c)[0] for c in curve]
            if points:
                ax.plot(
                    [_xy(p)[0] for p in points],
                    [_xy(p)[1] for p in points],
                    marker="o",
                    ms=3.6,
                    ls="none",
                    color=colour,
                    zorder=3,
                )
                _error_points(ax, _spaced(points, CI_BARS_PER_ROUTER), colour, alpha=0.35, zorder=3)
                xs += [_xy(p)[0] for p in points]

        envelope = sorted((p for p in frontier if _finite(p)), key=lambda p: _xy(p)[0])
        if len(envelope) >= 2:
            ax.step(
                [_xy(p)[0] for p in envelope],
                [_xy(p)[1] for p in envelope],
                where="post",
                color="#555555",
                lw=0.7,
                alpha=0.6,
                zorder=2,
            )

        tiers = [t for t in single if _finite(t)]
        if tiers:
            _error_points(ax, tiers, TIER_COLOUR, marker="s", size=5.5, zorder=4)
            xs += [_xy(t)[0] for t in tiers]

        oracle = summary.oracle
        if _finite(oracle):
            ax.plot(
                *_xy(oracle),
                marker="*",
                ms=13,
                color="#d4a017",
                mec="#7a5c00",
                ls="none",
                zorder=5,
            )
            xs.append(_xy(oracle)[0])

        max_drop = selection.max_drop
        if baseline.accuracy is not None and max_drop is not None:
            ax.axhline(baseline.accuracy - max_drop, color="#2a7d2a", lw=0.9, ls=":", zorder=1)

        if _finite(chosen):
            _error_points(ax, [chosen], "#111111", lw=1.6, alpha=1.0, zorder=7)
            ax.plot(
                *_xy(chosen),
                marker="o",
                ms=15,
                mfc="none",
                mec="#111111",
                mew=2.0,
                ls="none",
                zorder=7,
            )

        if xs:
            ax.set_xlim(0, max(xs) * 1.06)
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + (high - low) * 0.04)

        labels: list[tuple[str, tuple[float, float], str]] = []  # (text, (x, y), weight): chosen, then tiers
        if _finite(chosen):
            labels.append(("chosen", _xy(chosen), "bold"))
        priced = len(tiers) <= MAX_PRICED_TIER_LABELS
        for t in sorted(tiers, key=lambda t: _xy(t)[0]):
            text = f"{t.tier}  ${t.cost_per_1k_usd:.3g}/1k" if priced else str(t.tier)
            labels.append((text, _xy(t), "bold"))
        markers = [_xy(t) for t in tiers]
        if _finite(oracle):
            markers.append(_xy(oracle))
        _place_labels(figure, ax, labels, markers)

        handles = [
            Line2D([], [], marker="s", color=TIER_COLOUR, ls="none", label="single tier"),
            *[
                Line2D(
                    [],
                    [],
                    marker="o",
                    color=router_colour(r, routers),
                    ls="-" if r in curves else "none",
                    label=(r + ("" if any(p.router == r for p in frontier) else " (no frontier point)")),
                )
                for r in routers
            ],
            Line2D([], [], color="#555555", lw=0.7, label="frontier (all routers)"),
            Line2D([], [], color="#999999", ls="--", label="zero router\n(mix tiers at random)"),
        ]
        if _finite(oracle):
            handles.append(
                Line2D([], [], marker="*", ms=10, color="#d4a017", ls="none", label="oracle\n(cheapest correct tier)")
            )
        if baseline.accuracy is not None and max_drop is not None:
            bar = f"{baseline.tier} − {max_drop * 100:g} pt (max drop)"
            handles.append(Line2D([], [], color="#2a7d2a", ls=":", label=_wrap(bar)))
        if _finite(chosen):
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    ms=9,
                    mfc="none",
                    mec="#111111",
                    mew=2,
                    ls="none",
                    label=_wrap(f"chosen: {chosen.label if chosen else ''}"),
                )
            )
        legend = ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            fontsize=8,
            frameon=False,
            labelspacing=0.7,
        )
        for legend_text in legend.get_texts():
            legend_text.set_parse_math(False)  # tier and router names are shown as written

        title = "Accuracy vs cost: the routing frontier"
        if summary.simulated:
            title = "SIMULATED tiers — " + title
        ax.set_title(
            title,
            loc="left",
            fontsize=11,
            fontweight="bold",
            color="#b00020" if summary.simulated else "#111111",
        )
        ax.set_xlabel("$ per 1,000 queries")
        ax.set_ylabel(f"accuracy ({confidence:.0%} CI)")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"${v:,.2f}" if v else "$0"))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.grid(True, color="#e5e5e5", lw=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return buffer.getvalue()


def inline_svg(svg: str) -> str:
    """The ``<svg>`` element of an SVG document, without the XML declaration and doctype (for inline HTML)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def _error_points(
    ax,
    points: list[Any],
    colour: str,
    *,
    marker: str = "none",
    size: float = 0.0,
    alpha: float = 0.9,
    lw: float = 0.8,
    zorder: int = 3,
) -> None:
    """Points with their accuracy CI as vertical bars (``marker="none"``: the bars only)."""
    if not points:
        return
    low, high = [], []
    for p in points:
        ci = getattr(p, "accuracy_ci", None) or [None, None]
        low.append(max(0.0, p.accuracy - ci[0]) if ci[0] is not None else 0.0)
        high.append(max(0.0, ci[1] - p.accuracy) if ci[1] is not None else 0.0)
    ax.errorbar(
        [_xy(p)[0] for p in points],
        [_xy(p)[1] for p in points],
        yerr=[low, high],
        fmt=marker,
        ms=size,
        color=colour,
        ecolor=colour,
        elinewidth=lw,
        capsize=1.5,
        alpha=alpha,
        zorder=zorder,
    )


def _place_labels(figure, ax, labels: list[tuple[str, tuple[float, float], str]], markers) -> None:
    """Annotate each point at the first spot where its text stays inside the axes and clear of the others.

    Greedy, in the given order; markers (tier squares, the oracle) are obstacles too. A label with no
    free spot takes its first choice.
    """
    renderer = figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    taken = []
    for x, y in markers:
        px, py = ax.transData.transform((x, y))
        taken.append((px - 5, py - 5, px + 5, py + 5))
    for text, xy, weight in labels:
        note = ax.annotate(
            text,
            xy,
            xytext=LABEL_SPOTS[0][:2],
            textcoords="offset points",
            fontsize=8.5,
            fontweight=weight,
            color=TIER_COLOUR,
            parse_math=False,
            zorder=8,
        )
        for dx, dy, ha, va in (*LABEL_SPOTS, LABEL_SPOTS[0]):
            note.set_position((dx, dy))
            note.set_ha(ha)
            note.set_va(va)
            box = note.get_window_extent(renderer)
            bounds = (box.x0 - 1, box.y0 - 1, box.x1 + 1, box.y1 + 1)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(_overlap(bounds, other) for other in taken):
                break
        taken.append(bounds)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _wrap(text: str) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, LEGEND_WIDTH_CHARS, break_long_words=False, break_on_hyphens=False)) or text


def _spaced(points: list[Any], n: int) -> list[Any]:
    """At most ``n`` points spread evenly along the list (CI bars on every point of a dense curve are noise)."""
    if len(points) <= n:
        return points
    step = (len(points) - 1) / (n - 1)
    return [points[round(i * step)] for i in range(n)]


def _xy(point: Any) -> tuple[float, float]:
    """(cost, accuracy) of a point :func:`_finite` accepted."""
    return float(point.cost_per_1k_usd), float(point.accuracy)


def _finite(point: Any) -> bool:
    """A point (a frontier point, a tier, the oracle, a curve's corner) with both coordinates known."""
    return point is not None and point.cost_per_1k_usd is not None and point.accuracy is not None
