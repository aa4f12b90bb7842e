"""The paired bootstrap and the paired score test of an accuracy drop."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from routeeval.stats import Resampler, paired_bootstrap, paired_drop_pvalue, paired_drop_upper

# -------------------------------------------------------------------------------------- bootstrap


def test_bootstrap_matches_a_known_bernoulli():
    rng = np.random.default_rng(21)
    n_rows = 2000
    score = (rng.random(n_rows) < 0.7).astype(float)
    baseline = (rng.random(n_rows) < 0.7).astype(float)
    cost = np.full(n_rows, 2e-4)

    result = paired_bootstrap(score, baseline, cost, baseline_cost=cost * 2)

    estimate, low, high = result["accuracy"]
    assert estimate == pytest.approx(score.mean())
    assert low < 0.7 < high
    assert high - low == pytest.approx(2 * 1.96 * math.sqrt(0.21 / n_rows), rel=0.2)
    drop, drop_low, drop_high = result["accuracy_drop"]
    assert drop == pytest.approx(baseline.mean() - score.mean())
    assert drop_low < drop < result["accuracy_drop_upper"] < drop_high  # one-sided 95% sits inside two-sided 95%
    assert result["cost_per_1k_usd"] == pytest.approx((0.2, 0.2, 0.2))
    assert result["savings_share"] == pytest.approx((0.5, 0.5, 0.5))
    assert result["mode"] == "rows" and result["n_resamples"] == 1000
    assert paired_bootstrap(score, baseline, cost) == paired_bootstrap(score, baseline, cost)  # seeded


def test_bootstrap_drops_failed_calls_pairwise():
    score = np.array([1, 0, np.nan, 1, 1.0] * 40)
    baseline = np.array([1, 1, 1, np.nan, 1.0] * 40)

    result = paired_bootstrap(score, baseline, np.ones(200) * 1e-3, n_resamples=200)

    assert result["accuracy"][0] == pytest.approx(3 / 4)
    assert result["baseline_accuracy"][0] == pytest.approx(1.0)
    assert result["accuracy_drop"][0] == pytest.approx(1 / 3)  # rows 0, 1 and 4 have both scores
    assert result["n_paired"] == 120


def test_block_bootstrap_agrees_with_row_bootstrap():
    rng = np.random.default_rng(22)
    n_rows = 200_000
    score = (rng.random(n_rows) < 0.7).astype(float)
    baseline = np.where(rng.random(n_rows) < 0.9, score, 1 - score)
    cost = rng.gamma(2.0, 1e-4, n_rows)

    blocks = paired_bootstrap(score, baseline, cost, n_resamples=400)
    rows = paired_bootstrap(score, baseline, cost, n_resamples=400, max_blocks=n_rows)

    assert (blocks["mode"], rows["mode"]) == ("blocks", "rows")
    for key in ("accuracy", "accuracy_drop", "cost_per_1k_usd"):
        assert blocks[key][0] == pytest.approx(rows[key][0])
        assert blocks[key][2] - blocks[key][1] == pytest.approx(rows[key][2] - rows[key][1], rel=0.15)
    expected_width = 2 * 1.96 * math.sqrt(0.21 / n_rows)
    assert blocks["accuracy"][2] - blocks["accuracy"][1] == pytest.approx(expected_width, rel=0.15)


def test_one_resampler_gives_paired_bootstrap_for_every_policy():
    """Policies compared through one Resampler get exactly paired_bootstrap's numbers at the same seed."""
    rng = np.random.default_rng(24)
    baseline = (rng.random(500) < 0.8).astype(float)
    cost = rng.gamma(2.0, 1e-4, 500)
    resampler = Resampler(500, n_resamples=300, seed=7, max_blocks=100)
    for share in (0.1, 0.5):
        score = np.where(rng.random(500) < share, 1 - baseline, baseline)
        shared = resampler.paired_bootstrap(score, baseline, cost / 2, cost, confidence=0.9)
        alone = paired_bootstrap(
            score, baseline, cost / 2, baseline_cost=cost, n_resamples=300, confidence=0.9, seed=7, max_blocks=100
        )
        assert shared == alone and shared["mode"] == "blocks"


def test_paired_drop_upper_bound_covers_a_known_drop():
    rng = np.random.default_rng(41)
    n_rows, p_worse, p_better = 800, 0.03, 0.01  # true drop 0.02
    counts = rng.multinomial(n_rows, [p_worse, p_better, 1 - p_worse - p_better], size=4000)

    upper = paired_drop_upper(counts[:, 0], counts[:, 1], n_rows, 0.05)

    assert 0.03 <= np.mean(upper < 0.02) <= 0.07  # one-sided 95%: misses about 5% of the time
    z = NormalDist().inv_cdf(0.95)
    assert float(paired_drop_upper(0, 0, 300, 0.05)) == pytest.approx(z * z / (300 + z * z))  # no disagreement
    assert float(paired_drop_pvalue(30, 10, 1000, 0.0)) == pytest.approx(NormalDist().cdf(20 / math.sqrt(40)))
    assert np.isnan(paired_drop_upper(0, 0, 0, 0.05))
