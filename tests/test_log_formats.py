"""The log formats teams export, detected per file: litellm's /spend/logs JSON array, OpenAI chat records, OpenAI
Batch API input and output files joined by custom_id, and routeeval's own rows, in JSON Lines, a JSON array, CSV
or Parquet. Each is read end to end by `run --logs`, `drift` and `sample`, names the format it was read as, and a
record in no known format stops with one line naming the file, line and field (exit 2).

The fixtures and where their shapes come from: tests/data/log-formats/README.md.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import DATA, ROOT
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.errors import EXIT_BAD_INPUT, DataError
from routeeval.logs import light_row, load_logs, open_log_stream

FORMATS = DATA / "log-formats"
SPEND_LOGS = FORMATS / "litellm-spend-logs.json"
OPENAI_CHAT = FORMATS / "openai-chat.json"
BATCH = FORMATS / "openai-batch"
runner = CliRunner()

# (path, container, record format, the words the output names it with)
EXPORTS = [
    (SPEND_LOGS, "json", "litellm-spend-logs", "litellm spend logs (a JSON array)"),
    (OPENAI_CHAT, "json", "openai-chat", "OpenAI chat-completion records (a JSON array)"),
    (BATCH, "batch folder", "openai-batch", "OpenAI Batch API requests (a folder of batch input and output files)"),
    (DATA / "mini_logs.jsonl", "jsonl", "routeeval", "routeeval log rows (JSON Lines)"),
]


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def error_of(load, path) -> str:
    with pytest.raises(DataError) as info:
        load(path)
    assert info.value.exit_code == EXIT_BAD_INPUT
    return str(info.value)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_json(path: Path, value, indent: int | None = None) -> Path:
    path.write_text(json.dumps(value, indent=indent), encoding="utf-8")
    return path


# --- detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "kind", "log_format", "label"), EXPORTS)
def test_each_export_is_detected_and_read_the_same_by_load_and_stream(path, kind, log_format, label):
    logs = load_logs(path)
    assert (logs.kind, logs.log_format) == (kind, log_format)
    stream = open_log_stream(path)
    assert (stream.kind, stream.log_format, stream.total) == (kind, log_format, len(logs.records))
    rows = [row for batch in stream.batches(light=True) for row in batch]
    assert [light_row(where, values, stream.log_format).query for where, values in rows] == [
        record.query.input_value for record in logs.records
    ]
    assert stream.records(rows, light=True) == logs.records
    assert stream.source_sha256() == logs.sha256


def test_litellm_spend_logs_array_reads_every_column_it_can():
    records = {record.query.row_id: record for record in load_logs(SPEND_LOGS).records}
    demo = [json.loads(line) for line in (ROOT / "evalsets/support-logs.jsonl").read_text().splitlines()[:8]]
    assert len(records) == 8
    by_text = {record.query.text: record for record in records.values()}
    for row in demo:
        text = row["input"] if "input" in row else row["messages"][-1]["content"]
        record = by_text[text]
        assert record.model == "gpt-4o"
        assert record.latency_ms == pytest.approx(row["latency_ms"])
        assert record.timestamp.startswith(row["timestamp"][:19])
        if record.query.extra["status"] == "failure":  # a failed call: no answer, and its $0 is what it cost
            assert (record.response, record.cost_usd, record.prompt_tokens) == (None, 0.0, 0)
        else:
            assert (record.response, record.cost_usd) == (row["response"], pytest.approx(row["cost_usd"]))
            assert (record.prompt_tokens, record.completion_tokens) == (row["prompt_tokens"], row["completion_tokens"])
    # the prompt came from `messages` on some rows and from `proxy_server_request` on the others
    assert all(record.query.messages[0]["role"] == "system" for record in records.values())


def test_openai_batch_folder_joins_requests_with_their_results():
    logs = load_logs(BATCH)
    records = {record.query.row_id: record for record in logs.records}
    assert [record.query.row_id for record in logs.records] == [f"ticket-0000{i}" for i in range(1, 9)]  # input order
    answered = records["ticket-00001"]
    assert answered.model == "gpt-4o-mini"  # the model asked for, not the output's dated snapshot
    assert answered.query.extra == {}
    assert answered.response.startswith("Verification for ironbarkbuilders.io")
    assert (answered.prompt_tokens, answered.completion_tokens, answered.cost_usd) == (139, 59, None)
    assert answered.timestamp == "2026-10-01T03:34:14+00:00"
    refused, expired = records["ticket-00004"], records["ticket-00007"]
    for failed in (refused, expired):  # kept as queries; never an answer, token count or cost
        assert (failed.response, failed.prompt_tokens, failed.completion_tokens, failed.cost_usd) == (None,) * 4
        assert failed.query.text
    assert refused.query.extra["batch_error"].startswith("HTTP 429: Rate limit reached for gpt-4o-mini")
    assert expired.query.extra["batch_error"] == (
        "batch_expired: This request could not be executed before the completion window expired."
    )
    assert logs.notes == [
        "2 of 8 batch requests failed (HTTP 429 x1, batch_expired x1): kept as queries without a production answer, "
        "token counts or cost (each row's batch_error says why)"
    ]


def _batch(tmp_path: Path, inputs: list[dict], *outputs: list[dict]) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir()
    write_jsonl(folder / "input.jsonl", inputs)
    for index, lines in enumerate(outputs):
        write_jsonl(folder / f"output-{index}.jsonl", lines)
    return folder


def _request(custom_id: str, text: str = "hi", **body) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **body},
    }


def _result(custom_id: str, answer: str = "hello", usage=None, status: int = 200) -> dict:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
        "usage": usage or {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10},
    }
    response = {"status_code": status, "request_id": "req_1", "body": body}
    return {"id": f"batch_req_{custom_id}", "custom_id": custom_id, "response": response, "error": None}


def test_batch_requests_without_an_output_line_are_kept_and_counted(tmp_path):
    folder = _batch(tmp_path, [_request("a"), _request("b", "bye")], [_result("a")])
    logs = load_logs(folder)
    assert [(r.query.row_id, r.response) for r in logs.records] == [("a", "hello"), ("b", None)]
    assert logs.notes == [
        "1 of 2 batch requests have no line in the folder's output or error files: kept as queries without a "
        "production answer (add the batch's error file to the folder if it has one)"
    ]


def test_a_batch_input_file_alone_is_read_as_queries_without_answers(tmp_path):
    path = write_jsonl(tmp_path / "input.jsonl", [_request("a"), _request("b", "bye")])
    logs = load_logs(path)
    assert (logs.kind, logs.log_format) == ("jsonl", "openai-batch")
    assert [(r.query.row_id, r.query.text, r.model, r.response) for r in logs.records] == [
        ("a", "hi", "gpt-4o-mini", None),
        ("b", "bye", "gpt-4o-mini", None),
    ]
    assert logs.notes == [
        "no batch output file: the 2 batch requests are read without production answers, token counts or times"
    ]


@pytest.mark.parametrize(
    ("inputs", "outputs", "message"),
    [
        (
            [_request("a")],
            [_result("a"), _result("zz")],
            "{folder}/output-0.jsonl line 2: field 'custom_id' is 'zz', which no batch input file in {folder} "
            "holds; put the input file of this batch in the folder",
        ),
        (
            [_request("a"), _request("a")],
            [],
            "{folder}/input.jsonl line 2: field 'custom_id' duplicates 'a' first seen in {folder}/input.jsonl line 1",
        ),
        (
            [_request("a")],
            [_result("a"), _result("a")],
            "{folder}/output-0.jsonl line 2: field 'custom_id' duplicates 'a' first seen in "
            "{folder}/output-0.jsonl line 1",
        ),
        (
            [_request("a"), {**_request("b"), "url": "/v1/embeddings"}],
            [],
            "{folder}/input.jsonl line 2: field 'url' is '/v1/embeddings'; routeeval reads batches of chat "
            "completions (url '/v1/chat/completions')",
        ),
        (
            [_request("a"), {"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"x": 1}}],
            [],
            "{folder}/input.jsonl line 2: field 'body.messages' is missing; a chat completion request holds "
            "'messages'.",
        ),
        (
            [_request("a")],
            [_result("a", usage={"prompt_tokens": -3})],
            "{folder}/output-0.jsonl line 1: field 'response.body.usage.prompt_tokens' must be a non-negative "
            "integer, got -3",
        ),
        (
            [_request("a"), {"custom_id": "", "body": {}}],
            [],
            "{folder}/input.jsonl line 2: field 'custom_id' must be a non-empty string, got an empty string",
        ),
        (
            [_request("a")],
            [{"custom_id": "a", "note": "x"}],
            "{folder}/output-0.jsonl line 1: holds no log format routeeval reads; a folder of JSON files is read as "
            "an OpenAI batch: its input file (lines with 'custom_id' and 'body') and its output and error files "
            "(lines with 'custom_id' and 'response')",
        ),
        (
            [_request("a"), {"custom_id": "b", "response": None, "error": None}],
            [],
            "{folder}/input.jsonl line 2: is not a batch input line like line 1; expected 'custom_id' and 'body'",
        ),
    ],
)
def test_bad_batch_files_name_the_file_line_and_field(tmp_path, inputs, outputs, message):
    folder = _batch(tmp_path, inputs, *([outputs] if outputs else []))
    assert error_of(load_logs, folder) == message.format(folder=folder)


def test_batch_output_alone_is_refused_for_what_it_lacks(tmp_path):
    output = write_jsonl(tmp_path / "output.jsonl", [_result("a")])
    message = (
        f"{output}: holds OpenAI Batch API output lines, which carry no prompts; put it in a folder with the "
        "batch's input file (and its error file) and pass the folder"
    )
    assert error_of(load_logs, output) == message
    assert error_of(open_log_stream, output) == message
    folder = tmp_path / "only-output"
    folder.mkdir()
    shutil.copy(output, folder / "output.jsonl")
    assert error_of(load_logs, folder) == (
        f"{folder}: holds OpenAI batch output files but no batch input file; the output carries no prompts: put "
        "the batch's input file (the .jsonl uploaded to create it) in the folder"
    )


# --- JSON arrays -----------------------------------------------------------------------------------


def test_plain_json_arrays_of_routeeval_rows_and_in_a_jsonl_file(tmp_path):
    rows = [{"id": "a", "input": "hi", "model": "m"}, {"input": "yo", "cost_usd": 0.5}]
    for name in ("logs.json", "logs.jsonl"):  # the content decides, not the extension
        logs = load_logs(write_json(tmp_path / name, rows, indent=2))
        assert (logs.kind, logs.log_format) == ("json", "routeeval")
        assert [(r.query.row_id, r.query.text, r.cost_usd) for r in logs.records] == [
            ("a", "hi", None),
            ("log-2", "yo", 0.5),
        ]


def test_json_array_errors_name_the_record_and_the_line_it_starts_on(tmp_path):
    rows = [{"id": "a", "input": "hi"}, {"id": "b", "input": "yo", "cost_usd": -1}]
    pretty = write_json(tmp_path / "pretty.json", rows, indent=2)
    assert error_of(load_logs, pretty) == (
        f"{pretty} record 2 (line 6): field 'cost_usd' must be a non-negative number, got -1"
    )
    compact = write_json(tmp_path / "compact.json", rows)  # as curl saves /spend/logs: one line
    assert error_of(load_logs, compact) == f"{compact} record 2: field 'cost_usd' must be a non-negative number, got -1"
    duplicate = write_json(tmp_path / "dup.json", [rows[0], rows[0]])
    assert error_of(load_logs, duplicate) == f"{duplicate} record 2: field 'id' duplicates 'a' first seen on record 1"
    spend = write_json(tmp_path / "spend.json", [{**json.loads(SPEND_LOGS.read_text())[0], "spend": "free"}])
    assert error_of(load_logs, spend) == f"{spend} record 1: field 'spend' must be a non-negative number, got 'free'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "{p}: holds an empty JSON array; expected log records"),
        ('[{"input": "a"}, 3]', "{p} record 2: expected a JSON object, got int"),
        ('[{"input": "a"},\n {"input": "b"}', "{p} line 2: the JSON array is not closed"),
        ('[{"input": "a"} {"input": "b"}]', "{p} line 1: expected ',' or ']' after a record, got '{'"),
        ('[{"input": "a"}]\n[{"input": "b"}]', "{p}: holds more text after the JSON array's closing ']'"),
        ('[{"input": "a"},\n {"input": }]', "{p} line 2: not valid JSON (Expecting value at column 12)"),
    ],
)
def test_broken_json_arrays(tmp_path, text, message):
    path = tmp_path / "logs.json"
    path.write_text(text, encoding="utf-8")
    assert error_of(load_logs, path) == message.replace("{p}", str(path))


# --- unknown shapes --------------------------------------------------------------------------------


UNKNOWN = (
    "field 'input' is missing, and the record is in no log format routeeval reads (its fields: answer, payload, "
    "ticket_id); expected routeeval rows ('input' or 'messages'), OpenAI chat records ('request', or 'messages' "
    "with 'choices'), litellm spend logs ('request_id' and 'startTime'), or OpenAI Batch API lines ('custom_id' "
    "and 'body')"
)


@pytest.mark.parametrize("suffix", ["jsonl", "json", "csv", "parquet"])
def test_an_unknown_shape_is_named_in_every_container(tmp_path, suffix):
    rows = [{"ticket_id": "t1", "payload": "hi", "answer": "hello"}]
    path = tmp_path / f"logs.{suffix}"
    if suffix == "jsonl":
        write_jsonl(path, rows)
    elif suffix == "json":
        write_json(path, rows)
    elif suffix == "csv":
        path.write_text("ticket_id,payload,answer\nt1,hi,hello\n", encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    where = {"jsonl": "line 1", "json": "record 1", "csv": "line 2", "parquet": "row 1"}[suffix]
    assert error_of(load_logs, path) == f"{path} {where}: {UNKNOWN}"
    assert error_of(open_log_stream, path) == f"{path} {where}: {UNKNOWN}"


def test_a_litellm_daily_summary_is_named_for_what_it_is(tmp_path):
    path = write_json(tmp_path / "spend.json", [{"startTime": "2026-10-01", "spend": 1.5, "users": {}, "models": {}}])
    assert error_of(load_logs, path) == (
        f"{path} record 1: is a daily spend summary (litellm's /spend/logs with start_date and end_date returns one "
        "unless summarize=false); expected one row per request"
    )


def test_a_spend_logs_v2_page_is_named_for_what_it_is(tmp_path):
    page = {"data": [{"request_id": "r1", "spend": 0.1}], "total": 1, "page": 1, "page_size": 50, "total_pages": 1}
    path = write_json(tmp_path / "page.json", page)  # one line: read as JSON Lines of one object
    assert error_of(load_logs, path) == (
        f"{path} line 1: is a page of litellm's /spend/logs/v2, which leaves out the prompts and answers; expected "
        "the rows of /spend/logs?start_date=...&end_date=...&summarize=false (a JSON array)"
    )


def test_later_records_must_keep_the_first_records_format(tmp_path):
    spend_row = json.loads(SPEND_LOGS.read_text())[0]
    row = {key: value for key, value in spend_row.items() if key != "request_id"}
    path = write_json(tmp_path / "spend.json", [spend_row, row])
    assert error_of(load_logs, path) == (
        f"{path} record 2: field 'request_id' is missing; each row of litellm spend logs has one."
    )


# --- the commands ----------------------------------------------------------------------------------


@pytest.fixture()
def demo_config(in_tmp):
    shutil.copy(ROOT / "routeeval.toml", in_tmp / "routeeval.toml")
    return in_tmp / "routeeval.toml"


def _static_policy(path: Path) -> Path:
    from routeeval.policy import attach_reference, build_policy
    from routeeval.routers import StaticRouter

    tiers = [
        {"name": "small", "model": "routeeval-sim/gpt-4o-mini", "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6},
        {"name": "large", "model": "routeeval-sim/gpt-4o", "price_in_per_mtok": 2.5, "price_out_per_mtok": 10.0},
    ]
    router = StaticRouter(tiers=["small", "large"], rules=({"tier": "large", "keywords": ["gdpr"]},)).fit()
    policy = build_policy(router, "static", {"length_cutoff_chars": None}, tiers)
    policy = attach_reference(policy, {"schema": "routeeval.reference/v1", "basis": "logs", "rows": 3})
    path.write_text(json.dumps(policy), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", ["jsonl", "json", "parquet"])
def test_rows_under_their_own_column_names_get_the_mapping_not_a_format_error(tmp_path, suffix):
    rows = [{"ticket_id": "t1", "question": "hi", "answer": "hello"}]
    path = tmp_path / f"logs.{suffix}"
    if suffix == "jsonl":
        write_jsonl(path, rows)
    elif suffix == "json":
        write_json(path, rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    message = error_of(load_logs, path)
    assert "no log format" not in message
    assert message.endswith(
        "field 'input' is missing (each "
        + ("row" if suffix == "parquet" else "record" if suffix == "json" else "line")
        + " needs 'input' or 'messages'); the file has columns ticket_id, question, answer; map one with "
        '[columns.logs] input = "question" or --map logs.input=question'
    )


@pytest.mark.parametrize("command", ["run", "drift", "sample"])
def test_commands_stop_on_an_unknown_shape_with_one_line(demo_config, command):
    path = write_jsonl(demo_config.parent / "logs.jsonl", [{"ticket_id": "t1", "payload": "hi", "answer": "x"}])
    args = {
        "run": ["run", DATA / "mini_eval.jsonl", "--logs", path, "--no-progress"],
        "drift": ["drift", _static_policy(demo_config.parent / "policy.json"), path, "--sample", "0"],
        "sample": ["sample", path, "--n", "2"],
    }[command]
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {path} line 1: {UNKNOWN}\n"
    assert not (demo_config.parent / ".routeeval").exists(), "nothing is called before the logs are read"


@pytest.mark.parametrize(("path", "kind", "log_format", "label"), EXPORTS)
def test_sample_reads_each_export_and_names_its_format(in_tmp, path, kind, log_format, label):
    result = _run("sample", path, "--n", "5", "--seed", "1", "--out", "sample.jsonl")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"logs: {path} read as {label}"
    header, *rows = [json.loads(line) for line in (in_tmp / "sample.jsonl").read_text().splitlines()]
    assert (header["source"]["format"], header["source"]["log_format"]) == (kind, log_format)
    assert len(rows) == min(5, len(load_logs(path).records)) and all(row["input"] for row in rows)
    if log_format == "openai-batch":
        assert "note: 2 of 8 batch requests failed (HTTP 429 x1, batch_expired x1)" in result.stdout
    # the sample file is a logs file itself: routeeval's own rows
    assert load_logs(in_tmp / "sample.jsonl").log_format == "routeeval"


@pytest.mark.slow
@pytest.mark.parametrize(("path", "kind", "log_format", "label"), EXPORTS[:3])
def test_run_reads_each_export_end_to_end_and_names_its_format(demo_config, path, kind, log_format, label):
    result = _run("run", DATA / "mini_eval.jsonl", "--logs", path, "--out", "out", "--no-progress")
    assert result.exit_code == 1, result.output  # 12 eval rows certify nothing; everything is still written
    summary = json.loads((demo_config.parent / "out" / "summary.json").read_text(encoding="utf-8"))
    logs = summary["logs"]
    assert (logs["format"], logs["log_format"], logs["rows"]) == (kind, log_format, 8)
    assert logs["path"] == str(path) and logs["sha256"] == load_logs(path).sha256
    assert logs["date_range"] == ["2026-10-01T03:34:14Z", "2026-10-01T14:18:18Z"]
    assert " ".join(result.stdout.split()).count(f"logs: {path}, 8 rows read as {label}") == 1
    assert summary["replay"]["calls"] == (12 + 8) * 3  # every log row replayed on every tier
    failed_note = [note for note in summary["notes"] if "batch requests failed" in note]
    assert len(failed_note) == (1 if log_format == "openai-batch" else 0)
    report = (demo_config.parent / "out" / "report.md").read_text(encoding="utf-8")
    assert "8 rows" in report


@pytest.mark.slow
@pytest.mark.parametrize(("path", "kind", "log_format", "label"), EXPORTS[:3])
def test_drift_reads_each_export_and_names_its_format(demo_run, in_tmp, path, kind, log_format, label):
    shutil.copy(ROOT / "routeeval.toml", in_tmp / "routeeval.toml")
    result = _run("drift", demo_run / "policy.json", path, "--sample", "0", "--out", "d")
    assert result.exit_code in (0, 1), result.output  # 8 rows of one day: the verdict is not what is tested
    record = json.loads((in_tmp / "d" / "drift.json").read_text(encoding="utf-8"))
    assert (record["logs"]["format"], record["logs"]["log_format"]) == (kind, log_format)
    assert record["logs"]["rows_checked"] == 8
    assert f"logs: {path}, read as {label}" in " ".join(result.stdout.split())
    assert f"read as {label}" in (in_tmp / "d" / "drift.md").read_text(encoding="utf-8")
    assert record["logs"]["notes"] == load_logs(path).notes


def test_the_same_formats_are_detected_in_json_lines_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    spend = json.loads(SPEND_LOGS.read_text())
    flat = [
        {**row, **{k: json.dumps(row[k]) for k in ("messages", "response", "metadata", "proxy_server_request")}}
        for row in spend
    ]  # as a table export: JSON columns as text
    flat = [{k: v for k, v in row.items() if k != "request_tags"} for row in flat]
    jsonl = write_jsonl(tmp_path / "spend.jsonl", spend)
    parquet = tmp_path / "spend.parquet"
    pq.write_table(pa.Table.from_pylist(flat), parquet)
    for path, kind in ((jsonl, "jsonl"), (parquet, "parquet")):
        assert (open_log_stream(path).kind, open_log_stream(path).log_format) == (kind, "litellm-spend-logs")
        assert [r.response for r in load_logs(path).records] == [r.response for r in load_logs(SPEND_LOGS).records]


def test_a_routeeval_row_that_happens_to_carry_custom_id_stays_a_routeeval_row(tmp_path):
    path = write_jsonl(tmp_path / "logs.jsonl", [{"custom_id": "c1", "input": "hi", "response": "hello"}])
    logs = load_logs(path)
    assert logs.log_format == "routeeval"
    assert (logs.records[0].response, logs.records[0].query.extra) == ("hello", {"custom_id": "c1"})
