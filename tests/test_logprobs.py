"""Log-probabilities on real providers: the replay asks a cascade's first tiers for them where litellm says the
provider takes them, the cache keys stay honest, the report says which confidence each tier used and why, and
the OpenAI/Anthropic example sets a max_drop its 350 rows can certify."""

from __future__ import annotations

import json
import math
import tomllib

import pytest
from helpers import ROOT, write_config
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.config import OptimizeConfig, Tier, load_config
from routeeval.pipeline import logprob_requests, tiers_asking_logprobs
from routeeval.replay import CallRequest
from routeeval.stats import paired_drop_upper, rows_to_certify
from routeeval.testing.loopback import LoopbackServer

runner = CliRunner()
EXAMPLE = ROOT / "examples" / "routeeval.openai-anthropic.toml"


def _tiers(*models: str, **params: dict) -> list[dict]:
    names = ("small", "medium", "large") if len(models) == 3 else ("small", "large")
    return [
        {"name": name, "model": model, "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0}
        | ({"params": params[name]} if name in params else {})
        for name, model in zip(names, models, strict=True)
    ]


def test_the_cascade_asks_its_first_tiers_where_the_provider_takes_logprobs(tmp_path):
    config = load_config(
        write_config(tmp_path / "c.toml", _tiers("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "openai/gpt-4o"))
    )
    # litellm (offline) lists logprobs for OpenAI, not for Anthropic; the last tier's confidence is never read.
    assert logprob_requests(config) == {"small": "requested", "medium": "not supported", "large": "not needed"}
    asked = {
        tier.name: tier.params.get("logprobs") for tier in tiers_asking_logprobs(config.tiers, logprob_requests(config))
    }
    assert asked == {"small": True, "medium": None, "large": None}


def test_a_tiers_own_logprobs_param_is_left_alone_and_no_cascade_asks_nothing(tmp_path):
    tiers = _tiers("openai/gpt-4o-mini", "openai/gpt-4o", small={"logprobs": False})
    config = load_config(write_config(tmp_path / "c.toml", tiers))
    assert logprob_requests(config) == {"small": "set in params", "large": "not needed"}
    assert tiers_asking_logprobs(config.tiers, logprob_requests(config))[0].params == {"logprobs": False}
    without = load_config(write_config(tmp_path / "d.toml", tiers, optimize={"routers": ["knn", "static"]}))
    assert logprob_requests(without) == {}


def test_asking_for_logprobs_changes_the_cache_key():
    """An answer cached without log-probabilities is never reused as one that has them, nor the other way."""
    plain = Tier("small", "openai/gpt-4o-mini", params={"temperature": 0})
    (asking,) = tiers_asking_logprobs((plain,), {"small": "requested"})
    messages = [{"role": "user", "content": "hi"}]
    assert CallRequest("r1", plain, messages).key != CallRequest("r1", asking, messages).key
    assert plain.params == {"temperature": 0}, "the config's own tier is not changed"


def _evalset(tmp_path, n_rows: int = 40):
    path = tmp_path / "eval.jsonl"
    rows = [{"id": f"q{i}", "input": f"question {i}", "reference": f"answer {i}"} for i in range(n_rows)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _answers(model: str, messages: list[dict]) -> str | None:
    """Every tier right on most rows, each cheap one wrong on its own few (so a verifier has both classes)."""
    number = int(messages[-1]["content"].split()[-1])
    wrong = {"logprob-100": number % 5 == 0, "nologprobs": number % 4 == 0}.get(model.split("/")[-1], False)
    return "something else" if wrong else f"answer {number}"


@pytest.mark.slow
def test_a_run_on_real_providers_asks_for_logprobs_and_says_which_confidence_each_tier_used(tmp_path):
    with LoopbackServer(answers=_answers) as server:
        tiers = [
            {"name": name, "model": f"openai/{model}", "api_base": server.base_url}
            | {"price_in_per_mtok": price, "price_out_per_mtok": price, "api_key_env": "ROUTEEVAL_TEST_KEY"}
            for name, model, price in (
                ("small", "logprob-100", 1.0),
                ("medium", "nologprobs", 2.0),
                ("large", "big", 9),
            )
        ]
        config = write_config(
            tmp_path / "other.toml",
            tiers,
            replay={"cache": str(tmp_path / "cache.sqlite"), "retries": 0},
            optimize={"routers": ["cascade"], "bootstrap": 100, "max_drop": 0.5},
        )
        result = runner.invoke(
            app,
            ["run", str(_evalset(tmp_path)), "--config", str(config), "--out", str(tmp_path / "out")],
            env={"ROUTEEVAL_TEST_KEY": "sk-test", "COLUMNS": "200"},
        )
        asked = {}
        for request in server.requests:
            asked.setdefault(request.model, set()).add(request.body.get("logprobs"))
    assert result.exit_code in (0, 1), result.output
    # The two tiers a cascade can stop at are asked (the loopback is OpenAI-compatible); the last is not.
    assert asked == {"logprob-100": {True}, "nologprobs": {True}, "big": {None}}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [t.get("logprobs") for t in summary["tiers"]] == ["requested", "requested", "not needed"]
    confidence = {entry["tier"]: entry for entry in summary["cascade_confidence"]}
    assert confidence["small"]["source"] == "logprob" and confidence["small"]["logprob_share"] == 1.0
    assert "routeeval asked for them" in confidence["small"]["reason"]
    # The medium tier's provider sends none although asked: the verifier takes over, and the report says why.
    assert confidence["medium"]["source"] == "verifier" and confidence["medium"]["logprob_share"] == 0.0
    assert "none came back although routeeval asked for them" in confidence["medium"]["reason"]
    text = " ".join(result.stdout.split())
    assert "cascade confidence, small: logprob confidence" in text
    assert "cascade confidence, medium: verifier confidence" in text
    for name in ("report.md", "report.html"):
        report = (tmp_path / "out" / name).read_text()
        assert "Cascade confidence per tier" in report and "medium: verifier confidence" in report, name


def test_an_anthropic_tier_falls_back_to_the_verifier_and_the_report_says_why():
    """The optimizer's account of a tier whose provider gives no log-probabilities (litellm: not supported)."""
    import numpy as np

    from routeeval.optimize import cascade_confidence
    from routeeval.outcomes import RouterData

    n = 30
    score = np.array([[float(i % 3 != 0), float(i % 4 != 0), 1.0] for i in range(n)])
    logprobs = np.full((n, 3), np.nan)
    logprobs[:, 0] = -0.2
    responses = np.array([[f"a{i}", f"b{i}", f"c{i}"] for i in range(n)], dtype=object)
    ids = [f"q{i}" for i in range(n)]
    data = RouterData(ids, ids, ["small", "medium", "large"], score, score, score, logprobs, responses)
    tiers = [{"name": "small", "logprobs": "requested"}, {"name": "medium", "logprobs": "not supported"}]
    tiers.append({"name": "large", "logprobs": "not needed"})
    small, medium = cascade_confidence(data, tiers)
    assert small["source"] == "logprob"
    assert medium["source"] == "verifier"
    assert medium["reason"].startswith("its provider returns none (litellm lists no logprobs parameter for it)")


def _smallest_certifiable_drop(n_rows: int, confidence: float, families: int, swapped_share: float) -> float:
    """The accuracy-drop bound routeeval's selection gives a policy as accurate as the baseline that answers
    ``swapped_share / 2`` of the rows right where the baseline is wrong and as many wrong where it is right
    (selection.py: a one-sided paired score test per router variant, at the Bonferroni level), up to 0.01."""
    level = (1 - confidence) / families
    swapped = math.ceil(n_rows * swapped_share / 2)
    bound = float(paired_drop_upper(swapped, swapped, n_rows, level))
    return math.ceil(bound * 100) / 100


def test_the_example_sets_a_max_drop_its_350_rows_can_certify():
    settings = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["optimize"]
    n_rows = sum(1 for line in (ROOT / "evalsets" / "support.jsonl").read_text().splitlines() if line.strip())
    confidence = settings.get("confidence", OptimizeConfig().confidence)
    golden = json.loads((ROOT / "tests" / "golden" / "demo_summary.json").read_text(encoding="utf-8"))
    families = golden["selection"]["families"]  # the same three tiers and routers as the demo
    assert (n_rows, families) == (350, 10)
    assert settings["max_drop"] == _smallest_certifiable_drop(n_rows, confidence, families, swapped_share=0.02)
    level = (1 - confidence) / families
    assert rows_to_certify(settings["max_drop"], level) <= n_rows
    assert rows_to_certify(0.01, level) > n_rows, "the old 0.01 could never be certified on 350 rows"


def test_drift_asks_for_logprobs_where_the_policys_cascade_reads_them():
    """The drift check's paid layer asks as the run did, so the run's cached answers are found and the cascade's
    confidence is not 0 for want of log-probabilities."""
    from routeeval.drift_replay import with_policy_logprobs
    from routeeval.policy import build_policy
    from routeeval.routers import CascadeRouter
    from routeeval.runtime import Router

    texts = ["where is my invoice", "reset my password", "compare clauses", "gdpr request"] * 3
    correct = [[1, 1] if i % 4 < 2 else [0, 1] for i in range(len(texts))]
    fitted = CascadeRouter(tiers=("small", "large")).fit(
        texts, correct, logprob_mean=[[-0.1 if s else -1.5 for s in row] for row in correct]
    )
    entries = [
        {"name": name, "model": model, "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0}
        for name, model in (("small", "openai/gpt-4o-mini"), ("large", "openai/gpt-4o"))
    ]
    router = Router.load(build_policy(fitted, "cascade", {"threshold": 0.5}, entries, guards={}))
    tiers = {
        "small": Tier("small", "openai/gpt-4o-mini", params={"temperature": 0}),
        "large": Tier("large", "openai/gpt-4o"),
    }
    asked = with_policy_logprobs(router, tiers)
    assert asked["small"].params == {"temperature": 0, "logprobs": True}
    assert asked["large"].params == {}, "the last tier's confidence is never read"
    own = {**tiers, "small": Tier("small", "openai/gpt-4o-mini", params={"logprobs": False})}
    assert with_policy_logprobs(router, own)["small"].params == {"logprobs": False}
