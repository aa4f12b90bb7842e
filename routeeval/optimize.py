"""The optimizer half: outcomes -> out-of-fold router scores -> sweeps -> frontier -> selection -> policy.

Learned routers are judged only on out-of-fold scores (seeded K-fold cross-fitting); the router that
is exported is refit on every selection row. With a hold-out (a ``split`` column with ``test`` rows,
or ``holdout_share``), selection never sees the held-out rows and the chosen policy is measured on
them afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from routeeval import columns as C
from routeeval.config import OptimizeConfig
from routeeval.errors import ConfigError, DataError
from routeeval.frontier import aiq, apgr, cpt, pareto_frontier, zero_router_hull
from routeeval.outcomes import ChosenRows, RouterData, column_codes, decode_input, pivot_outcomes, text_mask
from routeeval.policy import attach_reference, build_policy, write_policy
from routeeval.profile import (
    REFERENCE_SCHEMA,
    clean_number,
    coverage,
    estimated_costs,
    intent_shares,
    policy_prices,
    quantile_points,
    route_queries,
    score_name,
    shares,
    token_model,
)
from routeeval.routers import CascadeRouter, StaticRouter, oracle_choice, walk_cascade
from routeeval.routers.cascade import confidence_sources
from routeeval.routers.registry import (
    REGISTRY,
    LLMRouterCalls,
    Workspace,
    router_spec,
    routers_to_fit,
    static_metadata,
)
from routeeval.runtime import Router, query_text
from routeeval.selection import select_policy
from routeeval.stats import paired_bootstrap, quantiles, wilson_interval
from routeeval.sweep import (
    Candidate,
    FixedCandidate,
    OperatingPoint,
    complete_point,
    complete_points,
    evaluate_fixed,
    point_rows,
    single_tier_candidates,
    sweep_candidate,
)

Stage = Callable[[str], None]  # progress: called with each stage's name as it starts
PARITY_ROWS = 2000  # train rows the runtime re-routes for the parity check when there is no hold-out


@dataclass
class OptimizeResult:
    summary: dict  # frontier, metrics, chosen, holdout, baseline: the optimizer's part of summary.json
    policy: dict
    policy_path: Path | None
    notes: list[str] = field(default_factory=list)
    frontier: list[OperatingPoint] = field(default_factory=list)
    points: list[OperatingPoint] = field(default_factory=list)
    chosen_rows: ChosenRows | None = None  # per selection row: where the policy sent it
    data: RouterData | None = None  # every eval row, pivoted (held-out rows too): the reports read it, not the table


def optimize_outcomes(
    frame,
    *,
    tiers: list[dict],
    settings: OptimizeConfig,
    provenance: dict | None = None,
    out_dir: str | Path | None = None,
    llm_calls: LLMRouterCalls | None = None,
    where: str = "outcomes",
    log_window: list[str] | None = None,
    stage: Stage | None = None,
) -> OptimizeResult:
    """Fit and sweep every configured router on the eval rows of ``frame``; select and export a policy.

    ``tiers``: ``{name, model, price_in_per_mtok, price_out_per_mtok}`` dicts, cheapest first. ``log_window``:
    the first and last timestamp of the production log rows, for the policy's reference profile. ``stage``: called
    with each stage's name (and row counts) as it starts, for progress.
    """
    stage = stage or _no_stage
    tier_names = [t["name"] for t in tiers]
    data = pivot_outcomes(frame, tier_names)
    if data.n_rows < 2:
        raise DataError(where, f"has {data.n_rows} eval rows; the optimizer needs at least 2")
    notes: list[str] = []
    complete = _scored_everywhere(data, where)
    select_rows, test_rows = _holdout_split(data, settings)
    unscored = {"selection": 0, "holdout": 0}
    if not complete.all():  # compare tiers on the same rows: only rows every tier has a score for
        unscored["selection"] = int(np.count_nonzero(~complete[select_rows]))
        select_rows = select_rows[complete[select_rows]]
        if test_rows is not None:
            unscored["holdout"] = int(np.count_nonzero(~complete[test_rows]))
            test_rows = test_rows[complete[test_rows]]
        left_out = unscored["selection"] + unscored["holdout"]
        notes.append(
            f"{left_out} of {data.n_rows} eval rows are left out of selection and hold-out: some tier has no score "
            "for them (see the tier table's unscored column); every comparison uses rows scored on every tier"
        )
        if select_rows.size < 2:
            raise DataError(where, f"has {select_rows.size} eval rows scored on every tier; the optimizer needs 2")
    train = data if select_rows.size == data.n_rows else data.subset(select_rows)
    baseline_name = reference_tier(train.score, train.cost_usd, tier_names, settings)
    if baseline_name not in tier_names:
        raise ConfigError(f"unknown baseline tier '{baseline_name}'; choose from: {', '.join(tier_names)}.")

    if llm_calls is None:
        llm_calls = _llm_calls_from(frame, data, tier_names)
    workspace = Workspace(train, settings, notes, llm_calls)
    singles = single_tier_candidates(tier_names, train.score, train.cost_usd, train.latency_ms)
    candidates: list[Candidate] = list(singles)
    for router in routers_to_fit(settings):
        stage(f"fitting {router} on {train.n_rows:,} rows × {len(tier_names)} tiers")
        candidates += router_spec(router).build(workspace)

    stage(f"sweeping {len(candidates)} candidates")
    points: list[OperatingPoint] = []
    for candidate in candidates:
        points += sweep_candidate(candidate)
    points = _exportable(workspace, points)
    frontier = pareto_frontier(points)
    baseline = singles[tier_names.index(baseline_name)]
    needs = _metadata_needs(candidates, workspace, frame, notes)
    blocked = {key for key, need in needs.items() if not need["selectable"]}
    selectable = [p for p in points if (p.router, p.variant) not in blocked]
    stage(f"selecting among {len(frontier)} frontier points ({settings.bootstrap:,} bootstrap resamples)")
    selection = select_policy(
        pareto_frontier(selectable) if blocked else frontier,
        [c for c in candidates if (c.router, c.variant) not in blocked],
        baseline,
        points=selectable,
        max_drop=settings.max_drop,
        confidence=settings.confidence,
        budget_per_1k_usd=settings.budget_per_1k_usd,
        n_resamples=settings.bootstrap,
        seed=settings.seed,
    )
    found_cheaper: bool | None = (
        selection.qualified and selection.point.cost_per_1k_usd < selection.baseline.cost_per_1k_usd
    )
    reason = selection.reason
    if selection.qualified and not found_cheaper:
        reason = (
            f"nothing qualifies: no point cheaper than the baseline tier '{baseline_name}' keeps the accuracy "
            f"drop's upper {settings.confidence:.0%} family-wise bound <= {settings.max_drop:g}; chose the baseline"
        )
    if len(tier_names) < 2:
        found_cheaper, reason = None, "only one tier: there is nothing to route; the policy sends everything to it"
    elif not found_cheaper:
        notes.append(reason)

    by_key = {(c.router, c.variant): c for c in candidates}
    chosen_candidate = by_key[(selection.point.router, selection.point.variant)]
    chosen = selection.point
    if chosen.decisions is None or chosen.accuracy_ci is None:  # the selection completes the point it picks
        chosen = complete_point(chosen_candidate, chosen, settings.confidence)
    stage(f"exporting the chosen {chosen.router} policy and profiling {data.n_rows:,} rows")
    exported = _export(workspace, chosen)

    swept_singles = points[: len(singles)]  # one fixed point per tier, swept first
    single_points = [complete_point(c, p, settings.confidence) for c, p in zip(singles, swept_singles, strict=True)]
    oracle = _oracle_point(train, settings.confidence)
    summary: dict[str, Any] = {
        "baseline": _baseline_entry(single_points[tier_names.index(baseline_name)], train.n_rows),
        "frontier": [
            _point_entry(p, needs.get((p.router, p.variant)))
            for p in _complete_frontier(frontier, by_key, settings.confidence)
        ],
        "metadata_routers": list(needs.values()),
        "oracle": _point_entry(oracle),
        "zero_router": [{"cost_per_1k_usd": c, "accuracy": a} for c, a in _zero_hull(single_points)],
        "metrics": _metrics(points, single_points, tier_names),
        "chosen": _chosen_entry(chosen, selection),
        "selection": {
            "rule": selection.rule,
            "reason": reason,
            "qualified": selection.qualified,
            "found_cheaper": found_cheaper,
            "rows": train.n_rows,
            "rows_unscored": unscored["selection"],
            "max_drop": settings.max_drop,
            "confidence": settings.confidence,
            "families": selection.families,
            "test_level": _clean(selection.level),
            "budget_per_1k_usd": settings.budget_per_1k_usd,
        },
        "routers": sorted({c.router for c in candidates if c.router != "tier"}),
        "holdout": None,
    }
    if any(c.router == "cascade" for c in candidates):
        summary["cascade_confidence"] = cascade_confidence(train, tiers)

    router_obj, kind, knob = exported
    guards = {
        "fallback_tier": baseline_name,
        "daily_cost_ceiling_usd": settings.daily_cost_ceiling_usd,
        "max_escalations": settings.max_escalations,
    }
    expected = {k: summary["chosen"][k] for k in ("accuracy", "accuracy_ci", "accuracy_drop", "accuracy_drop_ci")}
    expected.update(
        cost_per_1k_usd=summary["chosen"]["cost_per_1k_usd"],
        savings_share=summary["chosen"]["savings_share"],
        tier_share=summary["chosen"]["tier_share"],
        router=chosen.router,
        variant=chosen.variant,
    )
    provenance = {**(provenance or {}), "selection_rule": selection.rule, "rows": train.n_rows}
    policy = build_policy(router_obj, kind, knob, tiers, guards=guards, expected=expected, provenance=provenance)
    summary["chosen"]["policy_kind"] = kind
    summary["chosen"]["policy_knob"] = knob
    held_out = data.subset(test_rows) if test_rows is not None and test_rows.size else None
    # the parity check reuses the hold-out's runtime decisions; without a hold-out it routes train rows
    checked = held_out if held_out is not None else train.subset(np.arange(min(train.n_rows, PARITY_ROWS)))
    routed = route_rows(policy, kind, checked) if kind != "llm" else None
    summary["chosen"]["runtime_parity_share"] = _parity(router_obj, kind, knob, checked, routed)
    if held_out is not None:
        summary["holdout"] = _holdout(held_out, policy, routed, kind, baseline_name, tier_names, settings)
        summary["holdout"]["rows_unscored"] = unscored["holdout"]
    summary["production_mix"] = _production_mix(frame, policy, kind, baseline_name, tier_names, settings)
    summary["labels"] = labels_check(data, tier_names[0], baseline_name, settings.confidence)
    reference = reference_profile(frame, data, policy, kind, baseline_name, summary, settings, log_window)
    policy = attach_reference(policy, reference)

    policy_path = None
    if out_dir is not None:
        stage("writing policy.json")
        policy_path = write_policy(policy, Path(out_dir) / "policy.json")
    rows = _chosen_rows(chosen_candidate, chosen, train, baseline_name)
    return OptimizeResult(summary, policy, policy_path, notes, frontier, points, rows, data)


MIN_LOGPROB_SHARE = CascadeRouter().min_logprob_share
_ASKED = {  # a tier entry's "logprobs" (how the replay asked for them) -> the words for it
    "requested": "routeeval asked for them (litellm lists logprobs for this provider)",
    "set in params": "the tier's params ask for them",
    "simulated": "the simulator returns them",
}


def cascade_confidence(data: RouterData, tiers: list[dict]) -> list[dict]:
    """Per tier a cascade can stop at (all but the last): where its confidence comes from on these rows
    (``logprob``, ``verifier`` or ``none``: its accuracy as a constant), the share of its scored answers that carry
    log-probabilities, and why, from how the replay asked for them (``tiers[i]["logprobs"]``, when it did)."""
    found = confidence_sources(data.score, data.logprob_mean, data.responses, min_logprob_share=MIN_LOGPROB_SHARE)
    entries = []
    for entry, (source, share) in list(zip(tiers, found, strict=True))[:-1]:
        asked = entry.get("logprobs")
        carried = f"{share:.0%} of its scored answers carry token log-probabilities"
        if source == "logprob":
            reason = carried + (f": {_ASKED[asked]}" if asked in _ASKED else "")
        else:
            if asked == "not supported":
                why = "its provider returns none (litellm lists no logprobs parameter for it)"
            elif share > 0:
                why = f"{carried}, fewer than the {MIN_LOGPROB_SHARE:.0%} needed"
            elif asked == "set in params":
                why = "none came back although its params set logprobs"
            elif asked == "requested":
                why = "none came back although routeeval asked for them"
            else:
                why = "the outcomes carry no log-probabilities for it"
            reason = why + (
                "; a verifier over the query and the answer instead"
                if source == "verifier"
                else "; nor both right and wrong answers to fit a verifier on: its accuracy is the confidence"
            )
        entries.append(
            {
                "tier": entry["name"],
                "source": "none" if source == "constant" else source,
                "logprob_share": share,
                "logprobs": asked,
                "reason": reason,
            }
        )
    return entries


def _no_stage(_name: str) -> None:
    """No progress to show."""


def _complete_frontier(frontier: list[OperatingPoint], by_key: dict, confidence: float) -> list[OperatingPoint]:
    """The frontier's points with accuracy CIs and latency percentiles, each candidate's points in one pass."""
    by_candidate: dict[tuple[str, str], list[int]] = {}
    for index, point in enumerate(frontier):
        by_candidate.setdefault((point.router, point.variant), []).append(index)
    completed: list[OperatingPoint] = list(frontier)
    for key, indexes in by_candidate.items():
        points = complete_points(by_key[key], [frontier[i] for i in indexes], confidence)
        for index, point in zip(indexes, points, strict=True):
            completed[index] = point
    return completed


def _chosen_rows(candidate: Candidate, point: OperatingPoint, data: RouterData, baseline: str) -> ChosenRows:
    """Per row: the tier the chosen policy ends at (out-of-fold), its score and cost, and the baseline's."""
    if point.decisions is None:
        raise ValueError("the chosen point was not completed: its per-row decisions are missing")
    score, cost, latency = point_rows(candidate, point.decisions)
    base = data.tiers.index(baseline)
    return ChosenRows(
        row_ids=data.row_ids,
        paths=list(candidate.options),
        decisions=np.asarray(point.decisions, dtype=np.intp),
        score=score,
        cost_usd=cost,
        latency_ms=latency,
        baseline_score=data.score[:, base],
        baseline_cost_usd=data.cost_usd[:, base],
    )


