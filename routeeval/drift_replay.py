"""The paid parts of ``routeeval drift``: the outcomes layer's replay of a sample of fresh rows, and ``--refit``.

The sample is drawn from the rows the policy sends below the baseline tier (a row routed to the baseline loses
nothing against it), stratified by the routed tier in proportion to its share; a cascade's rows all start at its
first tier and are walked as production walks them, each step a replayed call. Calls go through the run's replay
engine: the same response cache, retries and one budget, so a killed drift check pays for nothing twice.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np

from routeeval.errors import ProviderError
from routeeval.runtime import Router, query_text

Z95 = 1.959963984540054
QUERY_CHARS = 500  # characters of a query shown among the worst-routed examples
ANSWER_CHARS = 600


def replay_sample(router: Router, reference: dict, fresh, config, sample: int, budget, seed: int, progress) -> dict:
    """Replay up to ``sample`` fresh rows on their routed tier(s) and the baseline; score, weigh back, estimate."""
    from routeeval.cache import ResponseCache
    from routeeval.pipeline import PaidCalls, run_judge
    from routeeval.pricing import price_tiers
    from routeeval.replay import CallRequest, SpendLedger, resolve_api_keys
    from routeeval.scoring import ScoredRow, agreement_spec, scorer_from_config
    from routeeval.sim import log_sim_rows

    names = list(router.tier_names)
    baseline = reference.get("baseline_tier") or names[router.fallback]
    if baseline not in names:
        baseline = names[router.fallback]
    base = names.index(baseline)
    cascade = router.cascade
    first = fresh.routed.tier.astype(int)
    population = first.size
    if cascade is not None:
        start = int(cascade.order[0])
        weights = {start: 1.0}
    else:
        weights = {t: float((first == t).mean()) for t in range(len(names)) if t != base and (first == t).any()}
    by_stratum: dict[int, list] = {t: [] for t in weights}
    for index, record in fresh.kept:
        stratum = int(cascade.order[0]) if cascade is not None else int(first[index])
        if stratum in by_stratum:
            by_stratum[stratum].append((index, record))
    rng = random.Random(seed)
    allocation = _allocate(sample, weights, {t: len(rows) for t, rows in by_stratum.items()})
    picked: list[tuple[int, Any]] = []
    strata: list[int] = []
    for stratum, count in allocation.items():
        rows = by_stratum[stratum]
        rng.shuffle(rows)
        picked += rows[:count]
        strata += [stratum] * min(count, len(rows))
    result: dict[str, Any] = {"rows": len(picked), "population": population, "baseline": baseline}
    if not picked:
        return {**result, **_empty(weights, names)}

    tiers = {name: _replay_tier(config, name, model) for name, model in zip(names, router.models, strict=True)}
    tiers = with_policy_logprobs(router, tiers)
    prices = price_tiers(list(tiers.values()), config.path)
    resolve_api_keys(tiers.values(), config.path)  # a key variable not set: the error names the config file
    records = [record for _index, record in picked]
    keys = log_sim_rows(records)
    ledger = SpendLedger(budget_usd=budget)
    answers: list[dict[str, Any]] = [{} for _ in picked]
    finals = [stratum for stratum in strata]
    confidence: list[float] = []
    with ResponseCache(config.replay.cache) as cache:
        paid = PaidCalls(prices, config.replay, cache, ledger, progress or (lambda _label: None))

        def ask(wanted: list[tuple[int, int]]) -> None:
            requests = [
                CallRequest(records[row].query.row_id, tiers[names[tier]], list(records[row].query.messages), keys[row])
                for row, tier in wanted
            ]
            report = paid.replay(requests, "replay")
            for (row, tier), answer in zip(wanted, report.results, strict=True):
                answers[row][names[tier]] = answer

        ask([(row, tier) for row, stratum in enumerate(strata) for tier in dict.fromkeys((stratum, base))])
        if cascade is not None:  # walk each row as production would: escalate while the tier is unsure
            for row, record in enumerate(records):
                answer = answers[row].get(names[finals[row]])
                score, _source = router.answer_confidence(
                    names[finals[row]],
                    logprobs=answer.logprob_mean if answer is not None and answer.ok else None,
                    response=answer.response if answer is not None and answer.ok else None,
                    query=record.query.input_value,
                )
                confidence.append(score if answer is not None and answer.ok else math.nan)
            for _step in range(len(cascade.order)):
                wanted = []
                for row, record in enumerate(records):
                    answer = answers[row].get(names[finals[row]])
                    if answer is None or not answer.ok:
                        continue
                    decision = router.should_escalate(
                        names[finals[row]],
                        logprobs=answer.logprob_mean,
                        response=answer.response,
                        query=record.query.input_value,
                    )
                    if decision is None:
                        continue
                    finals[row] = names.index(decision.tier)
                    if decision.tier not in answers[row]:
                        wanted.append((row, finals[row]))
                if not wanted:
                    break
                ask(wanted)
        stopped = {tier: why for report in paid.reports.values() for tier, why in report.stopped_tiers.items()}
        if stopped:
            detail = "; ".join(f"'{tier}': {why}" for tier, why in stopped.items())
            raise ProviderError(f"the outcomes layer stopped calling {detail}; the free and cost checks are written")

        scorer = scorer_from_config(config.scoring.scorer, config.scoring, config.path)
        golds = [record.query.extra.get("reference") for record in records]
        basis = "gold" if all(g not in (None, "", []) for g in golds) else "agreement"
        scored = []
        for row, record in enumerate(records):
            results = answers[row]
            if basis == "gold":
                item = ScoredRow(record.query, "log", scorer, scorer.spec, golds[row], results)
                item.score_all()
            else:
                anchor = results.get(baseline)
                anchor_text = anchor.response if anchor is not None and anchor.ok else None
                item = ScoredRow(record.query, "log", scorer, agreement_spec(scorer, baseline), anchor_text, results)
                item.score_all(skip=baseline)
            scored.append(item)
        run_judge(scored, config, paid)
        spend = paid.spend()

    drops = np.full(len(picked), np.nan)
    for row, item in enumerate(scored):
        final, base_score = names[finals[row]], item.scores.get(baseline)
        final_score = item.scores.get(final)
        if final_score is None or base_score is None:
            continue
        drops[row] = base_score - final_score
    result.update(_estimate(drops, np.asarray(strata), weights, names))
    result.update(
        basis=basis,
        scorer=scorer.spec if basis == "gold" else agreement_spec(scorer, baseline),
        rows_scored=int(np.isfinite(drops).sum()),
        spend=spend,
        spent_usd=spend.get("spent_usd"),
        skipped_by_budget=sum((spend.get("skipped_by_budget") or {}).values()),
    )
    if basis == "agreement":
        then_agreement = reference.get("agreement")
        then_rows = int(reference.get("rows") or 0)
        result["disagreement"] = result["drop"]
        if then_agreement is not None and result["drop"] is not None:
            then_dis = 1 - float(then_agreement)
            result["reference_disagreement"] = then_dis
            se_then = math.sqrt(then_dis * (1 - then_dis) / max(then_rows, 1))
            half = Z95 * math.hypot(result["drop_se"], se_then)
            result["drop"] -= then_dis
            result["drop_ci"] = [result["drop"] - half, result["drop"] + half]
    if cascade is not None:
        finals_array = np.asarray(finals)
        start = int(cascade.order[0])
        answered = np.array(
            [bool(answers[r].get(names[start])) and answers[r][names[start]].ok for r in range(len(picked))]
        )
        result["confidence"] = confidence
        result["escalation_share"] = float((finals_array[answered] != start).mean()) if answered.any() else None
        then_answers = (reference.get("tier_share") or {}).get("answers") or {}
        if names[start] in then_answers:
            result["escalation_share_then"] = 1 - float(then_answers[names[start]])
        calls = np.zeros((len(picked), len(names)))
        for row in range(len(picked)):
            for tier_name in answers[row]:
                order_names = [names[int(t)] for t in cascade.order]
                if tier_name in order_names[: order_names.index(names[finals[row]]) + 1]:
                    calls[row, names.index(tier_name)] = 1
        result["calls_per_query"] = {
            name: float(calls[answered, i].mean()) if answered.any() else 0.0 for i, name in enumerate(names)
        }
    result["worst"] = _worst(scored, finals, drops, names, baseline, picked)
    return result


def with_policy_logprobs(router: Router, tiers: dict) -> dict:
    """``tiers`` (name -> config Tier) asking for token log-probabilities where the policy's cascade reads its
    confidence from them, as the run that wrote it asked (so its cached answers are found): not a simulated tier
    (the simulator returns them unasked), nor one whose params set ``logprobs`` themselves."""
    from routeeval.pipeline import LOGPROBS_REQUESTED, tiers_asking_logprobs

    cascade = router.cascade
    if cascade is None:
        return tiers
    names = list(router.tier_names)
    stops = [int(i) for i in cascade.order[:-1]]  # the last tier's answer is taken whatever its confidence
    reads = [names[i] for i in stops if cascade.confidence[i].source == "logprob"]
    asking = {
        name: LOGPROBS_REQUESTED
        for name in reads
        if name in tiers and "logprobs" not in tiers[name].params and not tiers[name].simulated
    }
    return dict(zip(tiers, tiers_asking_logprobs(tuple(tiers.values()), asking), strict=True))


def _replay_tier(config, name: str, model: str):
    """The config's tier: how the team reaches it (model, endpoint, key, params). A model other than the policy's
    is named in the cost check's details."""
    return config.tier(name)


