"""The frontier and its areas: Pareto points, the zero router's hull, AIQ, APGR and CPT (RouteLLM's recipe too)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pytest

from routeeval.frontier import aiq, apgr, cpt, pareto_frontier, routellm_apgr_cpt, zero_router_hull
from routeeval.sweep import OperatingPoint, ThresholdCandidate, sweep_threshold

# ------------------------------------------------------------------------------ frontier and AIQ


def _point(cost, accuracy, name="r"):
    return OperatingPoint(name, "v", None, accuracy, cost, {})


def test_pareto_frontier_keeps_non_dominated_points_sorted_by_cost():
    points = [
        _point(3, 0.8, "c"),
        _point(1, 0.6, "a"),
        _point(2, 0.55, "dominated"),
        _point(2, 0.7, "b"),
        _point(4, 0.8, "same accuracy, dearer"),
        _point(1, 0.5, "same cost, worse"),
        _point(5, math.nan, "failed"),
        _point(6, 0.9, "d"),
    ]

    frontier = pareto_frontier(points)

    assert [p.router for p in frontier] == ["a", "b", "c", "d"]


def test_zero_router_hull():
    assert zero_router_hull([(2, 0.6), (1, 0.5), (4, 0.9), (5, 0.85)]) == [(1, 0.5), (4, 0.9)]
    assert zero_router_hull([(1, 0.5), (2, 0.8), (4, 0.9)]) == [(1, 0.5), (2, 0.8), (4, 0.9)]
    assert zero_router_hull([(1, 0.9), (2, 0.8)]) == [(1, 0.9)]  # the cheapest is also the best


def test_pareto_frontier_takes_any_cost_accuracy_points():
    class Point(NamedTuple):
        name: str
        cost_per_1k_usd: float
        accuracy: float

    points = [Point("b", 2, 0.7), Point("a", 1, 0.6), Point("dominated", 2, 0.5)]

    assert [p.name for p in pareto_frontier(points)] == ["a", "b"]


def test_aiq_hand_cases():
    # Trapezoid: (0, 0.5) to (1, 1): area 0.75 over a range of 1.
    assert aiq([0, 1], [0.5, 1.0]) == pytest.approx(0.75)
    # Triangle then flat: (0, 0) to (2, 1), flat to 4: (1 + 2) / 4; the dominated (1, 0.2) and (3, 0.9) change nothing.
    assert aiq([0, 2, 1, 3], [0, 1, 0.2, 0.9], cost_range=(0, 4)) == pytest.approx(0.75)
    # Nothing left of the cheapest point: (1, 1) over (0, 2) is 1 * 1 / 2.
    assert aiq([1], [1.0], cost_range=(0, 2)) == pytest.approx(0.5)
    # The zero router's AIQ is the AIQ of the single tiers.
    single = [(1, 0.5), (2, 0.6), (4, 0.9)]
    hull_area = (0.5 + 0.9) / 2 * 3  # the hull is the single segment (1, 0.5)-(4, 0.9)
    assert aiq(*zip(*single, strict=True)) == pytest.approx(hull_area / 3)


# ---------------------------------------------------------------------------------------- APGR/CPT


def test_apgr_and_cpt_by_hand():
    share, accuracy = [0, 0.5, 1], [0.5, 0.8, 0.9]  # PGR 0, 0.75, 1

    assert apgr(share, accuracy, 0.5, 0.9, grid="fine") == pytest.approx(0.625)
    assert apgr(share, accuracy, 0.5, 0.9) == pytest.approx(0.625)
    assert cpt(share, accuracy, 0.5, 0.9, 0.5) == pytest.approx(1 / 3)
    assert cpt(share, accuracy, 0.5, 0.9, 0.8) == pytest.approx(0.6)
    assert cpt([10, 20, 40], accuracy, 0.5, 0.9, 0.8) == pytest.approx(24)  # dollars work the same way
    assert math.isnan(cpt(share, [0.5, 0.6, 0.7], 0.5, 0.9, 0.8))


def _two_tier_rows(rng, n_rows):
    weak = (rng.random(n_rows) < 0.5).astype(float)
    strong = (rng.random(n_rows) < 0.8).astype(float)
    return np.column_stack([weak, strong])


def test_apgr_of_a_random_router_is_one_half():
    rng = np.random.default_rng(11)
    score = _two_tier_rows(rng, 20_000)
    cost = np.tile([1e-4, 1e-3], (score.shape[0], 1))
    random_scores = rng.random((score.shape[0], 2))  # accept the weak tier when a coin reaches the threshold
    candidate = ThresholdCandidate("random", "coin", ["weak", "strong"], score, cost, cost, accept=random_scores)
    points = sweep_threshold(candidate, max_points=None)
    share = [p.tier_share["strong"] for p in points]
    accuracy = [p.accuracy for p in points]
    weak, strong = score.mean(axis=0)

    assert apgr(share, accuracy, weak, strong, grid="fine") == pytest.approx(0.5, abs=0.02)
    assert apgr(share, accuracy, weak, strong) == pytest.approx(0.5, abs=0.03)
    assert cpt(share, accuracy, weak, strong, 0.5) == pytest.approx(0.5, abs=0.05)


def test_apgr_quantile11_matches_routellm_when_deciles_fall_on_whole_rows():
    # At 1,000 distinct scores RouteLLM's decile cut-offs leave exactly 0, 100, ..., 1000 rows on the strong model.
    rng = np.random.default_rng(12)
    n_rows = 1000
    score = _two_tier_rows(rng, n_rows)
    win_rate = np.clip(0.5 * (score[:, 1] - score[:, 0]) + rng.normal(0.5, 0.3, n_rows), 0, 1)
    # RouteLLM: thresholds at the 0, 10, ..., 100% quantiles; strong when win_rate >= t (> t for the last).
    thresholds = np.quantile(win_rate, np.linspace(0, 1, 11))
    shares, accuracies = [], []
    for i, t in enumerate(thresholds):
        strong = win_rate >= t if i < 10 else win_rate > t
        shares.append(strong.mean())
        accuracies.append(np.where(strong, score[:, 1], score[:, 0]).mean())
    order = np.argsort(shares)
    shares, accuracies = np.array(shares)[order], np.array(accuracies)[order]
    weak, strong = score.mean(axis=0)
    auc = np.trapezoid(accuracies, shares)
    routellm = (auc - weak * (shares[-1] - shares[0])) / ((strong - weak) * (shares[-1] - shares[0]))
    # The same router as a candidate: stay on the weak tier while 1 - win_rate reaches the threshold.
    cost = np.tile([1e-4, 1e-3], (n_rows, 1))
    accept = np.column_stack([1 - win_rate, np.zeros(n_rows)])
    points = sweep_threshold(
        ThresholdCandidate("bert", "t", ["weak", "strong"], score, cost, cost, accept=accept), None
    )

    ours = apgr([p.tier_share["strong"] for p in points], [p.accuracy for p in points], weak, strong)

    assert ours == pytest.approx(routellm, abs=1e-12)


def test_routellm_recipe_by_hand():
    # Five rows, route scores 5..1: decile cut-offs 1, 1.4, ..., 4.6 and (strictly above) 5 leave 5, 4, 4, 3, 3, 3,
    # 2, 2, 1, 1, 0 rows on the strong model, i.e. every share 0, 0.2, ..., 1.
    route = [5, 4, 3, 2, 1]
    weak, strong = [0, 1, 0, 1, 1], [1, 1, 1, 1, 1]  # accuracies 0.6 and 1.0
    # Accuracy at shares 0, .2, .4, .6, .8, 1: .6, .8, .8, 1, 1, 1; area .88, so APGR (.88 - .6) / .4 = .7.
    value, (cpt25, cpt80, beyond) = routellm_apgr_cpt(route, weak, strong, targets=(0.25, 0.8, 1.5))

    assert value == pytest.approx(0.7)
    assert cpt25 == pytest.approx(0.1)  # accuracy .7: halfway from (0, .6) to (.2, .8)
    assert cpt80 == pytest.approx(0.52)  # accuracy .92: 60% of the way from (.4, .8) to (.6, 1)
    assert beyond == pytest.approx(1.0)  # np.interp clamps to the last share where cpt() gives NaN


def test_routellm_recipe_grid_differs_from_quantile11_at_twelve_rows():
    # Twelve distinct scores: RouteLLM's cut-offs sit at sorted positions 0, 1.1, ..., 9.9, 11 and leave 12, 10, 9,
    # ..., 2, 0 rows on the strong model: no point at 11/12 (quantile11 takes it, for share 0.9) nor at 1/12.
    route = np.arange(12, 0, -1)
    weak, strong = np.zeros(12), np.r_[np.zeros(11), 1.0]  # only the lowest-scored row gains from the strong model
    # PGR is 0 up to share 10/12 and 1 at share 1: area 1/12 (RouteLLM) against 1/24 with the point at 11/12.
    value, (cpt50,) = routellm_apgr_cpt(route, weak, strong, targets=(0.5,))
    share = np.arange(13) / 12
    accuracy = np.r_[np.zeros(12), 1 / 12]

    assert value == pytest.approx(1 / 12)
    assert apgr(share, accuracy, 0.0, 1 / 12) == pytest.approx(1 / 24)
    assert cpt50 == pytest.approx(11 / 12)  # halfway from (10/12, 0) to (1, 1/12)
    assert cpt(share, accuracy, 0.0, 1 / 12, 0.5) == pytest.approx(23 / 24)


def test_routellm_recipe_matches_routellm_code_at_72_rows():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(13)
    n_rows = 72  # MT-Bench after decontamination
    score = _two_tier_rows(rng, n_rows)
    win_rate = 0.5 * (score[:, 1] - score[:, 0]) + rng.normal(0.5, 0.3, n_rows)  # distinct: qcut takes it
    # benchmarks.py: pd.qcut edges, strong when >= the edge (> for the last); evaluate.py: sort by share, trapezoid,
    # np.interp of the target accuracy over the accuracies.
    _, thresholds = pd.qcut(pd.Series(win_rate), 10, retbins=True)
    points = []
    for i, t in enumerate(thresholds):
        to_strong = win_rate >= t if i != len(thresholds) - 1 else win_rate > t
        points.append((to_strong.mean(), np.where(to_strong, score[:, 1], score[:, 0]).mean()))
    frame = pd.DataFrame(points, columns=["share", "accuracy"]).sort_values(by=["share"])
    weak, strong = score.mean(axis=0)
    span = frame["share"].iloc[-1] - frame["share"].iloc[0]
    auc = np.trapezoid(frame["accuracy"], frame["share"])
    expected_apgr = (auc - weak * span) / (strong * span - weak * span)
    expected_cpt = [np.interp(t * (strong - weak) + weak, frame["accuracy"], frame["share"]) for t in (0.5, 0.8)]
    sweep = sweep_threshold(
        ThresholdCandidate(
            "bert",
            "t",
            ["weak", "strong"],
            score,
            np.ones_like(score),
            np.ones_like(score),
            accept=np.column_stack([1 - win_rate, np.zeros(n_rows)]),
        ),
        None,
    )

    value, cpts = routellm_apgr_cpt(win_rate, score[:, 0], score[:, 1])

    assert value == pytest.approx(expected_apgr, abs=1e-12)
    assert cpts == pytest.approx(expected_cpt, abs=1e-12)
    share, accuracy = [p.tier_share["strong"] for p in sweep], [p.accuracy for p in sweep]
    assert abs(apgr(share, accuracy, weak, strong) - value) > 1e-3  # the 11-share grid is not it: 0.7532 vs 0.7553


def test_routellm_recipe_rejects_what_it_cannot_score():
    with pytest.raises(ValueError, match="same length"):
        routellm_apgr_cpt([1, 2], [0, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="finite"):
        routellm_apgr_cpt([1, np.nan], [0, 1], [1, 1])
    with pytest.raises(ValueError, match="undefined"):
        routellm_apgr_cpt([1, 2], [0, 1], [1, 0])
