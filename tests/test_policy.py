"""policy.json: building, validating, writing, and the JSON Schema shipped in the package."""

from __future__ import annotations

import copy
import json
import math
from importlib import resources

import pytest

from routeeval import policy as P
from routeeval.errors import PolicyError
from routeeval.policy import build_policy, load_router, load_schema, validate_policy, write_policy
from routeeval.routers import CascadeRouter, ClassifierRouter, KnnRouter, LLMRouter, StaticRouter
from routeeval.runtime import Router, TextFeaturizer, policy_checksum

TIERS = ["small", "large"]
TIER_TABLE = [
    {"name": "small", "model": "openai/gpt-4o-mini", "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6},
    {"name": "large", "model": "openai/gpt-4o", "price_in_per_mtok": 2.5, "price_out_per_mtok": 10.0},
]
TEXTS = ["where is my invoice", "invoice copy", "contract clause review", "gdpr contract", "reset password", "hi"] * 3
CORRECT = [[1, 1], [1, 1], [0, 1], [0, 1], [1, 0], [1, 1]] * 3
RESPONSES = [["ok " + t, "fine " + t] for t in TEXTS]


def fitted_policies() -> dict[str, dict]:
    featurizer = {"min_df": 1}
    routers = {
        "static": (
            StaticRouter(tiers=TIERS, rules=({"tier": "large", "keywords": ["gdpr"]},)).fit(),
            {"length_cutoff_chars": 30},
        ),
        "classifier": (
            ClassifierRouter(tiers=TIERS, featurizer=featurizer).fit(TEXTS, CORRECT),
            {"rule": "threshold", "threshold": 0.6},
        ),
        "knn": (
            KnnRouter(tiers=TIERS, n_neighbors=3, featurizer=featurizer).fit(TEXTS, CORRECT),
            {"rule": "utility", "lambda": 2.0},
        ),
        "cascade": (
            CascadeRouter(tiers=TIERS, featurizer=featurizer, response_featurizer=featurizer).fit(
                TEXTS, CORRECT, responses=RESPONSES
            ),
            {"threshold": 0.5},
        ),
        "llm": (LLMRouter(tiers=TIERS).fit(TEXTS, intents=["billing", "legal"]), {}),
    }
    expected = {"accuracy": 0.91, "accuracy_ci": [0.88, 0.94], "savings_share": float("nan")}
    provenance = {"evalset_sha256": "ab" * 32, "rows": len(TEXTS), "selection_rule": "max_drop 0.01 at 95%"}
    return {
        kind: build_policy(router, kind, knob, TIER_TABLE, expected=expected, provenance=provenance)
        for kind, (router, knob) in routers.items()
    }


@pytest.fixture(scope="module")
def policies():
    return fitted_policies()


def test_schema_ships_in_the_package_as_valid_json():
    text = resources.files("routeeval").joinpath("policy.schema.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["schema"]["const"] == "routeeval.policy/v1"


def test_schema_required_keys_and_types_match_the_validator():
    schema = load_schema()
    tables = {"tier": P.TIER_FIELDS, "guards": P.GUARD_FIELDS, "provenance": P.PROVENANCE_FIELDS}
    tables["featurizer"] = P.FEATURIZER_FIELDS
    tables["reference"] = P.REFERENCE_FIELDS
    tables |= {f"router_{kind}": fields for kind, fields in P.ROUTER_FIELDS.items()}
    tables |= {f"knob_{kind}": fields for kind, fields in P.KNOB_FIELDS.items()}
    assert schema["required"] == list(P.TOP_FIELDS)
    assert set(schema["$defs"]) == set(tables)
    for name, fields in [("top", P.TOP_FIELDS), *tables.items()]:
        node = schema if name == "top" else schema["$defs"][name]
        assert node["required"] == list(fields), name
        for key, kinds in fields.items():
            declared = node["properties"][key].get("type")
            if declared is not None:
                declared = declared if isinstance(declared, list) else [declared]
                assert declared == kinds.split("|"), (name, key)
    kinds = schema["properties"]["kind"]["enum"]
    assert (
        kinds == sorted(P.ROUTER_FIELDS) == [branch["if"]["properties"]["kind"]["const"] for branch in schema["allOf"]]
    )


@pytest.mark.parametrize("kind", ["cascade", "classifier", "knn", "llm", "static"])
def test_built_policies_satisfy_the_json_schema(policies, kind):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(load_schema())
    jsonschema.Draft202012Validator(load_schema()).validate(policies[kind])


@pytest.mark.parametrize("kind", ["cascade", "classifier", "knn", "llm", "static"])
def test_written_policy_is_plain_json_that_the_runtime_loads(policies, kind, tmp_path):
    path = write_policy(policies[kind], tmp_path / "out" / "policy.json")
    raw = path.read_bytes()
    assert raw.startswith(b"{") and b"NaN" not in raw  # JSON text, never a pickle
    loaded = json.loads(raw)
    assert loaded == policies[kind]
    assert Router.load(path).kind == kind


def test_build_policy_fills_guards_provenance_and_a_checksum(policies):
    policy = policies["classifier"]
    assert list(policy) == list(P.TOP_FIELDS)
    assert policy["guards"] == {
        "fallback_tier": "large",
        "daily_cost_ceiling_usd": None,
        "max_escalations": 2,
        "on_ceiling": "cheapest",
    }
    assert policy["provenance"]["routeeval_version"] == P.__version__
    assert policy["provenance"]["rows"] == len(TEXTS) and policy["provenance"]["cost_map_version"] is None
    assert policy["expected"] == {"accuracy": 0.91, "accuracy_ci": [0.88, 0.94], "savings_share": None}
    assert policy["checksum"] == policy_checksum(policy)
    assert policy["tiers"] == TIER_TABLE


def test_build_policy_accepts_config_tier_objects():
    from routeeval.config import Tier

    tiers = [Tier(name=t["name"], model=t["model"]) for t in TIER_TABLE]
    router = StaticRouter(tiers=TIERS).fit()
    policy = build_policy(router, "static", {"length_cutoff_chars": None}, tiers)
    assert policy["tiers"][0] == {
        "name": "small",
        "model": "openai/gpt-4o-mini",
        "price_in_per_mtok": None,
        "price_out_per_mtok": None,
    }


def test_build_policy_refuses_what_the_runtime_could_not_load():
    router = StaticRouter(tiers=TIERS).fit().to_policy()
    with pytest.raises(
        PolicyError, match=r"^policy guards.fallback_tier is 'medium'; the policy's tiers are: small, large\.$"
    ):
        build_policy(router, "static", {"length_cutoff_chars": None}, TIER_TABLE, guards={"fallback_tier": "medium"})
    broken = ClassifierRouter(tiers=TIERS, featurizer={"min_df": 1}).fit(TEXTS, CORRECT).to_policy()
    broken["models"][0]["coef"] = broken["models"][0]["coef"][:-1]
    with pytest.raises(PolicyError, match=r"^policy: a model has \d+ coefficients for \d+ features\.$"):
        build_policy(broken, "classifier", {"rule": "threshold", "threshold": 0.5}, TIER_TABLE)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p.pop("guards"), "policy: key 'guards' is missing."),
        (
            lambda p: p.update(kind="forest"),
            "policy: kind is 'forest'; choose from: cascade, classifier, knn, llm, static.",
        ),
        (lambda p: p.update(checksum="md5:abc"), "policy: checksum must look like sha256:<64 hex digits>."),
        (lambda p: p["tiers"][0].pop("model"), "policy tiers[1]: key 'model' is missing."),
        (
            lambda p: p["tiers"][1].update(price_in_per_mtok="2.5"),
            "policy tiers[2]: key 'price_in_per_mtok' must be number or null, got '2.5'.",
        ),
        (lambda p: p["guards"].update(max_escalations=-1), "policy: guards.max_escalations must be 0 or more."),
        (lambda p: p["knob"].pop("threshold"), "policy knob: key 'threshold' is missing."),
        (lambda p: p["knob"].update(rule="greedy"), "policy: knob.rule is 'greedy'; choose from: threshold, utility."),
        (lambda p: p["router"]["featurizer"].pop("idf"), "policy router.featurizer: key 'idf' is missing."),
        (lambda p: p["router"]["models"].pop(), "policy: router.models has 1 entries for 2 tiers."),
        (lambda p: p["provenance"].update(rows=1.5), "policy provenance: key 'rows' must be integer or null, got 1.5."),
        (
            lambda p: p.update(schema="routeeval.policy/v3"),
            "policy has schema routeeval.policy/v3; this version of routeeval writes routeeval.policy/v1.",
        ),
    ],
)
def test_validate_policy_names_the_first_problem(policies, edit, message):
    policy = copy.deepcopy(policies["classifier"])
    edit(policy)
    with pytest.raises(PolicyError) as caught:
        validate_policy(policy)
    assert str(caught.value) == message


