"""Load and validate production logs from JSONL, a JSON array, CSV or Parquet, in any of the formats teams export.

Logs come in four formats, detected per file from its first record (:mod:`routeeval.log_formats`, which also
reads JSON arrays and OpenAI batch folders): routeeval's own (``input`` or ``messages``, ``model``, ``response``,
token counts, ``cost_usd``, ``latency_ms``), OpenAI chat-completion records (``{"request": ..., "response": ...}``
or the flat ``{"messages", "choices", "usage"}``), rows of litellm's ``LiteLLM_SpendLogs`` table (``/spend/logs``
or an export), and OpenAI Batch API requests joined with their results. Files are read, and problems named, as
eval sets are (:mod:`routeeval.data`).

A log's messages are the prompt that is replayed, so in every shape the assistant turns at the end
of a logged conversation are production's answer, not part of the prompt: they are taken off and
never sent to a tier (a provider would read a conversation ending in an assistant turn as a prefill
to continue). Their text, joined by newlines, becomes the record's ``response`` when the row gives
none; an explicit ``response`` (or the completion's first choice) wins when it is there. A trailing
turn that holds only tool calls is taken off too and leaves no response text. Assistant turns
earlier in the conversation are history and stay.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from routeeval.columns import COMPLETION_TOKENS, COST_USD, INPUT, INTENT, LABEL, LATENCY_MS, PROMPT_TOKENS, RESPONSE
from routeeval.data import (
    ID,
    LABELS,
    MESSAGES,
    METADATA,
    MODEL,
    SAMPLE_HEADER_KEY,
    TIMESTAMP,
    Columns,
    Query,
    _check_depth,
    _check_unique,
    _content_text,
    _is_number,
    _json_or_none,
    _optional_str,
    _parquet_value,
    _parse_choice,
    _parse_id,
    _parse_messages,
    _parse_metadata,
    _read_records,
    _show,
    _type_name,
    _Where,
    file_sha256,
    with_extras,
)
from routeeval.errors import ConfigError, DataError
from routeeval.fields import LOG_FIELD_NAMES, LOGS, SAMPLE_ROW_KEYS, ColumnMap
from routeeval.log_formats import (
    BATCH_RESULT,
    LITELLM_SPEND_LOGS,
    OPENAI_BATCH,
    OPENAI_BATCH_OUTPUT,
    OPENAI_CHAT,
    ROUTEEVAL,
    BatchResult,
    batch_failure,
    batch_notes,
    detect_log_format,
    peek_json_lines,
    read_batch_folder,
    read_json_array,
    record_format,
    starts_json_array,
)


@dataclass(frozen=True)
class LogRecord:
    """One production call: the query, the model that answered, and what it cost."""

    query: Query
    timestamp: str | None
    model: str | None
    response: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None


@dataclass(frozen=True)
class LogSet:
    path: str
    sha256: str
    records: list[LogRecord]
    kind: str = "jsonl"  # the container: jsonl, json (an array), csv, parquet, parquet folder, batch folder
    log_format: str = ROUTEEVAL  # the record format detected (routeeval.log_formats.LOG_FORMATS)
    notes: list[str] = field(default_factory=list)  # what reading the format left out or could not fill in


def load_logs(path: str | Path, columns: ColumnMap | None = None) -> LogSet:
    """Read and validate production logs of any accepted format, their columns read as ``columns`` maps them
    (``[columns]``, ``--map``); raise DataError at the first problem."""
    path_text = str(path)
    file_path = Path(path)
    mapping = Columns.of(columns, LOGS)
    if file_path.is_dir():
        stream = open_log_stream(path, columns)
        rows = [row for batch in stream.batches() for row in batch]
        sha256, kind, log_format, notes = stream.source_sha256(), stream.kind, stream.log_format, stream.notes
    elif file_path.suffix.lower() in (".json", ".jsonl") and _is_json_array(path_text, file_path):
        raw = _read_bytes(path_text, file_path)
        rows = _mapped(path_text, read_json_array(path_text, raw), mapping)
        sha256, kind = hashlib.sha256(raw).hexdigest(), "json"
        log_format, notes = _file_format(rows[0], len(rows))
    else:
        path_text, sha256, row_word, records = _read_records(path, "a log file", mapping)
        rows = [(_Where(path_text, line, row_word, mapping), values) for line, values in records]
        kind = "parquet" if row_word == "row" else "csv" if file_path.suffix.lower() == ".csv" else "jsonl"
        log_format, notes = _file_format(rows[0], len(rows))
    out: list[LogRecord] = []
    first_seen: dict[str, int] = {}
    for where, values in rows:
        record = _parse_log_row(where, values, log_format)
        _check_unique(where, record.query.row_id, first_seen)
        out.append(record)
    return LogSet(path=path_text, sha256=sha256, records=out, kind=kind, log_format=log_format, notes=notes)


def _file_format(first: tuple[_Where, dict], n_rows: int) -> tuple[str, list[str]]:
    """The format of a single file from its first record, and its notes; a batch output file alone is refused."""
    where, values = first
    log_format = detect_log_format(where, values)
    if log_format == OPENAI_BATCH_OUTPUT:
        raise DataError(
            where.path,
            "holds OpenAI Batch API output lines, which carry no prompts; put it in a folder with the batch's input "
            "file (and its error file) and pass the folder",
        )
    return log_format, batch_notes(n_rows, [], outputs_read=False) if log_format == OPENAI_BATCH else []


def _is_json_array(path_text: str, file_path: Path) -> bool:
    from routeeval.data import _check_regular_file

    _check_regular_file(path_text, file_path, "a log file")
    return starts_json_array(file_path)


def _read_bytes(path_text: str, file_path: Path) -> bytes:
    try:
        return file_path.read_bytes()
    except OSError as exc:
        raise DataError(path_text, f"cannot be read ({exc.strerror or exc})") from exc


def _batch_file_rows(file_path: Path) -> list[tuple[_Where, dict]]:
    """The lines of one file of an OpenAI batch folder (JSON Lines, or a JSON array)."""
    path_text = str(file_path)
    if _is_json_array(path_text, file_path):
        return read_json_array(path_text, _read_bytes(path_text, file_path))
    path_text, _sha, row_word, records = _read_records(file_path, "a batch file")
    return [(_Where(path_text, line, row_word), values) for line, values in records]


def utc_time(text: str) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (a time without an offset is taken as UTC); None when
    ``text`` is not one."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """``--since``/``--until`` as UTC times: a date is the whole day (from its start, to its end), else an ISO 8601
    time; ConfigError for anything else or an empty window."""
    start = _window_end("--since", since, start=True)
    end = _window_end("--until", until, start=False)
    if start is not None and end is not None and start >= end:
        raise ConfigError(f"--since {since} is not before --until {until}: the window is empty.")
    return start, end


def _window_end(option: str, text: str | None, start: bool) -> datetime | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        moment = utc_time(text)
        if moment is None:
            raise ConfigError(f"{option} {text!r} is not a date (2026-11-01) or an ISO 8601 time.") from None
        return moment
    moment = datetime.combine(day, time(), tzinfo=UTC)
    return moment if start else moment + timedelta(days=1)


def log_date_range(log_set: LogSet) -> list[str] | None:
    """The first and last timestamp of the log rows (UTC), or None when no row has one."""
    moments = [m for m in (utc_time(r.timestamp) for r in log_set.records if r.timestamp) if m is not None]
    if not moments:
        return None
    return [iso_utc(min(moments)), iso_utc(max(moments))]


# --- streaming: logs too large to hold --------------------------------------------------------------
STREAM_BATCH = 20_000  # raw rows handed over at a time


@dataclass
class LogStream:
    """Production logs read a batch at a time: a JSONL file line by line, a Parquet file or a folder of Parquet
    files file by file, in batches; CSV, a JSON array and an OpenAI batch folder are read whole (when the stream is
    opened). ``total`` is the row count (Parquet metadata, the file's lines, or the records read), known before any
    row is parsed; ``log_format`` is the record format detected from the first record (Parquet: its columns).

    :meth:`batches` gives each row's raw values; with ``light=True`` a Parquet file gives only the columns
    :func:`light_row` reads, and :meth:`records` reads the whole rows wanted afterwards. :meth:`records` validates
    them as :func:`load_logs` does, with the same one-line errors."""

    path: str
    kind: str  # "jsonl", "json", "csv", "parquet", "parquet folder" or "batch folder"
    total: int
    _files: list[Path]
    log_format: str = ROUTEEVAL
    notes: list[str] = field(default_factory=list)
    columns: Columns = field(default_factory=lambda: Columns.of(None, LOGS))  # [columns] / --map for logs
    _rows: list[tuple[_Where, dict]] | None = None  # the rows of a container read whole

    def batches(self, light: bool = False):
        """Lists of ``(where, raw row)``, the columns already renamed to fields; ``where`` names the file and line
        (or row) for errors."""
        if self._rows is not None:
            for start in range(0, len(self._rows), STREAM_BATCH):
                yield self._rows[start : start + STREAM_BATCH]
        elif self.kind == "jsonl":
            yield from _jsonl_batches(self._files[0], self.columns)
        else:
            for file_path in self._files:
                yield from _parquet_batches(file_path, LIGHT_COLUMNS if light else None, self.columns)

    def records(self, rows: list[tuple[_Where, dict]], light: bool = False) -> list[LogRecord]:
        """The whole records of ``rows`` (from :meth:`batches`; Parquet rows read light are read again whole)."""
        if light and self.kind.startswith("parquet"):
            rows = _parquet_rows_again(rows, self.columns)
        return [_parse_log_row(where, dict(values), self.log_format) for where, values in rows]

    def source_sha256(self) -> str:
        """The logs file's SHA-256; for a folder, the SHA-256 of its files' ``<relative path> <sha256>`` lines."""
        if not Path(self.path).is_dir():
            return file_sha256(self._files[0])
        root = Path(self.path)
        listing = "".join(f"{p.relative_to(root).as_posix()} {file_sha256(p)}\n" for p in self._files)
        return hashlib.sha256(listing.encode("utf-8")).hexdigest()

    @staticmethod
    def parse(where: _Where, values: dict) -> LogRecord:
        return _parse_log_row(where, values)


def open_log_stream(path: str | Path, columns: ColumnMap | None = None) -> LogStream:
    """A :class:`LogStream` over a JSONL/JSON-array/CSV/Parquet file, a folder of Parquet files, or a folder of an
    OpenAI batch's input and output files, its columns read as ``columns`` maps them; DataError when none, or when
    the first record fits no log format."""
    path_text = str(path)
    file_path = Path(path)
    mapping = Columns.of(columns, LOGS)
    if file_path.is_dir():
        files = sorted(p for p in file_path.rglob("*.parquet") if p.is_file())
        if files:
            log_format = _parquet_format(files[0], mapping)
            total = sum(_parquet_rows(p) for p in files)
            return LogStream(path_text, "parquet folder", total, files, log_format, columns=mapping)
        if mapping.fields:
            entries = " and ".join(mapping.origins.values())
            raise DataError(
                path_text,
                f"is an OpenAI batch folder, whose lines have a fixed format; {entries} cannot apply to it: drop the "
                "mapping for these logs (scope it with [columns.evalset] or --map evalset.FIELD=COLUMN)",
            )
        batch = read_batch_folder(path_text, file_path, _batch_file_rows)
        return LogStream(
            path_text, "batch folder", len(batch.rows), batch.files, OPENAI_BATCH, batch.notes, _rows=batch.rows
        )
    _read_check(path_text, file_path)
    suffix = file_path.suffix.lower()
    if suffix == ".parquet":
        log_format = _parquet_format(file_path, mapping)
        return LogStream(path_text, "parquet", _parquet_rows(file_path), [file_path], log_format, columns=mapping)
    if suffix == ".csv":
        path_text, _sha, row_word, records = _read_records(file_path, "a log file", mapping)
        rows = [(_Where(path_text, line, row_word, mapping), values) for line, values in records]
        log_format, notes = _file_format(rows[0], len(rows))
        return LogStream(path_text, "csv", len(rows), [file_path], log_format, notes, mapping, _rows=rows)
    if starts_json_array(file_path):
        rows = _mapped(path_text, read_json_array(path_text, _read_bytes(path_text, file_path)), mapping)
        log_format, notes = _file_format(rows[0], len(rows))
        return LogStream(path_text, "json", len(rows), [file_path], log_format, notes, mapping, _rows=rows)
    first = peek_json_lines(file_path)  # None: empty, or bad JSON that the reader names
    total = _count_lines(file_path)
    if first is not None:
        first = (first[0], mapping.rename(first[0], first[1]))
    log_format, notes = _file_format(first, total) if first is not None else (ROUTEEVAL, [])
    return LogStream(path_text, "jsonl", total, [file_path], log_format, notes, mapping)


def _mapped(path_text: str, rows: list[tuple[_Where, dict]], mapping: Columns) -> list[tuple[_Where, dict]]:
    """The records of a container read whole (a JSON array), their keys renamed as ``mapping`` says; a mapped
    column no record has is an error."""
    if not mapping.fields:
        return rows
    mapping.check(path_text, {key for _where, values in rows for key in values})
    return [(replace(where, columns=mapping), mapping.rename(where, values)) for where, values in rows]


def _parquet_format(file_path: Path, mapping: Columns) -> str:
    """A Parquet file's log format, from its column names as mapped (every row has the same columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.ParquetFile(file_path).schema_arrow.names
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(str(file_path), f"not a readable Parquet file ({reason})") from exc
    names = mapping.header(str(file_path), names)
    return detect_log_format(_Where(str(file_path), 1, "row", mapping), dict.fromkeys(names))


def _read_check(path_text: str, file_path: Path) -> None:
    from routeeval.data import _FORMATS, _check_regular_file

    _check_regular_file(path_text, file_path, "a log file")
    if file_path.suffix.lower() not in _FORMATS:
        got = f"'{file_path.suffix}' files" if file_path.suffix else "a file without an extension"
        raise DataError(
            path_text,
            f"cannot read {got}; expected .jsonl, .json, .csv or .parquet, or a folder of .parquet files or of an "
            "OpenAI batch's files",
        )


def _count_lines(file_path: Path) -> int:
    count = 0
    with open(file_path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def _parquet_rows(file_path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(file_path).metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(str(file_path), f"not a readable Parquet file ({reason})") from exc


def _jsonl_batches(file_path: Path, columns: Columns):
    """Raw rows of a JSON Lines file, renamed by ``columns`` (checked on the first batch: a mapped column none of
    its rows has is an error)."""
    import json

    path_text = str(file_path)
    batch: list = []
    first = True
    with open(file_path, "rb") as handle:
        for index, raw in enumerate(handle):
            if index == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            line = index + 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(path_text, f"not valid UTF-8 ({exc.reason} at byte {exc.start})", line=line) from None
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except (json.JSONDecodeError, RecursionError, ValueError) as exc:
                problem = (
                    f"not valid JSON ({exc.msg} at column {exc.colno})"
                    if isinstance(exc, json.JSONDecodeError)
                    else "not valid JSON (nested too deeply, or a number too long)"
                )
                raise DataError(path_text, problem, line=line) from None
            if not isinstance(value, dict):
                raise DataError(path_text, f"expected a JSON object, got {_type_name(value)}", line=line)
            if index == 0 and SAMPLE_HEADER_KEY in value:  # a sample file's header: its rows follow
                continue
            batch.append((_Where(path_text, line, "line", columns), value))
            if len(batch) >= STREAM_BATCH:
                _rename_batch(path_text, batch, columns, check=first)
                first = False
                yield batch
                batch = []
    if batch:
        _rename_batch(path_text, batch, columns, check=first)
        yield batch


def _rename_batch(path_text: str, batch: list, columns: Columns, check: bool) -> None:
    """Rename a batch's rows; the first batch of a file is checked against the mapping (a mapped column none of
    its rows has is an error)."""
    if not columns.fields:
        return
    if check:
        columns.check(path_text, {key for _where, values in batch for key in values})
    batch[:] = [(where, columns.rename(where, values)) for where, values in batch]


# what light_row reads; rows in OpenAI's or litellm's shapes need their own columns, read whole
LIGHT_COLUMNS = (ID, INPUT, MESSAGES, TIMESTAMP, INTENT, METADATA, MODEL)
_OTHER_SHAPES = ("request", "request_id", "choices")


def _parquet_batches(file_path: Path, fields: tuple[str, ...] | None = None, columns: Columns | None = None):
    """Raw rows of a Parquet file, its columns renamed by ``columns``, converted a column at a time: Arrow's own
    conversion for plain columns; only the columns that need it (datetimes, decimals, floats, metadata) go cell by
    cell. With ``fields``, only those fields' columns and the extra columns (which go into metadata) are read,
    unless the file holds other shapes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path_text = str(file_path)
    columns = columns or Columns.of(None, LOGS)
    to_field = columns.to_field
    row = 0
    try:
        parquet = pq.ParquetFile(file_path)
        file_names = parquet.schema_arrow.names
        names = columns.header(path_text, file_names) if columns.fields else file_names
        wanted = None
        if fields is not None and not any(name in names for name in _OTHER_SHAPES):
            wanted = [
                column
                for column, name in zip(file_names, names, strict=True)
                if name in fields or name not in LOG_FIELD_NAMES
            ]
        for record_batch in parquet.iter_batches(batch_size=STREAM_BATCH, columns=wanted):
            names = [to_field.get(name, name) for name in record_batch.schema.names]
            first = row + 1
            converted = [
                _parquet_column(path_text, first, name, record_batch.column(index)) for index, name in enumerate(names)
            ]
            batch = []
            for cells in zip(*converted, strict=True):
                row += 1
                values = {name: value for name, value in zip(names, cells, strict=True) if value is not None}
                batch.append((_Where(path_text, row, "row", columns), values))
            yield batch
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(path_text, f"not a readable Parquet file ({reason})") from exc


def _parquet_rows_again(rows: list[tuple[_Where, dict]], columns: Columns) -> list[tuple[_Where, dict]]:
    """The whole rows of ``rows`` (read with some columns only), read again from their files, renamed by
    ``columns``."""
    import pyarrow.parquet as pq

    to_field = columns.to_field
    by_file: dict[str, list[int]] = {}
    for where, _values in rows:
        by_file.setdefault(where.path, []).append(where.line)
    whole: dict[tuple[str, int], dict] = {}
    for path_text, lines in by_file.items():
        parquet = pq.ParquetFile(path_text)
        starts = [0]  # the first row of each row group: only the groups holding wanted rows are read, one at a time
        for group in range(parquet.metadata.num_row_groups):
            starts.append(starts[-1] + parquet.metadata.row_group(group).num_rows)
        wanted: dict[int, list[int]] = {}
        for line in sorted(set(lines)):
            group = bisect.bisect_right(starts, line - 1) - 1
            wanted.setdefault(group, []).append(line)
        for group, group_lines in wanted.items():
            table = parquet.read_row_group(group).take([line - 1 - starts[group] for line in group_lines])
            names = [to_field.get(name, name) for name in table.schema.names]
            converted = [_parquet_column(path_text, 1, name, table.column(i)) for i, name in enumerate(names)]
            for line, cells in zip(group_lines, zip(*converted, strict=True), strict=True):
                whole[(path_text, line)] = {
                    name: value for name, value in zip(names, cells, strict=True) if value is not None
                }
    return [(where, whole[(where.path, where.line)]) for where, _values in rows]


def _parquet_column(path_text: str, first_row: int, name: str, array) -> list:
    import pyarrow.compute as pc
    import pyarrow.types as t

    values = array.to_pylist()
    kind = array.type
    plain = t.is_string(kind) or t.is_large_string(kind) or t.is_integer(kind) or t.is_boolean(kind)
    if t.is_floating(kind):
        plain = not pc.any(pc.is_nan(array)).as_py()  # NaN means missing: only then cell by cell
    if name != METADATA and (plain or t.is_list(kind) or t.is_struct(kind)):
        return values  # Arrow's values are plain JSON values already
    if name == METADATA and t.is_struct(kind):
        return values
    return [
        None if value is None else _parquet_value(_Where(path_text, first_row + offset, "row"), name, value)
        for offset, value in enumerate(values)
    ]


# --- the fields drift's free layer reads, without building whole records -----------------------------
@dataclass(slots=True)
class LightRow:
    """A log row's query, time, intent, metadata and model, validated as :func:`load_logs` validates them;
    ``values`` is the raw row, for :meth:`LogStream.parse` when the whole record is wanted."""

    where: _Where
    query: Any  # a string (one user message), or the chat messages up to the last user turn
    timestamp: str | None
    intent: str | None
    metadata: dict
    model: str | None
    values: dict
    moment: datetime | None = None  # the timestamp, parsed (UTC)


def light_row(where: _Where, values: dict, log_format: str | None = None) -> LightRow:
    """The fields of ``values`` the free layer needs. Rows in OpenAI's, litellm's or a batch's formats, and any row
    whose input is not a plain string, go through the whole parser (same checks, same errors). ``log_format``: the
    file's (:attr:`LogStream.log_format`); None detects it from the row."""
    raw = values.get(INPUT)
    if (
        log_format not in (None, ROUTEEVAL)
        or values.get(MESSAGES) is not None
        or not isinstance(raw, str)
        or not raw.strip()
        or "request_id" in values
        or "request" in values
        or "choices" in values
        or "custom_id" in values
    ):
        record = _parse_log_row(where, dict(values), log_format)
        query = record.query
        moment = utc_time(record.timestamp) if record.timestamp else None
        return LightRow(
            where, query.input_value, record.timestamp, query.intent, query.metadata, record.model, values, moment
        )
    timestamp = values.get(TIMESTAMP)
    moment = utc_time(timestamp) if isinstance(timestamp, str) else None
    if timestamp is not None and moment is None:
        _parse_timestamp(where, timestamp, TIMESTAMP)  # raises, naming the row and the field
    metadata = _parse_metadata(where, values.get(METADATA), METADATA)
    extra_keys = values.keys() - LOG_FIELD_NAMES  # a set difference: cheap when there are none (most rows)
    if extra_keys:
        metadata = with_extras(where, metadata, {key: values[key] for key in extra_keys}, SAMPLE_ROW_KEYS)
    intent = _optional_str(where, values.get(INTENT), INTENT)
    if intent is None and isinstance(metadata.get(INTENT), str):
        intent = metadata[INTENT] or None
    model = _optional_str(where, values.get(MODEL), MODEL)
    return LightRow(where, raw, timestamp, intent, metadata, model, values, moment)


# --- log records ----------------------------------------------------------------------------------


def _parse_log_row(where: _Where, record: dict, log_format: str | None = None) -> LogRecord:
    """Bring a record in ``log_format`` (the file's; None: detected from the record) to routeeval's log fields,
    then validate those."""
    if log_format is None:
        log_format = record_format(record) or ROUTEEVAL
    if log_format == LITELLM_SPEND_LOGS:
        values, names = _from_litellm(where, record)
    elif log_format == OPENAI_CHAT:
        values, names = _from_openai(where, record)
    elif log_format == OPENAI_BATCH:
        values, names = _from_openai_batch(where, record)
    else:
        values, names = dict(record), {}

    def name(key: str) -> str:
        return names.get(key, key)

    raw_id = values.pop(ID, None)
    row_id = f"log-{where.line}" if raw_id is None else _parse_id(where, raw_id, name(ID))
    prompt_key = MESSAGES if values.get(MESSAGES) is not None else INPUT
    if values.get(prompt_key) is not None:
        messages = _parse_messages(where, values.pop(prompt_key), name(prompt_key), lenient=True)
        values.pop(INPUT if prompt_key == MESSAGES else MESSAGES, None)  # the other one, when empty, is not extra
    else:
        raise _missing_prompt(where, record)
    messages, answer = _split_answer(messages)
    timestamp = values.pop(TIMESTAMP, None)
    if timestamp is not None:
        _parse_timestamp(where, timestamp, name(TIMESTAMP))
    model = _optional_str(where, values.pop(MODEL, None), name(MODEL))
    response = _optional_str(where, values.pop(RESPONSE, None), name(RESPONSE))
    if response is None:
        response = answer
    prompt_tokens = _parse_count(where, values.pop(PROMPT_TOKENS, None), name(PROMPT_TOKENS))
    completion_tokens = _parse_count(where, values.pop(COMPLETION_TOKENS, None), name(COMPLETION_TOKENS))
    cost_usd = _parse_amount(where, values.pop(COST_USD, None), name(COST_USD))
    latency_ms = _parse_amount(where, values.pop(LATENCY_MS, None), name(LATENCY_MS))
    metadata = _parse_metadata(where, values.pop(METADATA, None), name(METADATA))
    # the intent, from the row or its metadata (the static and intent routers read it there in production)
    intent = _optional_str(where, values.pop(INTENT, None), name(INTENT))
    label = _parse_choice(where, values.pop(LABEL, None), name(LABEL), LABELS)  # easy/hard, from labeling
    _check_depth(where, {name(prompt_key): messages, name(METADATA): metadata, **values})
    if log_format == ROUTEEVAL:  # the team's own other columns, kept for rules and reports; a provider's
        metadata = with_extras(where, metadata, values, SAMPLE_ROW_KEYS)  # bookkeeping (key hashes, IPs) stays out
    if intent is None and isinstance(metadata.get(INTENT), str):
        intent = metadata[INTENT] or None
    query = Query(
        row_id=row_id, messages=messages, intent=intent, label=label, metadata=metadata, extra=values, line=where.line
    )
    return LogRecord(
        query=query,
        timestamp=timestamp,
        model=model,
        response=response,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost_usd,
        latency_ms=latency_ms,
    )


def _missing_prompt(where: _Where, record: dict) -> DataError:
    """A row without a prompt: when it has neither key, the file's columns and the mapping that would read one."""
    needs = f"each {where.row_word} needs 'input' or 'messages'"
    if INPUT in record or MESSAGES in record or any(key in record for key in _OTHER_SHAPES):
        return where.error(f"is missing; {needs}.", INPUT)
    columns = where.columns or Columns.of(None, LOGS)
    return columns.missing_from(where, INPUT, [columns.fields.get(key, key) for key in record], needs)


def _split_answer(messages: tuple[dict, ...]) -> tuple[tuple[dict, ...], str | None]:
    """Take the trailing assistant turns off a logged conversation: (the prompt, their text or None).

    The prompt still holds a user turn: ``_parse_messages`` required one and none was taken off.
    """
    end = len(messages)
    while messages[end - 1]["role"] == "assistant":
        end -= 1
    texts = [message["content"] for message in messages[end:] if message["content"].strip()]
    return messages[:end], "\n".join(texts) or None


def _parse_timestamp(where: _Where, value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise where.error(f"must be an ISO 8601 date and time, got {_type_name(value)}", name)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise where.error(f"must be an ISO 8601 date and time, got {_show(value)}", name) from None


def _parse_count(where: _Where, value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not _is_number(value) or value < 0 or (isinstance(value, float) and not value.is_integer()):
        raise where.error(f"must be a non-negative integer, got {_show(value)}", name)
    return int(value)


def _parse_amount(where: _Where, value: Any, name: str) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise where.error(f"must be a non-negative number, got {_show(value)}", name)
    return float(value)


def _from_openai(where: _Where, record: dict) -> tuple[dict, dict[str, str]]:
    """``{"request": {...}, "response": {chat.completion}}``, or flat ``{"messages", "choices", "usage"}``."""
    values = dict(record)
    names: dict[str, str] = {}
    if "request" in values:
        request = _decoded(where, "request", values.pop("request"))
        if not isinstance(request, dict):
            problem = f"must be an object holding 'model' and 'messages', got {_type_name(request)}"
            raise where.error(problem, "request")
        for key in (MODEL, MESSAGES, METADATA):
            if values.get(key) is None and request.get(key) is not None:
                values[key] = request[key]
                names[key] = f"request.{key}"
        completion = _decoded(where, RESPONSE, values.pop(RESPONSE, None))
        if completion is None:
            completion = {}
        if not isinstance(completion, dict):
            problem = f"must be a chat completion object with 'choices' and 'usage', got {_type_name(completion)}"
            raise where.error(problem, RESPONSE)
        prefix = "response."
        for key in (ID, MODEL):
            if values.get(key) is None and completion.get(key) is not None:
                values[key] = completion[key]
                names[key] = prefix + key
    else:
        completion = {
            key: _decoded(where, key, values.pop(key)) for key in ("choices", "usage", "created") if key in values
        }
        prefix = ""
    _apply_completion(where, completion, prefix, values, names)
    return values, names


def _apply_completion(where: _Where, completion: dict, prefix: str, values: dict, names: dict[str, str]) -> None:
    """Copy the answer, token counts and creation time of a chat.completion object into log fields."""
    if completion.get("choices") is not None and values.get(RESPONSE) is None:
        values[RESPONSE] = _choice_text(where, completion["choices"], prefix + "choices")
    usage = completion.get("usage")
    if usage is not None:
        if not isinstance(usage, dict):
            problem = f"must be an object with 'prompt_tokens' and 'completion_tokens', got {_type_name(usage)}"
            raise where.error(problem, prefix + "usage")
        for key in (PROMPT_TOKENS, COMPLETION_TOKENS):
            if values.get(key) is None and usage.get(key) is not None:
                values[key] = usage[key]
                names[key] = f"{prefix}usage.{key}"
    created = completion.get("created")
    if created is not None and values.get(TIMESTAMP) is None:
        if not _is_number(created) or not math.isfinite(created) or created < 0:
            raise where.error(f"must be a Unix time in seconds, got {_show(created)}", prefix + "created")
        values[TIMESTAMP] = datetime.fromtimestamp(created, UTC).isoformat()


def _choice_text(where: _Where, choices: Any, name: str) -> str | None:
    if not isinstance(choices, list):
        raise where.error(f"must be a list, got {_type_name(choices)}", name)
    if not choices:
        return None
    first = choices[0]
    if not isinstance(first, dict):
        raise where.error(f"must be an object, got {_type_name(first)}", f"{name}[0]")
    if first.get("message") is None:
        text, at = first.get("text"), f"{name}[0].text"  # legacy text completions
    elif isinstance(first["message"], dict):
        text, at = _content_text(first["message"].get("content")), f"{name}[0].message.content"
    else:
        raise where.error(f"must be an object, got {_type_name(first['message'])}", f"{name}[0].message")
    if text is not None and not isinstance(text, str):
        raise where.error(f"must be a string, got {_type_name(text)}", at)
    return text


def _from_litellm(where: _Where, record: dict) -> tuple[dict, dict[str, str]]:
    """A row of litellm's LiteLLM_SpendLogs table (the proxy's spend log), as exported to JSON/CSV/Parquet.

    JSON columns (``messages``, ``response``, ``metadata``, ``proxy_server_request``) may be
    JSON-encoded strings. Recent proxies keep the prompt in ``proxy_server_request`` (the request
    body) and leave ``messages`` as ``{}``; both are read.
    """
    values = dict(record)
    names = {ID: "request_id", TIMESTAMP: "startTime", COST_USD: "spend"}
    if "request_id" not in values:
        raise where.error("is missing; each row of litellm spend logs has one.", "request_id")
    values[ID] = values.pop("request_id")
    start, end = values.pop("startTime", None), values.pop("endTime", None)
    duration_ms = values.pop("request_duration_ms", None)
    if start is not None:
        values[TIMESTAMP] = start
    if start is not None and end is not None:
        started = _as_utc(_parse_timestamp(where, start, "startTime"))
        ended = _as_utc(_parse_timestamp(where, end, "endTime"))
        if ended < started:
            raise where.error(f"is before 'startTime' ({end} < {start})", "endTime")
        values[LATENCY_MS] = (ended - started).total_seconds() * 1000.0
        names[LATENCY_MS] = "endTime"
    elif duration_ms is not None:
        values[LATENCY_MS] = duration_ms
        names[LATENCY_MS] = "request_duration_ms"
    if "spend" in values:
        values[COST_USD] = values.pop("spend")
    if values.get(MODEL) == "":
        values[MODEL] = None

    messages = _decoded(where, MESSAGES, values.pop(MESSAGES, None))
    request_body = _decoded(where, "proxy_server_request", values.pop("proxy_server_request", None))
    if messages not in (None, {}, [], ""):
        values[MESSAGES] = messages
    elif isinstance(request_body, dict):
        for key in (MESSAGES, INPUT, "prompt"):
            if request_body.get(key) not in (None, {}, [], ""):
                values[MESSAGES] = request_body[key]
                names[MESSAGES] = f"proxy_server_request.{key}"
                break
    if values.get(MESSAGES) is None:
        problem = (
            "is empty and proxy_server_request holds no prompt; "
            "expected stored prompts (litellm's store_prompts_in_spend_logs setting)"
        )
        raise where.error(problem, MESSAGES)

    raw_response = values.pop(RESPONSE, None)
    values[RESPONSE] = _litellm_response_text(where, raw_response, _decoded(where, RESPONSE, raw_response))
    if METADATA in values:
        values[METADATA] = _decoded(where, METADATA, values[METADATA])
    return values, names


def _litellm_response_text(where: _Where, raw: Any, decoded: Any) -> str | None:
    """The stored response is a plain string, a chat.completion, a Responses-API object, or ``{}``."""
    if decoded in (None, {}, "", []):
        return None
    if isinstance(decoded, dict) and "choices" in decoded:
        return _choice_text(where, decoded["choices"], "response.choices")
    if isinstance(decoded, dict) and isinstance(decoded.get("output"), list):
        texts = [
            _content_text(item.get("content"))
            for item in decoded["output"]
            if isinstance(item, dict) and item.get("type") == "message"
        ]
        return "\n".join(text for text in texts if isinstance(text, str))
    if isinstance(raw, str):
        return raw  # plain text, even when it happens to be JSON
    raise where.error(f"must be a string or a chat completion object, got {_type_name(decoded)}", RESPONSE)


def _from_openai_batch(where: _Where, record: dict) -> tuple[dict, dict[str, str]]:
    """A line of an OpenAI Batch API input file (``custom_id``, ``method``, ``url``, ``body``: a chat completion
    request), with the result its output or error file holds for it, joined in by the reader (under
    ``BATCH_RESULT``). A failed request keeps no answer, token counts or cost, and says why in ``batch_error``."""
    values = dict(record)
    result = values.pop(BATCH_RESULT, None)
    names = {ID: "custom_id"}
    for key in ("custom_id", "body"):
        if key not in values:
            raise where.error("is missing; each line of an OpenAI batch input file has 'custom_id' and 'body'.", key)
    values[ID] = values.pop("custom_id")
    values.pop("method", None)
    url = values.pop("url", None)
    if url is not None and (not isinstance(url, str) or url.strip().rstrip("/") not in _CHAT_URLS):
        problem = f"is {_show(url)}; routeeval reads batches of chat completions (url '/v1/chat/completions')"
        raise where.error(problem, "url")
    body = _decoded(where, "body", values.pop("body"))
    if not isinstance(body, dict):
        problem = f"must be a chat completion request holding 'model' and 'messages', got {_type_name(body)}"
        raise where.error(problem, "body")
    for key in (MODEL, MESSAGES, METADATA):
        if body.get(key) is not None:
            values[key] = body[key]
            names[key] = f"body.{key}"
    if values.get(MESSAGES) is None:
        raise where.error("is missing; a chat completion request holds 'messages'.", "body.messages")
    if isinstance(result, BatchResult):
        _apply_batch_result(result, values)
    return values, names


_CHAT_URLS = ("/v1/chat/completions", "/chat/completions")


def _apply_batch_result(result: BatchResult, values: dict) -> None:
    """The answer, token counts, time (and, when the request named none, model) of a request's output line, checked
    and named in the output file; a failed request's reason instead."""
    where, line = result.where, result.line
    failure = batch_failure(line)
    if failure is not None:
        values["batch_error"] = failure
        return
    body = _decoded(where, "response.body", line["response"].get("body"))
    if not isinstance(body, dict):
        problem = f"must be a chat completion object with 'choices' and 'usage', got {_type_name(body)}"
        raise where.error(problem, "response.body")
    answer: dict = {}
    names: dict[str, str] = {}
    _apply_completion(where, body, "response.body.", answer, names)
    values[RESPONSE] = answer.get(RESPONSE)
    for key in (PROMPT_TOKENS, COMPLETION_TOKENS):
        values[key] = _parse_count(where, answer.get(key), names.get(key, key))
    if answer.get(TIMESTAMP) is not None:
        values[TIMESTAMP] = answer[TIMESTAMP]
    if values.get(MODEL) is None and body.get(MODEL) is not None:
        values[MODEL] = _optional_str(where, body[MODEL], "response.body.model")


def _decoded(where: _Where, name: str, value: Any) -> Any:
    """Decode a JSON-encoded object or list stored as a string; leave anything else as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        decoded = _json_or_none(where, name, value)
        if decoded is not None:
            return decoded
    return value


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
