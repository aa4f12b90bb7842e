"""Sweeps: threshold and utility rules against hand-computed and brute-force cases, fixed candidates, completion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from routeeval.frontier import pareto_frontier
from routeeval.selection import select_policy
from routeeval.sweep import (
    Candidate,
    FixedCandidate,
    ThresholdCandidate,
    UtilityCandidate,
    complete_point,
    complete_points,
    decisions_at,
    evaluate_fixed,
    point_rows,
    single_tier_candidates,
    sweep_candidate,
    sweep_threshold,
    sweep_utility,
)

# ------------------------------------------------------------------------------------------ helpers


def _brute_threshold(accept, knob):
    """The rule as written: the first option whose accept reaches the knob, else the last."""
    n_rows, n_options = accept.shape
    decisions = np.full(n_rows, n_options - 1)
    for row in range(n_rows):
        for k in range(n_options - 1):
            if accept[row, k] >= knob:  # NaN never accepts
                decisions[row] = k
                break
    return decisions


def _brute_utility(prob, option_cost, lam):
    n_rows, n_options = prob.shape
    decisions = np.zeros(n_rows, dtype=int)
    for row in range(n_rows):
        best = -math.inf
        for k in range(n_options):
            value = -math.inf if math.isnan(prob[row, k]) else prob[row, k] - lam * option_cost[k]
            if value > best:
                best, decisions[row] = value, k
    return decisions


def _brute_point(candidate, decisions):
    rows = np.arange(candidate.n_rows)
    score = candidate.score[rows, decisions]
    cost = candidate.cost[rows, decisions]
    shares = candidate.tier_calls[decisions].mean(axis=0)
    return np.nanmean(score), 1000 * np.nanmean(cost), shares


def _random_candidate(rng, n_rows, n_options, rule, *, nan_share=0.1, rounded=False, option_cost=None):
    score = (rng.random((n_rows, n_options)) < np.linspace(0.4, 0.9, n_options)).astype(float)
    score[rng.random((n_rows, n_options)) < nan_share] = np.nan
    cost = np.cumsum(rng.uniform(0.5, 1.5, (n_rows, n_options)), axis=1) * 1e-3
    latency = rng.gamma(2.0, 200.0, (n_rows, n_options))
    signal = rng.random((n_rows, n_options))
    if rounded:
        signal = signal.round(1)  # many ties
    signal[rng.random((n_rows, n_options)) < nan_share / 2] = np.nan
    options = [f"t{k}" for k in range(n_options)]
    if rule == "threshold":
        return ThresholdCandidate("classifier", "threshold", options, score, cost, latency, accept=signal)
    return UtilityCandidate(
        "classifier", "utility", options, score, cost, latency, utility_prob=signal, option_cost=option_cost
    )


def _check_against_brute(candidate, points, brute_decisions):
    assert points
    for point in points:
        decisions = brute_decisions(point.knob)
        accuracy, cost, shares = _brute_point(candidate, decisions)
        assert point.accuracy == pytest.approx(accuracy, abs=1e-12)
        assert point.cost_per_1k_usd == pytest.approx(cost, rel=1e-12)
        assert list(point.tier_share.values()) == pytest.approx(list(shares), abs=1e-12)
        assert point.n_scored == int(
            np.count_nonzero(~np.isnan(candidate.score[np.arange(candidate.n_rows), decisions]))
        )
        np.testing.assert_array_equal(decisions_at(candidate, point.knob), decisions)


# -------------------------------------------------------------------------------- threshold sweep


def test_threshold_sweep_two_options_by_hand():
    accept = np.array([[0.9, 0], [0.2, 0], [0.5, 0], [0.7, 0]], dtype=float)
    score = np.array([[1, 1], [0, 1], [1, 1], [0, 0]], dtype=float)
    cost = np.tile([0.001, 0.01], (4, 1))
    candidate = ThresholdCandidate(
        "classifier", "threshold", ["small", "large"], score, cost, cost * 1000, accept=accept
    )

    points = sweep_threshold(candidate)

    assert [p.knob for p in points] == [0.2, 0.5, 0.7, 0.9, math.inf]
    assert [p.accuracy for p in points] == pytest.approx([0.5, 0.75, 0.75, 0.75, 0.75])
    assert [p.cost_per_1k_usd for p in points] == pytest.approx([1.0, 3.25, 5.5, 7.75, 10.0])
    assert [p.tier_share["large"] for p in points] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert [p.tier_share["small"] for p in points] == pytest.approx([1, 0.75, 0.5, 0.25, 0.0])
    assert all(p.rule == "threshold" and p.decisions is None for p in points)


def test_threshold_sweep_three_option_cascade_by_hand():
    # Running max of accept: row0 [0.3, 0.8], row1 [0.6, 0.7], row2 [0.1, 0.2]; the last column is never read.
    accept = np.array([[0.3, 0.8, 9], [0.6, 0.7, 9], [0.1, 0.2, 9]])
    score = np.array([[0, 1, 1], [1, np.nan, 1], [0, 0, 1]])
    cost = np.array([[1, 3, 6]] * 3) * 1e-3  # cumulative: a cascade pays for every tier it tried
    calls = np.tril(np.ones((3, 3)))  # stopping at k means tiers 0..k were called
    candidate = ThresholdCandidate(
        "cascade", "a>b>c", ["a", "a>b", "a>b>c"], score, cost, cost, tier_calls=calls, accept=accept,
        tiers=["a", "b", "c"],
    )  # fmt: skip

    points = sweep_threshold(candidate)

    assert [p.knob for p in points] == [0.1, 0.2, 0.3, 0.6, 0.7, 0.8, math.inf]
    assert [p.accuracy for p in points] == pytest.approx([1 / 3, 1 / 3, 2 / 3, 1, 1, 1, 1])
    assert [p.n_scored for p in points] == [3, 3, 3, 3, 2, 3, 3]  # the failed call is not a wrong answer
    assert [p.cost_per_1k_usd for p in points] == pytest.approx([1, 5 / 3, 8 / 3, 10 / 3, 4, 5, 6])
    assert [p.tier_share["a"] for p in points] == pytest.approx([1] * 7)
    assert [p.tier_share["b"] for p in points] == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 1, 1, 1])
    assert [p.tier_share["c"] for p in points] == pytest.approx([0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_array_equal(decisions_at(candidate, 0.7), [1, 1, 2])


@pytest.mark.parametrize("n_options", [2, 3, 5])
@pytest.mark.parametrize("rounded", [False, True])
def test_threshold_sweep_equals_brute_force(n_options, rounded):
    rng = np.random.default_rng(n_options + 10 * rounded)
    candidate = _random_candidate(rng, 80, n_options, "threshold", rounded=rounded)

    points = sweep_threshold(candidate, max_points=None)

    _check_against_brute(candidate, points, lambda knob: _brute_threshold(candidate.accept, knob))
    distinct = np.unique(np.fmax.accumulate(np.nan_to_num(candidate.accept[:, :-1], nan=-np.inf), axis=1))
    assert len(points) == np.isfinite(distinct).sum() + 1  # every distinct breakpoint, plus +inf


def test_threshold_sweep_caps_points_and_stays_exact():
    rng = np.random.default_rng(7)
    candidate = _random_candidate(rng, 500, 3, "threshold")

    points = sweep_threshold(candidate, max_points=12)

    assert len(points) <= 12
    assert points[-1].knob == math.inf and points[-1].tier_share["t2"] == pytest.approx(1.0)
    assert points[0].tier_share["t0"] > 0.9  # the smallest breakpoint: only never-accepting rows move
    _check_against_brute(candidate, points, lambda knob: _brute_threshold(candidate.accept, knob))


def test_threshold_sweep_of_100k_rows_by_5_options_runs():
    rng = np.random.default_rng(0)
    candidate = _random_candidate(rng, 100_000, 5, "threshold", nan_share=0.01)

    points = sweep_threshold(candidate)

    assert 100 < len(points) <= 200
    costs = [p.cost_per_1k_usd for p in points]
    assert costs == sorted(costs)  # a higher threshold only escalates
    assert points[-1].tier_share["t4"] == pytest.approx(1.0)
    middle = points[len(points) // 2]
    accuracy, cost, _ = _brute_point(candidate, decisions_at(candidate, middle.knob))
    assert middle.accuracy == pytest.approx(accuracy) and middle.cost_per_1k_usd == pytest.approx(cost)


@pytest.mark.parametrize("binary", [True, False])
def test_complete_points_equals_complete_point_on_every_point(binary):
    """The one-sort latency percentiles and count-based CIs are exactly complete_point's, ties and NaN included."""
    rng = np.random.default_rng(7)
    for n_rows, n_options in [(1, 2), (3, 2), (40, 3), (700, 4)]:
        score = rng.integers(0, 2, (n_rows, n_options)).astype(float) if binary else rng.random((n_rows, n_options))
        score[rng.random(score.shape) < 0.05] = np.nan
        latency = rng.lognormal(5, 1, (n_rows, n_options)).round(0)  # rounded: many ties
        latency[rng.random(latency.shape) < 0.1] = np.nan
        accept = rng.random((n_rows, n_options)).round(2)
        accept[rng.random(accept.shape) < 0.05] = np.nan
        cost = np.sort(rng.random((n_rows, n_options)), axis=1)
        candidate = ThresholdCandidate(
            "r", "v", [f"o{k}" for k in range(n_options)], score, cost, latency, accept=accept
        )
        points = sweep_threshold(candidate, max_points=None)
        fast = complete_points(candidate, points, 0.9)
        for point, quick in zip(points, fast, strict=True):
            slow = complete_point(candidate, point, 0.9)
            assert quick.decisions is None
            for name in ("accuracy_ci", "latency_p50_ms", "latency_p95_ms"):
                expected, got = np.asarray(getattr(slow, name), float), np.asarray(getattr(quick, name), float)
                assert np.array_equal(expected, got, equal_nan=True), (n_rows, point.knob, name)


