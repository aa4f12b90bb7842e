"""The runtime router: standard library only, trusted loading, never raising on a query, guards, cascades."""

from __future__ import annotations

import ast
import json
import math
import random
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from routeeval import runtime
from routeeval.runtime import SCHEMA, PolicyError, Router, TextFeaturizer, policy_checksum, quantize, sigmoid

RUNTIME_PATH = Path(runtime.__file__)
TIERS = ["small", "medium", "large"]
TEXTS = [
    "where is my invoice",
    "invoice copy please",
    "contract liability clause review",
    "gdpr contract question",
    "reset my password",
    "password reset link",
]
HEAVY = ("numpy", "pandas", "sklearn", "scipy", "litellm", "typer", "rich", "pyarrow")


def make_policy(kind: str, router: dict, knob: dict, **guards) -> dict:
    body = {
        "schema": SCHEMA,
        "kind": kind,
        "knob": knob,
        "tiers": [
            {"name": name, "model": f"provider/{name}", "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0}
            for name in TIERS
        ],
        "guards": {
            "fallback_tier": "large",
            "daily_cost_ceiling_usd": None,
            "max_escalations": 2,
            "on_ceiling": "cheapest",
            **guards,
        },
        "router": router,
        "expected": {},
        "provenance": {"routeeval_version": "test", "created_at": "2025-01-01T00:00:00+00:00"},
    }
    body["checksum"] = policy_checksum(body)
    return body


def featurizer() -> TextFeaturizer:
    return TextFeaturizer(min_df=1).fit(TEXTS)


def static_policy(**guards) -> dict:
    rules = [
        {"tier": "large", "keywords": ["GDPR"], "name": "privacy"},
        {"tier": "medium", "regex": "(?i)\\b(api|webhook)\\b"},
        {"tier": "large", "metadata": {"plan": "enterprise"}},
        {"tier": "medium", "min_chars": 3, "max_chars": 5},
    ]
    router = {"rules": rules, "default_tier": "small", "long_tier": "large"}
    return make_policy("static", router, {"length_cutoff_chars": 40}, **guards)


def classifier_policy(knob: dict | None = None, **guards) -> dict:
    f = featurizer()
    small = [0.0] * f.n_features
    for word, weight in (("invoice", 6.0), ("password", 6.0), ("contract", -6.0)):
        small[f._word_index[word]] = weight
    small[f.n_tfidf + 4] = -1.0  # a question mark makes the small tier less sure
    router = {
        "featurizer": f.to_dict(),
        "expected_cost_usd": [0.001, 0.01, 0.1],
        "models": [{"intercept": -1.0, "coef": small}, {"constant": 0.5}, {"constant": 0.9}],
    }
    return make_policy("classifier", router, knob or {"rule": "threshold", "threshold": 0.6}, **guards)


def knn_policy(k: int = 1, correct: list | None = None) -> dict:
    f = featurizer()
    docs = [list(f.vector(text, dense=False)) for text in TEXTS]
    if correct is None:
        correct = [[1, 1, 1], [1, None, 1], [0, 0, 1], [0, 1, 1], [1, 1, 1], [1, 1, 0]]
    router = {
        "featurizer": f.to_dict(),
        "n_neighbors": k,
        "prior": [0.5, 0.7, 0.9],
        "expected_cost_usd": [0.001, 0.01, 0.1],
        "docs": docs,
        "correct": correct,
    }
    return make_policy("knn", router, {"rule": "threshold", "threshold": 0.6})


def cascade_policy(threshold: float = 0.5, verifier: bool = False, **guards) -> dict:
    medium = {"source": "constant", "value": 0.7}
    query_f = response_f = None
    if verifier:
        query_f = featurizer()
        response_f = TextFeaturizer(min_df=1).fit(["solved it", "not sure", "solved"])
        coef = [0.0] * (query_f.n_features + response_f.n_features)
        coef[query_f.n_features + response_f._word_index["solved"]] = 8.0
        medium = {"source": "verifier", "intercept": -2.0, "coef": coef}
    router = {
        "order": TIERS,
        "max_escalations": 2,
        "confidence": [{"source": "logprob"}, medium, {"source": "logprob"}],
        "featurizer": query_f.to_dict() if query_f else None,
        "response_featurizer": response_f.to_dict() if response_f else None,
    }
    return make_policy("cascade", router, {"threshold": threshold}, **guards)


def llm_policy() -> dict:
    router = {
        "classifier_tier": "small",
        "default_tier": "large",
        "system": "Reply with one word.",
        "prompt": "Is this easy or hard?\n\nQuery:\n{query}",
        "mapping": {"easy": "small", "hard": "large", "small": "small", "medium": "medium", "large": "large"},
    }
    return make_policy("llm", router, {})


ALL_POLICIES = {
    "static": static_policy,
    "classifier": classifier_policy,
    "knn": knn_policy,
    "cascade": cascade_policy,
    "llm": llm_policy,
}


# -- standard library only ---------------------------------------------------------------------------
@pytest.mark.slow
def test_importing_the_runtime_loads_no_heavy_library():
    code = f"import sys, routeeval.runtime\nprint('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out


def test_runtime_imports_only_the_standard_library():
    tree = ast.parse(RUNTIME_PATH.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert roots - set(sys.stdlib_module_names) - {"__future__"} == set()


@pytest.mark.slow
def test_runtime_works_when_copied_alone_into_a_service(tmp_path):
    service = tmp_path / "service"
    service.mkdir()
    shutil.copy(RUNTIME_PATH, service / "router_runtime.py")
    (service / "policy.json").write_text(json.dumps(classifier_policy()), encoding="utf-8")
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(service)!r})\n"
        "import router_runtime\n"
        f"router = router_runtime.Router.load({str(service / 'policy.json')!r})\n"
        "print(router.route('where is my invoice').tier)\n"
        f"print(sorted(m for m in {HEAVY + ('routeeval',)!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.splitlines() == ["small", "[]"]


# -- the public API -------------------------------------------------------------------------------------------
def test_the_public_api_is_router_decision_policy_error_and_schema():
    assert sorted(runtime.__all__) == ["Decision", "PolicyError", "Router", "SCHEMA"]
    assert all(hasattr(runtime, name) for name in runtime.__all__)
    assert (RUNTIME_PATH.parent / "py.typed").is_file()  # the package says it is typed (PEP 561)


