"""The optimizer end to end on the demo set: honest selection, hold-out, and runtime parity per router."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import TIER_ENTRIES, TWO_TIERS, hopeless_two_tiers

from routeeval import columns as C
from routeeval.config import OptimizeConfig
from routeeval.frontier import aiq
from routeeval.optimize import offline_decisions, optimize_outcomes, route_rows
from routeeval.outcomes import pivot_outcomes
from routeeval.policy import build_policy
from routeeval.routers.registry import Workspace, router_names, router_spec
from routeeval.runtime import Router
from routeeval.sweep import sweep_candidate

# 350 demo rows cannot certify a 1-point drop at 95% family-wise confidence (see rows_to_certify); 2 points they can.
SETTINGS = OptimizeConfig(routers=("static", "classifier", "knn", "cascade"), bootstrap=400, max_drop=0.02)
# For what does not depend on the routers fitted (hold-out rows, how often the runtime is called): static and cascade
# choose the same policy on the demo as all four, with or without a hold-out, and take a tenth of a second, where
# classifier and knn take seconds (each refit chooses its regularisation by inner cross-validation).
QUICK = dataclasses.replace(SETTINGS, routers=("static", "cascade"))


@pytest.fixture(scope="module")
def demo(demo_outcomes):
    """The demo's outcomes (the session's: copy before changing)."""
    return demo_outcomes


@pytest.fixture(scope="module")
def result(demo):
    return optimize_outcomes(demo, tiers=TIER_ENTRIES, settings=SETTINGS)


def test_selection_meets_its_promise_on_the_selection_rows(result):
    chosen = result.summary["chosen"]
    assert chosen["qualified"] is True
    assert chosen["accuracy_drop_upper"] <= SETTINGS.max_drop
    assert chosen["cost_per_1k_usd"] < result.summary["baseline"]["cost_per_1k_usd"]
    assert 0 < chosen["savings_share"] < 1
    low, high = chosen["savings_share_ci"]
    assert low <= chosen["savings_share"] <= high
    assert result.summary["baseline"]["tier"] == "large"  # the most accurate single tier
    assert chosen["runtime_parity_share"] == 1.0


def test_frontier_is_pareto_and_contains_the_choice(result):
    frontier = result.summary["frontier"]
    costs = [p["cost_per_1k_usd"] for p in frontier]
    accuracies = [p["accuracy"] for p in frontier]
    assert costs == sorted(costs)
    assert all(b > a for a, b in zip(accuracies, accuracies[1:], strict=False)), "each dearer point is better"
    chosen = result.summary["chosen"]
    assert any(
        (p["router"], p["variant"], p["knob"]) == (chosen["router"], chosen["variant"], chosen["knob"])
        for p in frontier
    )


def test_every_router_beats_the_zero_router(result):
    metrics = result.summary["metrics"]
    for router in ("static", "classifier", "knn", "cascade"):
        assert metrics["aiq"][router] > metrics["zero_router_aiq"], router
    oracle = result.summary["oracle"]
    assert oracle["accuracy"] >= max(p["accuracy"] for p in result.summary["frontier"])


def test_aiq_is_routerbenchs_own_curve_with_both_normalisations(result):
    metrics = result.summary["metrics"]
    singles = [p for p in result.points if p.router == "tier"]
    cost_range = (min(p.cost_per_1k_usd for p in singles), max(p.cost_per_1k_usd for p in singles))
    for router in ("static", "classifier", "knn", "cascade"):
        own = [p for p in result.points if p.router == router]
        x, y = [p.cost_per_1k_usd for p in own], [p.accuracy for p in own]
        # AIQ is the router's own points only (RouterBench), so it can fall below the zero router ...
        assert metrics["aiq"][router] == pytest.approx(aiq(x, y, cost_range))
        # ... the hull with the single tiers added is named apart, and can only be higher ...
        with_tiers = aiq(x + [p.cost_per_1k_usd for p in singles], y + [p.accuracy for p in singles], cost_range)
        assert metrics["aiq_with_tiers"][router] == pytest.approx(with_tiers)
        assert metrics["aiq"][router] <= metrics["aiq_with_tiers"][router] + 1e-12
        # ... and RouterBench's code divides the same area by c_max instead of c_max - c_min.
        area = metrics["aiq"][router] * (cost_range[1] - cost_range[0])
        assert metrics["aiq_routerbench"][router] == pytest.approx(area / cost_range[1])
        variants = {p.variant for p in own}
        assert {f"{router}/{v}" for v in variants} <= set(metrics["aiq_by_variant"])
        assert max(metrics["aiq_by_variant"][f"{router}/{v}"] for v in variants) <= metrics["aiq"][router] + 1e-12
    assert "c_max" in metrics["aiq_normalisation"]
    assert "classifier/threshold" in metrics["aiq_by_variant"] and "classifier/utility" in metrics["aiq_by_variant"]
    assert metrics["apgr"] == {}  # three tiers: RouteLLM's two-tier metrics do not apply


def test_chosen_rows_say_where_each_selection_row_went(result, demo):
    rows = result.chosen_rows
    data = pivot_outcomes(demo, [t["name"] for t in TIER_ENTRIES])
    assert len(rows) == data.n_rows == result.summary["selection"]["rows"]
    first, last = rows[0], rows[-1]
    assert first["row_id"] == data.row_ids[0] and last["row_id"] == data.row_ids[-1]
    assert set(first) == {
        "row_id", "tier", "path", "score", "cost_usd", "latency_ms", "baseline_score", "baseline_cost_usd"
    }  # fmt: skip
    assert first["tier"] == first["path"].split(">")[-1] and first["tier"] in data.tiers
    assert first["baseline_score"] == data.score[0, data.tiers.index("large")]
    assert rows[-2:] == [rows[len(rows) - 2], last] and list(rows)[5] == rows[5]
    shares = result.summary["chosen"]["tier_share"]
    ended = [row["tier"] for row in rows]
    if result.summary["chosen"]["router"] != "cascade":  # a cascade's share counts calls, not final tiers
        assert {t: ended.count(t) / len(ended) for t in shares} == pytest.approx(shares)
    with pytest.raises(IndexError):
        rows[len(rows)]
    table = rows.to_frame()
    assert table.astype(object).where(table.notna(), None).to_dict("records")[:3] == rows[:3]
    assert list(table["tier"]) == ended


def test_nothing_qualifies_chooses_the_baseline_and_says_so():
    # Every row sent to the cheap tier costs 1/300 of accuracy, more than the 0.1-point tolerance.
    settings = dataclasses.replace(SETTINGS, routers=("static", "classifier", "knn"), max_drop=0.001)
    result = optimize_outcomes(hopeless_two_tiers(), tiers=TWO_TIERS, settings=settings)
    summary = result.summary
    assert summary["selection"]["found_cheaper"] is False
    assert (summary["chosen"]["router"], summary["chosen"]["variant"]) == ("tier", "strong")
    assert summary["selection"]["reason"].startswith("nothing qualifies")
    assert Router.load(result.policy).route("question 7 about invoices").tier == "strong"
    # Two tiers: RouteLLM's metrics, one per router variant (never a router's curves pooled); with no signal to
    # learn, no better than random (0.5).
    apgr = summary["metrics"]["apgr"]
    assert {"classifier/threshold", "classifier/utility"} <= set(apgr) and "classifier" not in apgr
    assert all(v == pytest.approx(0.5, abs=0.08) for k, v in apgr.items() if k.startswith("classifier/"))


def test_two_tiers_of_equal_accuracy_have_no_apgr_and_no_traceback():
    frame = hopeless_two_tiers()
    strong = frame[C.TIER] == "strong"
    cheap_scores = frame.loc[frame[C.TIER] == "cheap", C.SCORE].to_numpy()
    frame.loc[strong, C.SCORE] = cheap_scores  # both tiers right on the same rows
    settings = dataclasses.replace(SETTINGS, routers=("static",))
    result = optimize_outcomes(frame, tiers=TWO_TIERS, settings=settings)
    assert result.summary["metrics"]["apgr"] == {} and result.summary["metrics"]["cpt50"] == {}


def test_budget_picks_the_most_accurate_point_within_it(demo):
    budgeted = dataclasses.replace(SETTINGS, budget_per_1k_usd=0.1, routers=("static", "cascade"))
    result = optimize_outcomes(demo, tiers=TIER_ENTRIES, settings=budgeted)
    chosen = result.summary["chosen"]
    assert chosen["cost_per_1k_usd"] <= 0.1
    affordable = [p for p in result.summary["frontier"] if p["cost_per_1k_usd"] <= 0.1]
    assert chosen["accuracy"] == max(p["accuracy"] for p in affordable)


def test_holdout_rows_are_kept_out_of_selection_and_measured(demo):
    held = demo.copy()
    ids = sorted(held[C.ROW_ID].unique())
    test_ids = set(ids[::4])
    held[C.SPLIT] = np.where(held[C.ROW_ID].isin(test_ids), "test", "train")
    result = optimize_outcomes(held, tiers=TIER_ENTRIES, settings=QUICK)
    assert result.summary["selection"]["rows"] == len(ids) - len(test_ids)
    holdout = result.summary["holdout"]
    assert holdout["rows"] == len(test_ids)
    assert 0 <= holdout["chosen"]["accuracy"] <= 1
    assert sum(holdout["chosen"]["tier_share"].values()) == pytest.approx(1.0)
    share = dataclasses.replace(QUICK, holdout_share=0.3)
    assert optimize_outcomes(demo, tiers=TIER_ENTRIES, settings=share).summary["holdout"]["rows"] == round(
        0.3 * len(ids)
    )


def test_the_runtime_routes_each_held_out_row_once_for_the_holdout_and_the_parity_check(demo, monkeypatch):
    import routeeval.optimize as optimize_module

    walked, profiled = [], []
    route_rows, route_queries = optimize_module.route_rows, optimize_module.route_queries

    def spy_rows(policy, kind, data):
        walked.append(data.row_ids)
        return route_rows(policy, kind, data)

    def spy_queries(router, queries, *args, **kwargs):
        profiled.append(queries)
        return route_queries(router, queries, *args, **kwargs)

    monkeypatch.setattr(optimize_module, "route_rows", spy_rows)
    monkeypatch.setattr(optimize_module, "route_queries", spy_queries)
    share = dataclasses.replace(QUICK, holdout_share=0.3)
    summary = optimize_outcomes(demo, tiers=TIER_ENTRIES, settings=share).summary
    # once for the hold-out and the parity check, then every eval row once more for the policy's reference profile
    # (a cascade's walked on from its first tier; any other policy's first decision is its last)
    n_eval = summary["holdout"]["rows"] + summary["selection"]["rows"]
    cascade = summary["chosen"]["policy_kind"] == "cascade"
    assert [len(rows) for rows in walked] == [summary["holdout"]["rows"]] + [n_eval] * cascade
    assert [len(rows) for rows in profiled] == [n_eval]
    assert summary["chosen"]["runtime_parity_share"] == 1.0
    walked.clear()
    profiled.clear()
    summary = optimize_outcomes(demo, tiers=TIER_ENTRIES, settings=QUICK).summary  # no hold-out: train rows
    cascade = summary["chosen"]["policy_kind"] == "cascade"
    assert summary["holdout"] is None
    assert [len(rows) for rows in walked] == [summary["selection"]["rows"]] * (1 + cascade)
    assert [len(rows) for rows in profiled] == [summary["selection"]["rows"]]
    assert summary["chosen"]["runtime_parity_share"] == 1.0


@pytest.mark.parametrize("router", [name for name in router_names() if name != "llm"])  # llm needs its calls
def test_runtime_reproduces_every_registered_router_on_every_demo_row(demo, router):
    data = pivot_outcomes(demo, [t["name"] for t in TIER_ENTRIES])
    workspace = Workspace(data, SETTINGS)
    candidates = router_spec(router).build(workspace)
    assert candidates, f"{router} built no candidate on the demo"
    for candidate in candidates:
        points = sweep_candidate(candidate)
        # Several knobs along each variant's curve, not one lucky point.
        for point in [points[len(points) // 4], points[len(points) // 2], points[3 * len(points) // 4]]:
            fitted, kind, knob = router_spec(router).export(workspace, point)
            policy = build_policy(fitted, kind, knob, TIER_ENTRIES)
            runtime_tiers, _ = route_rows(policy, kind, data)
            offline = offline_decisions(fitted, kind, knob, data)
            assert (runtime_tiers == offline).all(), (
                f"{router}/{candidate.variant} at {knob}: {(runtime_tiers != offline).sum()} rows differ"
            )


def test_static_rules_on_metadata_are_evaluated_offline_and_match_the_runtime(demo):
    """A metadata rule (free plan -> small) routes exactly the rows whose metadata says so, offline and at runtime."""
    import json

    ids = demo[C.ROW_ID].drop_duplicates().tolist()
    free = set(ids[::7])
    frame = demo.assign(
        **{C.METADATA: demo[C.ROW_ID].map(lambda row: json.dumps({"plan": "free" if row in free else "pro"}))}
    )
    rule = {"tier": "small", "metadata": {"plan": "free"}, "name": "free plan"}
    settings = dataclasses.replace(SETTINGS, routers=("static",), static_rules=(rule,))
    data = pivot_outcomes(frame, [t["name"] for t in TIER_ENTRIES])
    assert data.metadata[ids.index(next(iter(free)))] == {"plan": "free"}
    workspace = Workspace(data, settings)
    candidate = router_spec("static").build(workspace)[0]
    assert candidate.variant == "length"
    points = sweep_candidate(candidate)
    on_free = np.array([row in free for row in data.row_ids])
    for point in (points[0], points[len(points) // 2], points[-1]):
        fitted, kind, knob = router_spec("static").export(workspace, point)
        offline = offline_decisions(fitted, kind, knob, data)
        assert (offline[on_free] == 0).all(), "every free-plan row goes to the small tier, whatever the cut-off"
        policy = build_policy(fitted, kind, knob, TIER_ENTRIES)
        runtime_tiers, _ = route_rows(policy, kind, data)
        assert (runtime_tiers == offline).all()
    # The most expensive point sends only the free-plan rows to the small tier.
    dearest = max(points, key=lambda p: p.cost_per_1k_usd)
    assert dearest.tier_share["small"] == pytest.approx(on_free.mean())
    # Through the whole optimizer: the metadata reaches the exported policy's parity check too.
    result = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=settings)
    assert result.summary["chosen"]["runtime_parity_share"] in (None, 1.0)


def test_the_intent_table_is_exported_as_static_rules_the_runtime_follows(demo):
    """Intents with a clear tier each: static/intent learns them out of fold, and its policy routes by the
    intent in the query's metadata, offline and at runtime alike."""
    ids = demo[C.ROW_ID].drop_duplicates().tolist()
    kinds = {row: ("chitchat", "billing", "legal")[number % 3] for number, row in enumerate(ids)}
    frame = demo.assign(**{C.INTENT: demo[C.ROW_ID].map(kinds)})
    best = {"chitchat": "small", "billing": "medium", "legal": "large"}  # each intent's one right tier
    tier_names = [t["name"] for t in TIER_ENTRIES]
    right = frame[C.TIER] == frame[C.INTENT].map(best)
    dearer = frame[C.TIER].map(tier_names.index) > frame[C.INTENT].map(lambda i: tier_names.index(best[i]))
    frame[C.SCORE] = np.where(right | dearer, 1.0, 0.0)  # the right tier and any dearer one answer well
    settings = dataclasses.replace(SETTINGS, routers=("static",), max_drop=0.05)
    data = pivot_outcomes(frame, tier_names)
    workspace = Workspace(data, settings)
    candidate = router_spec("static").build(workspace)[1]
    assert (candidate.router, candidate.variant) == ("static", "intent")
    points = sweep_candidate(candidate)
    cheapest_perfect = min((p for p in points if p.accuracy == 1.0), key=lambda p: p.cost_per_1k_usd)
    fitted, kind, knob = router_spec("static").export(workspace, cheapest_perfect)
    assert kind == "static" and knob == {"length_cutoff_chars": None}
    policy = build_policy(fitted, kind, knob, TIER_ENTRIES)
    rules = {rule["metadata"]["intent"]: rule["tier"] for rule in policy["router"]["rules"]}
    assert {**dict.fromkeys(best, policy["router"]["default_tier"]), **rules} == best
    runtime = Router.load(policy)
    assert runtime.route("anything at all", {"intent": "legal"}).tier == "large"
    assert runtime.route("anything at all", {"intent": "chitchat"}).tier == "small"
    offline = offline_decisions(fitted, kind, knob, data)
    runtime_tiers, _ = route_rows(policy, kind, data)
    assert (runtime_tiers == offline).all()
    assert [tier_names[t] for t in offline] == [best[kinds[row]] for row in data.row_ids]
    # Production must send the intent for this policy to work: without logs showing it, it needs the opt-in.
    allowed = dataclasses.replace(settings, allow_metadata_routers=True)
    result = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=allowed)
    chosen = result.summary["chosen"]
    assert (chosen["router"], chosen["variant"], chosen["runtime_parity_share"]) == ("static", "intent", 1.0)


