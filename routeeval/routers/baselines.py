"""Baselines every report compares against: one tier for everything, a random mix, and the oracle."""

from __future__ import annotations


def single_tier_choice(n_rows: int, tier: int):
    """Every query to ``tier``."""
    import numpy as np

    return np.full(n_rows, int(tier))


def random_mix_choice(n_rows: int, shares, random_state: int = 0):
    """Each query to a tier drawn with probabilities ``shares`` (one per tier, summing to 1), seeded."""
    import numpy as np

    shares = np.asarray(shares, dtype=float)
    if shares.ndim != 1 or (shares < 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ValueError("shares must be non-negative, one per tier, summing to 1")
    rng = np.random.default_rng(random_state)
    return rng.choice(shares.size, size=n_rows, p=shares / shares.sum())


def oracle_choice(correct, cost_usd):
    """Per query, the cheapest tier that answered correctly (by that query's cost; ties to the earlier
    tier); the cheapest tier when none did. Failed calls (NaN) count as not correct.

    "Correct" keeps a threshold: a score >= 0.5 (``RouterData.correct``), so with graded scores (a
    judge's 7/10) the oracle is "the cheapest good-enough tier", not "the tier with the best score"."""
    import numpy as np

    correct = np.asarray(correct, dtype=float)
    costs = np.asarray(cost_usd, dtype=float)
    costs = np.where(np.isnan(costs), np.inf, costs)
    right = np.nan_to_num(correct, nan=0.0) >= 0.5
    cheapest_right = np.where(right, costs, np.inf).argmin(axis=1)
    return np.where(right.any(axis=1), cheapest_right, costs.argmin(axis=1))
