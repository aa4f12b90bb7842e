"""The cost-accuracy frontier and the areas that score it: Pareto points, the zero router's hull, AIQ, APGR, CPT.

Everything here reads (cost, accuracy) pairs, whatever produced them: :func:`pareto_frontier` takes any points with
``cost_per_1k_usd`` and ``accuracy`` (a sweep's :class:`routeeval.sweep.OperatingPoint`), the areas take arrays.
RouterBench's AIQ and zero router (Hu et al., 2024) and RouteLLM's APGR and CPT (Ong et al., 2024) are written
from the papers and checked against their code (see ``bench/bench_quality.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import ArrayLike


class CostAccuracy(Protocol):
    """A point on the cost-accuracy plane (USD per 1,000 queries; accuracy 0-1)."""

    @property
    def cost_per_1k_usd(self) -> float: ...

    @property
    def accuracy(self) -> float: ...


PointT = TypeVar("PointT", bound=CostAccuracy)


def pareto_frontier(points: Iterable[PointT]) -> list[PointT]:
    """The non-dominated points (no other point is as cheap and at least as accurate), sorted by cost.

    Of several points with the same cost and accuracy the first given is kept. NaN points are dropped.
    """
    finite = [p for p in points if math.isfinite(p.accuracy) and math.isfinite(p.cost_per_1k_usd)]
    if not finite:
        return []
    cost = np.array([p.cost_per_1k_usd for p in finite])
    accuracy = np.array([p.accuracy for p in finite])
    order = np.lexsort((np.arange(len(finite)), -accuracy, cost))
    best_before = np.maximum.accumulate(np.r_[-np.inf, accuracy[order][:-1]])
    return [finite[i] for i in order[accuracy[order] > best_before]]


def zero_router_hull(single: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """RouterBench's zero router: the vertices of the non-decreasing convex hull of single tiers' (cost, accuracy).

    Any point on a segment is reached by randomly mixing its two end tiers; beyond the most accurate tier the
    curve stays flat.
    """
    pairs = [(float(cost), float(accuracy)) for cost, accuracy in single]
    x, y = _nondecreasing_hull([p[0] for p in pairs], [p[1] for p in pairs])
    return list(zip(x.tolist(), y.tolist(), strict=True))


def aiq(costs: ArrayLike, accuracies: ArrayLike, cost_range: tuple[float, float] | None = None) -> float:
    """RouterBench's AIQ: area under the non-decreasing convex hull of (cost, accuracy), over the cost range.

    The hull is extended flat to the right end of the range and counts as 0 left of its cheapest point (the
    router cannot operate there). ``cost_range`` defaults to the points' own (min, max) cost; pass a shared
    range to compare routers (RouterBench's own script uses ``(0, largest cost of all routers)``). An empty
    range gives the hull's value at that cost.
    """
    x, y = _nondecreasing_hull(costs, accuracies)
    if x.size == 0:
        return math.nan
    low, high = (float(x[0]), float(x[-1])) if cost_range is None else map(float, cost_range)
    if high <= low:
        return float(np.interp(high, x, y)) if high >= x[0] else 0.0
    start = max(low, float(x[0]))
    if high <= start:
        return 0.0
    grid = np.concatenate(([start], x[(x > start) & (x < high)], [high]))
    return float(_trapezoid(np.interp(grid, x, y), grid) / (high - low))


def apgr(
    strong_share: ArrayLike, accuracy: ArrayLike, weak_accuracy: float, strong_accuracy: float, grid: str = "quantile11"
) -> float:
    """RouteLLM's average performance gap recovered: PGR integrated over the strong-call share (trapezoid).

    ``PGR = (accuracy - weak_accuracy) / (strong_accuracy - weak_accuracy)``. Like RouteLLM, the area is divided
    by the span of shares covered (0..1 for a full sweep), so it is the mean PGR over that span.

    ``grid="quantile11"`` approximates RouteLLM's 11 operating points from a sweep: for each share 0, 0.1, ...,
    1 the point with the smallest share at or above it (the largest if none) is taken. RouteLLM instead cuts
    at the router score's decile edges (``pd.qcut``), whose shares are ``1 - ceil(k (n - 1) / 10) / n`` for
    ``n`` rows with distinct scores rather than ``1 - k / 10``; the two grids agree when those coincide (for
    example 1,000 rows) and otherwise differ by a few thousandths of APGR at tens of rows (MT-Bench's 72).
    Use :func:`routellm_apgr_cpt` for RouteLLM's own numbers. ``grid="fine"`` uses every point given.
    """
    x, pgr = _pgr_curve(strong_share, accuracy, weak_accuracy, strong_accuracy)
    if x.size == 0:
        return math.nan
    if grid == "quantile11":
        targets = np.linspace(0.0, 1.0, 11) - 1e-9  # linspace gives 0.7000000000000001; 700/1000 rows is 0.7
        picks = np.minimum(np.searchsorted(x, targets, side="left"), x.size - 1)
        x, pgr = x[np.unique(picks)], pgr[np.unique(picks)]
    elif grid != "fine":
        raise ValueError(f"unknown APGR grid {grid!r}; choose from: fine, quantile11")
    span = x[-1] - x[0]
    return float(_trapezoid(pgr, x) / span) if span > 0 else float(pgr.mean())


def cpt(cost: ArrayLike, accuracy: ArrayLike, weak_accuracy: float, strong_accuracy: float, target: float) -> float:
    """RouteLLM's call-performance threshold: the least cost whose PGR reaches ``target`` (0.5 for CPT(50%)).

    ``cost`` is any cost axis (the share of strong calls, or dollars per 1k queries); the answer is in its
    unit. Points are ordered by cost and the curve interpolated linearly between the last point below the
    target and the first at or above it. NaN when no point reaches it.
    """
    x, pgr = _pgr_curve(cost, accuracy, weak_accuracy, strong_accuracy)
    reached = np.flatnonzero(pgr >= target)
    if reached.size == 0:
        return math.nan
    j = reached[0]
    if j == 0:
        return float(x[0])
    fraction = (target - pgr[j - 1]) / (pgr[j] - pgr[j - 1])
    return float(x[j - 1] + fraction * (x[j] - x[j - 1]))


def routellm_apgr_cpt(
    route_score: ArrayLike,
    weak_score: ArrayLike,
    strong_score: ArrayLike,
    targets: Sequence[float] = (0.5, 0.8),
    n_bins: int = 10,
) -> tuple[float, list[float]]:
    """APGR and CPTs by RouteLLM's own recipe (``routellm/evals/benchmarks.py`` and ``evaluate.py``).

    ``route_score`` is the router's score per row, higher meaning the strong model sooner (RouteLLM's strong
    win rate); ``weak_score`` and ``strong_score`` are each model's score per row. The cut-offs are the route
    score's ``n_bins + 1`` quantile edges (``np.quantile``, linear, as ``pd.qcut(..., retbins=True)``); a row
    goes to the strong model when its score is at or above a cut-off (above, for the last). The points
    (strong-call share, accuracy) are sorted by share; APGR is their trapezoid area less the weak model's
    over the strong model's less the weak model's; the CPT of each target ``t`` is
    ``np.interp(weak + t * (strong - weak), accuracies, shares)``. Returns ``(apgr, [cpt per target])``,
    shares as fractions (RouteLLM prints percentages).

    Unlike :func:`apgr` and :func:`cpt`, which read a sweep, this takes the scores themselves, because
    RouteLLM's points depend on the score's quantiles. Like RouteLLM, ``np.interp`` assumes the accuracies
    rise with the share and is not checked, and a target beyond every point's accuracy gives the last share
    rather than NaN. One departure: ``pd.qcut`` raises on tied edges (few distinct scores); here a tied edge
    repeats a point, which adds no area.
    """
    score, weak, strong = (np.asarray(v, dtype=float).reshape(-1) for v in (route_score, weak_score, strong_score))
    if not score.size == weak.size == strong.size:
        raise ValueError(
            f"route, weak and strong scores must have the same length; got {score.size}, {weak.size}, {strong.size}"
        )
    if score.size == 0 or not (np.isfinite(score).all() and np.isfinite(weak).all() and np.isfinite(strong).all()):
        raise ValueError("route, weak and strong scores must be non-empty and finite (RouteLLM scores every row)")
    weak_accuracy, strong_accuracy = float(weak.mean()), float(strong.mean())
    if strong_accuracy == weak_accuracy:
        raise ValueError("PGR is undefined when the strong and weak accuracies are equal")
    cutoffs = np.quantile(score, np.linspace(0.0, 1.0, n_bins + 1))
    to_strong = score[None, :] >= cutoffs[:, None]
    to_strong[-1] = score > cutoffs[-1]
    share = to_strong.mean(axis=1)
    accuracy = np.where(to_strong, strong, weak).mean(axis=1)
    order = np.argsort(share, kind="stable")
    share, accuracy = share[order], accuracy[order]
    span = share[-1] - share[0]
    area = _trapezoid(accuracy, share)
    apgr_value = (area - weak_accuracy * span) / ((strong_accuracy - weak_accuracy) * span)
    gap = strong_accuracy - weak_accuracy
    cpts = [float(np.interp(weak_accuracy + t * gap, accuracy, share)) for t in targets]
    return float(apgr_value), cpts


def _nondecreasing_hull(costs: ArrayLike, accuracies: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the upper convex hull from the cheapest point to the (cheapest) most accurate one."""
    x = np.asarray(costs, dtype=float).reshape(-1)
    y = np.asarray(accuracies, dtype=float).reshape(-1)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        return x, y
    order = np.lexsort((-y, x))
    x, y = x[order], y[order]
    first = np.r_[True, x[1:] != x[:-1]]  # the best accuracy at each cost
    x, y = x[first], y[first]
    top = int(np.argmax(y)) + 1
    hull: list[tuple[float, float]] = []
    for point in zip(x[:top].tolist(), y[:top].tolist(), strict=True):
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], point) >= 0:
            hull.pop()
        hull.append(point)
    return np.array([p[0] for p in hull]), np.array([p[1] for p in hull])


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """> 0 when a lies below the segment o-b (a is not on the upper hull)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _pgr_curve(
    cost: ArrayLike, accuracy: ArrayLike, weak_accuracy: float, strong_accuracy: float
) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(cost, dtype=float).reshape(-1)
    y = np.asarray(accuracy, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"cost and accuracy must have the same length; got {x.size} and {y.size}")
    if strong_accuracy == weak_accuracy:
        raise ValueError("PGR is undefined when the strong and weak accuracies are equal")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    order = np.lexsort((y, x))
    return x[order], (y[order] - weak_accuracy) / (strong_accuracy - weak_accuracy)


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
