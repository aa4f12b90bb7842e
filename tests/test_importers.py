"""Importers of public per-model result tables, checked against the real data and its SOURCE.md numbers."""

from __future__ import annotations

import ast
import json
import math

import pytest
from helpers import SHARED_DATA

from routeeval import columns as C
from routeeval.errors import ConfigError, DataError
from routeeval.importers import import_llmrouter, import_outcomes, import_routellm, import_routerbench
from routeeval.outcomes import read_outcomes, read_outcomes_metadata

ROUTERBENCH = SHARED_DATA / "routerbench-subset"
ROUTELLM = SHARED_DATA / "routellm-evals"
LLMROUTER = SHARED_DATA / "llmrouter-dcrouter"

needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"public datasets not present at {SHARED_DATA} (see its SOURCE.md files)"
)


def _accuracy(frame, tier, **where) -> float:
    rows = frame[frame[C.TIER] == tier]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return float(rows[C.SCORE].mean())


def _check_contract(frame, n_queries: int, tiers: list[str]) -> None:
    assert sorted(frame[C.TIER].unique()) == sorted(tiers)
    assert frame.groupby(C.TIER).size().to_dict() == {tier: n_queries for tier in tiers}
    assert frame[C.ROW_ID].nunique() == n_queries
    assert not frame.duplicated([C.ROW_ID, C.TIER]).any()
    assert frame[C.SCORE].between(0, 1).all()
    assert (frame[C.COST_USD] > 0).all()
    assert (frame[C.SOURCE] == C.SOURCE_EVAL).all()
    assert frame[C.INPUT].notna().all() and frame[C.INTENT].notna().all() and frame[C.SCORER].notna().all()
    assert list(frame.columns[: len(C.OUTCOME_COLUMNS)]) == list(C.OUTCOME_COLUMNS)


# --- RouterBench -------------------------------------------------------------------------------

ROUTERBENCH_MODELS = [
    "WizardLM/WizardLM-13B-V1.2",
    "claude-instant-v1",
    "claude-v1",
    "claude-v2",
    "gpt-3.5-turbo-1106",
    "gpt-4-1106-preview",
    "meta/code-llama-instruct-34b-chat",
    "meta/llama-2-70b-chat",
    "mistralai/mistral-7b-chat",
    "mistralai/mixtral-8x7b-chat",
    "zero-one-ai/Yi-34B-Chat",
]


@pytest.fixture(scope="module")
def routerbench():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public datasets not present at {SHARED_DATA}")
    return import_routerbench(ROUTERBENCH)


@needs_shared_data
def test_routerbench_has_3164_prompts_by_11_tiers(routerbench):
    frame, metadata = routerbench
    _check_contract(frame, 3164, ROUTERBENCH_MODELS)
    assert frame.drop_duplicates(C.ROW_ID)[C.INTENT].value_counts().to_dict() == {
        "arc-challenge": 1470,
        "winogrande": 1267,
        "mbpp": 427,
    }
    assert set(frame[C.SCORE].unique()) == {0.0, 1.0}
    assert (frame[C.SCORER] == "routerbench(binary)").all()
    assert metadata["merged_duplicate_ids"] == 14


@needs_shared_data
def test_routerbench_accuracies_match_source_md(routerbench):
    frame, _ = routerbench
    gpt4 = "gpt-4-1106-preview"
    assert _accuracy(frame, gpt4, intent="arc-challenge") == pytest.approx(0.954, abs=0.0005)
    assert _accuracy(frame, gpt4, intent="winogrande") == pytest.approx(0.859, abs=0.0005)
    assert _accuracy(frame, gpt4, intent="mbpp") == pytest.approx(0.686, abs=0.0005)
    for task in ("arc-challenge", "winogrande", "mbpp"):
        best = max(ROUTERBENCH_MODELS, key=lambda tier: _accuracy(frame, tier, intent=task))
        assert best == gpt4


@needs_shared_data
def test_routerbench_cost_is_the_given_total_cost(routerbench):
    import pandas as pd

    frame, _ = routerbench
    wide = pd.read_parquet(ROUTERBENCH / "routerbench_subset_all.parquet")
    # Of each duplicated pair, the copy with one prompt (not the doubled one) carries the real costs.
    n_prompts = wide["prompt"].map(lambda text: len(ast.literal_eval(text)))
    wide = wide[n_prompts == 1].set_index("sample_id")
    assert wide.index.is_unique and len(wide) == 3164
    for tier in ROUTERBENCH_MODELS:
        rows = frame[frame[C.TIER] == tier].set_index(C.ROW_ID)
        expected = wide.loc[rows.index, f"{tier}|total_cost"]
        assert (rows[C.COST_USD].to_numpy() == expected.to_numpy()).all(), tier


