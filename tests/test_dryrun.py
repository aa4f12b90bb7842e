"""routeeval run --dry-run: the calls a run would make, what is cached, tokens and dollars, and nothing called.

The tiers point at the loopback server, which counts every request it gets: a dry run must leave it at zero.
"""

from __future__ import annotations

import json
import socket

import pytest
from helpers import DATA, TEST_KEY_ENV, write_config
from typer.testing import CliRunner

from routeeval.cache import CachedResponse, ResponseCache
from routeeval.cli import app
from routeeval.config import load_config
from routeeval.pipeline import plan_run
from routeeval.testing.loopback import LoopbackServer

runner = CliRunner()
N_EVAL, N_LOGS = 12, 4  # tests/data/mini_eval.jsonl, mini_logs.jsonl
# The log row "hi" asks what eval row m-01 asks: one request per tier, made once and shared.
SHARED = 1


def _answers(model, messages):
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if "SCORE:" in system:
        return "The answer matches.\nSCORE: 8"
    if "triage" in system:
        return "easy"
    return None  # the loopback's own deterministic answer


@pytest.fixture()
def server():
    with LoopbackServer(answers=_answers) as running:
        yield running


def _config(tmp_path, server, *, max_tokens=(64, None), judge=True, **replay):
    tiers = [
        {
            "name": name,
            "model": f"openai/{name}-model",
            "api_base": server.base_url,
            "api_key_env": TEST_KEY_ENV,
            "price_in_per_mtok": price_in,
            "price_out_per_mtok": price_in * 4,
            **({"params": {"max_tokens": tokens}} if tokens else {}),
        }
        for name, price_in, tokens in (("cheap", 0.5, max_tokens[0]), ("strong", 5.0, max_tokens[1]))
    ]
    sections = {
        "replay": {"cache": "cache.sqlite", "retries": 0, **replay},
        "optimize": {"baseline": "strong"},
    }
    if judge:
        sections["scoring"] = {"scorer": "judge", "judge_tier": "strong"}
    return write_config(tmp_path / "routeeval.toml", tiers, **sections)


