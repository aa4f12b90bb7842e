"""The labeling flow on the command line (sample -> label -> estimate) and labels flowing into a run."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.data import load_eval_set
from routeeval.errors import DataError
from routeeval.labeling.labels import LabelsWriter
from routeeval.pipeline import with_labels

runner = CliRunner()
LOGS = ROOT / "evalsets" / "drift" / "support-logs-2026-11.jsonl"


def test_sample_label_estimate_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sampled = runner.invoke(app, ["sample", str(LOGS), "--n", "40", "--seed", "3", "--out", "s.jsonl"])
    assert sampled.exit_code == 0, sampled.output
    assert "sampled 40 of" in sampled.output and (tmp_path / "s.jsonl").exists()
    keys = "\n".join(["e", "e", "h", "s", "u", "h"] + ["e"] * 10 + ["q"]) + "\n"
    labeled = runner.invoke(app, ["label", "s.jsonl", "--out", "l.jsonl", "--labeler", "ana"], input=keys)
    assert labeled.exit_code == 0, labeled.output
    events = [json.loads(line) for line in (tmp_path / "l.jsonl").read_text().splitlines()]
    assert sum(1 for e in events if e.get("undo")) == 1 and len(events) == 16
    estimated = runner.invoke(app, ["estimate", "l.jsonl", "--sample", "s.jsonl", "--out", "est", "--json"])
    assert estimated.exit_code == 0, estimated.output
    record = json.loads((tmp_path / "est" / "estimate.json").read_text())
    assert record["schema"] == "routeeval.estimate/v1"
    # 14 labels in force: the skip was undone and replaced by "hard": 12 easy, 2 hard
    assert record["counts"]["n_easy"] == 12 and record["counts"]["n_hard"] == 2
    foreign = tmp_path / "foreign.jsonl"
    with LabelsWriter(foreign, "x" * 64, "ana") as writer:
        writer.decide("not-in-the-sample", "easy", 1.0)
    refused = runner.invoke(app, ["estimate", str(foreign), "--sample", "s.jsonl", "--out", "x"])
    assert refused.exit_code == 2 and "not in the sample" in refused.output and "Traceback" not in refused.output


def test_run_labels_replace_the_eval_rows_label_by_majority(tmp_path):
    eval_set = load_eval_set(ROOT / "evalsets" / "support.jsonl")
    first, second = eval_set.rows[0], eval_set.rows[1]
    flipped = "hard" if first.label == "easy" else "easy"
    path = tmp_path / "labels.jsonl"
    for labeler, label in (("ana", flipped), ("ben", flipped), ("cy", first.label)):
        with LabelsWriter(path, "s" * 64, labeler) as writer:
            writer.decide(first.row_id, label, 1.0)
            writer.decide(second.row_id, "hard" if labeler == "ana" else "easy", 1.0)
    with LabelsWriter(path, "s" * 64, "dan") as writer:
        writer.decide(second.row_id, "hard", 1.0)  # second row: 2 hard, 2 easy: a tie keeps its own label
    labeled = with_labels(eval_set, path)
    assert labeled.rows[0].label == flipped and labeled.rows[1].label == second.label
    assert labeled.rows[2:] == eval_set.rows[2:]
    with LabelsWriter(path, "s" * 64, "ana") as writer:
        writer.decide("no-such-row", "easy", 1.0)
    with pytest.raises(DataError, match="not in the sample"):
        with_labels(eval_set, path)


def test_a_labels_line_with_an_unknown_key_is_refused_naming_file_line_and_field(tmp_path):
    from routeeval.labeling.labels import read_labels

    path = tmp_path / "labels.jsonl"
    with LabelsWriter(path, "s" * 64, "ana") as writer:
        writer.decide("r1", "easy", 1.0)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "r2", "label": "easy", "labeler": "ana", "at": "t", "lable": "hard"}) + "\n")
    with pytest.raises(DataError, match=r"labels.jsonl line 2: field 'lable' is not a labels-file key"):
        read_labels(path)
