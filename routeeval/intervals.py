"""The Wilson score interval, standard library only: what code that must start fast (the labeler's status line)
needs from :mod:`routeeval.stats` without importing numpy."""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_interval(mean: float, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Wilson score interval of ``n`` binary outcomes with this mean."""
    if n == 0:
        return math.nan, math.nan, math.nan
    z = z_value(confidence)
    denominator = 1 + z * z / n
    centre = (mean + z * z / (2 * n)) / denominator
    half = z * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n)) / denominator
    return mean, max(0.0, centre - half), min(1.0, centre + half)


def z_value(confidence: float) -> float:
    """Two-sided standard-normal quantile for ``confidence`` (1.96 at 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)
