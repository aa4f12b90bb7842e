"""The cache follows the project, not the shell: a relative [replay] cache path resolves against the config file's
folder, in every command that opens the cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import DATA, ROOT, write_config
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.config import load_config

runner = CliRunner()


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project folder with the demo config (cache ".routeeval/cache.sqlite"), and the shell somewhere else."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(ROOT / "routeeval.toml", folder / "routeeval.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return folder


def test_a_relative_cache_path_is_the_config_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiers = [{"name": "a", "model": "routeeval-sim/gpt-4o-mini"}]
    (tmp_path / "conf").mkdir()
    cases = {
        "cache/answers.sqlite": tmp_path / "conf" / "cache" / "answers.sqlite",
        "../shared.sqlite": tmp_path / "shared.sqlite",
        str(tmp_path / "abs.sqlite"): tmp_path / "abs.sqlite",
    }
    for given, expected in cases.items():
        config = load_config(write_config(tmp_path / "conf" / "routeeval.toml", tiers, replay={"cache": given}))
        assert Path(config.replay.cache) == expected, given
    # the built-in default, with a config file: beside the config too
    default = load_config(write_config(tmp_path / "conf" / "routeeval.toml", tiers))
    assert Path(default.replay.cache) == tmp_path / "conf" / ".routeeval" / "cache.sqlite"
    # a config in the working directory keeps the short relative path people know
    write_config(tmp_path / "routeeval.toml", tiers)
    assert load_config("routeeval.toml").replay.cache == ".routeeval/cache.sqlite"


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    tiers = [{"name": "a", "model": "routeeval-sim/gpt-4o-mini"}]
    config = load_config(write_config(tmp_path / "routeeval.toml", tiers, replay={"cache": "~/routeeval.sqlite"}))
    assert Path(config.replay.cache) == tmp_path / "home" / "routeeval.sqlite"


def test_cache_stats_and_clear_from_another_folder_open_the_projects_cache(project):
    from routeeval.cache import CachedResponse, ResponseCache

    with ResponseCache(project / ".routeeval" / "cache.sqlite") as cache:
        cache.put("k" * 64, "m", CachedResponse("answer", 1, 1, 0.001, 1.0))
    config = str(project / "routeeval.toml")
    stats = runner.invoke(app, ["cache", "stats", "--config", config, "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["entries"] == 1
    assert json.loads(stats.stdout)["path"] == str(project / ".routeeval" / "cache.sqlite")
    cleared = runner.invoke(app, ["cache", "clear", "--config", config, "--yes"])
    assert cleared.stdout == f"cleared 1 cached responses from {project / '.routeeval' / 'cache.sqlite'}\n"
    assert not Path(".routeeval").exists(), "nothing is created in the working directory"


def test_a_dry_run_from_another_folder_looks_in_the_projects_cache(project):
    result = runner.invoke(
        app, ["run", str(DATA / "mini_eval.jsonl"), "--config", str(project / "routeeval.toml"), "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["cache"]["path"] == str(project / ".routeeval" / "cache.sqlite")


@pytest.mark.slow
def test_running_from_another_folder_pays_for_nothing_twice(project, monkeypatch):
    config = str(project / "routeeval.toml")
    args = ["run", str(DATA / "mini_eval.jsonl"), "--config", config, "--no-progress", "--json"]
    first = runner.invoke(app, [*args, "--out", "first"])
    assert first.exit_code in (0, 1), first.output
    assert json.loads(first.stdout)["replay"]["calls_made"] > 0
    assert (project / ".routeeval" / "cache.sqlite").exists()
    assert not Path(".routeeval").exists(), "the cache is the project's, not the working directory's"

    # from a third folder, the same config: every call from the cache
    (project.parent / "third").mkdir()
    monkeypatch.chdir(project.parent / "third")
    second = runner.invoke(app, [*args, "--out", "second"])
    assert second.exit_code in (0, 1), second.output
    replay = json.loads(second.stdout)["replay"]
    assert replay["calls_made"] == 0 and replay["cache_hits"] == replay["calls"] > 0
    spend = json.loads(second.stdout)["spend"]
    assert spend["spent_usd"] == 0 and all(p["calls_made"] == 0 for p in spend["phases"].values())
