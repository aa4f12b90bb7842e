"""Which log format a file holds, and the readers for the formats that are not one record per line or row.

A logs file is read as one of four record formats, detected from its first record (for Parquet, from its column
names) and then required of every record, so that a bad record is named for what it lacks in that format:

``routeeval``
    routeeval's own rows: ``input`` or ``messages``, ``model``, ``response``, token counts, ``cost_usd``, ...
``openai-chat``
    OpenAI chat-completion records: ``{"request": ..., "response": ...}``, or flat ``messages`` + ``choices``.
``litellm-spend-logs``
    rows of litellm's ``LiteLLM_SpendLogs`` table, as the proxy's ``/spend/logs`` returns them or as exported.
``openai-batch``
    OpenAI Batch API files: the batch input (``custom_id``, ``method``, ``url``, ``body``) joined by ``custom_id``
    with the batch's output and error files (``id``, ``custom_id``, ``response``, ``error``).

and in one of these containers (the ``kind`` of a :class:`routeeval.logs.LogStream`): ``jsonl`` (JSON Lines),
``json`` (one JSON array of records, as ``/spend/logs`` returns; read whole), ``csv``, ``parquet``, ``parquet
folder``, and ``batch folder`` (a folder holding a batch's input file and its output and error files).

The batch join, decided here: every input line is one log record (the request is the query); its output line, when
there is one, gives the answer, token counts and time. A request that failed (an HTTP error status, or an
``error`` such as ``batch_expired``) is kept as a query with no answer, no token counts and no cost (never a $0
answer), its failure kept in the record's ``batch_error``; so is a request with no output line. Both are counted in
the notes. An output line whose ``custom_id`` no input line holds is an error: the folder is missing the input file
of that batch, and reading on would lose those requests silently.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from routeeval.data import _BOM, SAMPLE_HEADER_KEY, Columns, _decode_utf8, _show, _type_name, _Where, lookalike
from routeeval.errors import DataError
from routeeval.fields import LOGS

ROUTEEVAL = "routeeval"
OPENAI_CHAT = "openai-chat"
LITELLM_SPEND_LOGS = "litellm-spend-logs"
OPENAI_BATCH = "openai-batch"
OPENAI_BATCH_OUTPUT = "openai-batch-output"  # an output or error file: joined to its input, never read alone
LOG_FORMATS = {
    ROUTEEVAL: "routeeval log rows",
    OPENAI_CHAT: "OpenAI chat-completion records",
    LITELLM_SPEND_LOGS: "litellm spend logs",
    OPENAI_BATCH: "OpenAI Batch API requests",
}
CONTAINERS = {
    "jsonl": "JSON Lines",
    "json": "a JSON array",
    "csv": "CSV",
    "parquet": "Parquet",
    "parquet folder": "a folder of Parquet files",
    "batch folder": "a folder of batch input and output files",
}
_EXPECTED = (
    "expected routeeval rows ('input' or 'messages'), OpenAI chat records ('request', or 'messages' with "
    "'choices'), litellm spend logs ('request_id' and 'startTime'), or OpenAI Batch API lines ('custom_id' and "
    "'body')"
)
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def format_label(log_format: str, kind: str) -> str:
    """'litellm spend logs (a JSON array)': the detected format in words, for terminal output."""
    return f"{LOG_FORMATS.get(log_format, log_format)} ({CONTAINERS.get(kind, kind)})"


def record_format(record: dict) -> str | None:
    """The format one record's fields say it is in; None when they fit none."""
    batch = "custom_id" in record and "input" not in record and "messages" not in record
    if batch and "body" in record:
        return OPENAI_BATCH
    if batch and ("response" in record or "error" in record):
        return OPENAI_BATCH_OUTPUT
    if "request_id" in record and ("startTime" in record or "spend" in record):
        return LITELLM_SPEND_LOGS
    if "request" in record or "choices" in record:
        return OPENAI_CHAT
    if "input" in record or "messages" in record:
        return ROUTEEVAL
    return None


def detect_log_format(where: _Where, record: dict) -> str:
    """The format of a file whose first record is ``record``; DataError naming the place when it fits none."""
    found = record_format(record)
    if found is not None:
        return found
    if {"startTime", "spend", "models"} <= set(record) and "request_id" not in record:
        problem = (
            "is a daily spend summary (litellm's /spend/logs with start_date and end_date returns one unless "
            "summarize=false); expected one row per request"
        )
        raise where.error(problem)
    if isinstance(record.get("data"), list) and "total_pages" in record:
        problem = (
            "is a page of litellm's /spend/logs/v2, which leaves out the prompts and answers; expected the rows of "
            "/spend/logs?start_date=...&end_date=...&summarize=false (a JSON array)"
        )
        raise where.error(problem)
    columns = where.columns or Columns.of(None, LOGS)
    present = [columns.fields.get(key, key) for key in map(str, record)]  # as the file names them
    unmapped = [name for name in present if name not in columns.to_field]
    if "input" not in columns.fields and "messages" not in columns.fields and lookalike("input", unmapped):
        # a routeeval row under its own column names: the mapping is the fix, not another format
        raise columns.missing_from(where, "input", present, f"each {where.row_word} needs 'input' or 'messages'")
    names = ", ".join(sorted(map(str, record))) or "none"
    raise where.error(
        f"is missing, and the record is in no log format routeeval reads (its fields: {names}); {_EXPECTED}", "input"
    )


