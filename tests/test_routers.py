"""Routers: scikit-learn conventions, honest out-of-fold scores, and offline/runtime parity on every row."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from routeeval import columns as C
from routeeval.errors import ConfigError
from routeeval.outcomes import outcomes_frame, pivot_outcomes
from routeeval.policy import build_policy, load_schema
from routeeval.routers import (
    CascadeRouter,
    ClassifierRouter,
    KnnRouter,
    LLMRouter,
    StaticRouter,
    cross_fit,
    oracle_choice,
    random_mix_choice,
    single_tier_choice,
    walk_cascade,
)
from routeeval.runtime import Router

TIERS = ["small", "medium", "large"]
TIER_TABLE = [
    {"name": name, "model": f"provider/{name}", "price_in_per_mtok": price, "price_out_per_mtok": 4 * price}
    for name, price in zip(TIERS, (0.15, 1.0, 5.0), strict=True)
]
# topic -> (the cheapest tier that usually gets it right, its words)
TOPICS = {
    "billing": (0, ["invoice", "refund", "charge", "billing", "receipt", "payment", "card"]),
    "account": (0, ["password", "login", "email", "reset", "username", "profile"]),
    "api": (1, ["endpoint", "token", "webhook", "rate", "limit", "sdk", "json"]),
    "outage": (1, ["down", "latency", "error", "timeout", "region", "status"]),
    "legal": (2, ["contract", "liability", "gdpr", "compliance", "clause", "indemnity"]),
}
FILLER = ["please", "help", "with", "my", "the", "our", "team", "can", "you", "how", "do", "we", "need", "urgent"]


def synthetic_outcomes(n_rows: int = 300, seed: int = 0):
    """An outcomes table (long format) whose correctness depends on the text: ~n_rows x 3 tiers."""
    rng = random.Random(seed)
    records = []
    names = sorted(TOPICS)
    history = []
    for row in range(n_rows):
        topic = names[row % len(names)]
        level, words = TOPICS[topic]
        text = " ".join(rng.choice(words if rng.random() < 0.5 else FILLER) for _ in range(rng.randint(3, 14)))
        if rng.random() < 0.3:
            text += "?"
        if rng.random() < 0.15:
            text += f" ref {rng.choice(['PO', 'INV', 'TCK'])}-{rng.randint(100, 99999)} {rng.choice(['thx', 'asap'])}"
        query = text
        if rng.random() < 0.1:
            query = json.dumps(
                [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "hello"},
                    {"role": "user", "content": text},
                ]
            )
        if row % 8 == 7:  # eval sets repeat queries; each copy gets its own outcomes
            query, topic = history[rng.randrange(len(history))]
            level, words = TOPICS[topic]
        history.append((query, topic))
        for tier, name in enumerate(TIERS):
            failed = rng.random() < 0.02
            correct = rng.random() < (0.92 if tier >= level else 0.2)
            if correct:
                response = f"For {topic}: {' '.join(rng.sample(words, 2))}, solved."
            else:
                response = rng.choice(["I am not sure.", "Please contact support.", "Unclear request, sorry."])
            records.append(
                {
                    C.ROW_ID: f"r{row:03d}",
                    C.TIER: name,
                    C.RESPONSE: None if failed else response,
                    C.SCORE: None if failed else float(correct),
                    C.COST_USD: (0.0001, 0.001, 0.01)[tier] * (1 + 0.1 * rng.random()),
                    C.LATENCY_MS: 100.0 * (tier + 1),
                    C.ERROR: "timeout" if failed else None,
                    C.INPUT: query,
                    C.INTENT: topic,
                    C.SOURCE: C.SOURCE_EVAL,
                    C.LOGPROB_MEAN: None
                    if failed
                    else (-0.05 - 0.4 * rng.random() if correct else -0.3 - 1.0 * rng.random()),
                }
            )
    return outcomes_frame(records)


@pytest.fixture(scope="module")
def data():
    return pivot_outcomes(synthetic_outcomes(), tiers=TIERS)


@pytest.fixture(scope="module")
def classifier(data):
    """A ClassifierRouter fit on every row of ``data``, once for the module: its inner cross-validation of C takes
    seconds. The tests that take it only read it."""
    return ClassifierRouter(tiers=TIERS).fit(data.inputs, data.correct(), cost_usd=data.cost_usd)


def runtime_router(router, kind: str, knob: dict, **guards) -> Router:
    return Router.load(build_policy(router, kind, knob, TIER_TABLE, guards=guards))


def walk_runtime_cascade(runtime: Router, data) -> tuple[np.ndarray, np.ndarray]:
    """(final tier, tiers tried) per row, calling the runtime the way a service would."""
    final, tried = [], []
    for row, query in enumerate(data.inputs):
        tier, steps = runtime.route(query).tier, 1
        while True:
            t = TIERS.index(tier)
            logprob = data.logprob_mean[row, t]
            step = runtime.should_escalate(
                tier,
                logprobs=None if np.isnan(logprob) else float(logprob),
                response=data.responses[row, t],
                query=query,
            )
            if step is None:
                break
            tier, steps = step.tier, steps + 1
        final.append(TIERS.index(tier))
        tried.append(steps)
    return np.array(final), np.array(tried)


def runtime_tiers(router: Router, queries, **route_args) -> np.ndarray:
    return np.array([TIERS.index(router.route(q, **route_args).tier) for q in queries])


# -- the data the routers read ---------------------------------------------------------------------------------
def test_pivot_gives_rows_by_tiers_with_failed_calls_unknown(data):
    assert data.n_rows == 300 and data.tiers == TIERS
    assert data.score.shape == data.cost_usd.shape == data.responses.shape == (300, 3)
    failed = np.isnan(data.score)
    assert failed.any()
    assert np.isnan(data.correct()[failed]).all()
    assert all(r is None for r in data.responses[failed])
    assert sum(isinstance(q, list) for q in data.inputs) > 10  # chat messages decoded from the JSON column
    assert data.inputs[0] == synthetic_outcomes()[C.INPUT].iloc[0]  # rows keep their order of appearance


def test_pivot_keeps_eval_rows_and_the_given_tier_order():
    frame = synthetic_outcomes(20)
    logs = frame.iloc[:6].copy()
    logs[C.ROW_ID] = "log-" + logs[C.ROW_ID]
    logs[C.SOURCE] = C.SOURCE_LOG
    import pandas as pd

    both = pd.concat([logs, frame], ignore_index=True)
    pivot = pivot_outcomes(both, tiers=["large", "small", "medium"])
    assert pivot.row_ids == [f"r{i:03d}" for i in range(20)]
    assert pivot.tiers == ["large", "small", "medium"]
    assert pivot_outcomes(both, source=C.SOURCE_LOG).row_ids == ["log-r000", "log-r001"]


def test_pivot_of_any_row_order_or_dtype_gives_the_same_table():
    """Shuffled rows, a repeated (row, tier) (the last entry wins) and categorical columns pivot alike."""
    frame = synthetic_outcomes(60)
    expected = pivot_outcomes(frame, tiers=TIERS)
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    stale = shuffled.iloc[:5].copy()
    stale[C.SCORE] = 0.5  # an earlier, superseded entry for the same (row, tier)
    import pandas as pd

    messy = pd.concat([stale, shuffled], ignore_index=True)
    compact = messy.astype({column: "category" for column in (C.ROW_ID, C.TIER, C.RESPONSE, C.INPUT, C.SOURCE)})
    for table in (messy, compact):
        got = pivot_outcomes(table, tiers=TIERS)
        order = [got.row_ids.index(row_id) for row_id in expected.row_ids]
        np.testing.assert_array_equal(got.score[order], expected.score)
        np.testing.assert_array_equal(got.cost_usd[order], expected.cost_usd)
        assert (got.responses[order] == expected.responses).all()
        assert [got.inputs[i] for i in order] == expected.inputs


def test_kfold_splits_are_scikit_learns():
    from sklearn.model_selection import KFold

    from routeeval.routers.base import kfold_splits

    for n_rows, folds, seed in [(5, 5, 0), (7, 2, 1), (101, 5, 42), (1000, 10, 3)]:
        ours = list(kfold_splits(n_rows, folds, seed))
        theirs = list(KFold(folds, shuffle=True, random_state=seed).split(np.arange(n_rows)))
        assert len(ours) == len(theirs) == folds
        for (train, test), (their_train, their_test) in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(train, their_train)
            np.testing.assert_array_equal(test, their_test)


def test_cascade_on_logprobs_reads_no_answers(data):
    """With log-probabilities for every tier the answers are never read: a table of a million rows stays fast."""

    class Untouchable:
        def __array__(self, *args, **kwargs):
            raise AssertionError("the answers were read")

    router = CascadeRouter(tiers=TIERS).fit(
        data.inputs, data.correct(), responses=Untouchable(), logprob_mean=data.logprob_mean
    )
    assert router.sources_ == ["logprob"] * 3 and router.featurizer_ is None
    router.predict_proba(data.inputs, responses=Untouchable(), logprob_mean=data.logprob_mean)


# -- scikit-learn conventions --------------------------------------------------------------------------------
def fitted(router, data):
    y = data.correct()
    if isinstance(router, StaticRouter | LLMRouter):
        return router.fit(data.inputs, y)
    if isinstance(router, CascadeRouter):
        return router.fit(data.inputs, y, responses=data.responses, logprob_mean=data.logprob_mean)
    return router.fit(data.inputs, y, cost_usd=data.cost_usd)


CONVENTION_CASES = [
    ClassifierRouter(tiers=tuple(TIERS), C=2.0, featurizer={"min_df": 1}),
    KnnRouter(tiers=tuple(TIERS), n_neighbors=7),
    CascadeRouter(tiers=tuple(TIERS), confidence="verifier", max_escalations=1),
    StaticRouter(tiers=tuple(TIERS), rules=({"tier": "large", "keywords": ["gdpr"]},), default_tier="small"),
    LLMRouter(tiers=tuple(TIERS), intents=("billing", "legal")),
]


@pytest.mark.parametrize("router", CONVENTION_CASES, ids=lambda r: type(r).__name__)
def test_routers_follow_scikit_learn_conventions(router, data):
    from sklearn.base import clone

    params = router.get_params()
    assert vars(router) == params  # __init__ stores its arguments and does nothing else
    assert set(params) == set(type(router)._param_names())
    before = {k: json.dumps(v, sort_keys=True, default=str) for k, v in params.items()}
    assert fitted(router, data) is router
    after = {k: json.dumps(v, sort_keys=True, default=str) for k, v in router.get_params().items()}
    assert after == before
    learned = set(vars(router)) - set(params)
    assert learned and all(name.endswith("_") and not name.startswith("_") for name in learned)
    copy = clone(router)
    assert copy.get_params().keys() == params.keys() and not (set(vars(copy)) - set(params))


def test_unfitted_routers_say_so():
    with pytest.raises(ValueError, match="this ClassifierRouter is not fitted yet; call fit first"):
        ClassifierRouter().predict_proba(["hello"])


# -- out-of-fold scores ----------------------------------------------------------------------------------------
class SpyRouter:
    """Records which rows each fold fit on and scored."""

    log: list = []

    def fit(self, X, y, row=None):
        self.fit_rows = set(row)
        return self

    def predict_proba(self, X, row=None):
        SpyRouter.log.append((self.fit_rows, list(row)))
        return np.zeros((len(X), 2))


def test_cross_fit_never_scores_a_row_with_a_model_fit_on_it():
    SpyRouter.log = []
    rows = np.arange(103)
    texts = [f"q{i}" for i in rows]
    cross_fit(SpyRouter, texts, np.zeros((103, 2)), folds=5, fit_params={"row": rows}, predict_params={"row": rows})
    scored = [row for _, test in SpyRouter.log for row in test]
    assert sorted(scored) == list(rows)  # each row scored exactly once
    assert len(SpyRouter.log) == 5
    for fit_rows, test in SpyRouter.log:
        assert not fit_rows & set(test)
        assert len(fit_rows) + len(test) == 103


def test_cross_fit_is_seeded():
    def folds_of(seed):
        SpyRouter.log = []
        rows = np.arange(50)
        cross_fit(SpyRouter, list(rows), np.zeros((50, 2)), 5, seed, {"row": rows}, {"row": rows})
        return [sorted(test) for _, test in SpyRouter.log]

    assert folds_of(0) == folds_of(0)
    assert folds_of(0) != folds_of(1)


def noise_rows(n_rows: int = 300, seed: int = 1):
    """Distinct random texts whose one-tier target is a coin flip: nothing to learn."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(400)]
    texts = [" ".join(rng.sample(vocabulary, 8)) for _ in range(n_rows)]
    targets = np.array([[float(rng.random() < 0.5)] for _ in range(n_rows)])
    return texts, targets