def _dry_run(config, *args):
    result = runner.invoke(
        app,
        ["run", str(DATA / "mini_eval.jsonl"), "--logs", str(DATA / "mini_logs.jsonl"), "--config", str(config)]
        + [str(a) for a in args]
        + ["--dry-run", "--json"],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _phase(record, phase, tier):
    (entry,) = [e for e in record["phases"] if e["phase"] == phase and e["tier"] == tier]
    return entry


def test_a_dry_run_lists_every_paid_call_and_calls_nothing(tmp_path, server):
    config = _config(tmp_path, server)
    record = _dry_run(config, "--out", tmp_path / "out")

    assert server.count() == 0, "a dry run must not call any model"
    assert not (tmp_path / "cache.sqlite").exists(), "nor create the cache"
    assert not (tmp_path / "out").exists(), "nor write a run folder"
    assert record["cache"] == {"path": str(tmp_path / "cache.sqlite"), "exists": False}
    for tier in ("cheap", "strong"):
        replay = _phase(record, "replay", tier)
        assert (replay["calls"], replay["cached"], replay["to_call"]) == (N_EVAL + N_LOGS, 0, N_EVAL + N_LOGS - SHARED)
    # The judge grades every eval answer, and each log answer against the baseline's (whose own agrees by definition)
    judge = _phase(record, "judge", "strong")
    assert judge["calls"] == judge["to_call"] == judge["prompts_estimated"] == 2 * N_EVAL + N_LOGS
    triage = _phase(record, "triage", "cheap")  # the llm router asks the cheapest tier about every eval row
    assert (triage["calls"], triage["to_call"]) == (N_EVAL, N_EVAL)

    cheap = _phase(record, "replay", "cheap")
    assert cheap["completion_tokens"] == 64 * cheap["to_call"]  # params.max_tokens
    strong = _phase(record, "replay", "strong")
    assert strong["completion_tokens"] == 256 * strong["to_call"]  # the stated default: strong sets no max_tokens
    assert cheap["usd"] == pytest.approx((cheap["prompt_tokens"] * 0.5 + cheap["completion_tokens"] * 2.0) / 1e6)
    assert record["total"]["to_call"] == sum(e["to_call"] for e in record["phases"])
    assert record["total"]["usd"] == pytest.approx(sum(e["usd"] for e in record["phases"]))
    assert record["fits"] is None and "no budget is set" in record["verdict"]
    assert any("'strong': 256 a call (an assumption" in line for line in record["assumptions"])
    assert record["problems"] == []


def test_the_terminal_view_shows_the_table_the_verdict_and_the_assumptions_verbatim(tmp_path, server):
    config = _config(tmp_path, server)
    args = ["run", str(DATA / "mini_eval.jsonl"), "--logs", str(DATA / "mini_logs.jsonl"), "--config", str(config)]
    shown = runner.invoke(app, [*args, "--dry-run"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.split())
    assert "Dry run: what `routeeval run` would call (nothing was called)" in text
    assert "budget: estimated $" in text and "no budget is set" in text
    assert "[optimize] baseline fixes it" in text  # the record's words, not read as rich markup
    assert "openai/strong-model" in text and server.count() == 0


def test_the_budget_verdict_compares_the_estimate_with_max_cost(tmp_path, server):
    config = _config(tmp_path, server, max_cost_usd=100.0)
    roomy = _dry_run(config)
    assert roomy["fits"] is True and roomy["budget_usd"] == 100.0 and roomy["verdict"].startswith("fits:")
    tight = _dry_run(config, "--max-cost", "0.0001")  # the option overrides the file, as in the run
    assert tight["fits"] is False and tight["verdict"].startswith("does not fit: estimated $")
    assert server.count() == 0


def test_what_the_cache_holds_is_counted_as_cached_with_the_replays_keys(tmp_path, server):
    config = _config(tmp_path, server)
    settings = load_config(config)
    plan = plan_run(DATA / "mini_eval.jsonl", settings, logs_path=DATA / "mini_logs.jsonl")
    cheap_requests = [r for r in plan.requests if r.tier.name == "cheap"]
    with ResponseCache(settings.replay.cache) as cache:
        for request in cheap_requests:
            cache.put(request.key, request.tier.model, CachedResponse(f"answer to {request.row_id}", 20, 7, 0.0, 1.0))
    record = _dry_run(config)

    cheap = _phase(record, "replay", "cheap")
    assert (cheap["cached"], cheap["to_call"], cheap["usd"]) == (N_EVAL + N_LOGS, 0, 0.0)
    assert _phase(record, "replay", "strong")["to_call"] == N_EVAL + N_LOGS - SHARED
    judge = _phase(record, "judge", "strong")
    # cheap's eval answers are known now: those judge prompts are exact; the rest still wait for an answer
    assert judge["prompts_estimated"] == judge["to_call"] - N_EVAL
    assert server.count() == 0

    # strong sets no max_tokens: once some of its answers are cached, their mean length is the assumption
    strong_requests = [r for r in plan.requests if r.tier.name == "strong"][:4]
    with ResponseCache(settings.replay.cache) as cache:
        for request, tokens in zip(strong_requests, (20, 30, 40, 50), strict=True):
            cache.put(request.key, request.tier.model, CachedResponse("an answer", 20, tokens, 0.0, 1.0))
    strong = _phase(_dry_run(config), "replay", "strong")
    assert strong["cached"] == 4 + SHARED  # m-01's answer also serves the log row asking the same
    assert strong["completion_tokens"] == 35 * strong["to_call"]  # the mean of the 4 distinct answers
    assert server.count() == 0


def test_a_tier_without_a_price_says_no_price_not_zero(tmp_path, server):
    config = write_config(
        tmp_path / "routeeval.toml",
        [
            {"name": "known", "model": "openai/gpt-4o-mini", "api_base": server.base_url},
            {"name": "mystery", "model": "openai/no-such-model-anywhere", "api_base": server.base_url},
        ],
        replay={"cache": "cache.sqlite"},
        optimize={"routers": ["static"]},
    )
    record = _dry_run(config)
    mystery = _phase(record, "replay", "mystery")
    assert (mystery["usd"], mystery["priced"]) == (None, False)
    assert _phase(record, "replay", "known")["usd"] > 0
    assert record["total"]["usd"] is None and record["total"]["unpriced_tiers"] == ["mystery"]
    assert record["fits"] is None and record["verdict"].startswith("cannot tell whether the run fits")
    assert "'mystery'" in record["problems"][0] and "would stop before its first call" in record["problems"][0]

    shown = runner.invoke(app, ["run", str(DATA / "mini_eval.jsonl"), "--config", str(config), "--dry-run"])
    assert shown.exit_code == 0, shown.output
    assert "no price" in shown.stdout and "$0.0000" not in shown.stdout.split("mystery")[1].splitlines()[0]
    assert "nothing was called" in shown.stdout
    assert server.count() == 0


def test_an_unset_key_variable_is_named_as_what_would_stop_the_run(tmp_path, server, monkeypatch):
    monkeypatch.delenv(TEST_KEY_ENV)
    record = _dry_run(_config(tmp_path, server))
    assert record["problems"] == [
        f"tier '{name}': environment variable {TEST_KEY_ENV} is not set (named by api_key_env); the run would stop "
        "before its first call."
        for name in ("cheap", "strong")
    ]


def test_prompt_tokens_are_counted_offline_even_when_litellm_may_download(monkeypatch):
    """litellm fetches the Llama (and Cohere) tokenizers from Hugging Face unless offline: the dry run never asks it
    to; tiktoken's cl100k_base stands in and the notes say so. Bundled tokenizers are used as litellm would."""
    from routeeval.config import Tier
    from routeeval.dryrun import PromptCounter

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("the network is closed in this test")

    monkeypatch.setenv("LITELLM_OFFLINE_MODE", "false")
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    counter = PromptCounter()
    messages = [{"role": "user", "content": "Where is my October invoice? I need it as a PDF for my accountant."}]
    models = {
        "llama": "groq/llama-3.1-8b-instant",
        "llama2": "replicate/meta/llama-2-70b-chat",
        "claude": "anthropic/claude-haiku-4-5",
        "deepseek": "deepseek/deepseek-chat",
        "openai": "openai/gpt-4o-mini",
        "simulated": "routeeval-sim/gpt-4o-mini",
    }
    counts = {name: counter.count(model, messages) for name, model in models.items()}
    assert attempts == []
    assert all(10 < n < 40 for n in counts.values()), counts
    assert {name: counter.tokenizer(model)[1] for name, model in models.items()} == {
        "llama": "stand-in",
        "llama2": "stand-in",
        "claude": "anthropic",
        "deepseek": "deepseek",
        "openai": "cl100k_base",
        "simulated": "cl100k_base",  # priced and counted like the model it stands for
    }
    notes = counter.notes((Tier("local", models["llama"]), Tier("small", models["openai"])))
    assert "standing in, an estimate" in notes[0] and "Hugging Face" in notes[0]
    assert "cl100k_base" in notes[1]


@pytest.mark.slow
def test_the_dry_run_predicts_the_calls_the_run_makes_and_then_finds_them_cached(tmp_path, server):
    config = _config(tmp_path, server)
    before = _dry_run(config)
    assert server.count() == 0

    run = runner.invoke(
        app,
        ["run", str(DATA / "mini_eval.jsonl"), "--logs", str(DATA / "mini_logs.jsonl"), "--config", str(config)]
        + ["--out", str(tmp_path / "out"), "--json"],
    )
    assert run.exit_code in (0, 1), run.output
    summary = json.loads(run.stdout)
    for phase, spent in summary["spend"]["phases"].items():
        predicted = sum(e["to_call"] for e in before["phases"] if e["phase"] == phase)
        assert spent["calls_made"] == predicted, phase
    assert server.count() == before["total"]["to_call"]

    after = _dry_run(config)
    assert after["total"]["to_call"] == 0 and after["total"]["cached"] == after["total"]["calls"]
    assert after["verdict"] == "every call is in the cache: the run would pay nothing" and after["fits"] is True
    assert server.count() == before["total"]["to_call"]