# --- a JSON array of records (litellm's /spend/logs) -----------------------------------------------


@dataclass(frozen=True)
class RecordWhere(_Where):
    """A record of a JSON array: named by its position (1-based) and, in a multi-line file, the line it starts on."""

    text_line: int = 0

    def error(self, problem: str, field_name: str | None = None) -> DataError:
        at = f"{self.path} {self.row_word} {self.line}" + (f" (line {self.text_line})" if self.text_line else "")
        error = DataError(at, problem, field=field_name)
        error.path, error.line = self.path, self.line
        return error


def starts_json_array(file_path: Path) -> bool:
    """Whether a .json/.jsonl file's first non-blank character opens a JSON array (JSON Lines never does)."""
    with open(file_path, "rb") as handle:
        head = handle.read(4096)
    head = head.removeprefix(_BOM)
    return head.lstrip(b" \t\r\n")[:1] == b"["


def read_json_array(path_text: str, raw: bytes) -> list[tuple[_Where, dict]]:
    """The records of a file holding one JSON array of objects, each with its position; read whole."""
    text = _decode_utf8(path_text, raw)
    decoder = json.JSONDecoder()
    multiline = "\n" in text.strip()
    position = _skip_space(text, 0)
    if text[position : position + 1] != "[":
        raise DataError(path_text, "does not start with a JSON array")
    line, counted = 1, 0
    position = _skip_space(text, position + 1)
    records: list[tuple[_Where, dict]] = []
    if text[position : position + 1] == "]":
        raise DataError(path_text, "holds an empty JSON array; expected log records")
    while True:
        line += text.count("\n", counted, position)
        counted = position
        where = RecordWhere(path_text, len(records) + 1, "record", text_line=line if multiline else 0)
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise DataError(path_text, f"not valid JSON ({exc.msg} at column {exc.colno})", line=exc.lineno) from None
        except (RecursionError, ValueError):
            raise where.error("is not valid JSON (nested too deeply, or a number too long)") from None
        if not isinstance(value, dict):
            raise where.error(f"expected a JSON object, got {_type_name(value)}")
        if not (records == [] and SAMPLE_HEADER_KEY in value):
            records.append((where, value))
        position = _skip_space(text, end)
        mark = text[position : position + 1]
        if mark == "]":
            break
        if mark != ",":
            line += text.count("\n", counted, position)
            problem = (
                "the JSON array is not closed" if not mark else f"expected ',' or ']' after a record, got {mark!r}"
            )
            raise DataError(path_text, problem, line=line)
        position = _skip_space(text, position + 1)
    if _skip_space(text, position + 1) < len(text):
        raise DataError(path_text, "holds more text after the JSON array's closing ']'")
    if not records:
        raise DataError(path_text, "holds an empty JSON array; expected log records")
    return records


def _skip_space(text: str, position: int) -> int:
    match = _JSON_SPACE.match(text, position)
    return match.end() if match else position


def peek_json_lines(file_path: Path) -> tuple[_Where, dict] | None:
    """The first record of a JSON Lines file (after a sample file's header), to detect the format from; None when
    the file has no record. Bad JSON is left for the reader to report."""
    path_text = str(file_path)
    with open(file_path, "rb") as handle:
        for index, raw in enumerate(handle):
            if index == 0:
                raw = raw.removeprefix(_BOM)
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                return None
            if not isinstance(value, dict):
                return None
            if index == 0 and SAMPLE_HEADER_KEY in value:
                continue
            return _Where(path_text, index + 1, "line"), value
    return None


# --- OpenAI Batch API: input and output files, joined by custom_id ---------------------------------


@dataclass(frozen=True)
class BatchResult:
    """An output (or error) file's line for one request, with where it is, for the adapter to read and name."""

    where: _Where
    line: dict


BATCH_RESULT = "__batch_result__"  # the key a joined input line carries its BatchResult under


@dataclass
class BatchFolder:
    rows: list[tuple[_Where, dict]]  # the input lines, each joined with its result (under BATCH_RESULT) if any
    files: list[Path]
    notes: list[str]


