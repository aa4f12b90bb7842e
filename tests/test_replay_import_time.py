"""The litellm import is reported apart from the replay's own time: ``replay.import_s`` beside ``replay.wall_s``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
import types

import pytest
from helpers import TEST_KEY, TEST_KEY_ENV, environ_without_keys, write_config

import routeeval.replay as replay_module
from routeeval.cache import ResponseCache
from routeeval.config import ReplayConfig, Tier
from routeeval.pipeline import _merged, _replay_entry
from routeeval.pricing import TierPrice, import_litellm
from routeeval.replay import CallRequest, ReplayReport, replay_calls
from routeeval.report.terminal import replay_line
from routeeval.summary import ReplayStats
from routeeval.testing.loopback import LoopbackServer

IMPORT_S = 100.0  # what the fake clock says the import took: far longer than the replay itself could


def _replay_with_a_slow_import(tmp_path, server, monkeypatch, tag: str, *, slow: bool) -> ReplayReport:
    """Three calls to the loopback server; the litellm import moves the replay's clock on by IMPORT_S when slow."""
    import_litellm()  # imported for real beforehand: the replay's import then takes only the fake clock's time
    skew = [0.0]
    clock = {name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
    clock["perf_counter"] = lambda: time.perf_counter() + skew[0]
    fake_time = types.SimpleNamespace(**clock)

    def importing():
        if slow:
            skew[0] += IMPORT_S
        return import_litellm()

    monkeypatch.setattr(replay_module, "time", fake_time)
    monkeypatch.setattr(replay_module, "import_litellm", importing)
    tier = Tier("t", "openai/plain", api_base=server.base_url, api_key_env=TEST_KEY_ENV)
    tier = dataclasses.replace(tier, price_in_per_mtok=1, price_out_per_mtok=2)
    requests = [CallRequest(f"{tag}{i}", tier, [{"role": "user", "content": f"{tag} {i}"}]) for i in range(3)]
    settings = ReplayConfig(concurrency=2, cache=str(tmp_path / "cache.sqlite"))
    with ResponseCache(settings.cache) as cache:
        return replay_calls(requests, {"t": TierPrice("t", tier.model, 1, 2, "config")}, settings, cache)


def test_the_import_is_timed_apart_from_the_replay(loopback, tmp_path, monkeypatch):
    report = _replay_with_a_slow_import(tmp_path, loopback, monkeypatch, "a", slow=True)
    assert report.calls_made == 3 and report.errors == 0
    assert report.import_s == pytest.approx(IMPORT_S, abs=1.0)
    assert report.wall_s < IMPORT_S / 2, "the replay's own time must not include the import"


def test_no_import_time_when_litellm_was_imported_already_or_nothing_is_called(loopback, tmp_path, monkeypatch):
    report = _replay_with_a_slow_import(tmp_path, loopback, monkeypatch, "b", slow=False)
    assert report.calls_made == 3 and report.import_s < IMPORT_S / 2
    cached = _replay_with_a_slow_import(tmp_path, loopback, monkeypatch, "b", slow=True)  # every answer cached
    assert cached.cache_hits == 3 and cached.import_s == 0.0, "a fully cached replay imports nothing"


def test_summary_entry_and_merged_phases_carry_the_import_time():
    first = ReplayReport(results=[], wall_s=2.0, import_s=3.25)
    second = ReplayReport(results=[], wall_s=1.0, import_s=0.0)
    entry = _replay_entry(_merged(first, second))
    assert entry["wall_s"] == 3.0 and entry["import_s"] == 3.25
    assert ReplayStats.from_json(entry).import_s == 3.25


def test_the_terminal_line_shows_the_import_apart():
    stats = ReplayStats(calls=1050, calls_made=1050, wall_s=9.94, import_s=3.12)
    assert replay_line(stats).endswith("$0.0000 spent, 9.9s (+ 3.1s importing litellm)")
    for nothing in (None, 0.0, 0.01):  # an older summary without the key; nothing imported; a blink
        assert replay_line(ReplayStats(calls=5, wall_s=0.1, import_s=nothing)).endswith("spent, 0.1s")


@pytest.mark.slow
@pytest.mark.parametrize("routers", [["static"], ["static", "cascade"]])
def test_a_run_reports_the_import_in_summary_and_terminal(tmp_path, routers):
    """In a fresh process the replay imports litellm (static), or the cascade's log-probability check does before
    it: either way summary.json's replay.import_s holds the import and the terminal line shows it apart."""
    evalset = tmp_path / "eval.jsonl"
    evalset.write_text(
        "".join(json.dumps({"id": str(i), "input": f"q {i}", "reference": "x"}) + "\n" for i in range(8))
    )
    env = environ_without_keys()
    env[TEST_KEY_ENV] = TEST_KEY
    env.pop("COLUMNS", None)  # off a terminal the line is as wide as its content unless COLUMNS says otherwise
    with LoopbackServer() as server:
        tiers = [
            {"name": m, "model": f"openai/{m}", "api_base": server.base_url, "api_key_env": TEST_KEY_ENV}
            | {"price_in_per_mtok": 1.0 + i, "price_out_per_mtok": 2.0 + i}
            for i, m in enumerate(["small", "large"])
        ]
        config = write_config(
            tmp_path / "routeeval.toml",
            tiers,
            replay={"concurrency": 2, "cache": str(tmp_path / "c.sqlite")},
            scoring={"scorer": "exact"},
            optimize={"routers": routers, "max_drop": 0.5, "bootstrap": 100},
        )
        command = [sys.executable, "-m", "routeeval.cli", "run", str(evalset), "--config", str(config)]
        command += ["--out", str(tmp_path / "out"), "--no-progress"]
        done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["replay"]["calls_made"] == 16
    assert summary["replay"]["import_s"] > 0
    assert summary["spend"]["phases"]["replay"]["import_s"] == summary["replay"]["import_s"]
    line = next(line for line in done.stdout.splitlines() if line.startswith("replay: "))
    assert line.endswith("s importing litellm)"), line