def test_validate_policy_checks_tier_references(policies):
    policy = copy.deepcopy(policies["cascade"])
    policy["router"]["order"] = ["small", "medium"]
    with pytest.raises(PolicyError, match=r"^policy router.order is 'medium'; the policy's tiers are: small, large\.$"):
        validate_policy(policy)
    policy = copy.deepcopy(policies["llm"])
    policy["router"]["mapping"]["hard"] = "xl"
    with pytest.raises(PolicyError, match=r"^policy router.mapping\['hard'\] is 'xl'"):
        validate_policy(policy)


def test_infinite_numbers_never_reach_the_file(policies):
    policy = copy.deepcopy(policies["static"])
    policy["guards"]["daily_cost_ceiling_usd"] = math.inf
    with pytest.raises(PolicyError, match="key 'daily_cost_ceiling_usd' must be number or null"):
        validate_policy(policy)


def test_load_router_turns_runtime_errors_into_routeeval_errors(policies, tmp_path):
    from routeeval.errors import RouteEvalError

    path = write_policy(policies["static"], tmp_path / "policy.json")
    assert load_router(path).kind == "static"
    path.write_text(path.read_text(encoding="utf-8").replace('"cheapest"', '"fallback"'), encoding="utf-8")
    with pytest.raises(RouteEvalError, match=r"policy.json was modified after routeeval wrote it"):
        load_router(path)