@pytest.mark.parametrize(
    "factory",
    [
        lambda: KnnRouter(n_neighbors=1, featurizer={"min_df": 1}),
        lambda: ClassifierRouter(C=1e4, featurizer={"min_df": 1}),
    ],
    ids=["knn", "classifier"],
)
def test_out_of_fold_scores_do_not_leak_the_target(factory):
    texts, targets = noise_rows()
    in_sample = factory().fit(texts, targets).predict_proba(texts)
    out_of_fold = cross_fit(factory, texts, targets, folds=5, random_state=0)
    in_sample_accuracy = ((in_sample[:, 0] >= 0.5) == targets[:, 0]).mean()
    oof_accuracy = ((out_of_fold[:, 0] >= 0.5) == targets[:, 0]).mean()
    assert in_sample_accuracy > 0.9  # a model scored on its own rows memorises the noise
    assert 0.38 < oof_accuracy < 0.62  # out of fold it is a coin flip, as it should be


def test_out_of_fold_scores_find_real_signal(data):
    from sklearn.metrics import roc_auc_score

    y = data.correct()
    oof = cross_fit(lambda: ClassifierRouter(tiers=TIERS), data.inputs, y, fit_params={"cost_usd": data.cost_usd})
    known = ~np.isnan(y[:, 0])
    assert roc_auc_score(y[known, 0], oof[known, 0]) > 0.75


