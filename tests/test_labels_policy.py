"""A first policy from human easy/hard labels alone (routeeval import labels, then optimize), on the demo's logs."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from routeeval import columns as C
from routeeval.cli import app
from routeeval.config import load_config
from routeeval.labeling.estimate import estimate_labels
from routeeval.labeling.labels import LabelsWriter, read_sample
from routeeval.labeling.sample import sample_logs
from routeeval.outcomes import read_outcomes, read_outcomes_metadata
from routeeval.pipeline import optimize_file
from routeeval.pricing import price_tiers
from routeeval.runtime import Router

runner = CliRunner()
LOGS = ROOT / "evalsets" / "drift" / "support-logs-2026-11.jsonl"
CONFIG = ROOT / "routeeval.toml"
NOTE = (
    "This policy was learned from human easy/hard labels alone ({n} rows, no tier called): its accuracy figures are "
    "the labels' claim; replay it with routeeval run before trusting them."
)


@pytest.fixture(scope="module")
def labeled(tmp_path_factory):
    """200 of November's queries, labeled as make label-demo does: ana follows the generator's label, ben flips
    every 9th row, both skip every 40th (so some rows are disputed, some skipped); then imported."""
    folder = tmp_path_factory.mktemp("labels-policy")
    sample_path = folder / "sample.jsonl"
    sample_logs(LOGS, n=200, seed=0, out=sample_path)
    truth = {row["id"]: row["label"] for row in map(json.loads, LOGS.read_text(encoding="utf-8").splitlines())}
    sample = read_sample(sample_path)
    labels_path = folder / "labels.jsonl"
    for labeler, flip in (("ana", 0), ("ben", 9)):
        with LabelsWriter(labels_path, sample.sha256, labeler) as writer:
            for number, row in enumerate(sample.rows, start=1):
                label = truth[row["id"]]
                if flip and number % flip == 0:
                    label = "hard" if label == "easy" else "easy"
                writer.decide(row["id"], "skip" if number % 40 == 0 else label, 1.0)
    out = folder / "outcomes.parquet"
    imported = runner.invoke(
        app, ["import", "labels", str(sample_path), "--labels", str(labels_path), "-c", str(CONFIG), "--out", str(out)]
    )
    assert imported.exit_code == 0, imported.output
    counts = estimate_labels([labels_path], sample_path=sample_path)["counts"]
    return {"folder": folder, "sample": sample_path, "labels": labels_path, "outcomes": out, "counts": counts}


@pytest.fixture(scope="module")
def optimized(labeled):
    """optimize on the labels' table with every router: labels cannot train cascade and llm, so they are skipped."""
    config = load_config(CONFIG)
    return optimize_file(labeled["outcomes"], config=config, out_dir=labeled["folder"] / "run", overrides={})


def test_import_labels_says_what_it_wrote(labeled, tmp_path):
    args = ["import", "labels", str(labeled["sample"]), "--labels", str(labeled["labels"]), "-c", str(CONFIG)]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "o.parquet")])
    counts = labeled["counts"]
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"wrote {tmp_path / 'o.parquet'}: {counts['n_labeled_rows']} queries × 2 tiers = "
        f"{2 * counts['n_labeled_rows']} rows (tiers, cheapest first: small, large)",
        f"from {counts['n_labeled_rows']} labeled rows ({counts['n_easy']} easy, {counts['n_hard']} hard); left out: "
        f"{counts['n_skipped']} skipped, {counts['n_disputed']} disputed, 0 unlabeled",
    ]


