"""Selection: the fixed-sequence walk per family, family-wise confidence, budgets, and what it says."""

from __future__ import annotations

import numpy as np
import pytest

from routeeval.frontier import pareto_frontier
from routeeval.selection import select_policy
from routeeval.stats import paired_bootstrap, paired_drop_upper
from routeeval.sweep import ThresholdCandidate, evaluate_fixed, point_rows, single_tier_candidates, sweep_threshold

# -------------------------------------------------------------------------------------- selection


def _selection_case(seed=31, n_rows=3000, weak_accuracy=0.9):
    """Two tiers; the weak tier fails on 'hard' rows, and the router sees a noisy hardness signal."""
    rng = np.random.default_rng(seed)
    hard = rng.random(n_rows) < 1 - weak_accuracy
    strong = (rng.random(n_rows) < 0.95).astype(float)
    weak = np.where(hard, 0.0, strong)
    score = np.column_stack([weak, strong])
    cost = np.tile([1e-4, 1e-3], (n_rows, 1))
    latency = np.tile([100.0, 400.0], (n_rows, 1))
    accept = np.column_stack([np.where(hard, 0.3, 0.7) + rng.normal(0, 0.15, n_rows), np.zeros(n_rows)])
    router = ThresholdCandidate("classifier", "threshold", ["small", "large"], score, cost, latency, accept=accept)
    tiers = single_tier_candidates(["small", "large"], score, cost, latency)
    return router, tiers


def test_selection_walks_each_family_from_the_baseline_down_and_keeps_the_cheapest_pass():
    router, (small, large) = _selection_case()
    points = sweep_threshold(router) + [evaluate_fixed(small), evaluate_fixed(large)]
    frontier = pareto_frontier(points)

    selection = select_policy(frontier, [router, small, large], large, points=points, max_drop=0.01, confidence=0.95)

    assert selection.qualified
    assert selection.point.router == "classifier" and selection.point.cost_per_1k_usd < 1.0
    assert selection.bootstrap["accuracy_drop_upper"] <= 0.01
    # Two families (the classifier's thresholds and the single tier 'small'), each at level 0.05 / 2.
    assert selection.rule.startswith("cheapest point whose accuracy drop vs the baseline tier 'large' is <= 0.01")
    assert "each of 2 router variants" in selection.rule and "level 0.025 each" in selection.rule
    family = [row for row in selection.checked if row["router"] == "classifier"]
    costs = [row["cost_per_1k_usd"] for row in family]
    assert costs == sorted(costs, reverse=True)  # walked from the baseline down
    passed = [row["qualifies"] for row in family]
    stop = passed.index(False)
    assert all(passed[:stop]) and not any(passed[stop:]) and stop > 0
    assert all(row["tested"] for row in family[: stop + 1]) and not any(row["tested"] for row in family[stop + 1 :])
    assert family[stop]["p_value"] > 0.025 and all(row["p_value"] <= 0.025 for row in family[:stop])
    assert (
        all(row["accuracy_drop_upper"] <= 0.01 for row in family[:stop]) and family[stop]["accuracy_drop_upper"] > 0.01
    )
    assert selection.point.cost_per_1k_usd == min(costs[:stop])
    assert "is the cheapest point that passed" in selection.reason
    # The bound is the score test's inverted at the family-wise level, on exactly the chosen point's rows.
    score, cost, _ = point_rows(router, selection.point.decisions)
    difference = large.score[:, 1] - score
    direct = paired_drop_upper(np.maximum(difference, 0).sum(), np.maximum(-difference, 0).sum(), score.size, 0.025)
    assert selection.bootstrap["accuracy_drop_upper"] == pytest.approx(float(direct))
    bootstrap = paired_bootstrap(score, large.score[:, 1], cost, baseline_cost=large.cost[:, 1])
    assert selection.bootstrap["savings_share"] == pytest.approx(bootstrap["savings_share"])
    assert selection.point.latency_p95_ms == pytest.approx(400.0)
    assert selection.baseline.variant == "large"