# -- parity: the runtime decides exactly as the offline refit router --------------------------------------------
def thresholds_from(scores) -> list[float]:
    """Round thresholds plus thresholds sitting exactly on observed scores (the sweep's candidates)."""
    observed = np.unique(scores)
    picks = observed[np.linspace(0, observed.size - 1, 9).astype(int)]
    return [0.3, 0.5, 0.7, 0.9, *map(float, picks)]


@pytest.mark.parametrize("cutoff", [None, 0, 25, 40, 60, 1000])
def test_static_parity(data, cutoff):
    rules = (
        {"tier": "large", "keywords": ["GDPR", "indemnity"]},
        {"tier": "medium", "regex": "(?i)webhook|sdk"},
        {"tier": "large", "metadata": {"plan": "enterprise"}},
    )
    metadata = [{"plan": "enterprise"} if i % 17 == 0 else {"plan": "free"} for i in range(data.n_rows)]
    router = StaticRouter(tiers=TIERS, rules=rules).fit()
    knob = {"length_cutoff_chars": cutoff}
    offline = router.decide(data.inputs, knob, metadata=metadata)
    runtime = runtime_router(router, "static", knob)
    online = np.array(
        [TIERS.index(runtime.route(q, metadata=m).tier) for q, m in zip(data.inputs, metadata, strict=True)]
    )
    assert (offline == online).all()
    assert len(set(offline)) > 1
    if cutoff is not None:  # the sweep's encoding: first tier with accept >= -cutoff, else the last
        accept = router.accept_scores(data.inputs, metadata=metadata)
        passed = accept >= -cutoff
        swept = np.where(passed.any(axis=1), passed.argmax(axis=1), len(TIERS) - 1)
        assert (swept == offline).all()


