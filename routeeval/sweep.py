"""Sweep router knobs: every operating point of a candidate, computed at once from its sorted breakpoints.

Vocabulary
----------
A *candidate* is one router variant's out-of-fold view of every row: for each row and each *option* (a tier,
or a cascade's stop point; cheapest first) the score, cost and latency the row gets if it ends there. Its type
says which *rule* turns one knob value into one option per row (:data:`Candidate` is the union of the three):

* :class:`ThresholdCandidate` -- the row ends at the first option ``k`` with ``accept[row, k] >= knob``, else
  at the last;
* :class:`UtilityCandidate` -- the row ends at ``argmax_k(utility_prob[row, k] - knob * option_cost[k])``
  (ties: cheapest);
* :class:`FixedCandidate` -- no knob; the row ends at ``fixed[row]`` (static rules, the llm router, a single
  tier).

An :class:`OperatingPoint` is a candidate's aggregate at one knob value. Sweeps never loop over knob values:
each rule is written as "row moves past option k when its breakpoint is below the knob", so sorting the
breakpoints and taking cumulative sums of the per-row changes gives every knob value at once, for N options.

Failed calls are errors, not wrong answers: a NaN score is left out of accuracy (accuracy is the mean score
over rows whose chosen option has a score) and a NaN cost is left out of the cost average.

The frontier and its areas (Pareto, hull, AIQ, APGR, CPT) are in :mod:`routeeval.frontier`; picking the point
to ship is :mod:`routeeval.selection`; the paired bootstrap and tests are in :mod:`routeeval.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Final, Literal, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from routeeval.stats import mean_ci, quantiles, wilson_interval

Rule = Literal["threshold", "utility", "fixed"]
THRESHOLD: Final = "threshold"
UTILITY: Final = "utility"
FIXED: Final = "fixed"
RULES: Final = (THRESHOLD, UTILITY, FIXED)

# Working-set budget (array elements) for the utility rule's chunked fallback.
_CHUNK_ELEMENTS = 1 << 22
# complete_points sorts a candidate's latencies once when it has this many points; fewer are done one by one.
_MIN_BATCH_POINTS = 8
_FLOAT_MAX = float(np.finfo(float).max)

# Option k's per-row statistics by name (n values each), for sums at many knobs in one pass.
Columns: TypeAlias = Callable[[int], dict[str, np.ndarray]]


class _CandidateBase:
    """What every candidate holds (``n`` rows, ``K`` options, ``T`` tiers); its subclass holds the rule.

    Attributes:
        router: router kind ("classifier", "knn", "cascade", "static", "llm", "random", "tier", ...).
        variant: which variant of it ("threshold", "utility", "small>large", a tier name, ...).
        options: the K options, cheapest first (tier names, or a cascade's stop points).
        score: n x K, the row's score (0-1) if it ends at option k; NaN marks a failed call.
        cost: n x K, USD if it ends at option k (a cascade's is cumulative; an llm router's own call included).
        latency: n x K, milliseconds if it ends at option k.
        tier_calls: K x T, calls to each tier that ending at option k implies (a cascade calls several).
            Default: the identity, when the options are the tiers.
        tiers: the T tier names of ``tier_calls`` columns. Default: ``options``.

    A candidate keeps what its sweep computed (knob boundaries, the rows' positions among the swept knobs) for
    the selection and the frontier to reuse: treat its arrays as read-only once it has been swept.
    """

    rule: ClassVar[Rule]

    def __init__(
        self,
        router: str,
        variant: str,
        options: Sequence[str],
        score: ArrayLike,
        cost: ArrayLike,
        latency: ArrayLike,
        *,
        tier_calls: ArrayLike | None = None,
        tiers: Sequence[str] | None = None,
    ) -> None:
        self.router = router
        self.variant = variant
        self.options = list(options)
        self.score = _matrix(score, "score", None, len(self.options))
        n_rows, n_options = self.score.shape
        self.cost = _matrix(cost, "cost", n_rows, n_options)
        self.latency = _matrix(latency, "latency", n_rows, n_options)
        calls = np.eye(n_options) if tier_calls is None else np.asarray(tier_calls, dtype=float)
        if calls.ndim != 2 or calls.shape[0] != n_options:
            raise ValueError(f"tier_calls must be K x T with K={n_options}; got shape {calls.shape}")
        self.tier_calls = calls
        self.tiers = list(self.options if tiers is None else tiers)
        if len(self.tiers) != calls.shape[1]:
            raise ValueError(f"tiers names {len(self.tiers)} tiers but tier_calls has {calls.shape[1]}")
        self._boundaries: np.ndarray | None = None
        self._grid: _KnobGrid | None = None
        self._binary: bool | None = None

    @property
    def n_rows(self) -> int:
        return self.score.shape[0]

    @property
    def n_options(self) -> int:
        return self.score.shape[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.router!r}, {self.variant!r}, {self.n_rows} rows, options={self.options})"


class ThresholdCandidate(_CandidateBase):
    """A candidate whose row ends at the first option ``k`` with ``accept[row, k] >= knob``, else at the last.

    ``accept``: n x K threshold-rule scores (the last column is never read). NaN never accepts (above -inf).
    The other fields are every candidate's (see :data:`Candidate`).
    """

    rule: ClassVar[Rule] = THRESHOLD

    def __init__(
        self,
        router: str,
        variant: str,
        options: Sequence[str],
        score: ArrayLike,
        cost: ArrayLike,
        latency: ArrayLike,
        *,
        accept: ArrayLike,
        tier_calls: ArrayLike | None = None,
        tiers: Sequence[str] | None = None,
    ) -> None:
        super().__init__(router, variant, options, score, cost, latency, tier_calls=tier_calls, tiers=tiers)
        self.accept = _matrix(accept, "accept", self.n_rows, self.n_options)


class UtilityCandidate(_CandidateBase):
    """A candidate whose row ends at ``argmax_k(utility_prob[row, k] - knob * option_cost[k])`` (ties: cheapest).

    ``utility_prob``: n x K probabilities (e.g. P(option k answers correctly)); NaN is never chosen.
    ``option_cost``: K, the expected USD per option. Default: the mean of ``cost[:, k]`` over known costs.
    The other fields are every candidate's (see :data:`Candidate`).
    """

    rule: ClassVar[Rule] = UTILITY

    def __init__(
        self,
        router: str,
        variant: str,
        options: Sequence[str],
        score: ArrayLike,
        cost: ArrayLike,
        latency: ArrayLike,
        *,
        utility_prob: ArrayLike,
        option_cost: ArrayLike | None = None,
        tier_calls: ArrayLike | None = None,
        tiers: Sequence[str] | None = None,
    ) -> None:
        super().__init__(router, variant, options, score, cost, latency, tier_calls=tier_calls, tiers=tiers)
        n_options = self.n_options
        self.utility_prob = _matrix(utility_prob, "utility_prob", self.n_rows, n_options)
        costs = _column_means(self.cost) if option_cost is None else option_cost
        self.option_cost = np.asarray(costs, dtype=float).reshape(-1)
        if self.option_cost.shape != (n_options,) or not np.isfinite(self.option_cost).all():
            raise ValueError(f"option_cost must be {n_options} finite numbers; got {self.option_cost}")


class FixedCandidate(_CandidateBase):
    """A candidate with no knob: each row ends at ``fixed[row]`` (n option indexes).

    Static rules, the llm router, the oracle and a single tier. The other fields are every candidate's (see
    :data:`Candidate`).
    """

    rule: ClassVar[Rule] = FIXED

    def __init__(
        self,
        router: str,
        variant: str,
        options: Sequence[str],
        score: ArrayLike,
        cost: ArrayLike,
        latency: ArrayLike,
        *,
        fixed: ArrayLike,
        tier_calls: ArrayLike | None = None,
        tiers: Sequence[str] | None = None,
    ) -> None:
        super().__init__(router, variant, options, score, cost, latency, tier_calls=tier_calls, tiers=tiers)
        n_rows, n_options = self.score.shape
        decisions = np.asarray(fixed).astype(np.intp, copy=False).reshape(-1)
        if decisions.shape != (n_rows,) or (decisions.size and not 0 <= decisions.min() <= decisions.max() < n_options):
            raise ValueError(f"fixed must be {n_rows} option indexes in 0..{n_options - 1}")
        self.fixed = decisions


# One router variant's out-of-fold view of every row, under exactly one rule: its type. Every candidate has
# router, variant, options, score, cost, latency, tier_calls and tiers (see _CandidateBase), n_rows and rule.
Candidate: TypeAlias = ThresholdCandidate | UtilityCandidate | FixedCandidate


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
    rule: Rule = FIXED
    n_scored: int = 0
    accuracy_ci: tuple[float, float] | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


# ----------------------------------------------------------------------------------------------- sweeps


def sweep_threshold(candidate: ThresholdCandidate, max_points: int | None = 200) -> list[OperatingPoint]:
    """Every operating point of the threshold rule, exactly, without a loop over thresholds.

    A row ends at the first option whose running maximum of ``accept`` reaches the knob, so it has moved past
    option ``k`` exactly when ``runmax[row, k] < knob``. The knob values evaluated are the distinct breakpoints
    (``runmax`` values; the smallest keeps every row with an accept score on option 0) plus ``+inf`` (every row
    on the last option).
    When there are more than ``max_points`` of them, ``max_points - 1`` breakpoints spaced by quantile of all
    breakpoints are used instead (each still evaluated exactly); ``max_points=None`` keeps them all.
    """
    _require(candidate, ThresholdCandidate)
    boundaries = _threshold_boundaries_of(candidate)
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
    return _points(candidate, knobs, totals)


def sweep_utility(candidate: UtilityCandidate, lambdas: ArrayLike | None = None) -> list[OperatingPoint]:
    """Operating points of the utility rule ``argmax_k(prob - lambda * option_cost_k)`` at each ``lambda``.

    ``lambda`` is accuracy per USD (per query). With option costs strictly increasing (the usual case) each row
    has exact breakpoints: it ends at option ``>= k`` exactly when ``lambda < beta_k``, with
    ``beta_k = max_{j >= k} min_{i < k} (p_j - p_i) / (c_j - c_i)``; sorting those gives every ``lambda`` at once.
    Otherwise the decisions are computed by broadcasting over ``lambda`` in chunks.

    The default grid is 0 plus 99 log-spaced values from the 1st percentile of the positive breakpoints to just
    past the largest, where every row has moved to the cheapest option.
    """
    _require(candidate, UtilityCandidate)
    prob = _never_nan(candidate.utility_prob)
    option_cost = candidate.option_cost
    grid = _default_lambdas(prob, option_cost) if lambdas is None else np.asarray(lambdas, dtype=float).reshape(-1)
    grid = np.unique(grid)
    boundaries = _utility_boundaries_of(candidate)
    if boundaries is not None:
        totals = _totals_at(candidate, boundaries, -grid, keep_grid=True)
    else:
        totals = _totals_from_decision_chunks(candidate, _utility_decision_chunks(prob, option_cost, grid), grid.size)
    return _points(candidate, grid, totals)


def evaluate_fixed(candidate: FixedCandidate) -> OperatingPoint:
    """The single operating point of a router with no knob (its decisions are kept)."""
    _require(candidate, FixedCandidate)
    decisions = candidate.fixed
    totals = _totals_from_decision_chunks(candidate, [(slice(None), decisions[:, None])], 1)
    (point,) = _points(candidate, np.array([np.nan]), totals)
    point.knob = None
    point.decisions = decisions.copy()
    return point


def sweep_candidate(
    candidate: Candidate, *, max_points: int | None = 200, lambdas: ArrayLike | None = None
) -> list[OperatingPoint]:
    """The operating points of any candidate, whichever its rule."""
    if isinstance(candidate, ThresholdCandidate):
        return sweep_threshold(candidate, max_points)
    if isinstance(candidate, UtilityCandidate):
        return sweep_utility(candidate, lambdas)
    return [evaluate_fixed(candidate)]


def decisions_at(candidate: Candidate, knob: float | None, rule: str | None = None) -> np.ndarray:
    """The option index each row ends at for one knob value (n ints), recomputed from the candidate.

    ``rule``, when given (a point's), must be the candidate's.
    """
    if rule is not None:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; choose from: {', '.join(RULES)}")
        if rule != candidate.rule:
            raise ValueError(
                f"candidate {candidate.router}/{candidate.variant} uses the {candidate.rule} rule, not {rule}"
            )
    if isinstance(candidate, FixedCandidate):
        return candidate.fixed.copy()
    if knob is None:
        raise ValueError(f"the {candidate.rule} rule needs a knob value")
    if isinstance(candidate, ThresholdCandidate):
        boundaries = _threshold_boundaries_of(candidate)
        decisions = np.zeros(candidate.n_rows, dtype=np.intp)
        for k in range(boundaries.shape[1]):
            decisions += boundaries[:, k] < knob
        return decisions
    values = _never_nan(candidate.utility_prob) - knob * candidate.option_cost
    return np.argmax(values, axis=1).astype(np.intp)


def point_rows(candidate: Candidate, decisions: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row (score, cost_usd, latency_ms) at the given decisions, for confidence intervals and percentiles."""
    score, cost, latency = _chosen(decisions, candidate.score, candidate.cost, candidate.latency)
    return score, cost, latency


def sum_at_knobs(
    candidate: Candidate, points: Sequence[OperatingPoint], columns: Columns
) -> dict[str, np.ndarray] | None:
    """Per point of this candidate, the sums over rows of per-row statistics at the option each row ends at.

    ``columns(k)`` gives option k's per-row statistics by name; the result holds each name's P sums (and
    ``rows_at``, P x K). One pass over the candidate's knob boundaries (see :func:`_totals_at`), reusing its
    sweep's positions of the rows. None when the points cannot be summed that way (the fixed rule, points that
    carry their decisions, a utility rule whose option costs do not increase): take each point's decisions.
    """
    if isinstance(candidate, FixedCandidate) or any(p.decisions is not None or p.knob is None for p in points):
        return None
    knobs = np.array([p.knob for p in points], dtype=float)
    if isinstance(candidate, ThresholdCandidate):
        return _totals_at(candidate, _threshold_boundaries_of(candidate), knobs, columns)
    boundaries = _utility_boundaries_of(candidate)
    if boundaries is None:
        return None
    return _totals_at(candidate, boundaries, -knobs, columns)


def _chosen(decisions: ArrayLike, *matrices: np.ndarray) -> list[np.ndarray]:
    """``matrix[row, decisions[row]]`` for every row of each n x K matrix: one flat gather, not a 2-D fancy index."""
    decisions = np.asarray(decisions, dtype=np.intp)
    n_rows = decisions.size
    out: list[np.ndarray] = []
    cells: dict[int, np.ndarray] = {}
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
    if not isinstance(candidate, ThresholdCandidate) or len(points) < _MIN_BATCH_POINTS or not sweep_points:
        return [replace(complete_point(candidate, point, confidence), decisions=None) for point in points]
    boundaries = _threshold_boundaries_of(candidate)  # decisions_at's own comparisons, so the same rows
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


def single_tier_candidates(
    tiers: Sequence[str], score: ArrayLike, cost: ArrayLike, latency: ArrayLike
) -> list[FixedCandidate]:
    """One fixed candidate per tier (router "tier", variant = the tier's name) from n x T matrices."""
    score = np.asarray(score, dtype=float)
    return [
        FixedCandidate("tier", tier, list(tiers), score, cost, latency, fixed=np.full(score.shape[0], index))
        for index, tier in enumerate(tiers)
    ]


# ------------------------------------------------------------------------------------------- internals


def _require(candidate: _CandidateBase, kind: type[_CandidateBase]) -> None:
    if not isinstance(candidate, kind):
        raise ValueError(
            f"candidate {candidate.router}/{candidate.variant} uses the {candidate.rule} rule, not {kind.rule}"
        )


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
    candidate: ThresholdCandidate | UtilityCandidate,
    boundaries: np.ndarray,
    knobs: np.ndarray,
    columns: Columns | None = None,
    keep_grid: bool = False,
) -> dict[str, np.ndarray]:
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
    candidate: ThresholdCandidate | UtilityCandidate, boundaries: np.ndarray, knobs: np.ndarray, keep_grid: bool = False
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


def _threshold_boundaries_of(candidate: ThresholdCandidate) -> np.ndarray:
    """The candidate's knob boundaries (a row has moved past option k when ``boundaries[row, k] < knob``),
    computed once: the running maximum of ``accept``."""
    if candidate._boundaries is None:
        candidate._boundaries = _threshold_boundaries(candidate.accept)
    return candidate._boundaries


def _utility_boundaries_of(candidate: UtilityCandidate) -> np.ndarray | None:
    """The candidate's knob boundaries with option costs strictly increasing, computed once: ``-beta`` (knob
    ``-lambda``; see :func:`sweep_utility`). None when the option costs do not increase."""
    if candidate._boundaries is None and np.all(np.diff(candidate.option_cost) > 0):
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


def _stat_columns(candidate: Candidate) -> Columns:
    """Option k's additive statistics per row, by name (NaN score / cost left out, and counted)."""
    score, cost = candidate.score, candidate.cost

    def columns(k: int) -> dict[str, np.ndarray]:
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


def _utility_decision_chunks(
    prob: np.ndarray, option_cost: np.ndarray, lambdas: np.ndarray
) -> Iterator[tuple[slice, np.ndarray]]:
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


def _totals_from_decision_chunks(
    candidate: Candidate, chunks: Iterable[tuple[slice, np.ndarray]], width: int
) -> dict[str, np.ndarray]:
    """Sums for explicit decisions given as (rows, decisions rows x L) chunks, ``width`` = L."""
    n_options = candidate.score.shape[1]
    totals = {name: np.zeros(width) for name in ("score_sum", "score_n", "cost_sum", "cost_n")}
    totals["rows_at"] = np.zeros((width, n_options))
    for rows, choice in chunks:
        for name, values in (("score", candidate.score[rows]), ("cost", candidate.cost[rows])):
            picked = np.take_along_axis(values, choice, axis=1)
            known = ~np.isnan(picked)
            totals[f"{name}_sum"] += np.where(known, picked, 0.0).sum(axis=0)
            totals[f"{name}_n"] += known.sum(axis=0)
        offsets = choice + n_options * np.arange(choice.shape[1])[None, :]
        totals["rows_at"] += np.bincount(offsets.ravel(), minlength=choice.shape[1] * n_options).reshape(-1, n_options)
    return totals


def _points(candidate: Candidate, knobs: np.ndarray, totals: dict[str, np.ndarray]) -> list[OperatingPoint]:
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
            rule=candidate.rule,
            n_scored=int(totals["score_n"][i]),
        )
        for i in range(knobs.size)
    ]


def _knob_quantiles(
    candidate: ThresholdCandidate, values: np.ndarray, boundaries: np.ndarray, knobs: np.ndarray, qs: Sequence[float]
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
