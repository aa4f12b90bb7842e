"""Red-team regression suite: replay, cache and outputs under provider faults and colliding input.

Everything goes through litellm's real HTTP path to the loopback server, whose model names choose the fault.
No case may end in a traceback, a silent wrong answer or a wrong dollar figure.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import TEST_KEY, TEST_KEY_ENV, environ_without_keys, write_config
from typer.testing import CliRunner

from routeeval import columns as C
from routeeval.cache import ResponseCache
from routeeval.cli import app
from routeeval.config import ReplayConfig, Tier
from routeeval.outcomes import read_outcomes
from routeeval.pricing import TierPrice
from routeeval.replay import CallRequest, replay_calls
from routeeval.testing.loopback import LoopbackServer

runner = CliRunner()
QUESTION = [{"role": "user", "content": "how do I export my invoices as CSV?"}]


def _tier(server, model: str, name: str | None = None, base: str | None = None, **params) -> Tier:
    return Tier(
        name=name or model,
        model=f"openai/{model}",
        api_base=base or server.base_url,
        api_key_env=TEST_KEY_ENV,
        price_in_per_mtok=1.0,
        price_out_per_mtok=2.0,
        params=params,
    )


def _replay(tmp_path, requests, *tiers):
    settings = ReplayConfig(concurrency=2, timeout_s=5.0, retries=1, cache=str(tmp_path / "c.sqlite"))
    prices = {t.name: TierPrice(t.name, t.model, 1.0, 2.0, "config") for t in tiers}
    with ResponseCache(settings.cache) as cache:
        return replay_calls(requests, prices, settings, cache)


@pytest.mark.parametrize(
    ("model", "kind", "text"),
    [
        ("emptychoices", "bad response", "the reply has no choices"),
        ("nullcontent", "bad response", "the reply's message has no text content"),
        ("negusage", "bad response", "the reply's usage is negative"),
        ("hugeusage", "bad response", "the reply's usage claims 10,000,000 completion"),
        ("badjson", "server error", "Expecting value"),
        ("reset", "connection", "Connection error"),
        ("unauth", "auth", "Incorrect API key"),
        ("notfound", "not found", "does not exist"),
    ],
)
def test_a_reply_that_is_not_an_answer_is_an_error_never_a_wrong_answer(loopback, tmp_path, model, kind, text):
    tier = _tier(loopback, model, max_tokens=64)
    (result,) = _replay(tmp_path, [CallRequest("q1", tier, QUESTION)], tier).results
    assert not result.ok and result.response is None and result.cost_usd is None
    assert result.error_kind == kind and text in result.error
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        assert cache.stats()["entries"] == 0, "errors are never cached"


def test_a_reply_without_usage_is_priced_from_its_text_and_flagged(loopback, tmp_path):
    tier = _tier(loopback, "nousage")
    (result,) = _replay(tmp_path, [CallRequest("q1", tier, QUESTION)], tier).results
    assert result.ok and result.usage_estimated
    assert result.prompt_tokens == math.ceil(len(QUESTION[0]["content"]) / 4)
    assert result.completion_tokens == math.ceil(len(result.response) / 4)
    assert result.cost_usd == pytest.approx((result.prompt_tokens * 1.0 + result.completion_tokens * 2.0) / 1e6)
    (again,) = _replay(tmp_path, [CallRequest("q1", tier, QUESTION)], tier).results
    assert again.cached and again.usage_estimated, "the flag survives the cache"


def test_two_tiers_with_one_model_on_two_endpoints_never_share_an_answer(tmp_path):
    one = LoopbackServer(answers=lambda model, messages: "from endpoint one")
    two = LoopbackServer(answers=lambda model, messages: "from endpoint two")
    with one, two:
        first = _tier(one, "same-model", name="first")
        second = _tier(two, "same-model", name="second", base=two.base_url)
        requests = [CallRequest("q1", first, QUESTION), CallRequest("q1", second, QUESTION)]
        for _ in range(2):  # a fresh cache, then a warm one
            report = _replay(tmp_path, requests, first, second)
            assert [(r.tier, r.response) for r in report.results] == [
                ("first", "from endpoint one"),
                ("second", "from endpoint two"),
            ]
        assert one.count() == 1 and two.count() == 1


def test_identical_tiers_share_one_call_and_each_keeps_its_own_name(loopback, tmp_path):
    first, twin = _tier(loopback, "plain", name="first"), _tier(loopback, "plain", name="twin")
    report = _replay(tmp_path, [CallRequest("q1", first, QUESTION), CallRequest("q1", twin, QUESTION)], first, twin)
    assert [r.tier for r in report.results] == ["first", "twin"] and loopback.count() == 1


def _run_files(tmp_path, server, models, eval_rows, log_rows=None):
    evalset = tmp_path / "eval.jsonl"
    evalset.write_text("".join(json.dumps(r) + "\n" for r in eval_rows), encoding="utf-8")
    args = ["run", evalset]
    if log_rows is not None:
        logs = tmp_path / "logs.jsonl"
        logs.write_text("".join(json.dumps(r) + "\n" for r in log_rows), encoding="utf-8")
        args += ["--logs", logs]
    tiers = [
        {"name": m, "model": f"openai/{m}", "api_base": server.base_url, "api_key_env": TEST_KEY_ENV}
        | {"price_in_per_mtok": 1.0 + i, "price_out_per_mtok": 2.0 + i}
        for i, m in enumerate(models)
    ]
    config = write_config(
        tmp_path / "routeeval.toml",
        tiers,
        replay={"concurrency": 2, "retries": 1, "backoff_base_s": 0.01, "cache": str(tmp_path / "c.sqlite")},
        scoring={"scorer": "exact"},
        optimize={"routers": ["static"], "max_drop": 0.5, "bootstrap": 100},
    )
    return [*args, "--config", config, "--out", tmp_path / "out", "--no-progress"]


@pytest.mark.slow
def test_log_ids_equal_to_eval_ids_never_replace_eval_answers(tmp_path):
    # Both files numbered 1..N, as is common: the log rows ask other questions.
    answers = {f"eval question {i}": f"eval answer {i}" for i in range(30)}
    with LoopbackServer(answers=answers) as server:
        args = _run_files(
            tmp_path,
            server,
            ["small", "large"],
            [{"id": str(i), "input": f"eval question {i}", "reference": f"eval answer {i}"} for i in range(30)],
            [{"id": str(i), "input": f"log question {i}"} for i in range(10)],
        )
        result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    frame = read_outcomes(tmp_path / "out" / "outcomes.parquet")
    scored = frame[frame[C.SOURCE] == C.SOURCE_EVAL]
    assert (scored[C.SCORE] == 1.0).all(), "every eval row is scored against its own answer"
    logs = frame[frame[C.SOURCE] == C.SOURCE_LOG]
    assert set(logs[C.ROW_ID]) == {f"log:{i}" for i in range(10)}
    assert not set(logs[C.ROW_ID]) & set(scored[C.ROW_ID]), "eval rows and log rows never share a key"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("10 log ids are also eval-set ids" in note for note in summary["notes"])


@pytest.mark.slow
def test_a_run_with_estimated_usage_says_so(tmp_path):
    with LoopbackServer(answers=lambda model, messages: "ok") as server:
        rows = [{"id": str(i), "input": f"q {i}", "reference": "ok"} for i in range(30)]
        args = _run_files(tmp_path, server, ["nousage-small", "large"], rows)
        result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["replay"]["usage_estimated"] == 30
    assert any(n.startswith("usage estimated: the provider gave no token counts for 30") for n in summary["notes"])
    frame = read_outcomes(tmp_path / "out" / "outcomes.parquet")
    assert frame.loc[frame[C.TIER] == "nousage-small", C.USAGE_ESTIMATED].all()
    assert not frame.loc[frame[C.TIER] == "large", C.USAGE_ESTIMATED].any()


def test_renderers_cope_with_every_figure_missing(tmp_path):
    from rich.console import Console

    from routeeval.report.terminal import render_run
    from routeeval.report.write import write_reports
    from routeeval.summary import RunSummary

    tiers = ["small", "large"]
    missing = {"accuracy": None, "accuracy_ci": [None, None], "cost_per_1k_usd": None}
    summary = {
        "tiers": [{"name": t, "model": t} for t in tiers],
        "single_tiers": [{"tier": t, **missing, "latency_p50_ms": None, "latency_p95_ms": None} for t in tiers],
        "baseline": {"tier": "large", **missing},
        "chosen": {"router": "tier", "variant": "large", **missing, "accuracy_drop": None, "savings_share": None},
        "frontier": [{"router": "tier", "variant": "large", **missing, "tier_share": {}}],
        "metrics": {"aiq": {"static": None}, "zero_router_aiq": None},
        "replay": {"calls": 2, "errors": 2, "wall_s": None, "spent_usd": None},
        "spend": {"spent_usd": None, "budget_usd": None, "by_phase": {}},
        "selection": {},
        "holdout": {"rows": 3, "chosen": {"accuracy": None}},
        "production_mix": {"rows": 4, "policy_cost_per_1k_usd": None},
        "logs": {"agreement": [{"tier": t, **missing} for t in tiers]},
    }

    class Result:
        notes: list[str] = []
        simulated = False
        outcomes_path = policy_path = summary_path = tmp_path / "x"
        reports: dict = {}

    Result.summary = RunSummary.from_json(summary)
    render_run(Result(), Console(file=open(os.devnull, "w"), width=100))  # noqa: SIM115 - closed with the process
    import pandas as pd

    frame = pd.DataFrame(columns=[C.ROW_ID, C.TIER, C.SCORE, C.COST_USD])
    write_reports(tmp_path, RunSummary.from_json(summary), frame, [])


@pytest.mark.slow
def test_a_kill_during_the_writes_never_leaves_a_truncated_output(tmp_path):
    """Kill runs at random moments while they write: every file present is a whole one (atomic writes), and a
    folder with summary.json holds a complete run."""
    env = environ_without_keys()
    env[TEST_KEY_ENV] = TEST_KEY
    with LoopbackServer() as server:
        args = _run_files(
            tmp_path,
            server,
            ["small", "large"],
            [{"id": str(i), "input": f"q {i}", "reference": "x"} for i in range(30)],
        )
        command = [sys.executable, "-m", "routeeval.cli", *map(str, args)]
        done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert done.returncode in (0, 1), done.stderr  # every call is now cached: reruns only write
        for delay in (0.5, 1.5, 2.5, 3.5):
            child = subprocess.Popen(
                command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            child.wait()
            out = tmp_path / "out"
            for name in ("policy.json", "summary.json"):
                if (out / name).exists():
                    json.loads((out / name).read_text())  # whole, parseable JSON
            if (out / "outcomes.parquet").exists():
                read_outcomes(out / "outcomes.parquet")
            if (out / "summary.json").exists():
                assert all((out / name).exists() for name in ("policy.json", "report.html", "report.md"))
