"""Confidence intervals and the statistics behind every number routeeval reports.

Intervals of a mean (Wilson for 0/1 scores), quantiles, per-tier summaries, the paired score test of an accuracy
drop against the baseline, and the paired bootstrap of a routed policy against the baseline on the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from statistics import NormalDist
from typing import NotRequired, TypedDict

import numpy as np

from routeeval.intervals import wilson_interval as wilson_interval  # re-exported: it needs no numpy
from routeeval.intervals import z_value


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of ``values``, ignoring NaN.

    Binary scores get a Wilson score interval (well behaved near 0 and 1 and for small n);
    continuous scores a normal interval on the mean, clipped to the observed range.
    """
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    n = array.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(array.mean())
    z = _z(confidence)
    if np.isin(array, (0.0, 1.0)).all():
        return wilson_interval(mean, n, confidence)
    if n == 1:
        return mean, mean, mean
    half = z * float(array.std(ddof=1)) / math.sqrt(n)
    return mean, max(float(array.min()), mean - half), min(float(array.max()), mean + half)


def _z(confidence: float) -> float:
    """Two-sided standard-normal quantile for ``confidence`` (1.96 at 0.95)."""
    return z_value(confidence)


def quantile(values, q: float) -> float:
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    return float(np.quantile(array, q)) if array.size else math.nan