def test_static_intent_needs_two_intents(demo):
    data = pivot_outcomes(demo.assign(**{C.INTENT: "only"}), [t["name"] for t in TIER_ENTRIES])
    assert [c.variant for c in router_spec("static").build(Workspace(data, SETTINGS))] == ["length"]


def test_a_table_without_latency_reports_it_unknown_not_zero(demo):
    """Imported tables often carry no latency: every latency in the summary is null (not 0 ms), the hold-out
    included, and no numpy warning is printed on the way."""
    import warnings

    frame = demo.copy()
    frame[C.LATENCY_MS] = np.nan
    settings = dataclasses.replace(SETTINGS, routers=("static", "cascade"), holdout_share=0.3, max_drop=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=settings)
    summary = result.summary
    assert any(p["router"] == "cascade" for p in summary["frontier"])
    for point in [summary["chosen"], summary["holdout"]["chosen"], summary["oracle"], *summary["frontier"]]:
        assert point["latency_p50_ms"] is None and point["latency_p95_ms"] is None, point


def test_a_cascade_stop_with_no_timed_call_has_unknown_latency(demo):
    """A failed call adds no time (as it adds no cost), but a stop point none of whose calls was timed is unknown."""
    frame = demo.copy()
    first = frame[C.ROW_ID].drop_duplicates().iloc[:5]
    untimed = frame[C.ROW_ID].isin(first) & frame[C.TIER].isin(["small", "large"])
    frame.loc[untimed, C.LATENCY_MS] = np.nan
    data = pivot_outcomes(frame, [t["name"] for t in TIER_ENTRIES])
    settings = dataclasses.replace(SETTINGS, routers=("cascade",))
    built = router_spec("cascade").build(Workspace(data, settings))
    (candidate,) = [c for c in built if c.variant == "small>large"]
    latency = candidate.latency
    assert np.isnan(latency[:5]).all()  # neither small nor large was timed on these rows
    np.testing.assert_array_equal(latency[5:, 0], data.latency_ms[5:, 0])
    np.testing.assert_allclose(latency[5:, 1], data.latency_ms[5:, 0] + data.latency_ms[5:, 2])


