"""What a set of queries looks like to a deployed policy: the traffic profile ``drift`` compares.

One function measures both sides: :func:`route_queries` routes each query through ``runtime.Router`` exactly as
production does and keeps, per row, the tier, the routing score, the input length and how many of its words the
router's vocabulary knows. :func:`reference_profile` condenses the rows a policy was certified on into the compact
``reference`` block of ``policy.json`` (quantiles, shares, the cost estimator's parameters, the promise);
``routeeval drift`` measures fresh logs with the same functions, so then and now are measured alike.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from routeeval.runtime import PREFIX_CHARS, Router, query_text

REFERENCE_SCHEMA = "routeeval.reference/v1"
QUANTILE_POINTS = 101  # every percentile, 0 to 100
MAX_INTENTS = 40  # intents kept by name in a profile; the rest are summed under OTHER_INTENT
OTHER_INTENT = "(other)"
NO_INTENT = "(none)"
_WORD_RE = re.compile(r"(?u)\b\w\w+\b")  # the runtime featurizer's words
_DIGITS = 6  # significant digits kept in a profile's numbers
_SEEN_LIMIT = 100_000  # decisions remembered per call of route_queries


@dataclass
class RoutedRows:
    """The runtime's first decision on each query, and what the query looks like: one entry per row."""

    tier: np.ndarray  # int: index of the tier the first decision picked
    score: np.ndarray  # float: the routing score behind it (NaN where the policy kind has none)
    fallback: np.ndarray  # bool: the query was odd (empty, unreadable) and got the fallback tier
    chars: np.ndarray  # int: characters of the query's text
    words: np.ndarray  # int: words in the text's first PREFIX_CHARS characters
    known: np.ndarray  # int: of those, words the router's vocabulary holds (0 without a vocabulary)

    @property
    def n_rows(self) -> int:
        return int(self.tier.size)

    def take(self, index) -> RoutedRows:
        return RoutedRows(*(getattr(self, name)[index] for name in _ROUTED_FIELDS))

    @classmethod
    def concat(cls, parts: list[RoutedRows]) -> RoutedRows:
        if not parts:
            return cls(*(np.zeros(0, dtype=kind) for kind in _ROUTED_KINDS))
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in _ROUTED_FIELDS))


_ROUTED_FIELDS = ("tier", "score", "fallback", "chars", "words", "known")
_ROUTED_KINDS = (np.int16, float, bool, np.int64, np.int32, np.int32)


def score_name(router: Router) -> str | None:
    """What a policy's routing score is, in words; None when its decisions carry none (static rules, llm)."""
    if router.kind in ("classifier", "knn"):
        return f"P(correct) of the cheapest tier '{router.tier_names[0]}'"
    if router.kind == "cascade" and router.cascade is not None:
        first = router.tier_names[router.cascade.order[0]]
        return f"confidence in the first tier '{first}''s answer"
    return None


def vocabulary(router: Router) -> frozenset[str] | None:
    """The single words a router's featurizer knows; None when the policy reads no words."""
    featurizer = router.featurizer
    if featurizer is None:
        return None
    return frozenset(term for term in featurizer.word_vocabulary_ if " " not in term)


def route_queries(
    router: Router,
    queries,
    metadata=None,
    *,
    words: frozenset[str] | None = None,
    prefix_chars: int | None = None,
    coverage_every: int = 1,
) -> RoutedRows:
    """Route each query (a string or chat messages) through ``router`` as production would, with its metadata.

    For a cascade the first decision is its first tier (escalation needs that tier's answer); its score is not
    known here. ``words``: the vocabulary whose coverage to count (default: the router's own); counted on every
    ``coverage_every``-th row only (a mean over 50,000 rows is as good as over a million, at a fraction of the
    cost); the others get no words (coverage NaN)."""
    if words is None:
        words = vocabulary(router)
    if prefix_chars is None:
        prefix_chars = router.featurizer.prefix_chars if router.featurizer is not None else PREFIX_CHARS
    index = {name: i for i, name in enumerate(router.tier_names)}
    scored = router.kind in ("classifier", "knn")
    route = router.route
    findall = _WORD_RE.findall
    n = len(queries)
    tier = np.empty(n, dtype=np.int16)
    score = np.full(n, np.nan)
    fallback = np.zeros(n, dtype=bool)
    chars = np.zeros(n, dtype=np.int64)
    n_words = np.zeros(n, dtype=np.int32)
    known = np.zeros(n, dtype=np.int32)
    meta = metadata if metadata is not None else [None] * n
    # a classifier's or knn's decision depends on the text alone: a query seen before is not routed again
    seen: dict[str, Any] | None = {} if scored else None
    for row, query in enumerate(queries):
        decision = seen.get(query) if seen is not None and isinstance(query, str) else None
        if decision is None:
            decision = route(query, meta[row])
            if seen is not None and isinstance(query, str) and len(seen) < _SEEN_LIMIT:
                seen[query] = decision
        tier[row] = index[decision.tier]
        fallback[row] = decision.fallback
        if scored and decision.tier_scores is not None:
            score[row] = decision.tier_scores[0]
        try:
            text, _turns = query_text(query)
        except ValueError:
            continue
        chars[row] = len(text)
        if row % coverage_every:
            continue
        found = findall(text[:prefix_chars].lower())
        n_words[row] = len(found)
        if words is not None and found:
            known[row] = sum(1 for word in found if word in words)
    return RoutedRows(tier, score, fallback, chars, n_words, known)