@pytest.mark.parametrize("kind", sorted(ALL_POLICIES))
def test_each_kind_keeps_only_its_own_state(kind):
    router = Router.load(ALL_POLICIES[kind]())
    assert (router.cascade is not None) == (kind == "cascade")
    assert (router.llm_tier is not None) == (kind == "llm")
    assert isinstance(router.featurizer, TextFeaturizer) == (kind in ("classifier", "knn"))
    for name in ("order", "threshold", "rules", "costs", "postings", "mapping", "confidence"):
        assert not hasattr(router, name), name  # what one kind needs is not shared state on every Router


def test_a_cascade_exposes_its_order_cap_and_threshold():
    cascade = Router.load(cascade_policy(threshold=0.4, max_escalations=1)).cascade
    assert (cascade.order, cascade.cap, cascade.threshold) == ([0, 1, 2], 1, 0.4)
    assert [entry.source for entry in cascade.confidence] == ["logprob", "constant", "logprob"]


# -- loading: schema version, checksum, malformed files --------------------------------------------------
def test_policy_error_is_a_value_error():
    assert issubclass(PolicyError, ValueError)


def test_other_schema_version_is_refused_with_the_documented_message(in_tmp):
    policy = classifier_policy()
    policy["schema"] = "routeeval.policy/v3"
    Path("policy.json").write_text(json.dumps(policy), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        Router.load("policy.json")
    assert str(caught.value) == "policy.json has schema routeeval.policy/v3; this runtime reads routeeval.policy/v1."


def test_schema_is_checked_for_dicts_too():
    policy = static_policy()
    del policy["schema"]
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == "policy has no 'schema' key; this runtime reads routeeval.policy/v1."


def test_a_modified_policy_is_refused(in_tmp):
    policy = classifier_policy()
    written = policy["checksum"]
    policy["knob"]["threshold"] = 0.1  # someone edits the file by hand
    Path("policy.json").write_text(json.dumps(policy, indent=2), encoding="utf-8")
    actual = policy_checksum(policy)
    with pytest.raises(PolicyError) as caught:
        Router.load("policy.json")
    assert str(caught.value) == (
        f"policy.json was modified after routeeval wrote it: its checksum is {actual}, "
        f"the file says {written}; export it again with routeeval optimize."
    )


def test_layout_and_key_order_do_not_change_the_checksum(in_tmp):
    policy = classifier_policy()
    reordered = dict(reversed(list(policy.items())))
    Path("policy.json").write_text(json.dumps(reordered, indent=4, ensure_ascii=True), encoding="utf-8")
    assert Router.load("policy.json").kind == "classifier"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "policy.json: no such file."),
        ("{not json", "policy.json: not valid JSON (Expecting property name enclosed in double quotes: "),
        ("[1, 2]", "policy.json: expected a JSON object with 'schema': 'routeeval.policy/v1'."),
        (
            json.dumps({"schema": SCHEMA}),
            "policy.json has no checksum; write policies with routeeval (write_policy).",
        ),
    ],
)
def test_unreadable_policies_say_what_is_wrong(in_tmp, content, message):
    if content is not None:
        Path("policy.json").write_text(content, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        Router.load("policy.json")
    assert str(caught.value).startswith(message)


def test_malformed_sections_are_policy_errors():
    policy = classifier_policy()
    del policy["router"]["models"]
    policy["checksum"] = policy_checksum(policy)
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == "policy: malformed classifier policy (missing key 'models')."

    policy = static_policy(fallback_tier="huge")
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == "policy: guards.fallback_tier is 'huge'; the policy's tiers are: small, medium, large."


@pytest.mark.parametrize("knob", [[1, 2], "threshold"])
def test_a_knob_that_is_not_an_object_is_a_policy_error(knob):
    policy = static_policy()
    policy["knob"] = knob
    with pytest.raises(PolicyError, match=r"^policy: malformed static policy \("):
        Router.load(resigned(policy))


# -- never raising on a query ---------------------------------------------------------------------------
ODD_QUERIES = [
    (None, "fallback: query is NoneType; expected a string or a list of chat messages"),
    (42, "fallback: query is int; expected a string or a list of chat messages"),
    (b"bytes", "fallback: query is bytes; expected a string or a list of chat messages"),
    ({"role": "user"}, "fallback: query is dict; expected a string or a list of chat messages"),
    ("", "fallback: the query is empty"),
    ("   \n\t", "fallback: the query is empty"),
    ([], "fallback: the message list has no user message"),
    ([{"role": "assistant", "content": "hi"}], "fallback: the message list has no user message"),
    (["just a string"], "fallback: message 1 is not a chat message with 'role' and 'content'"),
    ([{"content": "no role"}], "fallback: message 1 is not a chat message with 'role' and 'content'"),
    (
        [{"role": "user", "content": None}],
        "fallback: message 1 has content of type NoneType; expected a string",
    ),
]


@pytest.mark.parametrize("kind", sorted(ALL_POLICIES))
@pytest.mark.parametrize(("query", "reason"), ODD_QUERIES)
def test_odd_queries_fall_back_with_a_reason(kind, query, reason):
    router = Router.load(ALL_POLICIES[kind]())
    decision = router.route(query)
    assert (decision.tier, decision.model, decision.fallback) == ("large", "provider/large", True)
    assert decision.reason == reason


@pytest.mark.parametrize("kind", sorted(ALL_POLICIES))
def test_unusual_but_valid_queries_are_routed(kind):
    router = Router.load(ALL_POLICIES[kind]())
    queries = [
        "x",
        "ünïcödé invoice ✓ 🙏",
        "a" * 100_000,
        "where is my invoice " * 500,
        [{"role": "user", "content": [{"type": "text", "text": "invoice"}, {"type": "image_url", "image_url": {}}]}],
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "reset my password"}],
    ]
    for query in queries:
        decision = router.route(query, metadata={"plan": object()})
        assert decision.tier in TIERS and not decision.fallback, (query, decision)


def test_an_internal_error_falls_back_instead_of_raising():
    router = Router.load(classifier_policy())

    def broken(*args):
        raise ZeroDivisionError("float division by zero")

    router._route_kind = broken
    decision = router.route("where is my invoice")
    assert (decision.tier, decision.fallback) == ("large", True)
    assert decision.reason == "fallback: ZeroDivisionError: float division by zero"


# -- the featurizer -----------------------------------------------------------------------------------
def test_featurizer_round_trips_through_plain_json():
    f = TextFeaturizer(min_df=1, char_scope="all", tf="sublinear").fit(TEXTS + ["invoice invoice invoice"])
    again = TextFeaturizer.from_dict(json.loads(json.dumps(f.to_dict())))
    for text in TEXTS + ["invoice invoice about the contrakt", "unseen words only"]:
        assert again.transform_one(text) == f.transform_one(text)


