"""Output that fits where it goes: progress only on a terminal, "wrote" only for files written, tables in a pipe
as wide as their content (or COLUMNS) with whole model names, and errors naming the config file given."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from helpers import DATA, ROOT, environ_without_keys, write_config
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.errors import DataError
from routeeval.outcomes import write_outcomes

runner = CliRunner()
LONG_SMALL = "openrouter/anthropic/claude-3.5-sonnet-20241022-extended"
LONG_LARGE = "openrouter/openai/gpt-4o-2024-11-20-with-a-long-deployment-suffix"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, demo_outcomes):
    path = tmp_path_factory.mktemp("output") / "outcomes.parquet"
    return write_outcomes(demo_outcomes, path)


# ------------------------------------------------------------------------------------------ progress


def test_optimize_names_each_stage_as_it_starts(outcomes, tmp_path):
    from routeeval.config import Config, OptimizeConfig
    from routeeval.pipeline import optimize_file

    stages: list[str] = []
    config = Config(tiers=(), optimize=OptimizeConfig(routers=("cascade", "static"), bootstrap=50))
    optimize_file(outcomes, config=config, out_dir=tmp_path / "out", stage=stages.append)
    assert stages[0] == f"loading outcomes from {outcomes}"
    assert stages[1].startswith("summarizing 1,050 outcome rows × 3 tiers")
    assert [s.split(" on ")[0] for s in stages[2:4]] == ["fitting cascade", "fitting static"]
    assert stages[2] == "fitting cascade on 350 rows × 3 tiers"
    assert stages[4].startswith("sweeping ") and stages[5].startswith("selecting among ")
    assert stages[6].startswith("exporting the chosen ")
    assert stages[7:] == ["writing policy.json", f"writing the reports and summary.json to {tmp_path / 'out'}"]


def test_import_names_its_stages_with_row_counts(tmp_path):
    from routeeval.importers import import_outcomes

    stages: list[str] = []
    source = ROOT.parent / "shared" / "data" / "routellm-evals"
    if not source.exists():
        pytest.skip("the shared RouteLLM data is not here")
    out = tmp_path / "routellm.parquet"
    result = import_outcomes("routellm", source, out, stage=stages.append)
    assert stages == [
        f"reading and converting routellm from {source}",
        f"writing {result.n_rows:,} rows ({result.n_queries:,} queries × {len(result.tiers)} tiers) to {out}",
    ]


def test_run_names_its_stages_after_the_paid_calls(tmp_path):
    """The replay and judge calls have their own bars; what follows them (writing the outcomes, the optimizer,
    the reports) is named stage by stage, as `routeeval optimize` names it."""
    from routeeval.pipeline import run_evaluation

    rows = [{"id": f"r{i}", "input": f"where is my order {i}?", "reference": "tracking page"} for i in range(12)]
    evalset = tmp_path / "small.jsonl"
    evalset.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    stages: list[str] = []
    out = tmp_path / "run"
    run_evaluation(evalset, out_dir=out, overrides={"routers": ["static", "cascade"]}, stage=stages.append)
    assert stages[0] == f"writing 36 outcome rows to {out / 'outcomes.parquet'}"
    assert sorted(s.split(" on ")[0] for s in stages[1:3]) == ["fitting cascade", "fitting static"]
    assert any(s.startswith("selecting among ") for s in stages)
    assert stages[-1] == f"writing the reports and summary.json to {out}"


def test_the_stage_progress_draws_nothing_before_its_first_stage():
    from rich.console import Console

    from routeeval.report.progress import RichStageProgress

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    with RichStageProgress("run", console=console):
        pass  # a run that stopped in its replay: the replay's bars were the only live display
    assert buffer.getvalue() == ""


def test_the_stage_progress_draws_each_stage_on_a_terminal():
    from rich.console import Console

    from routeeval.report.progress import RichStageProgress

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    with RichStageProgress("optimize", console=console) as stage:
        stage("loading outcomes from x.parquet")
        stage("fitting knn on 2,217 rows × 11 tiers")
    text = buffer.getvalue()
    assert "optimize: loading outcomes from x.parquet" in text
    assert "optimize: fitting knn on 2,217 rows × 11 tiers" in text
    assert "✓" in text and "0:00:0" in text  # each stage ends ticked, with its own elapsed time


def test_no_progress_without_a_terminal_or_with_json(outcomes, tmp_path):
    from routeeval.report.progress import stage_progress

    with stage_progress("optimize", show=True) as stage:  # pytest's stderr is not a terminal
        assert stage is None
    result = runner.invoke(
        app, ["optimize", str(outcomes), "--router", "static", "--out", str(tmp_path / "out"), "--json"]
    )
    assert result.exit_code in (0, 1), result.output
    assert "optimize:" not in result.stderr and "loading outcomes" not in result.stderr
    json.loads(result.stdout)


# ------------------------------------------------------------------------------------------ "wrote"


def test_optimize_does_not_say_it_wrote_the_outcomes_it_read(outcomes, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["optimize", str(outcomes), "--router", "static", "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    wrote = [line.removeprefix("wrote ") for line in result.stdout.splitlines() if line.startswith("wrote ")]
    assert str(outcomes) not in wrote
    assert wrote == [str(out / name) for name in ("policy.json", "report.html", "report.md", "frontier.svg")] + [
        str(out / "summary.json")
    ]
    assert all((out / name).is_file() for name in ("policy.json", "report.html", "report.md", "summary.json"))


def test_a_write_the_system_refuses_is_one_line_naming_the_file_and_no_wrote(tmp_path):
    from routeeval.importers import import_outcomes

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output's folder should be\n")
    source = ROOT.parent / "shared" / "data" / "routellm-evals"
    if not source.exists():
        pytest.skip("the shared RouteLLM data is not here")
    result = runner.invoke(app, ["import", "routellm", str(source), "--out", str(blocker / "out.parquet")])
    assert result.exit_code == 2
    assert result.stderr == f"error: {blocker}: cannot be made a folder (File exists); nothing was written there\n"
    assert len(result.stderr.strip().splitlines()) == 1
    assert "wrote" not in result.stdout
    with pytest.raises(DataError, match="cannot be made a folder"):
        import_outcomes("routellm", source, blocker / "out.parquet")
    (tmp_path / "read-only").mkdir(mode=0o500)
    if os.access(tmp_path / "read-only", os.W_OK):
        return  # root writes anywhere
    with pytest.raises(DataError, match=r"out.parquet: cannot be written \(Permission denied\)"):
        import_outcomes("routellm", source, tmp_path / "read-only" / "out.parquet")


# ------------------------------------------------------------------------------------------ width


def _long_names_config(tmp_path):
    tiers = [
        {"name": "small", "model": f"routeeval-sim/{LONG_SMALL}", "skill": 0.5},
        {"name": "large", "model": f"routeeval-sim/{LONG_LARGE}", "skill": 0.8},
    ]
    for tier in tiers:
        tier |= {"price_in_per_mtok": 1.0, "price_out_per_mtok": 4.0}
    return write_config(
        tmp_path / "long.toml",
        tiers,
        replay={"cache": str(tmp_path / "cache.sqlite")},
        optimize={"routers": ["static"], "bootstrap": 50},
    )


@pytest.mark.slow
@pytest.mark.parametrize("columns", [None, "200"])
def test_tables_piped_to_a_file_keep_whole_model_names(tmp_path, columns):
    """The CLI in a subprocess, its stdout a pipe: no table is cut at 80 columns, with or without COLUMNS."""
    env = environ_without_keys()
    env.pop("COLUMNS", None)
    if columns:
        env["COLUMNS"] = columns
    config = _long_names_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "routeeval.cli", "run", str(DATA / "mini_eval.jsonl"), "--config", str(config)]
        + ["--out", str(tmp_path / "out"), "--no-progress"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    for model in (LONG_SMALL, LONG_LARGE):
        assert model in done.stdout, done.stdout
    widest = max(len(line) for line in done.stdout.splitlines())
    if columns:
        assert widest <= int(columns)
    else:
        assert widest > 80  # the tier table is as wide as its content, not the 80 columns of no terminal
    assert "…" not in done.stdout


def test_make_console_takes_columns_or_the_content_width_off_a_terminal(monkeypatch):
    from routeeval.report.terminal import UNBOUNDED_WIDTH, make_console

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.delenv("COLUMNS", raising=False)
    assert make_console().width == UNBOUNDED_WIDTH
    monkeypatch.setenv("COLUMNS", "200")
    assert make_console().width == 200


# ------------------------------------------------------------------------------------------ errors name the config


@pytest.fixture
def other(tmp_path, monkeypatch):
    """other.toml: a tier whose model litellm cannot price (the first thing a run checks)."""
    monkeypatch.chdir(tmp_path)
    return write_config(
        tmp_path / "other.toml",
        [{"name": "small", "model": "openai/no-such-model-xyz"}, {"name": "large", "model": "openai/gpt-4o"}],
    )


def _error(args) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


def test_run_names_the_config_given(other, tmp_path):
    error = _error(["run", DATA / "mini_eval.jsonl", "--config", other, "--out", tmp_path / "o"])
    assert error.endswith(f"set price_in_per_mtok and price_out_per_mtok for this tier in {other}.")
    assert "routeeval.toml" not in error


def test_a_missing_key_variable_names_the_config_given(tmp_path, monkeypatch):
    monkeypatch.delenv("ROUTEEVAL_UNSET_KEY", raising=False)
    config = write_config(
        tmp_path / "keys.toml",
        [
            {"name": "small", "model": "openai/gpt-4o-mini", "api_key_env": "ROUTEEVAL_UNSET_KEY"},
            {"name": "large", "model": "openai/gpt-4o"},
        ],
    )
    error = _error(["run", DATA / "mini_eval.jsonl", "--config", config, "--out", tmp_path / "o"])
    assert error == (
        f"error: tier 'small': environment variable ROUTEEVAL_UNSET_KEY is not set (named by api_key_env in {config})."
    )


def test_a_bad_scorer_argument_names_the_config_given(tmp_path):
    tiers = [
        {"name": "small", "model": "routeeval-sim/gpt-4o-mini"},
        {"name": "large", "model": "routeeval-sim/gpt-4o"},
    ]
    config = write_config(tmp_path / "scoring.toml", tiers, scoring={"scorer": "numeric(rel_tol=-1)"})
    error = _error(["run", DATA / "mini_eval.jsonl", "--config", config, "--out", tmp_path / "o"])
    assert error.startswith(f"error: {config}: [scoring] scorer 'numeric' argument 'rel_tol'")


def test_optimize_names_the_config_given(outcomes, tmp_path):
    tiers = [{"name": "small", "model": "openai/gpt-4o-mini"}, {"name": "large", "model": "openai/gpt-4o"}]
    config = write_config(tmp_path / "optimize.toml", tiers, optimize={"routers": ["clasifier"]})
    error = _error(["optimize", outcomes, "--config", config, "--out", tmp_path / "o"])
    assert error.startswith(f"error: {config}: unknown router 'clasifier'")


def test_import_labels_and_estimate_name_the_config_given(other, tmp_path):
    one = write_config(tmp_path / "one.toml", [{"name": "small", "model": "openai/gpt-4o-mini"}])
    sample = tmp_path / "s.jsonl"
    assert (
        runner.invoke(
            app, ["sample", str(ROOT / "evalsets" / "support-logs.jsonl"), "--n", "5", "--out", str(sample)]
        ).exit_code
        == 0
    )
    error = _error(["import", "labels", sample, "--labels", sample, "-c", one, "--out", tmp_path / "o.parquet"])
    assert error.startswith(f"error: {one}: has one tier")


def test_drift_names_the_config_given(outcomes, tmp_path):
    made = runner.invoke(app, ["optimize", str(outcomes), "--router", "static", "--out", str(tmp_path / "run")])
    assert made.exit_code in (0, 1), made.output
    config = write_config(tmp_path / "drift.toml", [{"name": "small", "model": "routeeval-sim/gpt-4o-mini"}])
    logs = ROOT / "evalsets" / "support-logs.jsonl"
    error = _error(["drift", tmp_path / "run" / "policy.json", logs, "--config", config, "--out", tmp_path / "d"])
    assert error.startswith(f"error: {config}: the policy's tiers 'medium', 'large' are not in the config")


def test_cache_commands_name_a_config_given_that_does_not_exist(tmp_path):
    missing = tmp_path / "missing.toml"
    for command in (["cache", "stats"], ["cache", "clear", "--yes"]):
        error = _error([*command, "--config", missing])
        assert error.startswith(f"error: {missing}: no such config file")
