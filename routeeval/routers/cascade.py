"""Cascade router: try the cheapest tier first; accept its answer when confidence >= theta, else escalate.

A tier's confidence is exp(mean token log-probability) when the outcomes carry log-probabilities
for most of its rows, else a verifier: a logistic regression over features of the query and of
the tier's answer, fit on the answer's score as a soft label, so it predicts the answer's expected
score (P(correct) for 0/1 scorers; fit out-of-fold through ``cross_fit``). A tier with neither
signal gets its accuracy (mean score) as a constant confidence.
"""

from __future__ import annotations

from routeeval.routers.base import (
    RouterBase,
    feature_matrix,
    fit_logistic,
    has_both_classes,
    quantize_array,
    sigmoid_array,
    target_matrix,
    tier_names,
)
from routeeval.routers.featurize import fit_featurizer
from routeeval.runtime import TextFeaturizer

SOURCES = ("auto", "logprob", "verifier")


class CascadeRouter(RouterBase):
    """Confidence per (row, tier) and the escalation walk over ``order`` (tier names; default: all, as given)."""

    def __init__(
        self,
        tiers: tuple[str, ...] | None = None,
        order: tuple[str, ...] | None = None,
        max_escalations: int = 2,
        confidence: str = "auto",
        min_logprob_share: float = 0.5,
        C: float = 4.0,
        featurizer: dict | None = None,
        response_featurizer: dict | None = None,
        max_iter: int = 1000,
        random_state: int = 0,
    ) -> None:
        self.tiers = tiers
        self.order = order
        self.max_escalations = max_escalations
        self.confidence = confidence
        self.min_logprob_share = min_logprob_share
        self.C = C
        self.featurizer = featurizer
        self.response_featurizer = response_featurizer
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, responses=None, logprob_mean=None) -> CascadeRouter:
        """``responses`` and ``logprob_mean``: n x T, the answer text and mean token logprob of each call."""
        import numpy as np

        if self.confidence not in SOURCES:
            raise ValueError(f"confidence is {self.confidence!r}; choose from: {', '.join(SOURCES)}")
        X = list(X)
        targets = target_matrix(y, len(X))
        n_rows, n_tiers = targets.shape
        self.tiers_ = tier_names(self.tiers, n_tiers)
        order = list(self.order) if self.order is not None else list(self.tiers_)
        unknown = [name for name in order if name not in self.tiers_]
        if unknown or not order:
            raise ValueError(f"order names unknown tiers {unknown}; tiers are: {', '.join(self.tiers_)}")
        self.order_ = [self.tiers_.index(name) for name in order]
        found = confidence_sources(targets, logprob_mean, responses, self.confidence, self.min_logprob_share)
        self.sources_ = [source for source, _share in found]
        self.constant_ = np.zeros(n_tiers)
        answers = None  # the answer texts, read only when a tier lacks log-probabilities (slow on big tables)
        for tier, source in enumerate(self.sources_):
            if source == "constant":
                scores = targets[~np.isnan(targets[:, tier]), tier]
                self.constant_[tier] = float(quantize_array(scores.mean() if scores.size else 0.0))

        self.featurizer_ = None
        self.response_featurizer_ = None
        self.coef_ = {}
        self.intercept_ = {}
        verifier_tiers = [t for t, source in enumerate(self.sources_) if source == "verifier"]
        if verifier_tiers:
            from scipy import sparse

            if answers is None:  # a verifier tier was found above from these answers
                answers = _answers(responses, n_rows, n_tiers)
            self.featurizer_ = fit_featurizer(TextFeaturizer(**(self.featurizer or {})), X)
            texts = [a for t in verifier_tiers for a in answers[:, t] if isinstance(a, str)]
            self.response_featurizer_ = fit_featurizer(TextFeaturizer(**(self.response_featurizer or {})), texts)
            query_matrix = feature_matrix(self.featurizer_, X)
            for tier in verifier_tiers:
                usable = ~np.isnan(targets[:, tier]) & np.array([isinstance(a, str) for a in answers[:, tier]])
                rows = np.flatnonzero(usable)
                answer_matrix = feature_matrix(self.response_featurizer_, [answers[i, tier] for i in rows])
                features = sparse.hstack([query_matrix[rows], answer_matrix], format="csr")
                model = fit_logistic(
                    features, targets[rows, tier], C=self.C, max_iter=self.max_iter, random_state=self.random_state
                )
                self.coef_[tier] = model.coef_[0]
                self.intercept_[tier] = float(model.intercept_[0])
        return self

    def predict_proba(self, X, responses=None, logprob_mean=None):
        """n x T confidence in each tier's answer (a verifier's: its expected score), quantized like the
        runtime's; 0 without a signal."""
        import numpy as np

        self._check_fitted("sources_")
        X = list(X)
        n_rows, n_tiers = len(X), len(self.tiers_)
        logprobs = _matrix(logprob_mean, n_rows, n_tiers, float)
        answers = None
        scores = np.zeros((n_rows, n_tiers))
        query_matrix = None
        for tier, source in enumerate(self.sources_):
            if source == "constant":
                scores[:, tier] = self.constant_[tier]
            elif source == "logprob":
                column = logprobs[:, tier]
                with np.errstate(invalid="ignore"):
                    values = quantize_array(np.exp(np.minimum(column, 0.0)))
                scores[:, tier] = np.where(np.isnan(column), 0.0, values)
            else:
                from scipy import sparse

                if query_matrix is None:
                    query_matrix = feature_matrix(self.featurizer_, X)
                    answers = _answers(responses, n_rows, n_tiers)
                rows = np.flatnonzero([isinstance(a, str) for a in answers[:, tier]])
                if rows.size == 0:
                    continue
                answer_matrix = feature_matrix(self.response_featurizer_, [answers[i, tier] for i in rows])
                features = sparse.hstack([query_matrix[rows], answer_matrix], format="csr")
                z = features @ self.coef_[tier] + self.intercept_[tier]
                scores[rows, tier] = quantize_array(sigmoid_array(z))
        return scores

    def decide(self, X, knob: dict, responses=None, logprob_mean=None, max_escalations: int | None = None):
        """(final tier index, number of tiers tried) per query when escalating below ``knob["threshold"]``."""

        confidence = self.predict_proba(X, responses=responses, logprob_mean=logprob_mean)
        return walk_cascade(confidence, self.order_, float(knob["threshold"]), self.cap(max_escalations))

    def cap(self, max_escalations: int | None = None) -> int:
        """Escalations allowed: the router's cap, the guard's (when given) and the order's length."""
        caps = [self.max_escalations, len(self.order_) - 1]
        if max_escalations is not None:
            caps.append(max_escalations)
        return max(0, min(caps))

    def to_policy(self) -> dict:
        self._check_fitted("sources_")
        confidence = []
        for tier, source in enumerate(self.sources_):
            if source == "verifier":
                entry = {"source": "verifier", "intercept": self.intercept_[tier], "coef": self.coef_[tier].tolist()}
            elif source == "constant":
                entry = {"source": "constant", "value": float(self.constant_[tier])}
            else:
                entry = {"source": "logprob"}
            confidence.append(entry)
        return {
            "order": [self.tiers_[t] for t in self.order_],
            "max_escalations": int(self.max_escalations),
            "confidence": confidence,
            "featurizer": self.featurizer_.to_dict() if self.featurizer_ else None,
            "response_featurizer": self.response_featurizer_.to_dict() if self.response_featurizer_ else None,
        }