def _exportable(workspace: Workspace, points: list[OperatingPoint]) -> list[OperatingPoint]:
    """The swept points an exported policy reproduces, each router deciding for its own."""
    by_router: dict[str, list[OperatingPoint]] = {}
    for point in points:
        by_router.setdefault(point.router, []).append(point)
    kept: set[int] = set()
    for router, own in by_router.items():
        spec = REGISTRY.get(router)
        chosen = spec.exportable(workspace, own) if spec is not None and spec.exportable is not None else own
        kept.update(id(point) for point in chosen)
    return [point for point in points if id(point) in kept]


def _export(workspace: Workspace, point: OperatingPoint):
    """(fitted router or policy section, kind, knob) for the chosen point, refit on every selection row: a single
    tier is a static policy sending every query to it; a router exports through its spec."""
    if point.router == "tier":
        tiers = workspace.tiers
        static = StaticRouter(tiers=tuple(tiers), default_tier=point.variant, long_tier=tiers[-1])
        return static.fit(), "static", {"length_cutoff_chars": None}
    return router_spec(point.router).export(workspace, point)


# ---------------------------------------------------------------------------------------- helpers


def _metadata_needs(candidates: list[Candidate], workspace: Workspace, frame, notes: list[str]) -> dict:
    """(router, variant) -> what it reads from request metadata at runtime, and whether it may be chosen.

    static/intent reads ``metadata["intent"]``; static rules with ``metadata`` conditions read their keys. Such a
    router is selectable only when the production logs show the keys (some row has them), or with
    ``allow_metadata_routers``: a policy production cannot feed would send every query to its default tier.
    """
    wanted: dict[tuple[str, str], list[str]] = {}
    for candidate in candidates:
        spec = REGISTRY.get(candidate.router)
        keys = spec.metadata_keys(workspace, candidate.variant) if spec and spec.metadata_keys else []
        if keys:
            wanted[(candidate.router, candidate.variant)] = keys
    if not wanted:
        return {}
    n_logs, present = _log_metadata_keys(frame)
    needs = {}
    for (router, variant), keys in wanted.items():
        have = min((present.get(key, 0) for key in keys), default=0)
        fields = ", ".join(f"metadata.{key}" for key in keys)
        if not n_logs:
            shown, why = False, "no production logs were given to show that production sends it"
        elif not have:
            shown, why = False, f"your logs have none (0 of {n_logs} rows)"
        else:
            shown, why = True, f"{have} of {n_logs} log rows have it; the others go to the policy's default tier"
        selectable = shown or workspace.settings.allow_metadata_routers
        note = f"{router}/{variant} needs {fields} at runtime; {why}"
        if not shown:
            note += (
                "; left out of the selection (pass --allow-metadata-routers if production sends it)"
                if not selectable
                else "; selectable because --allow-metadata-routers is set"
            )
        notes.append(note)
        needs[(router, variant)] = {
            "router": router,
            "variant": variant,
            "keys": keys,
            "log_rows": n_logs,
            "log_rows_with_keys": have,
            "selectable": selectable,
            "note": note,
        }
    return needs