@pytest.mark.parametrize("max_points", [None, 12])
def test_threshold_sweep_with_every_boundary_column_equal(max_points):
    """A static router without rules accepts on the first tier and the last only: its running maxima are one
    column repeated. The sweep reads that column once and takes the same knobs the rule states on all of them."""
    rng = np.random.default_rng(17)
    n_rows, n_options = 400, 4
    accept = np.full((n_rows, n_options), -np.inf)
    accept[:, 0] = -rng.integers(10, 90, n_rows).astype(float)  # -characters, many ties
    accept[:, -1] = np.inf
    accept[rng.random(n_rows) < 0.05, 0] = -np.inf
    candidate = _random_candidate(rng, n_rows, n_options, "threshold")
    candidate = ThresholdCandidate("static", "length", candidate.options, candidate.score, candidate.cost,
                          candidate.latency, accept=accept)  # fmt: skip

    points = sweep_threshold(candidate, max_points=max_points)

    _check_against_brute(candidate, points, lambda knob: _brute_threshold(candidate.accept, knob))
    values = np.sort(np.fmax.accumulate(accept[:, :-1], axis=1).ravel())  # every breakpoint, with repeats
    values = values[values > -np.inf]
    if max_points is None:
        expected = np.unique(values)
    else:
        positions = np.linspace(0, values.size - 1, max_points - 1).round().astype(int)
        expected = np.unique(values[positions])
    assert [p.knob for p in points] == [*expected.tolist(), math.inf]