def confidence_sources(
    y, logprob_mean=None, responses=None, confidence: str = "auto", min_logprob_share: float = 0.5
) -> list[tuple[str, float]]:
    """(source, logprob share) per tier: where a cascade fit on these rows (``y``: n x T scores, NaN where
    unknown) takes each tier's confidence from.

    ``logprob`` when at least ``min_logprob_share`` of the tier's scored answers carry log-probabilities (unless
    ``confidence`` is "verifier"); else ``verifier`` when its answered rows hold both right and wrong answers to
    fit one on (unless ``confidence`` is "logprob"); else ``constant`` (its accuracy). The share is of the scored
    answers that carry log-probabilities.
    """
    import numpy as np

    targets = np.asarray(y, dtype=float)
    targets = targets[:, None] if targets.ndim == 1 else targets
    n_rows, n_tiers = targets.shape
    logprobs = _matrix(logprob_mean, n_rows, n_tiers, float)
    answers = None  # the answer texts, read only when a tier lacks log-probabilities (slow on big tables)
    found = []
    for tier in range(n_tiers):
        known = ~np.isnan(targets[:, tier])
        share = float((~np.isnan(logprobs[known, tier])).mean()) if known.any() else 0.0
        if confidence != "verifier" and share >= min_logprob_share and share > 0:
            found.append(("logprob", share))
            continue
        if answers is None:
            answers = _answers(responses, n_rows, n_tiers)
        answered = np.array([isinstance(a, str) for a in answers[known, tier]], dtype=bool)
        scores = targets[known, tier]
        verifier = confidence != "logprob" and has_both_classes(scores[answered])
        found.append(("verifier" if verifier else "constant", share))
    return found


