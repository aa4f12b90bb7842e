"""The runtime router: load a ``policy.json`` and route queries in production.

Standard library only, and self-contained: this one file may be copied into a service on its own.

    from routeeval.runtime import Router

    router = Router.load("policy.json")
    decision = router.route("where is my invoice?")   # Decision(tier="small", model=..., score=..., reason=...)
    router.record_spend(0.0004)                       # feeds the daily cost-ceiling guard

The public API is :class:`Router`, :class:`Decision`, :class:`PolicyError` and :data:`SCHEMA` (``__all__``).
Inside, each policy kind is one small class holding only its own state (``_StaticPolicy``,
``_ClassifierPolicy``, ``_KnnPolicy``, ``_CascadePolicy``, ``_LLMPolicy``); the :class:`Router` reads what
every kind shares (tiers, knob, guards), hands the query to its kind's ``route`` and keeps the daily spend.
The module-level helpers (the featurizer, static rules, the llm router's prompt and answer) are shared with
routeeval's offline routers.

The same :class:`TextFeaturizer` turns text into features offline (when routers are fit) and here, so
offline and runtime decisions agree by construction. Probabilities, similarities and confidences are
quantized to 1e-9 (:func:`quantize`) on both sides, so a threshold placed exactly at an observed score
decides the same way whichever side computed the score.

``route`` never raises on a query: anything odd (None, a number, an empty string, a malformed
message list) goes to the policy's ``guards.fallback_tier`` with a reason. Loading raises
:class:`PolicyError` when the policy has another schema version, was modified after it was written
(checksum), or is malformed.

Bounded work on any input:

* features come from the first ``prefix_chars`` characters of the text (the featurizer's field in the
  policy; 8,000 when a policy predates it, at most 100,000), offline and here alike, so a 10 MB query
  costs what an 8,000-character one does and is decided from its first 8,000 characters;
* static rules' keywords and regexes read the first :data:`PREFIX_CHARS` characters too (their
  ``min_chars``/``max_chars`` and the length cut-off count the whole text). Bounding the text does not
  make a regex safe: a pattern with nested quantifiers such as ``(a+)+$`` or ``(\\w+\\s?)*x`` can take
  exponential time on a few dozen characters, and ``re`` cannot be interrupted, so such a rule stalls
  the calling thread. Write rules without nested or overlapping quantifiers;
* the per-token cache is bounded by entries and by estimated bytes, and never keeps a token longer than
  256 characters;
* loading refuses what would make routing slow or meaningless: lists and objects nested more than
  :data:`MAX_POLICY_DEPTH` levels, word n-grams beyond :data:`MAX_WORD_NGRAM` or character n-grams beyond
  :data:`MAX_CHAR_NGRAM`, a ``prefix_chars`` beyond :data:`MAX_PREFIX_CHARS`, negative or non-finite
  cost ceilings and costs, negative escalation caps and length cut-offs.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import math
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import chain, compress, repeat
from operator import ge, itemgetter, mul
from pathlib import Path
from typing import Any, ClassVar, TypeVar

try:  # CPython's C helper behind Counter, without Counter's per-call overhead
    from collections import _count_elements  # type: ignore[attr-defined]  # private: not in typeshed
except ImportError:  # pragma: no cover - other Pythons

    def _count_elements(mapping: dict[Any, int], iterable: Iterable[Any]) -> None:
        for item in iterable:
            mapping[item] = mapping.get(item, 0) + 1


__all__ = ["SCHEMA", "Decision", "PolicyError", "Router"]

SCHEMA = "routeeval.policy/v1"
KINDS = ("cascade", "classifier", "knn", "llm", "static")
ON_CEILING = ("cheapest", "fallback")
RULES = ("threshold", "utility")
QUANTUM = 1e9  # scores are quantized to 1/QUANTUM in both paths (see quantize)
TF_MODES = ("binary", "sublinear", "raw")
DENSE_FEATURES = ("log_chars", "turns", "has_code", "has_digit", "has_question")
CEILING_REASON = "daily cost ceiling reached"

_WORD_RE = re.compile(r"(?u)\b\w\w+\b")
_CODE_MARKERS = ("```", "def ", "import ", "#include", "=>", "</", "{", "};", ");")
# A marker without whitespace lies inside one whitespace token. One with whitespace ("def ") can only be
# in a text holding a token that ends with the marker's part before its first whitespace ("def"): only
# then is the text itself searched.
_TOKEN_CODE_MARKERS = tuple(m for m in _CODE_MARKERS if m.split() == [m])
_SPACED_CODE_MARKERS = tuple(m for m in _CODE_MARKERS if m not in _TOKEN_CODE_MARKERS)
_SPACED_MARKER_HEADS = tuple(re.split(r"\s", m, maxsplit=1)[0] for m in _SPACED_CODE_MARKERS)
# Marks: negative numbers that a token's keys hold beside its term ids (see _TokenCache): the dense
# features the token sets, and whether it has no word at all
_MARK_CODE, _MARK_MAYBE_CODE, _MARK_DIGIT, _MARK_QUESTION, _MARK_WORDLESS = -1, -2, -3, -4, -5
_MARKS = frozenset((_MARK_CODE, _MARK_MAYBE_CODE, _MARK_DIGIT, _MARK_QUESTION, _MARK_WORDLESS))
_NO_FOLLOWERS: dict[str, int] = {}
_TermKey = str | tuple[str, ...]  # a word term's key: the word, or the tuple of its n words
# A whitespace token's entry in the token cache (see _TokenCache): its words, the ids of its terms, its keys,
# its first word and the bigrams its last word starts
_Entry = tuple[tuple[str, ...], tuple[int, ...], frozenset[int], str | None, dict[str, int]]
_Key = TypeVar("_Key", bound=str | tuple[str, ...])
_NO_TERM = -100  # what TextFeaturizer._scan's n-gram lookups give for an n-gram outside the vocabulary
_DIGIT_RE = re.compile(r"\d")
_ANSWER_WORD_RE = re.compile(r"[\w.\-]+")
PREFIX_CHARS = 8_000  # characters of a text that features (by default) and static rules' keywords and regexes read
MAX_PREFIX_CHARS = 100_000  # the largest prefix_chars a featurizer may state
MAX_WORD_NGRAM = 5  # word n-grams of up to 5 words (longer ones hardly repeat); each size is a pass over the words
MAX_CHAR_NGRAM = 10  # character n-grams of up to 10 characters; each size is a pass over a token's characters
MAX_POLICY_DEPTH = 32  # lists and objects nested deeper than this are refused; a policy needs about 6 levels
_TOKEN_CACHE_SIZE = 50_000  # entries
_TOKEN_CACHE_BYTES = 32 * 2**20  # estimated bytes of the entries (see _entry_bytes); about 50,000 ordinary tokens
_CACHED_TOKEN_CHARS = 256  # longer tokens (a pasted blob, a long URL) are looked up every time, never kept
_ENTRY_BYTES = 200  # a cache entry's own tuple and its share of the dict's table
_LEAF_TYPES = frozenset((str, int, float, bool, type(None)))
_SORT_ROWS = 1024  # knn: up to this many fitted rows, the k-th largest similarity comes from a full sort
_SECONDS_PER_DAY = 86_400
_floor = math.floor


class PolicyError(ValueError):
    """A policy that cannot be loaded or trusted (wrong schema version, modified, malformed)."""


def quantize(value: float) -> float:
    """Round a score to 1e-9 with plain IEEE operations (numpy's ``floor(x*1e9+0.5)/1e9`` gives the same bits)."""
    return math.floor(value * QUANTUM + 0.5) / QUANTUM


def sigmoid(z: float) -> float:
    """Logistic function, stable for large ``|z|``; the offline routers use the same two branches."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def policy_checksum(policy: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``policy`` without its ``checksum`` field."""
    body = {key: value for key, value in policy.items() if key != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def query_text(query: Any) -> tuple[str, int]:
    """(text, number of user turns) of a query: a string, or a list of chat messages ``{role, content}``.

    For messages the text is the last user message (its text parts when the content is a list of
    parts). Raises ValueError saying what is odd about the query.
    """
    if isinstance(query, str):
        return query, 1
    if isinstance(query, list | tuple):
        text = None
        turns = 0
        for number, message in enumerate(query, start=1):
            if not isinstance(message, dict) or "role" not in message:
                raise ValueError(f"message {number} is not a chat message with 'role' and 'content'")
            if message["role"] == "user":
                turns += 1
                text = _content_text(message.get("content"), number)
        if text is None:
            raise ValueError("the message list has no user message")
        return text, turns
    raise ValueError(f"query is {type(query).__name__}; expected a string or a list of chat messages")


def _content_text(content: Any, number: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    raise ValueError(f"message {number} has content of type {type(content).__name__}; expected a string")


class _TokenCache(dict[str, _Entry]):
    """Whitespace token (as written) -> (its lowercased words, the ids of its in-vocabulary words and
    character n-grams, its keys, its first word, the bigrams its last word starts).

    Words (runs of ``\\w``), ``char_wb`` n-grams, digits, question marks and code markers without
    whitespace never cross whitespace, and lowercasing never creates or removes whitespace, so all of
    them depend on the token alone; caching them per token makes featurizing cost per token rather than
    per character. The keys are one frozenset of the token's term ids, its marks (``_MARK_*``) and, when
    bigrams are the only word n-grams, the ids of the bigrams inside it: a text's distinct term ids and
    marks are one C-level union of its tokens' keys, and only its bigrams across tokens are left to look
    up, from the first and last words.

    Bounded: tokens longer than ``_CACHED_TOKEN_CHARS`` are never kept, and when an entry would take the
    cache past ``_TOKEN_CACHE_SIZE`` entries or ``_TOKEN_CACHE_BYTES`` estimated bytes (``n_bytes``), it is
    emptied first, so a burst of one-off tokens cannot hold memory or leave the cache full for good.
    """

    def __init__(self, featurizer: TextFeaturizer) -> None:
        super().__init__()
        self.n_bytes = 0
        self.unigrams = featurizer._unigram_index
        self.chars = featurizer._char_index
        self.char_sizes = _sizes(featurizer.char_ngrams)
        self.oov_only = featurizer.char_scope == "oov"
        self.bigrams = featurizer._bigrams_by_first if featurizer._ngram_sizes == (2,) else None

    def __missing__(self, token: str) -> _Entry:
        low = token.lower()
        words = tuple(_WORD_RE.findall(low))
        get = self.unigrams.get
        ids = tuple(j for j in map(get, words) if j is not None)
        if self.chars and not (self.oov_only and ids):
            get = self.chars.get
            ids += tuple(j for j in map(get, _char_terms(low, self.char_sizes)) if j is not None)
        keys = set(ids)
        keys.update(_token_marks(token))
        if not words:
            keys.add(_MARK_WORDLESS)
        followers = _NO_FOLLOWERS
        if self.bigrams is not None and words:
            starts = self.bigrams.get
            inside = (starts(a, _NO_FOLLOWERS).get(b) for a, b in zip(words, words[1:], strict=False))
            keys.update(j for j in inside if j is not None)
            followers = self.bigrams.get(words[-1], _NO_FOLLOWERS)
        entry = (words, ids, frozenset(keys), words[0] if words else None, followers)
        if len(token) <= _CACHED_TOKEN_CHARS:
            size = _entry_bytes(token, entry)
            if len(self) >= _TOKEN_CACHE_SIZE or self.n_bytes + size > _TOKEN_CACHE_BYTES:
                self.clear()
                self.n_bytes = 0
            self[token] = entry
            self.n_bytes += size
        return entry


def _entry_bytes(token: str, entry: _Entry) -> int:
    """Estimated bytes a token's cache entry holds: the token, its words, its ids and keys (term ids are the
    vocabulary's own int objects and the followers dict is shared, so neither is counted)."""
    words = entry[0]
    size = sys.getsizeof
    return _ENTRY_BYTES + size(token) + size(words) + sum(map(size, words)) + size(entry[1]) + size(entry[2])


def _token_marks(token: str) -> list[int]:
    """The dense-feature marks (``_MARK_*``) that one whitespace token decides on its own."""
    marks = []
    if any(map(token.__contains__, _TOKEN_CODE_MARKERS)):
        marks.append(_MARK_CODE)
    elif token.endswith(_SPACED_MARKER_HEADS):
        marks.append(_MARK_MAYBE_CODE)
    if _DIGIT_RE.search(token):
        marks.append(_MARK_DIGIT)
    if "?" in token:
        marks.append(_MARK_QUESTION)
    return marks


_words_of = itemgetter(0)
_ids_of = itemgetter(1)
_keys_of = itemgetter(2)
_head_of = itemgetter(3)
_followers_of = itemgetter(4)


def _word_grams(words: list[str], sizes: tuple[int, ...]) -> Iterator[_TermKey]:
    """Word n-grams as lookup keys: the word itself for n = 1, a tuple of n words otherwise."""
    for n in sizes:
        if n == 1:
            yield from words
        elif n == 2:
            yield from zip(words, words[1:], strict=False)
        else:
            yield from zip(*(words[i:] for i in range(n)), strict=False)


def _ngram_keys(words: list[str], sizes: tuple[int, ...]) -> Iterator[Iterator[tuple[str, ...]]]:
    """Per size n (> 1), an iterator over the word n-grams of ``words`` as tuples: the word index's keys."""
    for n in sizes:
        if n == 2:
            yield zip(words, words[1:], strict=False)
        else:
            yield zip(*(words[i:] for i in range(n)), strict=False)


def _picker(ids: Collection[int]) -> Callable[[Sequence[float]], Any]:
    """``values -> tuple of values[j] for j in ids`` (in ``ids``' iteration order), for any number of ids."""
    if len(ids) > 1:
        return itemgetter(*ids)  # one C call per list of weights; it returns a bare value for a single id
    ids = tuple(ids)
    return lambda values: tuple(map(values.__getitem__, ids))


def _char_terms(token: str, sizes: tuple[int, ...]) -> Iterator[str]:
    padded = " " + token + " "
    for n in sizes:
        for start in range(len(padded) - n + 1):
            yield padded[start : start + n]


def _term_text(key: _TermKey) -> str:
    return key if isinstance(key, str) else " ".join(key)


def _term_key(term: str) -> _TermKey:
    return tuple(term.split(" ")) if " " in term else term


class TextFeaturizer:
    """TF-IDF over word and character n-grams plus a few dense features; the one featurizer of routeeval.

    * words: lowercased tokens of ``(?u)\\b\\w\\w+\\b``; n-grams in ``word_ngrams``, stored as words joined by
      a space;
    * characters: ``char_wb``-style n-grams (sizes ``char_ngrams``) of each whitespace token padded with a
      space each side. With ``char_scope="oov"`` (the default) only tokens holding no in-vocabulary word
      get them: typos, codes and rare words, where word features say nothing. This keeps a query's
      feature count, and so the runtime's cost, near its word count; ``"all"`` gives every token;
    * each block keeps terms seen in at least ``min_df`` documents (a count, or a share when < 1) and at
      most ``max_df`` (a share), the ``max_*_features`` most frequent by document frequency;
    * weight = tf x idf, with smooth idf = ln((1 + n) / (1 + df)) + 1 and tf = 1 for a present term
      (``tf="binary"``, the default: cheapest at runtime, and queries rarely repeat a term),
      1 + ln(count) (``"sublinear"``) or the count (``"raw"``); the word and character terms together
      are l2-normalised, so the TF-IDF part of a vector has unit norm;
    * dense features after the TF-IDF block (not normalised): ln(1 + characters) / 10,
      min(user turns, 10) / 10, and 0/1 flags for code, digits and a question mark;
    * all of it from the first ``prefix_chars`` characters of the text (the characters of the length
      feature too), when fitting and transforming alike: a longer text is featurized as its prefix, so
      its cost is bounded and offline and runtime features stay equal.

    Word n-grams run from 1 to :data:`MAX_WORD_NGRAM` words, character n-grams from 1 to
    :data:`MAX_CHAR_NGRAM` characters, ``prefix_chars`` from 1 to :data:`MAX_PREFIX_CHARS`; ValueError
    otherwise.

    Feature ids: word terms ``[0, n_word)``, character terms ``[n_word, n_tfidf)``, dense features
    ``[n_tfidf, n_features)``.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] | None = (1, 2),
        char_ngrams: tuple[int, int] | None = (3, 4),
        char_scope: str = "oov",
        min_df: float = 2,
        max_df: float = 1.0,
        max_word_features: int | None = 20_000,
        max_char_features: int | None = 20_000,
        tf: str = "binary",
        dense: bool = True,
        prefix_chars: int = PREFIX_CHARS,
    ) -> None:
        if char_scope not in ("oov", "all"):
            raise ValueError(f"char_scope is {char_scope!r}; choose from: oov, all")
        if tf not in TF_MODES:
            raise ValueError(f"tf is {tf!r}; choose from: {', '.join(TF_MODES)}")
        if not _is_whole(prefix_chars) or not 1 <= prefix_chars <= MAX_PREFIX_CHARS:
            raise ValueError(
                f"prefix_chars is {prefix_chars!r:.60}; give a whole number of characters from 1 to {MAX_PREFIX_CHARS}"
            )
        self.word_ngrams = _ngram_range("word_ngrams", word_ngrams, MAX_WORD_NGRAM)
        self.char_ngrams = _ngram_range("char_ngrams", char_ngrams, MAX_CHAR_NGRAM)
        self.char_scope = char_scope
        self.min_df = min_df
        self.max_df = max_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.tf = tf
        self.dense = dense
        self.prefix_chars = prefix_chars
        self.word_vocabulary_: list[str] = []
        self.char_vocabulary_: list[str] = []
        self.idf_: list[float] = []
        self.n_docs_ = 0
        self._prepare()

    @property
    def n_word(self) -> int:
        return len(self.word_vocabulary_)

    @property
    def n_tfidf(self) -> int:
        return len(self.word_vocabulary_) + len(self.char_vocabulary_)

    @property
    def n_features(self) -> int:
        return self.n_tfidf + (len(DENSE_FEATURES) if self.dense else 0)

    # -- fitting (offline) ---------------------------------------------------------------------
    def fit(self, queries: Iterable[Any]) -> TextFeaturizer:
        """Learn the vocabularies and idf from ``queries`` (strings or chat-message lists)."""
        word_sizes = _sizes(self.word_ngrams)
        char_sizes = _sizes(self.char_ngrams)
        token_words: dict[str, tuple[str, ...]] = {}
        docs = []
        word_df: Counter[_TermKey] = Counter()
        for query in queries:
            text, _ = query_text(query)
            tokens = text[: self.prefix_chars].lower().split()
            for token in tokens:
                if token not in token_words:
                    token_words[token] = tuple(_WORD_RE.findall(token))
            docs.append(tokens)
            if word_sizes:
                words = list(chain.from_iterable(token_words[t] for t in tokens))
                word_df.update(set(_word_grams(words, word_sizes)))
        n_docs = len(docs)
        word_vocabulary = self._select(word_df, n_docs, self.max_word_features)
        unigrams = {key for key in word_vocabulary if isinstance(key, str)}
        char_df: Counter[str] = Counter()
        if char_sizes:
            for tokens in docs:
                if self.char_scope == "oov":
                    tokens = [t for t in tokens if not any(w in unigrams for w in token_words[t])]
                char_df.update(set(chain.from_iterable(_char_terms(t, char_sizes) for t in tokens)))
        char_vocabulary = self._select(char_df, n_docs, self.max_char_features)
        self.n_docs_ = n_docs
        self.word_vocabulary_ = [_term_text(key) for key in word_vocabulary]
        self.char_vocabulary_ = list(char_vocabulary)
        self.idf_ = [
            math.log((1 + n_docs) / (1 + df)) + 1.0
            for df in chain((word_df[k] for k in word_vocabulary), (char_df[t] for t in char_vocabulary))
        ]
        self._prepare()
        return self

    def _select(self, df: Counter[_Key], n_docs: int, max_features: int | None) -> list[_Key]:
        low = self.min_df if self.min_df >= 1 else math.ceil(self.min_df * n_docs)
        high = self.max_df * n_docs
        kept = [(key, _term_text(key), count) for key, count in df.items() if low <= count <= high]
        if max_features is not None and len(kept) > max_features:
            kept.sort(key=lambda item: (-item[2], item[1]))
            kept = kept[:max_features]
        kept.sort(key=lambda item: item[1])
        return [key for key, _, _ in kept]

    def _prepare(self) -> None:
        n_word = len(self.word_vocabulary_)
        self._word_index: dict[str | tuple[str, ...], int] = {}  # a word, or a tuple of n words, -> its id
        self._unigram_index: dict[str, int] = {}
        self._bigrams_by_first: dict[str, dict[str, int]] = {}  # {first word: {second word: bigram id}}
        for j, term in enumerate(self.word_vocabulary_):
            if " " not in term:
                self._word_index[term] = self._unigram_index[term] = j
                continue
            key = _term_key(term)
            self._word_index[key] = j
            if len(key) == 2:
                self._bigrams_by_first.setdefault(key[0], {})[key[1]] = j
        self._char_index = {term: n_word + j for j, term in enumerate(self.char_vocabulary_)}
        self._ngram_sizes = tuple(n for n in _sizes(self.word_ngrams) if n > 1) if self._word_index else ()
        self._tokens = _TokenCache(self)
        self._tf = [0.0]
        self._idf_squared = [v * v for v in self.idf_]

    # -- transforming (offline and runtime) ----------------------------------------------------
    def transform_one(self, query: Any) -> dict[int, float]:
        """Sparse feature vector of one query as ``{feature id: value}``; ValueError for an odd query."""
        ids, values = self.vector(*query_text(query))
        return dict(zip(ids, values, strict=True))

    def transform_many(self, queries: Iterable[Any]) -> list[dict[int, float]]:
        """``transform_one`` of each query (the numbers are the same, by construction)."""
        return [self.transform_one(query) for query in queries]

    def vector(self, text: str, turns: int = 1, dense: bool = True) -> tuple[list[int], list[float]]:
        """(feature ids, values) of ``text``: the TF-IDF terms, then the non-zero dense features when ``dense``."""
        text = text[: self.prefix_chars]
        entries = self._entries(text)
        present, marks = self._scan(entries)
        ids, raw, scale = self._weigh(entries, present)
        values = list(map(mul, raw, repeat(scale, len(raw))))
        if dense and self.dense:
            base = self.n_tfidf
            for offset, value in enumerate(self._dense_values(text, turns, marks)):
                if value:
                    ids.append(base + offset)
                    values.append(value)
        return ids, values

    def terms(self, text: str) -> list[int]:
        """Ids of the in-vocabulary terms of ``text``, once per occurrence."""
        return self._terms(self._entries(text[: self.prefix_chars]))

    def tfidf(self, text: str) -> tuple[list[int], list[float], float]:
        """(term ids, tf x idf before normalising, l2 scale): the vector's TF-IDF part is ``raw x scale``."""
        entries = self._entries(text[: self.prefix_chars])
        return self._weigh(entries, self._scan(entries)[0])

    def binary_scale(self, present: Iterable[int]) -> float:
        """1 / l2 norm of the binary-tf vector holding the term ids in ``present``."""
        return 1.0 / math.sqrt(sum(map(self._idf_squared.__getitem__, present)))

    def dense_values(self, text: str, turns: int) -> list[float]:
        """The dense features in ``DENSE_FEATURES`` order (zeros included)."""
        text = text[: self.prefix_chars]
        return self._dense_values(text, turns, self._scan(self._entries(text), ngrams=False)[1])

    # The methods above cut the text to its prefix and work from its token entries, so that a caller
    # needing several of them (``vector``, the runtime router) splits the text and looks its tokens up
    # once. The methods below take the prefix, never the whole text.
    def _entries(self, text: str) -> list[_Entry]:
        """The token cache's entry of each whitespace token of ``text``."""
        return list(map(self._tokens.__getitem__, text.split()))

    def _terms(self, entries: list[_Entry]) -> list[int]:
        found = list(chain.from_iterable(map(_ids_of, entries)))
        if self._ngram_sizes:
            get = self._word_index.get
            for keys in _ngram_keys(list(chain.from_iterable(map(_words_of, entries))), self._ngram_sizes):
                found += [j for j in map(get, keys) if j is not None]
        return found

    def _scan(self, entries: list[_Entry], ngrams: bool = True) -> tuple[set[int], set[int]]:
        """(distinct term ids, dense-feature marks) of a text's token entries; without word n-grams
        unless ``ngrams``."""
        present = set().union(*map(_keys_of, entries))
        marks = present & _MARKS
        present -= marks
        if not (ngrams and self._ngram_sizes):
            return present, marks
        if self._ngram_sizes == (2,):
            # the bigrams inside tokens are in their keys; across tokens, each word-holding token's last
            # word pairs with the next one's first word: a lookup among the bigrams the last word starts
            linked = list(filter(_head_of, entries)) if _MARK_WORDLESS in marks else entries
            present.update(map(dict.get, map(_followers_of, linked), map(_head_of, linked[1:]), repeat(_NO_TERM)))
        else:
            get = self._word_index.get
            for keys in _ngram_keys(list(chain.from_iterable(map(_words_of, entries))), self._ngram_sizes):
                present.update(map(get, keys, repeat(_NO_TERM)))
        present.discard(_NO_TERM)  # (not None: its hash is its address, and would make the set's order vary)
        return present, marks

    def _weigh(self, entries: list[_Entry], present: set[int]) -> tuple[list[int], list[float], float]:
        """``tfidf`` from a text's token entries and its distinct term ids (``_scan``)."""
        if self.tf == "binary":
            if not present:
                return [], [], 0.0
            return list(present), list(map(self.idf_.__getitem__, present)), self.binary_scale(present)
        found = self._terms(entries)
        if not found:
            return [], [], 0.0
        counts: dict[int, int] = {}
        _count_elements(counts, found)
        ids = list(counts)
        table = self._tf_table(len(found))
        raw = list(map(mul, map(table.__getitem__, counts.values()), map(self.idf_.__getitem__, ids)))
        return ids, raw, 1.0 / math.sqrt(sum(map(mul, raw, raw)))

    def _tf_table(self, largest: int) -> list[float]:
        table = self._tf
        while len(table) <= largest:
            count = len(table)
            table.append(1.0 + math.log(count) if self.tf == "sublinear" else float(count))
        return table

    def _dense_values(self, text: str, turns: int, marks: set[int]) -> list[float]:
        """``dense_values`` from the text's dense-feature marks (``_scan``)."""
        code = _MARK_CODE in marks or (_MARK_MAYBE_CODE in marks and any(map(text.__contains__, _SPACED_CODE_MARKERS)))
        return [
            math.log1p(len(text)) / 10.0,
            min(turns, 10) / 10.0,
            1.0 if code else 0.0,
            1.0 if _MARK_DIGIT in marks else 0.0,
            1.0 if _MARK_QUESTION in marks else 0.0,
        ]

    # -- plain numbers -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "word_ngrams": list(self.word_ngrams) if self.word_ngrams else None,
            "char_ngrams": list(self.char_ngrams) if self.char_ngrams else None,
            "char_scope": self.char_scope,
            "min_df": self.min_df,
            "max_df": self.max_df,
            "max_word_features": self.max_word_features,
            "max_char_features": self.max_char_features,
            "tf": self.tf,
            "dense": self.dense,
            "prefix_chars": self.prefix_chars,
            "n_docs": self.n_docs_,
            "word_vocabulary": list(self.word_vocabulary_),
            "char_vocabulary": list(self.char_vocabulary_),
            "idf": list(self.idf_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextFeaturizer:
        featurizer = cls(
            word_ngrams=data["word_ngrams"],
            char_ngrams=data["char_ngrams"],
            char_scope=data["char_scope"],
            min_df=data["min_df"],
            max_df=data["max_df"],
            max_word_features=data["max_word_features"],
            max_char_features=data["max_char_features"],
            tf=data["tf"],
            dense=bool(data["dense"]),
            prefix_chars=data.get("prefix_chars", PREFIX_CHARS),  # policies written before it read 8,000
        )
        featurizer.n_docs_ = int(data["n_docs"])
        featurizer.word_vocabulary_ = [str(t) for t in data["word_vocabulary"]]
        featurizer.char_vocabulary_ = [str(t) for t in data["char_vocabulary"]]
        featurizer.idf_ = [float(v) for v in data["idf"]]
        if len(featurizer.idf_) != featurizer.n_tfidf:
            raise ValueError(f"idf has {len(featurizer.idf_)} values for {featurizer.n_tfidf} terms")
        featurizer._prepare()
        return featurizer


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ngram_range(name: str, value: Any, largest: int) -> tuple[int, int] | None:
    """``value`` as (low, high), None for none; ValueError unless whole numbers with 1 <= low <= high <= largest."""
    if not value:
        return None
    bounds = tuple(value) if isinstance(value, list | tuple) else ()
    if len(bounds) != 2 or not all(map(_is_whole, bounds)) or not 1 <= bounds[0] <= bounds[1] <= largest:
        raise ValueError(f"{name} is {value!r:.60}; give [low, high] with 1 <= low <= high <= {largest}")
    return bounds


def _sizes(ngrams: Sequence[int] | None) -> tuple[int, ...]:
    if not ngrams:
        return ()
    low, high = int(ngrams[0]), int(ngrams[1])
    return tuple(range(low, high + 1))


@dataclass(slots=True)
class Decision:
    """One routing decision. ``score`` is the P(correct), similarity vote or confidence behind it, if any."""

    tier: str
    model: str
    score: float | None
    reason: str
    kind: str
    fallback: bool = False
    ceiling_reached: bool = False
    escalations: int = 0
    tier_scores: tuple[float, ...] | None = None


# -- static rules (shared with routeeval.routers.static) ----------------------------------------
@dataclass(frozen=True)
class StaticRule:
    """One compiled rule. ``min_chars``/``max_chars`` compare the whole text's length; keywords and the
    regex read its first :data:`PREFIX_CHARS` characters (see :func:`match_rules`)."""

    tier: int
    regex: re.Pattern[str] | None
    keywords: tuple[str, ...]
    min_chars: int | None
    max_chars: int | None
    metadata: tuple[tuple[str, Any], ...]

    def matches(self, text: str, head: str, low: str, metadata: dict[str, Any] | None) -> bool:
        """Whether every condition holds for ``text``, given its prefix ``head`` and ``head.lower()``."""
        if self.min_chars is not None and len(text) < self.min_chars:
            return False
        if self.max_chars is not None and len(text) > self.max_chars:
            return False
        if self.keywords and not any(keyword in low for keyword in self.keywords):
            return False
        if self.regex is not None and self.regex.search(head) is None:
            return False
        if self.metadata:
            if not isinstance(metadata, dict):
                return False
            return all(key in metadata and metadata[key] == value for key, value in self.metadata)
        return True


RULE_KEYS = ("tier", "regex", "keywords", "min_chars", "max_chars", "metadata", "name")


def compile_rules(rules: list[dict[str, Any]], tier_names: list[str]) -> list[StaticRule]:
    """Static rules as written (first match wins; every condition in a rule must hold). ValueError names the rule.

    A regex is compiled as given and run on the first :data:`PREFIX_CHARS` characters of each query. That
    bounds a well-behaved pattern's work, not a catastrophic one's: nested or overlapping quantifiers
    (``(a+)+$``, ``(\\w+\\s?)*x``) backtrack exponentially on a short text and ``re`` cannot be stopped, so
    keep them out of rules.
    """
    compiled = []
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict):
            raise ValueError(f"static rule #{number} must be an object, got {type(rule).__name__}")
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise ValueError(
                f"static rule #{number} has unknown key '{unknown[0]}'; valid keys: {', '.join(RULE_KEYS)}"
            )
        if rule.get("tier") not in tier_names:
            raise ValueError(
                f"static rule #{number} has tier {rule.get('tier')!r}; choose from: {', '.join(tier_names)}"
            )
        conditions = [key for key in ("regex", "keywords", "min_chars", "max_chars", "metadata") if key in rule]
        if not conditions:
            raise ValueError(f"static rule #{number} has no condition; give regex, keywords, min/max_chars or metadata")
        try:
            regex = re.compile(rule["regex"]) if rule.get("regex") is not None else None
        except (re.error, TypeError) as exc:
            raise ValueError(f"static rule #{number} has a bad regex ({exc})") from None
        keywords = rule.get("keywords") or []
        if isinstance(keywords, str) or not all(isinstance(k, str) and k for k in keywords):
            raise ValueError(f"static rule #{number}: 'keywords' must be a list of non-empty strings")
        for key in ("min_chars", "max_chars"):
            value = rule.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"static rule #{number}: '{key}' must be a non-negative integer")
        metadata = rule.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError(f"static rule #{number}: 'metadata' must be an object of key: value to match")
        compiled.append(
            StaticRule(
                tier=tier_names.index(rule["tier"]),
                regex=regex,
                keywords=tuple(k.lower() for k in keywords),
                min_chars=rule.get("min_chars"),
                max_chars=rule.get("max_chars"),
                metadata=tuple(sorted(metadata.items())),
            )
        )
    return compiled


def match_rules(rules: list[StaticRule], text: str, metadata: dict[str, Any] | None) -> int:
    """Index of the first matching rule, or -1. Keywords and regexes read the first :data:`PREFIX_CHARS`
    characters of ``text``; ``min_chars`` and ``max_chars`` its whole length."""
    head = text[:PREFIX_CHARS]
    low = head.lower()
    for number, rule in enumerate(rules):
        if rule.matches(text, head, low, metadata):
            return number
    return -1


def parse_llm_answer(answer: Any, mapping: dict[str, str]) -> str | None:
    """The tier the router model's answer names: the first word of it found in ``mapping`` (case-insensitive)."""
    if not isinstance(answer, str):
        return None
    for word in _ANSWER_WORD_RE.findall(answer.lower()):
        word = word.strip(".-")
        if word in mapping:
            return mapping[word]
    return None


def fill_llm_prompt(template: str, text: str) -> str:
    return template.replace("{query}", text)


def logprob_confidence(logprobs: Any) -> float | None:
    """exp(mean token log-probability), quantized: a float is taken as the mean, a list as token logprobs."""
    if isinstance(logprobs, bool):
        return None
    if isinstance(logprobs, int | float):
        mean = float(logprobs)
    elif isinstance(logprobs, list | tuple) and logprobs:
        try:
            mean = math.fsum(float(v) for v in logprobs) / len(logprobs)
        except (TypeError, ValueError):
            return None
    else:
        return None
    if math.isnan(mean):
        return None
    return quantize(math.exp(min(mean, 0.0)))


# -- the router ------------------------------------------------------------------------------------
class _Loader:
    """What every policy kind shares, read and checked: where the policy came from, its tiers, knob and
    guards. Its checks raise :class:`PolicyError` naming the field; each kind's loading uses them too."""

    def __init__(self, policy: dict[str, Any], where: str) -> None:
        self.where = where
        tiers = policy["tiers"]
        if not isinstance(tiers, list) or not tiers:
            raise PolicyError(f"{where}: 'tiers' must be a non-empty list of {{name, model, ...}}.")
        self.tier_names = [str(t["name"]) for t in tiers]
        self.models = [str(t["model"]) for t in tiers]
        if len(set(self.tier_names)) != len(self.tier_names):
            raise PolicyError(f"{where}: tier names must be unique.")
        self.knob: dict[str, Any] = dict(policy.get("knob") or {})
        guards = policy.get("guards") or {}
        self.fallback = self.tier(guards.get("fallback_tier", self.tier_names[-1]), "guards.fallback_tier")
        ceiling = guards.get("daily_cost_ceiling_usd")
        self.ceiling_usd = None if ceiling is None else self.number(ceiling, "guards.daily_cost_ceiling_usd", 0)
        self.max_escalations = self.whole(
            guards.get("max_escalations", len(self.tier_names) - 1), "guards.max_escalations", 0
        )
        on_ceiling = guards.get("on_ceiling", "cheapest")
        if on_ceiling not in ON_CEILING:
            raise PolicyError(f"{where}: guards.on_ceiling is {on_ceiling!r}; choose from: cheapest, fallback.")
        self.ceiling_tier = 0 if on_ceiling == "cheapest" else self.fallback

    def error(self, problem: str) -> PolicyError:
        return PolicyError(f"{self.where}: {problem}.")

    def tier(self, name: Any, what: str) -> int:
        """The index of the tier ``name``; PolicyError naming ``what`` unless the policy has it."""
        if name not in self.tier_names:
            raise self.error(f"{what} is {name!r}; the policy's tiers are: {', '.join(self.tier_names)}")
        return self.tier_names.index(name)

    def number(self, value: Any, what: str, low: float | None = None) -> float:
        """``value`` as a float; PolicyError naming ``what`` unless it is a finite number (``>= low`` when given)."""
        number = math.nan
        if isinstance(value, int | float) and not isinstance(value, bool):
            with contextlib.suppress(OverflowError):  # an integer beyond any float stays NaN
                number = float(value)
        if not math.isfinite(number) or (low is not None and number < low):
            expected = "a finite number" if low is None else f"a finite number, {low:g} or more"
            raise self.error(f"{what} is {value!r:.60}; it must be {expected}")
        return number

    def whole(self, value: Any, what: str, low: int) -> int:
        """``value``; PolicyError naming ``what`` unless it is a whole number ``>= low``."""
        if not _is_whole(value) or value < low:
            raise self.error(f"{what} is {value!r:.60}; it must be a whole number, {low} or more")
        return int(value)

    def per_tier(self, values: Any, what: str) -> list[Any]:
        """``values``; PolicyError naming ``what`` unless it is a list of one entry per tier."""
        if not isinstance(values, list) or len(values) != len(self.tier_names):
            raise self.error(f"{what} must have one entry per tier ({len(self.tier_names)})")
        return values

    def featurizer(self, data: Any, what: str) -> TextFeaturizer:
        """The featurizer in ``data``; PolicyError naming ``what`` for a bad field (n-gram range, prefix_chars)."""
        try:
            return TextFeaturizer.from_dict(data)
        except KeyError as exc:
            raise self.error(f"{what} has no key {exc}") from None
        except (TypeError, ValueError) as exc:
            raise self.error(f"{what}: {exc}") from None


class _Policy:
    """One policy kind, loaded from the policy's ``router`` section: its own state and its ``route``.

    ``route`` gets a query already read (non-empty text and its number of user turns), may raise on
    anything unexpected (the :class:`Router` turns that into its fallback tier), and returns the decision.
    """

    kind: ClassVar[str]
    featurizer: TextFeaturizer | None = None  # the featurizer of queries, for the kinds that have one

    def __init__(self, loader: _Loader, section: dict[str, Any]) -> None:
        self.tier_names = loader.tier_names
        self.models = loader.models

    def route(self, text: str, turns: int, metadata: dict[str, Any] | None, llm_answer: str | None) -> Decision:
        raise NotImplementedError

    def _decision(self, tier: int, reason: str) -> Decision:
        return Decision(self.tier_names[tier], self.models[tier], None, reason, self.kind)


class _StaticPolicy(_Policy):
    """Rules in order (the first match wins), then the length cut-off, then the default tier."""

    kind = "static"

    def __init__(self, loader: _Loader, section: dict[str, Any]) -> None:
        super().__init__(loader, section)
        try:
            self.rules = compile_rules(section.get("rules") or [], self.tier_names)
        except ValueError as exc:
            raise loader.error(str(exc)) from None
        self.default_tier = loader.tier(section.get("default_tier", self.tier_names[0]), "router.default_tier")
        self.long_tier = loader.tier(section.get("long_tier", self.tier_names[-1]), "router.long_tier")
        cutoff = loader.knob.get("length_cutoff_chars")
        self.cutoff = None if cutoff is None else loader.whole(cutoff, "knob.length_cutoff_chars", 0)

    def route(self, text: str, turns: int, metadata: dict[str, Any] | None, llm_answer: str | None) -> Decision:
        number = match_rules(self.rules, text, metadata)
        if number >= 0:
            return self._decision(self.rules[number].tier, f"static rule #{number + 1}")
        if self.cutoff is not None and len(text) > self.cutoff:
            return self._decision(self.long_tier, f"longer than {self.cutoff} characters")
        return self._decision(self.default_tier, "default tier")


class _ScoredPolicy(_Policy):
    """A score per tier (``scores``), then the knob's rule picks the tier: the threshold rule (the first tier
    whose score reaches ``threshold``, else the last) or the utility rule (score - ``lam`` x expected cost)."""

    featurizer: TextFeaturizer

    def __init__(self, loader: _Loader, section: dict[str, Any]) -> None:
        super().__init__(loader, section)
        self.featurizer = loader.featurizer(section["featurizer"], "router.featurizer")
        rule = loader.knob.get("rule", "threshold")
        if rule not in RULES:
            raise loader.error(f"knob.rule is {rule!r}; choose from: threshold, utility")
        self.rule: str = rule
        self.threshold = loader.number(loader.knob["threshold"], "knob.threshold") if rule == "threshold" else None
        self.lam = loader.number(loader.knob["lambda"], "knob.lambda") if rule == "utility" else None
        # the decision reasons' fixed parts, formatted once
        if self.threshold is not None:
            self._reached_reasons = [f" >= {self.threshold:g} on {name}" for name in self.tier_names]
            self._unreached_reason = f"no tier reaches P(correct) {self.threshold:g}; last tier"
        else:
            self._utility_reason = f"best P(correct) - {self.lam:g} x cost"
        costs = loader.per_tier(section["expected_cost_usd"], "router.expected_cost_usd")
        self.costs = [loader.number(c, "each of router.expected_cost_usd", 0) for c in costs]

    def scores(self, text: str, turns: int) -> list[float]:
        raise NotImplementedError

    def route(self, text: str, turns: int, metadata: dict[str, Any] | None, llm_answer: str | None) -> Decision:
        scores = self.scores(text, turns)
        tier = choose_tier(scores, self.rule, self.threshold, self.lam, self.costs)
        score = scores[tier]
        if self.threshold is None:
            reason = self._utility_reason
        elif score >= self.threshold:
            reason = f"P(correct) {score:.3f}{self._reached_reasons[tier]}"
        else:
            reason = self._unreached_reason
        return Decision(self.tier_names[tier], self.models[tier], score, reason, self.kind, tier_scores=tuple(scores))


class _ClassifierPolicy(_ScoredPolicy):
    """A logistic model (or a constant) per tier over the featurizer's features: P(correct) per tier."""

    kind = "classifier"

    def __init__(self, loader: _Loader, section: dict[str, Any]) -> None:
        super().__init__(loader, section)
        featurizer = self.featurizer
        base = featurizer.n_tfidf
        # per tier: its constant P, or 0.0 where a logistic model gives the score
        self.constant_scores: list[float] = []
        # per logistic model: (tier, term weights, dense-feature weights, intercept)
        self.logistic_models: list[tuple[int, list[float], list[float], float]] = []
        for tier, entry in enumerate(loader.per_tier(section["models"], "router.models")):
            if entry.get("constant") is not None:
                self.constant_scores.append(float(entry["constant"]))
                continue
            coef = [float(c) for c in entry["coef"]]
            if len(coef) != featurizer.n_features:
                raise loader.error(f"a model has {len(coef)} coefficients for {featurizer.n_features} features")
            terms = coef[:base]
            if featurizer.tf == "binary":  # a present term's value is idf x scale: fold idf into the weight
                terms = list(map(mul, featurizer.idf_, terms))
            self.constant_scores.append(0.0)
            self.logistic_models.append((tier, terms, coef[base:], float(entry["intercept"])))

    def scores(self, text: str, turns: int) -> list[float]:
        featurizer = self.featurizer
        text = text[: featurizer.prefix_chars]  # as TextFeaturizer.vector cuts it
        binary = featurizer.tf == "binary"
        entries = featurizer._entries(text)
        present, marks = featurizer._scan(entries, ngrams=binary)
        dense = featurizer._dense_values(text, turns, marks) if featurizer.dense else ()
        raw: list[float] = []
        if binary:  # a present term's tf is 1, and its weight already holds idf (see loading)
            pick = _picker(present)  # one C call per model picks the present terms' weights
            scale = 1.0 / math.sqrt(sum(pick(featurizer._idf_squared))) if present else 0.0
        else:
            ids, raw, scale = featurizer._weigh(entries, present)
            pick = _picker(ids)
        scores = list(self.constant_scores)
        for tier, terms, dense_weights, intercept in self.logistic_models:
            z = scale * (sum(pick(terms)) if binary else sum(map(mul, raw, pick(terms))))
            z += sum(map(mul, dense, dense_weights)) + intercept
            scores[tier] = quantize(sigmoid(z))
        return scores


class _KnnPolicy(_ScoredPolicy):
    """The k most similar fitted rows vote: the mean of their scores per tier (the prior where one is missing)."""

    kind = "knn"

    def __init__(self, loader: _Loader, section: dict[str, Any]) -> None:
        super().__init__(loader, section)
        self.k = int(section["n_neighbors"])
        if self.k < 1:
            raise loader.error(f"router.n_neighbors is {self.k}; it must be at least 1")
        self.prior: list[float] = []
        for tier, value in enumerate(loader.per_tier(section["prior"], "router.prior")):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise loader.error(
                    f"router.prior has {value!r} for tier '{self.tier_names[tier]}'; "
                    "each prior must be a score from 0 to 1"
                )
            self.prior.append(float(value))
        # docs x tiers: each row's score per tier (0/1, or graded in [0, 1]), None where the call failed
        self.correct = [_knn_row(loader, row, number) for number, row in enumerate(section["correct"], start=1)]
        docs = section["docs"]
        if len(docs) != len(self.correct):
            raise loader.error("router.docs and router.correct differ in length")
        n_terms = self.featurizer.n_tfidf
        postings: dict[int, tuple[list[int], list[float]]] = {}
        for doc, (ids, values) in enumerate(docs):
            for j, v in zip(ids, values, strict=True):
                entry = postings.get(j)
                if entry is None:
                    if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < n_terms:
                        raise loader.error(
                            f"row {doc + 1} of router.docs has feature id {j!r}; "
                            f"the featurizer's TF-IDF terms are 0 to {n_terms - 1}"
                        )
                    postings[j] = entry = ([], [])
                entry[0].append(doc)
                entry[1].append(float(v))
        self.n_docs = len(docs)
        # the inverted index: per term id, the (row, value) pairs of the rows holding it (none for some terms)
        self.postings: list[tuple[tuple[int, float], ...]] = [()] * n_terms
        for j, (rows, values) in postings.items():
            self.postings[j] = tuple(zip(rows, values, strict=True))
        # a query of more terms than this likely touches twice as many (row, term) pairs as there are rows, and its
        # similarities go to a list of every row (see shared): twice the rows over the expected length of a
        # query term's postings (their length weighted by itself: a term many rows hold is more likely in a query)
        lengths = [len(rows) for rows, _ in postings.values()]
        self._dense_terms = 2 * self.n_docs * sum(lengths) / max(1, sum(length * length for length in lengths))
        # no negative weight (the featurizer never gives one): no similarity is negative, and the rows that share
        # no term with a query, at 0.0, need not be looked at (see top)
        self._unsigned = min(self.featurizer.idf_, default=0.0) >= 0.0 and all(
            min(values) >= 0.0 for _, values in postings.values()
        )

    def scores(self, text: str, turns: int) -> list[float]:
        return knn_vote(list(map(self.correct.__getitem__, self.neighbours(text, turns))), self.prior, self.k)

    def neighbours(self, text: str, turns: int) -> list[int]:
        """The k rows of highest quantized similarity (> 0) to the query, ties by row order."""
        if self._unsigned:
            return self.top(self.shared(text, turns))
        return self.nearest(self.similarities(text, turns))

    def similarities(self, text: str, turns: int) -> list[float]:
        """Cosine similarity of the query to each fitted row, through the inverted index."""
        shared = self.shared(text, turns)
        if isinstance(shared, list):
            return shared
        sims = [0.0] * self.n_docs
        for doc, sim in shared.items():
            sims[doc] = sim
        return sims

    def shared(self, text: str, turns: int) -> dict[int, float] | list[float]:
        """The similarity to the query of at least every row sharing a term with it (every other row's is 0.0):
        ``{row: similarity}``, or a list of every row's when the query's postings likely outnumber the rows (a
        long query), where indexing a list is the quicker. The dict keeps the work growing with the query's
        postings rather than the policy's rows. Both give the same numbers.

        Each row's similarity starts at 0.0 and adds the query's terms in increasing id, as the offline sparse
        product does: the same numbers, bit for bit.
        """
        featurizer = self.featurizer
        if featurizer.tf == "binary":  # as vector(): a present term's value is idf x the scale of the same set
            present = featurizer._scan(featurizer._entries(text[: featurizer.prefix_chars]))[0]
            if not present:
                return {}
            ids: list[int] = sorted(present)
            scale = featurizer.binary_scale(present)
            values: list[float] = list(map(mul, map(featurizer.idf_.__getitem__, ids), repeat(scale)))
        else:
            terms = sorted(zip(*featurizer.vector(text, turns, dense=False), strict=True))
            ids, values = [j for j, _ in terms], [v for _, v in terms]
        pairs = self.postings
        if len(ids) > self._dense_terms:
            sims = [0.0] * self.n_docs
            for j, v in zip(ids, values, strict=True):
                for doc, w in pairs[j]:
                    sims[doc] += v * w
            return sims
        shared: dict[int, float] = {}
        get = shared.get
        for j, v in zip(ids, values, strict=True):
            for doc, w in pairs[j]:
                shared[doc] = get(doc, 0.0) + v * w
        return shared

    def nearest(self, sims: list[float]) -> list[int]:
        """The k rows of highest quantized similarity (> 0), ties by row order; only the leaders are quantized."""
        if all(map(ge, sims, repeat(0.0))):
            return self.top(sims)
        k = self.k  # a policy with negative weights: every row counts, and the k-th largest may be negative
        floor = 0.0  # the k-th largest similarity, quantized
        if len(sims) > k:  # a sort in C is quicker for a few hundred rows, a heap for many
            floor = quantize(sorted(sims)[-k] if len(sims) <= _SORT_ROWS else heapq.nlargest(k, sims)[-1])
        # quantize is monotone: the rows whose quantized similarity reaches the k-th largest one's all have a
        # similarity above it minus one quantum
        if floor > 0.0:
            rows = compress(range(len(sims)), map(ge, sims, repeat(floor - 1.0 / QUANTUM)))
        else:
            rows = compress(range(len(sims)), sims)  # every row sharing a term
        ranked = sorted([(-quantize(sims[doc]), doc) for doc in rows])[:k]
        return [doc for negative, doc in ranked if negative < 0]

    def top(self, sims: dict[int, float] | list[float]) -> list[int]:
        """:meth:`nearest` when no similarity is negative, from :meth:`shared`'s similarities (a dict or a list of
        every row): the rows left out are 0.0, at or below each of them, so the k-th largest similarity is among
        them, or 0.0."""
        k = self.k
        every: Callable[[], Iterable[tuple[int, float]]] = (
            sims.items if isinstance(sims, dict) else partial(enumerate, sims)
        )
        near = every()
        low = 0.0  # with k rows or fewer, every one
        if len(sims) > k:
            # a first cut at the mean similarity (any cut would do: it only saves work) usually leaves k or more
            # rows, far fewer than all: the k-th largest is then among them
            cut = sum(sims.values() if isinstance(sims, dict) else sims) / len(sims)
            near = [(doc, sim) for doc, sim in near if sim >= cut]
            if len(near) < k:
                near, cut = list(every()), 0.0
            values = [sim for _, sim in near]
            if len(values) <= _SORT_ROWS:  # a sort in C is quicker for a few hundred rows, a heap for many
                values.sort()
                kth = values[-k]
            else:
                kth = heapq.nlargest(k, values)[-1]
            # quantize is monotone: the rows whose quantized similarity reaches the k-th largest one's all have a
            # similarity above it minus one quantum (below the cut too, when that reaches below it)
            low = quantize(kth) - 1.0 / QUANTUM
            if low < cut:
                near = every()
        # -quantize(similarity), written out: a function call per row costs as much as the rest
        ranked = sorted([(-(_floor(sim * QUANTUM + 0.5) / QUANTUM), doc) for doc, sim in near if sim >= low])
        return [doc for negative, doc in ranked[:k] if negative < 0]


def _knn_row(loader: _Loader, row: Any, number: int) -> tuple[float | None, ...]:
    values = loader.per_tier(row, "each row of router.correct")
    for tier, value in enumerate(values):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1):
            raise loader.error(
                f"row {number} of router.correct has {value!r} for tier '{loader.tier_names[tier]}'; "
                "each score must be a number from 0 to 1, or null for a failed call"
            )
    return tuple(values)


@dataclass(frozen=True, slots=True)
class _Confidence:
    """Where a cascade tier's confidence in its answer comes from: ``logprob`` (the answer's token
    log-probabilities), ``constant`` (``value``) or ``verifier`` (a logistic model with ``coef`` and
    ``intercept`` over the query's and the answer's features)."""

    source: str
    value: float = 0.0
    coef: tuple[float, ...] = ()
    intercept: float = 0.0


class _CascadePolicy(_Policy):
    """Start with the first tier of ``order``; after each answer, :meth:`Router.should_escalate` moves on to
    the next while the confidence in the answer is below ``threshold``, at most ``cap`` times."""

    kind = "cascade"

    def __init__(self, loader: _Loader, section: dict[str, Any]) -> None:
        super().__init__(loader, section)
        self.order = [loader.tier(name, "router.order") for name in section["order"]]
        if not self.order:
            raise loader.error("router.order is empty")
        own_cap = loader.whole(section["max_escalations"], "router.max_escalations", 0)
        self.cap = min(own_cap, loader.max_escalations, len(self.order) - 1)  # escalations allowed
        self.threshold = loader.number(loader.knob["threshold"], "knob.threshold")
        queries = section.get("featurizer")
        self.featurizer = loader.featurizer(queries, "router.featurizer") if queries else None
        responses = section.get("response_featurizer")
        self.response_featurizer = loader.featurizer(responses, "router.response_featurizer") if responses else None
        self.confidence: list[_Confidence] = []  # per tier
        for entry in loader.per_tier(section["confidence"], "router.confidence"):
            source = entry["source"]
            if source == "verifier":
                if self.featurizer is None or self.response_featurizer is None:
                    raise loader.error("a verifier needs router.featurizer and router.response_featurizer")
                expected = self.featurizer.n_features + self.response_featurizer.n_features
                coef = tuple(float(c) for c in entry["coef"])
                if len(coef) != expected:
                    raise loader.error(f"a verifier has {len(coef)} coefficients for {expected} features")
                self.confidence.append(_Confidence("verifier", coef=coef, intercept=float(entry["intercept"])))
            elif source == "constant":
                self.confidence.append(_Confidence("constant", value=float(entry["value"])))
            elif source == "logprob":
                self.confidence.append(_Confidence("logprob"))
            else:
                raise loader.error(f"confidence source {source!r}; choose from: logprob, verifier, constant")

    def route(self, text: str, turns: int, metadata: dict[str, Any] | None, llm_answer: str | None) -> Decision:
        return self._decision(self.order[0], "cascade: start with the first tier")

    def step(self, tier: int) -> int | None:
        """How many escalations led to ``tier`` when the cascade may still escalate from it; None otherwise."""
        if tier not in self.order:
            return None
        step = self.order.index(tier)
        return step if step < self.cap else None

    def answer_confidence(self, tier: int, logprobs: Any, response: str | None, query: Any) -> tuple[float, str]:
        """``tier``'s confidence in its answer from the tier's source, and where it came from."""
        entry = self.confidence[tier]
        if entry.source == "constant":
            return entry.value, "constant confidence"
        if entry.source == "logprob":
            value = logprob_confidence(logprobs)
            return (0.0, "no logprobs: confidence") if value is None else (value, "logprob confidence")
        if not isinstance(response, str):
            return 0.0, "no response: confidence"
        return self.verifier_score(entry, response, query), "verifier confidence"

    def verifier_score(self, entry: _Confidence, response: str, query: Any) -> float:
        """The verifier's P(the answer is right) from the query's and the answer's features."""
        if self.featurizer is None or self.response_featurizer is None:  # loading checks it for a verifier
            raise ValueError("a verifier needs router.featurizer and router.response_featurizer")
        try:
            text, turns = query_text(query)
        except ValueError:
            text, turns = "", 1
        ids, values = self.featurizer.vector(text, turns)
        offset = self.featurizer.n_features
        response_ids, response_values = self.response_featurizer.vector(response, 1)
        coef = entry.coef
        z = sum(
            chain(
                map(mul, values, map(coef.__getitem__, ids)),
                map(mul, response_values, map(coef.__getitem__, (j + offset for j in response_ids))),
            )
        )
        return quantize(sigmoid(z + entry.intercept))


class _LLMPolicy(_Policy):
    """A router model reads the query and answers with a word that ``mapping`` turns into a tier; the caller
    asks it (:meth:`Router.llm_request`) and passes its answer to :meth:`Router.route`."""

    kind = "llm"

    def __init__(self, loader: _Loader, section: dict[str, Any]) -> None:
        super().__init__(loader, section)
        self.classifier_tier = loader.tier(section["classifier_tier"], "router.classifier_tier")
        self.default_tier = loader.tier(section["default_tier"], "router.default_tier")
        self.system_prompt = str(section["system"])
        self.prompt = str(section["prompt"])
        self.mapping: dict[str, str] = {}
        for answer, tier in section["mapping"].items():
            loader.tier(tier, f"router.mapping[{answer!r}]")
            self.mapping[str(answer).lower()] = tier

    def route(self, text: str, turns: int, metadata: dict[str, Any] | None, llm_answer: str | None) -> Decision:
        if llm_answer is None:
            return self._decision(self.default_tier, "llm router: no answer from the router model; default tier")
        tier = parse_llm_answer(llm_answer, self.mapping)
        if tier is None:
            return self._decision(self.default_tier, "llm router: answer not recognised; default tier")
        return self._decision(self.tier_names.index(tier), f"llm router answered {tier}")

    def request(self, text: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": fill_llm_prompt(self.prompt, text)},
        ]


_POLICIES: dict[str, type[_Policy]] = {
    policy.kind: policy for policy in (_CascadePolicy, _ClassifierPolicy, _KnnPolicy, _LLMPolicy, _StaticPolicy)
}


class Router:
    """A loaded policy. Build it with :meth:`Router.load`.

    ``kind``, ``tier_names`` and ``models`` (per tier, cheapest first), the guards (``fallback``, the tier
    index odd queries get; ``ceiling_usd``; ``ceiling_tier``, the tier index past the ceiling;
    ``max_escalations``), and for a cascade its ``cascade`` (order, escalation cap, threshold).
    """

    def __init__(self, policy: dict[str, Any], where: str = "policy", clock: Callable[[], float] = time.time) -> None:
        self.where = where
        self.policy = policy
        self.kind: str = policy["kind"]
        self._clock = clock
        self._spend_lock = threading.Lock()
        self._spend_by_day: dict[int, float] = {}
        try:
            loader = _Loader(policy, where)
            if self.kind not in _POLICIES:
                raise PolicyError(f"{where} has kind {self.kind!r}; this runtime knows: {', '.join(KINDS)}.")
            self._policy = _POLICIES[self.kind](loader, policy["router"])
        except PolicyError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
            problem = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise PolicyError(f"{where}: malformed {self.kind} policy ({problem}).") from None
        self.knob = loader.knob
        self.tier_names = loader.tier_names
        self.models = loader.models
        self.fallback = loader.fallback
        self.ceiling_usd = loader.ceiling_usd
        self.ceiling_tier = loader.ceiling_tier
        self.max_escalations = loader.max_escalations
        # what route() asks once the query is read: the policy kind's own route
        self._route_kind: Callable[[str, int, dict[str, Any] | None, str | None], Decision] = self._policy.route

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, path_or_dict: str | Path | dict[str, Any], clock: Callable[[], float] = time.time) -> Router:
        """Load a policy from a path or an already parsed dict; PolicyError when it cannot be trusted."""
        if isinstance(path_or_dict, dict):
            where = "policy"
            policy = path_or_dict
        else:
            where = str(path_or_dict)
            try:
                raw = Path(path_or_dict).read_text(encoding="utf-8")
            except FileNotFoundError:
                raise PolicyError(f"{where}: no such file.") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise PolicyError(f"{where}: cannot be read ({exc}).") from None
            try:
                policy = json.loads(raw)
            except RecursionError:
                raise PolicyError(_too_deep_message(where)) from None
            except ValueError as exc:  # JSONDecodeError, or an integer of more digits than Python converts
                raise PolicyError(f"{where}: not valid JSON ({exc}).") from None
            if not isinstance(policy, dict):
                raise PolicyError(f"{where}: expected a JSON object with 'schema': '{SCHEMA}'.")
        schema = policy.get("schema")
        if schema != SCHEMA:
            if schema is None:
                raise PolicyError(f"{where} has no 'schema' key; this runtime reads {SCHEMA}.")
            raise PolicyError(f"{where} has schema {schema}; this runtime reads {SCHEMA}.")
        checksum = policy.get("checksum")
        if not isinstance(checksum, str):
            raise PolicyError(f"{where} has no checksum; write policies with routeeval (write_policy).")
        if _nested_deeper(policy, MAX_POLICY_DEPTH):  # before anything walks it
            raise PolicyError(_too_deep_message(where))
        try:
            actual = policy_checksum(policy)
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"{where}: not plain JSON numbers and strings ({exc}).") from None
        if actual != checksum:
            raise PolicyError(
                f"{where} was modified after routeeval wrote it: its checksum is {actual}, "
                f"the file says {checksum}; export it again with routeeval optimize."
            )
        if policy.get("kind") not in KINDS:
            raise PolicyError(f"{where} has kind {policy.get('kind')!r}; this runtime knows: {', '.join(KINDS)}.")
        return cls(policy, where=where, clock=clock)

    @property
    def featurizer(self) -> TextFeaturizer | None:
        """The featurizer of queries (classifier, knn, and a cascade with a verifier); None for other kinds."""
        return self._policy.featurizer

    @property
    def cascade(self) -> _CascadePolicy | None:
        """A cascade's ``order`` (tier indexes), ``cap`` (escalations allowed), ``threshold`` and ``confidence``
        (per tier: its ``source``); None for other kinds."""
        return self._policy if isinstance(self._policy, _CascadePolicy) else None

    # -- routing -------------------------------------------------------------------------------
    def route(self, query: Any, metadata: dict[str, Any] | None = None, llm_answer: str | None = None) -> Decision:
        """Pick a tier for ``query`` (a string or chat messages). Never raises: odd queries get the fallback tier."""
        if self.ceiling_usd is not None and self.spent_today_usd() >= self.ceiling_usd:
            return self._decision(self.ceiling_tier, None, CEILING_REASON, ceiling_reached=True)
        try:
            text, turns = query_text(query)
        except ValueError as exc:
            return self._decision(self.fallback, None, f"fallback: {exc}", fallback=True)
        if not text or text.isspace():
            return self._decision(self.fallback, None, "fallback: the query is empty", fallback=True)
        try:
            return self._route_kind(text, turns, metadata, llm_answer)
        except Exception as exc:
            return self._decision(self.fallback, None, f"fallback: {type(exc).__name__}: {exc}", fallback=True)

    def _decision(
        self,
        tier: int,
        score: float | None,
        reason: str,
        *,
        fallback: bool = False,
        ceiling_reached: bool = False,
        escalations: int = 0,
    ) -> Decision:
        return Decision(
            self.tier_names[tier],
            self.models[tier],
            score,
            reason,
            self.kind,
            fallback=fallback,
            ceiling_reached=ceiling_reached,
            escalations=escalations,
        )

    # -- cascade -------------------------------------------------------------------------------
    def should_escalate(
        self,
        tier: str,
        confidence: float | None = None,
        logprobs: Any = None,
        response: str | None = None,
        query: Any = None,
    ) -> Decision | None:
        """After ``tier`` answered: the next tier to try, or None to accept the answer.

        Confidence comes from ``confidence`` when given, else from the tier's source in the policy:
        exp(mean token logprob) of ``logprobs`` (a mean, or the token logprobs), or the verifier over
        ``query`` and ``response``. No usable signal counts as confidence 0. None also when the
        escalation cap (``max_escalations``) or the daily cost ceiling is reached.
        """
        cascade = self.cascade
        if cascade is None or tier not in self.tier_names:
            return None
        step = cascade.step(self.tier_names.index(tier))
        if step is None:
            return None
        if self.ceiling_usd is not None and self.spent_today_usd() >= self.ceiling_usd:
            return None
        score, source = self.answer_confidence(
            tier, confidence=confidence, logprobs=logprobs, response=response, query=query
        )
        if score >= cascade.threshold:
            return None
        reason = f"{source} {score:.3f} < {cascade.threshold:g} on {tier}; escalate"
        return self._decision(cascade.order[step + 1], score, reason, escalations=step + 1)

    def answer_confidence(
        self,
        tier: str,
        confidence: float | None = None,
        logprobs: Any = None,
        response: str | None = None,
        query: Any = None,
    ) -> tuple[float, str]:
        """A cascade's confidence in ``tier``'s answer and where it came from, as :meth:`should_escalate` reads
        it: ``confidence`` when given, else the tier's source in the policy. No usable signal, or one that
        cannot be computed, counts as 0."""
        try:
            index = self.tier_names.index(tier)
            if confidence is not None:
                return float(confidence), "confidence"
            cascade = self.cascade
            if cascade is None:
                return 0.0, f"no confidence ({self.kind} policy)"
            return cascade.answer_confidence(index, logprobs, response, query)
        except Exception as exc:
            return 0.0, f"no confidence ({type(exc).__name__})"

    def reads_logprobs(self, tier: str) -> bool:
        """Whether :meth:`should_escalate` reads ``tier``'s token log-probabilities: a cascade tier it may
        escalate from, whose confidence source is ``logprob`` (ask that tier's model for logprobs)."""
        cascade = self.cascade
        if cascade is None or tier not in self.tier_names:
            return False
        index = self.tier_names.index(tier)
        return cascade.step(index) is not None and cascade.confidence[index].source == "logprob"

    # -- llm router ----------------------------------------------------------------------------
    def llm_request(self, query: Any) -> list[dict[str, str]] | None:
        """The chat messages to send to the router model (tier ``classifier_tier``); None for an odd query."""
        if not isinstance(self._policy, _LLMPolicy):
            return None
        try:
            text, _ = query_text(query)
        except ValueError:
            return None
        return self._policy.request(text)

    @property
    def llm_tier(self) -> str | None:
        """The router model's tier of an llm policy; None for other kinds."""
        policy = self._policy
        return self.tier_names[policy.classifier_tier] if isinstance(policy, _LLMPolicy) else None

    # -- daily cost ceiling --------------------------------------------------------------------
    def record_spend(self, usd: float, when: datetime | float | None = None) -> None:
        """Add ``usd`` spent at ``when`` (UTC datetime or epoch seconds; default now) to that day's total."""
        if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd) or usd < 0:
            raise ValueError(f"spend must be a non-negative number of USD, got {usd!r}")
        day = self._day(when)
        with self._spend_lock:
            self._spend_by_day[day] = self._spend_by_day.get(day, 0.0) + float(usd)
            for old in [d for d in self._spend_by_day if d < day - 2]:
                del self._spend_by_day[old]

    def spent_today_usd(self) -> float:
        """USD recorded for today (UTC), which the daily cost ceiling reads."""
        return self._spend_by_day.get(self._day(None), 0.0)

    def _day(self, when: datetime | float | None) -> int:
        if when is None:
            seconds = self._clock()
        elif isinstance(when, datetime):
            seconds = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        else:
            seconds = float(when)
        return int(seconds // _SECONDS_PER_DAY)

    # -- a knn policy's rows and steps, as the one-class Router had them (tests read them) -------
    @property
    def correct(self) -> list[tuple[float | None, ...]]:
        """A knn policy's fitted rows' scores per tier, as loaded (None where the call failed)."""
        return self._knn().correct

    def _knn_similarities(self, text: str, turns: int) -> list[float]:
        return self._knn().similarities(text, turns)

    def _nearest(self, sims: list[float]) -> list[int]:
        return self._knn().nearest(sims)

    def _knn(self) -> _KnnPolicy:
        if not isinstance(self._policy, _KnnPolicy):
            raise TypeError(f"a {self.kind} policy has no neighbours")
        return self._policy


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels deep, walked without recursion
    (a cycle counts as too deep)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        if _LEAF_TYPES.issuperset(map(type, children)):  # most lists hold only numbers or strings
            continue
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


def _too_deep_message(where: str) -> str:
    return f"{where}: lists and objects are nested more than {MAX_POLICY_DEPTH} levels deep; a policy needs about 6."


def choose_tier(scores: list[float], rule: str, threshold: float | None, lam: float | None, costs: list[float]) -> int:
    """Threshold rule: the first (cheapest) tier with score >= threshold, else the last tier.
    Utility rule: the first tier with the largest score - lam x expected cost."""
    if rule == "threshold":
        if threshold is None:
            raise ValueError("the threshold rule needs a threshold")
        for tier, score in enumerate(scores):
            if score >= threshold:
                return tier
        return len(scores) - 1
    if lam is None:
        raise ValueError("the utility rule needs a lambda")
    utilities = [score - lam * cost for score, cost in zip(scores, costs, strict=True)]
    return utilities.index(max(utilities))


def knn_vote(neighbour_correct: list[tuple[float | None, ...]], prior: list[float], k: int) -> list[float]:
    """Expected score per tier: the mean of the k neighbours' scores (0/1 or graded in [0, 1], added in rank
    order), where missing neighbours and failed calls (None) count as the tier's prior. For 0/1 scores this is
    P(correct)."""
    scores = []
    for tier, base in enumerate(prior):
        total: float = 0
        valid = 0
        for row in neighbour_correct:
            value = row[tier]
            if value is not None:
                total += value
                valid += 1
        scores.append(quantize((total + base * (k - valid)) / k))
    return scores