def test_tfidf_part_has_unit_norm_and_dense_features_follow():
    f = featurizer()
    vector = f.transform_one([{"role": "user", "content": "hi"}, {"role": "user", "content": "invoice 42?"}])
    tfidf = [v for j, v in vector.items() if j < f.n_tfidf]
    assert math.isclose(math.sqrt(sum(v * v for v in tfidf)), 1.0)
    dense = {runtime.DENSE_FEATURES[j - f.n_tfidf]: v for j, v in vector.items() if j >= f.n_tfidf}
    assert dense == {"log_chars": math.log1p(11) / 10, "turns": 0.2, "has_digit": 1.0, "has_question": 1.0}


def test_character_ngrams_only_for_tokens_without_a_known_word():
    f = TextFeaturizer(min_df=1, word_ngrams=(1, 1), char_ngrams=(3, 3)).fit(["invoice", "invoixe"])
    # every token is in the word vocabulary when fitting on itself, so no character n-grams were kept
    assert f.char_vocabulary_ == []
    f = TextFeaturizer(min_df=2, word_ngrams=(1, 1), char_ngrams=(3, 3)).fit(["invoice one", "invoixe one"])
    assert f.word_vocabulary_ == ["one"]
    assert f.char_vocabulary_ == [" in", "inv", "nvo", "voi"]  # shared by the two unknown words
    ids = f.transform_one("invoicing one")
    assert {f.char_vocabulary_[j - f.n_word] for j in ids if f.n_word <= j < f.n_tfidf} == {" in", "inv", "nvo", "voi"}


def test_word_features_match_scikit_learn_tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer

    corpus = TEXTS + ["my invoice and my password", "the contract is the clause", "invoice-2024 for the gdpr"]
    ours = TextFeaturizer(char_ngrams=None, dense=False, min_df=2, tf="sublinear").fit(corpus)
    theirs = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(corpus)
    assert ours.word_vocabulary_ == list(theirs.get_feature_names_out())
    expected = theirs.transform(corpus + ["invoice my password my invoice"]).toarray()
    for row, text in enumerate(corpus + ["invoice my password my invoice"]):
        got = [0.0] * ours.n_features
        for j, v in ours.transform_one(text).items():
            got[j] = v
        assert got == pytest.approx(list(expected[row]), abs=1e-12)


def whole_text_dense_values(text: str, turns: int) -> list[float]:
    """The dense features read off the whole text, as DENSE_FEATURES defines them."""
    return [
        math.log1p(len(text)) / 10.0,
        min(turns, 10) / 10.0,
        1.0 if any(marker in text for marker in runtime._CODE_MARKERS) else 0.0,
        1.0 if re.search(r"\d", text) else 0.0,
        1.0 if "?" in text else 0.0,
    ]


DENSE_CASES = [
    "def main(): pass",
    "mydef x",  # 'def ' inside a token's end still counts
    "def\nmain",  # a newline after 'def' is not 'def '
    "undef\tx",
    "DEF x",  # markers are case-sensitive
    "x def",  # ends with 'def' but nothing follows
    "import os",
    "reimport  os",
    "x => y",
    "a</b",
    "{",
    "f();",
    "};",
    "```",
    "#include <x>",
    "no code here",
    "what? 42",
    "arabic digit \u0663",
    "?",
    "a def import b",
]


@pytest.mark.parametrize("text", DENSE_CASES)
def test_dense_features_from_the_token_cache_equal_the_whole_text(text):
    f = featurizer()
    for turns in (1, 3, 12):
        assert f.dense_values(text, turns) == whole_text_dense_values(text, turns)
        assert f.dense_values(text, turns) == whole_text_dense_values(text, turns)  # now from the cache


def test_dense_features_of_random_texts_equal_the_whole_text():
    f = featurizer()
    pieces = ["def", "def ", "import", "import ", "=", ">", "<", "/", "{", "}", ";", ")", "(", "`", "#include"]
    pieces += ["?", "7", "x", "invoice", " ", "\n", "\t", "\u00a0", "\u0663", "DEF"]
    rng = random.Random(0)
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        assert f.dense_values(text, 1) == whole_text_dense_values(text, 1), text


def test_tokens_are_lowercased_one_by_one_as_the_whole_text_would_be():
    # str.lower maps a capital sigma by its neighbours (final form at a word's end): fitting lowercases the
    # whole text, featurizing lowercases each token; the words must come out the same.
    f = TextFeaturizer(min_df=1, char_ngrams=None).fit(["ΟΔΟΣ ΣΑΣ", "Invoice PASSWORD"])
    assert "οδος" in f.word_vocabulary_ and "σας" in f.word_vocabulary_
    for text in ["ΟΔΟΣ ΣΑΣ", "οδος σας", "INVOICE password", "ΟΔΟΣ\u00a0ΣΑΣ invoice"]:
        assert sorted(f.terms(text)) == sorted(f.terms(text.lower()))
        assert f.vector(text) == f.vector(text.lower())
    assert len(f.terms("ΟΔΟΣ ΣΑΣ")) == 3  # two words and their bigram


@pytest.mark.parametrize("word_ngrams", [(1, 2), (2, 2), (1, 3)])
def test_word_ngrams_across_tokens_skip_tokens_without_words(word_ngrams):
    corpus = TEXTS + ["reset my password", "po-5106 long-time customer", "my long-time password"]
    f = TextFeaturizer(min_df=1, word_ngrams=word_ngrams).fit(corpus)
    texts = corpus + ["reset my 🙏 password", "reset - my a password", "po-5106? long-time 🙏 customer", "a 🙏 -"]
    for text in texts:
        # the vector finds n-grams from the tokens' cached words and ends; terms() from the full word sequence
        assert sorted(f.vector(text, dense=False)[0]) == sorted(set(f.terms(text))), text
    ids = f.vector("reset my 🙏 a password", dense=False)[0]
    assert f._word_index["my", "password"] in ids  # the bigram spans two tokens without a word


# -- static rules --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "metadata", "tier", "reason"),
    [
        ("Question about gdpr", None, "large", "static rule #1"),
        ("does the API support webhooks", None, "medium", "static rule #2"),
        ("capital punishment", None, "small", "default tier"),  # 'api' inside a word is not the API
        ("hello", {"plan": "enterprise"}, "large", "static rule #3"),
        ("hello", {"plan": "free"}, "medium", "static rule #4"),
        ("hello there", {"plan": "free"}, "small", "default tier"),
        ("a long question " * 3, None, "large", "longer than 40 characters"),
    ],
)
def test_static_rules_are_evaluated_as_written(query, metadata, tier, reason):
    decision = Router.load(static_policy()).route(query, metadata=metadata)
    assert (decision.tier, decision.reason, decision.score) == (tier, reason, None)