def test_the_result_carries_every_eval_row_pivoted_for_the_reports(demo):
    share = dataclasses.replace(SETTINGS, routers=("static",), holdout_share=0.3)
    result = optimize_outcomes(demo, tiers=TIER_ENTRIES, settings=share)
    expected = pivot_outcomes(demo, [t["name"] for t in TIER_ENTRIES])
    assert result.data.row_ids == expected.row_ids  # the held-out rows too
    assert result.summary["selection"]["rows"] < result.data.n_rows
    np.testing.assert_array_equal(result.data.score, expected.score)


def test_static_intent_never_exports_a_table_cheaper_than_the_certified_point(demo):
    """The folds' tables switch an intent at different lambdas, so some certified points are mixtures no refit
    table reproduces: every export costs at least its point on the selection rows, and says so when it differs."""
    ids = demo[C.ROW_ID].drop_duplicates().tolist()
    frame = demo.assign(**{C.INTENT: demo[C.ROW_ID].map({row: f"topic{i % 4}" for i, row in enumerate(ids)})})
    tier_names = [t["name"] for t in TIER_ENTRIES]
    data = pivot_outcomes(frame, tier_names)
    notes = []
    workspace = Workspace(data, SETTINGS, notes)
    candidate = router_spec("static").build(workspace)[1]
    rows = np.arange(data.n_rows)
    for point in sweep_candidate(candidate):
        fitted, kind, knob = router_spec("static").export(workspace, point)
        decisions = offline_decisions(fitted, kind, knob, data)
        exported = 1000 * np.nanmean(data.cost_usd[rows, decisions])
        assert exported >= point.cost_per_1k_usd * (1 - 1e-9)
    assert any("no table refit on every row costs that" in note for note in notes)


