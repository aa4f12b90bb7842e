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
    score, cost, latency = (
        frame[column].to_numpy(dtype=float, na_value=np.nan) for column in (C.SCORE, C.COST_USD, C.LATENCY_MS)
    )
    summary = []
    for tier in tier_order:
        rows = keep & np.append(tier_values == tier, False)[tier_codes]
        ok = rows & ~failed
        scores = score[ok]
        accuracy, low, high = mean_ci(scores, confidence)
        costs = cost[ok]
        latencies = latency[ok]
        summary.append(
            {
                "tier": tier,
                "rows": int(rows.sum()),
                "scored": int(np.count_nonzero(~np.isnan(scores))),
                "accuracy": _clean(accuracy),
                "accuracy_ci": [_clean(low), _clean(high)],
                "cost_per_1k_usd": _clean(float(np.nanmean(costs)) * 1000 if costs.size else math.nan),
                "latency_p50_ms": _clean(quantile(latencies, 0.5)),
                "latency_p95_ms": _clean(quantile(latencies, 0.95)),
                "errors": int((rows & failed).sum()),
            }
        )
    return summary


def _clean(value: float) -> float | None:
    """JSON-friendly: NaN becomes None."""
    return None if value is None or math.isnan(value) else float(value)
