"""The run pipeline on the loopback server: one budget over every paid call, unscored rows shown with their
reason, log agreement through the configured judge, and tiers that cannot answer stopping the run (exit 3)."""

from __future__ import annotations

import json
import re

import pytest
from helpers import TEST_KEY_ENV, write_config
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.replay import STOP_AFTER
from routeeval.testing.loopback import LoopbackServer

pytestmark = pytest.mark.slow  # every test here is a whole `routeeval run`, replay to reports
N_ROWS = 30
runner = CliRunner()


def _answers(model: str, messages: list[dict]) -> str | None:
    """Tiers answer row i with 'answer i' (small: only even rows, with a chatty prefix on logs); the judge
    (any model, asked with routeeval's judge prompt) gives 10 when the reference appears in the response."""
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    last = messages[-1]["content"]
    if "You are grading one answer" in system:
        reference = re.search(r"<reference>\n(.*?)\n</reference>", last, re.S)
        response = re.search(r"<response>\n(.*?)\n</response>", last, re.S)
        agree = reference and response and reference[1].lower() in response[1].lower()
        return "The response matches.\nSCORE: 10" if agree else "It does not.\nSCORE: 0"
    number = int(re.search(r"\d+", last)[0])
    if "small" in model:
        if last.startswith("log"):
            return f"Sure! answer {number}"
        return f"answer {number}" if number % 2 == 0 else "no idea"
    return f"answer {number}"