def test_bad_static_rules_are_refused_at_load():
    policy = static_policy()
    policy["router"]["rules"].append({"tier": "small", "regex": "(unclosed"})
    policy["checksum"] = policy_checksum(policy)
    with pytest.raises(PolicyError, match=r"^policy: static rule #5 has a bad regex \(missing \), unterminated"):
        Router.load(policy)


# -- classifier and knn -----------------------------------------------------------------------------------
def test_classifier_threshold_rule_takes_the_cheapest_sure_tier():
    router = Router.load(classifier_policy())
    decision = router.route("where is my invoice")
    assert decision.tier == "small" and decision.score >= 0.6
    assert decision.reason == f"P(correct) {decision.score:.3f} >= 0.6 on small"
    assert router.route("contract liability clause").tier == "large"
    strict = Router.load(classifier_policy({"rule": "threshold", "threshold": 0.95}))
    decision = strict.route("contract liability clause")
    assert (decision.tier, decision.reason) == ("large", "no tier reaches P(correct) 0.95; last tier")


def test_classifier_utility_rule_weighs_probability_against_cost():
    costs = [0.001, 0.01, 0.1]
    for lam in (0.0, 1.0, 5.0, 100.0):
        router = Router.load(classifier_policy({"rule": "utility", "lambda": lam}))
        for text in ("where is my invoice", "contract liability clause", "reset password?"):
            decision = router.route(text)
            utilities = [p - lam * c for p, c in zip(decision.tier_scores, costs, strict=True)]
            assert decision.tier == TIERS[utilities.index(max(utilities))]
    assert Router.load(classifier_policy({"rule": "utility", "lambda": 0.0})).route("contract").tier == "large"


def test_classifier_fast_path_equals_the_featurizer_vector():
    policy = classifier_policy()
    router = Router.load(policy)
    f = TextFeaturizer.from_dict(policy["router"]["featurizer"])
    model = policy["router"]["models"][0]
    for text in TEXTS + ["invoice?", "an unknown question entirely", "password password invoice 7"]:
        vector = f.transform_one(text)
        z = sum(v * model["coef"][j] for j, v in vector.items()) + model["intercept"]
        assert router.route(text).tier_scores == (quantize(sigmoid(z)), 0.5, 0.9)


@pytest.mark.parametrize(
    "options",
    [{"tf": "sublinear"}, {"dense": False}, {"tf": "raw", "char_scope": "all"}, {"word_ngrams": (1, 3)}, {}],
)
def test_classifier_scores_equal_the_featurizer_vector_for_every_featurizer(options):
    f = TextFeaturizer(min_df=1, **options).fit(TEXTS + ["invoice invoice copy", "where is my contract?"])
    rng = random.Random(1)
    models = [
        {"intercept": -0.5, "coef": [rng.uniform(-3, 3) for _ in range(f.n_features)]},
        {"constant": 0.25},
        {"intercept": 0.75, "coef": [rng.uniform(-3, 3) for _ in range(f.n_features)]},
    ]
    router = {"featurizer": f.to_dict(), "expected_cost_usd": [0.001, 0.01, 0.1], "models": models}
    runtime_router = Router.load(make_policy("classifier", router, {"rule": "threshold", "threshold": 0.6}))
    texts = TEXTS + ["invoice invoice? 42", "an unknown question entirely", "reset 🙏 my a password", "Contrakt {x}"]
    for text in texts:
        vector = f.transform_one(text)
        expected = []
        for model in models:
            if "constant" in model:
                expected.append(model["constant"])
            else:
                z = sum(v * model["coef"][j] for j, v in vector.items()) + model["intercept"]
                expected.append(quantize(sigmoid(z)))
        assert runtime_router.route(text).tier_scores == tuple(expected), text


def test_knn_votes_with_the_nearest_rows():
    router = Router.load(knn_policy(k=1))
    assert router.route("where is my invoice").tier_scores == (1.0, 1.0, 1.0)
    # row 2 failed on medium: that vote is the prior
    assert router.route("invoice copy please").tier_scores == (1.0, 0.7, 1.0)
    decision = router.route("contract liability clause review")
    assert (decision.tier, decision.tier_scores) == ("large", (0.0, 0.0, 1.0))
    # nothing shared with any row: every vote is the prior
    assert router.route("zzz qqq").tier_scores == (0.5, 0.7, 0.9)


def test_knn_with_more_neighbours_than_matches_fills_in_the_prior():
    router = Router.load(knn_policy(k=3))
    scores = router.route("gdpr contract question").tier_scores
    # neighbours sharing a term: rows 3 and 2 (contract), the third vote is the prior
    assert scores == (quantize((0 + 0 + 0.5) / 3), quantize((1 + 0 + 0.7) / 3), quantize((1 + 1 + 0.9) / 3))


def test_knn_averages_graded_scores_in_rank_order():
    correct = [[0.7, 1, 0.25], [1, None, 0.5], [0.0, 0.2, 1], [0.9, 1, 0.6], [1, 1, 1], [0.3, 0.8, 0]]
    router = Router.load(knn_policy(k=3, correct=correct))
    assert router.correct[2] == (0.0, 0.2, 1)
    # neighbours sharing a term: row 3, then row 2 (contract); the third vote is the prior
    assert router.route("gdpr contract question").tier_scores == (
        quantize((0.9 + 0.0 + 0.5) / 3),
        quantize((1 + 0.2 + 0.7) / 3),
        quantize((0.6 + 1 + 0.9) / 3),
    )
    single = Router.load(knn_policy(k=1, correct=correct))
    # row 1 failed on medium: that vote is the prior
    assert single.route("invoice copy please").tier_scores == (1.0, 0.7, 0.5)


def test_knn_scores_of_0_and_1_load_as_integers():
    router = Router.load(knn_policy(k=3))
    assert router.correct[1] == (1, None, 1)
    assert all(type(v) is int for row in router.correct for v in row if v is not None)


@pytest.mark.parametrize(("value", "shown"), [(1.5, "1.5"), (-0.1, "-0.1"), (2, "2"), (True, "True"), ("1", "'1'")])
def test_knn_scores_outside_0_1_are_refused(value, shown):
    correct = [[1, 1, 1], [1, None, 1], [0, value, 1], [0, 1, 1], [1, 1, 1], [1, 1, 0]]
    with pytest.raises(PolicyError) as caught:
        Router.load(knn_policy(correct=correct))
    assert str(caught.value) == (
        f"policy: row 3 of router.correct has {shown} for tier 'medium'; "
        "each score must be a number from 0 to 1, or null for a failed call."
    )


