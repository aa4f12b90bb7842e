"""The report's own figures, computed apart from rendering.

``report_figures`` turns a summary, the outcomes table and the chosen policy's per-row routes into plain,
JSON-friendly numbers (headline verdict, latency, per-intent slices, mis-routed samples, traffic and savings
projection); the renderers (:mod:`.html`, :mod:`.markdown`, :mod:`.terminal`) show them and :mod:`.write`
writes them to files. Nothing here decides anything the optimizer did not measure: the headline reads
``selection``, ``chosen`` and ``metrics`` from the summary.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routeeval import columns as C
from routeeval.outcomes import ChosenRows
from routeeval.report.formatting import interval, points, share
from routeeval.summary import Baseline, Chosen, RunSummary, Selection, TierSummary

MONTH_DAYS = 365.25 / 12
SAMPLE_TOO_LOW = 10  # mis-routed rows shown that the policy sent too low (lost accuracy)
SAMPLE_TOO_HIGH = 4  # and rows it sent higher than needed (paid for nothing)
TEXT_LIMIT = 1200  # characters of a query, answer or reference kept in a sample
NO_INTENT = "(no intent)"


# ------------------------------------------------------------------------------------------ the figures


def report_figures(
    summary: RunSummary,
    outcomes,
    chosen_rows: list[dict],
    logs=None,
    monthly_queries: int | None = None,
    *,
    data=None,
    sample_rate: float | None = None,
) -> dict:
    """Everything the reports show beyond summary.json, as JSON-friendly numbers and short texts.

    ``data``: the optimizer's pivot of these outcomes' eval rows (``OptimizeResult.data``), when the caller
    has it: the per-query figures read it instead of pivoting the table again.
    """
    tiers = tier_order(summary)
    traffic = traffic_figures(logs)
    table = _row_table(outcomes, chosen_rows, tiers, data)  # built once, shared by the slices and the sample
    return {
        "headline": headline_verdict(summary),
        "latency": latency_figures(summary, chosen_rows),
        "intents": intent_slices(outcomes, chosen_rows, tiers, table=table),
        "misrouted": misrouted_sample(outcomes, chosen_rows, tiers, table=table),
        "traffic": traffic,
        "savings": savings_projection(summary, traffic, monthly_queries, sample_rate),
    }


def report_summary(figures: dict) -> dict:
    """The figures for summary.json's ``report`` key: mis-routed samples cut to ids and scores (no user text)."""
    keep = ("row_id", "intent", "policy_path", "policy_tier", "policy_score", "baseline_score")
    misrouted = dict(figures["misrouted"])
    for kind in ("too_low", "too_high"):
        misrouted[kind] = [{k: sample.get(k) for k in keep} for sample in misrouted[kind]]
    return {**figures, "misrouted": misrouted}


def tier_order(summary: RunSummary) -> list[str]:
    """Tier names cheapest first, as the run configured them."""
    names = [t.name for t in summary.tiers]
    return names or [t.tier for t in summary.single_tiers]


def router_curves(swept) -> dict[str, list[dict]]:
    """Each router's own cost/accuracy frontier from the optimizer's swept points (``OptimizeResult.points``).

    Optional: when a summary carries these under ``curves``, the frontier plot draws one line per router.
    """
    from routeeval.frontier import pareto_frontier

    by_router: dict[str, list] = {}
    for point in swept:
        if point.router != "tier":
            by_router.setdefault(point.router, []).append(point)
    return {
        router: [
            {"variant": p.variant, "cost_per_1k_usd": _num(p.cost_per_1k_usd), "accuracy": _num(p.accuracy)}
            for p in pareto_frontier(router_points)
        ]
        for router, router_points in sorted(by_router.items())
    }


# ------------------------------------------------------------------------------------------ headline