def read_batch_folder(path_text: str, folder: Path, read_lines) -> BatchFolder:
    """Read a folder of OpenAI Batch API files: every ``.jsonl``/``.json`` file in it is a batch input file or an
    output/error file (told apart by their first line). ``read_lines(file)`` gives a file's ``(where, record)``."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".jsonl", ".json"))
    if not files:
        raise DataError(
            path_text,
            "is a folder without .parquet, .jsonl or .json files; expected a folder of Parquet logs, or of an "
            "OpenAI batch's input and output files",
        )
    inputs: dict[str, tuple[_Where, dict]] = {}
    outputs: list[tuple[_Where, dict]] = []
    for file_path in files:
        lines = read_lines(file_path)
        first_where, first = lines[0]
        kind = record_format(first)
        if kind not in (OPENAI_BATCH, OPENAI_BATCH_OUTPUT):
            shape = LOG_FORMATS.get(kind or "", "no log format routeeval reads")
            raise first_where.error(
                f"holds {shape}; a folder of JSON files is read as an OpenAI batch: its input file (lines with "
                "'custom_id' and 'body') and its output and error files (lines with 'custom_id' and 'response')"
            )
        for where, record in lines:
            if record_format(record) != kind:
                expected = "a batch input line" if kind == OPENAI_BATCH else "a batch output line"
                fields = "'custom_id' and 'body'" if kind == OPENAI_BATCH else "'custom_id' and 'response' or 'error'"
                raise where.error(f"is not {expected} like line {first_where.line}; expected {fields}")
            custom_id = _custom_id(where, record)
            if kind == OPENAI_BATCH:
                if custom_id in inputs:
                    raise where.error(
                        f"duplicates {custom_id!r} first seen in {_place(inputs[custom_id][0])}", "custom_id"
                    )
                inputs[custom_id] = (where, record)
            else:
                outputs.append((where, record))
    if not inputs:
        raise DataError(
            path_text,
            "holds OpenAI batch output files but no batch input file; the output carries no prompts: put the "
            "batch's input file (the .jsonl uploaded to create it) in the folder",
        )
    results: dict[str, BatchResult] = {}
    for where, record in outputs:
        custom_id = _custom_id(where, record)
        if custom_id not in inputs:
            raise where.error(
                f"is {custom_id!r}, which no batch input file in {path_text} holds; put the input file of this batch "
                "in the folder",
                "custom_id",
            )
        if custom_id in results:
            raise where.error(f"duplicates {custom_id!r} first seen in {_place(results[custom_id].where)}", "custom_id")
        results[custom_id] = BatchResult(where, record)
    rows = []
    for custom_id, (where, record) in inputs.items():
        joined = dict(record)
        if custom_id in results:
            joined[BATCH_RESULT] = results[custom_id]
        rows.append((where, joined))
    return BatchFolder(rows, files, batch_notes(len(inputs), results.values(), outputs_read=bool(outputs)))


def batch_notes(requests: int, results, outputs_read: bool) -> list[str]:
    """What the notes say about a batch's failed and unanswered requests."""
    if not outputs_read:
        return [
            f"no batch output file: the {requests} batch requests are read without production answers, token "
            "counts or times"
        ]
    failures: Counter[str] = Counter()
    answered = 0
    for result in results:
        answered += 1
        failure = batch_failure(result.line)
        if failure is not None:
            failures[failure.split(":", 1)[0]] += 1
    notes = []
    failed = sum(failures.values())
    if failed:
        kinds = ", ".join(f"{kind} x{n}" for kind, n in failures.most_common())
        notes.append(
            f"{failed} of {requests} batch requests failed ({kinds}): kept as queries without a production answer, "
            "token counts or cost (each row's batch_error says why)"
        )
    if answered < requests:
        notes.append(
            f"{requests - answered} of {requests} batch requests have no line in the folder's output or error files: "
            "kept as queries without a production answer (add the batch's error file to the folder if it has one)"
        )
    return notes


def batch_failure(line: dict) -> str | None:
    """'HTTP 429: Rate limit reached' or 'batch_expired: ...' for a failed request's output line; None when it
    succeeded (an HTTP 2xx response and no error)."""
    error = line.get("error")
    if isinstance(error, dict):
        code = error.get("code") or "error"
        return f"{code}: {error.get('message') or ''}".rstrip(": ")
    if error is not None:
        return f"error: {_show(error)}"
    response = line.get("response")
    if not isinstance(response, dict):
        return "no response"
    status = response.get("status_code")
    if isinstance(status, int) and 200 <= status < 300:
        return None
    body = response.get("body")
    detail = body.get("error") if isinstance(body, dict) else None
    message = detail.get("message") if isinstance(detail, dict) else None
    return f"HTTP {status}" + (f": {message}" if isinstance(message, str) and message else "")


def _custom_id(where: _Where, record: dict) -> str:
    value = record.get("custom_id")
    if not isinstance(value, str) or not value.strip():
        got = "an empty string" if isinstance(value, str) else _type_name(value)
        raise where.error(f"must be a non-empty string, got {got}", "custom_id")
    return value


def _place(where: _Where) -> str:
    return f"{where.path} {where.row_word} {where.line}"