def walk_cascade(confidence, order: list[int], threshold: float, cap: int):
    """(final tier, tiers tried) per row: stop at the first step whose confidence >= threshold, or at step ``cap``."""
    import numpy as np

    n_rows = confidence.shape[0]
    final = np.full(n_rows, order[cap])
    tried = np.full(n_rows, cap + 1)
    for step in range(cap - 1, -1, -1):
        accept = confidence[:, order[step]] >= threshold
        final[accept] = order[step]
        tried[accept] = step + 1
    return final, tried


def cascade_options(confidence, score, cost_usd, latency_ms, order: list[int], cap: int, tier_names: list[str]) -> dict:
    """A cascade as sweep options: option k = "stop after trying order[0..k]" (k = 0..cap).

    Returns keyword arguments for ``routeeval.sweep.Candidate``: ``options``, ``score`` (the last tried
    tier's), ``cost`` and ``latency`` (summed over the tiers tried; a failed call adds nothing),
    ``accept`` (the confidence in the tier at each step), ``tier_calls`` and ``tiers``. The sweep's
    threshold rule on these is exactly :func:`walk_cascade`, and so the runtime's ``should_escalate``.
    """
    import numpy as np

    steps = list(order[: cap + 1])
    n_tiers = len(tier_names)
    tier_calls = np.zeros((len(steps), n_tiers))
    for k in range(len(steps)):
        tier_calls[k, steps[: k + 1]] = 1.0
    return {
        "options": [">".join(tier_names[t] for t in steps[: k + 1]) for k in range(len(steps))],
        "score": np.asarray(score, dtype=float)[:, steps],
        "cost": np.nancumsum(np.asarray(cost_usd, dtype=float)[:, steps], axis=1),
        "latency": np.nancumsum(np.asarray(latency_ms, dtype=float)[:, steps], axis=1),
        "accept": np.asarray(confidence, dtype=float)[:, steps],
        "tier_calls": tier_calls,
        "tiers": list(tier_names),
    }


def _matrix(values, n_rows: int, n_tiers: int, dtype):
    import numpy as np

    if values is None:
        return np.full((n_rows, n_tiers), np.nan)
    return np.asarray(values, dtype=dtype).reshape(n_rows, n_tiers)


def _answers(values, n_rows: int, n_tiers: int):
    import numpy as np

    if values is None:
        return np.full((n_rows, n_tiers), None, dtype=object)
    array = np.asarray(values, dtype=object).reshape(n_rows, n_tiers)
    is_text = np.fromiter((isinstance(value, str) for value in array.flat), dtype=bool, count=array.size)
    return np.where(is_text.reshape(n_rows, n_tiers), array, np.array(None, dtype=object))