def test_static_rules_are_checked_when_fit():
    with pytest.raises(ConfigError, match=r"static rule #1 has tier 'huge'; choose from: small, medium, large"):
        StaticRouter(tiers=TIERS, rules=({"tier": "huge", "keywords": ["x"]},)).fit()


@pytest.mark.parametrize(
    ("kind", "params"),
    [("classifier", {}), ("knn", {}), ("knn", {"n_neighbors": 1}), ("knn", {"n_neighbors": 4})],
)
def test_classifier_and_knn_parity_for_both_rules(request, data, kind, params):
    if kind == "classifier":
        router = request.getfixturevalue("classifier")
    else:
        router = KnnRouter(tiers=TIERS, **params).fit(data.inputs, data.correct(), cost_usd=data.cost_usd)
    scores = router.predict_proba(data.inputs)
    knobs = [{"rule": "threshold", "threshold": t} for t in thresholds_from(scores)]
    knobs += [{"rule": "utility", "lambda": lam} for lam in (0.0, 5.0, 30.0, 60.0, 200.0)]
    seen = set()
    for knob in knobs:
        runtime = runtime_router(router, kind, knob)
        offline = router.decide(data.inputs, knob)
        decisions = [runtime.route(q) for q in data.inputs]
        online = np.array([TIERS.index(d.tier) for d in decisions])
        assert (offline == online).all(), knob
        assert np.array([d.tier_scores for d in decisions]).tolist() == scores.tolist()
        seen |= set(offline.tolist())
    assert seen == {0, 1, 2}


@pytest.mark.parametrize("confidence", ["logprob", "verifier"])
@pytest.mark.parametrize("max_escalations", [1, 2])
def test_cascade_parity(data, confidence, max_escalations):
    router = CascadeRouter(tiers=TIERS, confidence=confidence).fit(
        data.inputs, data.correct(), responses=data.responses, logprob_mean=data.logprob_mean
    )
    assert router.sources_ == [confidence] * 3
    scores = router.predict_proba(data.inputs, responses=data.responses, logprob_mean=data.logprob_mean)
    for threshold in thresholds_from(scores[:, :2]):
        knob = {"threshold": threshold}
        runtime = runtime_router(router, "cascade", knob, max_escalations=max_escalations)
        final, tried = router.decide(
            data.inputs, knob, responses=data.responses, logprob_mean=data.logprob_mean, max_escalations=max_escalations
        )
        online_final, online_tried = walk_runtime_cascade(runtime, data)
        assert (online_final == final).all() and (online_tried == tried).all(), threshold
        assert tried.max() <= max_escalations + 1


def test_cascade_confidence_is_out_of_fold_through_cross_fit(data):
    from sklearn.metrics import roc_auc_score

    y = data.correct()
    extra = {"responses": data.responses, "logprob_mean": data.logprob_mean}
    oof = cross_fit(lambda: CascadeRouter(tiers=TIERS, confidence="verifier"), data.inputs, y, 5, 0, extra, extra)
    known = ~np.isnan(y[:, 0])
    assert roc_auc_score(y[known, 0], oof[known, 0]) > 0.9
    assert (oof[np.isnan(data.score)] == 0.0).all()  # no answer, no confidence


def test_llm_router_parity(data):
    router = LLMRouter(tiers=TIERS, classifier_tier="small").fit(data.inputs, intents=data.intents)
    assert "Known intents: account, api, billing, legal, outage." in router.prompt_
    runtime = runtime_router(router, "llm", {})
    answers = ["easy", "Hard.", "medium", "no idea", None, "LARGE please", " easy\n"] * 3
    offline = router.decide(answers)
    online = np.array([TIERS.index(runtime.route("a query", llm_answer=a).tier) for a in answers])
    assert (offline == online).all()
    assert offline.tolist()[:7] == [0, 2, 1, 2, 2, 2, 0]
    assert runtime.llm_request(data.inputs[3]) == router.request(data.inputs[3])


# -- the sweep's encodings: a knob the sweep picks reproduces the router's and the runtime's decisions ------------
def sweep_knobs(candidate, rule):
    from routeeval.sweep import sweep_candidate

    points = sweep_candidate(candidate, max_points=12, lambdas=[0.0, 3.0, 30.0, 300.0])
    return [p.knob for p in points if p.rule == rule]