def headline_verdict(summary: RunSummary) -> dict:
    """Whether routing pays off here and which strategy won, read from the measured frontier and selection.

    ``verdict``: ``routing_pays`` (a router is the cheapest qualifying point), ``cheaper_tier`` (a cheaper
    single tier qualifies on its own), ``no_saving`` (nothing cheaper keeps accuracy), ``one_tier``
    (nothing to route) or ``not_optimized`` (no frontier in the summary).
    """
    chosen = summary.chosen
    selection = summary.selection or Selection()
    baseline = summary.baseline.tier if summary.baseline else None
    aiq = {k: v for k, v in summary.metrics.aiq.items() if v is not None}
    zero_aiq = summary.metrics.zero_router_aiq
    best_router = max(aiq, key=lambda router: aiq[router]) if aiq else None
    beats_zero = sorted(r for r, v in aiq.items() if zero_aiq is not None and v > zero_aiq)
    figures = {
        "verdict": "not_optimized",
        "winner": None,
        "best_aiq_router": best_router,
        "best_aiq": aiq.get(best_router) if best_router else None,
        "zero_router_aiq": zero_aiq,
        "routers_beating_zero_router": beats_zero,
        "baseline_tier": baseline,
    }
    if not summary.frontier or chosen is None:
        figures["sentence"] = "No routing result: the optimizer did not run on these outcomes."
        return figures
    confidence = selection.confidence or 0.95
    max_drop = selection.max_drop
    bar = (
        f"an accuracy drop against {baseline} within {points(max_drop)} points at {confidence:.0%} confidence"
        if max_drop is not None
        else f"accuracy against {baseline}"
    )
    saving = _share_with_ci(chosen.savings_share, chosen.savings_share_ci)
    drop = _points_with_ci(chosen.accuracy_drop, chosen.accuracy_drop_ci)
    found = selection.found_cheaper
    if found is None and len(tier_order(summary)) < 2:
        figures["verdict"] = "one_tier"
        figures["sentence"] = f"Only one tier ({baseline}) is configured: there is nothing to route."
        return figures
    if not found:
        figures["verdict"] = "no_saving"
        sentence = (
            f"Routing does not pay off here: no router and no cheaper tier keeps {bar}; "
            f"keep sending every query to {baseline}."
        )
        if best_router and best_router in beats_zero:
            sentence += (
                f" The best router frontier ({best_router}, AIQ {aiq[best_router]:.3f} vs {zero_aiq:.3f} for "
                "randomly mixing tiers) is real but not strong enough at this accuracy bar."
            )
        figures["sentence"] = sentence
        return figures
    if chosen.router == "tier":
        figures["verdict"] = "cheaper_tier"
        figures["winner"] = "tier"
        figures["sentence"] = (
            f"A cheaper single tier is enough: sending every query to {chosen.variant} saves {saving} of "
            f"{baseline}'s cost on the eval set for an accuracy drop of {drop} points; no router is cheaper with {bar}."
        )
        return figures
    router = chosen.router
    figures["verdict"] = "routing_pays"
    figures["winner"] = router
    sentence = (
        f"Routing pays off here: the {router} router ({chosen.variant}) is the cheapest policy with "
        f"{bar}, saving {saving} of {baseline}'s cost on the eval set for an accuracy drop of {drop} points."
    )
    if best_router == router:
        sentence += (
            f" It also has the best frontier overall (AIQ {aiq[router]:.3f} vs {zero_aiq:.3f} for the zero router)."
        )
    elif best_router:
        sentence += (
            f" {best_router} has the best frontier overall (AIQ {aiq[best_router]:.3f} vs {zero_aiq:.3f} for the zero "
            f"router), but {router} is cheapest at this accuracy bar."
        )
    if aiq and not beats_zero:
        sentence += " No router's frontier beats randomly mixing tiers (the zero router) on average across costs."
    figures["sentence"] = sentence
    return figures


def _share_with_ci(value: float | None, ci) -> str:
    return "—" if value is None else share(value) + interval(ci)


def _points_with_ci(value: float | None, ci) -> str:
    return "—" if value is None else points(value) + interval(ci)


# ------------------------------------------------------------------------------------------ routes


def _routes(chosen_rows) -> ChosenRows:
    """The chosen rows as arrays: the optimizer's ``ChosenRows`` as they are (no Python object per row on a
    million rows), else built from a DataFrame or a list of dicts (``ChosenRows.from_records``)."""
    return chosen_rows if isinstance(chosen_rows, ChosenRows) else ChosenRows.from_records(chosen_rows)