def quantiles(values, qs) -> list[float]:
    """``[quantile(values, q) for q in qs]``, the same numbers from one pass over the values."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    return [float(v) for v in np.quantile(array, list(qs))] if array.size else [math.nan] * len(qs)


def summarize_tiers(frame, tier_order: list[str], confidence: float = 0.95, source: str | None = "eval") -> list[dict]:
    """Per-tier accuracy (with CI), dollars per 1,000 queries, latency percentiles and errors.

    Failed calls are errors, not wrong answers: they are counted apart and left out of accuracy
    and of cost. ``source`` picks eval rows ("eval") or log rows ("log"); None takes all.
    """
    from routeeval import columns as C
    from routeeval.outcomes import column_codes, text_mask

    keep = np.ones(len(frame), dtype=bool)
    if source is not None and C.SOURCE in frame.columns:
        keep = text_mask(frame[C.SOURCE], source)
    tier_codes, tier_values = column_codes(frame[C.TIER])
    failed = frame[C.ERROR].notna().to_numpy()
    if C.UNSCORED in frame.columns:
        reason_codes, reason_values = column_codes(frame[C.UNSCORED])
    else:  # outcomes written before reasons were recorded
        reason_codes, reason_values = np.full(len(frame), -1), np.array([], dtype=object)
    score, cost, latency = (
        frame[column].to_numpy(dtype=float, na_value=np.nan) for column in (C.SCORE, C.COST_USD, C.LATENCY_MS)
    )
    # Each row's place in tier_order (-1: another tier), read once rather than once per tier; a tier named twice
    # in tier_order is summarized each time. In the usual layout (each query's tiers together, always in one
    # order) a tier's rows are every T-th row: a strided view, not a mask over the whole table.
    position: dict[str, int] = {}
    for index, tier in enumerate(tier_order):
        position.setdefault(tier, index)
    places = [position.get(value, -1) for value in tier_values.tolist()] + [-1]
    place_of = np.array(places, dtype=np.int16 if len(tier_order) < 2**15 else np.int32)[tier_codes]
    period = _period(place_of, len(tier_values) + 1)
    if period:
        offsets = {int(place): offset for offset, place in enumerate(place_of[:period]) if place >= 0}

        def rows_of(place: int):
            return slice(offsets[place], None, period) if place in offsets else slice(0, 0)

    else:

        def rows_of(place: int):
            return place_of == place

    summary = []
    for tier in tier_order:
        rows = rows_of(position[tier])
        kept, failed_here = keep[rows], failed[rows]
        ok = kept & ~failed_here
        scores = score[rows][ok]
        missing = kept & np.isnan(score[rows])
        unscored = _reasons(reason_codes[rows][missing], reason_values, failed_here[missing])
        accuracy, low, high = mean_ci(scores, confidence)
        costs = cost[rows][ok]
        p50, p95 = quantiles(latency[rows][ok], (0.5, 0.95))
        summary.append(
            {
                "tier": tier,
                "rows": int(np.count_nonzero(kept)),
                "scored": int(np.count_nonzero(~np.isnan(scores))),
                "accuracy": _clean(accuracy),
                "accuracy_ci": [_clean(low), _clean(high)],
                "cost_per_1k_usd": _clean(float(np.nanmean(costs)) * 1000 if costs.size else math.nan),
                "latency_p50_ms": _clean(p50),
                "latency_p95_ms": _clean(p95),
                "errors": int(np.count_nonzero(kept & failed_here)),
                "unscored": int(np.count_nonzero(missing)),
                "unscored_reasons": unscored,
            }
        )
    return summary


def _reasons(codes: np.ndarray, values: np.ndarray, failed: np.ndarray) -> dict[str, int]:
    """How many unscored rows give each reason, most common first; rows without one: "call failed" or "no score"."""
    counts: dict[str, int] = {}
    for code, call_failed in zip(codes.tolist(), failed.tolist(), strict=True):
        reason = str(values[code]) if code >= 0 else ("call failed" if call_failed else "no score")
        counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _period(places, longest: int) -> int:
    """T when the rows repeat one block of T distinct places (each query's tiers together, always in one order),
    T at most ``longest``; else 0."""
    n_rows = len(places)
    if n_rows == 0:
        return 0
    again = np.flatnonzero(places[1 : longest + 1] == places[0])
    period = int(again[0]) + 1 if again.size else n_rows
    first = places[:period]
    if period > longest or n_rows % period or len(np.unique(first)) != period:
        return 0
    return period if bool((places.reshape(-1, period) == first).all()) else 0


def _clean(value: float) -> float | None:
    """JSON-friendly: NaN becomes None."""
    return None if value is None or math.isnan(value) else float(value)


# ------------------------------------------------------------------------------ paired accuracy drop


def paired_drop_z(positive, negative, n, margin) -> np.ndarray:
    """Score statistic of H0 "drop >= margin" for a policy against a baseline on the same ``n`` rows.

    Per row, d = baseline score - policy score in [-1, 1]. ``positive`` is the sum of d over rows where it is
    positive (the baseline right, the policy wrong, for 0/1 scores), ``negative`` the sum of -d where it is
    negative; the drop is ``(positive - negative) / n``. The statistic is Tango's score test for a difference
    of paired proportions (Tango 1998; Nam 1997), with the variance taken at the restricted maximum-likelihood
    estimate under drop = ``margin``, so it stays honest when few or no rows disagree (where a bootstrap
    collapses to a zero-width interval). It is exact in form for right/wrong scores; for graded scores the
    sums are used as fractional counts, which over-states the variance (Var d <= E|d| - drop^2), so the test
    is conservative there. Arrays broadcast; rows with ``n == 0`` give NaN. Small values reject H0.
    """
    b, c, n, delta = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (positive, negative, n, margin)))
    with np.errstate(invalid="ignore", divide="ignore"):
        w = -b - c + (2 * n - b + c) * delta
        q = (np.sqrt(np.maximum(w * w + 8 * n * c * delta * (1 - delta), 0.0)) - w) / (4 * n)
        variance = np.maximum(2 * q + delta - delta * delta, 0.0) / n
        gap = (b - c) / n - delta
        z = np.where(variance > 0, gap / np.sqrt(variance), np.sign(gap) * np.inf)
    return np.where(n > 0, np.where(np.isnan(z), 0.0, z), np.nan)


def paired_drop_pvalue(positive, negative, n, margin) -> np.ndarray:
    """One-sided p-value of H0 "drop >= margin" (see :func:`paired_drop_z`); small means the drop is below it."""
    z = paired_drop_z(positive, negative, n, margin)
    cdf = np.frompyfunc(lambda v: 0.5 * math.erfc(-v / math.sqrt(2)), 1, 1)
    return np.where(np.isnan(z), np.nan, np.asarray(cdf(np.nan_to_num(z, nan=0.0)), dtype=float))


def paired_drop_upper(positive, negative, n, alpha: float) -> np.ndarray:
    """One-sided upper ``1 - alpha`` confidence bound of the drop: the largest margin the score test keeps.

    Inverts :func:`paired_drop_z` by bisection (the statistic falls as the margin grows), so
    ``upper <= margin`` exactly when H0 "drop >= margin" is rejected at ``alpha`` (up to 1e-12).
    """
    b, c, n = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (positive, negative, n)))
    critical = -NormalDist().inv_cdf(1 - alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.clip((b - c) / n, -1.0, 1.0)
    high = np.ones_like(low)
    for _ in range(60):
        middle = (low + high) / 2
        kept = paired_drop_z(b, c, n, middle) > critical
        low = np.where(kept, middle, low)
        high = np.where(kept, high, middle)
    return np.where(n > 0, high, np.nan)


def rows_to_certify(max_drop: float, alpha: float) -> float:
    """Fewest paired rows with which :func:`paired_drop_upper` can reach ``max_drop`` at all: the bound of a
    policy that agrees with the baseline on every row is z^2 / (n + z^2), so n >= z^2 (1 - max_drop) / max_drop.
    A policy that disagrees on some rows needs more. Infinite for ``max_drop`` <= 0."""
    if max_drop <= 0:
        return math.inf
    z = NormalDist().inv_cdf(1 - alpha)
    return math.ceil(z * z * (1 - max_drop) / max_drop)


# ------------------------------------------------------------------------------------ paired bootstrap

# Working-set budget (array elements) of the resampling counts kept or drawn at once.
_CHUNK_ELEMENTS = 1 << 22

Interval = tuple[float, float, float]  # (estimate, low, high)


class PairedBootstrap(TypedDict):
    """:func:`paired_bootstrap`'s result; each :data:`Interval` is the full-sample estimate and a two-sided
    interval at ``confidence``."""

    accuracy: Interval
    baseline_accuracy: Interval
    accuracy_drop: Interval
    accuracy_drop_upper: float
    cost_per_1k_usd: Interval
    n_rows: int
    n_paired: int
    n_resamples: int
    confidence: float
    mode: str
    savings_share: NotRequired[Interval]


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
) -> PairedBootstrap:
    """Paired percentile bootstrap of a routed policy against the baseline, on the same rows.

    Each resample draws rows with replacement; with more than ``max_blocks`` rows, the rows are first split
    into ``max_blocks`` random blocks (seeded) and whole blocks are drawn, which keeps 1M rows fast and gives
    the same intervals for independent rows. Ratios are taken per resample, so NaN rows drop out pairwise.

    Returns a :class:`PairedBootstrap`; each ``(estimate, low, high)`` is the full-sample estimate and a
    **two-sided** interval at ``confidence`` (quantiles (1 - c)/2 and (1 + c)/2 of the resamples):

    * ``accuracy`` -- mean score over rows with a score; ``baseline_accuracy`` likewise for the baseline;
    * ``accuracy_drop`` -- baseline minus policy accuracy over rows where both have a score (positive = worse);
    * ``accuracy_drop_upper`` -- the **one-sided** upper bound of the drop at ``confidence`` (the
      ``confidence`` quantile): the drop is below it with that confidence;
    * ``cost_per_1k_usd`` -- USD per 1,000 queries over rows with a known cost;
    * ``savings_share`` (when ``baseline_cost`` is given) -- ``1 - policy cost / baseline cost`` over rows
      where both costs are known;
    * ``n_rows``, ``n_paired``, ``n_resamples``, ``confidence``, ``mode`` ("rows" or "blocks").

    To compare several policies with the same baseline on the same resamples, build one :class:`Resampler`
    and call its :meth:`Resampler.paired_bootstrap` for each.
    """
    score = np.asarray(score, dtype=float)
    resampler = Resampler(score.size, n_resamples=n_resamples, seed=seed, max_blocks=max_blocks)
    return resampler.paired_bootstrap(score, baseline_score, cost, baseline_cost, confidence)


class Resampler:
    """One seeded resampling plan (rows, or random blocks of rows), shared by every policy compared with it.

    Every resample is a vector of draw counts over the units (rows or blocks); a statistic's resampled sums are
    those counts times the units' sums, a matrix product. Counts are kept when they fit in memory, else
    regenerated chunk by chunk from the same seed.
    """

    def __init__(self, n_rows: int, *, n_resamples: int, seed: int, max_blocks: int) -> None:
        if n_resamples < 1 or max_blocks < 1:
            raise ValueError("n_resamples and max_blocks must be at least 1")
        rng = np.random.default_rng(seed)
        self.n_rows, self.n_resamples = n_rows, n_resamples
        self.block: np.ndarray | None
        if n_rows <= max_blocks:
            self.mode, self.n_units, self.block = "rows", n_rows, None
        else:
            self.mode, self.n_units = "blocks", max_blocks
            self.block = np.empty(n_rows, dtype=np.intp)
            self.block[rng.permutation(n_rows)] = np.arange(n_rows) * max_blocks // n_rows
        self._count_seed = int(rng.integers(2**63))
        self._step = max(1, min(n_resamples, _CHUNK_ELEMENTS // max(self.n_units, 1)))
        self._kept: list[np.ndarray] | None = [] if n_resamples * self.n_units <= 2 * _CHUNK_ELEMENTS else None

    def _count_chunks(self) -> Iterator[np.ndarray]:
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

    def unit_sums(self, columns: Sequence[np.ndarray]) -> np.ndarray:
        """units x S: each per-row column summed within each unit."""
        if self.block is None:
            return np.column_stack(columns) if self.n_rows else np.zeros((0, len(columns)))
        block = self.block
        return np.column_stack([np.bincount(block, weights=c, minlength=self.n_units) for c in columns])

    def resample(self, units: np.ndarray) -> np.ndarray:
        """B x S resampled sums of unit sums (units x S)."""
        return np.vstack([counts @ units for counts in self._count_chunks()])

    def sums(self, columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(full-sample sums S, resampled sums B x S) of the per-row columns."""
        units = self.unit_sums(columns)
        return units.sum(axis=0), self.resample(units)

    def paired_bootstrap(
        self, score, baseline_score, cost, baseline_cost=None, confidence: float = 0.95
    ) -> PairedBootstrap:
        """:func:`paired_bootstrap` of one policy on this plan's resamples (``n_rows`` rows each)."""
        score = np.asarray(score, dtype=float).reshape(-1)
        baseline_score = np.asarray(baseline_score, dtype=float).reshape(-1)
        cost = np.asarray(cost, dtype=float).reshape(-1)
        if not score.size == baseline_score.size == cost.size == self.n_rows:
            raise ValueError(
                f"score, baseline_score and cost need {self.n_rows} rows each; "
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
        full, boot = self.sums(columns)

        low_q, high_q = (1 - confidence) / 2, (1 + confidence) / 2

        def interval(index_num: int, index_den: int, scale: float = 1.0) -> Interval:
            estimate = float(_ratio(full[index_num], full[index_den])) * scale
            draws = _ratio(boot[:, index_num], boot[:, index_den]) * scale
            if np.isnan(draws).all():
                return estimate, math.nan, math.nan
            low, high = np.nanquantile(draws, [low_q, high_q])
            return estimate, float(low), float(high)

        drop_draws = _ratio(boot[:, 4], boot[:, 5])
        result: PairedBootstrap = {
            "accuracy": interval(0, 1),
            "baseline_accuracy": interval(2, 3),
            "accuracy_drop": interval(4, 5),
            "accuracy_drop_upper": float(np.nanquantile(drop_draws, confidence))
            if not np.isnan(drop_draws).all()
            else math.nan,
            "cost_per_1k_usd": interval(6, 7, 1000.0),
            "n_rows": int(self.n_rows),
            "n_paired": int(full[5]),
            "n_resamples": int(self.n_resamples),
            "confidence": float(confidence),
            "mode": self.mode,
        }
        if baseline_cost is not None:
            estimate, low, high = interval(8, 9)
            # savings = 1 - cost ratio: the bounds swap.
            result["savings_share"] = (1 - estimate, 1 - high, 1 - low)
        return result


def _ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, np.nan)


# -- then vs now: a sample against a reference kept as numbers ---------------------------------------
def distribution_shift(reference_quantiles, values, reference_rows: int) -> dict:
    """How far ``values`` moved from a reference known only by its percentiles (0 to 100, as kept in a policy's
    reference profile): the population stability index over the reference's deciles, and a two-sample
    Kolmogorov-Smirnov statistic with its asymptotic p-value (effective n = n_ref x n / (n_ref + n)).

    The reference's CDF is a step function through its percentiles, exact to one percentile: that resolution is
    taken off the statistic, so a large sample is not flagged for the reference's rounding.
    """
    from scipy.stats import kstwobign

    points = np.asarray(reference_quantiles, dtype=float)
    values = np.sort(np.asarray(values, dtype=float)[np.isfinite(values)])
    n = values.size
    if n == 0 or points.size < 2:
        return {"psi": None, "ks": None, "p_value": None, "rows": int(n)}
    steps = points.size - 1
    # PSI over the reference's deciles (ties merge bins): expected share from the percentile points
    edges = np.unique(points[steps // 10 : steps : steps // 10]) if steps >= 10 else np.unique(points[1:-1])
    expected = np.diff(np.concatenate([[0], np.searchsorted(points, edges, side="left"), [points.size]])) / points.size
    actual = np.diff(np.concatenate([[0], np.searchsorted(values, edges, side="left"), [n]])) / n
    e, a = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
    psi = float(np.sum((a - e) * np.log(a / e)))
    # KS at the reference's points and the sample's own percentiles
    at = np.unique(np.concatenate([points, np.quantile(values, np.linspace(0, 1, 101))]))
    f_ref = np.searchsorted(points, at, side="right") / points.size
    f_now = np.searchsorted(values, at, side="right") / n
    ks = float(np.max(np.abs(f_now - f_ref)))
    adjusted = max(0.0, ks - 1.0 / steps)
    n_eff = reference_rows * n / (reference_rows + n) if reference_rows > 0 else n
    p_value = float(kstwobign.sf(adjusted * math.sqrt(n_eff))) if adjusted > 0 else 1.0
    return {"psi": psi, "ks": ks, "p_value": p_value, "rows": int(n)}


def share_shift(then: dict[str, float], then_rows: int, now_counts: dict[str, int]) -> dict:
    """Shares then (a profile's shares of ``then_rows`` rows) against counts now: total variation distance and a
    chi-square test of homogeneity on the two tables of counts (p = 1 with fewer than two categories)."""
    from scipy.stats import chi2_contingency

    keys = list(dict.fromkeys([*then, *now_counts]))
    n_now = sum(now_counts.values())
    then_counts = np.array([then.get(k, 0.0) * then_rows for k in keys])
    now = np.array([now_counts.get(k, 0) for k in keys], dtype=float)
    keep = (then_counts + now) > 0
    now_shares = now / n_now if n_now else now
    tvd = 0.5 * float(np.sum(np.abs(now_shares - np.array([then.get(k, 0.0) for k in keys]))))
    if keep.sum() < 2 or n_now == 0 or then_rows == 0:
        return {"tvd": tvd, "p_value": 1.0}
    table = np.vstack([then_counts[keep], now[keep]])
    p_value = float(chi2_contingency(table, correction=False).pvalue)
    return {"tvd": tvd, "p_value": p_value}


def two_proportion_p(then: float, then_rows: int, now: float, now_rows: int) -> float:
    """Two-sided p-value of the difference of two proportions (pooled z-test); 1 when undefined."""
    if then_rows == 0 or now_rows == 0:
        return 1.0
    pooled = (then * then_rows + now * now_rows) / (then_rows + now_rows)
    se = math.sqrt(pooled * (1 - pooled) * (1 / then_rows + 1 / now_rows))
    if se == 0:
        return 1.0 if then == now else 0.0
    z = abs(now - then) / se
    return float(2 * (1 - NormalDist().cdf(z)))


def auc_interval(auc: float, positives: int, negatives: int, confidence: float = 0.95) -> tuple[float, float]:
    """Hanley & McNeil's (1982) confidence interval of an ROC AUC from ``positives`` and ``negatives`` rows."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / max(
        positives * negatives, 1
    )
    half = _z(confidence) * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)
