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
    mean_cost,
    quantize_array,
    target_matrix,
    tier_names,
)
from routeeval.routers.featurize import distinct_feature_matrix, fit_featurizer
from routeeval.runtime import TextFeaturizer

SCORE_DECIMALS = 6  # graded scores are kept, and exported, rounded to this many decimals
SIMILARITY_PAIRS = 20_000_000  # non-zero similarities computed at once (a block of queries x fitted texts): ~0.3 GB


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
        self.featurizer_ = fit_featurizer(TextFeaturizer(**(self.featurizer or {})), X)
        distinct, codes = distinct_feature_matrix(self.featurizer_, X, dense=False)
        self.docs_ = distinct[codes]
        self.doc_groups_ = (distinct, codes)  # each distinct fitted text's vector once, and each row's text
        self.correct_ = np.round(targets, SCORE_DECIMALS)  # the numbers the policy exports, used here too
        with np.errstate(invalid="ignore"):
            prior = np.nanmean(np.where(np.isnan(targets).all(axis=0)[None, :], 0.0, self.correct_), axis=0)
        self.prior_ = np.nan_to_num(prior, nan=0.0)
        self.expected_cost_usd_ = mean_cost(cost_usd, len(X), n_tiers)
        return self

    def neighbours(self, X) -> list:
        """Per query, the fitted rows voting for it (best first)."""
        queries, codes = distinct_feature_matrix(self.featurizer_, list(X), dense=False)
        found = self._distinct_neighbours(queries)
        return [found[code] for code in codes]

    def _distinct_neighbours(self, queries) -> list:
        """Per row of ``queries`` (a feature matrix), the fitted rows voting for it, best first: the rows with
        the ``n_neighbors`` largest quantized similarities > 0, ties by row order.

        Similarities are computed once per distinct fitted text (its rows share its vector); a query takes whole
        groups of rows, most similar first, until it holds k rows and every group as similar as the last one
        taken, then ranks those rows as the runtime does. The similarity of a query and a fitted row is the same
        sum of the same products in the same order as with one column per row, so the same bits.
        """
        import numpy as np

        self._check_fitted("doc_groups_")
        k = self.n_neighbors
        docs, codes = self.doc_groups_
        members = np.argsort(codes, kind="stable")  # each group's rows, ascending, group after group
        group_starts = np.r_[0, np.cumsum(np.bincount(codes, minlength=docs.shape[0]))]
        group_sizes = np.diff(group_starts)
        docs_t = docs.T.tocsc()
        found = []
        for start, stop in _chunks(queries, docs, self.chunk_rows):
            similarity = (queries[start:stop] @ docs_t).tocsr()
            for row in range(similarity.shape[0]):
                low, high = similarity.indptr[row], similarity.indptr[row + 1]
                sims = quantize_array(similarity.data[low:high])
                groups = similarity.indices[low:high]
                keep = sims > 0
                sims, groups = sims[keep], groups[keep]
                if sims.size > k:  # the k-th row is in one of the k most similar groups (each holds a row)
                    top = np.argpartition(-sims, k - 1)[:k]
                    top = top[np.argsort(-sims[top], kind="stable")]
                    reached = np.searchsorted(np.cumsum(group_sizes[groups[top]]), k)  # the group holding it
                    taken = sims >= sims[top[min(int(reached), k - 1)]]  # and every group as similar
                    sims, groups = sims[taken], groups[taken]
                heads = np.minimum(group_sizes[groups], k)  # a group gives at most k rows, its first ones
                rows = members[np.repeat(group_starts[groups], heads) + _ramps(heads)]
                row_sims = np.repeat(sims, heads)
                best = np.lexsort((rows, -row_sims))[:k]
                found.append(rows[best])
        return found

    def predict_proba(self, X):
        """n x T expected score per tier from the neighbours' scores, quantized like the runtime's."""
        queries, codes = distinct_feature_matrix(self.featurizer_, list(X), dense=False)
        return self._vote(self._distinct_neighbours(queries))[codes]

    def _vote(self, neighbours: list):
        import numpy as np

        k = self.n_neighbors
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


def _ramps(lengths):
    """0, 1, ..., n - 1 for each n in ``lengths``, concatenated."""
    import numpy as np

    ends = np.cumsum(lengths)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lengths, lengths)


def _score_entry(value: float) -> int | float | None:
    """A fitted score as the policy stores it: 0 and 1 as integers (as 0/1 policies always had), else the float."""
    if value != value:  # NaN: a failed call
        return None
    if value in (0.0, 1.0):
        return int(value)
    return value


def _chunks(queries, docs, most_rows: int, most_pairs: int | None = None):
    """(start, stop) of consecutive row blocks of ``queries`` whose similarities to ``docs`` hold at most
    ``most_pairs`` non-zero entries (bounded above by each query's terms' document counts), and at most
    ``most_rows`` rows; a row of more than ``most_pairs`` makes a block of its own. Common words make a query similar
    to most fitted texts: on distinct queries a fixed block of rows could hold a dense matrix of several GB."""
    import numpy as np

    most_pairs = SIMILARITY_PAIRS if most_pairs is None else most_pairs
    document_counts = np.bincount(docs.indices, minlength=docs.shape[1])  # per term, the fitted texts holding it
    bound = np.minimum(queries.astype(bool).astype(np.int64) @ document_counts, docs.shape[0])
    start, n_rows = 0, queries.shape[0]
    while start < n_rows:
        stop = min(n_rows, start + most_rows)
        within = np.searchsorted(np.cumsum(bound[start:stop]), most_pairs, side="right")
        stop = start + max(1, int(within))
        yield start, stop
        start = stop
