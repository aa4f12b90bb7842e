"""routeeval.labeling.estimate: the easy share and its interval, reweighting, agreement, Label Studio exports, the
saving, the renderers, and bad input named by file and line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import write_config
from rich.console import Console
from sklearn.metrics import cohen_kappa_score

from routeeval.config import load_config
from routeeval.errors import DataError
from routeeval.labeling.estimate import (
    ESTIMATE_SCHEMA,
    StratumCount,
    cohen_kappa,
    estimate_labels,
    fleiss_kappa,
    load_estimate_config,
    post_stratified_share,
    render_estimate_markdown,
    render_estimate_terminal,
    write_estimate,
)
from routeeval.labeling.labels import SAMPLE_SCHEMA
from routeeval.stats import wilson_interval

AT = "2026-12-01T10:00:00Z"


def write_sample(path: Path, rows: list[dict], strata: dict[str, int] | None = None) -> Path:
    """A sample file: stratified by intent with these stratum populations, or a simple random sample."""
    header: dict = {"routeeval_sample": SAMPLE_SCHEMA, "seed": 0, "n": len(rows), "stratify": "none"}
    if strata is not None:
        sampled = {name: sum(row.get("stratum") == name for row in rows) for name in strata}
        header["stratify"] = "intent"
        header["strata"] = {name: {"population": n, "sampled": sampled[name]} for name, n in strata.items()}
    lines = [json.dumps(header)] + [json.dumps({"input": f"query {row['id']}", **row}) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_labels(path: Path, decisions: list[tuple], labeler: str = "ann") -> Path:
    """A labels file: one event per (id, label) or (id, label, assist)."""
    events = []
    for decision in decisions:
        row_id, label = decision[0], decision[1]
        assist = decision[2] if len(decision) > 2 else None
        events.append({"id": row_id, "label": label, "labeler": labeler, "at": AT, "seconds": 2.5, "assist": assist})
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def simple_sample(tmp_path: Path, n: int, **fields) -> Path:
    return write_sample(tmp_path / "sample.jsonl", [{"id": f"q{i}", **fields} for i in range(n)])


# ------------------------------------------------------------------------------------------ the share


def test_known_counts_give_the_wilson_share_and_the_verdict(tmp_path):
    sample = simple_sample(tmp_path, 210)
    decisions = [(f"q{i}", "easy") for i in range(150)] + [(f"q{i}", "hard") for i in range(150, 200)]
    decisions += [(f"q{i}", "skip") for i in range(200, 205)]
    labels = write_labels(tmp_path / "labels.jsonl", decisions)

    record = estimate_labels([labels], sample_path=sample)

    assert record["schema"] == ESTIMATE_SCHEMA
    share = record["easy_share"]
    expected = wilson_interval(0.75, 200)
    assert share["value"] == pytest.approx(0.75)
    assert share["ci"] == pytest.approx([expected[1], expected[2]])
    assert share["method"] == "wilson" and share["weighted"] is False
    assert record["counts"] == {
        "n_sample_rows": 210,
        "n_labeled_rows": 200,
        "n_easy": 150,
        "n_hard": 50,
        "n_skipped": 5,
        "n_disputed": 0,
        "n_unlabeled": 5,
    }
    assert record["verdict"]["status"] == "above"
    low, high = round(expected[1] * 100), round(expected[2] * 100)
    assert record["verdict"]["text"].startswith(f"easy share 75% [{low}–{high}]: above 50% with 95% confidence")


@pytest.mark.parametrize(("n_easy", "status"), [(30, "below"), (50, "unclear"), (70, "above")])
def test_the_verdict_reads_the_interval_against_half(tmp_path, n_easy, status):
    sample = simple_sample(tmp_path, 100)
    decisions = [(f"q{i}", "easy" if i < n_easy else "hard") for i in range(100)]
    record = estimate_labels([write_labels(tmp_path / "l.jsonl", decisions)], sample_path=sample)
    assert record["verdict"]["status"] == status


def test_stratified_reweighting_beats_the_naive_share_on_a_skewed_sample(tmp_path):
    # Population: 8,000 billing queries (90% easy), 2,000 refund queries (20% easy): 76% easy. The sample
    # oversamples refunds (150 of 200), so the unweighted share is far too low.
    rows = [{"id": f"b{i}", "intent": "billing", "stratum": "billing"} for i in range(50)]
    rows += [{"id": f"r{i}", "intent": "refund", "stratum": "refund"} for i in range(150)]
    sample = write_sample(tmp_path / "sample.jsonl", rows, strata={"billing": 8000, "refund": 2000})
    decisions = [(f"b{i}", "easy" if i < 45 else "hard") for i in range(50)]
    decisions += [(f"r{i}", "easy" if i < 30 else "hard") for i in range(150)]
    record = estimate_labels([write_labels(tmp_path / "labels.jsonl", decisions)], sample_path=sample)

    share = record["easy_share"]
    assert share["weighted"] is True
    assert share["value"] == pytest.approx(0.8 * 0.9 + 0.2 * 0.2)
    assert share["ci"][0] <= 0.76 <= share["ci"][1]
    naive = share["unweighted"]
    assert naive["value"] == pytest.approx(75 / 200)
    assert not naive["ci"][0] <= 0.76 <= naive["ci"][1]
    strata = {s["name"]: s for s in record["strata"]}
    assert strata["billing"]["population_share"] == pytest.approx(0.8)
    assert strata["refund"]["easy_share"] == pytest.approx(0.2)
    intents = {entry["intent"]: entry for entry in record["intents"]}
    assert intents["billing"]["easy_share"] == pytest.approx(0.9)
    assert intents["billing"]["ci"] == pytest.approx(list(wilson_interval(0.9, 50)[1:]))


def test_the_stratified_interval_covers_the_true_share_in_simulation():
    """200 stratified samples (allocation unlike the population's, unequal easy shares): coverage at least 90%.
    bench/bench_estimate.py runs 1,000 per scenario through estimate_labels and records the figures."""
    rng = np.random.default_rng(7)
    populations = (12000, 5000, 2000, 1000)
    easy = (10800, 3500, 800, 150)  # easy shares 0.90, 0.70, 0.40, 0.15
    allocation = (50, 50, 50, 50)
    truth = sum(easy) / sum(populations)
    covered = 0
    for _ in range(200):
        counts = [
            StratumCount(f"s{h}", n, int(rng.hypergeometric(e, n - e, a)), a)
            for h, (n, e, a) in enumerate(zip(populations, easy, allocation, strict=True))
        ]
        low, high = post_stratified_share(counts)["ci"]
        covered += low <= truth <= high
    assert covered / 200 >= 0.90


def test_a_stratum_without_labeled_rows_is_left_out_and_said(tmp_path):
    rows = [{"id": "a1", "stratum": "a"}, {"id": "a2", "stratum": "a"}, {"id": "b1", "stratum": "b"}]
    sample = write_sample(tmp_path / "sample.jsonl", rows, strata={"a": 900, "b": 100})
    record = estimate_labels(
        [write_labels(tmp_path / "l.jsonl", [("a1", "easy"), ("a2", "hard"), ("b1", "skip")])], sample_path=sample
    )
    assert record["easy_share"]["value"] == pytest.approx(0.5)
    assert any("strata without a labeled row (b, 10.0% of the population)" in note for note in record["notes"])


# ------------------------------------------------------------------------------------------ labelers


def test_cohen_kappa_matches_a_hand_computed_example_and_sklearn():
    first = ["easy"] * 6 + ["hard"] * 4
    second = ["easy"] * 4 + ["hard"] * 5 + ["easy"]
    # observed 7/10; chance 0.6 x 0.5 + 0.4 x 0.5 = 0.5; kappa (0.7 - 0.5) / 0.5
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))
    assert cohen_kappa(["easy"] * 3, ["easy"] * 3) is None


def test_fleiss_kappa_matches_a_hand_computed_example():
    ratings = [["easy", "easy", "easy"], ["easy", "easy", "hard"], ["hard", "hard", "hard"], ["easy", "hard", "hard"]]
    # per row agreement 1, 1/3, 1, 1/3 -> mean 2/3; category shares 1/2, 1/2 -> chance 1/2; kappa 1/3
    assert fleiss_kappa(ratings) == pytest.approx(1 / 3)


def test_two_labelers_disputed_rows_and_cohen_kappa(tmp_path):
    sample = write_sample(
        tmp_path / "sample.jsonl",
        [{"id": f"q{i}", "input": f"How do I reset password number {i}? " * 4} for i in range(10)],
    )
    ann = ["easy"] * 6 + ["hard"] * 4
    bob = ["easy"] * 4 + ["hard"] * 5 + ["easy"]
    first = write_labels(tmp_path / "ann.jsonl", [(f"q{i}", label) for i, label in enumerate(ann)], "ann")
    second = write_labels(tmp_path / "bob.jsonl", [(f"q{i}", label) for i, label in enumerate(bob)], "bob")

    record = estimate_labels([first, second], sample_path=sample)

    people = record["labelers"]
    assert people["names"] == ["ann", "bob"]
    assert people["agreement"]["method"] == "cohen"
    assert people["agreement"]["kappa"] == pytest.approx(0.4)
    assert people["agreement"]["n_rows"] == 10
    assert people["disputed"] == ["q4", "q5", "q9"]
    assert [row["id"] for row in people["disagreements"]] == ["q4", "q5", "q9"]
    row = people["disagreements"][0]
    assert row["labels"] == {"ann": "easy", "bob": "hard"} and row["majority"] == "disputed"
    assert row["query"].startswith("How do I reset password number 4?") and row["query"].endswith("…")
    assert len(row["query"]) == 80
    assert record["counts"]["n_disputed"] == 3
    assert record["easy_share"]["value"] == pytest.approx(4 / 7)  # 4 easy, 3 hard; disputed rows left out


def test_three_labelers_use_fleiss_kappa_and_the_majority(tmp_path):
    sample = simple_sample(tmp_path, 4)
    columns = [["easy", "easy", "hard", "easy"], ["easy", "easy", "hard", "hard"], ["easy", "hard", "hard", "hard"]]
    paths = [
        write_labels(tmp_path / f"{name}.jsonl", [(f"q{i}", label) for i, label in enumerate(column)], name)
        for name, column in zip(("a", "b", "c"), columns, strict=True)
    ]
    record = estimate_labels(paths, sample_path=sample)
    assert record["labelers"]["agreement"]["method"] == "fleiss"
    assert record["labelers"]["agreement"]["kappa"] == pytest.approx(1 / 3)
    assert record["counts"]["n_easy"] == 2 and record["counts"]["n_hard"] == 2  # majority of three
    assert record["labelers"]["disputed"] == []


def test_assist_agreement_and_confusion_matrix(tmp_path):
    sample = simple_sample(tmp_path, 10)
    decisions = [(f"q{i}", "easy", "easy") for i in range(6)] + [("q6", "easy", "hard")]
    decisions += [("q7", "hard", "easy"), ("q8", "hard", "hard"), ("q9", "hard", None)]
    record = estimate_labels([write_labels(tmp_path / "l.jsonl", decisions)], sample_path=sample)
    assist = record["assist"]
    assert assist["n_decisions"] == 9
    assert assist["agreement_share"] == pytest.approx(7 / 9)
    assert assist["confusion"] == {"easy": {"easy": 6, "hard": 1}, "hard": {"easy": 1, "hard": 1}}
    assert assist["hard_sent_cheap"] == 1
    assert assist["text"].startswith("human–assist agreement 78% [")


def test_no_assist_suggestions_no_assist_section(tmp_path):
    sample = simple_sample(tmp_path, 2)
    record = estimate_labels([write_labels(tmp_path / "l.jsonl", [("q0", "easy"), ("q1", "hard")])], sample_path=sample)
    assert record["assist"] is None
    assert record["labelers"]["agreement"] is None


# ------------------------------------------------------------------------------------------ Label Studio


def label_studio_export(tasks: list[dict]) -> str:
    return json.dumps(tasks, indent=2)


def ls_annotation(user, choice: str | None, cancelled: bool = False, lead_time: float = 4.0) -> dict:
    result = []
    if choice is not None:
        result = [
            {
                "from_name": "difficulty",
                "to_name": "query",
                "type": "choices",
                "value": {"choices": [choice]},
            }
        ]
    return {"completed_by": user, "result": result, "was_cancelled": cancelled, "lead_time": lead_time}


def ls_tasks() -> list[dict]:
    return [
        {
            "id": 101,
            "data": {"id": "q1", "input": "What are your opening hours?", "intent": "hours"},
            "annotations": [ls_annotation(1, "easy"), ls_annotation({"id": 2, "email": "bo@example.com"}, "easy")],
            "predictions": [{"model_version": "assist", "result": [ls_annotation(0, "easy")["result"][0]]}],
        },
        {
            "id": 102,
            "data": {"id": "q2", "input": "Debug my Kubernetes ingress", "intent": "tech"},
            "annotations": [ls_annotation(1, "hard"), ls_annotation({"id": 2, "email": "bo@example.com"}, None, True)],
        },
        {
            "id": 103,
            "data": {"id": "q3", "input": "Refund my order", "intent": "billing"},
            "annotations": [ls_annotation(1, "Easy"), ls_annotation({"id": 2, "email": "bo@example.com"}, "hard")],
        },
        {"id": 104, "data": {"id": "q4", "input": "Not labeled yet"}, "annotations": []},
    ]


def test_a_label_studio_export_is_read_without_a_sample(tmp_path):
    export = tmp_path / "project-1.json"
    export.write_text(label_studio_export(ls_tasks()), encoding="utf-8")

    record = estimate_labels([export])

    assert record["inputs"]["labels"][0]["format"] == "label-studio"
    assert record["inputs"]["sample"] is None
    assert record["labelers"]["names"] == ["bo@example.com", "ls-user-1"]
    assert record["counts"]["n_easy"] == 1 and record["counts"]["n_hard"] == 1  # q2: bo's cancel does not vote
    assert record["labelers"]["disputed"] == ["q3"]  # 'Easy' read as easy, against bo's hard
    assert record["easy_share"]["weighted"] is False
    assert {e["intent"] for e in record["intents"]} == {"hours", "tech"}
    per = {p["labeler"]: p for p in record["labelers"]["per_labeler"]}
    assert per["bo@example.com"]["n_skipped"] == 1 and per["ls-user-1"]["median_seconds"] == 4.0
    assert record["assist"]["n_decisions"] == 2 and record["assist"]["agreement_share"] == 1.0  # the prediction
    assert record["labelers"]["disagreements"][0]["query"] == "Refund my order"


def test_a_label_studio_export_with_the_sample_is_checked_against_it(tmp_path):
    sample = write_sample(tmp_path / "sample.jsonl", [{"id": f"q{i}", "prompt_tokens": 10} for i in range(1, 5)])
    export = tmp_path / "export.json"
    export.write_text(label_studio_export(ls_tasks()), encoding="utf-8")
    record = estimate_labels([export], sample_path=sample)
    assert record["counts"]["n_sample_rows"] == 4 and record["counts"]["n_unlabeled"] == 1

    tasks = ls_tasks()
    tasks[2]["data"]["id"] = "elsewhere"
    export.write_text(label_studio_export(tasks), encoding="utf-8")
    starts = [n for n, text in enumerate(label_studio_export(tasks).split("\n"), start=1) if text == "  {"]
    with pytest.raises(DataError) as error:
        estimate_labels([export], sample_path=sample)
    assert str(error.value) == (f"{export} line {starts[2]}: task 3 labels row 'elsewhere', which is not in the sample")


def test_a_label_studio_choice_that_is_not_easy_hard_or_skip_is_an_error(tmp_path):
    tasks = ls_tasks()
    tasks[1]["annotations"][0] = ls_annotation(1, "medium")
    export = tmp_path / "export.json"
    export.write_text(label_studio_export(tasks), encoding="utf-8")
    starts = [n for n, text in enumerate(label_studio_export(tasks).split("\n"), start=1) if text == "  {"]
    with pytest.raises(DataError) as error:
        estimate_labels([export])
    assert str(error.value) == (
        f"{export} line {starts[1]}: task 2 (row 'q2') annotation 1 has choice 'medium'; expected one of easy, hard, "
        "skip"
    )


def test_a_label_studio_json_min_export_is_refused_with_the_reason(tmp_path):
    export = tmp_path / "min.json"
    export.write_text(json.dumps([{"id": 1, "input": "hi", "difficulty": "easy"}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"min.json line 1: task 1 has no 'data' object; expected a Label Studio JSON"):
        estimate_labels([export])


# ------------------------------------------------------------------------------------------ the saving


def test_the_saving_matches_a_hand_calculation(tmp_path):
    config_path = write_config(
        tmp_path / "routeeval.toml",
        [
            {"name": "small", "model": "acme/small", "price_in_per_mtok": 1.0, "price_out_per_mtok": 2.0},
            {"name": "mid", "model": "acme/mid", "price_in_per_mtok": 5.0, "price_out_per_mtok": 8.0},
            {"name": "large", "model": "acme/large", "price_in_per_mtok": 10.0, "price_out_per_mtok": 20.0},
        ],
    )
    rows = [
        {"id": "r1", "prompt_tokens": 1000, "completion_tokens": 500},
        {"id": "r2", "prompt_tokens": 2000, "completion_tokens": 1000},
        {"id": "r3", "input": "x" * 400, "response": "y" * 80},  # 100 prompt, 20 completion tokens (chars / 4)
        {"id": "r4", "input": "z" * 40},  # 10 prompt tokens, 200 assumed completion tokens
    ]
    sample = write_sample(tmp_path / "sample.jsonl", rows)
    labels = write_labels(tmp_path / "l.jsonl", [("r1", "easy"), ("r2", "hard"), ("r3", "easy"), ("r4", "hard")])

    record = estimate_labels([labels], sample_path=sample, config=load_config(config_path), monthly_queries=1_000_000)

    def cost(prompt, completion, price_in, price_out):
        return (prompt * price_in + completion * price_out) / 1e6

    large = [cost(1000, 500, 10, 20), cost(2000, 1000, 10, 20), cost(100, 20, 10, 20), cost(10, 200, 10, 20)]
    small_easy = [cost(1000, 500, 1, 2), cost(100, 20, 1, 2)]
    saved_per_query = ((large[0] - small_easy[0]) + (large[2] - small_easy[1])) / 4
    baseline_per_query = sum(large) / 4
    saving = record["saving"]
    assert saving["available"] is True
    assert (saving["cheap_tier"], saving["expensive_tier"]) == ("small", "large")
    assert saving["saving_share"]["value"] == pytest.approx(saved_per_query / baseline_per_query)
    assert saving["baseline_cost_per_1k_usd"] == pytest.approx(baseline_per_query * 1000)
    assert saving["saving_per_1k_usd"]["value"] == pytest.approx(saved_per_query * 1000)
    assert saving["monthly_saving_usd"]["value"] == pytest.approx(saved_per_query * 1_000_000)
    low, high = saving["monthly_saving_usd"]["ci"]
    assert low <= saving["monthly_saving_usd"]["value"] <= high
    assert saving["tokens"]["n_prompt_recorded"] == 2 and saving["tokens"]["n_completion_recorded"] == 2
    assert "as well as the most expensive tier" in saving["assumption"]
    again = estimate_labels([labels], sample_path=sample, config=load_config(config_path), monthly_queries=1_000_000)
    assert again["saving"] == saving  # the bootstrap is seeded


def test_without_a_config_the_saving_says_dollars_need_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_estimate_config(None) is None
    sample = simple_sample(tmp_path, 2)
    record = estimate_labels([write_labels(tmp_path / "l.jsonl", [("q0", "easy"), ("q1", "hard")])], sample_path=sample)
    assert record["saving"]["available"] is False
    assert "dollars need --config" in record["saving"]["reason"]
    assert "dollars need --config" in render_estimate_markdown(record)


# ------------------------------------------------------------------------------------------ output


def test_write_estimate_and_the_renderers(tmp_path):
    sample = simple_sample(tmp_path, 20, intent="billing")
    decisions = [(f"q{i}", "easy" if i < 15 else "hard", "easy") for i in range(20)]
    record = estimate_labels([write_labels(tmp_path / "l.jsonl", decisions)], sample_path=sample)

    paths = write_estimate(record, tmp_path / "out")

    assert json.loads(paths["json"].read_text(encoding="utf-8")) == record
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert record["verdict"]["text"] in markdown
    assert "| billing | 20 | 75%" in markdown
    assert "| hard | 5 | 0 |" in markdown  # the confusion matrix: 5 hard rows the assist called easy
    console = Console(record=True, width=200)
    render_estimate_terminal(record, console)
    text = console.export_text()
    assert record["verdict"]["text"] in text
    assert "human–assist agreement 75%" in text
    assert not math.isnan(record["easy_share"]["ci"][0])


# ------------------------------------------------------------------------------------------ bad input


def test_a_file_that_is_neither_format_names_file_and_line(tmp_path):
    sample = simple_sample(tmp_path, 2)
    bad = tmp_path / "labels.csv"
    bad.write_text("\n\nid,label\nq0,easy\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        estimate_labels([bad], sample_path=sample)
    assert str(error.value) == (
        f"{bad} line 3: is neither a routeeval labels file (JSON lines with 'id', 'label', 'labeler') nor a Label "
        "Studio JSON export (a list of tasks with 'data' and 'annotations')"
    )


def test_a_sample_passed_as_labels_is_named(tmp_path):
    sample = simple_sample(tmp_path, 2)
    with pytest.raises(DataError, match=r"sample.jsonl line 1: is a sample file, not labels; pass it with --sample"):
        estimate_labels([sample], sample_path=sample)


def test_labels_for_rows_not_in_the_sample_name_file_and_line(tmp_path):
    sample = simple_sample(tmp_path, 2)
    labels = write_labels(tmp_path / "l.jsonl", [("q0", "easy"), ("q9", "hard")])
    with pytest.raises(DataError) as error:
        estimate_labels([labels], sample_path=sample)
    assert str(error.value) == f"{labels} line 2: field 'id' labels row 'q9', which is not in the sample"


def test_one_labeler_labeling_a_row_differently_in_two_files_names_both(tmp_path):
    sample = simple_sample(tmp_path, 3)
    first = write_labels(tmp_path / "monday.jsonl", [("q0", "easy"), ("q1", "easy")])
    second = write_labels(tmp_path / "tuesday.jsonl", [("q2", "hard"), ("q1", "hard")])
    with pytest.raises(DataError) as error:
        estimate_labels([first, second], sample_path=sample)
    assert str(error.value) == (
        f"{second} line 2: labeler 'ann' labels row 'q1' hard, but {first} line 2 labels it easy; one labeler gives "
        "a row one label (remove one)"
    )
    same = write_labels(tmp_path / "copy.jsonl", [("q0", "easy"), ("q1", "easy")])
    assert estimate_labels([first, same], sample_path=sample)["counts"]["n_easy"] == 2  # a copy is no conflict


def test_an_unknown_label_value_names_file_and_line(tmp_path):
    sample = simple_sample(tmp_path, 2)
    labels = write_labels(tmp_path / "l.jsonl", [("q0", "easy"), ("q1", "medium")])
    with pytest.raises(DataError) as error:
        estimate_labels([labels], sample_path=sample)
    assert str(error.value) == f"{labels} line 2: field 'label' must be one of easy, hard, skip, got 'medium'"


def test_a_labels_file_needs_its_sample(tmp_path):
    labels = write_labels(tmp_path / "l.jsonl", [("q0", "easy")])
    with pytest.raises(
        DataError, match=r"l.jsonl: is a routeeval labels file; pass the sample it labels with --sample"
    ):
        estimate_labels([labels])


def test_no_easy_or_hard_label_at_all_is_an_error(tmp_path):
    sample = simple_sample(tmp_path, 2)
    labels = write_labels(tmp_path / "l.jsonl", [("q0", "skip")])
    with pytest.raises(DataError, match=r"l.jsonl: no row is labeled easy or hard"):
        estimate_labels([labels], sample_path=sample)


def test_a_label_studio_export_that_is_not_json_names_the_line(tmp_path):
    export = tmp_path / "export.json"
    export.write_text('[\n  {"id": 1,\n  "data": }\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"export.json line 3: not valid JSON"):
        estimate_labels([export])
