"""Loading and validating eval sets and logs: JSONL, CSV, Parquet, log adapters, and every error message."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ROOT, fifo_that_unblocks

from routeeval.data import EvalSet, Query, file_sha256, load_eval_set
from routeeval.errors import EXIT_BAD_INPUT, DataError
from routeeval.logs import LogSet, load_logs


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def error_of(load, path: Path) -> str:
    with pytest.raises(DataError) as info:
        load(path)
    assert info.value.exit_code == EXIT_BAD_INPUT
    return str(info.value)


# --- eval sets: happy paths -----------------------------------------------------------------------


def test_jsonl_eval_set_reads_every_field(tmp_path):
    path = write_jsonl(
        tmp_path / "support.jsonl",
        [
            {"id": "sup-0001", "input": "What is 2+2?", "reference": "4", "intent": "math", "label": "EASY"},
            {
                "id": 2,
                "input": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Capital of France?"},
                    {"role": "assistant", "content": "Paris."},
                    {"role": "user", "content": "And of Spain?"},
                ],
                "reference": ["Madrid", "madrid, spain"],
                "label": "hard",
                "scorer": "contains",
                "split": "Test",
                "metadata": {"source": "faq", "weight": 2},
                "difficulty": 0.7,
                "tags": ["geo"],
            },
            {"id": "sup-0003", "input": "How many legs has a spider?", "reference": 8},
        ],
    )
    evalset = load_eval_set(path)

    assert isinstance(evalset, EvalSet)
    assert evalset.path == str(path)
    assert evalset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == file_sha256(path)
    first, second, third = evalset.rows
    assert first == Query(
        row_id="sup-0001",
        messages=({"role": "user", "content": "What is 2+2?"},),
        reference="4",
        intent="math",
        label="easy",
        line=1,
    )
    assert first.text == "What is 2+2?"
    assert first.input_value == "What is 2+2?"

    assert second.row_id == "2"
    assert len(second.messages) == 4
    assert second.text == "And of Spain?"
    assert second.input_value == [dict(m) for m in second.messages]
    assert second.input_value[0] == {"role": "system", "content": "Be brief."}
    assert second.reference == ["Madrid", "madrid, spain"]
    assert (second.label, second.scorer, second.split) == ("hard", "contains", "test")
    assert second.metadata == {"source": "faq", "weight": 2, "difficulty": 0.7, "tags": ["geo"]}  # extras added
    assert second.extra == {"difficulty": 0.7, "tags": ["geo"]}
    assert second.intent is None
    assert second.line == 2

    assert third.reference == "8"
    assert third.metadata == {} and third.extra == {}


def test_blank_lines_are_skipped_but_counted_and_a_bom_is_tolerated(tmp_path):
    path = tmp_path / "evals.jsonl"
    lines = ['{"id": "a", "input": "one"}', "", "   ", '{"id": "b", "input": "two"}', ""]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    rows = load_eval_set(path).rows
    assert [(row.row_id, row.line) for row in rows] == [("a", 1), ("b", 4)]


def test_dot_json_files_are_read_as_json_lines(tmp_path):
    path = write_jsonl(tmp_path / "evals.json", [{"id": "a", "input": "hi"}])
    assert [row.row_id for row in load_eval_set(path).rows] == ["a"]


def test_csv_eval_set_decodes_json_cells_and_keeps_unknown_columns(tmp_path):
    path = tmp_path / "evals.csv"
    messages = json.dumps([{"role": "system", "content": "Terse."}, {"role": "user", "content": "Hi, you?"}])
    path.write_text(
        ",id,input,reference,label,metadata,team\n"
        '0,q1,"What is 6*7?","[""42"", ""forty-two""]",Easy,"{""src"": ""math""}",blue\n'
        '1,q2,"' + messages.replace('"', '""') + '",,,,\n'
        '2,q3,"Line one\nline two","[citation needed]",,,red\n'
        "\n"
        '3,q4,"[1, 2, 3] sorted?",7,hard,,\n',
        encoding="utf-8",
    )
    q1, q2, q3, q4 = load_eval_set(path).rows

    assert q1.text == "What is 6*7?"
    assert q1.reference == ["42", "forty-two"]
    assert q1.label == "easy"
    assert q1.metadata == {"src": "math", "team": "blue"}  # the extra column is added to the metadata
    assert q1.extra == {"team": "blue"}  # the unnamed pandas index column is dropped
    assert q1.line == 2

    assert q2.messages == ({"role": "system", "content": "Terse."}, {"role": "user", "content": "Hi, you?"})
    assert q2.reference is None and q2.label is None and q2.metadata == {} and q2.extra == {}

    assert q3.text == "Line one\nline two"
    assert q3.reference == "[citation needed]"  # not JSON: kept as written
    assert q3.line == 4

    assert q4.text == "[1, 2, 3] sorted?"
    assert q4.reference == "7"
    assert q4.line == 7  # the quoted newline and the blank line both count


def test_parquet_eval_set_with_chat_inputs_and_list_references(tmp_path):
    path = write_parquet(
        tmp_path / "evals.parquet",
        [
            {
                "id": "p1",
                "input": [{"role": "user", "content": "Hello?"}],
                "reference": ["hi", "hello"],
                "label": "easy",
                "metadata": {"lang": "en"},
                "score_hint": 1.5,
            },
            {
                "id": "p2",
                "input": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Help"}],
                "reference": None,
                "label": None,
                "metadata": None,
                "score_hint": None,
            },
        ],
    )
    evalset = load_eval_set(path)
    assert evalset.sha256 == file_sha256(path)
    p1, p2 = evalset.rows
    assert p1.messages == ({"role": "user", "content": "Hello?"},)
    assert p1.input_value == "Hello?"
    assert p1.reference == ["hi", "hello"]
    assert p1.metadata == {"lang": "en", "score_hint": 1.5}
    assert p1.extra == {"score_hint": 1.5}
    assert (p1.line, p2.line) == (1, 2)
    assert p2.text == "Help"
    assert (p2.reference, p2.label, p2.metadata, p2.extra) == (None, None, {}, {})


def test_parquet_string_inputs_and_int_ids(tmp_path):
    path = write_parquet(tmp_path / "evals.parquet", [{"id": 7, "input": "Why?", "split": "TRAIN"}])
    (row,) = load_eval_set(path).rows
    assert (row.row_id, row.text, row.split) == ("7", "Why?", "train")


@pytest.mark.slow
def test_importing_the_module_does_not_import_pandas_or_pyarrow():
    code = "import routeeval.data, sys; print(sorted({'pandas', 'pyarrow'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- eval sets: every error, verbatim -------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.jsonl"
    assert error_of(load_eval_set, path) == f"{path}: no such file"
    assert error_of(load_logs, path) == f"{path}: no such file"


def test_directory(tmp_path):
    assert error_of(load_eval_set, tmp_path) == (
        f"{tmp_path}: is a directory; expected an eval set file (.jsonl, .csv or .parquet)"
    )
    assert error_of(load_logs, tmp_path) == (  # a folder of logs is Parquet files or an OpenAI batch's files
        f"{tmp_path}: is a folder without .parquet, .jsonl or .json files; expected a folder of Parquet logs, "
        "or of an OpenAI batch's input and output files"
    )


def test_unsupported_extension(tmp_path):
    path = tmp_path / "evals.txt"
    path.write_text('{"id": "a", "input": "x"}\n')
    assert error_of(load_eval_set, path) == (
        f"{path}: cannot read '.txt' files; expected .jsonl, .json (JSON Lines), .csv or .parquet"
    )
    bare = tmp_path / "evals"
    bare.write_text("x")
    accepted = ".jsonl, .json (JSON Lines), .csv or .parquet"
    assert error_of(load_eval_set, bare) == f"{bare}: cannot read a file without an extension; expected {accepted}"


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "evals.jsonl"
    path.write_text(content, encoding="utf-8")
    assert error_of(load_eval_set, path) == f"{path}: the file is empty; expected one JSON object per line"
    assert error_of(load_logs, path) == f"{path}: the file is empty; expected one JSON object per line"


def test_bad_json(tmp_path):
    path = tmp_path / "evals.jsonl"
    path.write_text('{"id": "a", "input": "x"}\n\n{"id": "b" "input": "y"}\n')
    assert error_of(load_eval_set, path) == f"{path} line 3: not valid JSON (Expecting ',' delimiter at column 12)"


def test_pretty_printed_json_is_named_for_what_it_is(tmp_path):
    path = tmp_path / "evals.json"
    path.write_text(json.dumps([{"id": "a", "input": "x"}], indent=2))
    assert error_of(load_eval_set, path) == (
        f"{path}: holds a single multi-line JSON array; expected one JSON object per line (JSON Lines)"
    )


def test_json_that_is_not_an_object(tmp_path):
    path = tmp_path / "evals.jsonl"
    path.write_text('{"id": "a", "input": "x"}\n[{"id": "b", "input": "y"}]\n')
    assert error_of(load_eval_set, path) == f"{path} line 2: expected a JSON object, got list"


def test_missing_input_on_line_14(tmp_path):
    rows = [{"id": f"sup-{i:04d}", "input": f"question {i}"} for i in range(13)] + [{"id": "sup-0013"}]
    path = write_jsonl(tmp_path / "support.jsonl", rows)
    assert error_of(load_eval_set, path) == (
        f"{path} line 14: field 'input' is missing; each line needs 'id' and 'input'."
    )


def test_missing_id(tmp_path):
    path = write_jsonl(tmp_path / "evals.jsonl", [{"input": "x"}])
    assert error_of(load_eval_set, path) == (
        f"{path} line 1: field 'id' is missing (each line needs 'id' and 'input'); the file has columns input; "
        'map the column that holds it with [columns] id = "COLUMN" or --map id=COLUMN'
    )


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"id": "a", "input": "x", "reference": {"a": 1}},
            "field 'reference' must be a string or a list of strings, got dict",
        ),
        (
            {"id": "a", "input": "x", "reference": True},
            "field 'reference' must be a string or a list of strings, got bool",
        ),
        (
            {"id": "a", "input": "x", "reference": []},
            "field 'reference' must be a string or a list of strings, got an empty list",
        ),
        (
            {"id": "a", "input": "x", "reference": ["ok", None]},
            "field 'reference' must be a string or a list of strings, got a list holding null",
        ),
        ({"id": 1.5, "input": "x"}, "field 'id' must be a non-empty string, got float"),
        ({"id": "  ", "input": "x"}, "field 'id' must be a non-empty string, got an empty string"),
        ({"id": "a", "input": 42}, "field 'input' must be a string or a list of chat messages, got int"),
        ({"id": "a", "input": None}, "field 'input' must be a string or a list of chat messages, got null"),
        ({"id": "a", "input": "x", "intent": 3}, "field 'intent' must be a string, got int"),
        ({"id": "a", "input": "x", "scorer": ["exact"]}, "field 'scorer' must be a string, got list"),
        ({"id": "a", "input": "x", "metadata": ["a"]}, "field 'metadata' must be an object, got list"),
    ],
)
def test_wrong_types_on_line_5(tmp_path, row, message):
    rows = [{"id": f"ok-{i}", "input": "fine"} for i in range(4)] + [row]
    path = write_jsonl(tmp_path / "evals.jsonl", rows)
    assert error_of(load_eval_set, path) == f"{path} line 5: {message}"


def test_duplicate_id(tmp_path):
    path = tmp_path / "support.jsonl"
    lines = [json.dumps({"id": f"sup-{i:04d}", "input": "q"}) for i in (1, 3, 4, 5, 6, 7, 8, 9)]
    lines.append(json.dumps({"id": "sup-0003", "input": "again"}))
    path.write_text("\n".join(lines) + "\n")
    assert error_of(load_eval_set, path) == f"{path} line 9: field 'id' duplicates 'sup-0003' first seen on line 2"


def test_int_and_string_ids_collide(tmp_path):
    path = write_jsonl(tmp_path / "evals.jsonl", [{"id": 3, "input": "a"}, {"id": "3", "input": "b"}])
    assert error_of(load_eval_set, path) == f"{path} line 2: field 'id' duplicates '3' first seen on line 1"


def test_non_utf8_bytes_name_the_line_and_column(tmp_path):
    path = tmp_path / "evals.jsonl"
    good = b'{"id": "a", "input": "x"}\n'
    path.write_bytes(good * 3 + b'{"input": "\xff", "id": "d"}\n' + good)
    assert error_of(load_eval_set, path) == f"{path} line 4: not valid UTF-8 (byte 0xff at column 12)"
    path.write_bytes(b"\xef\xbb\xbf" + good + b"\n\n" + b'{"id": "\xfe"}\n')  # blank lines and a BOM
    assert error_of(load_logs, path) == f"{path} line 4: not valid UTF-8 (byte 0xfe at column 9)"


@pytest.mark.parametrize(
    ("field_values", "message"),
    [
        ({"label": "medium"}, "field 'label' must be 'easy' or 'hard', got 'medium'"),
        ({"label": 1}, "field 'label' must be 'easy' or 'hard', got 1"),
        ({"split": "dev"}, "field 'split' must be 'train' or 'test', got 'dev'"),
        (
            {"input": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "yo"}]},
            "field 'input[1].role' must be one of system, user, assistant, tool, got 'bot'",
        ),
        (
            {"input": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}]},
            "field 'input[0].role' must be one of system, user, assistant, tool, got 'developer'",
        ),
        (
            {"input": [{"content": "hi"}]},
            "field 'input[0].role' is missing; each message needs 'role' and 'content'.",
        ),
        (
            {"input": [{"role": "user"}]},
            "field 'input[0].content' is missing; each message needs 'role' and 'content'.",
        ),
        (
            {"input": [{"role": "user", "content": None}]},
            "field 'input[0].content' must be a string, got null",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
            "field 'input[0].content' must be a string, got list",
        ),
        (
            {"input": ["hello"]},
            "field 'input[0]' must be a chat message object with 'role' and 'content', got str",
        ),
        (
            {"input": [{"role": "system", "content": "You are helpful."}]},
            "field 'input' has no message with role 'user'; expected at least one",
        ),
        (
            {"input": [{"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]},
            "field 'input' ends with an assistant turn; routeeval would send it to every tier as a prefill to "
            "continue. End 'input' with the turn to answer and put the expected answer in 'reference'.",
        ),
        ({"input": ""}, "field 'input' is empty; expected a non-empty string or a list of chat messages"),
        ({"input": " \n "}, "field 'input' is empty; expected a non-empty string or a list of chat messages"),
        ({"input": []}, "field 'input' is empty; expected a non-empty string or a list of chat messages"),
    ],
)
def test_bad_values(tmp_path, field_values, message):
    path = write_jsonl(
        tmp_path / "evals.jsonl", [{"id": "a", "input": "ok"}, {"id": "b", "input": "x", **field_values}]
    )
    assert error_of(load_eval_set, path) == f"{path} line 2: {message}"


def test_unreadable_parquet(tmp_path):
    path = tmp_path / "evals.parquet"
    path.write_text("id,input\na,b\n")
    message = error_of(load_eval_set, path)
    assert message.startswith(f"{path}: not a readable Parquet file (")
    assert message.endswith(")")
    assert "\n" not in message


def test_parquet_errors_name_the_row(tmp_path):
    path = write_parquet(
        tmp_path / "evals.parquet",
        [{"id": "a", "input": "x", "label": None}, {"id": "b", "input": None, "label": "hard"}],
    )
    assert error_of(load_eval_set, path) == f"{path} row 2: field 'input' is missing; each row needs 'id' and 'input'."
    path = write_parquet(tmp_path / "dup.parquet", [{"id": "a", "input": "x"}, {"id": "a", "input": "y"}])
    assert error_of(load_eval_set, path) == f"{path} row 2: field 'id' duplicates 'a' first seen on row 1"
    path = write_parquet(tmp_path / "label.parquet", [{"id": "a", "input": "x", "label": "meh"}])
    assert error_of(load_eval_set, path) == f"{path} row 1: field 'label' must be 'easy' or 'hard', got 'meh'"


def test_parquet_with_no_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "evals.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.string()), "input": pa.array([], pa.string())}), path)
    assert error_of(load_eval_set, path) == f"{path}: the file has no rows"


def test_csv_errors_count_physical_lines_with_the_header_as_line_1(tmp_path):
    path = tmp_path / "evals.csv"
    path.write_text('id,input\na,"multi\nline"\nb,ok\n\nb,again\n')
    assert error_of(load_eval_set, path) == f"{path} line 6: field 'id' duplicates 'b' first seen on line 4"

    path.write_text("id,input,label\na,x,easy\nb,y,so-so\n")
    assert error_of(load_eval_set, path) == f"{path} line 3: field 'label' must be 'easy' or 'hard', got 'so-so'"

    path.write_text("id,input\na,x\nb,\n")
    assert (
        error_of(load_eval_set, path) == f"{path} line 3: field 'input' is missing; each line needs 'id' and 'input'."
    )

    path.write_text("id,input,metadata\na,x,not json\n")
    assert error_of(load_eval_set, path) == f"{path} line 2: field 'metadata' must be a JSON object, got 'not json'"

    path.write_text('id,input\na,"[{""role"": ""bot"", ""content"": ""x""}]"\n')
    assert error_of(load_eval_set, path) == (
        f"{path} line 2: field 'input[0].role' must be one of system, user, assistant, tool, got 'bot'"
    )


def test_csv_shape_errors(tmp_path):
    path = tmp_path / "evals.csv"
    path.write_text("id,input\na,x\nb,y,extra\n")
    assert error_of(load_eval_set, path) == f"{path} line 3: has 3 cells but the header (line 1) names 2 columns"

    path.write_text("id,input,id\na,x,b\n")
    assert error_of(load_eval_set, path) == f"{path} line 1: column 'id' appears twice in the header"

    path.write_text("id,input\n\n")
    assert error_of(load_eval_set, path) == f"{path} line 1: the file has a header but no rows"

    path.write_text("\n \n")
    assert error_of(load_eval_set, path) == (
        f"{path}: the file is empty; expected a header line naming the columns, then one row per line"
    )

    path.write_bytes(b"id,input\na,x\nb,caf\xe9\n")
    assert error_of(load_eval_set, path) == f"{path} line 3: not valid UTF-8 (byte 0xe9 at column 6)"


# --- logs -----------------------------------------------------------------------------------------


def test_native_logs(tmp_path):
    path = write_jsonl(
        tmp_path / "logs.jsonl",
        [
            {
                "id": "req-1",
                "timestamp": "2025-03-01T12:00:00Z",
                "input": "Reset my password",
                "model": "gpt-4o-mini",
                "response": "Go to settings.",
                "prompt_tokens": 12,
                "completion_tokens": 5,
                "cost_usd": 0.00012,
                "latency_ms": 350,
                "metadata": {"team": "support"},
                "user": "u-9",
            },
            {"messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}]},
            {"input": "no id either", "prompt_tokens": 3.0},
        ],
    )
    logs = load_logs(path)
    assert isinstance(logs, LogSet)
    assert logs.sha256 == file_sha256(path)
    first, second, third = logs.records
    assert first.query.row_id == "req-1"
    assert first.query.text == "Reset my password"
    assert first.query.metadata == {"team": "support", "user": "u-9"}
    assert first.query.extra == {"user": "u-9"}
    assert first.query.reference is None
    assert (first.timestamp, first.model, first.response) == (
        "2025-03-01T12:00:00Z",
        "gpt-4o-mini",
        "Go to settings.",
    )
    assert (first.prompt_tokens, first.completion_tokens) == (12, 5)
    assert first.cost_usd == pytest.approx(0.00012)
    assert first.latency_ms == 350.0 and isinstance(first.latency_ms, float)

    assert second.query.row_id == "log-2"
    assert second.query.messages[0] == {"role": "system", "content": "Be brief."}
    assert second.timestamp is None and second.model is None and second.cost_usd is None
    assert third.query.row_id == "log-3"
    assert third.prompt_tokens == 3 and isinstance(third.prompt_tokens, int)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"id": "x"},
            "field 'input' is missing (each line needs 'input' or 'messages'); the file has columns id; map the "
            'column that holds it with [columns.logs] input = "COLUMN" or --map logs.input=COLUMN',
        ),
        (
            {"input": "q", "timestamp": "yesterday"},
            "field 'timestamp' must be an ISO 8601 date and time, got 'yesterday'",
        ),
        (
            {"input": "q", "timestamp": 1700000000},
            "field 'timestamp' must be an ISO 8601 date and time, got int",
        ),
        ({"input": "q", "cost_usd": -0.5}, "field 'cost_usd' must be a non-negative number, got -0.5"),
        ({"input": "q", "cost_usd": "0.1"}, "field 'cost_usd' must be a non-negative number, got '0.1'"),
        ({"input": "q", "latency_ms": True}, "field 'latency_ms' must be a non-negative number, got bool"),
        (
            {"input": "q", "prompt_tokens": 1.5},
            "field 'prompt_tokens' must be a non-negative integer, got 1.5",
        ),
        (
            {"input": "q", "completion_tokens": -1},
            "field 'completion_tokens' must be a non-negative integer, got -1",
        ),
        ({"input": "q", "response": {"text": "hi"}}, "field 'response' must be a string, got dict"),
        ({"input": "q", "model": 4}, "field 'model' must be a string, got int"),
        ({"input": "q", "metadata": "team=a"}, "field 'metadata' must be an object, got str"),
        (
            {"messages": [{"role": ["user"], "content": "x"}]},
            "field 'messages[0].role' must be one of system, user, assistant, tool, got list",
        ),
        (
            {"messages": [{"role": "narrator", "content": "x"}]},
            "field 'messages[0].role' must be one of system, user, assistant, tool, got 'narrator'",
        ),
    ],
)
def test_native_log_errors(tmp_path, record, message):
    path = write_jsonl(tmp_path / "logs.jsonl", [{"input": "fine"}, record])
    assert error_of(load_logs, path) == f"{path} line 2: {message}"


def test_log_ids_must_be_unique(tmp_path):
    path = write_jsonl(tmp_path / "logs.jsonl", [{"id": "r", "input": "a"}, {"input": "b"}, {"id": "r", "input": "c"}])
    assert error_of(load_logs, path) == f"{path} line 3: field 'id' duplicates 'r' first seen on line 1"


def test_openai_nested_records(tmp_path):
    record = {
        "request": {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [{"type": "text", "text": "Sum 2 and 3"}]},
            ],
            "temperature": 0,
        },
        "response": {
            "id": "chatcmpl-abc",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "5"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 1, "total_tokens": 22},
        },
        "cost_usd": 0.00001,
    }
    path = write_jsonl(tmp_path / "openai.jsonl", [record])
    (log,) = load_logs(path).records
    assert log.query.row_id == "chatcmpl-abc"
    assert log.query.text == "Sum 2 and 3"
    assert log.model == "gpt-4o-mini"  # the model asked for, not the dated snapshot
    assert log.response == "5"
    assert (log.prompt_tokens, log.completion_tokens) == (21, 1)
    assert log.timestamp == datetime.fromtimestamp(1700000000, UTC).isoformat() == "2023-11-14T22:13:20+00:00"
    assert log.cost_usd == pytest.approx(0.00001)
    assert log.latency_ms is None


def test_openai_flat_records(tmp_path):
    record = {
        "id": "chatcmpl-flat",
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": None, "tool_calls": []},
        ],
        "choices": [{"message": {"role": "assistant", "content": "Hi there"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3},
        "created": 1700000000.5,
        "latency_ms": 812.5,
    }
    path = write_jsonl(tmp_path / "openai.jsonl", [record, {**record, "id": "chatcmpl-2", "choices": []}])
    first, second = load_logs(path).records
    assert first.query.row_id == "chatcmpl-flat"
    assert first.query.messages == ({"role": "user", "content": "Hello"},)  # the empty trailing turn is not sent
    assert first.response == "Hi there"
    assert (first.prompt_tokens, first.completion_tokens, first.latency_ms) == (5, 3, 812.5)
    assert first.timestamp.startswith("2023-11-14T22:13:20.5")
    assert second.response is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {
                "request": {"messages": [{"role": "user", "content": "q"}]},
                "response": {"usage": {"prompt_tokens": -2}},
            },
            "field 'response.usage.prompt_tokens' must be a non-negative integer, got -2",
        ),
        (
            {"request": {"messages": [{"role": "user", "content": "q"}]}, "response": {"choices": {"0": {}}}},
            "field 'response.choices' must be a list, got dict",
        ),
        (
            {
                "request": {"messages": [{"role": "user", "content": "q"}]},
                "response": {"choices": [{"message": {"content": 5}}]},
            },
            "field 'response.choices[0].message.content' must be a string, got int",
        ),
        (
            {"request": ["gpt-4o"]},
            "field 'request' must be an object holding 'model' and 'messages', got list",
        ),
        ({"request": {"model": "m"}}, "field 'input' is missing; each line needs 'input' or 'messages'."),
        (
            {"request": {"messages": [{"role": "user", "content": "q"}]}, "response": "hello"},
            "field 'response' must be a chat completion object with 'choices' and 'usage', got str",
        ),
        (
            {"messages": [{"role": "user", "content": "q"}], "choices": [], "created": "today"},
            "field 'created' must be a Unix time in seconds, got 'today'",
        ),
        (
            {"request": {"messages": [{"role": "tool", "content": "q"}]}},
            "field 'request.messages' has no message with role 'user'; expected at least one",
        ),
    ],
)
def test_openai_errors_name_the_nested_field(tmp_path, record, message):
    path = write_jsonl(tmp_path / "openai.jsonl", [record])
    assert error_of(load_logs, path) == f"{path} line 1: {message}"


LITELLM_ROW = {
    "request_id": "chatcmpl-9f2",
    "call_type": "acompletion",
    "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
    "spend": 0.000325,
    "total_tokens": 160,
    "prompt_tokens": 120,
    "completion_tokens": 40,
    "startTime": "2025-03-01T12:00:00.000Z",
    "endTime": "2025-03-01T12:00:01.250Z",
    "completionStartTime": "2025-03-01T12:00:00.400Z",
    "model": "gpt-4o-mini",
    "model_group": "small",
    "api_base": "https://api.openai.com/v1",
    "user": "",
    "metadata": json.dumps({"user_api_key_team_id": "team-a", "requester_ip_address": ""}),
    "cache_hit": "False",
    "request_tags": "[]",
    "messages": json.dumps([{"role": "user", "content": "Where is my order?"}]),
    "response": json.dumps(
        {
            "id": "chatcmpl-9f2",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "It ships today."}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40},
        }
    ),
    "status": "success",
}


def test_litellm_spend_log_rows(tmp_path):
    body = {"model": "small", "messages": [{"role": "user", "content": "Refund please"}]}
    second = {
        **LITELLM_ROW,
        "request_id": "chatcmpl-a01",
        "messages": "{}",
        "proxy_server_request": json.dumps(body),
        "response": "Refund issued.",
        "startTime": "2025-03-01 12:05:00",
        "endTime": "2025-03-01 12:05:00.5",
        "metadata": {},
    }
    third = {
        **LITELLM_ROW,
        "request_id": "resp-7",
        "call_type": "aresponses",
        "messages": {},
        "proxy_server_request": {"model": "small", "input": "Summarise this"},
        "response": {
            "object": "response",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "A summary."}]}],
        },
        "endTime": None,
        "request_duration_ms": 900,
        "model": "",
    }
    path = write_jsonl(tmp_path / "spend_logs.jsonl", [LITELLM_ROW, second, third])
    first, second_log, third_log = load_logs(path).records

    assert first.query.row_id == "chatcmpl-9f2"
    assert first.query.text == "Where is my order?"
    metadata = first.query.metadata  # litellm's own metadata; the row's other columns stay in extra
    assert {key: metadata[key] for key in ("user_api_key_team_id", "requester_ip_address")} == {
        "user_api_key_team_id": "team-a",
        "requester_ip_address": "",
    }
    assert not {"call_type", "status", "api_key"} & set(metadata)  # litellm's bookkeeping stays out of metadata
    assert first.query.extra["call_type"] == "acompletion"
    assert first.query.extra["status"] == "success"
    assert first.timestamp == "2025-03-01T12:00:00.000Z"
    assert first.model == "gpt-4o-mini"
    assert first.response == "It ships today."
    assert (first.prompt_tokens, first.completion_tokens) == (120, 40)
    assert first.cost_usd == pytest.approx(0.000325)
    assert first.latency_ms == pytest.approx(1250.0)

    assert second_log.query.text == "Refund please"
    assert second_log.response == "Refund issued."
    assert second_log.latency_ms == pytest.approx(500.0)
    assert not any(key.startswith("user_api_key") for key in second_log.query.metadata)  # its metadata was null

    assert third_log.query.text == "Summarise this"
    assert third_log.response == "A summary."
    assert third_log.latency_ms == 900.0
    assert third_log.model is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"messages": "{}", "proxy_server_request": "{}"},
            "field 'messages' is empty and proxy_server_request holds no prompt; "
            "expected stored prompts (litellm's store_prompts_in_spend_logs setting)",
        ),
        (
            {"endTime": "2025-03-01T11:59:59Z"},
            "field 'endTime' is before 'startTime' (2025-03-01T11:59:59Z < 2025-03-01T12:00:00.000Z)",
        ),
        ({"startTime": "noon"}, "field 'startTime' must be an ISO 8601 date and time, got 'noon'"),
        ({"spend": -1}, "field 'spend' must be a non-negative number, got -1"),
        ({"prompt_tokens": "many"}, "field 'prompt_tokens' must be a non-negative integer, got 'many'"),
        ({"request_id": ""}, "field 'request_id' must be a non-empty string, got an empty string"),
        ({"response": "[1, 2]"}, None),  # plain text that looks like JSON is kept as text
        ({"response": 7}, "field 'response' must be a string or a chat completion object, got int"),
        ({"metadata": "[]"}, "field 'metadata' must be an object, got list"),
    ],
)
def test_litellm_errors_name_the_spend_log_column(tmp_path, changes, message):
    path = write_jsonl(tmp_path / "spend_logs.jsonl", [{**LITELLM_ROW, **changes}])
    if message is None:
        assert load_logs(path).records[0].response == "[1, 2]"
    else:
        assert error_of(load_logs, path) == f"{path} line 1: {message}"


def test_litellm_csv_export(tmp_path):
    path = tmp_path / "spend_logs.csv"
    columns = ["request_id", "spend", "prompt_tokens", "completion_tokens", "startTime", "endTime", "model"]
    columns += ["messages", "response", "metadata"]
    path.write_text(
        ",".join(columns)
        + "\n"
        + "r1,0.002,100,20,2025-03-01 12:00:00+00:00,2025-03-01 12:00:02+00:00,gpt-4o,"
        + '"[{""role"": ""user"", ""content"": ""Hi""}]","Hello!","{""team"": ""a""}"\n'
        + "r2,abc,1,1,2025-03-01 12:00:00,2025-03-01 12:00:00,gpt-4o,Hi again,,\n"
    )
    with pytest.raises(DataError) as info:
        load_logs(path)
    assert str(info.value) == f"{path} line 3: field 'spend' must be a non-negative number, got 'abc'"

    path.write_text(path.read_text().replace("r2,abc,", "r2,0,"))
    first, second = load_logs(path).records
    assert (first.query.row_id, first.query.text, first.response) == ("r1", "Hi", "Hello!")
    assert (first.cost_usd, first.prompt_tokens, first.latency_ms) == (0.002, 100, 2000.0)
    assert first.query.metadata == {"team": "a"}
    assert (second.query.text, second.response, second.cost_usd, second.latency_ms) == (
        "Hi again",
        None,
        0.0,
        0.0,
    )


def test_litellm_parquet_export_with_timestamp_columns(tmp_path):
    start = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    end = datetime(2025, 3, 1, 12, 0, 0, 750000, tzinfo=UTC)
    row = {**LITELLM_ROW, "startTime": start, "endTime": end, "completionStartTime": None}
    path = write_parquet(tmp_path / "spend_logs.parquet", [row, {**row, "request_id": "r2"}])
    first, second = load_logs(path).records
    assert first.timestamp == "2025-03-01T12:00:00+00:00"
    assert first.latency_ms == pytest.approx(750.0)
    assert first.response == "It ships today."
    assert second.query.row_id == "r2" and second.query.line == 2


def test_native_logs_from_csv_and_parquet(tmp_path):
    csv_path = tmp_path / "logs.csv"
    csv_path.write_text(
        "timestamp,input,model,response,prompt_tokens,cost_usd,latency_ms\n"
        "2025-03-01T00:00:00,What now?,small,Wait.,7,0.5,120.5\n"
    )
    (log,) = load_logs(csv_path).records
    assert (log.query.row_id, log.query.text, log.prompt_tokens, log.cost_usd, log.latency_ms) == (
        "log-2",
        "What now?",
        7,
        0.5,
        120.5,
    )
    parquet_path = write_parquet(
        tmp_path / "logs.parquet",
        [
            {"input": "a", "cost_usd": 0.25},
            {"input": "b", "cost_usd": None},
            {"input": "c", "cost_usd": -1.0},
        ],
    )
    assert error_of(load_logs, parquet_path) == (
        f"{parquet_path} row 3: field 'cost_usd' must be a non-negative number, got -1.0"
    )


# --- logs: a trailing assistant turn is production's answer, never part of the prompt -------------

SYSTEM = {"role": "system", "content": "Be brief."}
ASK = {"role": "user", "content": "Capital of France?"}
ANSWER = {"role": "assistant", "content": "Paris."}


@pytest.mark.parametrize("key", ["messages", "input"])
def test_a_logged_conversation_ending_in_the_answer_is_split_into_prompt_and_response(tmp_path, key):
    path = write_jsonl(tmp_path / "logs.jsonl", [{"id": "c1", key: [SYSTEM, ASK, ANSWER], "model": "gpt-4o"}])
    (log,) = load_logs(path).records
    assert log.query.messages == (SYSTEM, ASK)
    assert log.response == "Paris."
    assert log.query.text == "Capital of France?"


def test_an_explicit_response_wins_over_the_trailing_turn_which_is_still_not_sent(tmp_path):
    rows = [
        {"id": "same", "messages": [ASK, ANSWER], "response": "Paris."},
        {"id": "differ", "messages": [ASK, ANSWER], "response": "Paris, on the Seine."},
        {"id": "empty", "messages": [ASK, ANSWER], "response": ""},
    ]
    same, differ, empty = load_logs(write_jsonl(tmp_path / "logs.jsonl", rows)).records
    assert same.query.messages == differ.query.messages == empty.query.messages == (ASK,)
    assert (same.response, differ.response) == ("Paris.", "Paris, on the Seine.")
    assert empty.response == "Paris."  # an empty response field counts as absent


def test_multi_turn_history_keeps_its_earlier_assistant_turns(tmp_path):
    tool_call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    history = [
        SYSTEM,
        ASK,
        {"role": "assistant", "content": None, "tool_calls": [tool_call]},
        {"role": "tool", "content": "Paris", "tool_call_id": "call_1"},
        ANSWER,
        {"role": "user", "content": "And of Spain?"},
    ]
    path = write_jsonl(tmp_path / "logs.jsonl", [{"messages": [*history, {"role": "assistant", "content": "Madrid."}]}])
    (log,) = load_logs(path).records
    assert log.query.messages == (
        SYSTEM,
        ASK,
        {"role": "assistant", "content": "", "tool_calls": [tool_call]},
        history[3],
        ANSWER,
        history[5],
    )
    assert log.response == "Madrid."
    assert log.query.input_value == [dict(message) for message in log.query.messages]


def test_every_trailing_assistant_turn_is_taken_off_and_their_texts_joined(tmp_path):
    tool_call = {"id": "call_9", "type": "function", "function": {"name": "refund", "arguments": "{}"}}
    rows = [
        {"messages": [ASK, {"role": "assistant", "content": "Paris."}, {"role": "assistant", "content": "It is."}]},
        {"messages": [ASK, {"role": "assistant", "content": None, "tool_calls": [tool_call]}]},
        {"messages": [ASK, {"role": "assistant", "content": "Let me check.", "tool_calls": [tool_call]}]},
        {"messages": [ASK, {"role": "assistant", "content": [{"type": "text", "text": "Par"}, {"text": "is."}]}]},
    ]
    joined, tool_only, tool_and_text, parts = load_logs(write_jsonl(tmp_path / "logs.jsonl", rows)).records
    for log in (joined, tool_only, tool_and_text, parts):
        assert log.query.messages == (ASK,)
    assert joined.response == "Paris.\nIt is."
    assert tool_only.response is None  # production answered with a tool call: no text to compare against
    assert tool_and_text.response == "Let me check."
    assert parts.response == "Par\nis."


@pytest.mark.parametrize(
    ("messages", "field_name"),
    [
        ([SYSTEM, ANSWER], "messages"),
        ([ANSWER, ANSWER], "messages"),
    ],
)
def test_a_log_with_no_user_turn_before_the_answer_is_an_error(tmp_path, messages, field_name):
    path = write_jsonl(tmp_path / "logs.jsonl", [{"input": "fine"}, {"messages": messages}])
    assert error_of(load_logs, path) == (
        f"{path} line 2: field '{field_name}' has no message with role 'user'; expected at least one"
    )


def test_openai_records_never_carry_the_answer_in_the_prompt(tmp_path):
    nested = {
        "request": {"model": "gpt-4o-mini", "messages": [SYSTEM, ASK, ANSWER]},
        "response": {"id": "chatcmpl-n", "choices": [{"message": {"role": "assistant", "content": "Paris!"}}]},
    }
    flat = {"id": "chatcmpl-f", "messages": [ASK, ANSWER], "choices": [], "usage": {"prompt_tokens": 4}}
    nested_log, flat_log = load_logs(write_jsonl(tmp_path / "openai.jsonl", [nested, flat])).records
    assert nested_log.query.messages == (SYSTEM, ASK)
    assert nested_log.response == "Paris!"  # the completion's choice is the explicit answer
    assert flat_log.query.messages == (ASK,)
    assert flat_log.response == "Paris."  # no choice to take it from: the trailing turn is the answer
    assert flat_log.prompt_tokens == 4


def test_litellm_spend_logs_never_carry_the_answer_in_the_prompt(tmp_path):
    in_messages = {**LITELLM_ROW, "messages": json.dumps([SYSTEM, ASK, ANSWER]), "response": "{}"}
    in_request = {
        **LITELLM_ROW,
        "request_id": "chatcmpl-b",
        "messages": "{}",
        "proxy_server_request": json.dumps({"model": "small", "messages": [ASK, ANSWER]}),
    }
    first, second = load_logs(write_jsonl(tmp_path / "spend_logs.jsonl", [in_messages, in_request])).records
    assert first.query.messages == (SYSTEM, ASK)
    assert first.response == "Paris."
    assert second.query.messages == (ASK,)
    assert second.response == "It ships today."  # the stored response wins


def test_csv_and_parquet_logs_split_the_answer_too(tmp_path):
    csv_path = tmp_path / "logs.csv"
    cell = json.dumps([ASK, ANSWER]).replace('"', '""')
    csv_path.write_text(f'id,messages\nr1,"{cell}"\n', encoding="utf-8")
    (csv_log,) = load_logs(csv_path).records
    assert (csv_log.query.messages, csv_log.response) == ((ASK,), "Paris.")
    parquet_path = write_parquet(tmp_path / "logs.parquet", [{"id": "p1", "messages": [ASK, ANSWER]}])
    (parquet_log,) = load_logs(parquet_path).records
    assert (parquet_log.query.messages, parquet_log.response) == ((ASK,), "Paris.")


# --- hostile files: one line naming file, line and field; never a hang or a traceback -------------

TOO_DEEP = "is nested more than 64 levels deep; expected at most 64 levels of lists and objects"
DEEP_TEXT = "[" * 100_000 + "]" * 100_000  # json.loads runs out of stack on this


def nested(levels: int):
    """A value with ``levels`` levels of lists around a string."""
    value = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("name", ["evals.jsonl", "evals.csv", "evals.parquet"])
def test_a_named_pipe_is_refused_before_it_is_opened(tmp_path, name):
    with fifo_that_unblocks(tmp_path / name) as path:
        assert error_of(load_eval_set, path) == (
            f"{path}: is not a regular file (a named pipe); expected an eval set file (.jsonl, .csv or .parquet)"
        )
        assert error_of(load_logs, path) == (
            f"{path}: is not a regular file (a named pipe); expected a log file (.jsonl, .csv or .parquet)"
        )


def test_a_device_is_refused_even_behind_a_data_file_name(tmp_path):
    path = tmp_path / "evals.jsonl"
    path.symlink_to("/dev/null")  # /dev/zero, /dev/stdin and /dev/urandom are devices too, never ending or waiting
    assert error_of(load_eval_set, path) == (
        f"{path}: is not a regular file (a character device); expected an eval set file (.jsonl, .csv or .parquet)"
    )


def test_a_path_that_cannot_be_looked_at_says_why(tmp_path):
    path = tmp_path / "evals.jsonl"
    path.symlink_to(path)  # a link to itself
    assert error_of(load_eval_set, path) == f"{path}: cannot be read (Too many levels of symbolic links)"


@pytest.mark.parametrize("load", [load_eval_set, load_logs])
def test_json_too_deep_to_decode_names_the_line_and_field(tmp_path, load):
    path = tmp_path / "evals.jsonl"
    path.write_text(
        '{"id": "a", "input": "hi"}\n{"id": "b", "input": "hi", "note": "x", "metadata": {"x": ' + DEEP_TEXT + "}}\n"
    )
    assert error_of(load, path) == f"{path} line 2: field 'metadata' {TOO_DEEP}"


def test_a_json_document_too_deep_to_decode(tmp_path):
    one_line = tmp_path / "evals.json"
    one_line.write_text(DEEP_TEXT)
    assert error_of(load_eval_set, one_line) == f"{one_line} line 1: {TOO_DEEP}"
    pretty = tmp_path / "pretty.json"
    pretty.write_text('{\n  "id": "a",\n  "input": ' + DEEP_TEXT + "\n}\n")
    assert error_of(load_eval_set, pretty) == (
        f"{pretty} line 1: not valid JSON (Expecting property name enclosed in double quotes at column 2)"
    )


@pytest.mark.parametrize(
    ("extra", "field_name"),
    [
        ({"metadata": {"a": nested(64)}}, "metadata"),
        ({"tags": nested(65)}, "tags"),
        ({"input": [{"role": "user", "content": "hi", "tool_calls": nested(64)}]}, "input"),
    ],
)
def test_a_field_nested_past_64_levels_is_refused_at_load(tmp_path, extra, field_name):
    path = write_jsonl(tmp_path / "evals.jsonl", [{"id": "a", "input": "hi", **extra}])
    assert error_of(load_eval_set, path) == f"{path} line 1: field '{field_name}' {TOO_DEEP}"
    assert error_of(load_logs, path) == f"{path} line 1: field '{field_name}' {TOO_DEEP}"


def test_64_levels_are_still_read(tmp_path):
    path = write_jsonl(tmp_path / "evals.jsonl", [{"id": "a", "input": "hi", "metadata": {"a": nested(63)}}])
    assert load_eval_set(path).rows[0].metadata == {"a": nested(63)}


def test_log_adapters_name_the_nested_field_too_deep(tmp_path):
    deep_prompt = [{"role": "user", "content": "hi", "x": nested(64)}]
    openai = {"request": {"model": "small", "messages": deep_prompt}, "response": {"choices": []}}
    path = write_jsonl(tmp_path / "logs.jsonl", [openai])
    assert error_of(load_logs, path) == f"{path} line 1: field 'request.messages' {TOO_DEEP}"
    litellm = {**LITELLM_ROW, "messages": "[" + DEEP_TEXT + "]"}  # a JSON column stored as text
    path = write_jsonl(tmp_path / "spend_logs.jsonl", [litellm])
    assert error_of(load_logs, path) == f"{path} line 1: field 'messages' {TOO_DEEP}"


@pytest.mark.parametrize(
    ("column", "cell"),
    [("metadata", '{"x": ' + DEEP_TEXT + "}"), ("input", DEEP_TEXT), ("reference", DEEP_TEXT)],
)
def test_csv_json_cells_too_deep_to_decode(tmp_path, column, cell):
    path = tmp_path / "evals.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "input", "reference", "metadata"])
        writer.writerow(["a", "hi", "x", "{}"])
        row = {"id": "b", "input": "hi", "reference": "x", "metadata": "{}", column: cell}
        writer.writerow(list(row.values()))
    assert error_of(load_eval_set, path) == f"{path} line 3: field '{column}' {TOO_DEEP}"


def test_parquet_values_too_deep(tmp_path):
    as_text = write_parquet(
        tmp_path / "text.parquet", [{"id": "a", "input": "hi", "metadata": '{"x": ' + DEEP_TEXT + "}"}]
    )
    assert error_of(load_eval_set, as_text) == f"{as_text} row 1: field 'metadata' {TOO_DEEP}"
    struct = {"x": 1}
    for _ in range(70):  # Arrow reads up to 100 levels of schema; routeeval stops at 64
        struct = {"x": struct}
    as_struct = write_parquet(tmp_path / "struct.parquet", [{"id": "a", "input": "hi", "metadata": struct}])
    assert error_of(load_eval_set, as_struct) == f"{as_struct} row 1: field 'metadata' {TOO_DEEP}"


def test_an_integer_too_long_to_convert_names_the_field(tmp_path):
    path = tmp_path / "evals.jsonl"
    path.write_text('{"id": "a", "input": "hi", "metadata": {"n": -' + "1" * 5000 + "}}\n")
    limit = sys.get_int_max_str_digits()
    assert error_of(load_eval_set, path) == (
        f"{path} line 1: field 'metadata' holds an integer of more than {limit} digits; "
        f"expected a number of at most {limit} digits"
    )


def test_a_csv_cell_longer_than_csvs_default_limit_is_read(tmp_path):
    long_text = "word " * 40_000  # 200,000 characters; csv refuses cells over 131,072 by default
    limit_before = csv.field_size_limit()
    evals = tmp_path / "evals.csv"
    with evals.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["id", "input", "reference"], ["a", long_text, "x"]])
    assert load_eval_set(evals).rows[0].text == long_text
    logs = tmp_path / "logs.csv"
    with logs.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["input", "response"], ["hi", long_text]])
    assert load_logs(logs).records[0].response == long_text
    assert csv.field_size_limit() == limit_before  # the process-wide limit is put back


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ('{"input": "hi", "cost_usd": NaN}', "field 'cost_usd' must be a non-negative number, got nan"),
        ('{"input": "hi", "latency_ms": Infinity}', "field 'latency_ms' must be a non-negative number, got inf"),
        ('{"input": "hi", "latency_ms": 1e999}', "field 'latency_ms' must be a non-negative number, got inf"),
        ('{"input": "hi", "prompt_tokens": NaN}', "field 'prompt_tokens' must be a non-negative integer, got nan"),
        (
            '{"id": "a", "input": "hi", "reference": NaN}',
            "field 'reference' must be a string or a finite number, got nan",
        ),
    ],
)
def test_nan_and_infinity_literals_in_numeric_fields_are_refused(tmp_path, cells, message):
    path = tmp_path / "logs.jsonl"
    path.write_text(cells + "\n")
    load = load_eval_set if '"reference"' in cells else load_logs
    assert error_of(load, path) == f"{path} line 1: {message}"


@pytest.mark.parametrize(
    "content",
    [
        '{"id": "a", "input": "hi", "metadata": {"x": ' + DEEP_TEXT + "}}\n",
        '{"id": "a", "input": "hi", "metadata": {"n": ' + "1" * 5000 + "}}\n",
        DEEP_TEXT,
    ],
)
def test_the_cli_shows_one_line_and_exits_2_for_a_hostile_eval_set(in_tmp, content):
    from typer.testing import CliRunner

    from routeeval.cli import app

    shutil.copy(ROOT / "routeeval.toml", in_tmp / "routeeval.toml")
    (in_tmp / "evals.jsonl").write_text(content)
    result = CliRunner().invoke(app, ["run", "evals.jsonl", "--no-progress"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: evals.jsonl line 1: ") and result.stderr.count("\n") == 1