def test_the_table_holds_the_labels_claim_on_the_cheapest_and_costliest_tier(labeled):
    frame = read_outcomes(labeled["outcomes"])
    counts = labeled["counts"]
    assert counts["n_disputed"] > 0 and counts["n_skipped"] > 0  # both kinds of left-out row occur
    assert sorted(frame[C.TIER].unique()) == ["large", "small"]
    assert len(frame) == 2 * counts["n_labeled_rows"] == 2 * frame[C.ROW_ID].nunique()
    small = frame[frame[C.TIER] == "small"].set_index(C.ROW_ID)
    large = frame[frame[C.TIER] == "large"].set_index(C.ROW_ID)
    assert (small[C.SCORE] == (small[C.LABEL] == "easy").astype(float)).all()
    assert (large[C.SCORE] == 1.0).all() and int((small[C.LABEL] == "easy").sum()) == counts["n_easy"]
    assert set(frame[C.SOURCE]) == {"eval"} and set(frame[C.SCORER]) == {"human label (easy/hard)"}
    assert frame[C.RESPONSE].isna().all() and frame[C.LATENCY_MS].isna().all() and frame[C.REFERENCE].isna().all()
    prices = price_tiers(load_config(CONFIG).tiers)
    row = small.iloc[0]
    tokens = int(row[C.PROMPT_TOKENS]), int(row[C.COMPLETION_TOKENS])
    assert row[C.COST_USD] == pytest.approx(prices["small"].cost_usd(*tokens))
    assert large.loc[small.index[0], C.COST_USD] == pytest.approx(prices["large"].cost_usd(*tokens))
    metadata = read_outcomes_metadata(labeled["outcomes"])
    assert metadata["basis"] == "human labels"
    assert metadata["sample_sha256"] == read_sample(labeled["sample"]).sha256
    assert json.loads(metadata["labels"]) == [str(labeled["labels"])]
    assert [t["name"] for t in json.loads(metadata["tiers"])] == ["small", "large"]


def test_optimize_writes_a_policy_the_runtime_loads_and_says_it_came_from_labels(labeled, optimized):
    router = Router.load(optimized.policy_path)
    assert router.route("hi all new here").tier in ("small", "large")
    summary = json.loads(optimized.summary_path.read_text())
    note = NOTE.format(n=labeled["counts"]["n_labeled_rows"])
    assert summary["notes"][0] == note
    assert {
        "cascade router skipped: it escalates on the cheapest tier's answer, and labels record no answer",
        "llm router skipped: it needs a tier's triage calls, and no tier was called",
    } <= set(summary["notes"])
    assert summary["routers"] == ["classifier", "knn", "static"]
    assert summary.get("labels") is None  # the labels checked against a table made of them would say nothing
    assert "Human labels vs measured outcomes" not in optimized.reports["markdown"].read_text()
    assert "labels&#x27; claim" in optimized.reports["html"].read_text()


def test_report_md_says_the_policy_came_from_labels(labeled, optimized):
    assert NOTE.format(n=labeled["counts"]["n_labeled_rows"]) in optimized.reports["markdown"].read_text()


def test_optimize_on_the_command_line_with_text_routers(labeled, tmp_path):
    args = ["optimize", str(labeled["outcomes"]), "--router", "classifier", "--router", "static", "--max-drop", "0.05"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "run"), "--json"])
    assert result.exit_code in (0, 1), result.output  # 1: nothing cheaper qualified (the policy is the baseline)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["notes"][0] == NOTE.format(n=labeled["counts"]["n_labeled_rows"])
    assert not any("router skipped" in note for note in summary["notes"])  # cascade and llm were not asked for
    Router.load(tmp_path / "run" / "policy.json")


def test_bad_input_exits_2_in_one_line(labeled, tmp_path):
    foreign = tmp_path / "foreign.jsonl"
    with LabelsWriter(foreign, "x" * 64, "ana") as writer:
        writer.decide("not-in-the-sample", "easy", 1.0)
    sample, out = str(labeled["sample"]), str(tmp_path / "o.parquet")
    cases = [
        (
            ["import", "labels", sample, "--labels", str(foreign), "-c", str(CONFIG), "--out", out],
            f"error: {foreign} line 1: field 'id' labels row 'not-in-the-sample', which is not in the sample\n",
        ),
        (
            ["import", "labels", sample, "--out", out],
            f"error: import labels needs --labels LABELS: the labels file(s) routeeval label wrote for {sample}.\n",
        ),
        (
            ["import", "routerbench", sample, "--labels", str(foreign), "--out", out],
            "error: --labels is read only by `routeeval import labels`, not by routerbench.\n",
        ),
        (
            ["optimize", str(labeled["outcomes"]), "--router", "cascade", "--out", str(tmp_path / "run")],
            f"error: {labeled['outcomes']} holds human easy/hard labels, which cannot train cascade; choose from: "
            "classifier, knn, static.\n",
        ),
    ]
    for args, stderr in cases:
        result = runner.invoke(app, args)
        assert (result.exit_code, result.stderr) == (2, stderr), args
    assert not (tmp_path / "o.parquet").exists()