def _llm_calls_from(frame, data: RouterData, tier_names: list[str]) -> LLMRouterCalls | None:
    """The llm router's triage calls as the outcomes recorded them (rows with source "router"), or None.

    The router is fit as the run fit it: on the tier that triaged and every eval row's intent, so `optimize`
    on the outcomes table decides exactly as `run` did."""
    import pandas as pd

    from routeeval.outcomes import text_mask
    from routeeval.routers import LLMRouter

    if C.SOURCE not in frame.columns:
        return None
    rows = frame[text_mask(frame[C.SOURCE], C.SOURCE_ROUTER)]
    if rows.empty:
        return None
    triage_tiers = sorted({str(t) for t in rows[C.TIER].dropna().unique()})
    router = LLMRouter(tiers=tuple(tier_names), classifier_tier=triage_tiers[0]).fit(intents=data.intents)
    ok = rows[C.ERROR].isna().to_numpy() if C.ERROR in rows.columns else np.ones(len(rows), dtype=bool)
    ids = [str(i) for i in rows[C.ROW_ID]]
    answers = [None if pd.isna(a) else str(a) for a in rows[C.RESPONSE]]
    costs, latencies = (rows[c].to_numpy(dtype=float, na_value=np.nan) for c in (C.COST_USD, C.LATENCY_MS))
    return LLMRouterCalls(
        router=router,
        answers=dict(zip(ids, answers, strict=True)),
        cost_usd={i: c for i, c, good in zip(ids, costs, ok, strict=True) if good},
        latency_ms={i: lat for i, lat, good in zip(ids, latencies, ok, strict=True) if good},
    )


