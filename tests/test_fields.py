"""Column mapping ([columns], --map) onto the fields of routeeval/fields.py, for eval sets and logs in JSONL, CSV
and Parquet; extra columns kept in metadata; the errors for missing fields and bad mappings."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.config import column_map, load_config, parse_config
from routeeval.data import load_eval_set
from routeeval.errors import ConfigError, DataError
from routeeval.fields import EVAL_FIELDS, LOG_FIELDS, OUTCOME_FIELDS, ColumnMap, parse_columns, parse_map_options
from routeeval.logs import light_row, load_logs, open_log_stream

runner = CliRunner()
TIER = {"tier": [{"name": "small", "model": "routeeval-sim/gpt-4o-mini"}]}
FOREIGN = {"id": "ticket_id", "input": "question", "reference": "expected_answer", "intent": "category"}
HEADER = ["ticket_id", "question", "expected_answer", "category", "channel"]
ROWS = [
    ["t-1", "How much is Pro?", "$12 per user", "plan_pricing", "email"],
    ["t-2", '[{"role": "user", "content": "Reset my password"}]', '["Use the reset link", "reset link"]', "", "chat"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pandas as pd

    pd.DataFrame(rows).to_parquet(path, index=False)
    return path


def foreign_records() -> list[dict]:
    return [dict(zip(HEADER, row, strict=True)) for row in ROWS]


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises((DataError, ConfigError)) as caught:
        call(*args, **kwargs)
    return str(caught.value)


# --- the field specs are the loaders' fields ---------------------------------------------------------


def test_every_eval_field_is_read_by_the_eval_loader_and_nothing_else_is(tmp_path):
    row = {
        "id": "a",
        "input": "hi",
        "reference": "x",
        "intent": "i",
        "label": "easy",
        "scorer": "exact",
        "split": "test",
        "metadata": {"k": 1},
    }
    assert set(row) == {spec.name for spec in EVAL_FIELDS}
    (query,) = load_eval_set(write_jsonl(tmp_path / "e.jsonl", [{**row, "other": 2}])).rows
    assert query.extra == {"other": 2} and query.metadata == {"k": 1, "other": 2}


def test_every_log_field_is_read_by_the_log_loader_and_nothing_else_is(tmp_path):
    row = {
        "id": "a",
        "timestamp": "2026-11-01T00:00:00Z",
        "input": "hi",
        "messages": [{"role": "user", "content": "hi"}],
        "model": "m",
        "response": "r",
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "cost_usd": 0.1,
        "latency_ms": 3,
        "intent": "i",
        "label": "hard",
        "metadata": {"k": 1},
    }
    assert set(row) == {spec.name for spec in LOG_FIELDS}
    path = write_jsonl(tmp_path / "l.jsonl", [{**row, "other": 2}])
    (record,) = load_logs(path).records
    assert record.query.extra == {"other": 2} and record.query.metadata == {"k": 1, "other": 2}
    light = light_row(*next(open_log_stream(path).batches(light=True))[0])
    assert light.metadata == record.query.metadata


def test_the_outcome_fields_are_the_columns_an_outcomes_row_has():
    from routeeval.data import Query
    from routeeval.replay import CallResult
    from routeeval.scoring import outcome_record

    query = Query("a", ({"role": "user", "content": "hi"},))
    record = outcome_record(query, CallResult("a", "small", "r", 1, 1, 0.0, 1.0), 1.0, "exact")
    assert set(record) == {spec.name for spec in OUTCOME_FIELDS}


# --- [columns] and --map, checked before anything is read ---------------------------------------------


def test_columns_in_the_config_are_checked_whole_at_load(tmp_path):
    path = tmp_path / "routeeval.toml"
    path.write_text(
        '[[tier]]\nname = "small"\nmodel = "routeeval-sim/x"\n\n[columns]\nid = "ticket_id"\nquestion = "input"\n',
        encoding="utf-8",
    )
    message = error_of(load_config, path)
    assert message.startswith(f"{path}: unknown field 'question' in [columns]; valid fields: completion_tokens, ")
    assert "timestamp; or the tables [columns.evalset] and [columns.logs]." in message

    config = parse_config({**TIER, "columns": {**FOREIGN, "logs": {"timestamp": "created_at"}}}, "r.toml")
    assert config.columns.for_kind("evalset") == FOREIGN
    assert config.columns.for_kind("logs") == {"id": "ticket_id", "input": "question", "intent": "category",
                                               "timestamp": "created_at"}  # fmt: skip


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"id": 3}, "r.toml: [columns] key 'id' must be the name of a column in your file, e.g. id = \"my_id\"."),
        ({"id": " "}, "r.toml: [columns] key 'id' must be the name of a column in your file, e.g. id = \"my_id\"."),
        (
            {"logs": {"reference": "gold"}},
            "r.toml: unknown field 'reference' in [columns.logs]; valid fields: completion_tokens, cost_usd, id, "
            "input, intent, label, latency_ms, messages, metadata, model, prompt_tokens, response, timestamp.",
        ),
        ({"evalset": "x"}, 'r.toml: [columns.evalset] must be a table of FIELD = "column".'),
        ({"id": "q", "input": "q"}, 'r.toml: [columns] id = "q" and [columns] input = "q" read the same column.'),
    ],
)
def test_bad_columns_tables(columns, message):
    assert error_of(parse_config, {**TIER, "columns": columns}, "r.toml") == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["input"], "--map 'input' is not FIELD=COLUMN (e.g. --map id=ticket_id)."),
        (["input="], "--map 'input=' is not FIELD=COLUMN (e.g. --map id=ticket_id)."),
        (["qestion=input"], "--map 'qestion=input': unknown field 'qestion'; valid fields: completion_tokens, "),
        (["eval.input=q"], "--map 'eval.input=q': unknown kind of file 'eval'; choose from: evalset, logs "),
        (["logs.scorer=s"], "--map 'logs.scorer=s': unknown field 'scorer' of logs; valid fields: "),
        (["id=q", "input=q"], "--map id=q and --map input=q read the same column."),
    ],
)
def test_bad_map_options(options, message):
    assert error_of(parse_map_options, options).startswith(message)


def test_map_options_replace_the_configs_entry_for_their_field():
    config = parse_columns({"id": "ticket_id", "input": "question", "evalset": {"reference": "gold"}}, "r.toml")
    merged = column_map(config, ["input=prompt", "evalset.reference=answer", "logs.timestamp=created_at"])
    assert merged.for_kind("evalset") == {"id": "ticket_id", "input": "prompt", "reference": "answer"}
    assert merged.for_kind("logs") == {"id": "ticket_id", "input": "prompt", "timestamp": "created_at"}
    assert merged.origin("evalset", "input") == "--map input=prompt"
    assert merged.origin("evalset", "id") == '[columns] id = "ticket_id"'
    assert column_map(None, None) == ColumnMap()
    scoped = parse_columns({"evalset": {"id": "key"}, "logs": {"id": "call"}}, "r.toml")
    everywhere = column_map(scoped, ["id=ticket_id"])  # an option for every file replaces each kind's entry
    assert everywhere.for_kind("evalset")["id"] == everywhere.for_kind("logs")["id"] == "ticket_id"
    assert column_map(scoped, ["logs.id=req"]).for_kind("evalset")["id"] == "key"


def test_a_map_without_the_logs_keeps_what_applies_to_the_eval_set():
    """drift --refit's logs sample is written in routeeval's own names: its run reads the eval set mapped only."""
    columns = parse_columns({"id": "ticket_id", "timestamp": "t", "logs": {"input": "prompt"}}, "r.toml")
    assert columns.without("logs").for_kind("logs") == {}
    assert columns.without("logs").for_kind("evalset") == {"id": "ticket_id"}


# --- eval sets: JSONL, CSV and Parquet alike ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_an_eval_set_with_its_own_column_names_reads_as_routeevals_fields(tmp_path, kind):
    if kind == "csv":
        path = write_csv(tmp_path / "tickets.csv", HEADER, ROWS)
    else:
        records = foreign_records()
        for record in records:  # JSON files hold lists as lists, and no value as no key
            for key in ("question", "expected_answer"):
                if record[key].startswith("["):
                    record[key] = json.loads(record[key])
            if not record["category"]:
                record["category"] = None
        if kind == "parquet":  # a Parquet column holds one type: lists of answers, and text prompts
            records[0]["expected_answer"] = [records[0]["expected_answer"]]
            records[1]["question"] = records[1]["question"][0]["content"]
        writer = write_jsonl if kind == "jsonl" else write_parquet
        path = writer(tmp_path / f"tickets.{kind}", records)
    first, second = load_eval_set(path, parse_columns(FOREIGN, "r.toml")).rows
    assert (first.row_id, first.text, first.intent) == ("t-1", "How much is Pro?", "plan_pricing")
    assert first.reference == (["$12 per user"] if kind == "parquet" else "$12 per user")
    assert first.metadata == {"channel": "email"}  # the unmapped column, kept for rules and reports
    assert second.messages == ({"role": "user", "content": "Reset my password"},)  # a JSON cell, decoded
    assert second.reference == ["Use the reset link", "reset link"]
    assert second.intent is None and second.metadata == {"channel": "chat"}


def test_an_extra_column_reaches_static_rules_and_the_outcomes_row(tmp_path):
    from routeeval.replay import CallResult
    from routeeval.runtime import compile_rules
    from routeeval.scoring import outcome_record

    first, second = load_eval_set(write_csv(tmp_path / "t.csv", HEADER, ROWS), parse_columns(FOREIGN, "r")).rows
    (rule,) = compile_rules([{"metadata": {"channel": "email"}, "tier": "large"}], ["small", "large"])
    assert [rule.matches(q.text, q.text, q.text.lower(), q.metadata) for q in (first, second)] == [True, False]
    record = outcome_record(first, CallResult("t-1", "small", "r", 1, 1, 0.0, 1.0), 1.0, "exact")
    assert json.loads(record["metadata"]) == {"channel": "email"}


def test_a_file_with_routeevals_names_needs_no_mapping_and_unmapped_fields_keep_theirs(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["id", "question", "reference"], [["1", "hi", "hello"]])
    (query,) = load_eval_set(path, parse_map_options(["input=question"])).rows
    assert (query.row_id, query.text, query.reference, query.metadata) == ("1", "hi", "hello", {})


def test_a_missing_field_lists_the_files_columns_and_suggests_the_mapping(tmp_path):
    path = write_csv(tmp_path / "tickets.csv", HEADER, ROWS)
    assert error_of(load_eval_set, path) == (
        f"{path} line 2: field 'id' is missing (each line needs 'id' and 'input'); the file has columns ticket_id, "
        'question, expected_answer, category, channel; map one with [columns] id = "ticket_id" or --map id=ticket_id'
    )
    assert error_of(load_eval_set, path, parse_map_options(["id=ticket_id"])) == (
        f"{path} line 2: field 'input' is missing (each line needs 'id' and 'input'); the file has columns "
        'ticket_id, question, expected_answer, category, channel; map one with [columns] input = "question" or '
        "--map input=question"
    )
    odd = write_jsonl(tmp_path / "odd.jsonl", [{"id": "1", "blob": "x"}])
    assert error_of(load_eval_set, odd) == (
        f"{odd} line 1: field 'input' is missing (each line needs 'id' and 'input'); the file has columns id, blob; "
        'map the column that holds it with [columns] input = "COLUMN" or --map input=COLUMN'
    )


def test_a_row_missing_a_field_other_rows_have_is_not_a_mapping_problem(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [{"id": "1", "input": "a"}, {"input": "b"}])
    assert error_of(load_eval_set, path) == f"{path} line 2: field 'id' is missing; each line needs 'id' and 'input'."


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_a_mapping_naming_a_column_the_file_lacks_is_one_line(tmp_path, kind):
    if kind == "csv":
        path = write_csv(tmp_path / "t.csv", HEADER, ROWS)
    else:
        path = (write_jsonl if kind == "jsonl" else write_parquet)(tmp_path / f"t.{kind}", foreign_records())
    columns = parse_columns({**FOREIGN, "reference": "expected_anwser"}, "r.toml")
    assert error_of(load_eval_set, path, columns) == (
        f'{path}: [columns] reference = "expected_anwser" names a column the file does not have; its columns: '
        "category, channel, expected_answer, question, ticket_id"
    )


def test_a_mapped_column_and_a_column_named_like_its_field_cannot_both_be_read(tmp_path):
    expected = "has a column 'input', and --map input=question reads another column as 'input'; rename one of them, "
    path = write_csv(tmp_path / "e.csv", ["id", "input", "question"], [["1", "a", "b"]])
    assert error_of(load_eval_set, path, parse_map_options(["input=question"])) == (
        f"{path} line 1: {expected}or drop the mapping"
    )
    jsonl = write_jsonl(tmp_path / "e.jsonl", [{"id": "1", "question": "b"}, {"id": "2", "input": "a"}])
    assert error_of(load_eval_set, jsonl, parse_map_options(["input=question"])) == (
        f"{jsonl} line 2: {expected}or drop the mapping"
    )


def test_a_column_named_like_a_field_may_itself_be_mapped_to_another(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [{"input": "row-1", "question": "hi"}])
    (query,) = load_eval_set(path, parse_map_options(["id=input", "input=question"])).rows
    assert (query.row_id, query.text) == ("row-1", "hi")
    csv_path = write_csv(tmp_path / "e.csv", ["input", "question"], [["row-1", "hi"]])
    (query,) = load_eval_set(csv_path, parse_map_options(["id=input", "input=question"])).rows
    assert (query.row_id, query.text) == ("row-1", "hi")


def test_an_extra_column_never_overwrites_a_metadata_key(tmp_path):
    same = write_jsonl(tmp_path / "same.jsonl", [{"id": "1", "input": "a", "plan": "pro", "metadata": {"plan": "pro"}}])
    assert load_eval_set(same).rows[0].metadata == {"plan": "pro"}
    clash = write_jsonl(tmp_path / "clash.jsonl", [{"id": "1", "input": "a", "plan": "pro", "metadata": {"plan": "x"}}])
    assert error_of(load_eval_set, clash) == (
        f"{clash} line 1: field 'plan' is an extra column, and 'metadata' has a key 'plan' with another value ('x', "
        "the column 'pro'); extra columns go into metadata: rename the column or the key"
    )
    csv_path = write_csv(tmp_path / "e.csv", ["id", "input", "metadata", "plan"], [["1", "a", '{"plan": "x"}', "pro"]])
    assert "field 'plan' is an extra column, and 'metadata' has a key 'plan'" in error_of(load_eval_set, csv_path)


def test_errors_on_a_mapped_field_name_its_column(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["key", "q", "lbl"], [["1", "hi", "medium"]])
    columns = parse_map_options(["id=key", "input=q", "label=lbl"])
    assert error_of(load_eval_set, path, columns) == (
        f"{path} line 2: field 'label' (column 'lbl') must be 'easy' or 'hard', got 'medium'"
    )


def test_mapped_log_columns_are_read_as_their_fields_cells(tmp_path):
    """A CSV cell is decoded by the field its column is mapped to: numbers, JSON messages, the metadata object."""
    header = ["created_at", "prompt", "answer", "price", "millis", "meta", "region"]
    row = ["2026-11-02T10:00:00Z", '[{"role": "user", "content": "hi"}]', "hello", "0.25", "120", '{"plan": "pro"}',
           "eu"]  # fmt: skip
    path = write_csv(tmp_path / "logs.csv", header, [row])
    columns = parse_map_options(
        [
            "timestamp=created_at",
            "messages=prompt",
            "response=answer",
            "cost_usd=price",
            "latency_ms=millis",
            "metadata=meta",
        ]  # fmt: skip
    )
    (record,) = load_logs(path, columns).records
    assert (record.timestamp, record.query.text, record.response) == ("2026-11-02T10:00:00Z", "hi", "hello")
    assert (record.cost_usd, record.latency_ms) == (0.25, 120.0)
    assert record.query.metadata == {"plan": "pro", "region": "eu"}


# --- logs: the whole loader, the stream and its light rows, Parquet column selection -------------------

LOG_MAP = ["input=prompt", "timestamp=created_at", "id=call_id"]


def foreign_logs() -> list[dict]:
    return [
        {
            "call_id": f"r-{i}",
            "created_at": f"2026-11-0{i + 1}T10:00:00Z",
            "prompt": f"question {i}",
            "team": t,
            "response": "ok",
            "cost_usd": 0.5,
        }  # fmt: skip
        for i, t in enumerate(["blue", "red", "blue"])
    ]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_logs_with_their_own_column_names_read_the_same_everywhere(tmp_path, kind):
    rows = foreign_logs()
    if kind == "csv":
        path = write_csv(tmp_path / "logs.csv", list(rows[0]), [[str(v) for v in row.values()] for row in rows])
    else:
        path = (write_jsonl if kind == "jsonl" else write_parquet)(tmp_path / f"logs.{kind}", rows)
    columns = parse_map_options(LOG_MAP)
    records = load_logs(path, columns).records
    assert [r.query.row_id for r in records] == ["r-0", "r-1", "r-2"]
    assert [r.query.metadata for r in records] == [{"team": "blue"}, {"team": "red"}, {"team": "blue"}]
    stream = open_log_stream(path, columns)
    rows_read = [row for batch in stream.batches(light=True) for row in batch]
    light = [light_row(where, values) for where, values in rows_read]
    assert [row.query for row in light] == ["question 0", "question 1", "question 2"]
    assert [row.timestamp for row in light] == [r.timestamp for r in records]
    assert [row.metadata for row in light] == [r.query.metadata for r in records]  # extras read light too
    whole = stream.records(rows_read, light=True)
    assert [r.query.row_id for r in whole] == ["r-0", "r-1", "r-2"] and whole[0].cost_usd == 0.5


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_a_log_stream_refuses_a_mapping_its_file_lacks(tmp_path, kind):
    rows = foreign_logs()
    if kind == "csv":
        path = write_csv(tmp_path / "logs.csv", list(rows[0]), [[str(v) for v in row.values()] for row in rows])
    else:
        path = (write_jsonl if kind == "jsonl" else write_parquet)(tmp_path / f"logs.{kind}", rows)
    with pytest.raises(DataError) as caught:  # at open (CSV is read whole, Parquet's columns detect the format)
        list(open_log_stream(path, parse_map_options(["input=prompt", "intent=category"])).batches(light=True))
    assert str(caught.value) == (
        f"{path}: --map intent=category names a column the file does not have; its columns: call_id, cost_usd, "
        "created_at, prompt, response, team; to map them in the eval set only, write --map evalset.intent=category"
    )


def test_a_log_row_without_a_prompt_suggests_the_logs_mapping(tmp_path):
    path = write_jsonl(tmp_path / "logs.jsonl", foreign_logs())
    assert error_of(load_logs, path) == (
        f"{path} line 1: field 'input' is missing (each line needs 'input' or 'messages'); the file has columns "
        'call_id, created_at, prompt, team, response, cost_usd; map one with [columns.logs] input = "prompt" or '
        "--map logs.input=prompt"
    )


# --- the command line ----------------------------------------------------------------------------------


@pytest.fixture()
def tickets(tmp_path, monkeypatch):
    """The demo eval set as a CSV with a team's own headers and an extra column, beside the demo config."""
    rows = [json.loads(line) for line in (ROOT / "evalsets" / "support.jsonl").read_text().splitlines()]

    def cell(value):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    table = [
        [r["id"], cell(r["input"]), cell(r["reference"]), r["intent"], r.get("label", ""), "email" if i % 2 else "chat"]
        for i, r in enumerate(rows)
    ]
    write_csv(tmp_path / "tickets.csv", ["ticket_id", "question", "expected_answer", "category", "label", "channel"],
              table)  # fmt: skip
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    shutil.copytree(ROOT / "evalsets", tmp_path / "evalsets")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_without_a_mapping_says_which_mapping_to_write(tickets):
    result = runner.invoke(app, ["run", "tickets.csv", "--out", "out", "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: tickets.csv line 2: field 'id' is missing (each line needs 'id' and 'input'); the file has columns "
        'ticket_id, question, expected_answer, category, label, channel; map one with [columns] id = "ticket_id" '
        "or --map id=ticket_id\n"
    )
    bad = runner.invoke(app, ["run", "tickets.csv", "--map", "ticket=id"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --map 'ticket=id': unknown field 'ticket'; valid ")
    typo = runner.invoke(app, ["run", "tickets.csv", "--map", "id=ticket", "--map", "input=question"])
    assert typo.exit_code == 2
    assert typo.stderr.startswith("error: tickets.csv: --map id=ticket names a column the file does not have; ")
    assert not Path("out").exists()


@pytest.mark.slow
def test_run_reads_the_columns_table_of_the_config(tickets):
    config = (
        Path("routeeval.toml").read_text()
        + "\n[columns]\n"
        + "".join(f'{field} = "{column}"\n' for field, column in FOREIGN.items())
    )
    Path("mapped.toml").write_text(config, encoding="utf-8")
    result = runner.invoke(app, ["run", "tickets.csv", "--config", "mapped.toml", "--out", "out", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["evalset"]["rows"] == 350 and summary["chosen"]["router"]
    import pandas as pd

    outcomes = pd.read_parquet("out/outcomes.parquet")
    first = outcomes[outcomes["row_id"] == "sup-0001"].iloc[0]
    assert (first["intent"], json.loads(first["metadata"])) == ("plan_pricing", {"channel": "chat"})
    assert first["reference"].startswith("30 users on Business")


@pytest.mark.slow
def test_run_with_map_options_and_logs_in_routeevals_names_gives_the_demos_numbers(tickets, demo_run):
    """--map entries for every file fail on the demo logs (routeeval's names), saying how to scope them; scoped to
    the eval set, the run gives the demo's own numbers."""
    args = [
        "run",
        "tickets.csv",
        "--logs",
        "evalsets/support-logs.jsonl",
        "--out",
        "out",
        "--monthly-queries",
        "1000000",
    ]
    shared = ["id=ticket_id", "input=question", "reference=expected_answer", "intent=category"]
    failed = runner.invoke(app, [*args, *[word for m in shared for word in ("--map", m)]])
    assert failed.exit_code == 2
    assert failed.stderr == (
        "error: evalsets/support-logs.jsonl: --map id=ticket_id and --map input=question and --map intent=category "
        "name columns the file does not have; its columns: completion_tokens, cost_usd, id, input, latency_ms, "
        "messages, metadata, model, prompt_tokens, response, timestamp; to map them in the eval set only, write "
        "--map evalset.id=ticket_id --map evalset.input=question --map evalset.intent=category\n"
    )
    scoped = ["evalset.id=ticket_id", "evalset.input=question", "reference=expected_answer", "evalset.intent=category"]
    result = runner.invoke(app, [*args, *[word for m in scoped for word in ("--map", m)], "--json"])
    assert result.exit_code == 0, result.output
    mine = json.loads(result.stdout)
    demo = json.loads((demo_run / "summary.json").read_text())
    assert mine["chosen"] == demo["chosen"] and mine["single_tiers"] == demo["single_tiers"]


# --- logs with their own column names through sample and drift ---------------------------------------

LOG_RENAMES = {"id": "call_id", "input": "prompt", "timestamp": "created_at", "cost_usd": "spend_usd"}
LOG_MAPS = [f"{field}={column}" for field, column in LOG_RENAMES.items()]


def foreign_copy(source: Path, out: Path) -> Path:
    """The logs ``source`` (JSONL) with LOG_RENAMES' columns renamed, as CSV or Parquet (``out``'s suffix): JSON
    cells for messages and metadata, and a column of the team's own."""
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    names = list(dict.fromkeys(key for row in rows for key in row)) + ["region"]
    table = []
    for index, row in enumerate(rows):
        row = {**row, "region": "eu" if index % 3 else "us"}
        cells = {}
        for name in names:
            value = row.get(name)
            cells[LOG_RENAMES.get(name, name)] = (
                json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
            )
        table.append(cells)
    if out.suffix == ".csv":
        header = list(table[0])
        write_csv(out, header, [["" if row[h] is None else str(row[h]) for h in header] for row in table])
    else:
        import pandas as pd

        frame = pd.DataFrame(table)
        frame["messages"] = [json.loads(m) if isinstance(m, str) else None for m in frame["messages"]]  # a list
        frame.to_parquet(out, index=False)
    return out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sample_reads_logs_with_their_own_column_names(tmp_path, monkeypatch, suffix):
    monkeypatch.chdir(tmp_path)
    source = ROOT / "evalsets" / "support-logs.jsonl"
    foreign = foreign_copy(source, tmp_path / f"logs{suffix}")
    plain = runner.invoke(app, ["sample", str(source), "--n", "40", "--out", "plain.jsonl", "--stratify", "none"])
    assert plain.exit_code == 0, plain.output
    missing = runner.invoke(app, ["sample", str(foreign), "--n", "40", "--out", "x.jsonl"])
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"error: {foreign} {'line 2' if suffix == '.csv' else 'row 1'}: field 'input' ")
    assert 'map one with [columns.logs] input = "prompt" or --map logs.input=prompt' in missing.stderr
    maps = [word for m in LOG_MAPS for word in ("--map", m)]
    mapped = runner.invoke(
        app, ["sample", str(foreign), *maps, "--n", "40", "--out", "mapped.jsonl", "--stratify", "none"]
    )
    assert mapped.exit_code == 0, mapped.output
    ours = [json.loads(line) for line in Path("mapped.jsonl").read_text().splitlines()[1:]]
    theirs = [json.loads(line) for line in Path("plain.jsonl").read_text().splitlines()[1:]]
    assert [row["id"] for row in ours] == [row["id"] for row in theirs]  # the same draw
    for mine, plain_row in zip(ours, theirs, strict=True):
        region = mine["metadata"].pop("region")  # the extra column, kept in the sample's metadata
        assert region in ("eu", "us") and mine == plain_row


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_drift_reads_logs_with_their_own_column_names(demo_run, tmp_path, monkeypatch, suffix):
    """The free checks on the November logs read through a mapping give what they give on the logs as they are;
    the mapping comes from --map, or from the config's [columns.logs]."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(demo_run, tmp_path / "run")
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    source = ROOT / "evalsets" / "drift" / "support-logs-2026-11.jsonl"
    foreign = foreign_copy(source, tmp_path / f"nov{suffix}")
    common = ["drift", "run/policy.json", "--sample", "0", "--monthly-queries", "1000000"]
    plain = runner.invoke(app, [*common[:2], str(source), *common[2:], "--out", "plain"])
    assert plain.exit_code == 0, plain.output
    bad = runner.invoke(app, [*common[:2], str(foreign), *common[2:], "--map", "input=prompt", "--map", "model=llm"])
    assert bad.exit_code == 2 and bad.stderr.startswith(f"error: {foreign}: --map model=llm names a column the file ")
    maps = [word for m in LOG_MAPS for word in ("--map", m)]
    by_option = runner.invoke(app, [*common[:2], str(foreign), *common[2:], *maps, "--out", "option"])
    assert by_option.exit_code == 0, by_option.output
    config = (
        Path("routeeval.toml").read_text()
        + "\n[columns.logs]\n"
        + "".join(f'{field} = "{column}"\n' for field, column in LOG_RENAMES.items())
    )
    Path("mapped.toml").write_text(config, encoding="utf-8")
    by_config = runner.invoke(
        app, [*common[:2], str(foreign), *common[2:], "--config", "mapped.toml", "--out", "config"]
    )
    assert by_config.exit_code == 0, by_config.output

    def checks(folder: str) -> list:
        record = json.loads((tmp_path / folder / "drift.json").read_text())
        return [(c["id"], c["status"], c.get("details", {}).get("shares")) for c in record["checks"]]

    expected = checks("plain")
    assert checks("option") == expected and checks("config") == expected
    record = json.loads((tmp_path / "option" / "drift.json").read_text())
    assert record["verdict"] == json.loads((tmp_path / "plain" / "drift.json").read_text())["verdict"] == "ok"
