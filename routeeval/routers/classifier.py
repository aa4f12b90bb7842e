"""Classifier router: TF-IDF features and, per tier, a logistic regression for that tier's expected score.

Each tier's model is fit on soft labels (a score of 0.7 counts 0.7 as right and 0.3 as wrong), so
its probability P estimates the tier's expected score on the query, which for 0/1 scorers is
P(correct). Two decision rules read the same scores: ``threshold`` (the cheapest tier with
P >= theta, else the last tier) and ``utility`` (the tier with the largest P - lambda x expected cost
per call).

Regularisation: ``C="auto"`` (the default) picks the inverse L2 strength shared by the tiers from
``C_GRID`` by a 3-fold cross-validation inside the rows ``fit`` is given
(:func:`routeeval.routers.base.choose_C`), so a router fit inside a cross-fitting fold never sees the
held-out fold. No fixed C suits every eval set: C=4 over-fit the 11-tier RouterBench sets (~1,000 rows;
out of fold it routed worse than the zero router), while MT-Bench's 72 questions route best with it.
"""

from __future__ import annotations

from routeeval.routers.base import (
    RouterBase,
    check_C,
    choose_C,
    choose_tiers,
    feature_matrix,
    fit_logistic,
    has_both_classes,
    mean_cost,
    quantize_array,
    sigmoid_array,
    target_matrix,
    tier_names,
)
from routeeval.routers.featurize import distinct_feature_matrix, fit_featurizer
from routeeval.runtime import TextFeaturizer


class ClassifierRouter(RouterBase):
    """Per-tier logistic regression over :class:`routeeval.runtime.TextFeaturizer` features.

    A tier that is always right (or always wrong: every score 1, or every score 0) on the rows it is fit
    on gets that constant P.
    ``C``: "auto" (chosen by inner cross-validation) or a positive number; the fitted ``C_`` is the one used.
    ``featurizer`` holds :class:`TextFeaturizer` arguments.
    """

    def __init__(
        self,
        tiers: tuple[str, ...] | None = None,
        C: float | str = "auto",
        featurizer: dict | None = None,
        max_iter: int = 1000,
        random_state: int = 0,
    ) -> None:
        self.tiers = tiers
        self.C = C
        self.featurizer = featurizer
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, cost_usd=None) -> ClassifierRouter:
        """``X``: queries (strings or chat messages); ``y``: n x T scores in [0, 1] (NaN for a failed call);
        ``cost_usd``: n x T cost per call, whose per-tier mean the utility rule uses."""
        import numpy as np

        check_C(self.C)
        X = list(X)
        targets = target_matrix(y, len(X))
        n_tiers = targets.shape[1]
        self.tiers_ = tier_names(self.tiers, n_tiers)
        self.featurizer_ = fit_featurizer(TextFeaturizer(**(self.featurizer or {})), X)
        distinct, codes = distinct_feature_matrix(self.featurizer_, X)
        matrix = distinct[codes]
        self.coef_ = np.zeros((n_tiers, matrix.shape[1]))
        self.intercept_ = np.zeros(n_tiers)
        self.constant_: list[float | None] = [None] * n_tiers
        self.C_ = float(self.C) if self.C != "auto" else None
        for tier in range(n_tiers):
            known = ~np.isnan(targets[:, tier])
            scores = targets[known, tier]
            if not has_both_classes(scores):
                self.constant_[tier] = float(quantize_array(scores.mean() if scores.size else 0.0))
                continue
            if self.C_ is None:
                self.C_ = choose_C(matrix, targets, max_iter=self.max_iter, random_state=self.random_state, codes=codes)
            model = fit_logistic(
                matrix[known],
                scores,
                C=self.C_,
                max_iter=self.max_iter,
                random_state=self.random_state,
                codes=codes[known],
            )
            self.coef_[tier] = model.coef_[0]
            self.intercept_[tier] = model.intercept_[0]
        self.expected_cost_usd_ = mean_cost(cost_usd, len(X), n_tiers)
        return self

    def predict_proba(self, X):
        """n x T expected score per tier (P(correct) for 0/1 scores), quantized like the runtime's."""
        import numpy as np

        self._check_fitted("coef_")
        matrix = feature_matrix(self.featurizer_, list(X))
        scores = quantize_array(sigmoid_array(matrix @ self.coef_.T + self.intercept_[None, :]))
        for tier, constant in enumerate(self.constant_):
            if constant is not None:
                scores[:, tier] = constant
        return np.asarray(scores)

    def decide(self, X, knob: dict):
        """Tier index per query under ``knob``: ``{"rule": "threshold", "threshold": t}`` or
        ``{"rule": "utility", "lambda": l}``."""
        return choose_tiers(self.predict_proba(X), knob, self.expected_cost_usd_)

    def to_policy(self) -> dict:
        """The plain-numbers ``router`` section of a classifier policy."""
        self._check_fitted("coef_")
        models = []
        for tier, constant in enumerate(self.constant_):
            if constant is not None:
                models.append({"constant": constant})
            else:
                models.append({"intercept": float(self.intercept_[tier]), "coef": self.coef_[tier].tolist()})
        return {
            "featurizer": self.featurizer_.to_dict(),
            "expected_cost_usd": [float(c) for c in self.expected_cost_usd_],
            "models": models,
        }
