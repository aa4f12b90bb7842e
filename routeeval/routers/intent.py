"""Intent router: a table of each intent's expected score per tier, exported as static rules.

Many teams know what a query is about before it reaches the model (the product feature, the endpoint, an
upstream intent classifier). This router learns, from the eval rows of each ``intent``, the mean score of
every tier, shrunk toward the mean over all rows by ``prior_rows`` pseudo-rows (an intent seen 10 times with
the default 10 gets half its own mean, half the overall one). The utility rule then picks, per intent, the
tier with the largest expected score minus lambda x mean cost per call, as the classifier's utility rule
does; a query of an intent the table has not seen gets the choice for the overall means.

The export is an ordinary static policy: one rule per intent, ``{"tier": ..., "metadata": {"intent": ...}}``,
and the unseen-intent choice as its default tier, so production passes the intent in the query's metadata
(``Router.route(query, {"intent": "billing"})``) and the runtime's static rules do the rest.
"""

from __future__ import annotations

from routeeval.routers.base import RouterBase, choose_tiers, mean_cost, quantize_array, target_matrix, tier_names

INTENT_KEY = "intent"  # the metadata key the exported rules match


class IntentRouter(RouterBase):
    """Per-intent expected scores; ``fit(intents, y, cost_usd)``, then ``predict_proba(intents)``."""

    def __init__(self, tiers: tuple[str, ...] | None = None, prior_rows: float = 10.0) -> None:
        self.tiers = tiers
        self.prior_rows = prior_rows

    def fit(self, X, y, cost_usd=None) -> IntentRouter:
        """``X``: each row's intent (a string; None or "" for none); ``y``: n x T scores in [0, 1], NaN for a
        failed call; ``cost_usd``: n x T cost per call, whose per-tier mean the utility rule uses."""
        import numpy as np

        if not self.prior_rows >= 0:
            raise ValueError(f"prior_rows must be 0 or more, got {self.prior_rows!r}")
        codes, names = intent_codes(X)
        targets = target_matrix(y, codes.size)
        n_tiers = targets.shape[1]
        self.tiers_ = tier_names(self.tiers, n_tiers)
        known = ~np.isnan(targets)
        scores = np.where(known, targets, 0.0)
        counted = known.sum(axis=0)
        overall = np.where(counted > 0, scores.sum(axis=0) / np.maximum(counted, 1), 0.0)
        seen = codes >= 0
        totals = np.column_stack(
            [np.bincount(codes[seen], weights=scores[seen, t], minlength=len(names)) for t in range(n_tiers)]
        ).reshape(len(names), n_tiers)
        counts = np.column_stack(
            [np.bincount(codes[seen], weights=known[seen, t], minlength=len(names)) for t in range(n_tiers)]
        ).reshape(len(names), n_tiers)
        with np.errstate(invalid="ignore", divide="ignore"):
            shrunk = (totals + self.prior_rows * overall) / (counts + self.prior_rows)
        self.intents_ = names
        self.table_ = quantize_array(np.where(counts + self.prior_rows > 0, shrunk, overall))
        self.overall_ = quantize_array(overall)
        self.expected_cost_usd_ = mean_cost(cost_usd, codes.size, n_tiers)
        return self

    def predict_proba(self, X):
        """n x T expected score per tier: the intent's row of the table, the overall means for an unseen one."""
        import numpy as np

        self._check_fitted("table_")
        codes, names = intent_codes(X)
        index = {name: i for i, name in enumerate(self.intents_)}
        to_fitted = np.array([index.get(name, -1) for name in names] + [-1], dtype=int)  # [-1]: no intent
        table = np.vstack([self.table_, self.overall_[None, :]])  # row -1: the overall means
        return table[to_fitted[codes]]

    def decide(self, X, knob: dict):
        """Tier index per query under ``knob`` (``{"rule": "utility", "lambda": l}`` or a threshold rule)."""
        return choose_tiers(self.predict_proba(X), knob, self.expected_cost_usd_)

    def policy_costs(self, X, cost_usd):
        """(lambdas, cost per 1,000 queries): one lambda inside each stretch where the utility rule's table of
        decisions stays the same, from 0 (the most accurate choice per intent) up, and what those decisions
        cost on rows ``X`` with their n x T ``cost_usd`` (NaN where no cost is known)."""
        import numpy as np

        self._check_fitted("table_")
        table = np.vstack([self.table_, self.overall_[None, :]])
        costs = self.expected_cost_usd_
        with np.errstate(divide="ignore", invalid="ignore"):  # tiers of equal cost never trade off
            gaps = (table[:, None, :] - table[:, :, None]) / (costs[None, None, :] - costs[None, :, None])
        breaks = np.unique(gaps[np.isfinite(gaps) & (gaps > 0)])
        lambdas = np.concatenate([[0.0], (breaks[1:] + breaks[:-1]) / 2, breaks[-1:] * 2 + 1])
        codes, names = intent_codes(X)
        index = {name: i for i, name in enumerate(self.intents_)}
        width = table.shape[0]
        groups = np.array([index.get(name, -1) for name in names] + [-1], dtype=int)[codes] % width
        cost = np.asarray(cost_usd, dtype=float).reshape(codes.size, -1)
        known = ~np.isnan(cost)
        sums = np.stack(
            [np.bincount(groups, np.where(k, c, 0.0), width) for k, c in zip(known.T, cost.T, strict=True)], axis=1
        )
        counts = np.stack([np.bincount(groups, k, width) for k in known.T], axis=1)
        rows = np.arange(width)
        out = np.full(lambdas.size, np.nan)
        for i, lam in enumerate(lambdas):
            choice = choose_tiers(table, {"rule": "utility", "lambda": lam}, costs)
            n = counts[rows, choice].sum()
            if n:
                out[i] = 1000 * sums[rows, choice].sum() / n
        return lambdas, out

    def lambda_costing_at_least(self, X, cost_usd, cost_per_1k_usd: float, policies=None) -> float:
        """The utility rule's lambda whose decisions on rows ``X`` (with their n x T ``cost_usd``) cost at least
        ``cost_per_1k_usd`` per 1,000 queries, the cheapest such; 0 (the most accurate choice) when none does.
        ``policies``: :meth:`policy_costs` of the same rows, when already computed.

        The table's decisions jump a whole intent at a time, so the table refit on every row can be much
        cheaper at a lambda than the out-of-fold tables that were certified at it. Exporting this lambda
        instead never ships a policy cheaper, so more aggressive, than the point the selection certified.
        """
        import numpy as np

        lambdas, costs = self.policy_costs(X, cost_usd) if policies is None else policies
        eligible = np.flatnonzero(costs >= cost_per_1k_usd)  # NaN never is
        return float(lambdas[eligible[np.argmin(costs[eligible])]]) if eligible.size else 0.0

    def rules(self, knob: dict) -> tuple[list[dict], str]:
        """(one static rule per intent, the default tier for unseen intents) that decide as :meth:`decide`."""
        self._check_fitted("table_")
        picks = choose_tiers(self.table_, knob, self.expected_cost_usd_) if self.intents_ else []
        default = int(choose_tiers(self.overall_[None, :], knob, self.expected_cost_usd_)[0])
        rules = [
            {"name": f"intent {name}", "tier": self.tiers_[int(tier)], "metadata": {INTENT_KEY: name}}
            for name, tier in zip(self.intents_, picks, strict=True)
            if int(tier) != default  # the default tier takes these anyway
        ]
        return rules, self.tiers_[default]


def intent_codes(values):
    """(codes, names): each value's index into the sorted distinct intent ``names``, -1 for none
    (:func:`intent_name`). Hashes each distinct value once, so a million rows take a fraction of a second."""
    import numpy as np
    import pandas as pd

    raw, uniques = pd.factorize(np.fromiter(values, dtype=object))  # None and NaN get -1
    spelled = [intent_name(value) for value in uniques]
    names = sorted({name for name in spelled if name is not None})
    index = {name: i for i, name in enumerate(names)}
    remap = np.array([index[n] if n is not None else -1 for n in spelled] + [-1], dtype=int)
    return remap[raw], names


def intent_name(value) -> str | None:
    """An intent as the table keys it: a non-empty string, else None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text or None
