"""End to end through the CLI in a subprocess and litellm's real HTTP path to the loopback server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from helpers import DATA, TEST_KEY, TEST_KEY_ENV, environ_without_keys, write_config

from routeeval.cache import ResponseCache
from routeeval.testing.loopback import LoopbackServer

pytestmark = pytest.mark.slow  # every test here runs the CLI in a subprocess
N_ROWS = 12  # tests/data/mini_eval.jsonl


def _config(tmp_path, server, models: list[str], **replay):
    tiers = [
        {
            "name": model,
            "model": f"openai/{model}",
            "api_base": server.base_url,
            "api_key_env": TEST_KEY_ENV,
            "price_in_per_mtok": 1.0,
            "price_out_per_mtok": 2.0,
        }
        for model in models
    ]
    settings = {"concurrency": 2, "timeout_s": 10, "retries": 1, "cache": str(tmp_path / "cache.sqlite")}
    settings.update(replay)
    return write_config(tmp_path / "routeeval.toml", tiers, replay=settings)


def _routeeval(*args, cwd):
    env = environ_without_keys()
    env[TEST_KEY_ENV] = TEST_KEY
    # --router static: the llm router's triage calls would also reach the server and muddle the counts.
    return [sys.executable, "-m", "routeeval.cli", *map(str, args), "--router", "static"], env


def test_killed_replay_resumes_without_repeating_completed_calls(tmp_path):
    with LoopbackServer() as server:
        config = _config(tmp_path, server, ["slow-300"])
        command, env = _routeeval(
            "run", DATA / "mini_eval.jsonl", "--config", config, "--out", tmp_path / "a", cwd=tmp_path
        )
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while server.count() < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        time.sleep(1.0)  # requests cut off mid-flight are recorded when their 300 ms delay ends
        assert server.count() >= 4, process.stderr.read().decode()
        with ResponseCache(tmp_path / "cache.sqlite") as cache:
            committed = cache.stats()["entries"]
        assert 0 < committed < N_ROWS

        before = server.count()
        command, env = _routeeval(
            "run", DATA / "mini_eval.jsonl", "--config", config, "--out", tmp_path / "b", cwd=tmp_path
        )
        done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        # Exactly the calls that had not been committed are made again; nothing completed is paid twice.
        assert server.count() - before == N_ROWS - committed
        summary = json.loads((tmp_path / "b" / "summary.json").read_text())
        assert summary["replay"]["cache_hits"] == committed


def test_api_key_never_written_or_printed(tmp_path):
    outputs = ""
    with LoopbackServer(require_api_key=TEST_KEY) as server:
        for name, models in (("o", ["plain", "other"]), ("down", ["plain", "down"])):
            config = _config(tmp_path, server, models, retries=0)
            command, env = _routeeval(
                "run",
                DATA / "mini_eval.jsonl",
                "--logs",
                DATA / "mini_logs.jsonl",
                "--config",
                config,
                "--out",
                tmp_path / name,
                cwd=tmp_path,
            )
            done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
            outputs += done.stdout + done.stderr
            if name == "o":
                # 12 rows certify no routing policy (exit 1, "check failed"), but the run completes and writes all.
                assert done.returncode == 1 and "check failed: nothing qualifies" in done.stderr, done.stderr
            else:
                # A tier that is down stops the run before any policy (exit 3), saying which and why.
                assert done.returncode == 3 and "tier 'down' has no scored eval row" in done.stderr, done.stderr
        # The key reached the provider, so it really was in play...
        assert all(r.headers.get("authorization") == f"Bearer {TEST_KEY}" for r in server.requests)
        # log 'hi' is the same request as eval row m-01, so it is made once
        assert server.count(model="plain", status=200) == N_ROWS + 4 - 1
    # ...and it is nowhere in what the runs wrote or printed.
    assert TEST_KEY not in outputs
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "routeeval.toml"]
    assert {"summary.json", "report.html", "policy.json", "outcomes.parquet"} <= {p.name for p in written}
    assert any(p.name.startswith("cache.sqlite") for p in written)
    for path in written:
        assert TEST_KEY.encode() not in path.read_bytes(), path
    assert not (tmp_path / "down" / "summary.json").exists() and (tmp_path / "down" / "outcomes.parquet").exists()
