"""Pick the operating point to ship: the cheapest whose accuracy drop against the baseline is certified.

:func:`select_policy` controls, family-wise, the chance that the chosen point loses more than ``max_drop``
against the baseline (Learn-then-Test with fixed-sequence testing; the paired score test of
:func:`routeeval.stats.paired_drop_pvalue`), or, under a budget, takes the most accurate frontier point within it.
The chosen point's intervals come from the paired bootstrap of :mod:`routeeval.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypedDict

import numpy as np

from routeeval.stats import PairedBootstrap, Resampler, paired_drop_pvalue, paired_drop_upper, rows_to_certify
from routeeval.sweep import (
    Candidate,
    Columns,
    FixedCandidate,
    OperatingPoint,
    complete_point,
    decisions_at,
    evaluate_fixed,
    point_rows,
    sum_at_knobs,
)

_Key = tuple[str, str]  # (router, variant)


class CheckedPoint(TypedDict):
    """One point the selection examined, and what its test said."""

    label: str
    router: str
    variant: str
    knob: float | None
    accuracy: float
    cost_per_1k_usd: float
    accuracy_drop: float
    accuracy_drop_upper: float
    p_value: float
    tested: bool
    qualifies: bool


@dataclass(eq=False)
class Selection:
    """The chosen operating point and why.

    ``rule`` states the selection rule in words (for provenance); ``reason`` says what happened, plainly,
    including when nothing qualified and the baseline was chosen (``qualified`` False). ``bootstrap`` is the
    :func:`routeeval.stats.paired_bootstrap` result of the chosen point against the baseline; ``checked`` lists
    the points examined with their drop bounds. ``families`` and ``level``: how many router variants were tested
    and the one-sided level of each test (0 and NaN under a budget).
    """

    point: OperatingPoint
    baseline: OperatingPoint
    qualified: bool
    rule: str
    reason: str
    bootstrap: PairedBootstrap
    checked: list[CheckedPoint] = field(default_factory=list)
    families: int = 0
    level: float = math.nan


def select_policy(
    frontier: Sequence[OperatingPoint],
    candidates: Iterable[Candidate],
    baseline: FixedCandidate,
    *,
    points: Sequence[OperatingPoint] | None = None,
    max_drop: float = 0.01,
    confidence: float = 0.95,
    budget_per_1k_usd: float | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    max_blocks: int = 5000,
) -> Selection:
    """Pick the operating point to ship.

    Without a budget, every swept point (``points``; the frontier when not given) that costs no more than the
    baseline is a hypothesis "its accuracy drop versus the baseline exceeds ``max_drop``", and the selection
    controls the chance that *any* point it passes truly loses more than ``max_drop`` at ``1 - confidence``
    (family-wise), not point by point: scanning hundreds of thresholds and keeping the cheapest that happens to
    pass would otherwise pick lucky points far more often than promised. This is Learn-then-Test
    (Angelopoulos et al., 2021) with fixed-sequence testing:

    * each router variant (a *family*: one candidate's points; the single tiers other than the baseline form
      one family too) is walked from the baseline down, dearest point first; each point is tested with the
      one-sided paired score test of :func:`stats.paired_drop_pvalue` at level ``(1 - confidence) / F``
      (Bonferroni over the ``F`` families), and the walk stops at the first point that fails: the points
      before it pass;
    * the cheapest passing point is chosen (ties: the more accurate).

    Its ``accuracy_drop_upper`` is the matching upper bound (:func:`stats.paired_drop_upper` at the same
    level), so it is <= ``max_drop`` exactly when the point passed. With ``max_drop`` 0 a point passes only
    when it is significantly *better* than the baseline.

    With ``budget_per_1k_usd``: the most accurate frontier point costing at most the budget. When nothing
    qualifies, the baseline is chosen and ``reason`` says so. ``candidates`` must hold the candidate behind every
    point (matched on router and variant); ``baseline`` is a fixed candidate, usually the most accurate single
    tier. ``bootstrap`` is the paired bootstrap of the chosen point (its two-sided CIs are what reports show).
    """
    if not isinstance(baseline, FixedCandidate):
        raise ValueError(
            f"the baseline {baseline.router}/{baseline.variant} uses the {baseline.rule} rule; it must be a fixed "
            "candidate (a single tier)"
        )
    by_key: dict[_Key, Candidate] = {(c.router, c.variant): c for c in candidates}
    by_key.setdefault((baseline.router, baseline.variant), baseline)
    resampler = Resampler(baseline.n_rows, n_resamples=n_resamples, seed=seed, max_blocks=max_blocks)
    against = _Baseline(baseline, by_key, resampler, confidence)
    if budget_per_1k_usd is not None:
        return _select_within_budget(against, frontier, budget_per_1k_usd)
    return _select_by_test(against, frontier if points is None else points, max_drop)


class _Baseline:
    """The baseline every point is compared with, the candidates behind the points, and the shared resamples."""

    def __init__(
        self, baseline: FixedCandidate, by_key: dict[_Key, Candidate], resampler: Resampler, confidence: float
    ) -> None:
        self.candidate = baseline
        self.by_key = by_key
        self.resampler = resampler
        self.confidence = confidence
        self.point = complete_point(baseline, evaluate_fixed(baseline), confidence)
        self.score, self.cost, _ = point_rows(baseline, baseline.fixed)
        self.name = _label(self.point)

    def measure(self, point: OperatingPoint) -> tuple[OperatingPoint, PairedBootstrap]:
        """The point completed (decisions, CI, latency) and its paired bootstrap against the baseline."""
        candidate = _candidate_for(self.by_key, point, self.candidate.n_rows)
        decisions = point.decisions if point.decisions is not None else decisions_at(candidate, point.knob, point.rule)
        point = complete_point(candidate, replace(point, decisions=decisions), self.confidence)
        score, cost, _ = point_rows(candidate, decisions)
        return point, self.resampler.paired_bootstrap(score, self.score, cost, self.cost, self.confidence)

    def fall_back(
        self, rule: str, reason: str, checked: list[CheckedPoint], families: int = 0, level: float = math.nan
    ) -> Selection:
        """The baseline chosen: nothing qualified."""
        boot = self.resampler.paired_bootstrap(self.score, self.score, self.cost, self.cost, self.confidence)
        return Selection(self.point, self.point, False, rule, reason, boot, checked, families, level)


def _select_within_budget(
    against: _Baseline, frontier: Sequence[OperatingPoint], budget_per_1k_usd: float
) -> Selection:
    """The most accurate frontier point costing at most the budget (its drop bound at the plain level)."""
    ordered = sorted(frontier, key=lambda p: (p.cost_per_1k_usd, -p.accuracy))
    rule = f"most accurate frontier point with cost <= ${budget_per_1k_usd:g} per 1k queries"
    affordable = [p for p in ordered if p.cost_per_1k_usd <= budget_per_1k_usd]
    if not affordable:
        cheapest = f"${ordered[0].cost_per_1k_usd:.4g}" if ordered else "none"
        reason = (
            f"no frontier point costs <= ${budget_per_1k_usd:g} per 1k queries (cheapest: {cheapest}); "
            f"chose the baseline {against.name}"
        )
        return against.fall_back(rule, reason, [])
    best = max(affordable, key=lambda p: (p.accuracy, -p.cost_per_1k_usd))
    point, boot = against.measure(best)
    positive, negative, paired = _drop_sums([point], against.by_key, against.score)
    upper = float(paired_drop_upper(positive, negative, paired, 1 - against.confidence)[0])
    boot["accuracy_drop_upper"] = upper
    reason = (
        f"{_label(point)} is the most accurate point within budget: accuracy {point.accuracy:.4f}, "
        f"${point.cost_per_1k_usd:.4g} per 1k queries"
    )
    checked = [_checked(point, boot["accuracy_drop"][0], upper, math.nan, True, True)]
    return Selection(point, against.point, True, rule, reason, boot, checked)


def _select_by_test(against: _Baseline, pool: Sequence[OperatingPoint], max_drop: float) -> Selection:
    """The cheapest point that passes its family's fixed-sequence walk (see :func:`select_policy`)."""
    confidence, baseline_point, name = against.confidence, against.point, against.name
    baseline_key = (against.candidate.router, against.candidate.variant)
    affordable = [
        p for p in pool if p.cost_per_1k_usd <= baseline_point.cost_per_1k_usd and (p.router, p.variant) != baseline_key
    ]
    families: dict[_Key, list[int]] = {}
    dearest_first = sorted(range(len(affordable)), key=lambda i: _dearer_first(affordable[i]))
    for index in dearest_first:
        point = affordable[index]
        families.setdefault((point.router, "" if point.router == "tier" else point.variant), []).append(index)
    level = (1 - confidence) / max(len(families), 1)
    rule = (
        f"cheapest point whose accuracy drop vs the baseline {name} is <= {max_drop:g} with {confidence:.0%} "
        f"family-wise confidence: each of {len(families)} router variants walked from the baseline down and "
        f"stopped at its first failure (fixed-sequence Learn-then-Test), one-sided paired score test at level "
        f"{level:.3g} each (Bonferroni)"
    )
    positive, negative, paired = _drop_sums(affordable, against.by_key, against.score)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = (positive - negative) / paired
    p_value = paired_drop_pvalue(positive, negative, paired, max_drop)
    upper = paired_drop_upper(positive, negative, paired, level)
    checked: list[CheckedPoint] = []
    passed: list[int] = []
    for indexes in families.values():
        walking = True
        for index in indexes:
            qualifies = walking and bool(p_value[index] <= level)
            checked.append(_checked(affordable[index], drop[index], upper[index], p_value[index], walking, qualifies))
            if qualifies:
                passed.append(index)
            walking = qualifies
    if passed:
        best = min(passed, key=lambda i: (affordable[i].cost_per_1k_usd, -affordable[i].accuracy))
        point, boot = against.measure(affordable[best])
        boot["accuracy_drop_upper"] = float(upper[best])
        base_cost = baseline_point.cost_per_1k_usd
        saving = 1 - point.cost_per_1k_usd / base_cost if base_cost else 0.0
        reason = (
            f"{_label(point)} is the cheapest point that passed: drop {drop[best]:.4f} (upper "
            f"{confidence:.0%} family-wise bound {upper[best]:.4f} <= {max_drop:g}), "
            f"${point.cost_per_1k_usd:.4g} per 1k queries, savings {saving:.1%}"
        )
        return Selection(point, baseline_point, True, rule, reason, boot, checked, len(families), level)
    if checked:
        first = [row for row in checked if row["tested"]]
        best_row = min(first, key=lambda row: (math.isnan(row["accuracy_drop_upper"]), row["accuracy_drop_upper"]))
        detail = f"smallest bound: {best_row['label']} at {best_row['accuracy_drop_upper']:.4f}"
        needed = rows_to_certify(max_drop, level)
        n_rows = against.candidate.n_rows
        if n_rows < needed:
            detail += (
                f"; with {n_rows} rows no point can get there: even one that agrees with the baseline "
                f"on every row has a bound of {float(paired_drop_upper(0, 0, n_rows, level)):.4f} at this "
                f"level. Certifying {max_drop:g} takes at least {needed:g} rows, more when the policy disagrees "
                f"with the baseline; label more rows or raise --max-drop"
            )
    else:
        detail = "no point costs less than the baseline"
    reason = (
        f"nothing qualifies: no point up to the baseline's cost has an accuracy-drop upper "
        f"{confidence:.0%} family-wise bound <= {max_drop:g} ({detail}); chose the baseline {name}"
    )
    return against.fall_back(rule, reason, checked, len(families), level)