@pytest.mark.parametrize("kind", ["classifier-threshold", "classifier-utility", "knn-threshold", "static", "cascade"])
def test_sweep_knobs_reproduce_router_and_runtime_decisions(request, data, kind):
    from routeeval.sweep import ThresholdCandidate, UtilityCandidate, decisions_at

    y = data.correct()
    arrays = {"score": data.score, "cost": data.cost_usd, "latency": data.latency_ms}
    if kind.startswith(("classifier", "knn")):
        if kind.startswith("classifier"):
            router = request.getfixturevalue("classifier")
        else:
            router = KnnRouter(tiers=TIERS).fit(data.inputs, y, cost_usd=data.cost_usd)
        scores = router.predict_proba(data.inputs)
        rule = kind.split("-")[1]
        if rule == "threshold":
            candidate = ThresholdCandidate(kind, rule, TIERS, accept=scores, **arrays)
        else:
            candidate = UtilityCandidate(
                kind, rule, TIERS, utility_prob=scores, option_cost=router.expected_cost_usd_, **arrays
            )
        for knob_value in sweep_knobs(candidate, rule):
            knob = {"rule": rule, "threshold" if rule == "threshold" else "lambda": knob_value}
            swept = decisions_at(candidate, knob_value)
            assert (swept == router.decide(data.inputs, knob)).all(), knob
            runtime = runtime_router(router, kind.split("-")[0], knob)
            assert (swept == runtime_tiers(runtime, data.inputs)).all(), knob
    elif kind == "static":
        router = StaticRouter(tiers=TIERS, rules=({"tier": "medium", "keywords": ["webhook"]},)).fit()
        candidate = ThresholdCandidate("static", "length", TIERS, accept=router.accept_scores(data.inputs), **arrays)
        knobs = sweep_knobs(candidate, "threshold")
        assert np.inf in knobs and len(knobs) > 5
        for theta in knobs:
            knob = StaticRouter.knob_from_threshold(theta)
            swept = decisions_at(candidate, theta)
            assert (swept == router.decide(data.inputs, knob)).all(), theta
            assert (swept == runtime_tiers(runtime_router(router, "static", knob), data.inputs)).all(), theta
    else:
        from routeeval.routers import cascade_options

        extra = {"responses": data.responses, "logprob_mean": data.logprob_mean}
        router = CascadeRouter(tiers=TIERS, confidence="verifier").fit(data.inputs, y, **extra)
        confidence = router.predict_proba(data.inputs, **extra)
        fields = cascade_options(
            confidence, data.score, data.cost_usd, data.latency_ms, router.order_, router.cap(), TIERS
        )
        assert fields["options"] == ["small", "small>medium", "small>medium>large"]
        candidate = ThresholdCandidate("cascade", "verifier", **fields)
        for theta in sweep_knobs(candidate, "threshold"):
            final, tried = router.decide(data.inputs, {"threshold": theta}, **extra)
            assert (decisions_at(candidate, theta) == tried - 1).all(), theta
            runtime = runtime_router(router, "cascade", {"threshold": theta})
            assert (walk_runtime_cascade(runtime, data)[1] == tried).all(), theta  # +inf is written as 2.0


def test_walk_cascade_by_hand():
    confidence = np.array([[0.9, 0.1, 0.5], [0.1, 0.9, 0.5], [0.1, 0.1, 0.1]])
    final, tried = walk_cascade(confidence, [0, 1, 2], 0.5, cap=2)
    assert final.tolist() == [0, 1, 2] and tried.tolist() == [1, 2, 3]
    final, tried = walk_cascade(confidence, [0, 1, 2], 0.5, cap=1)
    assert final.tolist() == [0, 1, 1] and tried.tolist() == [1, 2, 2]


# -- graded scores: routers learn the expected score, not P(score >= 0.5) ---------------------------------------
def graded_scores(data, seed: int = 0):
    """Judge-style scores from the fixture's 0/1 outcomes: right 0.9-1.0, wrong 0.5-0.6, failed calls NaN.

    Every known score is >= 0.5, so binarizing them (as routers did) leaves nothing to learn."""
    noise = np.random.default_rng(seed).random(data.score.shape)
    return np.where(np.isnan(data.score), np.nan, 0.5 + 0.4 * data.correct() + 0.1 * noise)


def test_soft_label_rows_by_hand():
    from routeeval.routers.base import soft_label_rows

    rows, labels, weights = soft_label_rows([1.0, 0.0, 0.25])
    assert rows.tolist() == [0, 1, 2, 2]
    assert labels.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert weights.tolist() == [1.0, 1.0, 0.25, 0.75]


def test_soft_label_logistic_equals_the_duplicated_row_fit(data):
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    from routeeval.routers.base import feature_matrix, fit_logistic
    from routeeval.runtime import TextFeaturizer

    features = feature_matrix(TextFeaturizer().fit(data.inputs), data.inputs)
    scores = np.nan_to_num(graded_scores(data)[:, 0], nan=0.0)
    scores[::7], scores[3::7] = 1.0, 0.0  # exact 0/1 scores leave one copy of their row
    ours = fit_logistic(features, scores, C=4.0, max_iter=1000, random_state=0)
    # every row twice, the positive copies first, zero weights kept, solved tightly: the same objective
    doubled = LogisticRegression(C=4.0, max_iter=1000, tol=1e-10).fit(
        sparse.vstack([features, features]),
        np.r_[np.ones(len(scores)), np.zeros(len(scores))],
        sample_weight=np.r_[scores, 1.0 - scores],
    )
    # which is the soft-label cross-entropy's minimum: X'(p - s) + w / C = 0 and sum(p - s) = 0
    residual = doubled.predict_proba(features)[:, 1] - scores
    assert abs(residual.sum()) < 1e-4
    np.testing.assert_allclose(features.T @ residual + doubled.coef_[0] / 4.0, 0.0, atol=1e-4)

    def soft_cross_entropy(model):
        p = model.predict_proba(features)[:, 1]
        return -(scores * np.log(p) + (1 - scores) * np.log(1 - p)).sum() + (model.coef_**2).sum() / (2 * 4.0)

    # ours reaches it within the solver's default tolerance
    assert soft_cross_entropy(ours) == pytest.approx(soft_cross_entropy(doubled), rel=1e-4)
    np.testing.assert_allclose(ours.predict_proba(features), doubled.predict_proba(features), atol=0.01)