def _files(tmp_path, server, *, scorer="judge", small_model="small-model", log_reference=None, **replay):
    tmp_path.mkdir(parents=True, exist_ok=True)
    evalset = tmp_path / "eval.jsonl"
    evalset.write_text(
        "".join(
            json.dumps({"id": str(i), "input": f"question {i}", "reference": f"answer {i}"}) + "\n"
            for i in range(N_ROWS)
        ),
        encoding="utf-8",
    )
    logs = tmp_path / "logs.jsonl"
    logs.write_text(
        "".join(json.dumps({"id": f"l{i}", "input": f"log question {i}"}) + "\n" for i in range(10)), encoding="utf-8"
    )
    tier = {"api_base": server.base_url, "api_key_env": TEST_KEY_ENV, "params": {"max_tokens": 16}}
    config = write_config(
        tmp_path / "routeeval.toml",
        [
            {"name": "small", "model": f"openai/{small_model}", "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0}
            | tier,
            {"name": "large", "model": "openai/large-model", "price_in_per_mtok": 10.0, "price_out_per_mtok": 20.0}
            | tier,
        ],
        replay={"concurrency": 2, "retries": 1, "backoff_base_s": 0.01, "backoff_max_s": 0.05, **replay}
        | {"cache": str(tmp_path / "cache.sqlite")},
        scoring={"scorer": scorer}
        | ({"judge_tier": "large"} if scorer == "judge" else {})
        | ({"log_reference": log_reference} if log_reference else {}),
        optimize={"routers": ["static", "llm"], "max_drop": 0.5, "bootstrap": 200},
    )
    return evalset, logs, config


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_one_budget_covers_replay_judge_and_triage(tmp_path):
    with LoopbackServer(answers=_answers) as server:
        # What the whole run costs without a ceiling (its own cache) ...
        evalset, logs, config = _files(tmp_path / "free", server)
        free = _run("run", evalset, "--logs", logs, "--config", config, "--out", tmp_path / "free" / "out", "--json")
        assert free.exit_code in (0, 1), free.output
        spend = json.loads(free.stdout)["spend"]
        assert set(spend["by_phase"]) == {"replay", "judge", "triage"}
        assert spend["spent_usd"] == pytest.approx(sum(spend["by_phase"].values()))
        # ... then with a ceiling that covers the replay and only part of the judge.
        budget = spend["by_phase"]["replay"] + 0.5 * spend["by_phase"]["judge"]
        evalset, logs, config = _files(tmp_path / "capped", server)
        capped = _run(
            "run",
            evalset,
            "--logs",
            logs,
            "--config",
            config,
            "--out",
            tmp_path / "capped" / "out",
            "--max-cost",
            budget,
        )
    summary = json.loads((tmp_path / "capped" / "out" / "summary.json").read_text())
    assert summary["spend"]["spent_usd"] <= budget, "one ceiling over every paid call"
    assert summary["spend"]["by_phase"]["judge"] > 0 and summary["spend"]["skipped_by_budget"]["judge"] > 0
    # The rows the judge never scored are counted, with the reason, per tier ...
    tiers = {t["tier"]: t for t in summary["single_tiers"]}
    assert tiers["large"]["unscored"] > 0
    assert tiers["large"]["unscored_reasons"] == {"judge not called (budget)": tiers["large"]["unscored"]}
    assert tiers["large"]["scored"] + tiers["large"]["unscored"] == N_ROWS
    # ... selection compares tiers only on rows every tier has a score for, and says how many it left out ...
    complete = min(t["scored"] for t in tiers.values())
    assert summary["selection"]["rows"] <= complete < N_ROWS
    assert summary["selection"]["rows_unscored"] == N_ROWS - summary["selection"]["rows"]
    assert any("left out of selection" in note for note in summary["notes"])
    # ... and people see all of it: the split of the spend, and the unscored rows with their reason.
    assert "spend, every paid call of the run:" in capped.stdout and "judge $" in capped.stdout
    assert "unscored rows: large" in " ".join(capped.stdout.split()) and "judge not called (budget)" in capped.stdout
    for name in ("report.md", "report.html"):
        report = (tmp_path / "capped" / "out" / name).read_text()
        assert f"of the ${budget:.2f} budget" in report and "unscored rows: large" in report, name


def test_log_agreement_uses_the_configured_judge(tmp_path):
    with LoopbackServer(answers=_answers) as server:
        evalset, logs, config = _files(tmp_path, server)
        result = _run("run", evalset, "--logs", logs, "--config", config, "--out", tmp_path / "out", "--json")
    summary = json.loads(result.stdout)
    agreement = {t["tier"]: t for t in summary["logs"]["agreement"]}
    # "Sure! answer 3" means what "answer 3" means: the judge says so, exact match would not (0%).
    assert agreement["small"]["accuracy"] == 1.0
    assert summary["logs"]["scorer"].startswith("agreement(judge(")
    assert summary["spend"]["phases"]["judge"]["calls"] == N_ROWS * 2 + 10  # every eval answer, small's log answers


def test_log_agreement_names_its_scorer_in_the_table(tmp_path):
    with LoopbackServer(answers=_answers) as server:
        evalset, logs, config = _files(tmp_path, server, scorer="exact")
        result = _run("run", evalset, "--logs", logs, "--config", config, "--out", tmp_path / "out")
    assert "scorer: agreement(exact(normalize=True), against='large')" in result.stdout


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("key", "auth"),  # a wrong key: 401 on every call
        ("path", "not found"),  # a wrong endpoint: 404
        ("refused", "connection"),  # nothing listens there
    ],
)
def test_a_tier_that_cannot_answer_stops_early_and_exits_3(tmp_path, fault, kind):
    with LoopbackServer(answers=_answers, require_api_key="sk-right" if fault == "key" else None) as server:
        evalset, logs, config = _files(tmp_path, server, scorer="exact")
        text = config.read_text()
        if fault == "path":
            text = text.replace(server.base_url, server.base_url.replace("/v1", "/nope"))
        elif fault == "refused":
            text = text.replace(server.base_url, "http://127.0.0.1:9/v1")
        config.write_text(text)
        result = _run(
            "run", evalset, "--config", config, "--out", tmp_path / "out", "--router", "static", "--no-progress"
        )
        calls = server.count()
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: tier 'small' has no scored eval row (not called (tier stopped) ")
    failed = int(re.search(rf"call failed \({kind}\) (\d+)", first)[1])
    assert STOP_AFTER <= failed <= STOP_AFTER + 1  # the breaker's 3, and a call already in flight (concurrency 2)
    assert f"stopped after {STOP_AFTER} identical failures in a row ({kind}:" in first
    assert "No policy was written" in first
    assert not (tmp_path / "out" / "policy.json").exists() and not (tmp_path / "out" / "summary.json").exists()
    assert (tmp_path / "out" / "outcomes.parquet").exists(), "what was computed is kept"
    if fault != "refused":
        # Both tiers fail (one endpoint): each is stopped after a few calls, not called for all 30 rows.
        assert calls <= 2 * (STOP_AFTER + 2), calls


def test_max_cost_zero_makes_no_call_and_writes_no_policy(tmp_path):
    with LoopbackServer(answers=_answers) as server:
        evalset, logs, config = _files(tmp_path, server, scorer="exact")
        result = _run("run", evalset, "--config", config, "--out", tmp_path / "out", "--max-cost", "0", "--no-progress")
        assert server.count() == 0
    assert result.exit_code == 3
    assert "raise --max-cost" in result.stderr and "not called (budget)" in result.stderr
    assert not (tmp_path / "out" / "policy.json").exists()


def test_log_rows_without_an_answer_to_agree_with_are_unscored_not_judged(tmp_path):
    with LoopbackServer(answers=_answers) as server:
        evalset, logs, config = _files(tmp_path, server, log_reference="production")
        result = _run("run", evalset, "--logs", logs, "--config", config, "--out", tmp_path / "out", "--json")
    summary = json.loads(result.stdout)
    # The logs record no production answer: there is nothing to agree with, so no judge call is made for them.
    agreement = {t["tier"]: t for t in summary["logs"]["agreement"]}
    assert agreement["small"]["scored"] == 0
    assert agreement["small"]["unscored_reasons"] == {"no answer to compare with": 10}
    assert summary["spend"]["phases"]["judge"]["calls"] == N_ROWS * 2


def test_log_agreement_and_the_baseline_follow_one_rule(tmp_path):
    """Without a configured baseline, the most accurate tier is the reference for both, here a middle tier."""

    def answers(model: str, messages: list[dict]) -> str | None:
        last = messages[-1]["content"]
        number = int(re.search(r"\d+", last)[0])
        if "large" in model and number % 3 == 0:
            return "wrong"  # the dearest tier is not the most accurate
        return f"answer {number}" if "small" not in model or number % 2 == 0 else "no idea"

    with LoopbackServer(answers=answers) as server:
        evalset, logs, config = _files(tmp_path, server, scorer="exact")
        text = config.read_text().replace('name = "small"', 'name = "small"', 1)
        text = text.replace(
            '[[tier]]\nname = "large"',
            '[[tier]]\nname = "medium"\nmodel = "openai/medium-model"\nprice_in_per_mtok = 3.0\n'
            f'price_out_per_mtok = 6.0\napi_base = "{server.base_url}"\napi_key_env = "{TEST_KEY_ENV}"\n'
            'params = { max_tokens = 16 }\n\n[[tier]]\nname = "large"',
        )
        config.write_text(text)
        result = _run("run", evalset, "--logs", logs, "--config", config, "--out", tmp_path / "out", "--json")
    summary = json.loads(result.stdout)
    assert summary["baseline"]["tier"] == "medium"
    assert summary["logs"]["reference_tier"] == "medium"
    assert summary["logs"]["scorer"] == "agreement(exact(normalize=True), against='medium')"