# ------------------------------------------------------------------------------------------ latency


def latency_figures(summary: RunSummary, chosen_rows) -> dict:
    """The chosen policy's latency against the baseline tier's, and how many queries make a second call."""
    import numpy as np
    import pandas as pd

    chosen = summary.chosen or Chosen()
    baseline_tier = summary.baseline.tier if summary.baseline else None
    base = next((t for t in summary.single_tiers if t.tier == baseline_tier), TierSummary())
    routes = _routes(chosen_rows)
    latency = routes.latency_ms
    timed = any(t.latency_p50_ms for t in summary.single_tiers)
    if not timed:
        # No tier recorded a latency (imported tables often have none): say unknown, not 0 ms.
        latency = np.full(len(routes), np.nan)
    p50, p95 = (chosen.latency_p50_ms, chosen.latency_p95_ms) if timed else (None, None)
    figures = {
        "router": chosen.router or None,
        "p50_ms": p50,
        "p95_ms": p95,
        "baseline_tier": baseline_tier,
        "baseline_p50_ms": base.latency_p50_ms,
        "baseline_p95_ms": base.latency_p95_ms,
        "added_p50_ms": _difference(p50, base.latency_p50_ms),
        "added_p95_ms": _difference(p95, base.latency_p95_ms),
        "tier_share": chosen.tier_share,
        "calls_per_query": _num(sum(v or 0.0 for v in chosen.tier_share.values())),
        "final_tier_share": {},
        "escalated_share": None,
        "escalated_p50_ms": None,
        "direct_p50_ms": None,
        "triage_tier": chosen.variant if chosen.router == "llm" else None,
    }
    n = len(routes)
    if n:
        named = routes.tier_of[routes.tier_of >= 0]
        counts = np.bincount(named, minlength=len(routes.tiers))
        # Tiers in order of first appearance, as pandas' value_counts(sort=False) gives them.
        figures["final_tier_share"] = {str(routes.tiers[t]): float(counts[t]) / n for t in pd.unique(named)}
        escalated = np.array([">" in str(path) for path in routes.paths] + [False])[routes.path_of]
        figures["escalated_share"] = float(escalated.mean())
        figures["escalated_p50_ms"] = _median(latency[escalated])
        figures["direct_p50_ms"] = _median(latency[~escalated])
    return figures


# ------------------------------------------------------------------------------------------ rows


@dataclass
class _RowTable:
    """One entry per eval query, in the pivot's order: its id, its intent, each tier's score and its route."""

    row_ids: Any  # object array
    intents: list[str]  # sorted by name; intent_of indexes them
    intent_of: Any
    tiers: list[str]  # the score columns: the given tiers that the eval rows have, in the given order
    scores: Any  # rows x tiers, NaN where the call failed
    routes: ChosenRows
    route_of: Any  # index into routes; -1 where the policy did not route the row (or named no tier)
    ids_sorted: bool  # row ids ascend in table order (the usual case): an intent's first rows are its first ids


