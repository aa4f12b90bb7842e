"""routeeval drift: the reference profile, each check's verdict, the streaming reader, the CLI's exit codes and
errors, and the paid layer's budget and resumability."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, TEST_KEY, TEST_KEY_ENV, environ_without_keys, write_config
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.drift import (
    FreshLogs,
    intent_check,
    length_check,
    read_fresh_logs,
    tier_share_check,
)
from routeeval.policy import attach_reference, build_policy
from routeeval.profile import route_queries
from routeeval.routers import StaticRouter
from routeeval.runtime import Router, policy_checksum

runner = CliRunner()
TIERS = [
    {"name": "small", "model": "m-small", "price_in_per_mtok": 0.1, "price_out_per_mtok": 0.2},
    {"name": "large", "model": "m-large", "price_in_per_mtok": 2.0, "price_out_per_mtok": 8.0},
]


def static_router() -> Router:
    """'gdpr' queries go to large, everything else to small."""
    router = StaticRouter(tiers=["small", "large"], rules=({"tier": "large", "keywords": ["gdpr"]},)).fit()
    return Router.load(build_policy(router, "static", {"length_cutoff_chars": None}, TIERS))


def fresh_logs(router: Router, queries: list[str], intents: list[str] | None = None) -> FreshLogs:
    routed = route_queries(router, queries)
    return FreshLogs(
        path="logs.jsonl",
        kind="jsonl",
        rows_read=len(queries),
        rows_in_window=len(queries),
        rows_no_time=0,
        routed=routed,
        intents=intents or ["(none)"] * len(queries),
        models=[None] * len(queries),
        seconds=np.full(len(queries), np.nan),
        kept=[],
        sampled=False,
        rate=1.0,
    )


def mix(n: int, gdpr_share: float) -> list[str]:
    k = round(n * gdpr_share)
    return [f"gdpr question {i}" for i in range(k)] + [f"hello number {i}" for i in range(n - k)]


# -- the checks ------------------------------------------------------------------------------------
def test_tier_shares_as_certified_pass_and_a_moved_mix_fails():
    router = static_router()
    reference = {"rows": 400, "tier_share": {"first": {"small": 0.8, "large": 0.2}}}
    same = tier_share_check(router, reference, fresh_logs(router, mix(400, 0.21)))
    assert same["status"] == "ok" and same["statistic"]["value"] == pytest.approx(0.01)
    moved = tier_share_check(router, reference, fresh_logs(router, mix(400, 0.45)))
    assert moved["status"] == "fail" and moved["p_value"] < 0.001
    assert "'small' gets 55.0% of queries, was 80.0%" in moved["summary"]
    assert moved["details"]["now"] == {"small": 0.55, "large": 0.45}


def test_a_small_month_does_not_fail_on_a_move_it_cannot_tell_from_noise():
    router = static_router()
    reference = {"rows": 400, "tier_share": {"first": {"small": 0.8, "large": 0.2}}}
    # 12 points off, on 20 rows: large, but not unlikely under no change
    small = tier_share_check(router, reference, fresh_logs(router, mix(25, 0.32)))
    assert small["statistic"]["value"] >= 0.10 and small["p_value"] > 0.01 and small["status"] == "ok"


def test_a_new_intent_fails_and_is_named_a_rare_one_does_not():
    router = static_router()
    then = {"billing": 0.5, "greeting": 0.5}
    reference = {"rows": 400, "intent_share": then}
    queries = mix(400, 0.2)
    shifted = ["billing"] * 170 + ["greeting"] * 160 + ["ai_assistant"] * 70
    result = intent_check(reference, fresh_logs(router, queries, shifted))
    assert result["status"] == "fail"
    assert result["details"]["new"][0] == {"intent": "ai_assistant", "share": 0.175, "rows": 70}
    assert "new intent 'ai_assistant' is 17.5% of queries" in result["summary"]
    rare = ["billing"] * 200 + ["greeting"] * 197 + ["ai_assistant"] * 3
    assert intent_check(reference, fresh_logs(router, queries, rare))["status"] == "ok"


def test_the_eval_sets_intents_stand_in_when_the_reference_logs_name_none():
    router = static_router()
    reference = {"rows": 400, "intent_share": None, "evalset": {"rows": 350, "intent_share": {"a": 0.9, "b": 0.1}}}
    moved = fresh_logs(router, mix(400, 0.2), ["a"] * 200 + ["b"] * 200)  # a big mix shift, no new intent
    result = intent_check(reference, moved)
    assert result["status"] == "ok", "a curated eval set's mix is not production's: its shift is only shown"
    assert result["details"]["against"] == "the eval set" and "shown only" in result["summary"]
    new = fresh_logs(router, mix(400, 0.2), ["a"] * 300 + ["c"] * 100)  # a new intent still fails
    assert intent_check(reference, new)["status"] == "fail"


def test_input_length_compares_with_the_references_percentiles():
    router = static_router()
    rng = np.random.default_rng(0)
    then = rng.integers(20, 80, 400)
    reference = {"rows": 400, "input_chars": {"quantiles": np.quantile(then, np.linspace(0, 1, 101)).tolist()}}
    like = ["x" * int(n) for n in rng.integers(20, 80, 400)]
    longer = ["x" * int(n) for n in rng.integers(60, 200, 400)]
    assert length_check(reference, fresh_logs(router, like))["status"] == "ok"
    result = length_check(reference, fresh_logs(router, longer))
    assert result["status"] == "fail" and result["statistic"]["value"] > 0.25
    assert result["summary"].startswith("inputs are longer")


# -- reading logs ----------------------------------------------------------------------------------
def _log_rows(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "id": f"r{start + i}",
            "timestamp": f"2026-11-{1 + (start + i) % 28:02d}T10:00:00Z",
            "input": f"gdpr export {i}" if i % 5 == 0 else f"how do I reset my password {i}",
            "intent": "privacy" if i % 5 == 0 else "account",
        }
        for i in range(n)
    ]


def test_a_parquet_folder_is_streamed_sampled_and_routed_as_the_runtime_routes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "logs"
    folder.mkdir()
    rows = _log_rows(3000)
    for part in range(3):
        pq.write_table(pa.Table.from_pylist(rows[part * 1000 : (part + 1) * 1000]), folder / f"part-{part}.parquet")
    router = static_router()
    whole = read_fresh_logs(folder, router, None, None, max_rows=10_000, keep=100)
    assert whole.rows_read == 3000 and whole.routed.n_rows == 3000 and not whole.sampled
    expected = [router.tier_names.index(router.route(r["input"]).tier) for r in rows]
    assert whole.routed.tier.tolist() == expected
    assert len(whole.kept) == 100 and whole.intents.count("privacy") == 600
    pooled = read_fresh_logs(folder, router, None, None, max_rows=10_000, keep=100, workers=2, chunk=700)
    assert pooled.routed.tier.tolist() == expected and pooled.routed.chars.tolist() == whole.routed.chars.tolist()
    assert [i for i, _ in pooled.kept] == [i for i, _ in whole.kept]  # the same reservoir, whole records
    assert all(record.query.row_id == rows[i]["id"] for i, record in pooled.kept)
    sampled = read_fresh_logs(folder, router, None, None, max_rows=600, keep=50, seed=3)
    assert sampled.sampled and 450 < sampled.routed.n_rows < 750  # a 20% Bernoulli sample
    assert sampled.rows_in_window == pytest.approx(3000, rel=0.2)


def test_the_window_keeps_rows_by_timestamp(tmp_path):
    import datetime as dt

    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _log_rows(280)), encoding="utf-8")
    since = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    until = dt.datetime(2026, 11, 8, tzinfo=dt.UTC)
    fresh = read_fresh_logs(path, static_router(), since, until, max_rows=10_000, keep=10)
    assert fresh.routed.n_rows == 70  # days 1-7 of 28, ten rows a day


# -- the command -----------------------------------------------------------------------------------
@pytest.fixture()
def drift_dir(demo_run, tmp_path, monkeypatch):
    """A folder with the demo's config and evalsets, and the demo run's policy (with its reference profile); the
    demo run's own folder stays untouched (drift's paid layer writes its own cache here)."""
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    shutil.copytree(ROOT / "evalsets", tmp_path / "evalsets")
    shutil.copytree(demo_run, tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _drift(*args: str):
    return runner.invoke(app, ["drift", *map(str, args)])


def _record(out: Path) -> dict:
    return json.loads((out / "drift.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_a_stationary_month_passes_and_the_shifted_month_fails_saying_why(drift_dir):
    nov = _drift("run/policy.json", "evalsets/drift/support-logs-2026-11.jsonl", "--out", "nov")
    assert nov.exit_code == 0, nov.output
    record = _record(drift_dir / "nov")
    assert record["verdict"] == "ok" and record["schema"] == "routeeval.drift/v1"
    assert {c["id"] for c in record["checks"] if c["status"] != "skipped"} >= {"intent_mix", "cost", "accuracy"}
    assert record["checks"][-1]["details"]["rows"] == 200  # the paid layer replayed its sample

    dec = _drift(
        "run/policy.json",
        "evalsets/drift/support-logs-2026-12.jsonl",
        "--config",
        "evalsets/drift/routeeval-2026-12.toml",
        "--out",
        "dec",
    )
    assert dec.exit_code == 1, dec.output
    record = _record(drift_dir / "dec")
    failed = {c["id"]: c for c in record["checks"] if c["status"] == "fail"}
    assert record["verdict"] == "fail" and {"intent_mix", "cost"} <= set(failed)
    assert "new intent 'ai_assistant'" in failed["intent_mix"]["summary"]
    assert failed["cost"]["details"]["changed_prices"] == ["large"]
    assert record["reasons"] and record["actions"]
    markdown = (drift_dir / "dec" / "drift.md").read_text(encoding="utf-8")
    assert markdown.startswith("**FAIL**") and "ai\\_assistant" in markdown
    assert "<svg" in (drift_dir / "dec" / "drift.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_fail_on_warn_turns_a_warning_into_exit_1(drift_dir):
    args = ["run/policy.json", "evalsets/drift/support-logs-2026-11.jsonl", "--sample", "0"]
    first = _drift(*args, "--monthly-queries", "1000000", "--out", "a")
    assert first.exit_code == 0, first.output
    cost = next(c for c in _record(drift_dir / "a")["checks"] if c["id"] == "cost")["details"]
    # a monthly ceiling between the projection's low end and its estimate: a warning, not a failure
    ceiling = (cost["monthly_usd"] + cost["monthly_usd_ci"][0]) / 2
    config = (drift_dir / "routeeval.toml").read_text() + f"\n[drift]\nmax_monthly_usd = {ceiling}\n"
    (drift_dir / "ceiling.toml").write_text(config, encoding="utf-8")
    common = [*args, "--monthly-queries", "1000000", "--config", "ceiling.toml"]
    warned = _drift(*common, "--out", "b")
    assert warned.exit_code == 0, warned.output
    assert _record(drift_dir / "b")["verdict"] == "warn"
    strict = _drift(*common, "--fail-on", "warn", "--out", "c")
    assert strict.exit_code == 1 and _record(drift_dir / "c")["verdict"] == "warn"


@pytest.mark.slow
def test_a_policy_without_a_reference_needs_the_run_folder(drift_dir):
    policy = json.loads((drift_dir / "run" / "policy.json").read_text())
    body = {k: v for k, v in policy.items() if k not in ("reference", "checksum")}
    body["checksum"] = policy_checksum(body)
    (drift_dir / "old.json").write_text(json.dumps(body))
    logs = "evalsets/drift/support-logs-2026-11.jsonl"
    refused = _drift("old.json", logs, "--sample", "0", "--out", "x")
    assert refused.exit_code == 2 and "--reference RUN_DIR" in refused.output and "Traceback" not in refused.output
    assert Router.load(body).kind == policy["kind"]  # an old policy still loads in the runtime
    given = _drift("old.json", logs, "--sample", "0", "--reference", "run", "--out", "y")
    assert given.exit_code == 0, given.output
    record = _record(drift_dir / "y")
    assert record["reference"]["basis"] == "logs" and "run" in record["reference"]["source"]
    domain = next(c for c in record["checks"] if c["id"] == "domain_classifier")
    assert domain["status"] == "ok" and 0.35 < domain["statistic"]["value"] < 0.65  # a fresh month, same kind
    # the profile rebuilt from the run folder is the one run wrote into the policy
    assert record["reference"]["rows"] == policy["reference"]["rows"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("missing_tier", "not in the config"),
        ("no_input", "no row has a usable input"),
        ("empty_window", "has no log rows between 2030-01-01"),
        ("reversed_window", "is not before --until"),
        ("bad_line", "line 2: not valid JSON"),
        ("bad_date", "is not a date"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_traceback(drift_dir, setup, words):
    logs, extra = "evalsets/drift/support-logs-2026-11.jsonl", []
    if setup == "missing_tier":
        text = (drift_dir / "routeeval.toml").read_text().replace('name = "medium"', 'name = "mid"')
        (drift_dir / "other.toml").write_text(text)
        extra = ["--config", "other.toml"]
    elif setup == "no_input":
        blank = '{"messages": [{"role": "user", "content": "   "}]}\n'  # an empty "input" is refused when read
        image = '{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}\n'
        (drift_dir / "blank.jsonl").write_text(blank + image)
        logs = "blank.jsonl"
    elif setup == "empty_window":
        extra = ["--since", "2030-01-01"]
    elif setup == "reversed_window":
        extra = ["--since", "2026-11-20", "--until", "2026-11-01"]
    elif setup == "bad_line":
        (drift_dir / "bad.jsonl").write_text('{"input": "hi"}\n{"input": \n')
        logs = "bad.jsonl"
    elif setup == "bad_date":
        extra = ["--since", "last tuesday"]
    result = _drift("run/policy.json", logs, "--sample", "0", "--out", "o", *extra)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_rows_with_gold_answers_are_scored_against_gold(drift_dir):
    """Labeled log rows that carry gold answers (``reference``) are the paid layer's scored sample: the drop is
    accuracy against gold, not agreement with the baseline."""
    lines = (drift_dir / "evalsets/drift/support-logs-2026-11.jsonl").read_text().splitlines()
    gold = []
    for line in lines:
        row = json.loads(line)
        row["reference"] = row["response"]  # the answer a reviewer confirmed
        gold.append(json.dumps(row))
    (drift_dir / "gold.jsonl").write_text("\n".join(gold) + "\n")
    result = _drift("run/policy.json", "gold.jsonl", "--sample", "60", "--out", "g")
    assert result.exit_code in (0, 1), result.output
    accuracy = next(c for c in _record(drift_dir / "g")["checks"] if c["id"] == "accuracy")
    assert accuracy["details"]["basis"] == "gold" and accuracy["statistic"]["name"] == "accuracy drop"
    assert accuracy["details"]["rows"] == 60 and not accuracy["details"]["scorer"].startswith("agreement")


@pytest.mark.slow
def test_refit_proposes_a_candidate_policy_with_a_readable_diff(drift_dir):
    result = _drift(
        "run/policy.json",
        "evalsets/drift/support-logs-2026-12.jsonl",
        "--config",
        "evalsets/drift/routeeval-2026-12.toml",
        "--refit",
        "--evalset",
        "evalsets/support.jsonl",
        "--out",
        "dec",
    )
    assert result.exit_code == 1, result.output
    refit = _record(drift_dir / "dec")["refit"]
    candidate = json.loads(Path(refit["policy_path"]).read_text())
    assert Router.load(candidate).kind == candidate["kind"] and "reference" in candidate
    # the large tier costs half as much again: the optimizer re-chooses, and the diff says how
    assert any(line.startswith("cost per 1k queries") for line in refit["diff"]), refit["diff"]
    assert "candidate" in (drift_dir / "dec" / "drift.md").read_text(encoding="utf-8")
    refused = _drift("run/policy.json", "evalsets/drift/support-logs-2026-12.jsonl", "--refit", "--out", "x")
    assert refused.exit_code == 2 and "--evalset" in refused.output


def test_vocabulary_coverage_falls_when_the_words_are_new():
    from routeeval.drift import vocabulary_check
    from routeeval.routers import ClassifierRouter

    texts = [f"reset my password please {i}" for i in range(20)] + [f"refund the invoice now {i}" for i in range(20)]
    correct = [[1.0, 1.0]] * 20 + [[0.0, 1.0]] * 20
    fitted = ClassifierRouter(tiers=["small", "large"], featurizer={"min_df": 1}).fit(texts, correct)
    router = Router.load(build_policy(fitted, "classifier", {"rule": "threshold", "threshold": 0.5}, TIERS))
    then = fresh_logs(router, texts)
    cover = then.routed.known / then.routed.words
    reference = {"rows": 40, "vocabulary": {"coverage_mean": cover.mean(), "coverage_sd": cover.std(), "rows": 40}}
    assert vocabulary_check(router, reference, fresh_logs(router, texts[::-1]))["status"] == "ok"
    novel = [f"copilot summarizes tickets via assistant {i}" for i in range(40)]
    result = vocabulary_check(router, reference, fresh_logs(router, novel))
    assert result["status"] == "fail" and result["details"]["now"] < 0.3


# -- the paid layer: one budget, nothing paid twice ---------------------------------------------------
def _loopback_case(drift_dir, server, model: str, rows: int = 60):
    """The demo policy's tiers served by the loopback server, and a month of logs."""
    tiers = [
        {
            "name": name,
            "model": f"openai/{model}-{name}",  # one model per tier: one cache entry per row and tier
            "api_base": server.base_url,
            "api_key_env": TEST_KEY_ENV,
            "price_in_per_mtok": 100.0,
            "price_out_per_mtok": 200.0,
            "params": {"max_tokens": 50},  # what a call may cost before it is made: about 0.014 USD
        }
        for name in ("small", "medium", "large")
    ]
    config = write_config(
        drift_dir / "loop.toml",
        tiers,
        replay={"concurrency": 2, "retries": 0, "timeout_s": 10, "cache": str(drift_dir / "loop.sqlite")},
    )
    lines, seen = [], set()
    for line in (drift_dir / "evalsets/drift/support-logs-2026-11.jsonl").read_text().splitlines():
        record = json.loads(line)
        prompt = json.dumps(record.get("input") or record.get("messages"))
        if prompt not in seen and len(lines) < rows:  # distinct prompts: one call per row and tier
            seen.add(prompt)
            lines.append(line)
    (drift_dir / "month.jsonl").write_text("\n".join(lines) + "\n")
    return config


