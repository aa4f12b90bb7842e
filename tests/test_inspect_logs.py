"""inspect_ai eval logs imported as outcomes, checked against the logs' own aggregates (tests/data/imports, produced
by inspect_ai 0.3.285 against the loopback server; see SOURCE.md there)."""

from __future__ import annotations

import json
import shutil
import sys
import zipfile

import pandas as pd
import pytest
from helpers import DATA, write_config
from typer.testing import CliRunner

from routeeval import columns as C
from routeeval.cli import app
from routeeval.config import load_config
from routeeval.errors import ConfigError, DataError
from routeeval.importers import import_outcomes
from routeeval.inspect_logs import _read_log, import_inspect, value_to_float
from routeeval.pricing import lookup_cost_map

LOGS = DATA / "imports"
MINI_EVAL = LOGS / "inspect-gpt-4o-mini.eval"
BIG_EVAL = LOGS / "inspect-gpt-4o.eval"
BIG_JSON = LOGS / "inspect-gpt-4o.json"
runner = CliRunner()


def _aggregates(path):
    """What inspect itself computed for the log: accuracy per scorer and total tokens of the model."""
    header, _ = _read_log(path)
    accuracy = {score["name"]: score["metrics"]["accuracy"]["value"] for score in header["results"]["scores"]}
    usage = header["stats"]["model_usage"][header["eval"]["model"]]
    return accuracy, usage


@pytest.mark.parametrize("scorer", ["match", "includes"])
def test_two_eval_logs_are_two_tiers_matching_inspects_numbers(scorer):
    frame, metadata = import_inspect([MINI_EVAL, BIG_EVAL], scorer=None if scorer == "match" else scorer)
    assert metadata["scorer"] == f"inspect({scorer})"
    assert len(frame) == 16 and sorted(frame[C.TIER].unique()) == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    assert sorted(frame[C.ROW_ID].unique()) == [f"q{i}" for i in range(1, 9)]
    for path in (MINI_EVAL, BIG_EVAL):
        accuracy, usage = _aggregates(path)
        model = _read_log(path)[0]["eval"]["model"]
        rows = frame[frame[C.TIER] == model]
        assert rows[C.SCORE].mean() == pytest.approx(accuracy[scorer])
        assert int(rows[C.PROMPT_TOKENS].sum()) == usage["input_tokens"]
        assert int(rows[C.COMPLETION_TOKENS].sum()) == usage["output_tokens"]
        price_in, price_out = lookup_cost_map(model)
        expected = (rows[C.PROMPT_TOKENS] * price_in + rows[C.COMPLETION_TOKENS] * price_out) / 1e6
        assert rows[C.COST_USD].tolist() == pytest.approx(expected.tolist())
    mini = frame[frame[C.TIER] == "openai/gpt-4o-mini"].set_index(C.ROW_ID)
    assert mini[C.SCORE].to_dict() == {f"q{i}": float(i not in (3, 4, 7)) for i in range(1, 9)}
    assert mini.loc["q3", C.RESPONSE] == "206" and mini.loc["q3", C.REFERENCE] == "205"
    assert mini.loc["q3", C.INPUT] == "What is 108 + 97? Reply with the number only."
    assert (frame[C.LATENCY_MS] > 0).all() and frame[C.ERROR].isna().all()


def test_json_log_reads_sample_by_sample_like_the_file():
    frame, _ = import_inspect([BIG_JSON])
    log = json.loads(BIG_JSON.read_text())
    rows = frame.set_index(C.ROW_ID)
    assert len(rows) == len(log["samples"]) == 8
    for sample in log["samples"]:
        row = rows.loc[sample["id"]]
        usage = sample["model_usage"]["openai/gpt-4o"]
        assert row[C.SCORE] == {"C": 1.0, "I": 0.0}[sample["scores"]["match"]["value"]]
        assert (row[C.PROMPT_TOKENS], row[C.COMPLETION_TOKENS]) == (usage["input_tokens"], usage["output_tokens"])
        assert row[C.RESPONSE] == sample["output"]["completion"]
        assert row[C.LATENCY_MS] == pytest.approx(sample["working_time"] * 1000)


def test_eval_and_json_formats_agree():
    """The same task and model, logged once as .eval (zip, zstd) and once as .json: the same rows."""
    from_zip, _ = import_inspect([BIG_EVAL])
    from_json, _ = import_inspect([BIG_JSON])
    same = [C.ROW_ID, C.TIER, C.RESPONSE, C.SCORE, C.COST_USD, C.PROMPT_TOKENS, C.COMPLETION_TOKENS, C.INPUT]
    pd.testing.assert_frame_equal(
        from_zip[same].sort_values(C.ROW_ID).reset_index(drop=True),
        from_json[same].sort_values(C.ROW_ID).reset_index(drop=True),
    )


