"""``routeeval run --dry-run``: the calls a run would make and what they would cost, calling nothing.

The run's own steps list the calls (``pipeline.plan_run``, ``judge_requests``, ``triage_requests``), so the dry
run prices exactly the requests the run would send, and looks each one up in the response cache by the key the
replay uses. Prompt tokens are counted with litellm's ``token_counter`` (offline: a tokenizer litellm would fetch
from Hugging Face is never fetched; tiktoken's cl100k_base stands in, and the record says so). Completion tokens
are the tier's ``params.max_tokens`` (a ceiling), else an assumption the record states. Prices are the run's
(``pricing.py``); a tier without one is "no price", never $0.

A judge call grades a tier's answer, so its prompt is known only when that answer is cached; for an answer still
to be bought, the prompt is counted without it and the answer's estimated completion tokens are added.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from routeeval.config import Config, Tier
from routeeval.errors import ConfigError
from routeeval.pipeline import (
    RowSubset,
    checked_run_config,
    judge_requests,
    plan_run,
    subset_notes,
    triage_requests,
)
from routeeval.pricing import TierPrice, cost_map_model, import_litellm, price_tier
from routeeval.replay import CallRequest, CallResult

SCHEMA = "routeeval.dryrun/v1"
DEFAULT_COMPLETION_TOKENS = 256  # per call, when max_tokens is not set and no answer of the tier is cached
CHARS_PER_TOKEN = 4  # the fallback when litellm's token counter is switched off (litellm.disable_token_counter)
_BUNDLED_TOKENIZERS = {"anthropic", "deepseek"}  # shipped inside litellm: counted with the model's own tokenizer


def estimate_run(
    evalset_path: str | Path,
    *,
    config: Config,
    logs_path: str | Path | None = None,
    labels_path: str | Path | None = None,
    subset: RowSubset | None = None,
    max_cost_usd: float | None = None,
    overrides: dict | None = None,
    monthly_queries: int | None = None,
) -> dict:
    """What ``routeeval run`` with these arguments would call and cost: a ``routeeval.dryrun/v1`` record (the
    same dict ``--json`` prints). Reads the rows, the cache and the tokenizers; calls no model."""
    config = checked_run_config(config, overrides, max_cost_usd, monthly_queries)
    plan = plan_run(evalset_path, config, logs_path=logs_path, labels_path=labels_path, subset=subset)
    prices, problems = _prices(config.tiers, config.path)
    counter = PromptCounter()
    lookup = _CacheLookup(Path(config.replay.cache))
    lookup.fetch([request.key for request in plan.requests])
    completion = {tier.name: _completion_tokens(tier, plan.requests, lookup) for tier in config.tiers}
    phases = _estimate_phase("replay", plan.requests, lookup, counter, prices, completion)

    assumptions: list[str] = []
    judge = _judge_calls(plan, config, lookup)
    if judge is not None:
        requests, unknown_answers = judge
        lookup.fetch([request.key for request, extra in zip(requests, unknown_answers, strict=True) if not extra])
        phases += _estimate_phase("judge", requests, lookup, counter, prices, completion, unknown_answers)
        if any(unknown_answers):
            assumptions.append(
                "judge calls grading answers not yet cached: the prompt is counted without the answer, plus the "
                "answer's estimated completion tokens (and, for log rows, the reference tier's)"
            )
        if plan.log_set is not None and config.scoring.log_reference != "production":
            against = _log_reference_guess(config)
            assumptions.append(
                f"log rows are judged against tier '{against}' (the run takes the most accurate tier on the eval "
                "rows, known only after it; [optimize] baseline fixes it)"
            )
    from routeeval.routers.registry import routers_to_fit

    if "llm" in routers_to_fit(config.optimize):
        _, triage = triage_requests(plan.eval_set, config, config.optimize)
        lookup.fetch([request.key for request in triage])
        phases += _estimate_phase("triage", triage, lookup, counter, prices, completion)

    for tier in config.tiers:
        tokens, basis = completion[tier.name]
        assumptions.append(f"completion tokens, tier '{tier.name}': {tokens:,} a call ({basis})")
    assumptions += counter.notes(config.tiers)
    problems += _missing_keys(config.tiers)
    total = _total(phases)
    budget = config.replay.max_cost_usd
    return {
        "schema": SCHEMA,
        "dry_run": True,
        "evalset": {
            "path": str(plan.eval_set.path),
            "sha256": plan.eval_set.sha256,
            "rows": len(plan.eval_set.rows),
            "subset": plan.subset,
        },
        "logs": {"path": str(plan.log_set.path), "rows": len(plan.log_set.records)} if plan.log_set else None,
        "config": config.path,
        "cache": {"path": str(lookup.path), "exists": lookup.exists},
        "tiers": [_tier_entry(tier, prices.get(tier.name)) for tier in config.tiers],
        "phases": phases,
        "total": total,
        "budget_usd": budget,
        "fits": _fits(total, budget),
        "verdict": _verdict(total, budget),
        "assumptions": assumptions,
        "problems": problems,
        "notes": subset_notes(plan.subset),
    }


@dataclass
class _CacheLookup:
    """The response cache, read only: a missing file is an empty cache (the dry run creates nothing)."""

    path: Path
    hits: dict = field(default_factory=dict)  # key -> CachedResponse

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def fetch(self, keys: list[str]) -> None:
        wanted = sorted(set(keys) - set(self.hits))
        if not wanted or not self.exists:
            return
        from routeeval.cache import ResponseCache

        with ResponseCache(self.path) as cache:
            self.hits.update(cache.get_many(wanted))


def _prices(tiers: tuple[Tier, ...], where: str | None) -> tuple[dict[str, TierPrice], list[str]]:
    """The run's price of each tier; a tier without one is left out and named (the run would stop on it)."""
    prices, problems = {}, []
    for tier in tiers:
        try:
            prices[tier.name] = price_tier(tier, where)
        except ConfigError as exc:
            problems.append(f"{exc} The run would stop before its first call.")
    return prices, problems