@needs_shared_data
def test_routerbench_merges_split_arc_rows_into_complete_ones(routerbench):
    frame, _ = routerbench
    merged = frame[frame[C.ROW_ID] == "arc-challenge.val.137"].set_index(C.TIER)
    assert merged[C.SCORE].notna().all()
    assert merged.loc["gpt-3.5-turbo-1106", C.SCORE] == 0.0  # from the copy with only gpt-3.5's score
    assert merged.loc["gpt-4-1106-preview", C.SCORE] == 1.0  # from the copy with the other ten
    assert merged.loc["gpt-4-1106-preview", C.RESPONSE] == "C"
    assert merged[C.INPUT].str.len().max() < 2500  # the single prompt, not the doubled one
    assert not frame[C.INPUT].str.startswith("['").any()


@needs_shared_data
def test_routerbench_splits_come_from_routerdc(routerbench):
    frame, _ = routerbench
    per_query = frame.drop_duplicates(C.ROW_ID)
    assert set(per_query[C.SPLIT]) == {"train", "test"}
    # RouterDC's 2,225 train + 953 test rows, less the 14 merged ARC copies (each kept in its complete copy's split)
    assert per_query[C.SPLIT].value_counts().to_dict() == {"train": 2217, "test": 947}


@needs_shared_data
def test_routerbench_parquet_and_csvs_give_the_same_outcomes(routerbench):
    from_csv, _ = routerbench
    from_parquet, _ = import_routerbench(ROUTERBENCH / "routerbench_subset_all.parquet")
    key = [C.ROW_ID, C.TIER]
    left = from_csv.sort_values(key).reset_index(drop=True)
    right = from_parquet.sort_values(key).reset_index(drop=True)
    for column in (C.ROW_ID, C.TIER, C.SCORE, C.COST_USD, C.INPUT, C.RESPONSE, C.INTENT, C.SPLIT):
        assert left[column].equals(right[column]), column


@needs_shared_data
def test_routerbench_single_csv():
    frame, _ = import_routerbench(ROUTERBENCH / "mbpp_test.csv")
    _check_contract(frame, 128, ROUTERBENCH_MODELS)
    assert set(frame[C.SPLIT]) == {"test"}
    assert set(frame[C.INTENT]) == {"mbpp"}


# --- RouteLLM ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def routellm():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public datasets not present at {SHARED_DATA}")
    return import_routellm(ROUTELLM)


