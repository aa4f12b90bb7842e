"""k-nearest-neighbours router: cosine over the same l2-normalised TF-IDF features, neighbours vote per tier.

A tier's expected score = (sum of the neighbours' scores + prior x (k - neighbours with a known
score)) / k, where the prior is the tier's mean score on the fitted rows: a query with fewer than k
neighbours sharing a term (or neighbours whose call failed) leans on the tier's base rate. For 0/1
scorers this is P(tier correct). Neighbours are ranked by quantized similarity, then by row order,
exactly as the runtime's inverted index ranks them, and their scores are summed in that order, as
the runtime sums them.
"""

from __future__ import annotations

from routeeval.routers.base import (
    RouterBase,
    choose_tiers,
    feature_matrix,
    mean_cost,
    quantize_array,
    target_matrix,
    tier_names,
)
from routeeval.runtime import TextFeaturizer

SCORE_DECIMALS = 6  # graded scores are kept, and exported, rounded to this many decimals


class KnnRouter(RouterBase):
    """``n_neighbors`` nearest fitted rows by cosine similarity of TF-IDF vectors (dense features left out).

    The policy stores every fitted row's sparse vector (not its text) and scores (``correct``: 0/1 as
    integers, graded scores as numbers rounded to ``SCORE_DECIMALS``, null for a failed call), so its
    size grows with the rows: ~ rows x terms per query numbers.
    """

    def __init__(
        self,
        tiers: tuple[str, ...] | None = None,
        n_neighbors: int = 15,
        featurizer: dict | None = None,
        chunk_rows: int = 2048,
    ) -> None:
        self.tiers = tiers
        self.n_neighbors = n_neighbors
        self.featurizer = featurizer
        self.chunk_rows = chunk_rows

    def fit(self, X, y, cost_usd=None) -> KnnRouter:
        import numpy as np

        X = list(X)
        if self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be at least 1, got {self.n_neighbors}")
        targets = target_matrix(y, len(X))
        n_tiers = targets.shape[1]
        self.tiers_ = tier_names(self.tiers, n_tiers)
        self.featurizer_ = TextFeaturizer(**(self.featurizer or {})).fit(X)
        self.docs_ = feature_matrix(self.featurizer_, X, dense=False)
        self.correct_ = np.round(targets, SCORE_DECIMALS)  # the numbers the policy exports, used here too
        with np.errstate(invalid="ignore"):
            prior = np.nanmean(np.where(np.isnan(targets).all(axis=0)[None, :], 0.0, self.correct_), axis=0)
        self.prior_ = np.nan_to_num(prior, nan=0.0)
        self.expected_cost_usd_ = mean_cost(cost_usd, len(X), n_tiers)
        return self

    def neighbours(self, X) -> list:
        """Per query, the fitted rows voting for it (best first)."""
        import numpy as np

        self._check_fitted("docs_")
        queries = feature_matrix(self.featurizer_, list(X), dense=False)
        docs_t = self.docs_.T.tocsc()
        found = []
        for start in range(0, queries.shape[0], self.chunk_rows):
            similarity = (queries[start : start + self.chunk_rows] @ docs_t).tocsr()
            for row in range(similarity.shape[0]):
                low, high = similarity.indptr[row], similarity.indptr[row + 1]
                sims = quantize_array(similarity.data[low:high])
                cols = similarity.indices[low:high]
                keep = sims > 0
                sims, cols = sims[keep], cols[keep]
                order = np.lexsort((cols, -sims))[: self.n_neighbors]
                found.append(cols[order])
        return found

    def predict_proba(self, X):
        """n x T expected score per tier from the neighbours' scores, quantized like the runtime's."""
        import numpy as np

        k = self.n_neighbors
        neighbours = self.neighbours(X)
        n_tiers = self.correct_.shape[1]
        padded = np.vstack([self.correct_, np.full((1, n_tiers), np.nan)])  # row -1: no neighbour, no vote
        scores = np.empty((len(neighbours), n_tiers))
        for start in range(0, len(neighbours), self.chunk_rows):
            chunk = neighbours[start : start + self.chunk_rows]
            index = np.full((len(chunk), k), -1, dtype=np.int64)
            for row, cols in enumerate(chunk):
                index[row, : cols.size] = cols
            votes = padded[index]  # rows x k x T, best neighbour first
            total = np.zeros((len(chunk), n_tiers))
            for rank in range(k):  # summed one rank at a time, in the runtime's order, for the same bits
                total += np.nan_to_num(votes[:, rank], nan=0.0)
            valid = (~np.isnan(votes)).sum(axis=1)
            scores[start : start + len(chunk)] = (total + self.prior_ * (k - valid)) / k
        return quantize_array(scores)

    def decide(self, X, knob: dict):
        return choose_tiers(self.predict_proba(X), knob, self.expected_cost_usd_)

    def to_policy(self) -> dict:
        self._check_fitted("docs_")
        docs = self.docs_
        rows = [
            [
                docs.indices[docs.indptr[i] : docs.indptr[i + 1]].tolist(),
                docs.data[docs.indptr[i] : docs.indptr[i + 1]].tolist(),
            ]
            for i in range(docs.shape[0])
        ]
        correct = [[_score_entry(v) for v in row] for row in self.correct_.tolist()]
        return {
            "featurizer": self.featurizer_.to_dict(),
            "n_neighbors": int(self.n_neighbors),
            "prior": [float(p) for p in self.prior_],
            "expected_cost_usd": [float(c) for c in self.expected_cost_usd_],
            "docs": rows,
            "correct": correct,
        }


def _score_entry(value: float) -> int | float | None:
    """A fitted score as the policy stores it: 0 and 1 as integers (as 0/1 policies always had), else the float."""
    if value != value:  # NaN: a failed call
        return None
    if value in (0.0, 1.0):
        return int(value)
    return value