def _missing_keys(tiers: tuple[Tier, ...]) -> list[str]:
    """Tiers whose key variable is not set (its name only; never a value): the run would stop on them."""
    return [
        f"tier '{tier.name}': environment variable {tier.api_key_env} is not set (named by api_key_env); "
        "the run would stop before its first call."
        for tier in tiers
        if tier.api_key_env and not os.environ.get(tier.api_key_env)
    ]


def _completion_tokens(tier: Tier, requests: list[CallRequest], lookup: _CacheLookup) -> tuple[int, str]:
    """(completion tokens per call, where the number comes from) for ``tier``."""
    max_tokens = tier.params.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0:
        return max_tokens, "params.max_tokens, a ceiling: answers are often shorter"
    keys = {r.key for r in requests if r.tier.name == tier.name}  # distinct answers: one shared by two rows counts once
    seen = [hit.completion_tokens for key in keys if (hit := lookup.hits.get(key))]
    if seen:
        mean = round(sum(seen) / len(seen))
        return mean, f"an assumption: the mean of its {len(seen):,} cached answers; no params.max_tokens"
    return DEFAULT_COMPLETION_TOKENS, "an assumption: routeeval's default, as no params.max_tokens is set"


def _estimate_phase(
    phase: str,
    requests: list[CallRequest],
    lookup: _CacheLookup,
    counter: PromptCounter,
    prices: dict[str, TierPrice],
    completion: dict[str, tuple[int, str]],
    unknown_answers: list[int] | None = None,
) -> list[dict]:
    """One entry per tier the phase calls: calls, cached, to call (identical requests are made once), and the
    estimated tokens and dollars of the calls to make. ``unknown_answers``: per request, the completion tokens of
    answers its prompt will hold that are not bought yet (the judge's)."""
    extra = unknown_answers or [0] * len(requests)
    by_tier: dict[str, dict] = {}
    made: set[str] = set()
    for request, answer_tokens in zip(requests, extra, strict=True):
        tier = request.tier
        entry = by_tier.setdefault(
            tier.name,
            {"phase": phase, "tier": tier.name, "model": tier.model, "calls": 0, "cached": 0, "to_call": 0,
             "prompt_tokens": 0, "completion_tokens": 0, "prompts_estimated": 0},
        )  # fmt: skip
        entry["calls"] += 1
        key = request.key
        if not answer_tokens and key in lookup.hits:
            entry["cached"] += 1
            continue
        if not answer_tokens:
            if key in made:  # an identical request earlier in the phase: made once, shared
                continue
            made.add(key)
        entry["to_call"] += 1
        entry["prompt_tokens"] += counter.count(tier.model, request.messages) + answer_tokens
        entry["prompts_estimated"] += bool(answer_tokens)
        entry["completion_tokens"] += completion[tier.name][0]
    for name, entry in by_tier.items():
        price = prices.get(name)
        entry["usd"] = price.cost_usd(entry["prompt_tokens"], entry["completion_tokens"]) if price else None
        entry["priced"] = price is not None
    return list(by_tier.values())