def test_static_intent_points_that_mix_the_folds_tables_are_left_out(demo):
    """Every static/intent point the optimizer keeps is one a refit table reproduces (within 1% of its cost)."""
    ids = demo[C.ROW_ID].drop_duplicates().tolist()
    frame = demo.assign(**{C.INTENT: demo[C.ROW_ID].map({row: f"topic{i % 4}" for i, row in enumerate(ids)})})
    settings = dataclasses.replace(SETTINGS, routers=("static",))
    result = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=settings)
    assert any("that no exportable table reproduces" in note for note in result.notes)
    kept = [p for p in result.points if (p.router, p.variant) == ("static", "intent")]
    assert kept
    workspace = Workspace(result.data, settings)
    rows = np.arange(result.data.n_rows)
    for point in kept:
        fitted, kind, knob = router_spec("static").export(workspace, point)
        exported = 1000 * np.nanmean(result.data.cost_usd[rows, offline_decisions(fitted, kind, knob, result.data)])
        assert point.cost_per_1k_usd * (1 - 1e-9) <= exported <= point.cost_per_1k_usd * 1.01


def _with_logs(frame, metadata: dict | None):
    """``frame`` plus 40 log rows (each tier's answer copied from an eval row) carrying ``metadata``."""
    import json

    import pandas as pd

    logs = frame[frame[C.ROW_ID].isin(sorted(frame[C.ROW_ID].unique())[:40])].copy()
    logs[C.ROW_ID] = "log-" + logs[C.ROW_ID].astype(str)
    logs[C.SOURCE] = C.SOURCE_LOG
    logs[C.INTENT] = None
    logs[C.METADATA] = json.dumps(metadata) if metadata else None
    return pd.concat([frame, logs], ignore_index=True)


