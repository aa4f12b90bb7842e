"""promptfoo results imported as outcomes, checked against the real results file's own numbers (tests/data/imports,
produced by promptfoo 0.121.20 against the loopback server; see SOURCE.md there)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from helpers import DATA, write_config
from typer.testing import CliRunner

from routeeval import columns as C
from routeeval.cli import app
from routeeval.config import load_config
from routeeval.errors import ConfigError, DataError
from routeeval.importers import import_outcomes
from routeeval.outcomes import read_outcomes, read_outcomes_metadata
from routeeval.promptfoo import import_promptfoo

RESULTS = DATA / "imports" / "promptfoo-results.json"
FLAKY_PRICE = {"name": "flaky-mini", "model": "openai/flaky-40-gpt-4o-mini"}  # promptfoo has no price for it
runner = CliRunner()


def _cells() -> list[dict]:
    return json.loads(RESULTS.read_text())["results"]["results"]


@pytest.fixture()
def flaky_priced(tmp_path):
    path = write_config(
        tmp_path / "routeeval.toml", [{**FLAKY_PRICE, "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6}]
    )
    return load_config(path).tiers


def test_every_cell_lands_as_the_file_says(flaky_priced):
    frame, metadata = import_promptfoo(RESULTS, tiers=flaky_priced)
    stats = json.loads(RESULTS.read_text())["results"]["stats"]
    assert len(frame) == len(_cells()) == 24
    assert sorted(frame[C.TIER].unique()) == ["4o", "flaky-mini", "mini"]  # provider labels
    assert sorted(frame[C.ROW_ID].unique()) == [f"q{i}" for i in range(1, 9)]  # test descriptions
    assert int((frame[C.SCORE] == 1).sum()) == stats["successes"] == 16
    assert int((frame[C.SCORE] == 0).sum()) == stats["failures"] == 6
    assert int(frame[C.ERROR].notna().sum()) == stats["errors"] == metadata["failed_calls"] == 2
    assert int(frame[C.PROMPT_TOKENS].sum()) == stats["tokenUsage"]["prompt"] == 251
    assert int(frame[C.COMPLETION_TOKENS].sum()) == stats["tokenUsage"]["completion"] == 22
    rows = frame.set_index([C.ROW_ID, C.TIER])
    for cell in _cells():
        row = rows.loc[(cell["testCase"]["description"], cell["provider"]["label"])]
        assert row[C.LATENCY_MS] == cell["latencyMs"]
        assert row[C.INPUT] == cell["prompt"]["raw"]
        assert json.loads(row[C.METADATA])["vars"] == cell["vars"]
        if cell["failureReason"] == 2:  # promptfoo's "error": a failed call, not a wrong answer
            assert math.isnan(row[C.SCORE]) and row[C.ERROR].startswith("API error: 500")
            assert pd.isna(row[C.RESPONSE])
            continue
        assert row[C.SCORE] == (1.0 if cell["success"] else 0.0)
        assert row[C.RESPONSE] == cell["response"]["output"]
        assert row[C.PROMPT_TOKENS] == cell["response"]["tokenUsage"]["prompt"]
        assert row[C.COMPLETION_TOKENS] == cell["response"]["tokenUsage"]["completion"]
        if cell["provider"]["label"] == "flaky-mini":  # no promptfoo cost: the config's price on the tokens
            expected = (row[C.PROMPT_TOKENS] * 0.15 + row[C.COMPLETION_TOKENS] * 0.6) / 1e6
            assert row[C.COST_USD] == pytest.approx(expected) and cell["cost"] == 0
        else:
            assert row[C.COST_USD] == pytest.approx(cell["cost"]) and cell["cost"] > 0
    assert metadata["costs"] == {
        "mini": "promptfoo",
        "4o": "promptfoo",
        "flaky-mini": "config (openai/flaky-40-gpt-4o-mini)",
    }


def test_a_provider_nobody_can_price_is_refused_not_free():
    with pytest.raises(DataError) as caught:
        import_promptfoo(RESULTS)
    assert str(caught.value) == (
        f"{RESULTS}: provider 'flaky-mini' has no cost in the results and its model 'openai/flaky-40-gpt-4o-mini' "
        "has no price in litellm's cost map; give a --config tier named 'flaky-mini' with price_in_per_mtok and "
        "price_out_per_mtok"
    )


def test_a_config_price_overrides_promptfoos_and_can_rename(tmp_path, flaky_priced):
    path = write_config(
        tmp_path / "prices.toml",
        [
            {**FLAKY_PRICE, "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6},
            {"name": "large", "model": "openai/gpt-4o", "price_in_per_mtok": 100.0, "price_out_per_mtok": 100.0},
        ],
    )
    frame, _ = import_promptfoo(RESULTS, tiers=load_config(path).tiers)
    large = frame[frame[C.TIER] == "large"]
    assert len(large) == 8 and "4o" not in set(frame[C.TIER])
    assert (large[C.COST_USD] == (large[C.PROMPT_TOKENS] + large[C.COMPLETION_TOKENS]) * 100.0 / 1e6).all()


def test_score_mode_reads_promptfoos_score(flaky_priced):
    frame, metadata = import_promptfoo(RESULTS, scorer="score", tiers=flaky_priced)
    assert metadata["scorer"] == "promptfoo(score)" and set(frame[C.SCORER]) == {"promptfoo(score)"}
    scores = {(c["testCase"]["description"], c["provider"]["label"]): c["score"] for c in _cells()}
    for row in frame[frame[C.ERROR].isna()].itertuples():
        assert row.score == scores[row.row_id, row.tier]
    with pytest.raises(ConfigError, match="choose from: pass, score"):
        import_promptfoo(RESULTS, scorer="points")


def test_tiers_are_listed_cheapest_first(tmp_path, flaky_priced):
    result = import_outcomes("promptfoo", RESULTS, tmp_path / "pf.parquet", tiers=flaky_priced)
    assert result.tiers == ["flaky-mini", "mini", "4o"]
    assert (result.n_queries, result.n_rows) == (8, 24)
    stored = read_outcomes(result.out)
    assert len(stored) == 24 and json.loads(read_outcomes_metadata(result.out)["tiers"]) == result.tiers


def _edited(tmp_path, edit) -> str:
    raw = json.loads(RESULTS.read_text())
    edit(raw)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(raw))
    return str(path)


def test_two_tests_with_one_id_are_an_error(tmp_path, flaky_priced):
    def rename(raw):
        for cell in raw["results"]["results"]:
            if cell["testIdx"] == 1:
                cell["testCase"]["description"] = "q1"

    path = _edited(tmp_path, rename)
    with pytest.raises(DataError) as caught:
        import_promptfoo(path, tiers=flaky_priced)
    assert str(caught.value) == (
        f"{path}: field 'testCase.description' tests 1 and 2 both get row id 'q1' (from testCase.description and "
        "testCase.description); give each test a unique description or vars.id"
    )


def test_vars_id_then_index_name_the_rows(tmp_path, flaky_priced):
    def reidentify(raw):
        for cell in raw["results"]["results"]:
            if cell["testIdx"] < 4:
                cell["vars"]["id"] = f"ticket-{cell['testIdx']}"
            else:
                del cell["testCase"]["description"]

    frame, _ = import_promptfoo(_edited(tmp_path, reidentify), tiers=flaky_priced)
    assert sorted(frame[C.ROW_ID].unique()) == [f"test{i}" for i in range(5, 9)] + [f"ticket-{i}" for i in range(4)]


def test_several_prompts_make_a_tier_each(tmp_path, flaky_priced):
    def second_prompt(raw):
        cells = raw["results"]["results"]
        for cell in [json.loads(json.dumps(cell)) for cell in cells]:
            cell["promptId"] = "other"
            cells.append(cell)

    frame, _ = import_promptfoo(_edited(tmp_path, second_prompt), tiers=flaky_priced)
    assert sorted(frame[C.TIER].unique()) == [
        f"{name}/prompt{n}" for name in ("4o", "flaky-mini", "mini") for n in (1, 2)
    ]  # the config tier serving flaky-mini's model prices both of its columns and renames neither
    assert len(frame) == 48


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda raw: raw.pop("results"),
            "field 'results.results' is missing or not a list; expected promptfoo's results file "
            "(promptfoo eval -o FILE.json)",
        ),
        (
            lambda raw: raw["results"]["results"][3].update(latencyMs="slow"),
            "field 'results.results[3].latencyMs' is 'slow'; expected a number >= 0",
        ),
        (
            lambda raw: raw["results"]["results"][5].pop("provider"),
            "field 'results.results[5].provider' is missing or has no id",
        ),
    ],
)
def test_bad_files_name_the_field(tmp_path, flaky_priced, edit, message):
    path = _edited(tmp_path, edit)
    with pytest.raises(DataError) as caught:
        import_promptfoo(path, tiers=flaky_priced)
    assert str(caught.value) == f"{path}: {message}"


def test_cli_imports_then_optimizes(in_tmp):
    write_config(in_tmp / "prices.toml", [{**FLAKY_PRICE, "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6}])
    done = runner.invoke(app, ["import", "promptfoo", str(RESULTS), "--out", "pf.parquet", "-c", "prices.toml"])
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[0] == "wrote pf.parquet: 8 queries × 3 tiers = 24 rows (tiers, cheapest first: flaky-mini, mini, 4o)"
    assert lines[1].startswith("scored by promptfoo(pass); 2 failed calls kept as errors (no score); cost from ")
    optimized = runner.invoke(app, ["optimize", "pf.parquet", "--out", "run", "--max-drop", "0.5"])
    assert optimized.exit_code == 0, optimized.output
    summary = json.loads((in_tmp / "run" / "summary.json").read_text())
    assert {tier["tier"] for tier in summary["single_tiers"]} == {"flaky-mini", "mini", "4o"}
    assert (in_tmp / "run" / "policy.json").is_file()


def test_cli_bad_file_is_one_line_exit_2(in_tmp):
    (in_tmp / "bad.json").write_text("{not json")
    done = runner.invoke(app, ["import", "promptfoo", "bad.json", "--out", "pf.parquet"])
    assert done.exit_code == 2
    assert done.output.startswith("error: bad.json: not readable JSON (") and done.output.count("\n") == 1
    assert not (in_tmp / "pf.parquet").exists()
    two = runner.invoke(app, ["import", "promptfoo", "a.json", "b.json", "--out", "pf.parquet"])
    assert two.exit_code == 2
    assert two.output == "error: import promptfoo reads one file or folder; got 2 (only inspect takes several).\n"
