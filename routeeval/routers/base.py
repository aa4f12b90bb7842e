"""What every router shares: scikit-learn style parameters, the feature matrix, cross-fitting.

Routers follow scikit-learn's conventions without importing it at module level: ``__init__`` only
stores its arguments, ``fit`` returns ``self``, learned state ends in ``_``, randomness comes only
through ``random_state``. Scores are quantized exactly as the runtime quantizes them
(:func:`routeeval.runtime.quantize`), so offline and runtime decisions agree even when a threshold
sits exactly on an observed score.
"""

from __future__ import annotations

import inspect
from functools import cache

from routeeval.routers.featurize import distinct_feature_matrix
from routeeval.runtime import QUANTUM


class RouterBase:
    """``get_params`` / ``set_params`` / ``repr`` from the ``__init__`` signature, as in scikit-learn."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = False) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> RouterBase:
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"unknown parameter '{name}' for {type(self).__name__}; valid: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{name}={value!r}" for name, value in self.get_params().items() if value is not defaults[name].default
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit first")


def tier_names(tiers, n_tiers: int) -> list[str]:
    """The tier names a router was given, or "0", "1", ... when it was given none."""
    if tiers is None:
        return [str(i) for i in range(n_tiers)]
    names = [str(t) for t in tiers]
    if len(names) != n_tiers:
        raise ValueError(f"got {len(names)} tier names for targets with {n_tiers} tiers")
    return names


def target_matrix(y, n_rows: int):
    """n x T float array of scores in [0, 1], NaN where unknown (a failed call): what the routers learn.

    Scores stay graded (an LLM judge's 7/10 is 0.7): accuracy is the mean score, so routers predict
    each tier's expected score, which for 0/1 scorers is P(correct). Raises ValueError on a known
    score outside [0, 1].
    """
    import numpy as np

    array = np.asarray(y, dtype=float)  # not copied: routers only read their targets
    if array.ndim == 1:
        array = array[:, None]
    if array.shape[0] != n_rows:
        raise ValueError(f"targets have {array.shape[0]} rows for {n_rows} queries")
    if array.size:
        low, high = np.fmin.reduce(array, axis=None), np.fmax.reduce(array, axis=None)  # NaN left out
        if low < 0 or high > 1:  # both NaN when no score is known
            raise ValueError(f"targets must be scores in [0, 1]; got values from {low:g} to {high:g}")
    return array


def has_both_classes(scores) -> bool:
    """True when graded ``scores`` give a logistic regression both labels: some score above 0 and some below 1.

    All 1 (or all 0) leaves one class, which a router treats as a constant, as it did for 0/1 scores."""
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    return bool((scores > 0).any() and (scores < 1).any())


def feature_matrix(featurizer, queries, dense: bool = True):
    """scipy CSR of ``featurizer.vector`` for each query: the numbers the runtime computes, by construction.

    Each distinct text is featurized once (:func:`routeeval.routers.featurize.distinct_feature_matrix`)."""
    matrix, codes = distinct_feature_matrix(featurizer, queries, dense=dense)
    return matrix if len(codes) == matrix.shape[0] and _ascending(codes) else matrix[codes]


def _ascending(codes) -> bool:
    import numpy as np

    return bool(np.array_equal(codes, np.arange(len(codes))))


def quantize_array(values):
    """numpy twin of :func:`routeeval.runtime.quantize`: the same IEEE operations, so the same bits."""
    import numpy as np

    return np.floor(np.asarray(values, dtype=float) * QUANTUM + 0.5) / QUANTUM


def sigmoid_array(z):
    """numpy twin of :func:`routeeval.runtime.sigmoid` (same two branches)."""
    import numpy as np

    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    e = np.exp(z[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def choose_tiers(scores, knob: dict, costs):
    """Vectorised :func:`routeeval.runtime.choose_tier` over rows of an n x T score array."""
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    rule = knob.get("rule", "threshold")
    if rule == "threshold":
        passed = scores >= float(knob["threshold"])
        return np.where(passed.any(axis=1), passed.argmax(axis=1), scores.shape[1] - 1)
    if rule == "utility":
        utilities = scores - float(knob["lambda"]) * np.asarray(costs, dtype=float)[None, :]
        return utilities.argmax(axis=1)
    raise ValueError(f"unknown rule {rule!r}; choose from: threshold, utility")


def take_rows(values, index):
    """Rows ``index`` of a list, or of an array taken when first read (:class:`TakenRows`)."""
    if isinstance(values, list | tuple):
        return [values[i] for i in index]
    return TakenRows(values, index)


class TakenRows:
    """Rows ``index`` of an array, copied on first read (``np.asarray``, indexing, iteration; ``len`` is free).

    A router that never reads a per-row parameter never pays for splitting it: a cascade reads the answer
    texts only for tiers without log-probabilities, and they are the costliest to copy (an object per cell).
    """

    def __init__(self, values, index):
        self._values = values
        self._index = index
        self._rows = None

    def _taken(self):
        if self._rows is None:
            import numpy as np

            values = self._values
            self._rows = np.take(values, self._index, axis=0) if isinstance(values, np.ndarray) else values[self._index]
        return self._rows

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        return np.array(self._taken(), dtype=dtype, copy=copy)

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self):
        return iter(self._taken())

    def __getitem__(self, key):
        return self._taken()[key]


def cross_fit(
    router_factory,
    texts,
    targets,
    folds: int = 5,
    random_state: int = 0,
    fit_params: dict | None = None,
    predict_params: dict | None = None,
):
    """Out-of-fold scores: each row's n x T scores come from a router fit on the other folds only.

    ``router_factory()`` returns a fresh unfitted router; rows are split by a seeded, shuffled
    K-fold (:func:`kfold_splits`: scikit-learn's ``KFold`` splits). ``fit_params`` / ``predict_params``
    map keyword names to per-row values (lists or arrays with one entry per row, e.g. ``cost_usd`` or
    ``responses``) that are split with the rows (an array's rows are taken when the router first reads them:
    :class:`TakenRows`). The router you export is fit on all rows separately.
    """
    import numpy as np

    texts = np.fromiter(texts, dtype=object)  # one object per query (a string or a message list), indexed fast
    n_rows = len(texts)
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    if n_rows < folds:
        raise ValueError(f"{n_rows} rows cannot be split into {folds} folds")
    fit_params = fit_params or {}
    predict_params = predict_params or {}
    out = None
    targets = np.asarray(targets, dtype=float)
    for train, test in kfold_splits(n_rows, folds, random_state):
        router = router_factory()
        router.fit(
            texts[train].tolist(),
            np.take(targets, train, axis=0),
            **{name: take_rows(values, train) for name, values in fit_params.items()},
        )
        scores = router.predict_proba(
            texts[test].tolist(), **{name: take_rows(values, test) for name, values in predict_params.items()}
        )
        if out is None:
            out = np.full((n_rows, scores.shape[1]), np.nan)
        out[test] = scores
    return out


def kfold_splits(n_rows: int, folds: int, random_state: int):
    """Yield (train, test) row indexes, both sorted: exactly ``sklearn.model_selection.KFold(folds,
    shuffle=True, random_state=random_state).split(range(n_rows))``, without importing scikit-learn,
    which routers that learn nothing (log-probability cascades) never need."""
    import numpy as np

    order = np.arange(n_rows)
    np.random.RandomState(random_state).shuffle(order)
    sizes = np.full(folds, n_rows // folds, dtype=int)
    sizes[: n_rows % folds] += 1
    start = 0
    for size in sizes:
        in_test = np.zeros(n_rows, dtype=bool)
        in_test[order[start : start + size]] = True
        start += size
        yield np.flatnonzero(~in_test), np.flatnonzero(in_test)


def soft_label_rows(scores):
    """(row, label, weight) arrays that spell graded ``scores`` as weighted 0/1 labels.

    Row i appears with label 1 and weight s_i, then with label 0 and weight 1 - s_i; zero-weight copies
    are dropped, so 0/1 scores give every row once, in order, with its own label and weight 1. A
    logistic regression fit on these minimises the cross-entropy against the soft label s_i.
    """
    import numpy as np

    scores = np.asarray(scores, dtype=float)
    rows = np.repeat(np.arange(scores.size), 2)
    labels = np.tile([1.0, 0.0], scores.size)
    weights = np.column_stack([scores, 1.0 - scores]).ravel()
    keep = weights > 0
    return rows[keep], labels[keep], weights[keep]


def merge_soft_labels(rows, labels, weights, codes):
    """``soft_label_rows``' (row, label, weight) with the rows of one text merged: ``codes`` gives each row's
    text (equal codes: equal feature rows), and a text's rows with one label become its first such row, weighing
    their summed weight. A logistic regression's loss is a weighted sum over rows, so this is the same objective
    with fewer rows (a log sample repeating a few thousand texts fits in a fraction of the time); without a
    repeated text (or without ``codes``) the rows come back as given, so the fit is bit for bit the plain one."""
    import numpy as np

    if codes is None:
        return rows, labels, weights
    keys = np.asarray(codes, dtype=np.int64)[rows] * 2 + (labels == 0)
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if unique.size == keys.size:
        return rows, labels, weights
    return rows[first], labels[first], np.bincount(inverse, weights=weights, minlength=unique.size)


C_GRID = (0.0625, 0.25, 1.0, 4.0)  # inverse L2 strengths C="auto" tries; C=16 never won on the bench data
INNER_FOLDS = 3


def check_C(C) -> None:
    """Raise ValueError unless ``C`` is "auto" or a positive number."""
    if isinstance(C, str):
        if C != "auto":
            raise ValueError(f"C must be 'auto' or a positive number, got {C!r}")
    elif not (isinstance(C, int | float) and not isinstance(C, bool) and C > 0):
        raise ValueError(f"C must be 'auto' or a positive number, got {C!r}")


def choose_C(
    features, targets, *, grid=C_GRID, folds: int = INNER_FOLDS, max_iter: int, random_state: int, codes=None
) -> float:
    """The ``grid`` value whose per-tier logistic regressions predict the graded ``targets`` best out of sample.

    ``targets`` is n x T (NaN for an unknown score). ``folds``-fold cross-validation inside the rows given
    (:func:`kfold_splits`), scored by the cross-entropy against the soft labels summed over every tier:
    the router's probabilities estimate expected scores, and this picks the regularisation that estimates
    them best. One C for all tiers, because the utility rule compares the tiers' estimates with each other
    (measured on MT-Bench: a C per tier made the utility rule's APGR 0.60 instead of 0.65). A tier with one
    class in an inner training part predicts its constant mean for every C there, so it cannot tip the
    choice. Ties go to the smaller C (the stronger regularisation). Too few rows to split: the middle of
    the grid. ``codes``: each row's text, to fit each text once (:func:`merge_soft_labels`).
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    targets = np.asarray(targets, dtype=float)
    grid = sorted(float(c) for c in grid)
    n_rows = targets.shape[0]
    if n_rows < 2 * folds:
        return grid[len(grid) // 2]
    loss = np.zeros(len(grid))
    for train, test in kfold_splits(n_rows, folds, random_state):
        fit_part, test_part = features[train], features[test]
        for scores, held_out in zip(targets[train].T, targets[test].T, strict=True):
            known, known_test = ~np.isnan(scores), ~np.isnan(held_out)
            if not has_both_classes(scores[known]) or not known_test.any():
                continue
            known_rows = np.flatnonzero(known)
            rows, labels, weights = soft_label_rows(scores[known])
            if codes is not None:
                rows, labels, weights = merge_soft_labels(rows, labels, weights, codes[train][known_rows])
            fit_rows, test_rows, held_out = (
                fit_part[known_rows[rows]],
                test_part[known_test],
                held_out[known_test],
            )
            # ascending C with a warm start: each fit starts from the more regularised solution before it
            model = LogisticRegression(max_iter=max_iter, random_state=random_state, warm_start=True)
            for index, C in enumerate(grid):
                model.set_params(C=C)
                with one_thread():
                    model.fit(fit_rows, labels, sample_weight=weights)
                p = np.clip(model.predict_proba(test_rows)[:, 1], 1e-12, 1 - 1e-12)
                loss[index] -= np.sum(held_out * np.log(p) + (1 - held_out) * np.log1p(-p))
    return grid[int(np.argmin(loss))]


def fit_logistic(features, scores, *, C: float, max_iter: int, random_state: int, codes=None):
    """A scikit-learn LogisticRegression of graded ``scores`` (in [0, 1]) fit on one BLAS/OpenMP thread.

    Its probability estimates the expected score: each row enters as soft labels
    (:func:`soft_label_rows`), so for 0/1 scores this is the plain fit on the rows as given. The scores
    need both classes (:func:`has_both_classes`). ``codes``: each row's text, to fit each text once
    (:func:`merge_soft_labels`).

    The problems are small and sparse; with several threads on a shared 2-core machine the solver's
    threads spin against each other (measured: 10 s instead of 0.26 s for one RouterBench tier).
    """
    from sklearn.linear_model import LogisticRegression

    rows, labels, weights = soft_label_rows(scores)
    rows, labels, weights = merge_soft_labels(rows, labels, weights, codes)
    model = LogisticRegression(C=C, max_iter=max_iter, random_state=random_state)
    with one_thread():
        model.fit(features[rows], labels, sample_weight=weights)
    return model


def one_thread():
    """A context in which the BLAS and OpenMP libraries scikit-learn's solvers use run on one thread.

    threadpoolctl's ``threadpool_limits`` scans every loaded library on each entry (about 3 ms, more than a small
    fit takes); the controller here scans once, when the first fit needs it, and each limit costs microseconds.
    """
    return _thread_pools().limit(limits=1)


@cache
def _thread_pools():
    import sklearn.linear_model  # noqa: F401 - loads the BLAS and OpenMP libraries the controller must see
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def mean_cost(cost_usd, n_rows: int, n_tiers: int):
    """Mean cost per call of each tier (0 where unknown)."""
    import numpy as np

    if cost_usd is None:
        return np.zeros(n_tiers)
    costs = np.asarray(cost_usd, dtype=float).reshape(n_rows, n_tiers)
    with np.errstate(invalid="ignore"):
        known = ~np.isnan(costs)
        totals = np.where(known, costs, 0.0).sum(axis=0)
        counts = known.sum(axis=0)
    return np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)
