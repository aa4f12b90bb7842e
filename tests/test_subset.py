"""routeeval run --limit N / --sample N [--seed S]: a subset of the eval rows, picked before replay and recorded in
summary.json and the reports, so that a subset run is never mistaken for a full one."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest
from helpers import DATA, ROOT
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.data import load_eval_set
from routeeval.errors import ConfigError
from routeeval.pipeline import RowSubset, subset_eval_set

runner = CliRunner()
SUPPORT = ROOT / "evalsets" / "support.jsonl"  # 350 rows, 8 intents


def test_limit_keeps_the_first_rows_in_order():
    eval_set = load_eval_set(DATA / "mini_eval.jsonl")
    picked, record = subset_eval_set(eval_set, RowSubset(limit=5))
    assert [row.row_id for row in picked.rows] == [row.row_id for row in eval_set.rows[:5]]
    assert record == {"method": "limit", "rows_in_file": 12, "n": 5, "seed": None, "stratified_by": None, "rows": 5}
    assert picked.sha256 == eval_set.sha256  # the file's digest; the subset says which rows of it


def test_sample_is_seeded_stratified_by_intent_and_keeps_file_order():
    eval_set = load_eval_set(SUPPORT)
    first, record = subset_eval_set(eval_set, RowSubset(sample=70, seed=3))
    again, _ = subset_eval_set(eval_set, RowSubset(sample=70, seed=3))
    other, _ = subset_eval_set(eval_set, RowSubset(sample=70, seed=4))
    ids = [row.row_id for row in first.rows]
    assert ids == [row.row_id for row in again.rows], "the same seed gives the same rows"
    assert ids != [row.row_id for row in other.rows], "another seed gives other rows"
    order = {row.row_id: i for i, row in enumerate(eval_set.rows)}
    assert ids == sorted(ids, key=order.__getitem__) and len(set(ids)) == 70
    expected = {"method": "sample", "rows_in_file": 350, "n": 70, "seed": 3, "stratified_by": "intent", "rows": 70}
    assert record == expected
    # each intent keeps its share: 70 of 350 is a fifth of each, within one row (largest remainders)
    whole, part = Counter(r.intent for r in eval_set.rows), Counter(r.intent for r in first.rows)
    assert set(part) == set(whole)
    assert all(abs(part[intent] - whole[intent] / 5) < 1 for intent in whole), (part, whole)


def test_sample_without_intents_is_a_plain_seeded_draw(tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "input": f"q{i}", "reference": "a"}) + "\n" for i in range(30)))
    picked, record = subset_eval_set(load_eval_set(path), RowSubset(sample=10))
    assert record["stratified_by"] is None and record["seed"] == 0 and len(picked.rows) == 10


def test_a_subset_larger_than_the_file_keeps_every_row():
    eval_set = load_eval_set(DATA / "mini_eval.jsonl")
    for subset in (RowSubset(limit=50), RowSubset(sample=50, seed=1)):
        picked, record = subset_eval_set(eval_set, subset)
        assert len(picked.rows) == record["rows"] == 12 and record["n"] == 50
    assert subset_eval_set(eval_set, RowSubset()) == (eval_set, None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": 2, "sample": 3}, "--limit and --sample both pick the rows to run; give one of them."),
        ({"seed": 1}, "--seed seeds --sample; give --sample N with it."),
        ({"limit": 0}, "--limit must be at least 1, got 0."),
        ({"sample": -4}, "--sample must be at least 1, got -4."),
        ({"sample": 4, "seed": -1}, "--seed must be at least 0, got -1."),
    ],
)
def test_bad_subset_options_are_one_line_errors(options, message, tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as info:
        RowSubset(**options)
    assert str(info.value) == message
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    args = [arg for key, value in options.items() for arg in (f"--{key}", str(value))]
    result = runner.invoke(app, ["run", str(DATA / "mini_eval.jsonl"), *args])
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")


def test_the_dry_run_prices_only_the_subset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    result = runner.invoke(app, ["run", str(SUPPORT), "--sample", "35", "--seed", "2", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["evalset"]["rows"] == 35 and record["evalset"]["subset"]["rows_in_file"] == 350
    assert {e["calls"] for e in record["phases"]} == {35}  # 3 tiers and the triage tier, one call per row each
    assert record["notes"][0].startswith("SUBSET: this run used 35 of its 350 rows drawn at random (--sample 35")


@pytest.mark.slow
def test_a_subset_run_says_so_in_summary_json_and_every_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    result = runner.invoke(app, ["run", str(SUPPORT), "--limit", "120", "--out", "out", "--no-progress"])
    assert result.exit_code in (0, 1), result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["evalset"]["rows"] == 120
    assert summary["evalset"]["subset"] == {
        "method": "limit",
        "rows_in_file": 350,
        "n": 120,
        "seed": None,
        "stratified_by": None,
        "rows": 120,
    }
    note = "SUBSET: this run used the first 120 of its 350 rows (--limit 120)"
    assert summary["notes"][0].startswith(note)
    assert note in " ".join(result.stdout.split())  # the terminal's notes (rich wraps lines)
    for report in ("report.md", "report.html"):
        assert "the first 120 of its 350 rows (--limit 120)" in (tmp_path / "out" / report).read_text()
    policy = json.loads((tmp_path / "out" / "policy.json").read_text())
    assert policy["provenance"]["evalset_subset"]["rows"] == 120
    # `optimize` on the subset's outcomes keeps saying so
    again = runner.invoke(app, ["optimize", "out/outcomes.parquet", "--out", "again", "--json"])
    assert again.exit_code in (0, 1), again.output
    assert json.loads(again.stdout)["evalset"]["subset"]["rows"] == 120