def test_a_router_production_cannot_feed_is_flagged_and_not_chosen(demo):
    # static/intent reads metadata.intent at runtime; with a loose tolerance it is the cheapest qualifying policy.
    settings = dataclasses.replace(SETTINGS, routers=("static",), max_drop=0.08)
    allowed = optimize_outcomes(_with_logs(demo, {"intent": "billing"}), tiers=TIER_ENTRIES, settings=settings).summary
    assert (allowed["chosen"]["router"], allowed["chosen"]["variant"]) == ("static", "intent")
    (need,) = allowed["metadata_routers"]
    assert need["keys"] == ["intent"] and need["selectable"] and need["log_rows_with_keys"] == 40

    for frame, why in (
        (_with_logs(demo, {"channel": "email"}), "your logs have none (0 of 40 rows)"),
        (demo, "no production logs were given"),
    ):
        result = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=settings)
        summary = result.summary
        assert (summary["chosen"]["router"], summary["chosen"]["variant"]) != ("static", "intent")
        (need,) = summary["metadata_routers"]
        assert not need["selectable"] and why in need["note"]
        assert any(n.startswith("static/intent needs metadata.intent at runtime; " + why) for n in result.notes)
        flagged = [p for p in summary["frontier"] if p["variant"] == "intent"]
        assert flagged and all(p["selectable"] is False and p["needs_metadata"] == ["intent"] for p in flagged)

    forced = dataclasses.replace(settings, allow_metadata_routers=True)
    summary = optimize_outcomes(demo, tiers=TIER_ENTRIES, settings=forced).summary
    assert (summary["chosen"]["router"], summary["chosen"]["variant"]) == ("static", "intent")