@pytest.mark.parametrize("rule", ["threshold", "utility"])
def test_selection_and_frontier_read_the_sweep_the_same_as_fresh_candidates(rule):
    """Selection and completion reuse what the sweep computed per candidate; on fresh copies of the candidates
    (nothing kept) every number is the same."""
    rng = np.random.default_rng(23)
    swept = _random_candidate(rng, 2000, 3, rule, nan_share=0.02)
    tiers = single_tier_candidates(swept.options, swept.score, swept.cost, swept.latency)

    def fresh():
        arrays = (swept.router, swept.variant, swept.options, swept.score, swept.cost, swept.latency)
        if isinstance(swept, ThresholdCandidate):
            return ThresholdCandidate(*arrays, accept=swept.accept)
        return UtilityCandidate(*arrays, utility_prob=swept.utility_prob)

    points = sweep_candidate(swept) + [evaluate_fixed(t) for t in tiers]
    frontier = pareto_frontier(points)
    kept = select_policy(frontier, [swept, *tiers], tiers[-1], points=points, max_drop=0.05, n_resamples=200)
    again = select_policy(frontier, [fresh(), *tiers], tiers[-1], points=points, max_drop=0.05, n_resamples=200)
    assert kept.checked == again.checked and kept.bootstrap == again.bootstrap and kept.reason == again.reason
    mine = [p for p in frontier if p.router == swept.router]
    assert len(mine) >= 8  # enough for the batched completion
    same = [repr(p) for p in complete_points(fresh(), mine)]  # every field; floats to the last bit
    assert [repr(p) for p in complete_points(swept, mine)] == same
    assert [repr(p) for p in sweep_candidate(swept)] == [repr(p) for p in sweep_candidate(fresh())]


# ---------------------------------------------------------------------------------- utility sweep


@pytest.mark.parametrize("n_options", [2, 3, 5])
def test_utility_sweep_equals_brute_force(n_options):
    rng = np.random.default_rng(100 + n_options)
    candidate = _random_candidate(rng, 80, n_options, "utility")

    points = sweep_utility(candidate)

    assert len(points) == 100 and points[0].knob == 0.0
    _check_against_brute(
        candidate, points, lambda lam: _brute_utility(candidate.utility_prob, candidate.option_cost, lam)
    )
    np.testing.assert_allclose(candidate.option_cost, np.nanmean(candidate.cost, axis=0))