@pytest.mark.slow
def test_the_paid_layer_keeps_to_max_cost_and_a_rerun_pays_for_nothing_twice(drift_dir):
    from routeeval.testing.loopback import LoopbackServer

    env = environ_without_keys()
    env[TEST_KEY_ENV] = TEST_KEY
    with LoopbackServer() as server:
        config = _loopback_case(drift_dir, server, "plain")
        base = [sys.executable, "-m", "routeeval.cli", "drift", "run/policy.json", "month.jsonl", "--config"]
        command = [*base, str(config), "--sample", "60"]
        capped = subprocess.run(
            [*command, "--max-cost", "0.1", "--out", "capped"], env=env, capture_output=True, text=True, timeout=300
        )
        assert capped.returncode in (0, 1), capped.stderr
        spend = _record(drift_dir / "capped")["spend"]
        paid = server.count(status=200)
        assert 0 < paid < 120 and sum(spend["skipped_by_budget"].values()) > 0
        before = server.count()
        full = subprocess.run([*command, "--out", "full"], env=env, capture_output=True, text=True, timeout=300)
        assert full.returncode in (0, 1), full.stderr
        made = server.count() - before
        assert made == 120 - paid, "the capped run's answers came from the cache"
        per_call = (spend["spent_usd"] + _record(drift_dir / "full")["spend"]["spent_usd"]) / 120
        # the ceiling holds within what the two calls in flight (concurrency 2) may overshoot their estimates
        assert spend["spent_usd"] <= 0.1 + 2 * 1.5 * per_call
        again = subprocess.run([*command, "--out", "again"], env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == full.returncode and server.count() - before == made  # nothing new
        assert _record(drift_dir / "again")["spend"]["spent_usd"] == 0


@pytest.mark.slow
def test_a_killed_drift_check_resumes_without_paying_twice(drift_dir):
    from routeeval.cache import ResponseCache
    from routeeval.testing.loopback import LoopbackServer

    env = environ_without_keys()
    env[TEST_KEY_ENV] = TEST_KEY
    with LoopbackServer() as server:
        config = _loopback_case(drift_dir, server, "slow-200", rows=30)
        command = [
            sys.executable,
            "-m",
            "routeeval.cli",
            "drift",
            "run/policy.json",
            "month.jsonl",
            "--config",
            str(config),
            "--sample",
            "30",
        ]
        process = subprocess.Popen([*command, "--out", "a"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while server.count() < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        time.sleep(0.5)  # requests cut off mid-flight are recorded when their delay ends
        with ResponseCache(drift_dir / "loop.sqlite") as cache:
            committed = cache.stats()["entries"]
        assert 0 < committed < 60, process.stderr.read().decode()
        before = server.count()
        done = subprocess.run([*command, "--out", "b"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1), done.stderr
        assert server.count() - before == 60 - committed


def test_attach_reference_keeps_the_policy_loadable_and_checksummed():
    router = static_router()
    policy = attach_reference(router.policy, {"schema": "routeeval.reference/v1", "basis": "logs", "rows": 3})
    assert policy["reference"]["rows"] == 3 and policy["checksum"] != router.policy["checksum"]
    assert Router.load(policy).route("gdpr now").tier == "large"


def test_the_kept_records_are_read_again_whole_from_their_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _log_rows(1000)
    path = tmp_path / "logs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=128)  # eight row groups
    fresh = read_fresh_logs(path, static_router(), None, None, max_rows=10_000, keep=40, seed=5)
    assert len(fresh.kept) == 40 and len({i // 128 for i, _ in fresh.kept}) > 1
    assert all(
        record.query.row_id == rows[i]["id"] and record.timestamp == rows[i]["timestamp"] for i, record in fresh.kept
    )


def test_a_tier_without_a_price_today_skips_the_cost_check_and_keeps_the_others():
    from routeeval.config import Config, Tier
    from routeeval.drift import DriftOptions, cost_check

    router = static_router()
    config = Config(tiers=(Tier("small", "m-small", 0.1, 0.2), Tier("large", "no-such-model-anywhere")))
    reference = {
        "rows": 400,
        "cost_per_1k_usd_estimated": 1.0,
        "prices": {"small": [0.1, 0.2], "large": [2.0, 8.0]},
        "tokens_per_call": {
            "small": {"base": 10, "per_char": 0.25, "completion": 40},
            "large": {"base": 10, "per_char": 0.25, "completion": 40},
        },
    }
    result = cost_check(
        router, reference, fresh_logs(router, mix(50, 0.2)), config, DriftOptions(Path("p"), Path("l")), None
    )
    assert result["status"] == "skipped" and "no price today for large" in result["summary"]