def _dearer_first(point: OperatingPoint) -> tuple[float, float]:
    return -point.cost_per_1k_usd, -point.accuracy


def _candidate_for(by_key: dict[_Key, Candidate], point: OperatingPoint, n_rows: int) -> Candidate:
    candidate = by_key.get((point.router, point.variant))
    if candidate is None:
        raise ValueError(f"no candidate given for point {point.router}/{point.variant}")
    if candidate.n_rows != n_rows:
        raise ValueError(f"{point.router}/{point.variant} has {candidate.n_rows} rows; baseline has {n_rows}")
    return candidate


def _drop_sums(
    points: Sequence[OperatingPoint], by_key: dict[_Key, Candidate], baseline_score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: the sums of the positive and of the negative parts of (baseline - policy score) over the rows
    where both have a score, and the count of those rows. One :func:`routeeval.sweep.sum_at_knobs` pass per
    candidate when its points allow it."""
    positive, negative, paired = (np.zeros(len(points)) for _ in range(3))
    baseline_known = ~np.isnan(baseline_score)
    by_candidate: dict[_Key, list[int]] = {}
    for index, point in enumerate(points):
        by_candidate.setdefault((point.router, point.variant), []).append(index)
    for indexes in by_candidate.values():
        candidate = _candidate_for(by_key, points[indexes[0]], baseline_score.size)
        columns = _drop_columns(candidate.score, baseline_score, baseline_known)
        totals = sum_at_knobs(candidate, [points[i] for i in indexes], columns)
        if totals is not None:
            positive[indexes], negative[indexes], paired[indexes] = (
                totals[name] for name in ("positive", "negative", "paired")
            )
            continue
        for index in indexes:
            point = points[index]
            decisions = (
                point.decisions if point.decisions is not None else decisions_at(candidate, point.knob, point.rule)
            )
            chosen, _, _ = point_rows(candidate, decisions)
            known = ~np.isnan(chosen) & baseline_known
            difference = np.where(known, baseline_score - chosen, 0.0)
            positive[index] = np.maximum(difference, 0.0).sum()
            negative[index] = np.maximum(-difference, 0.0).sum()
            paired[index] = known.sum()
    return positive, negative, paired


def _drop_columns(score: np.ndarray, baseline_score: np.ndarray, baseline_known: np.ndarray) -> Columns:
    """Option k's per-row positive and negative parts of (baseline - score) and whether the row is paired."""

    def columns(k: int) -> dict[str, np.ndarray]:
        unpaired = np.isnan(score[:, k]) | ~baseline_known
        difference = baseline_score - score[:, k]
        positive = np.maximum(difference, 0.0)
        negative = np.maximum(np.negative(difference, out=difference), 0.0, out=difference)
        positive[unpaired] = 0.0
        negative[unpaired] = 0.0
        return {"positive": positive, "negative": negative, "paired": (~unpaired).astype(float)}

    return columns


def _label(point: OperatingPoint) -> str:
    if point.router == "tier":
        return f"tier '{point.variant}'"
    knob = "" if point.knob is None else f" @ {point.knob:.6g}"
    return f"{point.router}/{point.variant}{knob}"


def _checked(
    point: OperatingPoint, drop: float, upper: float, p_value: float, tested: bool, qualifies: bool
) -> CheckedPoint:
    return {
        "label": _label(point),
        "router": point.router,
        "variant": point.variant,
        "knob": point.knob,
        "accuracy": point.accuracy,
        "cost_per_1k_usd": point.cost_per_1k_usd,
        "accuracy_drop": float(drop),
        "accuracy_drop_upper": float(upper),
        "p_value": float(p_value),
        "tested": tested,
        "qualifies": qualifies,
    }