def test_utility_default_grid_ends_with_every_row_on_the_cheapest_option():
    rng = np.random.default_rng(5)
    candidate = _random_candidate(rng, 200, 4, "utility", nan_share=0.0)

    points = sweep_utility(candidate)

    assert points[-1].tier_share["t0"] == pytest.approx(1.0)
    at_zero = np.argmax(candidate.utility_prob, axis=1)  # lambda = 0: the most probable option
    np.testing.assert_array_equal(decisions_at(candidate, 0.0), at_zero)


def test_utility_sweep_with_unordered_option_costs_broadcasts():
    rng = np.random.default_rng(9)
    option_cost = np.array([2e-3, 1e-3, 1e-3, 5e-3])  # not strictly increasing: no exact breakpoints
    candidate = _random_candidate(rng, 60, 4, "utility", option_cost=option_cost)
    lambdas = np.array([0, 10, 50, 100, 300, 1000, 5000])

    points = sweep_utility(candidate, lambdas)

    assert [p.knob for p in points] == lambdas.tolist()
    _check_against_brute(candidate, points, lambda lam: _brute_utility(candidate.utility_prob, option_cost, lam))


def test_fixed_router_and_single_tiers():
    score = np.array([[1, 1], [0, 1], [np.nan, 0]])
    cost = np.array([[1, 4], [1, 4], [1, 4]]) * 1e-3
    latency = np.array([[10, 100], [20, 200], [30, 300]])
    static = FixedCandidate("static", "rules", ["small", "large"], score, cost, latency, fixed=[0, 1, 0])

    point = evaluate_fixed(static)

    assert point.knob is None and point.accuracy == pytest.approx(1.0) and point.n_scored == 2
    assert point.cost_per_1k_usd == pytest.approx(2.0)
    assert point.tier_share == pytest.approx({"small": 2 / 3, "large": 1 / 3})
    np.testing.assert_array_equal(point.decisions, [0, 1, 0])
    small, large = single_tier_candidates(["small", "large"], score, cost, latency)
    assert (large.router, large.variant) == ("tier", "large")
    assert sweep_candidate(large)[0].accuracy == pytest.approx(2 / 3)
    done = complete_point(static, point)
    assert done.latency_p50_ms == pytest.approx(30) and done.accuracy_ci[1] == pytest.approx(1.0)
    rows_score, rows_cost, rows_latency = point_rows(static, point.decisions)
    np.testing.assert_array_equal(rows_latency, [10, 200, 30])


def test_candidate_validation():
    score = np.zeros((3, 2))
    with pytest.raises(ValueError, match="cost must be 3 x 2"):
        ThresholdCandidate("x", "y", ["a", "b"], score, np.zeros((3, 3)), score, accept=score)
    with pytest.raises(ValueError, match="fixed must be 3 option indexes"):
        FixedCandidate("x", "y", ["a", "b"], score, score, score, fixed=[0, 2, 0])
    with pytest.raises(ValueError, match="option_cost must be 2 finite numbers"):
        UtilityCandidate("x", "y", ["a", "b"], score, score, score, utility_prob=score, option_cost=[0, np.nan])
    candidate = ThresholdCandidate("x", "y", ["a", "b"], score, score, score, accept=score)
    with pytest.raises(ValueError, match="uses the threshold rule, not utility"):
        sweep_utility(candidate)
    with pytest.raises(ValueError, match="uses the threshold rule, not fixed"):
        decisions_at(candidate, 0.5, "fixed")


def test_a_candidate_is_one_rule_by_its_type():
    """Exactly one of accept / utility_prob / fixed is in the types: each class takes its own and no other."""
    score = np.zeros((3, 2))
    arrays = ("x", "y", ["a", "b"], score, score, score)
    made = [
        ThresholdCandidate(*arrays, accept=score),
        UtilityCandidate(*arrays, utility_prob=score),
        FixedCandidate(*arrays, fixed=[0, 1, 0]),
    ]
    assert [c.rule for c in made] == ["threshold", "utility", "fixed"]
    assert all(isinstance(c, Candidate) for c in made)
    with pytest.raises(TypeError):
        ThresholdCandidate(*arrays, accept=score, fixed=[0, 0, 0])
    with pytest.raises(TypeError):
        FixedCandidate(*arrays, utility_prob=score)
    with pytest.raises(TypeError):
        UtilityCandidate(*arrays)  # the rule's own field is required
    assert [p.rule for c in made for p in sweep_candidate(c, lambdas=[0.0])] == ["threshold"] * 2 + ["utility", "fixed"]