def test_soft_label_logistic_on_0_1_scores_is_the_plain_fit(data):
    from sklearn.linear_model import LogisticRegression

    from routeeval.routers.base import feature_matrix, fit_logistic
    from routeeval.runtime import TextFeaturizer

    features = feature_matrix(TextFeaturizer().fit(data.inputs), data.inputs)
    known = ~np.isnan(data.score[:, 1])
    labels = data.correct()[known, 1]
    ours = fit_logistic(features[known], labels, C=4.0, max_iter=1000, random_state=0)
    plain = LogisticRegression(C=4.0, max_iter=1000, random_state=0).fit(features[known], labels)
    np.testing.assert_array_equal(ours.coef_, plain.coef_)
    np.testing.assert_array_equal(ours.intercept_, plain.intercept_)


@pytest.mark.parametrize("kind", ["classifier", "knn", "cascade"])
def test_graded_targets_teach_what_binarized_ones_cannot(data, kind):
    from sklearn.metrics import roc_auc_score

    graded = graded_scores(data)
    binarized = np.where(np.isnan(graded), np.nan, (graded >= 0.5).astype(float))
    assert np.nanmin(binarized) == 1.0  # every known score counts as right once binarized
    extra = {"responses": data.responses}
    if kind == "classifier":
        factory, fit_params, predict_params = lambda: ClassifierRouter(tiers=TIERS), {}, {}
    elif kind == "knn":
        factory, fit_params, predict_params = lambda: KnnRouter(tiers=TIERS), {}, {}
    else:
        factory, fit_params, predict_params = lambda: CascadeRouter(tiers=TIERS, confidence="verifier"), extra, extra
    flat = factory().fit(data.inputs, binarized, **fit_params).predict_proba(data.inputs, **predict_params)
    assert (flat == flat[:1]).all()  # one number per tier, whatever the query
    fitted = factory().fit(data.inputs, graded, **fit_params)
    if kind == "cascade":
        assert fitted.sources_ == ["verifier"] * 3
    oof = cross_fit(factory, data.inputs, graded, 5, 0, fit_params, predict_params)
    known = ~np.isnan(graded[:, 0])
    assert roc_auc_score(data.correct()[known, 0], oof[known, 0]) > 0.75
    assert np.nanmean(oof[known, 0]) == pytest.approx(np.nanmean(graded[:, 0]), abs=0.05)  # a score, not P(>= 0.5)


def test_a_tier_always_right_or_always_wrong_stays_a_constant(data):
    y = np.column_stack([np.ones(data.n_rows), np.zeros(data.n_rows), np.full(data.n_rows, 0.7)])
    router = ClassifierRouter(tiers=TIERS).fit(data.inputs, y)
    assert router.constant_[:2] == [1.0, 0.0] and router.constant_[2] is None
    scores = router.predict_proba(data.inputs)
    assert (scores[:, 0] == 1.0).all() and (scores[:, 1] == 0.0).all()
    np.testing.assert_allclose(scores[:, 2], 0.7, atol=5e-3)  # the same 0.7 everywhere is learned as 0.7
    cascade = CascadeRouter(tiers=TIERS, confidence="verifier").fit(data.inputs, y, responses=data.responses)
    assert cascade.sources_ == ["constant", "constant", "verifier"]
    assert cascade.constant_[:2].tolist() == [1.0, 0.0]


def test_cascade_verifier_needs_both_classes_among_answered_rows():
    texts = [f"question {i}" for i in range(20)]
    responses = np.array([[f"answer {i}" if i % 2 else None] for i in range(20)], dtype=object)
    y = np.array([[1.0 if i % 2 else 0.0] for i in range(20)])  # the answered rows are all right
    router = CascadeRouter(confidence="verifier").fit(texts, y, responses=responses)
    assert router.sources_ == ["constant"] and router.constant_.tolist() == [0.5]


def test_targets_outside_0_1_are_refused():
    with pytest.raises(ValueError, match=r"targets must be scores in \[0, 1\]; got values from 0 to 2"):
        ClassifierRouter().fit(["a", "b", "c"], [[2.0], [0.0], [np.nan]])


def test_knn_vote_is_the_mean_neighbour_score_with_the_prior_for_missing_ones(data):
    from routeeval.runtime import quantize

    graded = graded_scores(data)
    router = KnnRouter(tiers=TIERS, n_neighbors=6).fit(data.inputs, graded)
    np.testing.assert_array_equal(router.correct_, np.round(graded, 6))
    np.testing.assert_allclose(router.prior_, np.nanmean(graded, axis=0), atol=1e-6)
    queries = data.inputs[:40] + ["gdpr", "nothing in common zzz"]
    scores = router.predict_proba(queries)
    for row, cols in enumerate(router.neighbours(queries)):
        for tier in range(3):
            known = [router.correct_[c, tier] for c in cols if not np.isnan(router.correct_[c, tier])]
            total = 0.0
            for value in known:  # in rank order, as the runtime adds them
                total += value
            assert scores[row, tier] == quantize((total + router.prior_[tier] * (6 - len(known))) / 6)
    assert (scores[-1] == quantize_list(router.prior_)).all()  # no neighbour: the tier's mean score


