"""Offline featurizing: :class:`routeeval.runtime.TextFeaturizer`'s numbers for many queries, each distinct text once.

The routers featurize every cross-fitting fold: a vocabulary and idf learnt from the fold's training rows
only (out-of-fold honesty), then a matrix for its training and held-out rows. Eval sets and log samples
repeat their texts (a pivoted table of 100,000 log queries may hold a few thousand distinct ones), and a
text's features depend on nothing else, so here each distinct text is featurized once per fold:

* :func:`fit_featurizer` learns exactly what ``TextFeaturizer.fit`` learns (the same vocabularies, in the same
  order, the same idf bits): a document frequency counts rows, so a distinct text adds its number of rows;
* :func:`distinct_feature_matrix` computes ``TextFeaturizer.vector`` once per distinct (prefix, turns) and
  gives the row -> distinct-row codes; :func:`routeeval.routers.base.feature_matrix` gathers it into one row
  per query. The values are the runtime's by construction: the same method makes them.

Why the vector itself stays the runtime's per-text Python: the l2 scale of a binary-tf vector is a float sum
of idf squares in the order of a Python set of term ids, an order no vectorised sum reproduces, and a last-bit
difference could move a quantized probability across a threshold. Decision-identical means bit-identical here.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import chain
from typing import Any

from routeeval.runtime import (
    _WORD_RE,
    TextFeaturizer,
    _char_terms,
    _sizes,
    _term_text,
    _word_grams,
    query_text,
)


def distinct_texts(featurizer: TextFeaturizer, queries) -> tuple[list[tuple[str, int]], Any]:
    """(the distinct (text prefix, user turns) pairs of ``queries`` in order of first sighting, each row's index
    into them as a numpy int array): a query's features depend on these two only. ValueError naming the
    query for an odd one, as :func:`routeeval.routers.base.feature_matrix` always said."""
    import numpy as np

    prefix = featurizer.prefix_chars
    seen: dict[tuple[str, int], int] = {}
    by_object: dict[int, int] = {}  # id(query) -> code: a pivoted table hands equal texts as one object
    codes = np.empty(len(queries), dtype=np.int64)
    for number, query in enumerate(queries):  # (``queries`` holds every query object: their ids stay theirs)
        code = by_object.get(id(query))
        if code is None:
            try:
                text, turns = query_text(query)
            except ValueError as exc:
                raise ValueError(f"query {number}: {exc}") from None
            code = by_object[id(query)] = seen.setdefault((text[:prefix], turns), len(seen))
        codes[number] = code
    return list(seen), codes


def distinct_feature_matrix(featurizer: TextFeaturizer, queries, dense: bool = True):
    """(scipy CSR with one row per distinct text of ``queries``, each query's row in it): ``featurizer.vector``
    of each distinct (prefix, turns), indices sorted."""
    import numpy as np
    from scipy import sparse

    keys, codes = distinct_texts(featurizer, queries)
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    vector = featurizer.vector
    for text, turns in keys:
        ids, values = vector(text, turns, dense=dense)
        indices += ids
        data += values
        indptr.append(len(indices))
    width = featurizer.n_features if dense and featurizer.dense else featurizer.n_tfidf
    matrix = sparse.csr_matrix(
        (np.asarray(data, dtype=float), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(keys), width),
    )
    matrix.sort_indices()
    return matrix, codes


def fit_featurizer(featurizer: TextFeaturizer, queries) -> TextFeaturizer:
    """A fitted copy of ``featurizer`` (its arguments; what it learnt before is ignored): what
    ``featurizer.fit(queries)`` learns, the same vocabularies and idf, with each distinct text's terms counted
    once, times its number of rows."""
    import numpy as np

    queries = queries if isinstance(queries, list) else list(queries)
    keys, codes = distinct_texts(featurizer, queries)
    rows: Counter[str] = Counter()
    for (text, _turns), count in zip(keys, np.bincount(codes, minlength=len(keys)).tolist(), strict=True):
        rows[text] += count
    n_docs = len(queries)
    word_sizes = _sizes(featurizer.word_ngrams)
    char_sizes = _sizes(featurizer.char_ngrams)
    token_words: dict[str, tuple[str, ...]] = {}
    docs: list[tuple[list[str], int]] = []
    word_df: Counter[Any] = Counter()
    for text, count in rows.items():
        tokens = text.lower().split()
        for token in tokens:
            if token not in token_words:
                token_words[token] = tuple(_WORD_RE.findall(token))
        docs.append((tokens, count))
        if word_sizes:
            grams = set(_word_grams(list(chain.from_iterable(map(token_words.__getitem__, tokens))), word_sizes))
            _add(word_df, grams, count)
    word_vocabulary = featurizer._select(word_df, n_docs, featurizer.max_word_features)
    char_df: Counter[str] = Counter()
    if char_sizes:
        unigrams = {key for key in word_vocabulary if isinstance(key, str)}
        oov = featurizer.char_scope == "oov"
        token_chars: dict[str, tuple[str, ...]] = {}  # a token's character n-grams; () when it holds a known word
        for tokens, count in docs:
            char_grams: set[str] = set()
            for token in tokens:
                chars = token_chars.get(token)
                if chars is None:
                    known = oov and not unigrams.isdisjoint(token_words[token])
                    chars = token_chars[token] = () if known else tuple(_char_terms(token, char_sizes))
                char_grams.update(chars)
            _add(char_df, char_grams, count)
    char_vocabulary = featurizer._select(char_df, n_docs, featurizer.max_char_features)
    fitted = featurizer.to_dict()
    fitted.update(
        n_docs=n_docs,
        word_vocabulary=[_term_text(key) for key in word_vocabulary],
        char_vocabulary=list(char_vocabulary),
        idf=[
            _idf(n_docs, df)
            for df in chain((word_df[k] for k in word_vocabulary), (char_df[t] for t in char_vocabulary))
        ],
    )
    return TextFeaturizer.from_dict(fitted)


def _idf(n_docs: int, df: int) -> float:
    """Smooth idf, as ``TextFeaturizer.fit`` computes it (the same operations, so the same bits)."""
    return math.log((1 + n_docs) / (1 + df)) + 1.0


def _add(df: Counter[Any], terms: set, count: int) -> None:
    if count == 1:
        df.update(terms)
    else:
        for term in terms:
            df[term] += count
