"""Import public per-model result tables as outcomes: RouterBench, RouteLLM and LLMRouter; and dispatch the
imports of other eval tools' results (promptfoo, inspect_ai; their own modules).

Each importer reads the files as published upstream (see the SOURCE.md beside each data folder)
and returns ``(frame, metadata)``: the frame in the outcomes contract's long format (one row per
query × tier, ``source="eval"``, ``scorer`` naming the upstream grading), and a metadata dict that
records the dataset, the row counts and every assumption made, above all how the cost was estimated
where the upstream data has none. ``import_outcomes`` dispatches on the dataset name and writes the
Parquet file.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routeeval import columns as C
from routeeval.config import Tier
from routeeval.errors import ConfigError, DataError
from routeeval.inspect_logs import import_inspect
from routeeval.outcomes import outcomes_frame, write_outcomes
from routeeval.promptfoo import import_promptfoo

CHARS_PER_TOKEN = 4  # token estimate where the data has no counts: ceil(characters / 4)


@dataclass(frozen=True)
class ImportResult:
    """What ``import_outcomes`` wrote: the file, its size and the metadata stored in it."""

    dataset: str
    out: Path
    n_rows: int
    n_queries: int
    tiers: list[str]
    metadata: dict = field(default_factory=dict)


IMPORT_KINDS = ("inspect", "llmrouter", "promptfoo", "routellm", "routerbench")


def import_outcomes(
    kind: str,
    path: str | Path | list[str | Path],
    out: str | Path,
    *,
    scorer: str | None = None,
    tiers: tuple[Tier, ...] = (),
) -> ImportResult:
    """Import ``kind`` (a public dataset, or another eval tool's results) from ``path`` and write it as outcomes
    Parquet to ``out``. ``path`` is a list only for inspect (one log per model); ``scorer`` and ``tiers`` (a
    config's tiers, for names and prices) are read only by promptfoo and inspect."""
    if kind not in IMPORT_KINDS:
        raise ConfigError(f"unknown dataset '{kind}'; choose from: {', '.join(IMPORT_KINDS)}.")
    paths = list(path) if isinstance(path, list | tuple) else [path]
    if kind == "inspect":
        frame, metadata = import_inspect(paths, scorer=scorer, tiers=tiers)
    elif len(paths) != 1:
        raise ConfigError(f"import {kind} reads one file or folder; got {len(paths)} (only inspect takes several).")
    elif kind == "promptfoo":
        frame, metadata = import_promptfoo(paths[0], scorer=scorer, tiers=tiers)
    else:
        if scorer is not None or tiers:
            raise ConfigError(f"--scorer and --config are read only by promptfoo and inspect imports, not by {kind}.")
        importers = {"llmrouter": import_llmrouter, "routellm": import_routellm, "routerbench": import_routerbench}
        frame, metadata = importers[kind](paths[0])
    order = frame.groupby(C.TIER)[C.COST_USD].mean().sort_values(kind="stable").index.tolist()  # cheapest first
    metadata = {
        **metadata,
        "rows": len(frame),
        "queries": int(frame[C.ROW_ID].nunique()),
        "tiers": order,
    }
    stored = {key: value if isinstance(value, str) else json.dumps(value) for key, value in metadata.items()}
    written = write_outcomes(frame, out, stored)
    return ImportResult(
        dataset=kind,
        out=written,
        n_rows=len(frame),
        n_queries=metadata["queries"],
        tiers=order,
        metadata=metadata,
    )


# --- RouterBench -------------------------------------------------------------------------------

ROUTERBENCH_SCORER = "routerbench(binary)"
_ROUTERBENCH_KEYS = ("sample_id", "prompt", "eval_name")


def import_routerbench(path: str | Path):
    """RouterBench rows (RouterDC's per-task CSVs, or their concatenated Parquet) as outcomes.

    ``path`` is the folder (all ``*.csv`` in it; the Parquet if there are none), the Parquet file or
    one CSV. The 11 model columns become tiers with the upstream score, ``cost_usd`` from
    ``<model>|total_cost`` and the response from ``<model>|model_response``. The split is RouterDC's
    train/test (``routerdc_split``, or the CSV file name).
    """
    import pandas as pd

    path = _existing(path)
    wide = _read_routerbench_tables(path)
    models = [name for name in wide.columns if f"{name}|total_cost" in wide.columns]
    if not models:
        raise DataError(str(path), "no '<model>|total_cost' columns; expected RouterBench's wide format")

    # 14 ARC sample_ids appear twice (a pivot artifact): one copy holds only gpt-3.5-turbo-1106's score
    # and a doubled prompt with doubled costs, the other the remaining 10 scores. The copy with more
    # scores wins for the prompt, responses, costs and split; the missing score comes from the other.
    wide["_n_scores"] = wide[models].notna().sum(axis=1)
    duplicated = wide["sample_id"].duplicated(keep=False)
    conflicting_splits = int((wide[duplicated].groupby("sample_id")[C.SPLIT].nunique() > 1).sum())
    merged = (
        wide.sort_values("_n_scores", ascending=False, kind="stable")
        .groupby("sample_id", sort=False)
        .first()
        .reset_index()
    )
    merged = merged.set_index("sample_id").loc[wide["sample_id"].drop_duplicates()].reset_index()  # file order

    prompts = [_join_literal_list(text, "\n\n") for text in merged["prompt"]]
    row_ids, intents = merged["sample_id"].tolist(), merged["eval_name"].tolist()
    splits = [None if pd.isna(split) else split for split in merged[C.SPLIT]]
    records = []
    for model in models:
        scores = _floats_or_none(merged[model])
        costs = _floats_or_none(pd.to_numeric(merged[f"{model}|total_cost"], errors="coerce"))
        column = f"{model}|model_response"
        responses = (
            [_join_literal_list(text, "") for text in merged[column]] if column in merged else [None] * len(merged)
        )
        for i, row_id in enumerate(row_ids):
            records.append(
                {
                    C.ROW_ID: row_id,
                    C.TIER: model,
                    C.RESPONSE: responses[i],
                    C.SCORE: scores[i],
                    C.COST_USD: costs[i],
                    C.INPUT: prompts[i],
                    C.INTENT: intents[i],
                    C.SPLIT: splits[i],
                    C.SOURCE: C.SOURCE_EVAL,
                    C.SCORER: ROUTERBENCH_SCORER,
                }
            )
    frame = outcomes_frame(records)
    metadata = {
        "dataset": "routerbench",
        "source_path": str(path),
        "upstream": "RouterBench (Hu et al. 2024, arXiv:2403.12031) rows as split by RouterDC (shuhao02/RouterDC)",
        "scorer": ROUTERBENCH_SCORER + ": RouterBench's own 0/1 grading (exact match for MC, execution for MBPP)",
        "split": "RouterDC's train/test split (about 70/30), not RouterBench's own",
        "merged_duplicate_ids": int(wide.loc[duplicated, "sample_id"].nunique()),
        "merged_ids_with_conflicting_split": conflicting_splits,
        "assumptions": [
            "cost_usd is RouterBench's <model>|total_cost (USD per call, per-1M-token list prices)",
            "duplicated sample_ids merged: the copy with more scores gives prompt, responses, costs and split; "
            "scores missing there are taken from the other copy",
            "prompt and response lists (ast.literal_eval) are joined into one string",
            "no token counts or latency in the data: prompt_tokens, completion_tokens, latency_ms are null",
        ],
    }
    return frame, metadata


def _read_routerbench_tables(path: Path):
    import pandas as pd

    if path.is_dir():
        files = sorted(path.glob("*.csv")) or sorted(path.glob("*.parquet"))
        if not files:
            raise DataError(str(path), "no RouterBench .csv or .parquet files in this folder")
    else:
        files = [path]
    tables = []
    for file in files:
        table = _read_table(file)
        missing = [name for name in _ROUTERBENCH_KEYS if name not in table.columns]
        if missing:
            raise DataError(
                str(file), f"column '{missing[0]}' is missing; RouterBench rows need {', '.join(_ROUTERBENCH_KEYS)}"
            )
        if table["sample_id"].isna().any():
            row = int(table.index[table["sample_id"].isna()][0]) + 1  # data row; CSV prompts span lines
            raise DataError(str(file), "is empty", line=row, field="sample_id", row_word="row")
        if "routerdc_split" in table.columns:
            table[C.SPLIT] = table["routerdc_split"]
        else:
            table[C.SPLIT] = _split_from_name(file.stem)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _split_from_name(stem: str) -> str | None:
    for split in ("train", "test"):
        if stem.endswith(f"_{split}"):
            return split
    return None


def _floats_or_none(series) -> list[float | None]:
    return [None if value != value else float(value) for value in series.astype("float64").tolist()]


def _join_literal_list(text, separator: str) -> str | None:
    """RouterBench stores prompts and responses as the repr of a list of strings; join it back."""
    if not isinstance(text, str):
        return None
    if not text.startswith("["):
        return text
    inner = text[2:-2]
    if len(text) >= 4 and text.startswith("['") and text.endswith("']") and "'" not in inner and "\\" not in inner:
        return inner  # repr of a one-string list with nothing escaped: skip the parser
    try:
        items = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    if not isinstance(items, list):
        return text
    return separator.join(str(item) for item in items)


# --- RouteLLM ----------------------------------------------------------------------------------

ROUTELLM_WEAK = ("mixtral-8x7b", "mistralai/Mixtral-8x7B-Instruct-v0.1", 0.60, 0.60)
ROUTELLM_STRONG = ("gpt-4-1106", "gpt-4-1106-preview", 10.00, 30.00)
ROUTELLM_TIERS = (ROUTELLM_WEAK, ROUTELLM_STRONG)  # (tier, upstream model, USD per 1M in, USD per 1M out)
MMLU_OUTPUT_TOKENS = 1  # the answer letter
MT_BENCH_FALLBACK_OUTPUT_TOKENS = 300  # per turn, when the answer cannot be read from the judge prompt
_BENCHMARKS = ("mmlu", "gsm8k", "mt_bench")


def import_routellm(path: str | Path):
    """RouteLLM's cached eval results (GPT-4-1106 vs Mixtral-8x7B) as outcomes.

    ``path`` is the ``routellm-evals`` folder (all of mmlu/, gsm8k/, mt_bench/ found in it; intents
    are then prefixed with the benchmark) or one of those folders. RouteLLM's decontamination filter
    is applied as in ``routellm/evals/benchmarks.py``. There is no cost in the data: it is estimated
    from list prices and ceil(characters / 4) tokens (see the metadata's ``assumptions``).
    """
    path = _existing(path)
    if not path.is_dir():
        raise DataError(str(path), "expected the routellm-evals folder or one of its mmlu/, gsm8k/, mt_bench/ folders")
    readers = {"mmlu": _routellm_mmlu, "gsm8k": _routellm_gsm8k, "mt_bench": _routellm_mt_bench}
    found = [name for name in _BENCHMARKS if _routellm_kind(path / name) == name]
    if found:
        parts = [(name, path / name, True) for name in found]
    else:
        kind = _routellm_kind(path)
        if kind is None:
            raise DataError(
                str(path),
                "not a RouteLLM evals folder; expected mmlu/, gsm8k/ or mt_bench/ "
                "(or one of them: responses/, gsm8k_responses.csv, judgements.jsonl)",
            )
        parts = [(kind, path, False)]

    records = []
    counts = {}
    for name, folder, prefixed in parts:
        part_records, part_counts = readers[name](folder, prefixed)
        records += part_records
        counts[name] = part_counts
    frame = outcomes_frame(records)
    prices = {
        tier: {"model": model, "usd_per_mtok_in": p_in, "usd_per_mtok_out": p_out}
        for tier, model, p_in, p_out in ROUTELLM_TIERS
    }
    metadata = {
        "dataset": "routellm",
        "source_path": str(path),
        "upstream": "lm-sys/RouteLLM routellm/evals (Ong et al. 2024, arXiv:2406.18665)",
        "benchmarks": counts,
        "prices": prices,
        "assumptions": [
            "no cost in the data: cost_usd = (prompt_tokens x input price + completion_tokens x output price) / 1e6 "
            "at RouterBench's list prices (gpt-4-1106-preview $10/$30, Mixtral-8x7B $0.60/$0.60 per 1M tokens)",
            "tokens estimated as ceil(characters / 4) of the prompt and of the response",
            f"MMLU: {MMLU_OUTPUT_TOKENS} output token (the answer letter)",
            "GSM8K: output tokens from the response text in the data",
            "MT-Bench: two calls per question (turn 2 re-sends turn 1 and its answer); answers read from the "
            f"judge prompts, else {MT_BENCH_FALLBACK_OUTPUT_TOKENS} output tokens per turn",
            "MT-Bench: score = mean GPT-4 judge score over both turns / 10; input is turn 1 (RouteLLM routes on it)",
            "decontamination as in RouteLLM benchmarks.py: prompts listed as eval_prompt in "
            "contaminated_prompts.jsonl are dropped (MT-Bench: if either turn is listed)",
            "no split in the data; token counts are estimates; latency_ms is null",
        ],
    }
    return frame, metadata


def _routellm_kind(folder: Path) -> str | None:
    if (folder / "responses").is_dir():
        return "mmlu"
    if (folder / "gsm8k_responses.csv").is_file():
        return "gsm8k"
    if (folder / "judgements.jsonl").is_file():
        return "mt_bench"
    return None


def _contaminated(folder: Path) -> set[str]:
    path = folder / "contaminated_prompts.jsonl"
    if not path.is_file():
        raise DataError(str(path), "no such file; RouteLLM's decontamination list is needed")
    return {item["eval_prompt"] for item in _read_jsonl(path, required=("eval_prompt",))}


def _routellm_mmlu(folder: Path, prefixed: bool):
    contaminated = _contaminated(folder)
    files = sorted((folder / "responses").glob("mmlu_*.csv"))
    if not files:
        raise DataError(str(folder / "responses"), "no mmlu_<subject>.csv files")
    records = []
    n_total = 0
    for file in files:
        table = _read_table(file)
        _require_columns(file, table, ["prompt"] + [model for _, model, _, _ in ROUTELLM_TIERS])
        subject = file.stem.removeprefix("mmlu_")
        intent = f"mmlu/{subject}" if prefixed else subject
        n_total += len(table)
        correct = {model: _correct_column(file, table, model) for _, model, _, _ in ROUTELLM_TIERS}
        for index, prompt in enumerate(table["prompt"].tolist()):
            if prompt in contaminated:
                continue
            prompt_tokens = _estimate_tokens(prompt)
            for tier, model, p_in, p_out in ROUTELLM_TIERS:
                records.append(
                    _routellm_record(
                        f"mmlu/{subject}/{index}",
                        tier,
                        correct[model][index],
                        prompt,
                        intent,
                        None,
                        prompt_tokens,
                        MMLU_OUTPUT_TOKENS,
                        p_in,
                        p_out,
                        "routellm(mmlu correct)",
                    )
                )
    return records, {"rows_in_files": n_total, "questions": len(records) // len(ROUTELLM_TIERS)}


def _routellm_gsm8k(folder: Path, prefixed: bool):
    contaminated = _contaminated(folder)
    file = folder / "gsm8k_responses.csv"
    table = _read_table(file)
    models = [model for _, model, _, _ in ROUTELLM_TIERS]
    _require_columns(file, table, ["prompt", *models, *(f"{model}_response" for model in models)])
    correct = {model: _correct_column(file, table, model) for model in models}
    responses = {
        model: [text if isinstance(text, str) else None for text in table[f"{model}_response"]] for model in models
    }
    records = []
    for index, prompt in enumerate(table["prompt"].tolist()):
        if prompt in contaminated:
            continue
        prompt_tokens = _estimate_tokens(prompt)
        for tier, model, p_in, p_out in ROUTELLM_TIERS:
            response = responses[model][index]
            records.append(
                _routellm_record(
                    f"gsm8k/{index}",
                    tier,
                    correct[model][index],
                    prompt,
                    "gsm8k",
                    response,
                    prompt_tokens,
                    _estimate_tokens(response or ""),
                    p_in,
                    p_out,
                    "routellm(gsm8k correct)",
                )
            )
    return records, {"rows_in_files": len(table), "questions": len(records) // len(ROUTELLM_TIERS)}


def _routellm_mt_bench(folder: Path, prefixed: bool):
    contaminated = _contaminated(folder)
    questions = _read_jsonl(folder / "question.jsonl", required=("question_id", "category", "turns"))
    judgements = _read_jsonl(folder / "judgements.jsonl", required=("question_id", "model", "score", "turn"))
    by_key = {(item["question_id"], item["model"], item["turn"]): item for item in judgements}
    records = []
    n_fallback_turns = 0
    for question in questions:
        turns = question["turns"]
        if any(turn in contaminated for turn in turns[:2]):
            continue
        qid = question["question_id"]
        intent = f"mt_bench/{question['category']}" if prefixed else question["category"]
        for tier, model, p_in, p_out in ROUTELLM_TIERS:
            found = [by_key.get((qid, model, turn)) for turn in (1, 2)]
            scores = [item["score"] for item in found if item is not None and item["score"] >= 1]
            answer_1 = _mt_bench_answer(found[0], multi_turn=False)
            answer_2 = _mt_bench_answer(found[1], multi_turn=True)
            n_fallback_turns += (answer_1 is None) + (answer_2 is None)
            tokens_1 = MT_BENCH_FALLBACK_OUTPUT_TOKENS if answer_1 is None else _estimate_tokens(answer_1)
            tokens_2 = MT_BENCH_FALLBACK_OUTPUT_TOKENS if answer_2 is None else _estimate_tokens(answer_2)
            # Turn 2 re-sends turn 1, its answer and the second user message.
            prompt_tokens = 2 * _estimate_tokens(turns[0]) + tokens_1 + _estimate_tokens(turns[1])
            answers = [answer for answer in (answer_1, answer_2) if answer is not None]
            records.append(
                _routellm_record(
                    f"mt_bench/{qid}",
                    tier,
                    sum(scores) / len(scores) / 10 if scores else None,
                    turns[0],
                    intent,
                    "\n\n---\n\n".join(answers) if answers else None,
                    prompt_tokens,
                    tokens_1 + tokens_2,
                    p_in,
                    p_out,
                    "routellm(mt-bench gpt-4 judge score/10)",
                )
            )
    counts = {
        "questions_in_file": len(questions),
        "questions": len(records) // len(ROUTELLM_TIERS),
        "turns_with_assumed_output_tokens": n_fallback_turns,
    }
    return records, counts


def _mt_bench_answer(judgement: dict | None, multi_turn: bool) -> str | None:
    """The model's answer, read back from the GPT-4 judge prompt that embeds it."""
    if judgement is None:
        return None
    text = judgement.get("user_prompt") or ""
    if multi_turn:
        start = text.find("<|The Start of Assistant A's Conversation with User|>")
        end = text.find("<|The End of Assistant A's Conversation with User|>", start)
        marker = "### Assistant A:\n"
        cut = text.rfind(marker, start, end)
        if start < 0 or end < 0 or cut < 0:
            return None
        return text[cut + len(marker) : end].strip()
    start_marker = "[The Start of Assistant's Answer]\n"
    start = text.find(start_marker)
    end = text.find("[The End of Assistant's Answer]", start)
    if start < 0 or end < 0:
        return None
    return text[start + len(start_marker) : end].strip()


def _routellm_record(
    row_id, tier, score, prompt, intent, response, prompt_tokens, completion_tokens, p_in, p_out, scorer
) -> dict:
    return {
        C.ROW_ID: row_id,
        C.TIER: tier,
        C.RESPONSE: response,
        C.SCORE: score,
        C.COST_USD: (prompt_tokens * p_in + completion_tokens * p_out) / 1e6,
        C.PROMPT_TOKENS: prompt_tokens,
        C.COMPLETION_TOKENS: completion_tokens,
        C.INPUT: prompt,
        C.INTENT: intent,
        C.SOURCE: C.SOURCE_EVAL,
        C.SCORER: scorer,
    }


def _correct_column(path: Path, table, model: str) -> list[float]:
    """RouteLLM stores correctness as True/False; as 1.0/0.0, or a DataError naming the cell."""
    if table[model].dtype == bool:
        return table[model].astype("float64").tolist()
    values = []
    for index, value in enumerate(table[model].tolist()):
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise DataError(
                str(path), f"is {value!r}; expected True or False", line=index + 1, field=model, row_word="row"
            )
        values.append(1.0 if text == "true" else 0.0)
    return values


# --- LLMRouter ---------------------------------------------------------------------------------

LLMROUTER_OUTPUT_TOKENS = 200


def import_llmrouter(path: str | Path):
    """LLMRouter's RouterDC-format routing data (9 models × 6,108 queries, 14 tasks) as outcomes.

    ``path`` is the ``llmrouter-dcrouter`` folder. Test items whose question also appears in train
    are dropped (LLMRouter's split leaks them). Cost is estimated: the model's price per 1M tokens
    (``default_llm.json``; input = output) × (ceil(characters / 4) prompt tokens + 200 output tokens).
    """
    path = _existing(path)
    if not path.is_dir():
        raise DataError(str(path), "expected the llmrouter-dcrouter folder")
    prices = _llmrouter_prices(path / "default_llm.json")
    splits = {split: _read_json(path / f"dcrouter_{split}.json") for split in ("train", "test")}
    queries = {
        split: _read_jsonl(path / f"default_query_{split}.jsonl", required=("query",)) for split in ("train", "test")
    }

    # question -> query line, from the split's own query file first. Six questions carry two task
    # names in default_query_train.jsonl: the first line wins.
    by_question: dict[str, dict[str, Any]] = {split: {} for split in queries}
    for split, lines in queries.items():
        for line in lines:
            by_question[split].setdefault(line["query"], line)

    train_questions = {item.get("question") for item in splits["train"]}
    models = None
    records = []
    n_kept = {split: 0 for split in splits}
    n_dropped = 0
    n_unmatched = 0
    for split, items in splits.items():
        file = path / f"dcrouter_{split}.json"
        for index, item in enumerate(items):
            question, scores = item.get("question"), item.get("scores")
            if not isinstance(question, str) or not isinstance(scores, dict):
                raise DataError(
                    str(file), "needs 'question' (text) and 'scores' (object)", line=index + 1, row_word="item"
                )
            if split == "test" and question in train_questions:
                n_dropped += 1
                continue
            if models is None:
                models = sorted(scores, key=lambda name: (prices.get(name, math.inf), name))
                unpriced = [name for name in models if name not in prices]
                if unpriced:
                    raise DataError(str(path / "default_llm.json"), f"no price for model '{unpriced[0]}'")
            other = "test" if split == "train" else "train"
            n_kept[split] += 1
            query = by_question[split].get(question) or by_question[other].get(question)
            n_unmatched += query is None
            metric = query.get("metric") if query else None
            reference = query.get("ground_truth") if query else None
            prompt_tokens = _estimate_tokens(question)
            for model in models:
                if model not in scores:
                    raise DataError(str(file), f"has no score for model '{model}'", line=index + 1, row_word="item")
                score = scores[model]
                records.append(
                    {
                        C.ROW_ID: f"{split}/{index}",
                        C.TIER: model,
                        C.SCORE: None if score is None else float(score),
                        C.COST_USD: prices[model] * (prompt_tokens + LLMROUTER_OUTPUT_TOKENS) / 1e6,
                        C.PROMPT_TOKENS: prompt_tokens,
                        C.COMPLETION_TOKENS: LLMROUTER_OUTPUT_TOKENS,
                        C.INPUT: question,
                        C.INTENT: query.get("task_name") if query else None,
                        C.SPLIT: split,
                        C.SOURCE: C.SOURCE_EVAL,
                        C.SCORER: f"llmrouter({metric or 'unknown'})",
                        C.REFERENCE: None if reference is None else str(reference),
                    }
                )
    frame = outcomes_frame(records)
    metadata = {
        "dataset": "llmrouter",
        "source_path": str(path),
        "upstream": "ulab-uiuc/LLMRouter data/dcrouter_preprocessed (RouterDC format) + example query and LLM files",
        "prices_usd_per_mtok": {model: prices[model] for model in models or ()},
        "train_queries": n_kept["train"],
        "test_queries_kept": n_kept["test"],
        "test_queries_dropped_as_in_train": n_dropped,
        "queries_without_task": n_unmatched,
        "assumptions": [
            "no cost in the data: cost_usd = price per 1M tokens (default_llm.json, input = output) x "
            f"(ceil(characters / 4) prompt tokens + {LLMROUTER_OUTPUT_TOKENS} assumed output tokens) / 1e6",
            "token counts are estimates; responses and latency are not in the data",
            f"{n_dropped} test questions that also appear verbatim in train are left out entirely",
            "intent and metric joined from default_query_{train,test}.jsonl on question == query; "
            "where a query has two task names the first line wins",
            "scores are LLMRouter's own: binary for most tasks, continuous F1 / coverage for 3",
        ],
    }
    return frame, metadata


def _llmrouter_prices(path: Path) -> dict[str, float]:
    raw = _read_json(path)
    if not isinstance(raw, dict):
        raise DataError(str(path), "expected an object of model name -> metadata")
    prices = {}
    for name, info in raw.items():
        price_in = info.get("input_price") if isinstance(info, dict) else None
        price_out = info.get("output_price") if isinstance(info, dict) else None
        if not isinstance(price_in, int | float):
            raise DataError(str(path), "is missing or not a number", field=f"{name}.input_price")
        if price_out is not None and price_out != price_in:
            raise DataError(
                str(path), f"is {price_out}, not equal to input_price {price_in}", field=f"{name}.output_price"
            )
        prices[name] = float(price_in)
    return prices


# --- reading helpers ---------------------------------------------------------------------------


def _estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "no such file or folder")
    return path


def _read_table(path: Path):
    import pandas as pd

    if not path.is_file():
        raise DataError(str(path), "no such file")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(str(path), f"cannot be read as a table ({exc})") from None


def _require_columns(path: Path, table, names) -> None:
    for name in names:
        if name not in table.columns:
            raise DataError(str(path), f"column '{name}' is missing")


def _read_json(path: Path):
    if not path.is_file():
        raise DataError(str(path), "no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(str(path), f"not readable JSON ({exc})") from None


def _read_jsonl(path: Path, required: tuple[str, ...] = ()) -> list[dict]:
    if not path.is_file():
        raise DataError(str(path), "no such file")
    items = []
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): text may hold U+2028
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(str(path), f"not readable ({exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(str(path), f"not valid JSON ({exc.msg})", line=number) from None
        if not isinstance(item, dict):
            raise DataError(str(path), "expected a JSON object", line=number)
        for name in required:
            if name not in item:
                raise DataError(str(path), "is missing", line=number, field=name)
        items.append(item)
    return items
