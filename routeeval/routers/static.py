"""Static router: rules from the config, evaluated as written (first match wins), then a length cut-off.

A rule is ``{"tier": NAME, "regex": ..., "keywords": [...], "min_chars": N, "max_chars": N,
"metadata": {key: value}, "name": ...}``; every condition it gives must hold. Queries no rule
matches go to ``long_tier`` when longer than the cut-off (the swept knob, in characters of the last
user message), else to ``default_tier``. Rules are compiled and matched by the runtime's own code.
The intent router (:mod:`routeeval.routers.intent`) exports its table as rules of this kind.
"""

from __future__ import annotations

from routeeval.errors import ConfigError
from routeeval.routers.base import RouterBase
from routeeval.runtime import compile_rules, match_rules, query_text


class StaticRouter(RouterBase):
    def __init__(
        self,
        tiers: tuple[str, ...],
        rules: tuple[dict, ...] = (),
        default_tier: str | None = None,
        long_tier: str | None = None,
    ) -> None:
        self.tiers = tiers
        self.rules = rules
        self.default_tier = default_tier
        self.long_tier = long_tier

    def fit(self, X=None, y=None) -> StaticRouter:
        """Check and compile the rules (nothing is learned); ConfigError names a bad rule."""
        names = [str(t) for t in self.tiers]
        try:
            self.rules_ = compile_rules(list(self.rules), names)
        except ValueError as exc:
            raise ConfigError(f"[optimize] static_rules: {exc}.") from None
        for what, name in (("default_tier", self.default_tier), ("long_tier", self.long_tier)):
            if name is not None and name not in names:
                raise ConfigError(f"static router: {what} is '{name}'; choose from: {', '.join(names)}.")
        self.tiers_ = names
        self.default_index_ = names.index(self.default_tier) if self.default_tier is not None else 0
        self.long_index_ = names.index(self.long_tier) if self.long_tier is not None else len(names) - 1
        return self

    def rule_tiers(self, X, metadata=None):
        """Per query, the tier index of the first matching rule, or -1."""
        import numpy as np

        self._check_fitted("rules_")
        X = list(X)
        metadata = metadata if metadata is not None else [None] * len(X)
        out = np.full(len(X), -1)
        for row, (query, meta) in enumerate(zip(X, metadata, strict=True)):
            number = match_rules(self.rules_, query_text(query)[0], meta)
            if number >= 0:
                out[row] = self.rules_[number].tier
        return out

    @staticmethod
    def lengths(X):
        """Characters of each query's text (the last user message), the quantity the cut-off compares."""
        import numpy as np

        return np.array([len(query_text(query)[0]) for query in X])

    def decide(self, X, knob: dict, metadata=None):
        """Tier index per query for ``knob = {"length_cutoff_chars": N or None}``."""
        import numpy as np

        X = list(X)
        matched = self.rule_tiers(X, metadata)
        cutoff = knob.get("length_cutoff_chars")
        unmatched = np.full(len(X), self.default_index_)
        if cutoff is not None:
            unmatched = np.where(self.lengths(X) > int(cutoff), self.long_index_, self.default_index_)
        return np.where(matched >= 0, matched, unmatched)

    def accept_scores(self, X, metadata=None):
        """n x T ``accept`` for the threshold sweep ("first tier with accept >= theta, else the last"),
        where theta = -cutoff: a rule's tier accepts at any theta, the default tier accepts when
        -characters >= theta (characters <= cutoff), the long tier always. Needs default before long."""
        import numpy as np

        X = list(X)
        if self.default_index_ >= self.long_index_:
            raise ValueError("accept_scores needs default_tier to come before long_tier")
        matched = self.rule_tiers(X, metadata)
        n_tiers = len(self.tiers_)
        scores = np.full((len(X), n_tiers), -np.inf)
        scores[:, self.default_index_] = -self.lengths(X).astype(float)
        scores[:, self.long_index_] = np.inf
        rows = np.flatnonzero(matched >= 0)
        scores[rows] = -np.inf
        scores[rows, matched[rows]] = np.inf
        return scores

    @staticmethod
    def knob_from_threshold(theta: float) -> dict:
        """The policy knob for a threshold ``theta`` of the sweep over :meth:`accept_scores`: cutoff = -theta
        (+inf: every unmatched query is "long", cut-off 0; -inf: no cut-off)."""
        import math

        if theta == math.inf:
            return {"length_cutoff_chars": 0}
        if theta == -math.inf:
            return {"length_cutoff_chars": None}
        return {"length_cutoff_chars": max(0, math.floor(-theta))}

    def to_policy(self) -> dict:
        self._check_fitted("rules_")
        return {
            "rules": [dict(rule) for rule in self.rules],
            "default_tier": self.tiers_[self.default_index_],
            "long_tier": self.tiers_[self.long_index_],
        }