def test_the_chosen_policy_is_measured_on_the_logs_mix(demo):
    import json

    from routeeval.outcomes import decode_input

    # The logs repeat 40 eval rows, the long ones: the production mix differs from the eval set's.
    lengths = demo[demo[C.TIER] == "small"].set_index(C.ROW_ID)[C.INPUT].str.len().sort_values()
    long_ids = list(lengths.index[-40:])
    logs = demo[demo[C.ROW_ID].isin(long_ids)].copy()
    logs[C.ROW_ID] = "log-" + logs[C.ROW_ID].astype(str)
    logs[C.SOURCE] = C.SOURCE_LOG
    frame = __import__("pandas").concat([demo, logs], ignore_index=True)
    settings = dataclasses.replace(SETTINGS, routers=("static",), max_drop=0.2)
    result = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=settings)
    mix = result.summary["production_mix"]
    assert mix["rows"] == 40
    # Route each log row with the exported policy and price it with that tier's replayed cost on the row.
    router = Router.load(result.policy)
    rows = logs[logs[C.TIER] == "small"]
    costs = logs.set_index([C.ROW_ID, C.TIER])[C.COST_USD]
    tiers = [router.route(decode_input(text)).tier for text in rows[C.INPUT]]  # chat inputs are stored as JSON
    expected = 1000 * np.mean([costs[(row, tier)] for row, tier in zip(rows[C.ROW_ID], tiers, strict=True)])
    assert mix["policy_cost_per_1k_usd"] == pytest.approx(expected)
    assert mix["tier_share"] == {t["name"]: tiers.count(t["name"]) / 40 for t in TIER_ENTRIES}
    low, high = mix["tier_share_ci"]["large"]
    assert low <= mix["tier_share"]["large"] <= high
    assert mix["policy_cost_per_1k_usd_ci"][0] <= mix["policy_cost_per_1k_usd"] <= mix["policy_cost_per_1k_usd_ci"][1]
    json.dumps(mix, allow_nan=False)  # summary.json material