@needs_shared_data
def test_routellm_applies_the_decontamination_filter(routellm):
    frame, metadata = routellm
    _check_contract(frame, 14_037 + 1_307 + 72, ["mixtral-8x7b", "gpt-4-1106"])
    benchmark = frame[C.ROW_ID].str.split("/").str[0]
    assert (benchmark.value_counts() // 2).to_dict() == {"mmlu": 14_037, "gsm8k": 1_307, "mt_bench": 72}
    counts = metadata["benchmarks"]
    assert counts["mmlu"] == {"rows_in_files": 14_042, "questions": 14_037}
    assert counts["gsm8k"] == {"rows_in_files": 1_319, "questions": 1_307}
    assert counts["mt_bench"]["questions"] == 72
    contaminated = {
        json.loads(line)["eval_prompt"]
        for name in ("mmlu", "gsm8k", "mt_bench")
        for line in (ROUTELLM / name / "contaminated_prompts.jsonl").read_text(encoding="utf-8").split("\n")
        if line.strip()
    }
    assert not frame[C.INPUT].isin(contaminated).any()


@needs_shared_data
def test_routellm_accuracies_match_source_md(routellm):
    frame, _ = routellm
    benchmark = frame[C.ROW_ID].str.split("/").str[0]
    expected = {
        ("mmlu", "gpt-4-1106"): 0.8059,
        ("mmlu", "mixtral-8x7b"): 0.6809,
        ("gsm8k", "gpt-4-1106"): 0.8577,
        ("gsm8k", "mixtral-8x7b"): 0.6373,
    }
    for (name, tier), accuracy in expected.items():
        rows = frame[(benchmark == name) & (frame[C.TIER] == tier)]
        assert rows[C.SCORE].mean() == pytest.approx(accuracy, abs=0.00005), (name, tier)
    for tier, judge_mean in (("gpt-4-1106", 0.921), ("mixtral-8x7b", 0.828)):
        rows = frame[(benchmark == "mt_bench") & (frame[C.TIER] == tier)]
        assert rows[C.SCORE].mean() == pytest.approx(judge_mean, abs=0.005), tier


@needs_shared_data
def test_routellm_intents_ids_and_scorers(routellm):
    frame, _ = routellm
    by_benchmark = {name: frame[frame[C.ROW_ID].str.startswith(name + "/")] for name in ("mmlu", "gsm8k", "mt_bench")}
    mmlu = by_benchmark["mmlu"]
    assert mmlu[C.INTENT].nunique() == 57 and mmlu[C.INTENT].str.startswith("mmlu/").all()
    assert "mmlu/abstract_algebra" in set(mmlu[C.INTENT])
    assert mmlu[C.INPUT].duplicated().sum() > 0  # duplicate prompts across subjects keep distinct ids
    assert set(by_benchmark["gsm8k"][C.INTENT]) == {"gsm8k"}
    assert "mt_bench/writing" in set(by_benchmark["mt_bench"][C.INTENT])
    assert set(mmlu[C.SCORER]) == {"routellm(mmlu correct)"}
    assert set(by_benchmark["gsm8k"][C.SCORER]) == {"routellm(gsm8k correct)"}
    assert set(by_benchmark["mt_bench"][C.SCORER]) == {"routellm(mt-bench gpt-4 judge score/10)"}
    assert by_benchmark["gsm8k"][C.RESPONSE].notna().all()
    assert by_benchmark["mt_bench"][C.RESPONSE].notna().all()
    assert frame[C.SPLIT].isna().all()


@needs_shared_data
def test_routellm_mt_bench_routes_on_turn_one():
    frame, _ = import_routellm(ROUTELLM / "mt_bench")
    lines = (ROUTELLM / "mt_bench" / "question.jsonl").read_text(encoding="utf-8").split("\n")
    questions = {f"mt_bench/{item['question_id']}": item for item in map(json.loads, filter(str.strip, lines))}
    assert "mt_bench/81" not in set(frame[C.ROW_ID])  # its turn 1 is on the contamination list
    rows = frame[frame[C.ROW_ID] == "mt_bench/82"]
    question = questions["mt_bench/82"]
    assert len(rows) == 2
    assert set(rows[C.INPUT]) == {question["turns"][0]}
    assert set(rows[C.INTENT]) == {question["category"]}  # no benchmark prefix for a single folder


@needs_shared_data
def test_routellm_cost_is_estimated_from_list_prices(routellm):
    frame, metadata = routellm
    row = frame[(frame[C.ROW_ID] == "mmlu/anatomy/0") & (frame[C.TIER] == "gpt-4-1106")].iloc[0]
    prompt_tokens = math.ceil(len(row[C.INPUT]) / 4)
    assert row[C.PROMPT_TOKENS] == prompt_tokens and row[C.COMPLETION_TOKENS] == 1
    assert row[C.COST_USD] == pytest.approx((prompt_tokens * 10.0 + 1 * 30.0) / 1e6)
    gsm8k = frame[frame[C.ROW_ID].str.startswith("gsm8k/")]
    assert "gsm8k/0" not in set(gsm8k[C.ROW_ID])  # the first GSM8K question is on the contamination list
    row = gsm8k[gsm8k[C.TIER] == "mixtral-8x7b"].iloc[0]
    tokens = math.ceil(len(row[C.INPUT]) / 4) + math.ceil(len(row[C.RESPONSE]) / 4)
    assert row[C.COST_USD] == pytest.approx(tokens * 0.60 / 1e6)
    assert any("ceil(characters / 4)" in line for line in metadata["assumptions"])


@needs_shared_data
def test_routellm_single_mmlu_folder_uses_bare_subjects():
    frame, _ = import_routellm(ROUTELLM / "mmlu")
    _check_contract(frame, 14_037, ["mixtral-8x7b", "gpt-4-1106"])
    assert "abstract_algebra" in set(frame[C.INTENT])
    assert frame[C.ROW_ID].str.startswith("mmlu/").all()


# --- LLMRouter ---------------------------------------------------------------------------------

LLMROUTER_MEANS = {  # SOURCE.md, mean score over all 6,108 items (before dropping the test duplicates)
    "gemma-2-9b-it": 0.528,
    "qwen2.5-7b-instruct": 0.512,
    "llama-3.1-8b-instruct": 0.556,
    "mistral-7b-instruct-v0.3": 0.363,
    "codegemma-7b": 0.298,
    "llama3-chatqa-1.5-8b": 0.173,
    "llama-3.3-nemotron-super-49b-v1": 0.573,
    "llama-3.1-nemotron-51b-instruct": 0.617,
    "llama3-chatqa-1.5-70b": 0.200,
}


@pytest.fixture(scope="module")
def llmrouter():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public datasets not present at {SHARED_DATA}")
    return import_llmrouter(LLMROUTER)


@needs_shared_data
def test_llmrouter_drops_test_questions_seen_in_train(llmrouter):
    frame, metadata = llmrouter
    _check_contract(frame, 5_608 + 381, list(LLMROUTER_MEANS))
    per_query = frame.drop_duplicates(C.ROW_ID)
    assert per_query[C.SPLIT].value_counts().to_dict() == {"train": 5_608, "test": 381}
    assert metadata["test_queries_dropped_as_in_train"] == 119
    assert metadata["test_queries_kept"] == 381
    train_inputs = set(per_query.loc[per_query[C.SPLIT] == "train", C.INPUT])
    assert not per_query.loc[per_query[C.SPLIT] == "test", C.INPUT].isin(train_inputs).any()


@needs_shared_data
def test_llmrouter_scores_match_the_files_and_source_md(llmrouter):
    frame, _ = llmrouter
    items = json.loads((LLMROUTER / "dcrouter_train.json").read_text(encoding="utf-8"))
    test_items = json.loads((LLMROUTER / "dcrouter_test.json").read_text(encoding="utf-8"))
    train_questions = {item["question"] for item in items}
    items += [item for item in test_items if item["question"] not in train_questions]
    for tier, source_mean in LLMROUTER_MEANS.items():
        expected = sum(item["scores"][tier] for item in items) / len(items)
        assert _accuracy(frame, tier) == pytest.approx(expected, abs=1e-12), tier
        assert _accuracy(frame, tier) == pytest.approx(source_mean, abs=0.01), tier  # 119 fewer test items


@needs_shared_data
def test_llmrouter_tasks_metrics_and_cost(llmrouter):
    frame, metadata = llmrouter
    per_query = frame.drop_duplicates(C.ROW_ID)
    assert per_query[C.INTENT].nunique() == 14
    assert set(frame[C.SCORER]) == {
        f"llmrouter({metric})" for metric in ("em_mc", "GSM8K", "MATH", "code_eval", "f1_score", "commongen_coverage")
    }
    assert set(frame.loc[frame[C.INTENT] == "natural_qa", C.SCORER]) == {"llmrouter(f1_score)"}
    assert metadata["queries_without_task"] == 0
    row = frame[frame[C.TIER] == "gemma-2-9b-it"].iloc[0]
    assert row[C.COST_USD] == pytest.approx(0.10 * (math.ceil(len(row[C.INPUT]) / 4) + 200) / 1e6)
    assert row[C.COMPLETION_TOKENS] == 200


# --- import_outcomes ---------------------------------------------------------------------------


@needs_shared_data
@pytest.mark.parametrize(
    ("kind", "folder", "n_rows"),
    [
        ("routerbench", "routerbench-subset", 3164 * 11),
        ("routellm", "routellm-evals", (14_037 + 1_307 + 72) * 2),
        ("llmrouter", "llmrouter-dcrouter", (5_608 + 381) * 9),
    ],
)
def test_import_outcomes_writes_parquet_that_reads_back(tmp_path, kind, folder, n_rows):
    result = import_outcomes(kind, SHARED_DATA / folder, tmp_path / "outcomes.parquet")
    assert result.out == tmp_path / "outcomes.parquet"
    assert result.n_rows == n_rows
    frame = read_outcomes(result.out)
    assert len(frame) == n_rows
    assert frame[C.ROW_ID].nunique() == result.n_queries
    metadata = read_outcomes_metadata(result.out)
    assert metadata["dataset"] == kind
    assert int(metadata["rows"]) == n_rows
    assert json.loads(metadata["tiers"]) == result.tiers
    assert sorted(result.tiers) == sorted(frame[C.TIER].unique())
    costs = frame.groupby(C.TIER)[C.COST_USD].mean()
    assert list(costs[result.tiers]) == sorted(costs)  # tiers listed cheapest first
    assert json.loads(metadata["assumptions"])


# --- errors ------------------------------------------------------------------------------------


def test_unknown_dataset_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        import_outcomes("routerbnch", tmp_path, tmp_path / "out.parquet")
    assert (
        str(caught.value)
        == "unknown dataset 'routerbnch'; choose from: inspect, llmrouter, promptfoo, routellm, routerbench."
    )


@pytest.mark.parametrize("kind", ["routerbench", "routellm", "llmrouter"])
def test_missing_path_names_the_file(tmp_path, kind):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as caught:
        import_outcomes(kind, missing, tmp_path / "out.parquet")
    assert str(caught.value) == f"{missing}: no such file or folder"
    assert not (tmp_path / "out.parquet").exists()


def test_routellm_folder_without_results(tmp_path):
    with pytest.raises(DataError) as caught:
        import_routellm(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}: not a RouteLLM evals folder; expected mmlu/, gsm8k/ or mt_bench/")


def test_routellm_missing_contamination_list_names_the_file(tmp_path):
    (tmp_path / "gsm8k_responses.csv").write_text("prompt\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        import_routellm(tmp_path)
    expected = tmp_path / "contaminated_prompts.jsonl"
    assert str(caught.value) == f"{expected}: no such file; RouteLLM's decontamination list is needed"


def test_routellm_bad_correctness_cell_names_row_and_field(tmp_path):
    (tmp_path / "contaminated_prompts.jsonl").write_text('{"eval_prompt": "x"}\n', encoding="utf-8")
    csv = tmp_path / "gsm8k_responses.csv"
    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    csv.write_text(
        f"prompt,{weak},{strong},{weak}_response,{strong}_response\nq1,True,True,a,b\nq2,maybe,True,a,b\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as caught:
        import_routellm(tmp_path)
    assert str(caught.value) == f"{csv} row 2: field '{weak}' is 'maybe'; expected True or False"


def test_llmrouter_bad_jsonl_names_the_line(tmp_path):
    (tmp_path / "default_llm.json").write_text(json.dumps({"m": {"input_price": 0.1, "output_price": 0.1}}))
    for split in ("train", "test"):
        (tmp_path / f"dcrouter_{split}.json").write_text(json.dumps([{"question": "q", "scores": {"m": 1.0}}]))
        (tmp_path / f"default_query_{split}.jsonl").write_text('{"query": "q", "task_name": "t", "metric": "em_mc"}\n')
    (tmp_path / "default_query_test.jsonl").write_text('{"query": "q"}\n{"query": \n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        import_llmrouter(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'default_query_test.jsonl'} line 2: not valid JSON")


def test_llmrouter_tiny_folder(tmp_path):
    (tmp_path / "default_llm.json").write_text(
        json.dumps(
            {"cheap": {"input_price": 0.1, "output_price": 0.1}, "big": {"input_price": 0.9, "output_price": 0.9}}
        )
    )
    train = [{"question": "What is 2+2?", "scores": {"big": 1.0, "cheap": 0.0}}]
    test = [
        {"question": "What is 2+2?", "scores": {"big": 1.0, "cheap": 1.0}},
        {"question": "Capital of France?", "scores": {"big": 1.0, "cheap": 0.5}},
    ]
    (tmp_path / "dcrouter_train.json").write_text(json.dumps(train))
    (tmp_path / "dcrouter_test.json").write_text(json.dumps(test))
    line = {"query": "What is 2+2?", "task_name": "gsm8k", "metric": "GSM8K", "ground_truth": "4"}
    (tmp_path / "default_query_train.jsonl").write_text(json.dumps(line) + "\n")
    line = {"query": "Capital of France?", "task_name": "natural_qa", "metric": "f1_score", "ground_truth": "Paris"}
    (tmp_path / "default_query_test.jsonl").write_text(json.dumps(line) + "\n")
    frame, metadata = import_llmrouter(tmp_path)
    assert metadata["test_queries_dropped_as_in_train"] == 1
    assert list(frame[C.ROW_ID]) == ["train/0", "train/0", "test/1", "test/1"]
    assert list(frame[C.TIER]) == ["cheap", "big", "cheap", "big"]
    assert list(frame[C.SCORE]) == [0.0, 1.0, 0.5, 1.0]
    assert list(frame[C.INTENT]) == ["gsm8k", "gsm8k", "natural_qa", "natural_qa"]
    assert list(frame[C.REFERENCE]) == ["4", "4", "Paris", "Paris"]
    assert frame[C.COST_USD].iloc[0] == pytest.approx(0.1 * (math.ceil(len("What is 2+2?") / 4) + 200) / 1e6)
