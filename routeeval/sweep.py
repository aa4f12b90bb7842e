"""Sweep router knobs, keep the Pareto frontier, score it (AIQ, APGR, CPT) and pick a policy with confidence.

Vocabulary
----------
A :class:`Candidate` is one router variant's out-of-fold view of every row: for each row and each *option*
(a tier, or a cascade's stop point; cheapest first) the score, cost and latency the row gets if it ends
there. A *rule* turns one knob value into one option per row:

* ``threshold`` -- the row ends at the first option ``k`` with ``accept[row, k] >= knob``, else at the last;
* ``utility`` -- the row ends at ``argmax_k(utility_prob[row, k] - knob * option_cost[k])`` (ties: cheapest);
* ``fixed`` -- no knob; the row ends at ``fixed[row]`` (static rules, the llm router, a single tier).

An :class:`OperatingPoint` is a candidate's aggregate at one knob value. Sweeps never loop over knob values:
each rule is written as "row moves past option k when its breakpoint is below the knob", so sorting the
breakpoints and taking cumulative sums of the per-row changes gives every knob value at once, for N options.

Failed calls are errors, not wrong answers: a NaN score is left out of accuracy (accuracy is the mean score
over rows whose chosen option has a score) and a NaN cost is left out of the cost average.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from routeeval.stats import (
    mean_ci,
    paired_drop_pvalue,
    paired_drop_upper,
    quantiles,
    rows_to_certify,
    wilson_interval,
)

THRESHOLD = "threshold"
UTILITY = "utility"
FIXED = "fixed"
RULES = (THRESHOLD, UTILITY, FIXED)

# Working-set budget (array elements) for the chunked parts: the utility fallback and row-mode bootstrap.
_CHUNK_ELEMENTS = 1 << 22
# complete_points sorts a candidate's latencies once when it has this many points; fewer are done one by one.
_MIN_BATCH_POINTS = 8
_FLOAT_MAX = float(np.finfo(float).max)


@dataclass(eq=False)
class Candidate:
    """One router variant's out-of-fold view of every row (``n`` rows, ``K`` options, ``T`` tiers).

    Exactly one of ``accept`` (threshold rule), ``utility_prob`` (utility rule) or ``fixed`` (no knob) is set.

    Attributes:
        router: router kind ("classifier", "knn", "cascade", "static", "llm", "random", "tier", ...).
        variant: which variant of it ("threshold", "utility", "small>large", a tier name, ...).
        options: the K options, cheapest first (tier names, or a cascade's stop points).
        score: n x K, the row's score (0-1) if it ends at option k; NaN marks a failed call.
        cost: n x K, USD if it ends at option k (a cascade's is cumulative; an llm router's own call included).
        latency: n x K, milliseconds if it ends at option k.
        tier_calls: K x T, calls to each tier that ending at option k implies (a cascade calls several).
            Default: the identity, when the options are the tiers.
        accept: n x K, threshold rule scores (the last column is never read). NaN never accepts (above -inf).
        utility_prob: n x K, utility rule probabilities (e.g. P(option k answers correctly)). NaN is never chosen.
        option_cost: K, the expected USD per option used by the utility rule. Default: mean of ``cost[:, k]``.
        fixed: n ints, the option each row ends at, for a router with no knob.
        tiers: the T tier names of ``tier_calls`` columns. Default: ``options``.

    A candidate keeps what its sweep computed (knob boundaries, the rows' positions among the swept knobs) for
    the selection and the frontier to reuse: treat its arrays as read-only once it has been swept.
    """

    router: str
    variant: str
    options: list[str]
    score: np.ndarray
    cost: np.ndarray
    latency: np.ndarray
    tier_calls: np.ndarray | None = None
    accept: np.ndarray | None = None
    utility_prob: np.ndarray | None = None
    option_cost: np.ndarray | None = None
    fixed: np.ndarray | None = None
    tiers: list[str] | None = None
    _boundaries: np.ndarray | None = field(default=None, init=False, repr=False)
    _grid: _KnobGrid | None = field(default=None, init=False, repr=False)
    _binary: bool | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.options = list(self.options)
        self.score = _matrix(self.score, "score", None, len(self.options))
        n_rows, n_options = self.score.shape
        self.cost = _matrix(self.cost, "cost", n_rows, n_options)
        self.latency = _matrix(self.latency, "latency", n_rows, n_options)
        if self.tier_calls is None:
            self.tier_calls = np.eye(n_options)
        self.tier_calls = np.asarray(self.tier_calls, dtype=float)
        if self.tier_calls.ndim != 2 or self.tier_calls.shape[0] != n_options:
            raise ValueError(f"tier_calls must be K x T with K={n_options}; got shape {self.tier_calls.shape}")
        self.tiers = list(self.options if self.tiers is None else self.tiers)
        if len(self.tiers) != self.tier_calls.shape[1]:
            raise ValueError(f"tiers names {len(self.tiers)} tiers but tier_calls has {self.tier_calls.shape[1]}")
        given = [name for name in ("accept", "utility_prob", "fixed") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"candidate {self.router}/{self.variant} needs exactly one of accept, utility_prob, fixed; got {given}"
            )
        if self.accept is not None:
            self.accept = _matrix(self.accept, "accept", n_rows, n_options)
        if self.utility_prob is not None:
            self.utility_prob = _matrix(self.utility_prob, "utility_prob", n_rows, n_options)
            if self.option_cost is None:
                self.option_cost = _column_means(self.cost)
            self.option_cost = np.asarray(self.option_cost, dtype=float).reshape(-1)
            if self.option_cost.shape != (n_options,) or not np.isfinite(self.option_cost).all():
                raise ValueError(f"option_cost must be {n_options} finite numbers; got {self.option_cost}")
        if self.fixed is not None:
            self.fixed = np.asarray(self.fixed).astype(np.intp, copy=False).reshape(-1)
            if self.fixed.shape != (n_rows,) or (
                self.fixed.size and not 0 <= self.fixed.min() <= self.fixed.max() < n_options
            ):
                raise ValueError(f"fixed must be {n_rows} option indexes in 0..{n_options - 1}")

    @property
    def rule(self) -> str:
        """ "threshold", "utility" or "fixed"."""
        if self.accept is not None:
            return THRESHOLD
        return UTILITY if self.utility_prob is not None else FIXED

    @property
    def n_rows(self) -> int:
        return self.score.shape[0]


@dataclass(eq=False)
class OperatingPoint:
    """A candidate's aggregate at one knob value.

    ``tier_share`` maps each tier to its calls per query (0-1; sums to 1 for one-call routers, to more for a
    cascade). ``decisions`` (n option indexes), ``accuracy_ci`` and the latency percentiles are filled only for
    the points that need them (:func:`complete_point`); sweeps leave them None to stay light.
    """

    router: str
    variant: str
    knob: float | None
    accuracy: float
    cost_per_1k_usd: float
    tier_share: dict[str, float]
    decisions: np.ndarray | None = None
    rule: str = FIXED
    n_scored: int = 0
    accuracy_ci: tuple[float, float] | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


# ----------------------------------------------------------------------------------------------- sweeps


def sweep_threshold(candidate: Candidate, max_points: int | None = 200) -> list[OperatingPoint]:
    """Every operating point of the threshold rule, exactly, without a loop over thresholds.

    A row ends at the first option whose running maximum of ``accept`` reaches the knob, so it has moved past
    option ``k`` exactly when ``runmax[row, k] < knob``. The knob values evaluated are the distinct breakpoints
    (``runmax`` values; the smallest keeps every row with an accept score on option 0) plus ``+inf`` (every row
    on the last option).
    When there are more than ``max_points`` of them, ``max_points - 1`` breakpoints spaced by quantile of all
    breakpoints are used instead (each still evaluated exactly); ``max_points=None`` keeps them all.
    """
    _require_rule(candidate, THRESHOLD)
    boundaries = _boundaries_of(candidate)
    # Every column the same (a static router without rules): the sorted values of all of them are each value
    # of one column repeated, so one column is sorted and read at position // copies.
    copies = boundaries.shape[1] if _identical_columns(boundaries) else 1
    values = np.sort(boundaries[:, 0] if copies > 1 else boundaries.ravel(order="F"))
    values = values[values > -np.inf]  # -inf comes from NaN accepts: such a row escalates at every threshold
    distinct = values[np.r_[True, values[1:] != values[:-1]]] if values.size else values
    if max_points is None or distinct.size < max_points:
        knobs = distinct
    else:
        positions = np.linspace(0, values.size * copies - 1, max(max_points - 1, 1)).round().astype(np.intp)
        knobs = np.unique(values[positions // copies])
    knobs = np.unique(np.append(knobs, np.inf))
    totals = _totals_at(candidate, boundaries, knobs, keep_grid=True)
    return _points(candidate, THRESHOLD, knobs, totals)


def sweep_utility(candidate: Candidate, lambdas: Sequence[float] | np.ndarray | None = None) -> list[OperatingPoint]:
    """Operating points of the utility rule ``argmax_k(prob - lambda * option_cost_k)`` at each ``lambda``.

    ``lambda`` is accuracy per USD (per query). With option costs strictly increasing (the usual case) each row
    has exact breakpoints: it ends at option ``>= k`` exactly when ``lambda < beta_k``, with
    ``beta_k = max_{j >= k} min_{i < k} (p_j - p_i) / (c_j - c_i)``; sorting those gives every ``lambda`` at once.
    Otherwise the decisions are computed by broadcasting over ``lambda`` in chunks.

    The default grid is 0 plus 99 log-spaced values from the 1st percentile of the positive breakpoints to just
    past the largest, where every row has moved to the cheapest option.
    """
    _require_rule(candidate, UTILITY)
    prob = _never_nan(candidate.utility_prob)
    option_cost = candidate.option_cost
    lambdas = _default_lambdas(prob, option_cost) if lambdas is None else np.asarray(lambdas, dtype=float).reshape(-1)
    lambdas = np.unique(lambdas)
    boundaries = _boundaries_of(candidate)
    if boundaries is not None:
        totals = _totals_at(candidate, boundaries, -lambdas, keep_grid=True)
    else:
        totals = _totals_from_decision_chunks(candidate, _utility_decision_chunks(prob, option_cost, lambdas))
    return _points(candidate, UTILITY, lambdas, totals)


def evaluate_fixed(candidate: Candidate) -> OperatingPoint:
    """The single operating point of a router with no knob (its decisions are kept)."""
    _require_rule(candidate, FIXED)
    decisions = candidate.fixed
    totals = _totals_from_decision_chunks(candidate, [(slice(None), decisions[:, None])])
    (point,) = _points(candidate, FIXED, np.array([np.nan]), totals)
    point.knob = None
    point.decisions = decisions.copy()
    return point


def sweep_candidate(
    candidate: Candidate, *, max_points: int | None = 200, lambdas: Sequence[float] | None = None
) -> list[OperatingPoint]:
    """The operating points of any candidate, whichever its rule."""
    if candidate.rule == THRESHOLD:
        return sweep_threshold(candidate, max_points)
    if candidate.rule == UTILITY:
        return sweep_utility(candidate, lambdas)
    return [evaluate_fixed(candidate)]


def decisions_at(candidate: Candidate, knob: float | None, rule: str | None = None) -> np.ndarray:
    """The option index each row ends at for one knob value (n ints), recomputed from the candidate."""
    rule = rule or candidate.rule
    _require_rule(candidate, rule)
    if rule == FIXED:
        return candidate.fixed.copy()
    if knob is None:
        raise ValueError(f"the {rule} rule needs a knob value")
    if rule == THRESHOLD:
        boundaries = _boundaries_of(candidate)
        decisions = np.zeros(candidate.n_rows, dtype=np.intp)
        for k in range(boundaries.shape[1]):
            decisions += boundaries[:, k] < knob
        return decisions
    values = _never_nan(candidate.utility_prob) - knob * candidate.option_cost
    return np.argmax(values, axis=1).astype(np.intp)


def point_rows(candidate: Candidate, decisions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row (score, cost_usd, latency_ms) at the given decisions, for confidence intervals and percentiles."""
    score, cost, latency = _chosen(decisions, candidate.score, candidate.cost, candidate.latency)
    return score, cost, latency


def _chosen(decisions: np.ndarray, *matrices: np.ndarray) -> list[np.ndarray]:
    """``matrix[row, decisions[row]]`` for every row of each n x K matrix: one flat gather, not a 2-D fancy index."""
    decisions = np.asarray(decisions, dtype=np.intp)
    n_rows = decisions.size
    out, cells = [], {}
    for matrix in matrices:
        if not matrix.flags.c_contiguous:  # a placeholder (a broadcast NaN) or a view
            out.append(matrix[np.arange(n_rows), decisions])
            continue
        width = matrix.shape[1]
        if width not in cells:
            cells[width] = np.arange(0, n_rows * width, width) + decisions if width else decisions
        out.append(matrix.ravel()[cells[width]])
    return out


def complete_point(candidate: Candidate, point: OperatingPoint, confidence: float = 0.95) -> OperatingPoint:
    """A copy of ``point`` with its decisions, accuracy CI (see ``stats.mean_ci``) and p50/p95 latency."""
    decisions = point.decisions if point.decisions is not None else decisions_at(candidate, point.knob, point.rule)
    score, latency = _chosen(decisions, candidate.score, candidate.latency)
    _, low, high = mean_ci(score, confidence)
    p50, p95 = quantiles(latency, (0.5, 0.95))
    return replace(point, decisions=decisions, accuracy_ci=(low, high), latency_p50_ms=p50, latency_p95_ms=p95)


def complete_points(
    candidate: Candidate, points: Sequence[OperatingPoint], confidence: float = 0.95
) -> list[OperatingPoint]:
    """:func:`complete_point` for many points of one candidate, without keeping their decisions.

    The same numbers, faster for many threshold-rule points on many rows: binary scores give each
    accuracy CI from the sweep's own counts, and the latency percentiles of every point come from one sort
    of the candidate's latencies (:func:`_knob_quantiles`) instead of a selection per point.
    """
    points = list(points)
    sweep_points = all(p.knob is not None and p.decisions is None for p in points)
    if candidate.rule != THRESHOLD or len(points) < _MIN_BATCH_POINTS or not sweep_points:
        return [replace(complete_point(candidate, point, confidence), decisions=None) for point in points]
    boundaries = _boundaries_of(candidate)  # decisions_at's own comparisons, so the same rows
    knobs = np.array([point.knob for point in points], dtype=float)
    binary = _binary_scores(candidate)
    p50, p95 = _knob_quantiles(candidate, candidate.latency, boundaries, knobs, (0.5, 0.95))
    completed = []
    for index, point in enumerate(points):
        if binary:
            _, low, high = wilson_interval(point.accuracy, point.n_scored, confidence)
        else:
            (score,) = _chosen(decisions_at(candidate, point.knob, point.rule), candidate.score)
            _, low, high = mean_ci(score, confidence)
        completed.append(
            replace(
                point,
                decisions=None,
                accuracy_ci=(low, high),
                latency_p50_ms=float(p50[index]),
                latency_p95_ms=float(p95[index]),
            )
        )
    return completed


def single_tier_candidates(tiers: Sequence[str], score, cost, latency) -> list[Candidate]:
    """One fixed candidate per tier (router "tier", variant = the tier's name) from n x T matrices."""
    score = np.asarray(score, dtype=float)
    return [
        Candidate("tier", tier, list(tiers), score, cost, latency, fixed=np.full(score.shape[0], index))
        for index, tier in enumerate(tiers)
    ]


# ------------------------------------------------------------------------------------------- frontier


def pareto_frontier(points: Iterable[OperatingPoint]) -> list[OperatingPoint]:
    """The non-dominated points (no other point is as cheap and at least as accurate), sorted by cost.

    Of several points with the same cost and accuracy the first given is kept. NaN points are dropped.
    """
    points = [p for p in points if math.isfinite(p.accuracy) and math.isfinite(p.cost_per_1k_usd)]
    if not points:
        return []
    cost = np.array([p.cost_per_1k_usd for p in points])
    accuracy = np.array([p.accuracy for p in points])
    order = np.lexsort((np.arange(len(points)), -accuracy, cost))
    best_before = np.maximum.accumulate(np.r_[-np.inf, accuracy[order][:-1]])
    return [points[i] for i in order[accuracy[order] > best_before]]


def zero_router_hull(single: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """RouterBench's zero router: the vertices of the non-decreasing convex hull of single tiers' (cost, accuracy).

    Any point on a segment is reached by randomly mixing its two end tiers; beyond the most accurate tier the
    curve stays flat.
    """
    pairs = [(float(cost), float(accuracy)) for cost, accuracy in single]
    x, y = _nondecreasing_hull([p[0] for p in pairs], [p[1] for p in pairs])
    return list(zip(x.tolist(), y.tolist(), strict=True))


def aiq(costs, accuracies, cost_range: tuple[float, float] | None = None) -> float:
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


def apgr(strong_share, accuracy, weak_accuracy: float, strong_accuracy: float, grid: str = "quantile11") -> float:
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


def cpt(cost, accuracy, weak_accuracy: float, strong_accuracy: float, target: float) -> float:
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
    route_score, weak_score, strong_score, targets: Sequence[float] = (0.5, 0.8), n_bins: int = 10
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


# ------------------------------------------------------------------------------------------ bootstrap


def paired_bootstrap(
    score,
    baseline_score,
    cost,
    *,
    baseline_cost=None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    max_blocks: int = 5000,
) -> dict:
    """Paired percentile bootstrap of a routed policy against the baseline, on the same rows.

    Each resample draws rows with replacement; with more than ``max_blocks`` rows, the rows are first split
    into ``max_blocks`` random blocks (seeded) and whole blocks are drawn, which keeps 1M rows fast and gives
    the same intervals for independent rows. Ratios are taken per resample, so NaN rows drop out pairwise.

    Returns a dict; each ``(estimate, low, high)`` is the full-sample estimate and a **two-sided** interval at
    ``confidence`` (quantiles (1 - c)/2 and (1 + c)/2 of the resamples):

    * ``accuracy`` -- mean score over rows with a score; ``baseline_accuracy`` likewise for the baseline;
    * ``accuracy_drop`` -- baseline minus policy accuracy over rows where both have a score (positive = worse);
    * ``accuracy_drop_upper`` -- the **one-sided** upper bound of the drop at ``confidence`` (the
      ``confidence`` quantile): the drop is below it with that confidence. Selection compares this to max_drop;
    * ``cost_per_1k_usd`` -- USD per 1,000 queries over rows with a known cost;
    * ``savings_share`` (when ``baseline_cost`` is given) -- ``1 - policy cost / baseline cost`` over rows
      where both costs are known;
    * ``n_rows``, ``n_paired``, ``n_resamples``, ``confidence``, ``mode`` ("rows" or "blocks").
    """
    score = np.asarray(score, dtype=float)
    resampler = _Resampler(score.size, n_resamples=n_resamples, seed=seed, max_blocks=max_blocks)
    return _bootstrap(resampler, score, baseline_score, cost, baseline_cost, confidence)


# ------------------------------------------------------------------------------------------ selection


@dataclass(eq=False)
class Selection:
    """The chosen operating point and why.

    ``rule`` states the selection rule in words (for provenance); ``reason`` says what happened, plainly,
    including when nothing qualified and the baseline was chosen (``qualified`` False). ``bootstrap`` is the
    :func:`paired_bootstrap` result of the chosen point against the baseline; ``checked`` lists the points
    examined with their drop bounds. ``families`` and ``level``: how many router variants were tested and the
    one-sided level of each test (0 and NaN under a budget).
    """

    point: OperatingPoint
    baseline: OperatingPoint
    qualified: bool
    rule: str
    reason: str
    bootstrap: dict
    checked: list[dict] = field(default_factory=list)
    families: int = 0
    level: float = math.nan


def select_policy(
    frontier: Sequence[OperatingPoint],
    candidates: Iterable[Candidate],
    baseline: Candidate,
    *,
    points: Sequence[OperatingPoint] | None = None,
    max_drop: float = 0.01,
    confidence: float = 0.95,
    budget_per_1k_usd: float | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    max_blocks: int = 5000,
) -> Selection:
    """Pick the operating point to ship.

    Without a budget, every swept point (``points``; the frontier when not given) that costs no more than the
    baseline is a hypothesis "its accuracy drop versus the baseline exceeds ``max_drop``", and the selection
    controls the chance that *any* point it passes truly loses more than ``max_drop`` at ``1 - confidence``
    (family-wise), not point by point: scanning hundreds of thresholds and keeping the cheapest that happens to
    pass would otherwise pick lucky points far more often than promised. This is Learn-then-Test
    (Angelopoulos et al., 2021) with fixed-sequence testing:

    * each router variant (a *family*: one candidate's points; the single tiers other than the baseline form
      one family too) is walked from the baseline down, dearest point first; each point is tested with the
      one-sided paired score test of :func:`stats.paired_drop_pvalue` at level ``(1 - confidence) / F``
      (Bonferroni over the ``F`` families), and the walk stops at the first point that fails: the points
      before it pass;
    * the cheapest passing point is chosen (ties: the more accurate).

    Its ``accuracy_drop_upper`` is the matching upper bound (:func:`stats.paired_drop_upper` at the same
    level), so it is <= ``max_drop`` exactly when the point passed. With ``max_drop`` 0 a point passes only
    when it is significantly *better* than the baseline.

    With ``budget_per_1k_usd``: the most accurate frontier point costing at most the budget. When nothing
    qualifies, the baseline is chosen and ``reason`` says so. ``candidates`` must hold the candidate behind every
    point (matched on router and variant); ``baseline`` is a fixed candidate, usually the most accurate single
    tier. ``bootstrap`` is the paired bootstrap of the chosen point (its two-sided CIs are what reports show).
    """
    _require_rule(baseline, FIXED)
    by_key = {(c.router, c.variant): c for c in candidates}
    by_key.setdefault((baseline.router, baseline.variant), baseline)
    baseline_point = complete_point(baseline, evaluate_fixed(baseline), confidence)
    baseline_score, baseline_cost = _chosen(baseline.fixed, baseline.score, baseline.cost)
    resampler = _Resampler(baseline.n_rows, n_resamples=n_resamples, seed=seed, max_blocks=max_blocks)
    name = _label(baseline_point)
    alpha = 1 - confidence

    def measure(point: OperatingPoint) -> tuple[OperatingPoint, dict]:
        candidate = _candidate_for(by_key, point, baseline.n_rows)
        point = complete_point(candidate, point, confidence)
        score, cost = _chosen(point.decisions, candidate.score, candidate.cost)
        return point, _bootstrap(resampler, score, baseline_score, cost, baseline_cost, confidence)

    def fall_back(rule: str, reason: str, checked: list[dict], families: int = 0, level: float = math.nan):
        boot = _bootstrap(resampler, baseline_score, baseline_score, baseline_cost, baseline_cost, confidence)
        return Selection(baseline_point, baseline_point, False, rule, reason, boot, checked, families, level)

    if budget_per_1k_usd is not None:
        ordered = sorted(frontier, key=lambda p: (p.cost_per_1k_usd, -p.accuracy))
        rule = f"most accurate frontier point with cost <= ${budget_per_1k_usd:g} per 1k queries"
        affordable = [p for p in ordered if p.cost_per_1k_usd <= budget_per_1k_usd]
        if not affordable:
            cheapest = f"${ordered[0].cost_per_1k_usd:.4g}" if ordered else "none"
            reason = (
                f"no frontier point costs <= ${budget_per_1k_usd:g} per 1k queries (cheapest: {cheapest}); "
                f"chose the baseline {name}"
            )
            return fall_back(rule, reason, [])
        best = max(affordable, key=lambda p: (p.accuracy, -p.cost_per_1k_usd))
        point, boot = measure(best)
        positive, negative, paired = _drop_sums([point], by_key, baseline_score)
        upper = float(paired_drop_upper(positive, negative, paired, alpha)[0])
        boot = {**boot, "accuracy_drop_upper": upper}
        reason = (
            f"{_label(point)} is the most accurate point within budget: accuracy {point.accuracy:.4f}, "
            f"${point.cost_per_1k_usd:.4g} per 1k queries"
        )
        checked = [_checked(point, boot["accuracy_drop"][0], upper, math.nan, True, True)]
        return Selection(point, baseline_point, True, rule, reason, boot, checked)

    baseline_key = (baseline.router, baseline.variant)
    pool = frontier if points is None else points
    affordable = [
        p for p in pool if p.cost_per_1k_usd <= baseline_point.cost_per_1k_usd and (p.router, p.variant) != baseline_key
    ]
    families: dict[tuple[str, str], list[int]] = {}
    dearest_first = sorted(range(len(affordable)), key=lambda i: _dearer_first(affordable[i]))
    for index in dearest_first:
        point = affordable[index]
        families.setdefault((point.router, "" if point.router == "tier" else point.variant), []).append(index)
    level = alpha / max(len(families), 1)
    rule = (
        f"cheapest point whose accuracy drop vs the baseline {name} is <= {max_drop:g} with {confidence:.0%} "
        f"family-wise confidence: each of {len(families)} router variants walked from the baseline down and "
        f"stopped at its first failure (fixed-sequence Learn-then-Test), one-sided paired score test at level "
        f"{level:.3g} each (Bonferroni)"
    )
    positive, negative, paired = _drop_sums(affordable, by_key, baseline_score)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = (positive - negative) / paired
    p_value = paired_drop_pvalue(positive, negative, paired, max_drop)
    upper = paired_drop_upper(positive, negative, paired, level)
    checked: list[dict] = []
    passed: list[int] = []
    for indexes in families.values():
        walking = True
        for index in indexes:
            qualifies = walking and bool(p_value[index] <= level)
            checked.append(_checked(affordable[index], drop[index], upper[index], p_value[index], walking, qualifies))
            if qualifies:
                passed.append(index)
            walking = qualifies
    if passed:
        best = min(passed, key=lambda i: (affordable[i].cost_per_1k_usd, -affordable[i].accuracy))
        point, boot = measure(affordable[best])
        boot = {**boot, "accuracy_drop_upper": float(upper[best])}
        base_cost = baseline_point.cost_per_1k_usd
        saving = 1 - point.cost_per_1k_usd / base_cost if base_cost else 0.0
        reason = (
            f"{_label(point)} is the cheapest point that passed: drop {drop[best]:.4f} (upper "
            f"{confidence:.0%} family-wise bound {upper[best]:.4f} <= {max_drop:g}), "
            f"${point.cost_per_1k_usd:.4g} per 1k queries, savings {saving:.1%}"
        )
        return Selection(point, baseline_point, True, rule, reason, boot, checked, len(families), level)
    if checked:
        first = [row for row in checked if row["tested"]]
        best_row = min(first, key=lambda row: (math.isnan(row["accuracy_drop_upper"]), row["accuracy_drop_upper"]))
        detail = f"smallest bound: {best_row['label']} at {best_row['accuracy_drop_upper']:.4f}"
        needed = rows_to_certify(max_drop, level)
        if baseline.n_rows < needed:
            detail += (
                f"; with {baseline.n_rows} rows no point can get there: even one that agrees with the baseline "
                f"on every row has a bound of {float(paired_drop_upper(0, 0, baseline.n_rows, level)):.4f} at this "
                f"level. Certifying {max_drop:g} takes at least {needed:g} rows, more when the policy disagrees "
                f"with the baseline; label more rows or raise --max-drop"
            )
    else:
        detail = "no point costs less than the baseline"
    reason = (
        f"nothing qualifies: no point up to the baseline's cost has an accuracy-drop upper "
        f"{confidence:.0%} family-wise bound <= {max_drop:g} ({detail}); chose the baseline {name}"
    )
    return fall_back(rule, reason, checked, len(families), level)


def _dearer_first(point: OperatingPoint) -> tuple[float, float]:
    return -point.cost_per_1k_usd, -point.accuracy


def _candidate_for(by_key: dict, point: OperatingPoint, n_rows: int) -> Candidate:
    candidate = by_key.get((point.router, point.variant))
    if candidate is None:
        raise ValueError(f"no candidate given for point {point.router}/{point.variant}")
    if candidate.n_rows != n_rows:
        raise ValueError(f"{point.router}/{point.variant} has {candidate.n_rows} rows; baseline has {n_rows}")
    return candidate


def _drop_sums(
    points: Sequence[OperatingPoint], by_key: dict, baseline_score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: the sums of the positive and of the negative parts of (baseline - policy score) over the rows
    where both have a score, and the count of those rows. One :func:`_totals_at` pass per candidate."""
    positive, negative, paired = (np.zeros(len(points)) for _ in range(3))
    baseline_known = ~np.isnan(baseline_score)
    by_candidate: dict[tuple[str, str], list[int]] = {}
    for index, point in enumerate(points):
        by_candidate.setdefault((point.router, point.variant), []).append(index)
    for indexes in by_candidate.values():
        candidate = _candidate_for(by_key, points[indexes[0]], baseline_score.size)

        def columns(k, score=candidate.score):
            unpaired = np.isnan(score[:, k]) | ~baseline_known
            difference = baseline_score - score[:, k]
            positive = np.maximum(difference, 0.0)
            negative = np.maximum(np.negative(difference, out=difference), 0.0, out=difference)
            positive[unpaired] = 0.0
            negative[unpaired] = 0.0
            return {"positive": positive, "negative": negative, "paired": (~unpaired).astype(float)}

        boundaries, knobs = _knob_boundaries(candidate, [points[i] for i in indexes])
        if boundaries is not None:
            totals = _totals_at(candidate, boundaries, knobs, columns)
            positive[indexes], negative[indexes], paired[indexes] = (
                totals[name] for name in ("positive", "negative", "paired")
            )
            continue
        for index in indexes:
            point = points[index]
            decisions = (
                point.decisions if point.decisions is not None else decisions_at(candidate, point.knob, point.rule)
            )
            (chosen,) = _chosen(decisions, candidate.score)
            known = ~np.isnan(chosen) & baseline_known
            difference = np.where(known, baseline_score - chosen, 0.0)
            positive[index] = np.maximum(difference, 0.0).sum()
            negative[index] = np.maximum(-difference, 0.0).sum()
            paired[index] = known.sum()
    return positive, negative, paired


def _knob_boundaries(candidate: Candidate, points: list[OperatingPoint]):
    """(boundaries, knobs) to evaluate these points of one candidate in a single pass, or (None, None)."""
    if candidate.rule == FIXED or any(p.decisions is not None or p.knob is None for p in points):
        return None, None
    knobs = np.array([p.knob for p in points], dtype=float)
    boundaries = _boundaries_of(candidate)
    if boundaries is None:
        return None, None
    return boundaries, knobs if candidate.rule == THRESHOLD else -knobs


def _knob_quantiles(
    candidate: Candidate, values: np.ndarray, boundaries: np.ndarray, knobs: np.ndarray, qs: Sequence[float]
) -> np.ndarray:
    """len(qs) x P: quantiles (``stats.quantile``, NaN left out) of ``values[row, option at knob p]`` per knob.

    A row sits at option k for a contiguous run of the sorted knobs (it moves past option k once its
    boundary is below the knob). Every (row, option) value is sorted once and cut into ~sqrt(m) buckets;
    a cumulative count of the values active at each knob per bucket finds the bucket of any order
    statistic, and a scan of that one bucket finds the value. The two order statistics around each quantile
    are then interpolated by ``np.quantile`` itself, so the results equal a quantile of the selected values.
    """
    n_rows, n_options = values.shape
    n_knobs = knobs.size
    sorter, buckets = _knob_buckets(candidate, boundaries, knobs)
    first = np.empty((n_rows, n_options + 1), dtype=np.intp)  # option k holds at sorted knobs first[k]..first[k+1]-1
    first[:, 0] = 0
    for k in range(n_options - 1):
        first[:, k + 1] = buckets[k]
    first[:, n_options] = n_knobs
    flat = values.ravel()
    cells = np.flatnonzero(~np.isnan(values) & (first[:, :-1] < first[:, 1:]))  # (row, option) as row * K + option
    cells = cells[np.argsort(flat[cells])]  # ties in any order: the k-th smallest value is the same
    value = flat[cells]
    starts = first.ravel()
    cells += cells // n_options  # the cell's own place in ``first`` (one column more per row)
    begin, end = starts[cells], starts[cells + 1]
    del first, flat, cells, starts
    n_values = value.size
    out = np.full((len(qs), n_knobs), np.nan)
    if n_values == 0:
        return out
    size = max(1, math.isqrt(n_values))
    bucket = np.arange(n_values) // size
    width = n_knobs + 1
    changes = np.bincount(bucket * width + begin, minlength=(bucket[-1] + 1) * width)
    changes -= np.bincount(bucket * width + end, minlength=changes.size)
    active = np.cumsum(np.cumsum(changes.reshape(-1, width), axis=1)[:, :n_knobs], axis=0)  # buckets x knobs

    def kth(rank: int, at: int) -> float:
        """The rank-th smallest (from 0) of the values active at sorted knob ``at``."""
        counts = active[:, at]
        home = int(np.searchsorted(counts, rank, side="right"))
        before = int(counts[home - 1]) if home else 0
        lo, hi = home * size, min((home + 1) * size, n_values)
        live = np.flatnonzero((begin[lo:hi] <= at) & (end[lo:hi] > at))
        return value[lo + live[rank - before]]

    for at in range(n_knobs):
        count = int(active[-1, at])
        if count == 0:
            continue
        for row, q in enumerate(qs):
            virtual = (count - 1) * q  # np.quantile's "linear" method, on the active values
            below = math.floor(virtual)
            if virtual >= count - 1:
                pair, gamma = (kth(count - 1, at),) * 2, virtual + 1
            else:
                pair, gamma = (kth(below, at), kth(below + 1, at)), virtual - below
            out[row, sorter[at]] = _lerp_pair(*pair, gamma)
    return out


def _lerp_pair(low: float, high: float, gamma: float) -> float:
    """np.quantile's interpolation between two neighbouring order statistics (the same floating-point steps)."""
    difference = high - low
    if gamma >= 0.5:
        return float(high - difference * (1 - gamma))
    return float(low + difference * gamma)


def _ratio(numerator, denominator):
    """numerator / denominator, NaN where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.nan)


# ------------------------------------------------------------------------------------------- internals


def _matrix(values, name: str, n_rows: int | None, n_options: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1 and n_options == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[1] != n_options or (n_rows is not None and array.shape[0] != n_rows):
        expected = f"{'n' if n_rows is None else n_rows} x {n_options}"
        raise ValueError(f"{name} must be {expected} (rows x options); got shape {array.shape}")
    return array


def _column_means(values: np.ndarray) -> np.ndarray:
    known = ~np.isnan(values)
    totals = np.where(known, values, 0.0).sum(axis=0)
    counts = known.sum(axis=0)
    return np.divide(totals, counts, out=np.zeros_like(totals), where=counts > 0)


def _require_rule(candidate: Candidate, rule: str) -> None:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose from: {', '.join(RULES)}")
    if candidate.rule != rule:
        raise ValueError(f"candidate {candidate.router}/{candidate.variant} uses the {candidate.rule} rule, not {rule}")


def _never_nan(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), -np.inf, values)


def _threshold_boundaries(accept: np.ndarray) -> np.ndarray:
    """n x (K-1), column-major: the row has moved past option k exactly when ``boundaries[row, k] < threshold``.

    That is the running maximum of ``accept`` along the options (NaN never accepts).
    """
    n_rows, n_options = accept.shape
    boundaries = np.empty((n_rows, max(n_options - 1, 0)), order="F")
    running = np.full(n_rows, -np.inf)
    for k in range(n_options - 1):
        column = accept[:, k]
        running = np.fmax(running, column)  # fmax ignores NaN
        boundaries[:, k] = running
    return boundaries


def _utility_breakpoints(prob: np.ndarray, option_cost: np.ndarray) -> np.ndarray:
    """n x (K-1): column k-1 holds beta_k, the row ends at an option >= k exactly when lambda < beta_k.

    Option j beats a cheaper option i when ``p_j - lambda c_j > p_i - lambda c_i``, i.e. lambda < R_ij =
    (p_j - p_i) / (c_j - c_i); the row ends at or past k when some j >= k beats every i < k (ties go cheaper).
    """
    n_rows, n_options = prob.shape
    beta = np.full((n_rows, n_options - 1), -np.inf)
    with np.errstate(invalid="ignore"):
        for j in range(1, n_options):
            running = np.full(n_rows, np.inf)
            for i in range(j):
                gain = prob[:, j] - prob[:, i]
                gain[np.isnan(gain)] = -np.inf  # both unknown: a tie, which the cheaper option wins
                running = np.minimum(running, gain / (option_cost[j] - option_cost[i]))
                beta[:, i] = np.maximum(beta[:, i], running)
    return beta


def _default_lambdas(prob: np.ndarray, option_cost: np.ndarray) -> np.ndarray:
    cheapest = int(np.argmin(option_cost))
    dearer = np.flatnonzero(option_cost > option_cost[cheapest])
    if dearer.size == 0:
        return np.array([0.0])
    with np.errstate(invalid="ignore"):
        ratios = (prob[:, dearer] - prob[:, [cheapest]]) / (option_cost[dearer] - option_cost[cheapest])
    ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
    if ratios.size == 0:
        return np.array([0.0])
    top = float(ratios.max()) * 1.01
    bottom = min(float(np.quantile(ratios, 0.01)), top / 10)
    return np.concatenate(([0.0], np.geomspace(bottom, top, 99)))


def _totals_at(
    candidate: Candidate, boundaries: np.ndarray, knobs: np.ndarray, columns=None, keep_grid: bool = False
) -> dict:
    """Sums at every knob when a row moves from option k to k+1 exactly when ``boundaries[row, k] < knob``.

    ``boundaries`` is non-decreasing along k, so a row ends at option #(boundaries < knob) and a per-row statistic
    there is ``x[row, 0] + sum_k [boundaries[row, k] < knob] * (x[row, k+1] - x[row, k])``. Each row's change at
    boundary k is binned by the first knob that passes it (:func:`_knob_buckets`), and a cumulative sum over the
    knobs gives every knob at once. ``columns(k)`` gives option k's per-row statistics by name (default: score
    and cost sums and counts). The result also has ``rows_at`` (knobs x K). ``keep_grid``: these are the
    candidate's swept knobs; later calls on some of them reuse the rows' positions.
    """
    n_rows, n_options = candidate.score.shape
    knobs = np.asarray(knobs, dtype=float)
    sorter, buckets = _knob_buckets(candidate, boundaries, knobs, keep_grid)
    columns = _stat_columns(candidate) if columns is None else columns
    width = knobs.size
    previous = columns(0)
    totals = {name: np.full(width, values.sum()) for name, values in previous.items()}
    past = np.zeros((max(n_options - 1, 0), width))
    for k in range(n_options - 1):
        bucket = buckets[k]  # first knob this row passes
        if k and bucket is buckets[k - 1]:
            past[k] = past[k - 1]
        else:
            past[k] = np.cumsum(np.bincount(bucket, minlength=width + 1)[:width])
        current = columns(k + 1)
        for name, total in totals.items():
            before = previous[name]  # not read again: its memory takes the change (fresh pages cost here)
            change = np.subtract(current[name], before, out=before if before.flags.owndata else None)
            total += np.cumsum(np.bincount(bucket, weights=change, minlength=width + 1)[:width])
        previous = current
    unsorted = np.empty_like(sorter)
    unsorted[sorter] = np.arange(width)
    totals = {name: value[unsorted] for name, value in totals.items()}
    rows_at = np.empty((width, n_options))
    rows_at[:, 0] = n_rows - (past[0] if n_options > 1 else 0)
    if n_options > 1:
        rows_at[:, 1:-1] = (past[:-1] - past[1:]).T
        rows_at[:, -1] = past[-1]
    totals["rows_at"] = rows_at[unsorted]
    return totals


@dataclass(eq=False)
class _KnobGrid:
    """Where each row sits among a candidate's swept knobs: ``buckets[k][row]`` counts the sorted ``knobs`` that
    are <= ``boundaries[row, k]``, i.e. the row has moved past option k from sorted knob number ``buckets[k][row]``."""

    boundaries: np.ndarray
    knobs: np.ndarray
    buckets: list[np.ndarray]


def _knob_buckets(
    candidate: Candidate, boundaries: np.ndarray, knobs: np.ndarray, keep_grid: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """(sorter, buckets): ``knobs[sorter]`` ascend and ``buckets[k][row]`` counts how many of them are <=
    ``boundaries[row, k]`` (``np.searchsorted(..., side="right")``).

    When every knob is one of the candidate's swept knobs (the frontier's and the selection's are), the counts
    are read off the sweep's by a small lookup instead of a binary search per row. Equal columns share one array.
    ``keep_grid`` keeps these as the candidate's sweep grid.
    """
    sorter = np.argsort(knobs, kind="stable")
    sorted_knobs = knobs[sorter]
    grid = candidate._grid
    if grid is not None and grid.boundaries is boundaries and grid.knobs.size and sorted_knobs.size:
        where = np.minimum(np.searchsorted(grid.knobs, sorted_knobs), grid.knobs.size - 1)
        if (grid.knobs[where] == sorted_knobs).all():
            # Knob j of the sweep is <= a boundary exactly when it is among the first buckets[k][row] sorted ones.
            remap = np.searchsorted(where, np.arange(grid.knobs.size + 1), side="left")
            return sorter, _shared([remap[bucket] for bucket in grid.buckets], grid.buckets)
    buckets: list[np.ndarray] = []
    for k in range(boundaries.shape[1]):
        column = boundaries[:, k]
        if k and np.array_equal(column, boundaries[:, k - 1]):
            buckets.append(buckets[-1])
        else:
            buckets.append(np.searchsorted(sorted_knobs, column, side="right"))
    if keep_grid:
        small = np.min_scalar_type(sorted_knobs.size)
        candidate._grid = _KnobGrid(boundaries, sorted_knobs, _shared([b.astype(small) for b in buckets], buckets))
    return sorter, buckets


def _shared(derived: list[np.ndarray], source: list[np.ndarray]) -> list[np.ndarray]:
    """``derived`` with one array wherever ``source`` repeats one (equal boundary columns)."""
    for k in range(1, len(source)):
        if source[k] is source[k - 1]:
            derived[k] = derived[k - 1]
    return derived


def _boundaries_of(candidate: Candidate) -> np.ndarray | None:
    """The candidate's knob boundaries (a row has moved past option k when ``boundaries[row, k] < knob``),
    computed once: the running maximum of ``accept`` for the threshold rule; for the utility rule with option
    costs strictly increasing, ``-beta`` (knob ``-lambda``; see :func:`sweep_utility`). None otherwise."""
    if candidate._boundaries is None:
        if candidate.rule == THRESHOLD:
            candidate._boundaries = _threshold_boundaries(candidate.accept)
        elif candidate.rule == UTILITY and np.all(np.diff(candidate.option_cost) > 0):
            # moved past k  <=>  -beta_{k+1} < -lambda
            candidate._boundaries = -_utility_breakpoints(_never_nan(candidate.utility_prob), candidate.option_cost)
    return candidate._boundaries


def _identical_columns(matrix: np.ndarray) -> bool:
    return matrix.shape[1] > 1 and all(np.array_equal(matrix[:, 0], matrix[:, k]) for k in range(1, matrix.shape[1]))


def _binary_scores(candidate: Candidate) -> bool:
    """Every known score is 0 or 1 (checked once per candidate)."""
    if candidate._binary is None:
        score = candidate.score
        candidate._binary = bool(((score == 0.0) | (score == 1.0) | np.isnan(score)).all())
    return candidate._binary


def _stat_columns(candidate: Candidate):
    """Option k's additive statistics per row, by name (NaN score / cost left out, and counted)."""
    score, cost = candidate.score, candidate.cost

    def columns(k: int) -> dict:
        score_known, cost_known = ~np.isnan(score[:, k]), ~np.isnan(cost[:, k])
        return {
            "score_sum": _nan_to_zero(score[:, k], score_known),
            "score_n": score_known.astype(float),
            "cost_sum": _nan_to_zero(cost[:, k], cost_known),
            "cost_n": cost_known.astype(float),
        }

    return columns


def _nan_to_zero(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values, nan=0.0)`` (infinities become the largest finite floats) in fewer passes."""
    out = np.where(known, values, 0.0)
    np.minimum(out, _FLOAT_MAX, out=out)
    np.maximum(out, -_FLOAT_MAX, out=out)
    return out


def _utility_decision_chunks(prob: np.ndarray, option_cost: np.ndarray, lambdas: np.ndarray):
    """Yield (rows, decisions rows x L) for the utility rule by broadcasting, a bounded chunk of rows at a time."""
    n_rows, n_options = prob.shape
    step = max(1, _CHUNK_ELEMENTS // max(lambdas.size, 1))
    for start in range(0, n_rows, step):
        rows = slice(start, min(start + step, n_rows))
        best = prob[rows, 0, None] - lambdas[None, :] * option_cost[0]
        choice = np.zeros(best.shape, dtype=np.intp)
        for k in range(1, n_options):
            value = prob[rows, k, None] - lambdas[None, :] * option_cost[k]
            better = value > best
            best = np.where(better, value, best)
            choice[better] = k
        yield rows, choice


def _totals_from_decision_chunks(candidate: Candidate, chunks) -> dict:
    """Sums for explicit decisions given as (rows, decisions rows x L) chunks."""
    n_options = candidate.score.shape[1]
    totals = None
    for rows, choice in chunks:
        if totals is None:
            width = choice.shape[1]
            totals = {name: np.zeros(width) for name in ("score_sum", "score_n", "cost_sum", "cost_n")}
            totals["rows_at"] = np.zeros((width, n_options))
        for name, values in (("score", candidate.score[rows]), ("cost", candidate.cost[rows])):
            picked = np.take_along_axis(values, choice, axis=1)
            known = ~np.isnan(picked)
            totals[f"{name}_sum"] += np.where(known, picked, 0.0).sum(axis=0)
            totals[f"{name}_n"] += known.sum(axis=0)
        offsets = choice + n_options * np.arange(choice.shape[1])[None, :]
        totals["rows_at"] += np.bincount(offsets.ravel(), minlength=choice.shape[1] * n_options).reshape(-1, n_options)
    return totals


def _points(candidate: Candidate, rule: str, knobs: np.ndarray, totals: dict) -> list[OperatingPoint]:
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(totals["score_n"] > 0, totals["score_sum"] / totals["score_n"], np.nan)
        cost = np.where(totals["cost_n"] > 0, 1000 * totals["cost_sum"] / totals["cost_n"], np.nan)
    shares = totals["rows_at"] @ candidate.tier_calls / max(candidate.n_rows, 1)
    return [
        OperatingPoint(
            router=candidate.router,
            variant=candidate.variant,
            knob=float(knobs[i]),
            accuracy=float(accuracy[i]),
            cost_per_1k_usd=float(cost[i]),
            tier_share=dict(zip(candidate.tiers, shares[i].tolist(), strict=True)),
            rule=rule,
            n_scored=int(totals["score_n"][i]),
        )
        for i in range(knobs.size)
    ]


def _nondecreasing_hull(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the upper convex hull from the cheapest point to the (cheapest) most accurate one."""
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
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


def _cross(o, a, b) -> float:
    """> 0 when a lies below the segment o-b (a is not on the upper hull)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _pgr_curve(cost, accuracy, weak_accuracy: float, strong_accuracy: float) -> tuple[np.ndarray, np.ndarray]:
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


def _label(point: OperatingPoint) -> str:
    if point.router == "tier":
        return f"tier '{point.variant}'"
    knob = "" if point.knob is None else f" @ {point.knob:.6g}"
    return f"{point.router}/{point.variant}{knob}"


def _checked(point: OperatingPoint, drop: float, upper: float, p_value: float, tested: bool, qualifies: bool) -> dict:
    return {
        "label": _label(point),
        "router": point.router,
        "variant": point.variant,
        "knob": point.knob,
        "accuracy": point.accuracy,
        "cost_per_1k_usd": point.cost_per_1k_usd,
        "accuracy_drop": float(drop),
        "accuracy_drop_upper": float(upper),
        "p_value": float(p_value),
        "tested": tested,
        "qualifies": qualifies,
    }


class _Resampler:
    """One seeded resampling plan (rows, or random blocks of rows), shared by every point compared with it.

    Every resample is a vector of draw counts over the units (rows or blocks); a statistic's resampled sums are
    those counts times the units' sums, a matrix product. Counts are kept when they fit in memory, else
    regenerated chunk by chunk from the same seed.
    """

    def __init__(self, n_rows: int, *, n_resamples: int, seed: int, max_blocks: int):
        if n_resamples < 1 or max_blocks < 1:
            raise ValueError("n_resamples and max_blocks must be at least 1")
        rng = np.random.default_rng(seed)
        self.n_rows, self.n_resamples = n_rows, n_resamples
        if n_rows <= max_blocks:
            self.mode, self.n_units, self.block = "rows", n_rows, None
        else:
            self.mode, self.n_units = "blocks", max_blocks
            self.block = np.empty(n_rows, dtype=np.intp)
            self.block[rng.permutation(n_rows)] = np.arange(n_rows) * max_blocks // n_rows
        self._count_seed = int(rng.integers(2**63))
        self._step = max(1, min(n_resamples, _CHUNK_ELEMENTS // max(self.n_units, 1)))
        self._kept = [] if n_resamples * self.n_units <= 2 * _CHUNK_ELEMENTS else None

    def _count_chunks(self):
        if self._kept:
            yield from self._kept
            return
        rng = np.random.default_rng(self._count_seed)
        units = self.n_units
        if units == 0:
            yield np.zeros((self.n_resamples, 0))
            return
        for start in range(0, self.n_resamples, self._step):
            size = min(self._step, self.n_resamples - start)
            draws = rng.integers(0, units, size=(size, units))
            draws += units * np.arange(size)[:, None]
            counts = np.bincount(draws.ravel(), minlength=size * units).reshape(size, units).astype(float)
            if self._kept is not None:
                self._kept.append(counts)
            yield counts

    def unit_sums(self, columns: list[np.ndarray]) -> np.ndarray:
        """units x S: each per-row column summed within each unit."""
        if self.block is None:
            return np.column_stack(columns) if self.n_rows else np.zeros((0, len(columns)))
        return np.column_stack([np.bincount(self.block, weights=c, minlength=self.n_units) for c in columns])

    def resample(self, units: np.ndarray) -> np.ndarray:
        """B x S resampled sums of unit sums (units x S)."""
        return np.vstack([counts @ units for counts in self._count_chunks()])

    def sums(self, columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(full-sample sums S, resampled sums B x S) of the per-row columns."""
        units = self.unit_sums(columns)
        return units.sum(axis=0), self.resample(units)


def _bootstrap(resampler: _Resampler, score, baseline_score, cost, baseline_cost, confidence: float) -> dict:
    score = np.asarray(score, dtype=float).reshape(-1)
    baseline_score = np.asarray(baseline_score, dtype=float).reshape(-1)
    cost = np.asarray(cost, dtype=float).reshape(-1)
    if not score.size == baseline_score.size == cost.size == resampler.n_rows:
        raise ValueError(
            f"score, baseline_score and cost need {resampler.n_rows} rows each; "
            f"got {score.size}, {baseline_score.size}, {cost.size}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1; got {confidence}")
    known, baseline_known, cost_known = ~np.isnan(score), ~np.isnan(baseline_score), ~np.isnan(cost)
    paired = known & baseline_known
    columns = [
        np.where(known, score, 0.0),
        known.astype(float),
        np.where(baseline_known, baseline_score, 0.0),
        baseline_known.astype(float),
        np.where(paired, baseline_score - score, 0.0),
        paired.astype(float),
        np.where(cost_known, cost, 0.0),
        cost_known.astype(float),
    ]
    if baseline_cost is not None:
        baseline_cost = np.asarray(baseline_cost, dtype=float).reshape(-1)
        both = cost_known & ~np.isnan(baseline_cost)
        columns += [np.where(both, cost, 0.0), np.where(both, baseline_cost, 0.0)]
    full, boot = resampler.sums(columns)

    low_q, high_q = (1 - confidence) / 2, (1 + confidence) / 2

    def interval(index_num: int, index_den: int, scale: float = 1.0) -> tuple[float, float, float]:
        estimate = float(_ratio(full[index_num], full[index_den])) * scale
        draws = _ratio(boot[:, index_num], boot[:, index_den]) * scale
        if np.isnan(draws).all():
            return estimate, math.nan, math.nan
        low, high = np.nanquantile(draws, [low_q, high_q])
        return estimate, float(low), float(high)

    drop_draws = _ratio(boot[:, 4], boot[:, 5])
    result = {
        "accuracy": interval(0, 1),
        "baseline_accuracy": interval(2, 3),
        "accuracy_drop": interval(4, 5),
        "accuracy_drop_upper": float(np.nanquantile(drop_draws, confidence))
        if not np.isnan(drop_draws).all()
        else math.nan,
        "cost_per_1k_usd": interval(6, 7, 1000.0),
        "n_rows": int(resampler.n_rows),
        "n_paired": int(full[5]),
        "n_resamples": int(resampler.n_resamples),
        "confidence": float(confidence),
        "mode": resampler.mode,
    }
    if baseline_cost is not None:
        estimate, low, high = interval(8, 9)
        # savings = 1 - cost ratio: the bounds swap.
        result["savings_share"] = (1 - estimate, 1 - high, 1 - low)
    return result