def _has_logs(frame) -> bool:
    """Whether the table has log rows, read from the source column's values (not a pass over its rows)."""
    from routeeval.outcomes import column_codes

    if C.SOURCE not in frame.columns:
        return False
    column = frame[C.SOURCE]
    if hasattr(column, "cat"):  # the compact read: its categories are the values present
        return C.SOURCE_LOG in set(column_codes(column)[1].tolist())
    return bool((column == C.SOURCE_LOG).any())


def _log_metadata_keys(frame) -> tuple[int, dict[str, int]]:
    """(log rows, how many of them have each metadata key); the metadata of each log row read once."""
    import json

    from routeeval.outcomes import column_codes, text_mask

    if C.METADATA not in frame.columns or not _has_logs(frame):
        return 0, {}
    logs = text_mask(frame[C.SOURCE], C.SOURCE_LOG)
    row_codes, _ = column_codes(frame[C.ROW_ID][logs])
    first = np.unique(row_codes, return_index=True)[1]
    meta_codes, meta_values = column_codes(frame[C.METADATA][logs])
    counts: dict[str, int] = {}
    decoded: dict[int, list[str]] = {}
    for code in meta_codes[first].tolist():
        if code < 0:
            continue
        if code not in decoded:
            try:
                value = json.loads(meta_values[code])
            except ValueError:
                value = None
            decoded[code] = list(value) if isinstance(value, dict) else []
        for key in decoded[code]:
            counts[key] = counts.get(key, 0) + 1
    return len(first), counts


def _scored_everywhere(data: RouterData, where: str) -> np.ndarray:
    """Rows with a score on every tier; a tier with no score on any row stops the optimizer (no policy from it)."""
    finite = np.isfinite(data.score)
    empty = [tier for tier, any_score in zip(data.tiers, finite.any(axis=0), strict=True) if not any_score]
    if empty:
        raise DataError(
            where,
            f"tier '{empty[0]}' has no scored eval row, so no policy can be compared with it; "
            "see its unscored reasons (a failed call, a judge not called) and fix them, or leave the tier out",
        )
    return finite.all(axis=1)


def _holdout_split(data: RouterData, settings: OptimizeConfig):
    return selection_split(data.splits, data.n_rows, settings)