def test_knn_finds_the_same_neighbours_whatever_block_of_similarities_it_computes_at_once(data, monkeypatch):
    """The similarities are computed a block of queries at a time, a block bounded by its non-zero entries (common
    words make a query similar to most fitted texts); blocks of every size give the same neighbours."""
    import routeeval.routers.knn as knn_module

    router = KnnRouter(tiers=TIERS, n_neighbors=5).fit(data.inputs[:200], data.correct()[:200])
    queries = data.inputs[200:] + ["gdpr", "nothing in common zzz"]
    whole = router.neighbours(queries)
    for most_pairs in (1, 50, 5_000):
        monkeypatch.setattr(knn_module, "SIMILARITY_PAIRS", most_pairs)
        matrix, docs = _query_and_doc_matrices(router, queries)
        blocks = list(knn_module._chunks(matrix, docs, router.chunk_rows))
        assert blocks[0][0] == 0 and blocks[-1][1] == matrix.shape[0] and len(blocks) > 1
        assert all(stop > start for start, stop in blocks)
        assert [a.tolist() for a in router.neighbours(queries)] == [a.tolist() for a in whole]


def _query_and_doc_matrices(router, queries):
    from routeeval.routers.featurize import distinct_feature_matrix

    return distinct_feature_matrix(router.featurizer_, list(queries), dense=False)[0], router.doc_groups_[0]


def quantize_list(values):
    from routeeval.runtime import quantize

    return np.array([quantize(float(v)) for v in values])


def test_knn_policy_exports_graded_scores_as_rounded_numbers(data):
    graded = graded_scores(data)
    graded[0] = [0.0, 1.0, 1 / 3]
    router = KnnRouter(tiers=TIERS).fit(data.inputs, graded)
    policy = build_policy(router, "knn", {"rule": "threshold", "threshold": 0.8}, TIER_TABLE)
    correct = policy["router"]["correct"]
    assert correct[0] == [0, 1, 0.333333] and [type(v) for v in correct[0]] == [int, int, float]
    for row, values in zip(graded, correct, strict=True):
        for score, value in zip(row, values, strict=True):
            assert value is None if np.isnan(score) else value == round(float(score), 6)
    assert any(isinstance(v, float) for row in correct for v in row)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(load_schema()).validate(policy)


def test_knn_policy_of_0_1_scores_is_unchanged(data):
    """0/1 outcomes are exported as the integers 0 and 1, as before graded scores: the same bytes."""
    y = data.correct()
    router = KnnRouter(tiers=TIERS).fit(data.inputs, data.score)
    section = router.to_policy()
    assert section["correct"] == [[None if np.isnan(v) else int(v) for v in row] for row in y]
    assert all(v is None or type(v) is int for row in section["correct"] for v in row)
    with np.errstate(invalid="ignore"):
        assert section["prior"] == np.nanmean(y, axis=0).tolist()
    assert "." not in json.dumps(section["correct"])


@pytest.mark.parametrize("n_neighbors", [1, 15])
def test_knn_parity_with_graded_scores(data, n_neighbors):
    """Needs a runtime that reads knn scores as numbers (not ``int(v)``) and adds them in rank order."""
    router = KnnRouter(tiers=TIERS, n_neighbors=n_neighbors).fit(data.inputs, graded_scores(data))
    scores = router.predict_proba(data.inputs)
    assert np.unique(scores).size > 100  # graded votes, not a handful of fractions of k
    for knob in ({"rule": "threshold", "threshold": 0.8}, {"rule": "utility", "lambda": 30.0}):
        runtime = runtime_router(router, "knn", knob)
        decisions = [runtime.route(q) for q in data.inputs]
        assert np.array([d.tier_scores for d in decisions]).tolist() == scores.tolist()
        assert [TIERS.index(d.tier) for d in decisions] == router.decide(data.inputs, knob).tolist()


# -- baselines -------------------------------------------------------------------------------------------------
def test_oracle_takes_the_cheapest_correct_tier():
    correct = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 0], [np.nan, 0, 1], [1, 1, 0]], dtype=float)
    cost = np.array([[1, 2, 3], [1, 2, 3], [2, 1, 3], [1, 2, 3], [5, 2, 3]], dtype=float)
    assert oracle_choice(correct, cost).tolist() == [0, 1, 1, 2, 1]


def test_single_tier_and_seeded_random_mix():
    assert single_tier_choice(4, 2).tolist() == [2, 2, 2, 2]
    mix = random_mix_choice(20_000, [0.5, 0.3, 0.2], random_state=7)
    assert (mix == random_mix_choice(20_000, [0.5, 0.3, 0.2], random_state=7)).all()
    assert np.bincount(mix) / mix.size == pytest.approx([0.5, 0.3, 0.2], abs=0.02)
    with pytest.raises(ValueError, match="shares must be non-negative, one per tier, summing to 1"):
        random_mix_choice(3, [0.5, 0.6])


# -- regularisation chosen by inner cross-validation ----------------------------------------------------------------
def test_auto_C_regularises_noise_more_than_signal():
    from routeeval.routers.base import C_GRID

    texts, noise = noise_rows()
    marked = {f"w{i}" for i in range(30)}
    signal = np.array([[1.0 if marked & set(text.split()) else 0.0] for text in texts])
    assert 0.2 < signal.mean() < 0.8
    on_noise = ClassifierRouter(featurizer={"min_df": 1}).fit(texts, noise)
    on_signal = ClassifierRouter(featurizer={"min_df": 1}).fit(texts, signal)
    assert max(C_GRID) == on_signal.C_  # labels a few words decide: the lightest regularisation wins
    assert on_noise.C_ < on_signal.C_  # coin flips: over-fitting them costs out of sample
    assert ClassifierRouter(C=2.0, featurizer={"min_df": 1}).fit(texts, noise).C_ == 2.0


