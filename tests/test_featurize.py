"""The routers' offline featurizing (routeeval/routers/featurize.py) against the runtime's TextFeaturizer.

Parity on 10,000 queries: generated here (seeded: words, typos, codes, digits, code, questions, unicode whose
lowercase is longer, chat message lists, texts past the prefix, many repeats) plus the demo's eval set. The
vocabularies and idf must be the ones ``TextFeaturizer.fit`` learns and every matrix row the runtime's vector,
to the bit; the knn neighbours the ones a search over every fitted row finds.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from helpers import ROOT

from routeeval.routers.base import feature_matrix, fit_logistic, kfold_splits, merge_soft_labels, soft_label_rows
from routeeval.routers.featurize import distinct_feature_matrix, distinct_texts, fit_featurizer
from routeeval.routers.knn import KnnRouter
from routeeval.runtime import TextFeaturizer

WORDS = tuple(
    [
        "how",
        "do",
        "i",
        "reset",
        "my",
        "password",
        "where",
        "is",
        "the",
        "invoice",
        "refund",
        "order",
        "shipping",
        "late",
        "tracking",
        "account",
        "gdpr",
        "export",
        "café",
        "naïve",
        "straße",
        "İstanbul",
        "ǅemal",
        "ΣΊΣΥΦΟΣ",
        "x",
        "y",
        "z",
        "a",
        "an",
        "of",
        "to",
        "be",
        "it",
    ]
)
ODD = ("#1234", "v2.3.1", "def", "import", "x=>y", "</div>", "{a:1};", "f(x);", "```py", "ERR_42", "??", "¿qué?")
N_QUERIES = 10_000
CONFIGS = [
    {},
    {"char_scope": "all", "tf": "sublinear", "word_ngrams": (1, 3), "char_ngrams": (2, 5)},
    {"tf": "raw", "min_df": 0.001, "max_df": 0.5, "max_word_features": 300, "max_char_features": 200},
    {"word_ngrams": None, "min_df": 1, "prefix_chars": 40, "dense": False},
    {"char_ngrams": None, "word_ngrams": (2, 2)},
]


def demo_queries() -> list:
    from routeeval.data import load_eval_set

    return [row.input_value for row in load_eval_set(ROOT / "evalsets" / "support.jsonl").rows]


def generated_queries(n: int, seed: int = 16) -> list:
    rng = random.Random(seed)
    distinct = []
    for _ in range(n // 3):
        words = [rng.choice(WORDS) for _ in range(rng.randint(0, 25))]
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randint(0, len(words)), rng.choice(ODD))
        if words and rng.random() < 0.3:
            words[0] = words[0].upper()
        text = rng.choice((" ", "  ", "\n", "\t")).join(words)
        if rng.random() < 0.02:
            text = text + " tail" * 3000  # past the 8,000-character prefix
        if rng.random() < 0.1:
            messages = [{"role": "user", "content": "earlier turn 7"}, {"role": "assistant", "content": "ok"}]
            distinct.append([*messages, {"role": "user", "content": text}])
        else:
            distinct.append(text)
    queries = list(distinct)
    while len(queries) < n:  # repeats: the same object (as a pivoted table hands them) and equal copies
        query = rng.choice(distinct)
        queries.append(query if rng.random() < 0.5 or not isinstance(query, str) else "".join(query))
    rng.shuffle(queries)
    return queries


@pytest.fixture(scope="module")
def queries() -> list:
    demo = demo_queries()
    return demo + generated_queries(N_QUERIES - len(demo))


def runtime_rows(featurizer: TextFeaturizer, queries: list, dense: bool = True) -> list[dict[int, float]]:
    from routeeval.runtime import query_text

    rows = []
    for query in queries:
        ids, values = featurizer.vector(*query_text(query), dense=dense)
        rows.append(dict(zip(ids, values, strict=True)))
    return rows


def matrix_rows(matrix) -> list[dict[int, float]]:
    return [
        dict(zip(matrix.indices[a:b].tolist(), matrix.data[a:b].tolist(), strict=True))
        for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_the_offline_featurizer_learns_and_computes_the_runtime_numbers(queries, config):
    assert len(queries) == N_QUERIES
    train = queries[: N_QUERIES * 4 // 5]  # as a cross-fitting fold: fit on the training rows, featurize all
    expected = TextFeaturizer(**config).fit(train)
    learnt = fit_featurizer(TextFeaturizer(**config), train)
    assert learnt.to_dict() == expected.to_dict()  # vocabularies in order, idf to the bit
    assert expected.n_tfidf > 0
    for dense in (True, False):
        offline = matrix_rows(feature_matrix(learnt, queries, dense=dense))
        runtime = runtime_rows(expected, queries, dense=dense)
        assert offline == runtime  # every id and every float, exactly


def test_each_distinct_text_is_featurized_once(queries):
    featurizer = fit_featurizer(TextFeaturizer(), queries)
    keys, codes = distinct_texts(featurizer, queries)
    assert len(keys) < len(queries) / 2 and codes.max() == len(keys) - 1
    matrix, codes_again = distinct_feature_matrix(featurizer, queries)
    assert matrix.shape[0] == len(keys) and np.array_equal(codes, codes_again)
    with pytest.raises(ValueError, match="query 2: query is int"):
        distinct_texts(featurizer, ["a", "b", 3])


def reference_neighbours(router: KnnRouter, queries: list) -> list:
    """The search before distinct texts: every fitted row scored, ranked by (quantized similarity, row)."""
    from routeeval.routers.base import quantize_array

    matrix = feature_matrix(router.featurizer_, queries, dense=False)
    similarity = (matrix @ router.docs_.T.tocsc()).tocsr()
    found = []
    for row in range(similarity.shape[0]):
        low, high = similarity.indptr[row], similarity.indptr[row + 1]
        sims, cols = quantize_array(similarity.data[low:high]), similarity.indices[low:high]
        sims, cols = sims[sims > 0], cols[sims > 0]
        found.append(cols[np.lexsort((cols, -sims))[: router.n_neighbors]])
    return found


@pytest.mark.parametrize("k", [1, 3, 15])
def test_knn_neighbours_are_the_full_search_ones(queries, k):
    subset = queries[:3000]
    train, test = next(kfold_splits(len(subset), 5, 0))
    rng = np.random.default_rng(0)
    scores = (rng.random((len(train), 2)) < 0.6).astype(float)
    router = KnnRouter(n_neighbors=k, chunk_rows=256).fit([subset[i] for i in train], scores)
    held_out = [subset[i] for i in test]
    found = router.neighbours(held_out)
    expected = reference_neighbours(router, held_out)
    assert len(found) == len(expected)
    assert all(np.array_equal(a, b) for a, b in zip(found, expected, strict=True))
    assert any(len(a) == k for a in found)


def test_merged_soft_labels_keep_rows_without_repeats_and_sum_weights_with_them():
    scores = np.array([1.0, 0.0, 0.7, 1.0, 0.7])
    rows, labels, weights = soft_label_rows(scores)
    same = merge_soft_labels(rows, labels, weights, np.arange(5))
    assert all(a is b for a, b in zip(same, (rows, labels, weights), strict=True))  # the plain fit's rows
    merged_rows, merged_labels, merged_weights = merge_soft_labels(rows, labels, weights, np.array([0, 1, 2, 0, 2]))
    assert merged_rows.tolist() == [0, 1, 2, 2] and merged_labels.tolist() == [1, 0, 1, 0]
    assert np.allclose(merged_weights, [2.0, 1.0, 1.4, 0.6])


def test_a_classifier_fit_once_per_repeated_text_matches_the_fit_on_every_row():
    from scipy import sparse

    rng = np.random.default_rng(1)
    distinct = sparse.random(40, 12, density=0.4, random_state=2, format="csr")
    codes = rng.integers(0, 40, 600)
    scores = rng.random(600).round(1)
    plain = fit_logistic(distinct[codes], scores, C=1.0, max_iter=1000, random_state=0)
    merged = fit_logistic(distinct[codes], scores, C=1.0, max_iter=1000, random_state=0, codes=codes)
    assert np.allclose(plain.coef_, merged.coef_, atol=1e-4)
    assert np.allclose(plain.intercept_, merged.intercept_, atol=1e-4)