def test_config_tier_names_and_prices_the_model(tmp_path):
    config = write_config(
        tmp_path / "routeeval.toml",
        [
            {"name": "small", "model": "openai/gpt-4o-mini", "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0},
            {"name": "large", "model": "openai/gpt-4o"},  # no prices: the cost map's
        ],
    )
    frame, metadata = import_inspect([MINI_EVAL, BIG_EVAL], tiers=load_config(config).tiers)
    small = frame[frame[C.TIER] == "small"]
    assert len(small) == 8 and set(frame[C.TIER]) == {"small", "large"}
    assert small[C.COST_USD].tolist() == pytest.approx(
        ((small[C.PROMPT_TOKENS] * 1.0 + small[C.COMPLETION_TOKENS] * 2.0) / 1e6).tolist()
    )
    assert metadata["costs"]["small"] == "config (1 / 2 USD per 1M)"
    assert metadata["costs"]["large"].startswith("litellm cost map (")


def _edited_json(tmp_path, edit, name="edited.json"):
    log = json.loads(BIG_JSON.read_text())
    edit(log)
    path = tmp_path / name
    path.write_text(json.dumps(log))
    return path


def test_an_unpriced_model_is_refused_not_free(tmp_path):
    path = _edited_json(tmp_path, lambda log: log["eval"].update(model="openai/house-model-7"))
    with pytest.raises(DataError) as caught:
        import_inspect([path])
    assert str(caught.value) == (
        f"{path}: field 'eval.model' model 'openai/house-model-7' has no price in litellm's cost map and no --config "
        "tier serves it; inspect logs carry tokens, not dollars: give a --config tier with this model and "
        "price_in_per_mtok, price_out_per_mtok"
    )


def test_a_sample_missing_from_one_log_is_an_error(tmp_path):
    def drop_q7(log):
        log["samples"] = [sample for sample in log["samples"] if sample["id"] != "q7"]

    path = _edited_json(tmp_path, drop_q7)
    with pytest.raises(DataError) as caught:
        import_inspect([MINI_EVAL, path])
    assert str(caught.value) == (
        f"{path}: has no sample 'q7', which {MINI_EVAL} has (1 samples differ between the logs); every log must hold "
        "the same samples: rerun the missing ones, or import only logs that agree"
    )


def test_one_model_twice_is_an_error():
    with pytest.raises(DataError, match=r"field 'eval.model' is 'openai/gpt-4o', the same model as .*; give one log"):
        import_inspect([BIG_EVAL, BIG_JSON])


def test_an_errored_sample_has_no_score_and_its_error(tmp_path):
    def fail_q2(log):
        sample = next(sample for sample in log["samples"] if sample["id"] == "q2")
        sample["error"] = {"message": "RuntimeError('boom')\nmore", "traceback": "..."}
        sample.pop("scores")

    frame, metadata = import_inspect([_edited_json(tmp_path, fail_q2)])
    row = frame.set_index(C.ROW_ID).loc["q2"]
    assert pd.isna(row[C.SCORE]) and row[C.ERROR] == "RuntimeError('boom')" and metadata["failed_samples"] == 1


def test_epochs_make_row_ids_per_epoch(tmp_path):
    def two_epochs(log):
        log["eval"]["config"]["epochs"] = 2
        log["samples"] = log["samples"] + [{**sample, "epoch": 2} for sample in log["samples"]]

    frame, _ = import_inspect([_edited_json(tmp_path, two_epochs)])
    assert sorted(frame[C.ROW_ID])[:3] == ["q1@1", "q1@2", "q2@1"] and len(frame) == 16


@pytest.mark.parametrize(
    ("value", "expected"),
    [("C", 1.0), ("P", 0.5), ("I", 0.0), ("N", 0.0), ("yes", 1.0), ("False", 0.0), ("0.25", 0.25), (0.7, 0.7)]
    + [(True, 1.0), (0, 0.0)],
)
def test_values_map_as_inspects_value_to_float(value, expected):
    assert value_to_float("log.json", value, "samples[0].scores.s.value") == expected


@pytest.mark.parametrize("value", [{"a": 1}, [1], "maybe", 3.0, -1, None])
def test_values_inspect_would_count_as_zero_are_errors(value):
    with pytest.raises(DataError, match=r"^log.json: field 'samples\[0\].scores.s.value' is .*; expected C, P, I, N"):
        value_to_float("log.json", value, "samples[0].scores.s.value")


def test_unknown_scorer_lists_the_scores():
    with pytest.raises(DataError) as caught:
        import_inspect([BIG_JSON], scorer="f1")
    assert str(caught.value) == (
        f"{BIG_JSON}: field 'samples[0]' has no score 'f1' (scores here: includes, match); pick one with --scorer"
    )


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="zipfile reads zstd itself from Python 3.14")
def test_zstd_without_zstandard_says_how_to_convert(monkeypatch):
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(DataError) as caught:
        import_inspect([MINI_EVAL])
    assert str(caught.value) == (
        f"{MINI_EVAL}: member 'header.json' is zstd-compressed (inspect_ai's current .eval format), which Python "
        "reads from 3.14; install the zstandard package, or convert the log: inspect log convert LOG --to json "
        "--output-dir DIR"
    )


