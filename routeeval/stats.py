"""Confidence intervals and the statistics behind every number routeeval reports."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np


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


def wilson_interval(mean: float, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Wilson score interval of ``n`` binary outcomes with this mean (``mean_ci``'s)."""
    if n == 0:
        return math.nan, math.nan, math.nan
    z = _z(confidence)
    denominator = 1 + z * z / n
    centre = (mean + z * z / (2 * n)) / denominator
    half = z * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n)) / denominator
    return mean, max(0.0, centre - half), min(1.0, centre + half)


def _z(confidence: float) -> float:
    """Two-sided standard-normal quantile for ``confidence`` (1.96 at 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


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
    position = {}
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