def _allocate(sample: int, weights: dict[int, float], available: dict[int, int]) -> dict[int, int]:
    """``sample`` rows split over strata in proportion to their weights (largest remainder), within what each has."""
    total = sum(weights.values())
    if total <= 0 or sample <= 0:
        return dict.fromkeys(weights, 0)
    raw = {t: sample * w / total for t, w in weights.items()}
    counts = {t: min(int(math.floor(v)), available.get(t, 0)) for t, v in raw.items()}
    for t in sorted(raw, key=lambda t: raw[t] - math.floor(raw[t]), reverse=True):
        if sum(counts.values()) >= sample:
            break
        if counts[t] < available.get(t, 0):
            counts[t] += 1
    return counts


def _estimate(drops: np.ndarray, strata: np.ndarray, weights: dict[int, float], names: list[str]) -> dict:
    """The population's drop: the strata's mean drops weighted by their population shares (rows routed to the
    baseline, outside every stratum, drop nothing), with a normal interval from the strata's variances."""
    estimate, variance = 0.0, 0.0
    rows = []
    for stratum, weight in weights.items():
        values = drops[(strata == stratum) & np.isfinite(drops)]
        if values.size == 0:
            rows.append({"tier": names[stratum], "share": weight, "rows": 0, "drop": None})
            continue
        mean = float(values.mean())
        estimate += weight * mean
        if values.size > 1:
            variance += weight * weight * float(values.var(ddof=1)) / values.size
        rows.append({"tier": names[stratum], "share": weight, "rows": int(values.size), "drop": mean})
    if not np.isfinite(drops).any():
        return {"drop": None, "drop_ci": [None, None], "drop_se": None, "strata": rows}
    se = math.sqrt(variance)
    return {"drop": estimate, "drop_ci": [estimate - Z95 * se, estimate + Z95 * se], "drop_se": se, "strata": rows}