def test_one_except_catches_a_bad_policy_from_every_entry_point(policies, tmp_path):
    from routeeval import runtime
    from routeeval.errors import EXIT_BAD_INPUT, RouteEvalError

    assert issubclass(PolicyError, RouteEvalError) and issubclass(PolicyError, runtime.PolicyError)
    path = write_policy(policies["static"], tmp_path / "policy.json")
    path.write_text(path.read_text(encoding="utf-8").replace('"cheapest"', '"fallback"'), encoding="utf-8")
    broken = copy.deepcopy(policies["static"])
    del broken["guards"]
    entry_points = [
        lambda: Router.load(path),  # the runtime's own error
        lambda: load_router(path),  # routeeval's, for the CLI
        lambda: validate_policy(broken),
        lambda: build_policy(StaticRouter(tiers=TIERS).fit(), "static", {"length_cutoff_chars": 10}, []),
    ]
    for number, call in enumerate(entry_points):
        with pytest.raises(runtime.PolicyError) as caught:
            call()
        assert number == 0 or caught.value.exit_code == EXIT_BAD_INPUT


def test_schema_states_the_runtime_limits():
    from routeeval import runtime

    featurizer = load_schema()["$defs"]["featurizer"]["properties"]
    prefix = featurizer["prefix_chars"]
    assert (prefix["minimum"], prefix["maximum"], prefix["default"]) == (
        1,
        runtime.MAX_PREFIX_CHARS,
        runtime.PREFIX_CHARS,
    )
    assert featurizer["word_ngrams"]["items"]["maximum"] == runtime.MAX_WORD_NGRAM
    assert featurizer["char_ngrams"]["items"]["maximum"] == runtime.MAX_CHAR_NGRAM
    assert "prefix_chars" not in P.FEATURIZER_FIELDS  # optional: policies written before it still validate


@pytest.mark.parametrize(
    ("key", "value"), [("prefix_chars", 0), ("prefix_chars", 200_000), ("word_ngrams", [1, 6]), ("char_ngrams", [3])]
)
def test_json_schema_refuses_featurizers_the_runtime_refuses(policies, key, value):
    jsonschema = pytest.importorskip("jsonschema")
    policy = copy.deepcopy(policies["classifier"])
    policy["router"]["featurizer"][key] = value
    assert not jsonschema.Draft202012Validator(load_schema()).is_valid(policy)
    with pytest.raises(PolicyError, match=rf"^policy: router.featurizer: {key} is "):
        load_router(policy | {"checksum": policy_checksum(policy)})


def test_offline_routers_and_the_runtime_decide_long_queries_from_the_same_prefix():
    featurizer = {"min_df": 1, "prefix_chars": 40}
    tail = " gdpr contract clause review" * 20  # past the prefix: neither side reads it
    texts = [text + tail if number % 2 else text for number, text in enumerate(TEXTS)]
    queries = [text + tail for text in TEXTS[:6]] + ["x" * 39 + " invoice", "invoice " * 5000]
    routers = {
        "classifier": (
            ClassifierRouter(tiers=TIERS, featurizer=featurizer).fit(texts, CORRECT),
            {"rule": "threshold", "threshold": 0.6},
        ),
        "knn": (KnnRouter(tiers=TIERS, n_neighbors=3, featurizer=featurizer).fit(texts, CORRECT), None),
    }
    for kind, (router, knob) in routers.items():
        assert router.featurizer_.to_dict() == TextFeaturizer(**featurizer).fit([t[:40] for t in texts]).to_dict()
        knob = knob or {"rule": "utility", "lambda": 2.0}
        runtime = load_router(build_policy(router, kind, knob, TIER_TABLE))
        assert runtime.featurizer.prefix_chars == 40
        offline = router.predict_proba(queries)
        for row, query in enumerate(queries):
            assert runtime.route(query).tier_scores == tuple(offline[row]), (kind, query[:50])