def _row_table(outcomes, chosen_rows: list[dict], tiers: list[str], data=None) -> _RowTable:
    """The eval queries as arrays, built once for the per-intent slices and the mis-routed sample.

    ``data``: the optimizer's pivot of ``outcomes`` (every eval row), read instead of pivoting again.
    """
    import numpy as np
    import pandas as pd

    from routeeval.outcomes import column_codes, pivot_outcomes, text_mask

    tier_codes, tier_values = column_codes(outcomes[C.TIER])
    if C.SOURCE in outcomes.columns:
        tier_codes = tier_codes[text_mask(outcomes[C.SOURCE], C.SOURCE_EVAL, missing=True)]
    counts = np.bincount(tier_codes[tier_codes >= 0], minlength=len(tier_values))
    present = {str(value) for value, n in zip(tier_values, counts, strict=True) if n}
    score_tiers = [t for t in tiers if t in present]
    if data is not None and set(score_tiers) <= set(data.tiers):
        columns = [data.tiers.index(t) for t in score_tiers]
        scores = data.score if columns == list(range(len(data.tiers))) else data.score[:, columns]
    else:
        # Only the columns the figures need go through the pivot: texts and answers are read for the sampled rows.
        needed = [c for c in (C.ROW_ID, C.TIER, C.SCORE, C.INTENT, C.SOURCE) if c in outcomes.columns]
        data = pivot_outcomes(outcomes[needed], score_tiers, source=C.SOURCE_EVAL)
        scores = data.score

    intents = np.asarray(data.intents, dtype=object)
    intents[pd.isna(intents)] = NO_INTENT
    intent_of, names = pd.factorize(intents, sort=True)
    row_ids = np.asarray(data.row_ids, dtype=object)

    routes = _routes(chosen_rows)
    # Object indexes, not pandas' inferred "str" (converting a million ids to it costs more than the lookup).
    targets = pd.Index(row_ids, dtype=object)
    if len(routes.row_ids) == len(row_ids) and (routes.row_ids == row_ids).all() and targets.is_unique:
        route_of = np.arange(len(row_ids))  # routed in table order, the usual case
    else:
        index = pd.Index(routes.row_ids, dtype=object)
        if index.is_unique:
            route_of = index.get_indexer(targets)
        else:  # a row routed twice: its first route counts
            first = np.flatnonzero(~index.duplicated())
            found = index[first].get_indexer(targets)
            route_of = np.where(found >= 0, first[found], -1)
    named = np.append(routes.tier_of, -1)[route_of] >= 0  # route -1 reads the appended -1
    return _RowTable(
        row_ids=row_ids,
        intents=[str(name) for name in names],
        intent_of=intent_of,
        tiers=score_tiers,
        scores=scores,
        routes=routes,
        route_of=np.where(named, route_of, -1),
        ids_sorted=targets.is_monotonic_increasing,
    )


def intent_slices(outcomes, chosen_rows: list[dict], tiers: list[str], *, table=None) -> list[dict]:
    """Per intent: each tier's accuracy, where the policy sends the rows, and what it loses against the baseline.

    Policy figures cover the rows the policy was selected on (``chosen_rows``, out-of-fold). Sorted with the
    intents that lose most accuracy first. Counted over intent codes with ``np.bincount``, not per group.
    """
    import numpy as np

    table = table if table is not None else _row_table(outcomes, chosen_rows, tiers)
    routes, k = table.routes, len(table.intents)
    routed = table.route_of >= 0
    intent, route = table.intent_of[routed], table.route_of[routed]  # per routed row
    policy, baseline = routes.score[route], routes.baseline_score[route]
    both = ~np.isnan(policy) & ~np.isnan(baseline)
    rows = np.bincount(table.intent_of, minlength=k)
    routed_rows = np.bincount(intent, minlength=k)
    tier_accuracy = {tier: _group_means(table.intent_of, table.scores[:, j], k) for j, tier in enumerate(table.tiers)}
    policy_accuracy = _group_means(intent, policy, k)
    baseline_accuracy = _group_means(intent, baseline, k)
    drop = [
        _difference(b, p)
        for b, p in zip(
            _group_means(intent[both], baseline[both], k), _group_means(intent[both], policy[both], k), strict=True
        )
    ]
    n_tiers = len(routes.tiers)
    per_tier = np.bincount(intent * n_tiers + routes.tier_of[route], minlength=k * n_tiers).reshape(k, n_tiers)
    too_low = np.bincount(intent[both & (policy < baseline)], minlength=k)
    better = np.bincount(intent[both & (policy > baseline)], minlength=k)
    slices = []
    for i, name in enumerate(table.intents):
        shares = {routes.tiers[j]: per_tier[i, j] / routed_rows[i] for j in range(n_tiers)} if routed_rows[i] else {}
        slices.append(
            {
                "intent": name,
                "rows": int(rows[i]),
                "routed_rows": int(routed_rows[i]),
                "tier_accuracy": {tier: means[i] for tier, means in tier_accuracy.items()},
                "policy_accuracy": policy_accuracy[i],
                "baseline_accuracy": baseline_accuracy[i],
                "accuracy_drop": drop[i],
                "tier_share": {tier: float(shares.get(tier, 0.0)) for tier in tiers},
                "sent_too_low": int(too_low[i]),
                "better_than_baseline": int(better[i]),
            }
        )
    slices.sort(key=lambda s: (-(s["sent_too_low"] - s["better_than_baseline"]), -s["sent_too_low"], s["intent"]))
    return slices