def _empty(weights: dict[int, float], names: list[str]) -> dict:
    return {
        "drop": None,
        "drop_ci": [None, None],
        "drop_se": None,
        "strata": [{"tier": names[t], "share": w, "rows": 0, "drop": None} for t, w in weights.items()],
        "basis": "agreement",
        "scorer": None,
        "rows_scored": 0,
        "spend": None,
        "spent_usd": 0.0,
        "skipped_by_budget": 0,
        "worst": [],
    }


def _worst(scored, finals, drops, names, baseline, picked) -> list[dict]:
    """Rows where the cheaper tier's answer was judged worse than the baseline's, worst first."""
    order = [row for row in np.argsort(-np.nan_to_num(drops, nan=-1.0)) if np.isfinite(drops[row]) and drops[row] > 0]
    out = []
    for row in order[:10]:
        item = scored[row]
        final = names[finals[row]]
        try:
            text, _ = query_text(item.query.input_value)
        except ValueError:
            text = ""
        out.append(
            {
                "id": item.query.row_id,
                "query": _cut(text, QUERY_CHARS),
                "tier": final,
                "answer": _cut(item.results[final].response or "", ANSWER_CHARS),
                "baseline_tier": baseline,
                "baseline_answer": _cut(item.results[baseline].response or "", ANSWER_CHARS),
                "score": item.scores.get(final),
                "baseline_score": item.scores.get(baseline),
            }
        )
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- --refit -----------------------------------------------------------------------------------------
def refit_policy(options, config, router: Router, fresh, out_dir: Path, paid, progress) -> dict:
    """Re-run the optimizer on the eval set plus a sample of the fresh logs and write ``candidate/policy.json``,
    with a readable diff against the deployed policy. Its calls count against what is left of ``--max-cost``."""
    from dataclasses import replace

    from routeeval.fields import LOGS
    from routeeval.files import make_folder, write_text_atomic
    from routeeval.pipeline import run_evaluation

    candidate_dir = out_dir / "candidate"
    make_folder(candidate_dir)
    logs_path = candidate_dir / "fresh-logs-sample.jsonl"
    lines = [json.dumps(_log_line(record), ensure_ascii=False) for _index, record in fresh.kept]
    write_text_atomic(logs_path, "\n".join(lines) + "\n")
    budget = options.max_cost_usd if options.max_cost_usd is not None else config.replay.max_cost_usd
    spent = (paid or {}).get("spent_usd") or 0.0
    remaining = None if budget is None else max(0.0, float(budget) - float(spent))
    result = run_evaluation(
        options.evalset,
        logs_path=logs_path,
        config=replace(config, columns=config.columns.without(LOGS)),  # the sample is in routeeval's own names
        out_dir=candidate_dir,
        max_cost_usd=remaining,
        progress=progress,
    )
    new = result.summary
    old_expected = router.policy.get("expected") or {}
    chosen = new.chosen
    diff = policy_diff(router.policy, json.loads(Path(result.policy_path).read_text()) if result.policy_path else None)
    return {
        "policy_path": str(result.policy_path) if result.policy_path else None,
        "report": str(result.reports.get("html")) if result.reports else None,
        "logs_sample": str(logs_path),
        "diff": diff,
        "note": "the candidate was chosen on the eval set; the fresh logs joined as production rows (their mix, "
        "cost and agreement). Label rows of new intents and add them to the eval set to change what routers learn.",
        "chosen": {
            "router": getattr(chosen, "router", None),
            "savings_share": getattr(chosen, "savings_share", None),
            "accuracy_drop": getattr(chosen, "accuracy_drop", None),
        }
        if chosen is not None
        else None,
        "deployed": {k: old_expected.get(k) for k in ("router", "variant", "savings_share", "accuracy_drop")},
    }