def _judge_calls(plan, config: Config, lookup: _CacheLookup) -> tuple[list[CallRequest], list[int]] | None:
    """The judge's calls as the run would make them (None: nothing is judged), and per call the completion tokens
    of answers its prompt holds that are not cached yet (0: the prompt is exact, and may be cached itself)."""
    from routeeval.scoring import JudgeScorer, score_eval_rows, score_log_rows, scorer_from_config

    log_scorer = scorer_from_config(config.scoring.scorer, config.scoring)
    judged_logs = plan.log_set is not None and isinstance(log_scorer, JudgeScorer)
    if not judged_logs and not any(isinstance(s, JudgeScorer) for s in plan.scorers.values()):
        return None
    names = [tier.name for tier in config.tiers]
    per_call = {tier.name: _completion_tokens(tier, plan.requests, lookup)[0] for tier in config.tiers}
    # each tier's answer: the cached one, or an empty stand-in that every call is assumed to return
    results = [_answer(request, lookup.hits.get(request.key)) for request in plan.requests]
    n_eval = len(plan.eval_set.rows) * len(names)
    rows = score_eval_rows(plan.eval_set, names, plan.scorers, results[:n_eval])
    if judged_logs:
        eval_ids = frozenset(row.row_id for row in plan.eval_set.rows)
        against = _log_reference_guess(config)
        rows += score_log_rows(plan.log_set, names, log_scorer, results[n_eval:], eval_ids, against)
    requests, targets = judge_requests(rows, config)
    anchor = _log_reference_guess(config)
    unknown = []
    for row, tier_name in targets:
        tokens = 0 if row.results[tier_name].cached else per_call[tier_name]
        if row.source == "log" and anchor in row.results and not row.results[anchor].cached:
            tokens += per_call[anchor]  # a log row's reference is the anchor tier's answer, not bought yet
        unknown.append(tokens)
    return requests, unknown


def _answer(request: CallRequest, hit) -> CallResult:
    """A tier's answer for the judge's prompt: the cached one, else an empty stand-in (``cached`` False)."""
    response = hit.response if hit is not None else ""
    return CallResult(request.row_id, request.tier.name, response, None, None, None, None, cached=hit is not None)


def _log_reference_guess(config: Config) -> str:
    """The tier whose answers log rows are compared with, as far as it is known before the run."""
    if config.scoring.log_reference == "production":
        return "production"
    return config.optimize.baseline or config.tiers[-1].name


def _total(phases: list[dict]) -> dict:
    keys = ("calls", "cached", "to_call", "prompt_tokens", "completion_tokens")
    total: dict = {key: sum(entry[key] for entry in phases) for key in keys}
    unpriced = sorted({entry["tier"] for entry in phases if not entry["priced"] and entry["to_call"]})
    total["usd"] = None if unpriced else sum(entry["usd"] or 0.0 for entry in phases)
    total["usd_priced"] = sum(entry["usd"] or 0.0 for entry in phases)  # the calls to priced tiers only
    total["unpriced_tiers"] = unpriced
    return total


def _fits(total: dict, budget: float | None) -> bool | None:
    """Whether the estimate fits the budget; None when there is no budget or a tier has no price."""
    if total["to_call"] == 0:
        return True
    if budget is None or total["usd"] is None:
        return None
    return bool(total["usd"] <= budget)


def _verdict(total: dict, budget: float | None) -> str:
    if total["to_call"] == 0:
        return "every call is in the cache: the run would pay nothing"
    if total["usd"] is None:
        tiers = ", ".join(total["unpriced_tiers"])
        return (
            f"cannot tell whether the run fits: no price for tier(s) {tiers} (set price_in_per_mtok and "
            f"price_out_per_mtok); the priced calls alone come to ${total['usd_priced']:.4f}"
        )
    if budget is None:
        return f"estimated ${total['usd']:.4f}; no budget is set (--max-cost or [replay] max_cost_usd)"
    if total["usd"] <= budget:
        return f"fits: estimated ${total['usd']:.4f} of the ${budget:.2f} budget (--max-cost / [replay] max_cost_usd)"
    return (
        f"does not fit: estimated ${total['usd']:.4f} against the ${budget:.2f} budget; the run would stop making "
        "calls once the budget is spent (raise --max-cost, or run a subset with --limit / --sample)"
    )