def misrouted_sample(
    outcomes,
    chosen_rows: list[dict],
    tiers: list[str],
    *,
    too_low: int = SAMPLE_TOO_LOW,
    too_high: int = SAMPLE_TOO_HIGH,
    table=None,
) -> dict:
    """Rows the policy sent too low (it scored below the baseline tier) and rows it sent higher than needed.

    A row is *too high* when a cheaper tier than the one the policy ended at scored the row's best score.
    Samples are spread over intents (round robin, worst intent first) and deterministic.
    """
    import numpy as np

    from routeeval.outcomes import text_mask

    table = table if table is not None else _row_table(outcomes, chosen_rows, tiers)
    routes = table.routes
    routed = np.flatnonzero(table.route_of >= 0)
    route = table.route_of[routed]
    low = routed[routes.score[route] < routes.baseline_score[route]]
    matrix = table.scores[routed]
    best = np.max(np.where(np.isnan(matrix), -np.inf, matrix), axis=1, initial=-np.inf)
    cheapest = np.argmax(matrix >= best[:, None], axis=1) if table.tiers else np.zeros(len(routed), dtype=np.intp)
    rank = np.array([table.tiers.index(t) if t in table.tiers else -1 for t in routes.tiers], dtype=np.intp)
    final = rank[routes.tier_of[route]]
    high = routed[(best > 0) & (final >= 0) & (cheapest < final)]
    low_rows, high_rows = _spread(table, low, too_low), _spread(table, high, too_high)
    frame = outcomes[outcomes[C.ROW_ID].isin(table.row_ids[low_rows + high_rows])]  # only the sampled rows' answers
    if C.SOURCE in frame.columns:
        frame = frame[text_mask(frame[C.SOURCE], C.SOURCE_EVAL, missing=True)]
    return {
        "rows": int(len(routed)),
        "too_low_count": int(len(low)),
        "too_high_count": int(len(high)),
        "too_low": [_sample(table, row, frame, tiers) for row in low_rows],
        "too_high": [_sample(table, row, frame, tiers) for row in high_rows],
    }


def _spread(table: _RowTable, rows, n: int) -> list[int]:
    """Up to ``n`` of ``rows`` (ascending table positions), round robin over intents (most rows first), each intent
    in row id order. Only each intent's ``n`` first row ids are looked for, not a sort of all its rows."""
    import heapq

    import numpy as np

    if n <= 0 or not len(rows):
        return []
    codes = table.intent_of[rows]
    order = np.argsort(codes, kind="stable")  # grouped by intent, intents by name as a sorted groupby gives them
    sizes = np.bincount(codes)
    ends = np.cumsum(sizes)
    groups = []
    for code in np.flatnonzero(sizes):
        members = rows[order[ends[code] - sizes[code] : ends[code]]]
        if table.ids_sorted:
            first = members[:n]
        else:
            ids = table.row_ids[members].tolist()
            first = members[heapq.nsmallest(n, range(len(ids)), key=ids.__getitem__)]
        groups.append((len(members), first.tolist()))
    groups.sort(key=lambda group: group[0], reverse=True)
    picked: list[int] = []
    depth = 0
    while len(picked) < n and any(depth < len(g) for _, g in groups):
        picked += [g[depth] for _, g in groups if depth < len(g)][: n - len(picked)]
        depth += 1
    return picked