def policy_diff(old: dict, new: dict | None) -> list[str]:
    """What changes if the candidate replaces the deployed policy, one line per difference."""
    if new is None:
        return ["no candidate policy was written (see the candidate report's notes)"]
    lines = []
    old_e, new_e = old.get("expected") or {}, new.get("expected") or {}

    def name(policy, expected):
        variant = expected.get("variant")
        return f"{policy.get('kind')}" + (f" ({variant})" if variant else "")

    if name(old, old_e) != name(new, new_e):
        lines.append(f"router: {name(old, old_e)} → {name(new, new_e)}")
    if old.get("knob") != new.get("knob"):
        lines.append(f"knob: {json.dumps(old.get('knob'))} → {json.dumps(new.get('knob'))}")
    for key, label, scale, unit in (
        ("savings_share", "promised saving", 100, "%"),
        ("accuracy_drop", "accuracy drop", 100, " points"),
        ("cost_per_1k_usd", "cost per 1k queries", 1, " USD"),
    ):
        a, b = old_e.get(key), new_e.get(key)
        if a is not None and b is not None and not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9):
            lines.append(f"{label}: {a * scale:.3g}{unit} → {b * scale:.3g}{unit}")
    old_share, new_share = old_e.get("tier_share") or {}, new_e.get("tier_share") or {}
    for tier in dict.fromkeys([*old_share, *new_share]):
        a, b = old_share.get(tier, 0.0), new_share.get(tier, 0.0)
        if abs(a - b) >= 0.005:
            lines.append(f"tier share '{tier}': {a:.1%} → {b:.1%}")
    return lines or ["the candidate policy decides as the deployed one does"]


def _log_line(record) -> dict:
    query = record.query
    line: dict[str, Any] = {"id": query.row_id, "messages": [dict(m) for m in query.messages]}
    for key in ("timestamp", "model", "response", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms"):
        value = getattr(record, key)
        if value is not None:
            line[key] = value
    if query.metadata:
        line["metadata"] = query.metadata
    if query.intent:
        line["intent"] = query.intent
    if query.label:
        line["label"] = query.label
    return line