@pytest.mark.parametrize(("value", "shown"), [(1.5, "1.5"), (-0.1, "-0.1"), (None, "None"), (True, "True")])
def test_knn_priors_outside_0_1_are_refused(value, shown):
    policy = knn_policy()
    policy["router"]["prior"][2] = value
    policy["checksum"] = policy_checksum(policy)
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == (
        f"policy: router.prior has {shown} for tier 'large'; each prior must be a score from 0 to 1."
    )


def test_knn_policy_problems_are_named():
    policy = knn_policy()
    policy["router"]["n_neighbors"] = 0
    policy["checksum"] = policy_checksum(policy)
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == "policy: router.n_neighbors is 0; it must be at least 1."

    policy = knn_policy()
    n_terms = TextFeaturizer.from_dict(policy["router"]["featurizer"]).n_tfidf
    policy["router"]["docs"][1][0][0] = n_terms
    policy["checksum"] = policy_checksum(policy)
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == (
        f"policy: row 2 of router.docs has feature id {n_terms}; the featurizer's TF-IDF terms are 0 to {n_terms - 1}."
    )

    policy = knn_policy()
    policy["router"]["correct"][4] = [1, 1]
    policy["checksum"] = policy_checksum(policy)
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == "policy: each row of router.correct must have one entry per tier (3)."


def test_knn_similarities_equal_the_offline_sparse_product_bit_for_bit():
    from routeeval.routers import KnnRouter
    from routeeval.routers.base import feature_matrix

    lines = (Path(__file__).resolve().parent.parent / "evalsets" / "support.jsonl").read_text(encoding="utf-8")
    texts = [json.loads(line)["input"] for line in lines.splitlines() if line.strip()]
    fitted, queries = texts[:250], texts[250:]
    offline = KnnRouter(tiers=TIERS).fit(fitted, [[1.0, 0.0, 1.0]] * len(fitted))
    router = Router.load(make_policy("knn", offline.to_policy(), {"rule": "threshold", "threshold": 0.5}))
    expected = (feature_matrix(offline.featurizer_, queries, dense=False) @ offline.docs_.T.tocsc()).toarray()
    for row, query in enumerate(queries):
        assert router._knn_similarities(*runtime.query_text(query)) == expected[row].tolist()