def test_auto_C_is_chosen_inside_the_rows_fit_is_given():
    from routeeval.routers.base import choose_C, feature_matrix
    from routeeval.runtime import TextFeaturizer

    texts, noise = noise_rows()
    matrix = feature_matrix(TextFeaturizer(min_df=1).fit(texts), texts)
    half = np.arange(len(texts) // 2)
    picked = choose_C(matrix[half], noise[half], max_iter=1000, random_state=0)
    # the rows fit never saw cannot change the choice: relabel them all and choose again
    flipped = noise.copy()
    flipped[len(texts) // 2 :] = 1 - flipped[len(texts) // 2 :]
    assert choose_C(matrix[half], flipped[half], max_iter=1000, random_state=0) == picked


@pytest.mark.parametrize("bad", ["fast", 0, -1.0, True])
def test_C_must_be_auto_or_positive(bad):
    with pytest.raises(ValueError, match="C must be 'auto' or a positive number"):
        ClassifierRouter(C=bad).fit(["a", "b"], [[1.0], [0.0]])


# -- intent router --------------------------------------------------------------------------------------------------
def test_intent_table_shrinks_each_intent_toward_the_overall_mean():
    from routeeval.routers import IntentRouter

    intents = ["billing"] * 10 + ["legal"] * 30 + [None] * 10
    y = np.array([[1.0, 1.0]] * 10 + [[0.0, 1.0]] * 30 + [[1.0, 1.0]] * 10)
    router = IntentRouter(tiers=("small", "large"), prior_rows=10).fit(
        intents, y, cost_usd=np.tile([0.1, 1.0], (50, 1))
    )
    overall = 20 / 50  # small is right on the billing and unlabelled rows
    assert router.intents_ == ["billing", "legal"]
    assert router.predict_proba(["billing"])[0, 0] == pytest.approx((10 + 10 * overall) / 20, abs=1e-6)
    assert router.predict_proba(["legal"])[0, 0] == pytest.approx((0 + 10 * overall) / 40, abs=1e-6)
    assert router.predict_proba(["never seen", None])[:, 0] == pytest.approx([overall, overall], abs=1e-6)
    unshrunk = IntentRouter(prior_rows=0).fit(intents, y)
    assert unshrunk.predict_proba(["billing", "legal"])[:, 0].tolist() == [1.0, 0.0]


def test_intent_rules_decide_as_the_table_for_every_intent_and_an_unseen_one():
    from routeeval.routers import IntentRouter
    from routeeval.runtime import compile_rules, match_rules

    rng = np.random.default_rng(3)
    intents = [f"intent{i % 7}" for i in range(300)]
    y = (rng.random((300, 3)) < np.array([[0.4, 0.7, 0.9]])).astype(float)
    cost = np.tile([0.001, 0.01, 0.1], (300, 1))
    router = IntentRouter(tiers=tuple(TIERS)).fit(intents, y, cost_usd=cost)
    queries = sorted(set(intents)) + ["unseen"]
    for knob in ({"rule": "utility", "lambda": lam} for lam in (0.0, 1.0, 3.0, 10.0, 1e3)):
        rules, default = router.rules(knob)
        compiled = compile_rules(rules, list(TIERS))
        via_rules = []
        for intent in queries:
            number = match_rules(compiled, "any text", {"intent": intent})
            via_rules.append(compiled[number].tier if number >= 0 else TIERS.index(default))
        assert via_rules == router.decide(queries, knob).tolist()


def test_intent_scores_out_of_fold_do_not_see_their_own_row():
    from routeeval.routers import IntentRouter

    intents = [f"solo{i}" for i in range(40)]  # each intent once: out of fold, only the overall mean is known
    y = np.array([[float(i % 2)] for i in range(40)])
    oof = cross_fit(lambda: IntentRouter(), intents, y, folds=5, random_state=0)
    in_sample = IntentRouter(prior_rows=0).fit(intents, y).predict_proba(intents)
    assert (in_sample[:, 0] == y[:, 0]).all()
    assert np.all(np.abs(oof[:, 0] - 0.5) < 0.1)


def test_intent_export_lambda_is_the_cheapest_table_costing_at_least_the_certified_point():
    from routeeval.routers import IntentRouter

    rng = np.random.default_rng(5)
    intents = [f"intent{i % 9}" for i in range(400)]
    y = (rng.random((400, 3)) < np.array([[0.5, 0.75, 0.9]])).astype(float)
    cost = np.tile([0.001, 0.01, 0.1], (400, 1)) * rng.uniform(0.5, 1.5, (400, 1))
    router = IntentRouter(tiers=tuple(TIERS)).fit(intents, y, cost_usd=cost)

    def cost_per_1k(lam):
        decisions = router.decide(intents, {"rule": "utility", "lambda": lam})
        return 1000 * cost[np.arange(400), decisions].mean()

    grid = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 4000)])
    reachable = np.array([cost_per_1k(lam) for lam in grid])
    for target in (0.0, 2.0, 10.0, 30.0, 60.0, reachable.max()):
        lam = router.lambda_costing_at_least(intents, cost, target)
        chosen = cost_per_1k(lam)
        assert chosen >= target
        assert not ((reachable >= target) & (reachable < chosen - 1e-12)).any()  # no cheaper table qualifies
    assert router.lambda_costing_at_least(intents, cost, reachable.max() + 1) == 0.0  # none does: most accurate