def test_deflated_eval_logs_need_only_the_standard_library(tmp_path, monkeypatch):
    """Older inspect versions wrote .eval members with deflate: plain zipfile reads them."""
    copy = tmp_path / "deflated.eval"
    with zipfile.ZipFile(MINI_EVAL) as source, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as target:
        from routeeval.inspect_logs import _member

        for name in source.namelist():
            target.writestr(name, _member(MINI_EVAL, source, name))
    monkeypatch.setitem(sys.modules, "zstandard", None)
    frame, _ = import_inspect([copy])
    assert len(frame) == 8 and frame[C.SCORE].sum() == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "the log is not valid JSON ("),
        (b'{"version": 2}', "field 'eval.model' is missing; not an inspect_ai eval log"),
        (b'{"eval": {"model": "openai/gpt-4o"}}', "field 'samples' is missing; the log was written without samples"),
    ],
)
def test_bad_logs_name_the_file_and_field(tmp_path, content, message):
    with pytest.raises(DataError, match="is a folder; give its log files, one per model"):
        import_inspect([tmp_path])
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        import_inspect([path])
    assert str(caught.value).startswith(f"{path}: {message}")


def test_cli_imports_several_logs_then_optimizes(in_tmp):
    shutil.copy(MINI_EVAL, in_tmp / "mini.eval")
    done = runner.invoke(app, ["import", "inspect", "mini.eval", str(BIG_JSON), "--out", "inspect.parquet"])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0] == (
        "wrote inspect.parquet: 8 queries × 2 tiers = 16 rows "
        "(tiers, cheapest first: openai/gpt-4o-mini, openai/gpt-4o)"
    )
    optimized = runner.invoke(app, ["optimize", "inspect.parquet", "--out", "run", "--max-drop", "0.5"])
    assert optimized.exit_code == 0, optimized.output
    summary = json.loads((in_tmp / "run" / "summary.json").read_text())
    assert [tier["tier"] for tier in summary["single_tiers"]] == ["openai/gpt-4o-mini", "openai/gpt-4o"]


def test_cli_bad_log_is_one_line_exit_2(in_tmp):
    (in_tmp / "broken.eval").write_bytes(b"PK\x03\x04 not really a zip")
    done = runner.invoke(app, ["import", "inspect", "broken.eval", "--out", "inspect.parquet"])
    assert done.exit_code == 2 and done.output.count("\n") == 1
    assert done.output.startswith("error: broken.eval: ")
    assert not (in_tmp / "inspect.parquet").exists()


def test_only_inspect_takes_several_paths(tmp_path):
    with pytest.raises(ConfigError) as caught:
        import_outcomes("routerbench", [MINI_EVAL, BIG_EVAL], tmp_path / "out.parquet")
    assert str(caught.value) == "import routerbench reads one file or folder; got 2 (only inspect takes several)."


def test_real_errored_samples_have_no_score(tmp_path):
    """inspect's own run with failing calls (--no-fail-on-error): 2 samples errored, accuracy over the other 6."""
    flaky = LOGS / "inspect-flaky-40-gpt-4o-mini.eval"
    config = write_config(
        tmp_path / "routeeval.toml",
        [
            {
                "name": "flaky",
                "model": "openai/flaky-40-gpt-4o-mini",
                "price_in_per_mtok": 0.15,
                "price_out_per_mtok": 0.6,
            }
        ],
    )
    frame, metadata = import_inspect([MINI_EVAL, BIG_EVAL, flaky], tiers=load_config(config).tiers)
    assert len(frame) == 24 and metadata["failed_samples"] == 2
    rows = frame[frame[C.TIER] == "flaky"].set_index(C.ROW_ID)
    accuracy, usage = _aggregates(flaky)
    assert rows[C.SCORE].isna().tolist() == [True, True] + [False] * 6
    assert rows[C.ERROR].dropna().str.startswith("RetryError(").all() and rows[C.ERROR].notna().sum() == 2
    assert rows[C.SCORE].mean() == pytest.approx(accuracy["match"]) == 0.5  # both skip the errored samples
    assert int(rows[C.PROMPT_TOKENS].sum()) == usage["input_tokens"] == 69
    assert rows.loc["q1", C.COST_USD] == 0