# -- condensing rows into numbers ---------------------------------------------------------------
def quantile_points(values) -> list[float] | None:
    """Every percentile (0 to 100) of the finite ``values``; None when there are none."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return [_round(v) for v in np.quantile(values, np.linspace(0, 1, QUANTILE_POINTS))]


def shares(labels, names: list[str] | None = None) -> dict[str, float]:
    """Share of each label (``names`` fixes the keys and their order, zeros included)."""
    counts = Counter(labels)
    total = sum(counts.values())
    keys = names if names is not None else sorted(counts, key=lambda k: (-counts[k], k))
    return {key: (counts.get(key, 0) / total if total else 0.0) for key in keys}


def intent_shares(intents) -> dict[str, float] | None:
    """Shares of the most common intents (``(none)`` for rows without one), the rest under ``(other)``; None
    when no row names an intent."""
    labels = [intent if intent else NO_INTENT for intent in intents]
    if not labels or all(label == NO_INTENT for label in labels):
        return None
    counts = Counter(labels)
    total = len(labels)
    ordered = sorted(counts, key=lambda k: (-counts[k], k))
    kept = {key: _round(counts[key] / total) for key in ordered[:MAX_INTENTS]}
    rest = sum(counts[key] for key in ordered[MAX_INTENTS:])
    if rest:
        kept[OTHER_INTENT] = _round(rest / total)
    return kept


def coverage(routed: RoutedRows) -> np.ndarray:
    """Per row: the share of its words the vocabulary knows (NaN for a row without words)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(routed.words > 0, routed.known / np.maximum(routed.words, 1), np.nan)


def token_model(chars, prompt_tokens, completion_tokens) -> dict[str, float] | None:
    """A tier's tokens per call from its replayed rows: prompt tokens = ``base`` + ``per_char`` x characters
    (least squares), completion tokens = their mean. None without a row that has both counts."""
    chars = np.asarray(chars, dtype=float)
    prompt = np.asarray(prompt_tokens, dtype=float)
    completion = np.asarray(completion_tokens, dtype=float)
    ok = np.isfinite(chars) & np.isfinite(prompt) & np.isfinite(completion)
    if not ok.any():
        return None
    x, y = chars[ok], prompt[ok]
    if ok.sum() >= 2 and np.ptp(x) > 0:
        per_char, base = np.polyfit(x, y, 1)
    else:
        per_char, base = 0.0, float(y.mean())
    return {"base": _round(base), "per_char": _round(per_char), "completion": _round(completion[ok].mean())}


def estimated_costs(chars, calls, prices: Mapping[str, Any], tokens: Mapping[str, Any], tiers: list[str]):
    """Per row: the USD its calls cost at ``prices`` (USD per 1M tokens in and out), tokens from ``tokens``
    (:func:`token_model`). ``calls``: rows x tiers, 1 where the row calls the tier (a share where only the
    expected calls are known). NaN where a called tier has no price or token model."""
    chars = np.asarray(chars, dtype=float)
    calls = np.asarray(calls, dtype=float)
    total = np.zeros(chars.size)
    for index, tier in enumerate(tiers):
        called = calls[:, index]
        if not called.any():
            continue
        model, price = tokens.get(tier), prices.get(tier)
        if model is None or price is None or price[0] is None or price[1] is None:
            total = np.where(called > 0, np.nan, total)
            continue
        prompt = np.maximum(model["base"] + model["per_char"] * chars, 1.0)
        usd = (price[0] * prompt + price[1] * model["completion"]) / 1e6
        total = total + called * usd
    return total


def _round(value) -> float:
    value = float(value)
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{_DIGITS}g}")


def clean_number(value) -> float | None:
    """A finite float rounded to the profile's digits, else None."""
    if value is None:
        return None
    value = float(value)
    return _round(value) if math.isfinite(value) else None


def policy_prices(policy: dict) -> dict[str, list[float | None]]:
    """USD per 1M tokens in and out of each tier, as the policy recorded them."""
    return {t["name"]: [t.get("price_in_per_mtok"), t.get("price_out_per_mtok")] for t in policy["tiers"]}


def query_metadata(intent: str | None, metadata: dict | None) -> dict[str, Any] | None:
    """The metadata the runtime sees for a row: its own, with its intent under ``intent`` unless it has one."""
    if intent is not None and "intent" not in (metadata or {}):
        return {**(metadata or {}), "intent": intent}
    return metadata