def test_selection_never_skips_past_a_failed_point():
    """A cheaper point that passes on its own, after a dearer one failed, is not taken (fixed-sequence)."""
    n_rows = 1000
    strong = np.ones(n_rows)
    weak = np.ones(n_rows)
    weak[100:140] = 0.0  # routed second: 40 rows the weak tier gets wrong
    strong[140:400] = 0.0  # routed third: 260 rows only the weak tier gets right
    score = np.column_stack([weak, strong])
    cost = np.tile([1e-4, 1e-3], (n_rows, 1))
    latency = np.tile([100.0, 400.0], (n_rows, 1))
    accept = np.column_stack([np.linspace(1.0, 0.0, n_rows), np.zeros(n_rows)])  # row order = routing order
    router = ThresholdCandidate("classifier", "threshold", ["small", "large"], score, cost, latency, accept=accept)
    small, large = single_tier_candidates(["small", "large"], score, cost, latency)
    knobs = accept[[50, 120, 139, 300, 500], 0]
    points = [p for p in sweep_threshold(router, max_points=None) if np.isclose(p.knob, knobs).any()]
    assert len(points) == len(knobs)

    selection = select_policy(points, [router, small, large], large, points=points, max_drop=0.01)

    drops = {round(row["knob"], 6): row for row in selection.checked}
    cheapest = drops[round(float(knobs[-1]), 6)]
    assert cheapest["accuracy_drop"] < 0 and cheapest["p_value"] < 1e-6  # passes on its own
    assert not cheapest["tested"] and not cheapest["qualifies"]
    assert selection.qualified and selection.point.knob == pytest.approx(knobs[0])  # 51 rows routed, all right


def test_selection_says_when_nothing_qualifies_and_keeps_the_baseline():
    router, (small, large) = _selection_case(weak_accuracy=0.6)
    frontier = pareto_frontier(sweep_threshold(router) + [evaluate_fixed(small)])  # the baseline left out
    frontier = [p for p in frontier if p.tier_share["large"] < 0.5]

    selection = select_policy(frontier, [router, small], large, max_drop=0.01)

    assert not selection.qualified
    assert selection.point is selection.baseline and selection.point.variant == "large"
    assert selection.reason.startswith("nothing qualifies: no point up to the baseline's cost")
    assert selection.reason.endswith("chose the baseline tier 'large'")
    assert selection.bootstrap["accuracy_drop"] == (0.0, 0.0, 0.0)
    assert selection.checked and not any(row["qualifies"] for row in selection.checked)


def test_selection_under_a_budget():
    router, (small, large) = _selection_case()
    frontier = pareto_frontier(sweep_threshold(router) + [evaluate_fixed(small), evaluate_fixed(large)])

    selection = select_policy(frontier, [router, small, large], large, budget_per_1k_usd=0.5)

    affordable = [p for p in frontier if p.cost_per_1k_usd <= 0.5]
    assert selection.qualified
    assert selection.point.cost_per_1k_usd <= 0.5
    assert selection.point.accuracy == max(p.accuracy for p in affordable)
    assert selection.rule == "most accurate frontier point with cost <= $0.5 per 1k queries"

    broke = select_policy(frontier, [router, small, large], large, budget_per_1k_usd=0.01)

    assert not broke.qualified and broke.point.variant == "large"
    assert broke.reason == (
        "no frontier point costs <= $0.01 per 1k queries (cheapest: $0.1); chose the baseline tier 'large'"
    )


def test_selection_keeps_its_family_wise_promise_on_noise_routers():
    """Routers with no signal: a point sending share s to a weak tier that is wrong 30% of the time loses 0.3 s.
    Over many simulated eval sets, the chosen point's *true* drop exceeds max_drop in at most ~5% of them,
    although every family offers hundreds of points and the cheapest that happens to pass would often be too far.
    """
    rng = np.random.default_rng(51)
    n_rows, weak_error, max_drop, n_sets = 1000, 0.3, 0.01, 150
    violations = chosen_cheaper = 0
    for _ in range(n_sets):
        weak = (rng.random(n_rows) >= weak_error).astype(float)
        score = np.column_stack([weak, np.ones(n_rows)])
        cost = np.tile([1e-4, 1e-3], (n_rows, 1))
        latency = np.tile([100.0, 400.0], (n_rows, 1))
        routers = [
            ThresholdCandidate(
                f"noise{k}",
                "threshold",
                ["small", "large"],
                score,
                cost,
                latency,
                accept=np.column_stack([rng.random(n_rows), np.zeros(n_rows)]),
            )
            for k in range(3)
        ]
        small, large = single_tier_candidates(["small", "large"], score, cost, latency)
        points = [p for r in routers for p in sweep_threshold(r)] + [evaluate_fixed(small)]
        selection = select_policy(
            pareto_frontier(points), [*routers, small, large], large, points=points, max_drop=max_drop, n_resamples=50
        )
        routed = selection.point.tier_share["small"]
        chosen_cheaper += routed > 0
        violations += weak_error * routed > max_drop
    assert violations / n_sets <= 0.04  # measured 1 of 150; pointwise bounds without the walk: 8 of 150
    assert chosen_cheaper / n_sets > 0.5  # and it is not simply refusing everything


def test_selection_needs_a_fixed_baseline():
    router, (small, large) = _selection_case(n_rows=200)

    with pytest.raises(ValueError, match="it must be a fixed candidate"):
        select_policy(sweep_threshold(router), [router, small, large], router)