def _sample(table: _RowTable, row: int, frame, tiers: list[str]) -> dict:
    routes, route = table.routes, table.route_of[row]
    row_id = table.row_ids[row]
    long_rows = frame[frame[C.ROW_ID] == row_id]
    answers = long_rows.drop_duplicates(C.TIER).set_index(C.TIER)
    path = routes.path_of[route]

    def first(column: str):  # the query's own fields, from its first long row (column by column: no row Series)
        return long_rows[column].iloc[0] if column in long_rows.columns and len(long_rows) else None

    return {
        "row_id": str(row_id),
        "intent": table.intents[table.intent_of[row]],
        "input": _clip(first(C.INPUT)),
        "reference": _clip(first(C.REFERENCE)),
        "policy_tier": routes.tiers[routes.tier_of[route]],
        "policy_path": routes.paths[path] if path >= 0 else None,
        "policy_score": _num(routes.score[route]),
        "baseline_score": _num(routes.baseline_score[route]),
        "answers": [
            {
                "tier": tier,
                "response": _clip(answers.at[tier, C.RESPONSE]) if C.RESPONSE in answers.columns else None,
                "score": _num(answers.at[tier, C.SCORE]),
                "error": _clip(answers.at[tier, C.ERROR]) if C.ERROR in answers.columns else None,
            }
            for tier in tiers
            if tier in answers.index
        ],
    }


# ------------------------------------------------------------------------------------------ traffic


def traffic_figures(logs) -> dict | None:
    """Volume and duplicate share of production logs (a LogSet or a path); None without logs.

    Duplicate shares are the hit rate an unbounded cache warming up from empty would have had over the
    logs' window: exact (same messages) and normalized (``routeeval.scoring.normalize_text`` per message).
    """
    if logs is None:
        return None
    if isinstance(logs, str | Path):
        from routeeval.logs import load_logs

        logs = load_logs(logs)
    from routeeval.scoring import normalize_text

    records = logs.records
    n = len(records)
    exact = {tuple((m["role"], str(m["content"])) for m in r.query.messages) for r in records}
    normalized = {tuple((m["role"], normalize_text(str(m["content"]))) for m in r.query.messages) for r in records}
    times = sorted(t for t in (_timestamp(r.timestamp) for r in records) if t is not None)
    span_days = (times[-1] - times[0]).total_seconds() / 86400 if len(times) >= 2 else None
    per_month = None
    if span_days and span_days > 0:
        # n rows arrived over the span from the first to the last: n - 1 gaps of the mean spacing. This is the
        # *sample's* rate: production's is it divided by the sampling rate, which only the user knows.
        per_month = (len(times) - 1) / span_days * MONTH_DAYS * (n / len(times))
    return {
        "path": str(getattr(logs, "path", "")),
        "rows": n,
        "timestamped_rows": len(times),
        "first": times[0].isoformat() if times else None,
        "last": times[-1].isoformat() if times else None,
        "span_days": span_days,
        "sample_queries_per_month": per_month,
        "exact_duplicate_share": (n - len(exact)) / n if n else None,
        "normalized_duplicate_share": (n - len(normalized)) / n if n else None,
    }