def selection_split(splits: list, n_rows: int, settings: OptimizeConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """(selection rows, held-out rows or None) of ``n_rows`` eval rows: their ``split`` column wins over
    ``holdout_share`` (a seeded random share)."""
    if 0 < splits.count("test") < len(splits):
        test = np.array(splits, dtype=object) == "test"
        return np.flatnonzero(~test), np.flatnonzero(test)
    share = settings.holdout_share
    if share:
        if not 0 < share < 1:
            raise ConfigError(f"holdout share must be between 0 and 1, got {share:g}.")
        order = np.random.default_rng(settings.seed).permutation(n_rows)
        n_test = max(1, int(round(share * n_rows)))
        return np.sort(order[n_test:]), np.sort(order[:n_test])
    return np.arange(n_rows), None


def reference_tier(score: np.ndarray, cost_usd: np.ndarray, tier_names: list[str], settings: OptimizeConfig) -> str:
    """The tier every comparison is made against, in `run` and `optimize` alike (the baseline, and the answers log
    rows are scored for agreement with): ``[optimize] baseline``, else the tier with the highest mean score on the
    selection rows scored on every tier (``score``/``cost_usd``: those rows x tiers; to 12 digits), ties to the
    lower mean cost per call."""
    if settings.baseline:
        return settings.baseline
    means = [np.nanmean(score[:, t]) if np.isfinite(score[:, t]).any() else -1.0 for t in range(len(tier_names))]
    costs = [
        np.nanmean(cost_usd[:, t]) if np.isfinite(cost_usd[:, t]).any() else math.inf for t in range(len(tier_names))
    ]
    best = max(range(len(tier_names)), key=lambda t: (round(means[t], 12), -costs[t]))
    return tier_names[best]


def _oracle_point(data: RouterData, confidence: float) -> OperatingPoint:
    fixed = oracle_choice(data.correct(), data.cost_usd)
    candidate = FixedCandidate(
        "oracle", "cheapest correct", data.tiers, data.score, data.cost_usd, data.latency_ms, fixed=fixed
    )
    return complete_point(candidate, evaluate_fixed(candidate), confidence)


def _zero_hull(single_points: list[OperatingPoint]) -> list[tuple[float, float]]:
    return zero_router_hull([(p.cost_per_1k_usd, p.accuracy) for p in single_points])


AIQ_NORMALISATION = (
    "area under each router's own cost-accuracy hull, divided by the single tiers' cost range (c_max - c_min); "
    "*_routerbench divides by c_max instead, as RouterBench's code does (lower by about c_min / c_max)"
)


def _metrics(points: list[OperatingPoint], single_points: list[OperatingPoint], tier_names: list[str]) -> dict:
    """AIQ per router (RouterBench) and, for two tiers, APGR and CPT per router variant (RouteLLM).

    ``aiq`` is RouterBench's: the area under the router's own points' hull (all its variants), which may fall
    below the zero router. ``aiq_with_tiers`` adds the single tiers to each router's hull (what the router adds
    to them; never below the zero router). Both divide by the single tiers' cost range; ``aiq_routerbench`` and
    ``zero_router_aiq_routerbench`` divide by the largest tier cost, as RouterBench's code does. ``aiq_by_variant``
    keeps each variant apart. APGR and CPT (``apgr``, ``apgr_fine``, ``cpt50``, ...) are per variant
    (``router/variant``: a threshold rule, a utility rule, one cascade order): RouteLLM defines them on one
    routing score's curve, so a router's variants are never pooled. ``apgr`` takes 11 strong-call shares, close
    to RouteLLM's decile grid but not identical at small n (``sweep.routellm_apgr_cpt`` is RouteLLM's own recipe,
    from a routing score). None where undefined (equal tier accuracies).
    """
    costs = [p.cost_per_1k_usd for p in single_points]
    cost_range = (min(costs), max(costs))
    routerbench_range = (0.0, max(costs))
    hull = _zero_hull(single_points)
    by_router: dict[str, list[OperatingPoint]] = {}
    by_variant: dict[str, list[OperatingPoint]] = {}
    for point in points:
        if point.router != "tier":
            by_router.setdefault(point.router, []).append(point)
            by_variant.setdefault(f"{point.router}/{point.variant}", []).append(point)

    def area(ps: list[OperatingPoint], span, with_tiers: bool = False) -> float | None:
        extra = single_points if with_tiers else []
        return _clean(aiq([p.cost_per_1k_usd for p in ps + extra], [p.accuracy for p in ps + extra], span))

    metrics: dict = {
        "aiq": {r: area(ps, cost_range) for r, ps in sorted(by_router.items())},
        "aiq_with_tiers": {r: area(ps, cost_range, with_tiers=True) for r, ps in sorted(by_router.items())},
        "aiq_by_variant": {v: area(ps, cost_range) for v, ps in sorted(by_variant.items())},
        "zero_router_aiq": _clean(aiq([c for c, _ in hull], [a for _, a in hull], cost_range)),
        "aiq_routerbench": {r: area(ps, routerbench_range) for r, ps in sorted(by_router.items())},
        "zero_router_aiq_routerbench": _clean(aiq([c for c, _ in hull], [a for _, a in hull], routerbench_range)),
        "aiq_normalisation": AIQ_NORMALISATION,
    }
    two_tier_keys = ("apgr", "apgr_fine", "cpt50", "cpt80", "cpt50_usd_per_1k", "cpt80_usd_per_1k")
    for key in two_tier_keys:
        metrics[key] = {}
    weak, strong = (single_points[0].accuracy, single_points[-1].accuracy) if single_points else (0.0, 0.0)
    if len(tier_names) == 2 and math.isfinite(weak) and math.isfinite(strong) and weak != strong:
        for name, ps in sorted(by_variant.items()):
            share = [p.tier_share.get(tier_names[1], 0.0) for p in ps] + [0.0, 1.0]
            dollars = [p.cost_per_1k_usd for p in ps] + costs
            accuracy = [p.accuracy for p in ps] + [weak, strong]
            values = (
                apgr(share, accuracy, weak, strong, grid="quantile11"),
                apgr(share, accuracy, weak, strong, grid="fine"),
                cpt(share, accuracy, weak, strong, 0.5),
                cpt(share, accuracy, weak, strong, 0.8),
                cpt(dollars, accuracy, weak, strong, 0.5),
                cpt(dollars, accuracy, weak, strong, 0.8),
            )
            for key, value in zip(two_tier_keys, values, strict=True):
                metrics[key][name] = _clean(value)
    return metrics


def _point_entry(point: OperatingPoint, needs: dict | None = None) -> dict:
    entry = {
        "router": point.router,
        "variant": point.variant,
        "rule": point.rule,
        "knob": _clean(point.knob) if point.knob is not None else None,
        "accuracy": _clean(point.accuracy),
        "accuracy_ci": [_clean(v) for v in point.accuracy_ci] if point.accuracy_ci else None,
        "cost_per_1k_usd": _clean(point.cost_per_1k_usd),
        "tier_share": {k: _clean(v) for k, v in point.tier_share.items()},
        "latency_p50_ms": _clean(point.latency_p50_ms),
        "latency_p95_ms": _clean(point.latency_p95_ms),
    }
    if needs is not None:  # a router reading request metadata production may not send
        entry.update(needs_metadata=needs["keys"], selectable=needs["selectable"])
    return entry


def _baseline_entry(point: OperatingPoint, rows: int) -> dict:
    """The baseline tier on the selection rows (``single_tiers`` holds every tier on all eval rows: with a hold-out
    the two differ, and ``basis`` says which rows these are)."""
    return {
        "tier": point.variant,
        "accuracy": _clean(point.accuracy),
        "accuracy_ci": [_clean(v) for v in point.accuracy_ci] if point.accuracy_ci else None,
        "cost_per_1k_usd": _clean(point.cost_per_1k_usd),
        "rows": rows,
        "basis": "selection rows",
    }


def _chosen_entry(point: OperatingPoint, selection) -> dict:
    boot = selection.bootstrap
    entry = _point_entry(point)
    drop = boot["accuracy_drop"]
    entry.update(
        accuracy_ci=[_clean(boot["accuracy"][1]), _clean(boot["accuracy"][2])],
        accuracy_drop=_clean(drop[0]),
        accuracy_drop_ci=[_clean(drop[1]), _clean(drop[2])],
        accuracy_drop_upper=_clean(boot["accuracy_drop_upper"]),
        cost_per_1k_usd_ci=[_clean(boot["cost_per_1k_usd"][1]), _clean(boot["cost_per_1k_usd"][2])],
        qualified=selection.qualified,
    )
    savings = boot.get("savings_share")
    if savings is not None:
        entry.update(savings_share=_clean(savings[0]), savings_share_ci=[_clean(savings[1]), _clean(savings[2])])
    else:
        base = selection.baseline.cost_per_1k_usd
        entry.update(savings_share=_clean(1 - point.cost_per_1k_usd / base) if base else None, savings_share_ci=None)
    return entry


def route_rows(policy: dict, kind: str, data: RouterData) -> tuple[np.ndarray, np.ndarray]:
    """What the runtime decides on each row: (final tier index, tiers tried), through runtime.Router."""
    runtime = Router.load(policy)
    index = {name: i for i, name in enumerate(data.tiers)}
    metadata = static_metadata(data) or [None] * data.n_rows
    finals, tried = [], []
    for row, query in enumerate(data.inputs):
        if kind == "cascade":
            decision = runtime.route(query, metadata[row])
            steps = 1
            while True:
                tier = index[decision.tier]
                mean_logprob = data.logprob_mean[row, tier]
                escalate = runtime.should_escalate(
                    decision.tier,
                    logprobs=float(mean_logprob) if np.isfinite(mean_logprob) else None,
                    response=data.responses[row, tier],
                    query=query,
                )
                if escalate is None:
                    break
                decision, steps = escalate, steps + 1
            finals.append(index[decision.tier])
            tried.append(steps)
        else:
            decision = runtime.route(query, metadata[row])
            finals.append(index[decision.tier])
            tried.append(1)
    return np.array(finals), np.array(tried)


def _parity(router_obj, kind, knob, data: RouterData, routed) -> float | None:
    """Share of ``data``'s rows where the runtime's decision (``routed``, from :func:`route_rows`) equals
    the refit router's; None when nothing was routed (an llm policy)."""
    if routed is None:
        return None
    offline = offline_decisions(router_obj, kind, knob, data)
    return float((routed[0] == offline).mean())


def offline_decisions(router_obj, kind, knob, data: RouterData) -> np.ndarray:
    if kind == "cascade":
        confidence = router_obj.predict_proba(data.inputs, responses=data.responses, logprob_mean=data.logprob_mean)
        final, _ = walk_cascade(confidence, router_obj.order_, float(knob["threshold"]), router_obj.cap())
        return final
    if kind == "static":
        return np.asarray(router_obj.decide(data.inputs, knob, metadata=static_metadata(data)))
    return np.asarray(router_obj.decide(data.inputs, knob))


def _holdout(test: RouterData, policy: dict, routed, kind: str, baseline: str, tier_names: list[str], settings) -> dict:
    """The exported policy measured on rows the selection never saw, against the baseline tier.

    ``routed``: the runtime's (final tier, tiers tried) on each of ``test``'s rows (:func:`route_rows`)."""
    if kind == "llm":
        return {"rows": test.n_rows, "chosen": None, "note": "the llm router's hold-out needs its calls"}
    _finals, score, cost, latency, calls = _policy_rows(test, policy, routed, kind, tier_names)
    base = tier_names.index(baseline)
    base_score = test.score[:, base]
    boot = paired_bootstrap(
        score,
        base_score,
        cost,
        baseline_cost=test.cost_usd[:, base],
        n_resamples=settings.bootstrap,
        confidence=settings.confidence,
        seed=settings.seed,
    )
    share = {name: float(calls[:, i].mean()) for i, name in enumerate(tier_names)}  # calls per query, as selection
    p50, p95 = quantiles(latency, (0.5, 0.95))
    chosen = {
        "accuracy": _clean(boot["accuracy"][0]),
        "accuracy_ci": [_clean(boot["accuracy"][1]), _clean(boot["accuracy"][2])],
        "accuracy_drop": _clean(boot["accuracy_drop"][0]),
        "accuracy_drop_ci": [_clean(boot["accuracy_drop"][1]), _clean(boot["accuracy_drop"][2])],
        "cost_per_1k_usd": _clean(boot["cost_per_1k_usd"][0]),
        "savings_share": _clean(boot["savings_share"][0]) if "savings_share" in boot else None,
        "savings_share_ci": [_clean(boot["savings_share"][1]), _clean(boot["savings_share"][2])]
        if "savings_share" in boot
        else None,
        "tier_share": share,
        "latency_p50_ms": _clean(p50),  # None when no call was timed (imported tables)
        "latency_p95_ms": _clean(p95),
        "baseline_accuracy": _clean(np.nanmean(base_score)) if not np.isnan(base_score).all() else None,
    }
    return {"rows": test.n_rows, "chosen": chosen}


def _policy_rows(data: RouterData, policy: dict, routed, kind: str, tier_names: list[str]):
    """(final tier, score, cost, latency, calls) per row of ``data`` under the policy the runtime routed
    (``routed``); ``calls`` (rows x tiers) marks the tiers each row called: a cascade pays for, and waits on,
    every tier it tried."""
    rows = np.arange(data.n_rows)
    finals, tried = routed
    score = data.score[rows, finals]
    calls = np.zeros((data.n_rows, len(tier_names)), dtype=bool)
    if kind == "cascade":
        steps = [tier_names.index(t) for t in policy["router"]["order"]]
        called = np.arange(len(steps))[None, :] < np.asarray(tried)[:, None]  # the tiers each row tried
        calls[:, steps] = called
        cost = np.nansum(np.where(called, data.cost_usd[:, steps], 0.0), axis=1)  # a failed call adds nothing
        latency = np.nansum(np.where(called, data.latency_ms[:, steps], 0.0), axis=1)
        latency[~(called & ~np.isnan(data.latency_ms[:, steps])).any(axis=1)] = np.nan  # no call timed: unknown
    else:
        calls[rows, finals] = True
        cost = data.cost_usd[rows, finals]
        latency = data.latency_ms[rows, finals]
    return finals, score, cost, latency, calls


def _production_mix(frame, policy: dict, kind: str, baseline: str, tier_names: list[str], settings) -> dict | None:
    """The chosen policy on the production logs' mix: the log rows routed by the runtime (a cascade on the
    replayed answers of the tiers it tries), priced with each tier's replayed cost on that row.

    Costs and tier shares carry CIs (paired bootstrap over log rows; Wilson per tier); ``agreement`` is the
    policy's answers' agreement with the log reference (the baseline tier's answer, usually). None without logs.
    """
    if not _has_logs(frame):
        return None
    logs = pivot_outcomes(frame, tier_names, source=C.SOURCE_LOG)
    if logs.n_rows == 0:
        return None
    if kind == "llm":
        return {"rows": logs.n_rows, "note": "an llm policy needs its router model's answer on each log row"}
    routed = route_rows(policy, kind, logs)
    _finals, score, cost, _latency, calls = _policy_rows(logs, policy, routed, kind, tier_names)
    base = tier_names.index(baseline)
    boot = paired_bootstrap(
        score,
        logs.score[:, base],
        cost,
        baseline_cost=logs.cost_usd[:, base],
        n_resamples=settings.bootstrap,
        confidence=settings.confidence,
        seed=settings.seed,
    )
    shares, share_ci = {}, {}  # as the eval set's: the share of queries that call each tier
    for index, name in enumerate(tier_names):
        shares[name], low, high = wilson_interval(float(calls[:, index].mean()), logs.n_rows, settings.confidence)
        share_ci[name] = [low, high]
    savings = boot.get("savings_share")
    return {
        "rows": logs.n_rows,
        "policy_cost_per_1k_usd": _clean(boot["cost_per_1k_usd"][0]),
        "policy_cost_per_1k_usd_ci": [_clean(boot["cost_per_1k_usd"][1]), _clean(boot["cost_per_1k_usd"][2])],
        "baseline_cost_per_1k_usd": _clean(1000 * np.nanmean(logs.cost_usd[:, base])),
        "savings_share": _clean(savings[0]) if savings else None,
        "savings_share_ci": [_clean(savings[1]), _clean(savings[2])] if savings else None,
        "tier_share": shares,
        "tier_share_ci": share_ci,
        "agreement": _clean(boot["accuracy"][0]),
        "agreement_ci": [_clean(boot["accuracy"][1]), _clean(boot["accuracy"][2])],
        "rows_with_cost": int(np.count_nonzero(np.isfinite(cost))),
    }


def _clean(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


# -- the reference profile drift compares against ---------------------------------------------------
def reference_profile(
    frame, data: RouterData, policy: dict, kind: str, baseline: str, summary: dict, settings, log_window
) -> dict:
    """The ``reference`` block of ``policy.json``: what the traffic the policy was certified on looked like to it.

    The production log rows when there are any (drift is about production changing; a curated eval set's mix is
    not production's), with the eval set profiled apart under ``evalset``; else the eval set itself. Every figure
    comes from :mod:`routeeval.profile`, the functions ``routeeval drift`` measures fresh logs with.
    """
    router = Router.load(policy)
    tier_names = list(router.tier_names)
    logs = pivot_outcomes(frame, tier_names, source=C.SOURCE_LOG) if _has_logs(frame) else None
    basis = "logs" if logs is not None and logs.n_rows else "evalset"
    rows = logs if logs is not None and basis == "logs" else data
    profile = _rows_profile(router, rows, policy, kind, frame, C.SOURCE_LOG if basis == "logs" else C.SOURCE_EVAL)
    chosen, selection = summary["chosen"], summary["selection"]
    mix = summary.get("production_mix") or {}
    measured = mix.get("policy_cost_per_1k_usd") if basis == "logs" else chosen.get("cost_per_1k_usd")
    drop_ci = chosen.get("accuracy_drop_ci") or [None, None]
    reference = {
        "schema": REFERENCE_SCHEMA,
        "basis": basis,
        "date_range": list(log_window) if basis == "logs" and log_window else None,
        **profile,
        "cost_per_1k_usd": clean_number(measured),
        "prices": policy_prices(policy),
        "baseline_tier": baseline,
        "accuracy_drop": clean_number(chosen.get("accuracy_drop")),
        "accuracy_drop_bound": clean_number(drop_ci[1]),
        "max_drop": selection["max_drop"],
        "confidence": selection["confidence"],
        "agreement": clean_number(mix.get("agreement")) if basis == "logs" else None,
    }
    if basis == "logs":
        evalset = _rows_profile(router, data, policy, kind, frame, C.SOURCE_EVAL)
        reference["evalset"] = {
            key: evalset[key] for key in ("rows", "routing_score", "input_chars", "tier_share", "intent_share")
        }
    return reference


def _rows_profile(router: Router, rows: RouterData, policy: dict, kind: str, frame, source: str) -> dict:
    tier_names = list(router.tier_names)
    metadata = static_metadata(rows)
    routed = route_queries(router, rows.inputs, metadata)
    if kind == "llm":
        finals, calls = routed.tier, np.eye(len(tier_names), dtype=bool)[routed.tier]
    else:
        # a cascade walks on from its first tier; any other policy's first decision is its last (route_rows would
        # route every row again to find the same tiers)
        walked = (
            route_rows(policy, kind, rows)
            if kind == "cascade"
            else (routed.tier.astype(int), np.ones(rows.n_rows, dtype=int))
        )
        finals, _score, _cost, _latency, calls = _policy_rows(rows, policy, walked, kind, tier_names)
    scores = routed.score
    if kind == "cascade" and router.cascade is not None:  # the first tier's confidence in its own answer
        first = router.cascade.order[0]
        scores = np.array(
            [
                router.answer_confidence(
                    tier_names[first],
                    logprobs=float(rows.logprob_mean[i, first]) if np.isfinite(rows.logprob_mean[i, first]) else None,
                    response=rows.responses[i, first],
                    query=rows.inputs[i],
                )[0]
                for i in range(rows.n_rows)
            ]
        )
    tokens = _token_models(frame, source, tier_names)
    estimated = estimated_costs(routed.chars, calls, policy_prices(policy), tokens, tier_names)
    cover = coverage(routed)
    has_vocabulary = router.featurizer is not None
    return {
        "rows": rows.n_rows,
        "routing_score": {"name": score_name(router), "quantiles": quantile_points(scores)}
        if score_name(router)
        else None,
        "input_chars": {"quantiles": quantile_points(routed.chars)},
        "tier_share": {
            "first": _named_shares(routed.tier, tier_names),
            "answers": _named_shares(finals, tier_names),
            "calls": {name: clean_number(np.asarray(calls)[:, i].mean()) for i, name in enumerate(tier_names)},
        },
        "intent_share": intent_shares(rows.intents) if rows.intents else None,
        "vocabulary": {
            "coverage_mean": clean_number(np.nanmean(cover)) if np.isfinite(cover).any() else None,
            "coverage_sd": clean_number(np.nanstd(cover)) if np.isfinite(cover).any() else None,
            "rows": int(np.isfinite(cover).sum()),
        }
        if has_vocabulary
        else None,
        "tokens_per_call": tokens,
        "cost_per_1k_usd_estimated": clean_number(1000 * np.mean(estimated)) if np.isfinite(estimated).all() else None,
        # its standard error: the promise is itself measured on these rows, and drift's interval counts that too
        "cost_per_1k_usd_estimated_se": clean_number(1000 * np.std(estimated, ddof=1) / math.sqrt(estimated.size))
        if estimated.size > 1 and np.isfinite(estimated).all()
        else None,
    }


def _named_shares(tier_index, tier_names: list[str]) -> dict[str, float | None]:
    picked = shares([tier_names[i] for i in np.asarray(tier_index).tolist()], tier_names)
    return {name: clean_number(share) for name, share in picked.items()}


def _token_models(frame, source: str, tier_names: list[str]) -> dict[str, dict | None]:
    """Per tier: :func:`routeeval.profile.token_model` of its replayed ``source`` rows (None without tokens)."""
    rows = text_mask(frame[C.SOURCE], source) if C.SOURCE in frame.columns else np.ones(len(frame), dtype=bool)
    if C.PROMPT_TOKENS not in frame.columns or C.COMPLETION_TOKENS not in frame.columns:
        return dict.fromkeys(tier_names)
    part = frame[rows]
    codes, values = column_codes(part[C.INPUT])
    lengths = np.array([_text_chars(value) for value in values] + [np.nan], dtype=float)
    chars = lengths[codes]  # code -1 (a missing input) picks the NaN at the end
    tiers = part[C.TIER].astype(str).to_numpy()
    prompt = part[C.PROMPT_TOKENS].to_numpy(dtype=float, na_value=np.nan)
    completion = part[C.COMPLETION_TOKENS].to_numpy(dtype=float, na_value=np.nan)
    return {
        name: token_model(chars[tiers == name], prompt[tiers == name], completion[tiers == name]) for name in tier_names
    }


def _text_chars(value) -> float:
    try:
        return float(len(query_text(decode_input(value))[0]))
    except (ValueError, TypeError):
        return float("nan")


def labels_check(data: RouterData, cheapest: str, expensive: str, confidence: float) -> dict | None:
    """Human easy/hard labels against evidence: on rows labeled easy, how often the cheapest tier answered right;
    on rows labeled hard, how often they needed the expensive (baseline) tier: the cheapest wrong and it right.
    None when no eval row is labeled easy or hard, or the two tiers are one."""
    if cheapest == expensive or not any(label in ("easy", "hard") for label in data.labels):
        return None
    labels = np.array([label if label in ("easy", "hard") else "" for label in data.labels])
    low = data.score[:, data.tiers.index(cheapest)]
    high = data.score[:, data.tiers.index(expensive)]
    scored = np.isfinite(low) & np.isfinite(high) & (labels != "")
    entry: dict[str, Any] = {"cheapest_tier": cheapest, "expensive_tier": expensive, "rows": int(scored.sum())}
    for name in ("easy", "hard"):
        rows = scored & (labels == name)
        n = int(rows.sum())
        entry[name] = n
        right = low[rows] >= 0.5
        needed = (~right) & (high[rows] >= 0.5)
        for key, values in ((f"{name}_cheapest_accuracy", right), (f"{name}_needed_expensive", needed)):
            mean, lo, hi = wilson_interval(float(values.mean()), n, confidence) if n else (None, None, None)
            entry[key] = _clean(mean)
            entry[f"{key}_ci"] = [_clean(lo), _clean(hi)] if n else None
    return entry