@pytest.mark.parametrize(
    "options",
    [{"tf": "sublinear"}, {"dense": False}, {"tf": "raw", "char_scope": "all"}, {"word_ngrams": (1, 3)}, {}],
)
@pytest.mark.parametrize("negative", [False, True])
def test_knn_similarities_and_neighbours_equal_the_featurizer_vectors_for_every_featurizer(options, negative):
    """Routing accumulates only the rows sharing a term and ranks only those; the plain computation over every row
    (a sparse dot product adding terms in increasing id, then a sort of all rows) gives the same numbers. With a
    negative weight in a row (a hand-made policy), every row is ranked."""
    texts = TEXTS + ["invoice invoice copy", "where is my contract?", "reset my password", "contract review now"]
    f = TextFeaturizer(min_df=1, **options).fit(texts)
    docs = [list(f.vector(text, dense=False)) for text in texts]
    if negative:
        docs[2][1][0] = -docs[2][1][0]
    router = {
        "featurizer": f.to_dict(),
        "n_neighbors": 3,
        "prior": [0.5, 0.7, 0.9],
        "expected_cost_usd": [0.001, 0.01, 0.1],
        "docs": docs,
        "correct": [[row % 2, (row // 2) % 2, 0.25 if row % 3 else 1] for row in range(len(docs))],
    }
    runtime_router = Router.load(make_policy("knn", router, {"rule": "threshold", "threshold": 0.6}))
    assert runtime_router._knn()._unsigned is not negative
    queries = ["invoice invoice? 42", "an unknown question entirely", "reset 🙏 my a password", "Contrakt {x}"]
    for text in texts + queries:
        ids, values = f.vector(text, dense=False)
        expected = [0.0] * len(docs)
        for j, v in sorted(zip(ids, values, strict=True)):
            for row, (doc_ids, doc_values) in enumerate(docs):
                if j in doc_ids:
                    expected[row] += v * doc_values[doc_ids.index(j)]
        assert runtime_router._knn_similarities(text, 1) == expected, text
        ranking = sorted((-quantize(s), row) for row, s in enumerate(expected))
        leaders = [row for negative, row in ranking if negative < 0][:3]
        assert runtime_router._nearest(expected) == leaders, text
        assert runtime_router._knn().neighbours(text, 1) == leaders, text  # route()'s own path


def test_knn_ranking_looks_below_its_first_cut_when_a_tie_reaches_there():
    """The ranking first keeps the rows at or above the mean similarity; a row below the mean whose quantized
    similarity ties the k-th largest one's (and whose lower row number wins the tie) must still be found."""
    router = Router.load(knn_policy(k=2))
    sims = [0.4999999996, 1.0, 0.5000000001, 0.25, 0.25]  # mean 0.49999999994: row 0 is below it
    assert quantize(sims[0]) == quantize(sims[2]) == 0.5
    assert sims[0] < sum(sims) / len(sims) <= sims[2]
    assert router._nearest(sims) == [1, 0]


# 6 x _SORT_ROWS: about 1,500 rows reach the mean similarity, so the k-th largest comes from a heap, not a sort
@pytest.mark.parametrize("n_rows", [5, 40, runtime._SORT_ROWS + 7, 6 * runtime._SORT_ROWS])
@pytest.mark.parametrize("k", [1, 4, 15])
def test_knn_neighbours_are_ranked_by_quantized_similarity_then_row(n_rows, k):
    router = Router.load(knn_policy(k=k))
    rng = random.Random(n_rows * 100 + k)
    base = [0.0, 1e-10, 0.3, 0.300000000499, 0.3000000005, 0.3000000005000001, 0.7, 1.0]
    for _ in range(50):
        sims = [rng.choice(base) + rng.choice([0.0, 0.0, 1e-12, -1e-12, 4e-10]) for _ in range(n_rows)]
        sims = [max(s, 0.0) for s in sims]
        expected = [doc for negative, doc in sorted((-quantize(s), doc) for doc, s in enumerate(sims)) if negative < 0]
        assert router._nearest(sims) == expected[:k]


# -- daily cost ceiling ------------------------------------------------------------------------------------
NOON = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def test_cost_ceiling_switches_to_the_cheapest_tier_until_the_next_utc_day():
    now = [NOON.timestamp()]
    router = Router.load(classifier_policy(daily_cost_ceiling_usd=1.0), clock=lambda: now[0])
    assert router.route("contract clause").tier == "large"
    router.record_spend(0.6)
    router.record_spend(0.3, when=NOON - timedelta(days=1))  # yesterday's spend does not count today
    assert router.spent_today_usd() == pytest.approx(0.6)
    assert not router.route("contract clause").ceiling_reached
    router.record_spend(0.4, when=NOON.replace(hour=23))
    decision = router.route("contract clause")
    assert (decision.tier, decision.reason, decision.ceiling_reached) == ("small", "daily cost ceiling reached", True)
    assert router.route(None).ceiling_reached  # the guard comes first, even for odd queries
    now[0] = (NOON + timedelta(days=1)).replace(hour=0, minute=0).timestamp()
    assert router.route("contract clause").tier == "large"


def test_cost_ceiling_can_send_to_the_fallback_tier():
    router = Router.load(classifier_policy(daily_cost_ceiling_usd=0.5, on_ceiling="fallback", fallback_tier="medium"))
    router.record_spend(0.5)
    decision = router.route("where is my invoice")
    assert (decision.tier, decision.ceiling_reached) == ("medium", True)


@pytest.mark.parametrize("spend", [-1.0, float("nan"), float("inf"), "0.1", True, None])
def test_record_spend_refuses_what_is_not_an_amount(spend):
    router = Router.load(static_policy())
    with pytest.raises(ValueError, match="spend must be a non-negative number of USD"):
        router.record_spend(spend)


# -- cascade ------------------------------------------------------------------------------------------------
def test_cascade_starts_with_the_first_tier_and_escalates_on_low_confidence():
    router = Router.load(cascade_policy(threshold=0.5))
    start = router.route("anything at all")
    assert (start.tier, start.reason) == ("small", "cascade: start with the first tier")
    assert router.should_escalate("small", logprobs=-0.1) is None  # exp(-0.1) = 0.905 >= 0.5
    step = router.should_escalate("small", logprobs=[-2.0, -3.0])
    assert (step.tier, step.escalations) == ("medium", 1)
    assert step.score == quantize(math.exp(-2.5))
    assert step.reason == "logprob confidence 0.082 < 0.5 on small; escalate"
    assert router.should_escalate("medium") is None  # constant confidence 0.7
    assert router.should_escalate("large", confidence=0.0) is None  # nothing after the last tier
    assert router.should_escalate("small", confidence=0.9) is None  # an explicit confidence wins
    no_signal = router.should_escalate("small")
    assert (no_signal.tier, no_signal.reason) == ("medium", "no logprobs: confidence 0.000 < 0.5 on small; escalate")
    assert router.should_escalate("huge", confidence=0.0) is None


def test_answer_confidence_is_what_should_escalate_reads_even_past_the_cap():
    router = Router.load(cascade_policy(threshold=0.5, verifier=True, max_escalations=0))
    assert router.should_escalate("small", logprobs=[-2.0, -3.0]) is None  # the cap: no escalation at all
    assert router.answer_confidence("small", logprobs=[-2.0, -3.0]) == (quantize(math.exp(-2.5)), "logprob confidence")
    assert router.answer_confidence("medium", response="not sure", query="invoice") == (
        quantize(sigmoid(-2.0)),
        "verifier confidence",
    )
    assert router.answer_confidence("medium", response="solved", query={"bad": "query"})[1] == "verifier confidence"
    assert router.answer_confidence("small", logprobs=["not a number"]) == (0.0, "no logprobs: confidence")
    assert router.answer_confidence("small", confidence=0.25) == (0.25, "confidence")


def test_cascade_walks_to_the_top_and_respects_the_escalation_cap():
    router = Router.load(cascade_policy(threshold=0.8))
    assert router.should_escalate("medium").tier == "large"  # constant 0.7 < 0.8
    capped = Router.load(cascade_policy(threshold=0.8, max_escalations=1))
    assert capped.should_escalate("small", confidence=0.0).tier == "medium"
    assert capped.should_escalate("medium", confidence=0.0) is None
    assert Router.load(cascade_policy(max_escalations=0)).should_escalate("small", confidence=0.0) is None


def test_cascade_verifier_reads_query_and_answer():
    router = Router.load(cascade_policy(threshold=0.5, verifier=True))
    assert router.should_escalate("medium", response="solved it", query="where is my invoice") is None
    low = router.should_escalate("medium", response="not sure", query="where is my invoice")
    assert (low.tier, low.score) == ("large", quantize(sigmoid(-2.0)))
    missing = router.should_escalate("medium", query="where is my invoice")
    assert (missing.tier, missing.reason) == ("large", "no response: confidence 0.000 < 0.5 on medium; escalate")


def test_cascade_stops_escalating_past_the_cost_ceiling():
    router = Router.load(cascade_policy(daily_cost_ceiling_usd=1.0))
    router.record_spend(2.0)
    assert router.should_escalate("small", confidence=0.0) is None


def test_should_escalate_is_none_for_other_kinds():
    assert Router.load(classifier_policy()).should_escalate("small", confidence=0.0) is None


def test_answer_confidence_of_other_kinds_is_the_given_one_or_none():
    router = Router.load(classifier_policy())
    assert router.answer_confidence("small", confidence=0.25) == (0.25, "confidence")
    assert router.answer_confidence("small", logprobs=-0.1) == (0.0, "no confidence (classifier policy)")
    assert router.answer_confidence("huge", confidence=0.25) == (0.0, "no confidence (ValueError)")


def test_reads_logprobs_names_the_tiers_whose_logprobs_should_escalate_reads():
    router = Router.load(cascade_policy())  # confidence: small logprob, medium constant, large logprob
    assert [router.reads_logprobs(tier) for tier in TIERS] == [True, False, False]  # large: nothing follows it
    assert router.reads_logprobs("huge") is False
    capped = Router.load(cascade_policy(max_escalations=0))
    assert [capped.reads_logprobs(tier) for tier in TIERS] == [False, False, False]
    assert Router.load(classifier_policy()).reads_logprobs("small") is False


# -- llm router --------------------------------------------------------------------------------------------
def test_llm_router_builds_the_request_and_maps_the_answer():
    router = Router.load(llm_policy())
    assert router.llm_tier == "small"
    assert router.llm_request([{"role": "user", "content": "why is my bill higher?"}]) == [
        {"role": "system", "content": "Reply with one word."},
        {"role": "user", "content": "Is this easy or hard?\n\nQuery:\nwhy is my bill higher?"},
    ]
    assert router.llm_request(None) is None
    for answer, tier in [("easy", "small"), (" Hard.", "large"), ("EASY\n", "small"), ("**medium**", "medium")]:
        decision = router.route("why is my bill higher?", llm_answer=answer)
        assert (decision.tier, decision.reason) == (tier, f"llm router answered {tier}")
    unknown = router.route("why is my bill higher?", llm_answer="banana")
    assert (unknown.tier, unknown.reason) == ("large", "llm router: answer not recognised; default tier")
    silent = router.route("why is my bill higher?")
    assert (silent.tier, silent.reason) == ("large", "llm router: no answer from the router model; default tier")
    assert Router.load(classifier_policy()).llm_request("hi") is None


# -- bounded work on any input (issue item 12) ------------------------------------------------------------
def resigned(policy: dict) -> dict:
    policy["checksum"] = policy_checksum(policy)
    return policy


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


TOO_DEEP = "lists and objects are nested more than 32 levels deep; a policy needs about 6."


def test_a_deeply_nested_policy_file_is_refused_without_recursing(in_tmp):
    depth = 100_000
    Path("policy.json").write_text('{"schema": "x", "a": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        Router.load("policy.json")
    assert str(caught.value) == f"policy.json: {TOO_DEEP}"


@pytest.mark.parametrize("depth", [33, 100_000])
def test_a_deeply_nested_policy_dict_is_refused_before_it_is_walked(depth):
    policy = classifier_policy()
    policy["expected"]["deep"] = nested(depth - 2)  # the policy and 'expected' are two levels
    if depth < 100:
        resigned(policy)  # a checksum that matches: only the depth is wrong
    with pytest.raises(PolicyError) as caught:
        Router.load(policy)
    assert str(caught.value) == f"policy: {TOO_DEEP}"


def test_a_policy_nested_as_deep_as_allowed_still_loads():
    policy = static_policy()
    policy["expected"]["deep"] = nested(30)
    assert runtime.MAX_POLICY_DEPTH == 32
    assert Router.load(resigned(policy)).kind == "static"


def test_a_number_python_cannot_read_is_a_policy_error(in_tmp):
    Path("policy.json").write_text('{"schema": "routeeval.policy/v1", "n": ' + "9" * 5000 + "}", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        Router.load("policy.json")
    assert str(caught.value).startswith("policy.json: not valid JSON (Exceeds the limit (4300 digits)")


def _featurizer_edit(key, value, section="featurizer"):
    def edit(policy):
        policy["router"][section][key] = value

    return edit


@pytest.mark.parametrize(
    ("make", "edit", "message"),
    [
        (
            classifier_policy,
            _featurizer_edit("word_ngrams", [1, 100_000]),
            "router.featurizer: word_ngrams is [1, 100000]; give [low, high] with 1 <= low <= high <= 5",
        ),
        (
            knn_policy,
            _featurizer_edit("word_ngrams", [0, 2]),
            "router.featurizer: word_ngrams is [0, 2]; give [low, high] with 1 <= low <= high <= 5",
        ),
        (
            classifier_policy,
            _featurizer_edit("word_ngrams", [2, 1]),
            "router.featurizer: word_ngrams is [2, 1]; give [low, high] with 1 <= low <= high <= 5",
        ),
        (
            classifier_policy,
            _featurizer_edit("word_ngrams", ["1", "2"]),
            "router.featurizer: word_ngrams is ['1', '2']; give [low, high] with 1 <= low <= high <= 5",
        ),
        (
            classifier_policy,
            _featurizer_edit("char_ngrams", [3, 50]),
            "router.featurizer: char_ngrams is [3, 50]; give [low, high] with 1 <= low <= high <= 10",
        ),
        (
            classifier_policy,
            _featurizer_edit("char_ngrams", [3, 4, 5]),
            "router.featurizer: char_ngrams is [3, 4, 5]; give [low, high] with 1 <= low <= high <= 10",
        ),
        (
            lambda: cascade_policy(verifier=True),
            _featurizer_edit("char_ngrams", [1.5, 4], section="response_featurizer"),
            "router.response_featurizer: char_ngrams is [1.5, 4]; give [low, high] with 1 <= low <= high <= 10",
        ),
        (
            classifier_policy,
            _featurizer_edit("prefix_chars", 0),
            "router.featurizer: prefix_chars is 0; give a whole number of characters from 1 to 100000",
        ),
        (
            knn_policy,
            _featurizer_edit("prefix_chars", 10**7),
            "router.featurizer: prefix_chars is 10000000; give a whole number of characters from 1 to 100000",
        ),
        (
            classifier_policy,
            _featurizer_edit("prefix_chars", "8000"),
            "router.featurizer: prefix_chars is '8000'; give a whole number of characters from 1 to 100000",
        ),
        (
            static_policy,
            lambda p: p["guards"].update(daily_cost_ceiling_usd=-1.0),
            "guards.daily_cost_ceiling_usd is -1.0; it must be a finite number, 0 or more",
        ),
        (
            static_policy,
            lambda p: p["guards"].update(daily_cost_ceiling_usd=10**400),
            f"guards.daily_cost_ceiling_usd is {str(10**400)[:60]}; it must be a finite number, 0 or more",
        ),
        (
            static_policy,
            lambda p: p["guards"].update(daily_cost_ceiling_usd="5"),
            "guards.daily_cost_ceiling_usd is '5'; it must be a finite number, 0 or more",
        ),
        (
            cascade_policy,
            lambda p: p["guards"].update(max_escalations=-1),
            "guards.max_escalations is -1; it must be a whole number, 0 or more",
        ),
        (
            cascade_policy,
            lambda p: p["guards"].update(max_escalations=1.5),
            "guards.max_escalations is 1.5; it must be a whole number, 0 or more",
        ),
        (
            cascade_policy,
            lambda p: p["router"].update(max_escalations=-3),
            "router.max_escalations is -3; it must be a whole number, 0 or more",
        ),
        (
            cascade_policy,
            lambda p: p["knob"].update(threshold=True),
            "knob.threshold is True; it must be a finite number",
        ),
        (
            classifier_policy,
            lambda p: p["knob"].update(threshold="0.6"),
            "knob.threshold is '0.6'; it must be a finite number",
        ),
        (
            lambda: classifier_policy({"rule": "utility", "lambda": 1.0}),
            lambda p: p["knob"].update({"lambda": 10**400}),
            f"knob.lambda is {str(10**400)[:60]}; it must be a finite number",
        ),
        (
            knn_policy,
            lambda p: p["router"]["expected_cost_usd"].__setitem__(1, -0.01),
            "each of router.expected_cost_usd is -0.01; it must be a finite number, 0 or more",
        ),
        (
            static_policy,
            lambda p: p["knob"].update(length_cutoff_chars=-5),
            "knob.length_cutoff_chars is -5; it must be a whole number, 0 or more",
        ),
    ],
)
def test_numbers_that_would_make_routing_slow_or_meaningless_are_refused(make, edit, message):
    policy = make()
    edit(policy)
    with pytest.raises(PolicyError) as caught:
        Router.load(resigned(policy))
    assert str(caught.value) == f"policy: {message}."


def test_a_policy_file_with_huge_ngrams_is_refused(in_tmp):
    policy = classifier_policy()
    policy["router"]["featurizer"]["word_ngrams"] = [1, 100_000]
    Path("policy.json").write_text(json.dumps(resigned(policy)), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"^policy.json: router.featurizer: word_ngrams is \[1, 100000\]"):
        Router.load("policy.json")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"word_ngrams": (1, 6)}, "word_ngrams is (1, 6); give [low, high] with 1 <= low <= high <= 5"),
        ({"char_ngrams": (2, 11)}, "char_ngrams is (2, 11); give [low, high] with 1 <= low <= high <= 10"),
        ({"prefix_chars": 100_001}, "prefix_chars is 100001; give a whole number of characters from 1 to 100000"),
        ({"prefix_chars": True}, "prefix_chars is True; give a whole number of characters from 1 to 100000"),
    ],
)
def test_offline_featurizers_cannot_be_built_beyond_what_the_runtime_loads(options, message):
    with pytest.raises(ValueError) as caught:
        TextFeaturizer(**options)
    assert str(caught.value) == message


def test_the_largest_allowed_ngrams_load_and_route():
    f = TextFeaturizer(min_df=1, word_ngrams=(1, 5), char_ngrams=(1, 10), prefix_chars=100_000).fit(TEXTS)
    router = {"featurizer": f.to_dict(), "expected_cost_usd": [0.001, 0.01, 0.1], "models": [{"constant": 0.5}] * 3}
    decision = Router.load(make_policy("classifier", router, {"rule": "threshold", "threshold": 0.6})).route("hi")
    assert not decision.fallback


def test_policies_written_before_prefix_chars_read_8000_characters():
    policy = classifier_policy()
    assert policy["router"]["featurizer"]["prefix_chars"] == runtime.PREFIX_CHARS == 8000
    del policy["router"]["featurizer"]["prefix_chars"]
    assert Router.load(resigned(policy)).featurizer.prefix_chars == 8000


def test_the_featurizer_reads_only_the_prefix_when_fitting_and_transforming():
    f = TextFeaturizer(min_df=1, prefix_chars=20).fit(["where is my invoice contract clause", "reset my password"])
    assert "contract" not in f.word_vocabulary_ and "invoice" in f.word_vocabulary_  # 'contract' starts at 20
    text = "where is my invoice? contract 42 ```code```"
    assert f.vector(text) == f.vector(text[:20])
    assert f.terms(text) == f.terms(text[:20]) and f.tfidf(text) == f.tfidf(text[:20])
    assert f.dense_values(text, 1) == f.dense_values(text[:20], 1) == [math.log1p(20) / 10, 0.1, 0.0, 0.0, 1.0]


TEN_MB = ("where is my invoice? " * 500_000)[:10_000_000]


@pytest.mark.parametrize("kind", ["classifier", "knn", "cascade"])
def test_a_10_mb_query_is_routed_from_its_prefix(kind, monkeypatch):
    router = Router.load(ALL_POLICIES[kind](**({"verifier": True} if kind == "cascade" else {})))
    seen: list[int] = []
    original = TextFeaturizer._entries

    def entries(self, text):
        seen.append(len(text))
        return original(self, text)

    monkeypatch.setattr(TextFeaturizer, "_entries", entries)
    query = TEN_MB + " contract liability gdpr contract" * 1000  # what follows the prefix must not count
    decision = router.route(query)
    assert not decision.fallback and decision.tier in TIERS
    assert decision == router.route(query[:8000])
    if kind == "cascade":
        confidence = router.answer_confidence("medium", response="solved " + TEN_MB, query=query)
        assert confidence == router.answer_confidence(
            "medium", response=("solved " + TEN_MB)[:8000], query=query[:8000]
        )
    assert seen and max(seen) == 8000


def test_static_keywords_and_regexes_read_the_prefix_but_lengths_count_the_whole_text():
    router = Router.load(static_policy())
    filler = "a" * (runtime.PREFIX_CHARS - 10)
    assert router.route(filler + " webhook").reason == "static rule #2"  # within the first 8,000 characters
    late = filler + " " * 20 + "webhook GDPR"
    assert router.route(late).reason == "longer than 40 characters"  # rules #1 and #2 do not see the end
    rules = runtime.compile_rules([{"tier": "small", "min_chars": 9000}], TIERS)
    assert runtime.match_rules(rules, "a" * 9000, None) == 0  # min_chars counts every character


def test_a_1_mb_token_is_not_kept_in_the_token_cache():
    import tracemalloc

    router = Router.load(classifier_policy())
    router.route("warm up the cache")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for number in range(100):
            router.route(f"{number} " + "x" * 1_000_000)
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < 1_000_000  # was 200 MB: every 1 MB token stayed in the cache
    assert all(len(token) <= 256 for token in router.featurizer._tokens)


def test_the_token_cache_is_bounded_by_bytes_and_empties_when_full(monkeypatch):
    import tracemalloc

    monkeypatch.setattr(runtime, "_TOKEN_CACHE_BYTES", 400_000)
    f = TextFeaturizer(min_df=1, prefix_chars=100_000).fit(TEXTS)
    cache = f._tokens
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        f.vector(" ".join(f"token{n}-" + "y" * 200 for n in range(900)))  # about 600 KB of entries
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 0 < cache.n_bytes <= 400_000 and len(cache) < 900  # emptied once on the way
    assert cache.n_bytes / 2 < held < cache.n_bytes * 2  # the estimate is about what the entries take
    f.vector("y" * 50_000)  # a token past 256 characters is not kept
    assert "y" * 50_000 not in cache