def _tier_entry(tier: Tier, price: TierPrice | None) -> dict:
    return {
        "name": tier.name,
        "model": tier.model,
        "price_in_per_mtok": price.price_in_per_mtok if price else None,
        "price_out_per_mtok": price.price_out_per_mtok if price else None,
        "price_source": price.source if price else "no price",
        "simulated": tier.simulated,
    }


class PromptCounter:
    """Prompt tokens by litellm's ``token_counter``, never fetching a tokenizer: litellm's bundled tokenizers
    (tiktoken's cl100k_base, Anthropic's, DeepSeek's) count as litellm would; for a model whose tokenizer litellm
    would download from Hugging Face (Llama, Cohere), cl100k_base stands in and :meth:`notes` says so."""

    def __init__(self) -> None:
        self.litellm = import_litellm()
        self.memo: dict[tuple[str, str], int] = {}
        self.choices: dict[str, tuple[str, str]] = {}  # model -> (model to count as, tokenizer in words)
        self.selected: dict[str, object] = {}  # model counted as -> litellm's tokenizer for it

    def count(self, model: str, messages: list[dict]) -> int:
        count_as, tokenizer = self.tokenizer(model)
        key = (tokenizer, json.dumps(messages, sort_keys=True, ensure_ascii=False))
        if key not in self.memo:
            counted = self.litellm.token_counter(
                model=count_as, custom_tokenizer=self._selected(count_as), messages=messages
            )
            if not counted and any(m.get("content") for m in messages):  # litellm.disable_token_counter
                text = "".join(str(m.get("content") or "") for m in messages)
                counted = -(-len(text) // CHARS_PER_TOKEN)
                self.choices[model] = (count_as, "disabled")
            self.memo[key] = int(counted)
        return self.memo[key]

    def _selected(self, count_as: str):
        """litellm's tokenizer for ``count_as``, selected once (token_counter selects it again on every call
        otherwise: 7x slower); None lets token_counter select it."""
        if count_as not in self.selected:
            select = getattr(getattr(self.litellm, "utils", None), "select_tokenizer", None)
            self.selected[count_as] = select(count_as) if select is not None else None
        return self.selected[count_as]

    def tokenizer(self, model: str) -> tuple[str, str]:
        """(the model name to count as, the tokenizer it selects) for ``model``, without loading anything."""
        if model not in self.choices:
            count_as, tokenizer = self._choose(cost_map_model(model))
            selected = self._selected(count_as) if tokenizer in _BUNDLED_TOKENIZERS else None
            if isinstance(selected, dict) and selected.get("type") == "openai_tokenizer":  # litellm fell back
                tokenizer = "cl100k_base"
            self.choices[model] = (count_as, tokenizer)
        return self.choices[model]

    def _choose(self, model: str) -> tuple[str, str]:
        kind_of = getattr(getattr(self.litellm, "utils", None), "huggingface_tokenizer_kind", None)
        if kind_of is None:  # another litellm: do not risk a download
            return "gpt-4o", "stand-in"
        bare = model.split("/", 1)[1] if "/" in model else model
        for name in (model, bare):
            kind = kind_of(name)
            if kind in _BUNDLED_TOKENIZERS:
                return name, kind
            if kind is not None:
                return "gpt-4o", "stand-in"
        return model, "cl100k_base"

    def notes(self, tiers: tuple[Tier, ...]) -> list[str]:
        """How each tier's prompt tokens were counted, in words."""
        lines = []
        for tier in tiers:
            if tier.model not in self.choices:
                continue
            _, tokenizer = self.choices[tier.model]
            if tokenizer == "disabled":
                how = f"about {CHARS_PER_TOKEN} characters a token (litellm's token counter is switched off)"
            elif tokenizer == "stand-in":
                how = (
                    "tiktoken's cl100k_base standing in, an estimate: litellm would download this model's "
                    "tokenizer from Hugging Face, which routeeval never does"
                )
            elif tokenizer == "cl100k_base":
                how = "litellm's token_counter with tiktoken's cl100k_base (exact for OpenAI's older models, close "
                how += "for others)"
            else:
                how = f"litellm's token_counter with the {tokenizer} tokenizer bundled with litellm"
            lines.append(f"prompt tokens, tier '{tier.name}': {how}")
        return lines