def savings_projection(
    summary: RunSummary, traffic: dict | None, monthly_queries: int | None = None, sample_rate: float | None = None
) -> dict:
    """Monthly cost of the baseline tier vs the chosen policy, and with a response cache in front of the router.

    Costs per query come from the production logs' mix when the run had logs (``summary.production_mix``:
    the log rows routed by the policy), else from the eval set's, which a team curates. Volume comes from
    ``monthly_queries``, or from the logs' own rate divided by ``sample_rate`` (the share of production the logs
    hold); never from a sample's time span alone. Without either, figures stay per 1,000 queries.
    Cache hits return before routing and cost nothing; misses cost what the policy costs on average.
    """
    chosen = summary.chosen or Chosen()
    mix = summary.production_mix
    baseline = summary.baseline or Baseline()
    base: float | None
    policy: float | None
    if mix is not None and mix.policy_cost_per_1k_usd is not None and mix.baseline_cost_per_1k_usd is not None:
        basis, base, policy = "logs", mix.baseline_cost_per_1k_usd, mix.policy_cost_per_1k_usd
        savings_share, savings_ci, policy_ci = mix.savings_share, mix.savings_share_ci, mix.policy_cost_per_1k_usd_ci
    else:
        basis, base, policy = "eval set", baseline.cost_per_1k_usd, chosen.cost_per_1k_usd
        savings_share, savings_ci, policy_ci = chosen.savings_share, chosen.savings_share_ci, chosen.cost_per_1k_usd_ci
    rate = (traffic or {}).get("sample_queries_per_month")
    volume: float | None
    if monthly_queries is not None:
        volume, volume_source, note = float(monthly_queries), "monthly_queries", None
    elif sample_rate and rate:
        volume, volume_source, note = rate / sample_rate, "sample_rate", None
    else:
        volume, volume_source = None, None
        note = (
            "the logs are a sample: their time span gives the sample's rate, not production's volume; give "
            "--monthly-queries N or [logs] sample_rate to project dollars a month"
            if traffic
            else "no volume is known; give --monthly-queries N to project dollars a month"
        )
    if savings_share is None and base and policy is not None:
        savings_share = 1 - policy / base
    baseline_monthly = _monthly(base, volume)
    saving_monthly_ci = None
    low, high = savings_ci or (None, None)
    if low is not None and high is not None and baseline_monthly is not None:
        saving_monthly_ci = [low * baseline_monthly, high * baseline_monthly]
    cache: list[dict] = []
    figures = {
        "basis": basis,
        "monthly_queries": volume,
        "volume_source": volume_source,
        "volume_note": note,
        "sample_rate": sample_rate,
        "baseline_tier": baseline.tier,
        "baseline_cost_per_1k_usd": base,
        "policy_cost_per_1k_usd": policy,
        "policy_cost_per_1k_usd_ci": policy_ci,
        "savings_share": savings_share,
        "savings_share_ci": savings_ci,
        "eval_policy_cost_per_1k_usd": chosen.cost_per_1k_usd,
        "eval_savings_share": chosen.savings_share,
        "baseline_monthly_usd": baseline_monthly,
        "policy_monthly_usd": _monthly(policy, volume),
        "saving_monthly_usd": _monthly(_difference(base, policy), volume),
        "saving_monthly_usd_ci": saving_monthly_ci,
        "cache": cache,
    }
    if traffic and base:
        for kind in ("exact", "normalized"):
            hit = traffic.get(f"{kind}_duplicate_share")
            if hit is None:
                continue
            combined_per_1k = (1 - hit) * policy if policy is not None else None
            cache.append(
                {
                    "kind": kind,
                    "hit_share": hit,
                    "cache_only_saving_share": hit,
                    "combined_cost_per_1k_usd": combined_per_1k,
                    "combined_saving_share": None if combined_per_1k is None else 1 - combined_per_1k / base,
                    "combined_monthly_usd": _monthly(combined_per_1k, volume),
                    "combined_saving_monthly_usd": _monthly(_difference(base, combined_per_1k), volume),
                }
            )
    return figures


# ------------------------------------------------------------------------------------------ helpers


def _timestamp(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _monthly(per_1k: float | None, volume: float | None) -> float | None:
    if per_1k is None or volume is None:
        return None
    return per_1k * volume / 1000


def _difference(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return _num(a - b)


def _group_means(groups, values, k: int) -> list[float | None]:
    """Per group 0 .. k-1 (``groups`` holds each value's): the mean of its values that are not NaN, else None."""
    import numpy as np

    kept = ~np.isnan(values)
    totals = np.bincount(groups[kept], weights=values[kept], minlength=k).tolist()
    counts = np.bincount(groups[kept], minlength=k).tolist()
    return [_num(total / n) if n else None for total, n in zip(totals, counts, strict=True)]


def _median(values) -> float | None:
    """The median of a float array's values that are not NaN (the mean of the middle two for an even count)."""
    import numpy as np

    clean = values[~np.isnan(values)]
    return float(np.median(clean)) if clean.size else None


def _num(value) -> float | None:
    """A finite float, or None (NaN, NA and None alike)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _clip(value) -> str | None:
    if value is None or (not isinstance(value, str | list | dict) and _isna(value)):
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _isna(value) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
