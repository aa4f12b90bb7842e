"""Load and validate eval sets from JSONL, CSV or Parquet: the readers and checks logs share too.

JSONL is the canonical form: one JSON object per line. CSV and Parquet carry the same columns;
in CSV, a cell holding a JSON list (``input``, ``messages``, ``reference``) or a JSON object
(``metadata``) is decoded, and empty cells count as absent; a cell may be as long as the file. Every
problem is a ``DataError`` naming the file, the line (the row, for Parquet) and the field, and saying
what was expected.

Hostile files get the same one-line errors: a path that is not a regular file (a named pipe, a
device, a socket) is refused before it is opened, so reading never waits on it; lists and objects
nested more than ``MAX_DEPTH`` levels deep are refused at load, so nothing downstream (the outcomes'
JSON, the cache key) can run out of stack on them.

A file whose columns have other names is read through a column mapping (``[columns]`` in ``routeeval.toml``,
``--map FIELD=COLUMN``; :mod:`routeeval.fields`): :class:`Columns` renames the mapped columns to routeeval's field
names as the file is read, before any cell is decoded. Columns that are no field of the file are kept: in
``Query.extra`` as read, and added to ``Query.metadata`` (a key the row's own metadata holds with another value is
an error), so static rules, outcomes and reports see them.

Production logs are read by :mod:`routeeval.logs` with the same readers and errors. An eval-set
``input`` must not end in an assistant turn: every tier would be asked to continue that turn rather
than answer it.

pandas and pyarrow are imported only inside the Parquet reader, so importing this module is cheap.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import math
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from routeeval.columns import (
    COMPLETION_TOKENS,
    COST_USD,
    INPUT,
    INTENT,
    LABEL,
    LATENCY_MS,
    PROMPT_TOKENS,
    REFERENCE,
    SCORER,
    SPLIT,
)
from routeeval.errors import DataError
from routeeval.fields import EVALSET, LOGS, ColumnMap, field_names

# Field names of the eval-set and log file contracts that are not outcome columns.
ID = "id"
METADATA = "metadata"
MESSAGES = "messages"
TIMESTAMP = "timestamp"
MODEL = "model"

# How deep lists and objects may nest in a field (``{"a": [1]}`` is 2 levels); real data needs a handful.
MAX_DEPTH = 64

ROLES = ("system", "user", "assistant", "tool")
LABELS = ("easy", "hard")
SPLITS = ("train", "test")

# Roles that chat APIs use for the same thing; accepted in logs only.
_LOG_ROLE_ALIASES = {"developer": "system", "function": "tool"}
_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
_ACCEPTED = ".jsonl, .json (JSON Lines), .csv or .parquet"
SAMPLE_HEADER_KEY = "routeeval_sample"  # the first line of a sample file (routeeval sample) holds it
_BOM = b"\xef\xbb\xbf"
_TOO_DEEP = f"is nested more than {MAX_DEPTH} levels deep; expected at most {MAX_DEPTH} levels of lists and objects"
# csv refuses cells over 131,072 characters by default; a cell may be as long as its file (up to a C long).
_CSV_MAX_CELL = 2**31 - 1
# The tokens of JSON text that matter for finding the field at a point: strings, brackets, colons, other words.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]|[^\s\[\]{}:,"]+')
_FILE_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
# CSV cells that hold numbers in log files (routeeval, OpenAI and litellm column names).
_CSV_NUMBER_FIELDS = frozenset(
    {
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
        COST_USD,
        LATENCY_MS,
        "total_tokens",
        "spend",
        "request_duration_ms",
        "created",
    }
)
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


@dataclass(frozen=True)
class Query:
    """One query: an eval-set row, or the request half of a log record."""

    row_id: str
    messages: tuple[dict, ...]
    reference: str | list[str] | None = None
    intent: str | None = None
    label: str | None = None
    scorer: str | None = None
    split: str | None = None
    metadata: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    line: int = 0

    @property
    def text(self) -> str:
        """The content of the last user message."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        return ""

    @property
    def input_value(self) -> str | list[dict]:
        """The input as given: a string when it was one user message and nothing else, else the messages."""
        if len(self.messages) == 1 and set(self.messages[0]) == {"role", "content"}:
            (message,) = self.messages
            if message["role"] == "user":
                return message["content"]
        return [dict(message) for message in self.messages]


@dataclass(frozen=True)
class EvalSet:
    path: str
    sha256: str
    rows: list[Query]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_eval_set(path: str | Path, columns: ColumnMap | None = None) -> EvalSet:
    """Read and validate an eval set, its columns read as ``columns`` maps them (``[columns]``, ``--map``); raise
    DataError at the first problem."""
    mapping = Columns.of(columns, EVALSET)
    path_text, sha256, row_word, records = _read_records(path, "an eval set file", mapping)
    rows: list[Query] = []
    first_seen: dict[str, int] = {}
    for line, values in records:
        where = _Where(path_text, line, row_word, mapping)
        for required in (ID, INPUT):
            if required not in values:
                raise mapping.missing(where, required, records, f"each {row_word} needs 'id' and 'input'")
        query = _parse_eval_row(where, values)
        _check_unique(where, query.row_id, first_seen)
        rows.append(query)
    return EvalSet(path=path_text, sha256=sha256, rows=rows)


# --- where a problem is ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    path: str
    line: int
    row_word: str
    columns: Columns | None = None  # how [columns] or --map renamed the file's columns, if they did

    def error(self, problem: str, field_name: str | None = None) -> DataError:
        if field_name and self.columns is not None and self.columns.fields:
            column = self.columns.fields.get(re.split(r"[.\[]", field_name, maxsplit=1)[0])
            if column is not None and column != field_name:
                problem = f"(column '{column}') {problem}"
        return DataError(self.path, problem, line=self.line, field=field_name, row_word=self.row_word)


# --- the column mapping: the file's column names -> routeeval's field names -------------------------------------

# Columns that often hold a field under another name, best first; a missing field's error suggests one.
_LOOKALIKES = {
    ID: ("ticket_id", "example_id", "sample_id", "question_id", "qid", "uid", "uuid", "key", "row_id", "request_id"),
    INPUT: ("question", "prompt", "query", "text", "instruction", "user_input", "input_text", "problem", "message"),
    MESSAGES: ("conversation", "chat", "turns", "dialog", "dialogue"),
    REFERENCE: ("expected_answer", "expected", "answer", "target", "gold", "ideal", "ground_truth", "solution"),
    INTENT: ("category", "topic", "task", "type", "class", "intent_name"),
    TIMESTAMP: ("created_at", "time", "date", "datetime", "created", "start_time", "ts"),
}


@dataclass(frozen=True)
class Columns:
    """How one file's columns are read as routeeval's fields: the entries of a :class:`ColumnMap` for one kind of
    file. Renaming happens as the file is read, before any cell is decoded, so a mapped column is read exactly as
    the field's own column would be (JSON cells in CSV, numbers, metadata)."""

    kind: str
    fields: dict[str, str]  # field -> the file's column
    origins: dict[str, str]  # field -> the entry as written: '[columns] id = "ticket_id"', "--map logs.input=q"
    shared: frozenset[str] = frozenset()  # fields mapped for every kind of file, not for this kind only

    @classmethod
    def of(cls, column_map: ColumnMap | None, kind: str) -> Columns:
        column_map = column_map or ColumnMap()
        fields = {name: column for name, column in column_map.for_kind(kind).items() if name != column}
        origins = {name: column_map.origin(kind, name) for name in fields}
        return cls(kind, fields, origins, column_map.shared(kind) & set(fields))

    @functools.cached_property
    def to_field(self) -> dict[str, str]:
        """The file's column -> the field it is read as."""
        return {column: name for name, column in self.fields.items()}

    def header(self, path_text: str, names: list[str], line: int | None = None) -> list[str]:
        """A file's column names (CSV header, Parquet schema) as field names; DataError for a mapped column the
        file lacks, or a file holding both a mapped column and a column named like its field."""
        self.check(path_text, names)
        to_field = self.to_field
        for name in names:
            if name in self.fields and name not in to_field:
                raise DataError(path_text, self._both(name), line=line)
        return [to_field.get(name, name) for name in names]

    def _both(self, name: str) -> str:
        """A file holding a column named like a field that the mapping reads from another column."""
        return (
            f"has a column '{name}', and {self.origins[name]} reads another column as '{name}'; rename one of them, "
            "or drop the mapping"
        )

    def check(self, path_text: str, present) -> None:
        """DataError when mapped columns are not among ``present``, the file's columns (all of them named)."""
        present = set(present)
        lacking = [name for name, column in self.fields.items() if column not in present]
        if not lacking:
            return
        entries = " and ".join(self.origins[name] for name in lacking)
        verb = "names a column" if len(lacking) == 1 else "name columns"
        shown = ", ".join(sorted(present)) or "none"
        problem = f"{entries} {verb} the file does not have; its columns: {shown}"
        other = LOGS if self.kind == EVALSET else EVALSET
        shared = [name for name in lacking if name in self.shared and name in field_names(other)]
        if shared:  # entries for every file, which this one lacks: written for the other kind of file only
            if all(self.origins[name].startswith("--map") for name in shared):
                written = " ".join(f"--map {other}.{name}={self.fields[name]}" for name in shared)
            else:
                written = ", ".join(f'[columns.{other}] {name} = "{self.fields[name]}"' for name in shared)
            problem += f"; to map them in the {_KIND_WORDS[other]} only, write {written}"
        raise DataError(path_text, problem)

    def rename(self, where: _Where, values: dict) -> dict:
        """A record with its keys as field names (JSON Lines, where each line names its own keys)."""
        to_field = self.to_field
        renamed = {}
        for key, value in values.items():
            if key in to_field:
                renamed[to_field[key]] = value
            elif key in self.fields:
                raise DataError(where.path, self._both(key), line=where.line, row_word=where.row_word)
            else:
                renamed[key] = value
        return renamed

    def missing(self, where: _Where, name: str, records, needs: str) -> DataError:
        """The error for a row without the required field ``name``: when no row has it, the file's columns and the
        mapping that would read one of them as ``name``."""
        if any(name in values for _line, values in records):
            return where.error(f"is missing; {needs}.", name)
        originals = self.fields  # a renamed key, as the file names it
        present: list[str] = []
        for _line, values in records:
            present.extend(originals.get(key, key) for key in values if originals.get(key, key) not in present)
            if len(present) > 40:
                break
        return self.missing_from(where, name, present, needs)

    def missing_from(self, where: _Where, name: str, present: list[str], needs: str) -> DataError:
        """The error for a row without ``name`` whose file has the columns ``present``."""
        if name in self.fields:
            return where.error(f"is missing ({needs}; {self.origins[name]})", name)
        mapped = set(self.fields.values())
        candidates = [column for column in present if column not in mapped and column not in field_names(self.kind)]
        guess = lookalike(name, candidates)
        column = guess or "COLUMN"
        if self.kind == EVALSET:
            hint = f'[columns] {name} = "{column}" or --map {name}={column}'
        else:  # only the logs: a shared entry would also rename the eval set's columns in `run`
            hint = f'[columns.{self.kind}] {name} = "{column}" or --map {self.kind}.{name}={column}'
        listed = ", ".join(present) if present else "none"
        which = "map one with" if guess else "map the column that holds it with"
        return where.error(f"is missing ({needs}); the file has columns {listed}; {which} {hint}", name)


_KIND_WORDS = {EVALSET: "eval set", LOGS: "logs"}


def lookalike(name: str, columns: list[str]) -> str | None:
    """The column of ``columns`` that most looks like it holds the field ``name``, or None."""
    import difflib

    lowered = {column.strip().lower().replace("-", "_").replace(" ", "_"): column for column in columns}
    for candidate in _LOOKALIKES.get(name, ()):
        if candidate in lowered:
            return lowered[candidate]
    for text, column in lowered.items():
        parts = text.split("_")
        if name in parts or (name == ID and text.endswith("_id")):
            return column
    close = difflib.get_close_matches(name, list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def with_extras(where: _Where, metadata: dict, extras: dict, skip: tuple[str, ...] = ()) -> dict:
    """``metadata`` with the row's extra columns added (not null, not empty); an extra column whose name is a key
    of ``metadata`` with another value is an error, never a silent overwrite."""
    merged = metadata
    for key, value in extras.items():
        if value is None or value == "" or key in skip:
            continue
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise where.error("holds binary data; expected text, a number, a list or an object", key) from None
        elif isinstance(value, time | timedelta):
            value = str(value)
        if key in merged:
            if merged[key] != value:
                problem = (
                    f"is an extra column, and 'metadata' has a key {key!r} with another value "
                    f"({_show(merged[key])}, the column {_show(value)}); extra columns go into metadata: "
                    "rename the column or the key"
                )
                raise where.error(problem, key)
            continue
        if merged is metadata:
            merged = dict(metadata)
        merged[key] = value
    return merged


def _check_unique(where: _Where, row_id: str, first_seen: dict[str, int]) -> None:
    if row_id in first_seen:
        raise where.error(f"duplicates {row_id!r} first seen on {where.row_word} {first_seen[row_id]}", ID)
    first_seen[row_id] = where.line


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


def _show(value: Any) -> str:
    """A value for an error message: strings quoted (and cut short), numbers as written, else the type."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return _type_name(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- reading files into (line, dict) records ------------------------------------------------------


def _read_records(
    path: str | Path, what: str, columns: Columns | None = None
) -> tuple[str, str, str, list[tuple[int, dict]]]:
    """Return (path as text, sha256, "line" or "row", [(line, record)]) for a JSONL, CSV or Parquet file, the
    columns renamed to fields as ``columns`` says."""
    path_text = str(path)
    file_path = Path(path)
    _check_regular_file(path_text, file_path, what)
    suffix = file_path.suffix.lower()
    kind = _FORMATS.get(suffix)
    if kind is None:
        got = f"'{suffix}' files" if suffix else "a file without an extension"
        raise DataError(path_text, f"cannot read {got}; expected {_ACCEPTED}")
    if kind == "parquet":
        records = _read_parquet(path_text, file_path, columns)
        return path_text, file_sha256(file_path), "row", records
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        raise DataError(path_text, f"cannot be read ({exc.strerror or exc})") from exc
    sha256 = hashlib.sha256(raw).hexdigest()
    text = _decode_utf8(path_text, raw)
    records = _read_jsonl(path_text, text) if kind == "jsonl" else _read_csv(path_text, text, columns)
    if records and SAMPLE_HEADER_KEY in records[0][1]:  # a sample file (routeeval sample): rows follow its header
        records = records[1:]
        if not records:
            raise DataError(path_text, "is a sample file without rows")
    if kind == "jsonl" and columns is not None and columns.fields:
        columns.check(path_text, {key for _line, values in records for key in values})
        records = [(line, columns.rename(_Where(path_text, line, "line"), values)) for line, values in records]
    return path_text, sha256, "line", records


def _check_regular_file(path_text: str, file_path: Path, what: str) -> None:
    """Refuse what is not a regular file before opening it: a named pipe would wait forever, a device never end."""
    try:
        mode = file_path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(path_text, "no such file") from None
    except OSError as exc:
        raise DataError(path_text, f"cannot be read ({exc.strerror or exc})") from None
    expected = f"expected {what} (.jsonl, .csv or .parquet)"
    if stat.S_ISDIR(mode):
        raise DataError(path_text, f"is a directory; {expected}")
    if not stat.S_ISREG(mode):
        kind = next((name for is_kind, name in _FILE_KINDS if is_kind(mode)), "something else")
        raise DataError(path_text, f"is not a regular file ({kind}); {expected}")


def _decode_utf8(path_text: str, raw: bytes) -> str:
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {column})"
        raise DataError(path_text, problem, line=line) from exc


def _read_jsonl(path_text: str, text: str) -> list[tuple[int, dict]]:
    records: list[tuple[int, dict]] = []
    for index, line_text in enumerate(text.split("\n")):
        if not line_text.strip():
            continue
        line = index + 1
        try:
            value = json.loads(line_text)
        except json.JSONDecodeError as exc:
            if not records:
                _reject_single_document(path_text, text)
            problem = f"not valid JSON ({exc.msg} at column {exc.colno})"
            raise DataError(path_text, problem, line=line) from exc
        except (RecursionError, ValueError) as exc:
            raise _undecodable(path_text, line, line_text, exc) from None
        if not isinstance(value, dict):
            raise DataError(path_text, f"expected a JSON object, got {_type_name(value)}", line=line)
        records.append((line, value))
    if not records:
        raise DataError(path_text, "the file is empty; expected one JSON object per line")
    return records


def _reject_single_document(path_text: str, text: str) -> None:
    """A pretty-printed JSON file fails on its first line; say what it is instead."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # invalid, an over-long integer, or too deep: the line's error stands
        return
    kind = "array" if isinstance(document, list) else "object"  # only these can span lines
    problem = f"holds a single multi-line JSON {kind}; expected one JSON object per line (JSON Lines)"
    raise DataError(path_text, problem)


def _undecodable(path_text: str, line: int, line_text: str, exc: Exception) -> DataError:
    """The error for a line of JSON that json.loads cannot decode: nested too deeply, or an integer too long."""
    if isinstance(exc, RecursionError):
        field_name = _field_at(line_text, lambda depth, _token: depth > MAX_DEPTH)
        return DataError(path_text, _TOO_DEEP, line=line, field=field_name)
    limit = sys.get_int_max_str_digits()  # the one other ValueError: an integer longer than Python converts
    field_name = _field_at(line_text, lambda _depth, token: _digit_count(token) > limit)
    problem = f"holds an integer of more than {limit} digits; expected a number of at most {limit} digits"
    return DataError(path_text, problem, line=line, field=field_name)


def _field_at(line_text: str, found: Callable[[int, str], bool]) -> str | None:
    """The top-level key of the JSON object on ``line_text`` under which ``found(depth, token)`` first holds.

    Only called once ``json.loads`` failed, to name the field of a line it could not decode.
    """
    depth = 0
    key = last_string = None
    for match in _JSON_TOKEN.finditer(line_text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
        elif token in ("]", "}"):
            depth -= 1
        elif token == ":" and depth == 1:
            key = last_string
        elif token.startswith('"'):
            if depth == 1:
                last_string = _string_value(token)
            continue
        if found(depth, token):
            return key
    return None


def _string_value(token: str) -> str | None:
    try:
        return json.loads(token)
    except ValueError:
        return None


def _digit_count(token: str) -> int:
    digits = token.removeprefix("-")
    return len(digits) if digits.isdigit() else 0


def _read_csv(path_text: str, text: str, columns: Columns | None = None) -> list[tuple[int, dict]]:
    # csv's cap on a cell is process-wide: raise it for this file (no cell is longer than the file), then restore.
    previous = csv.field_size_limit(min(len(text) + 1, _CSV_MAX_CELL))
    try:
        return _read_csv_rows(path_text, text, columns)
    finally:
        csv.field_size_limit(previous)


def _read_csv_rows(path_text: str, text: str, columns: Columns | None) -> list[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, dict]] = []
    header: list[str] | None = None
    header_line = 0
    last_line = 0
    try:
        for cells in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = _csv_header(path_text, line, cells)
                if columns is not None and columns.fields:
                    header = columns.header(path_text, header, line)
                header_line = line
                continue
            if len(cells) != len(header):
                problem = f"has {len(cells)} cells but the header (line {header_line}) names {len(header)} columns"
                raise DataError(path_text, problem, line=line)
            where = _Where(path_text, line, "line")
            values = {
                name: _csv_cell(where, name, cell)
                for name, cell in zip(header, cells, strict=True)
                if name and cell != ""
            }
            records.append((line, values))
    except csv.Error as exc:
        raise DataError(path_text, f"not valid CSV ({exc})", line=last_line + 1) from exc
    if header is None:
        raise DataError(
            path_text, "the file is empty; expected a header line naming the columns, then one row per line"
        )
    if not records:
        raise DataError(path_text, "the file has a header but no rows", line=header_line)
    return records


def _csv_header(path_text: str, line: int, cells: list[str]) -> list[str]:
    header = [cell.strip() for cell in cells]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise DataError(path_text, f"column {name!r} appears twice in the header", line=line)
        seen.add(name)
    return header


def _csv_cell(where: _Where, name: str, cell: str) -> Any:
    """Decode the cells CSV cannot type: JSON lists and objects, and numbers in log columns."""
    stripped = cell.strip()
    if name in (INPUT, MESSAGES) and stripped.startswith("["):
        decoded = _json_or_none(where, name, stripped)
        if isinstance(decoded, list) and decoded and all(isinstance(item, dict) for item in decoded):
            return decoded
    elif name == REFERENCE and stripped.startswith("["):
        decoded = _json_or_none(where, name, stripped)
        if isinstance(decoded, list):
            return decoded
    elif name == METADATA:
        decoded = _json_or_none(where, name, stripped)
        if isinstance(decoded, dict):
            return decoded
        raise where.error(f"must be a JSON object, got {_show(cell)}", name)
    elif name in _CSV_NUMBER_FIELDS:
        try:
            return int(stripped)
        except ValueError:
            pass
        try:
            return float(stripped)
        except ValueError:
            raise where.error(f"must be a non-negative number, got {_show(cell)}", name) from None
    return cell


def _json_or_none(where: _Where, name: str, text: str) -> Any:
    """The JSON value ``text`` holds, or None when it holds none; nesting too deep to decode is an error."""
    try:
        return json.loads(text)
    except RecursionError:
        raise where.error(_TOO_DEEP, name) from None
    except ValueError:  # not JSON, or an integer longer than Python converts
        return None


def _read_parquet(path_text: str, file_path: Path, columns: Columns | None = None) -> list[tuple[int, dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file_path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(path_text, f"not a readable Parquet file ({reason})") from exc
    if columns is not None and columns.fields:
        table = table.rename_columns(columns.header(path_text, table.schema.names))
    records: list[tuple[int, dict]] = []
    for index, row in enumerate(table.to_pylist()):
        where = _Where(path_text, index + 1, "row")
        values = {}
        for name, value in row.items():
            plain = _parquet_value(where, name, value)
            if plain is not None:
                values[name] = plain
        records.append((index + 1, values))
    if not records:
        raise DataError(path_text, "the file has no rows")
    return records


def _parquet_value(where: _Where, name: str, value: Any) -> Any:
    """Make Arrow's datetimes, decimals, NaN (missing floats) and maps (pairs) plain JSON values."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if name == METADATA and isinstance(value, list) and all(isinstance(item, tuple) for item in value):
        return dict(value)
    if name == METADATA and isinstance(value, str):
        decoded = _json_or_none(where, name, value)
        return decoded if isinstance(decoded, dict) else value
    return value


# --- eval-set rows --------------------------------------------------------------------------------


def _parse_eval_row(where: _Where, record: dict) -> Query:
    values = dict(record)
    for required in (ID, INPUT):
        if required not in values:
            raise where.error(f"is missing; each {where.row_word} needs 'id' and 'input'.", required)
    row_id = _parse_id(where, values.pop(ID), ID)
    messages = _parse_messages(where, values.pop(INPUT), INPUT, lenient=False)
    if messages[-1]["role"] == "assistant":
        problem = (
            "ends with an assistant turn; routeeval would send it to every tier as a prefill to continue. "
            f"End {INPUT!r} with the turn to answer and put the expected answer in {REFERENCE!r}."
        )
        raise where.error(problem, INPUT)
    reference = _parse_reference(where, values.pop(REFERENCE, None))
    intent = _optional_str(where, values.pop(INTENT, None), INTENT)
    label = _parse_choice(where, values.pop(LABEL, None), LABEL, LABELS)
    scorer = _optional_str(where, values.pop(SCORER, None), SCORER)
    split = _parse_choice(where, values.pop(SPLIT, None), SPLIT, SPLITS)
    metadata = _parse_metadata(where, values.pop(METADATA, None), METADATA)
    _check_depth(where, {INPUT: messages, METADATA: metadata, **values})
    return Query(
        row_id=row_id,
        messages=messages,
        reference=reference,
        intent=intent,
        label=label,
        scorer=scorer,
        split=split,
        metadata=with_extras(where, metadata, values),  # the other columns, kept for rules and reports
        extra=values,
        line=where.line,
    )


def _check_depth(where: _Where, fields: dict[str, Any]) -> None:
    """Refuse a field whose lists and objects nest deeper than MAX_DEPTH; walked level by level, never recursing."""
    for name, value in fields.items():
        level, depth = [value], 0
        while level := [item for item in level if isinstance(item, dict | list | tuple)]:
            depth += 1
            if depth > MAX_DEPTH:
                raise where.error(_TOO_DEEP, name)
            level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)]


def _parse_id(where: _Where, value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise where.error(f"must be a non-empty string, got {_type_name(value)}", name)
    text = str(value)
    if not text.strip():
        raise where.error("must be a non-empty string, got an empty string", name)
    return text


def _parse_messages(where: _Where, value: Any, name: str, *, lenient: bool) -> tuple[dict, ...]:
    """A string becomes one user message; a list must be chat messages with at least one user turn.

    ``lenient`` (logs) also takes content given as a list of text parts or null, and the
    ``developer``/``function`` role names.
    """
    empty = "is empty; expected a non-empty string or a list of chat messages"
    if isinstance(value, str):
        if not value.strip():
            raise where.error(empty, name)
        return ({"role": "user", "content": value},)
    if not isinstance(value, list):
        raise where.error(f"must be a string or a list of chat messages, got {_type_name(value)}", name)
    if not value:
        raise where.error(empty, name)
    messages = []
    for index, item in enumerate(value):
        at = f"{name}[{index}]"
        if not isinstance(item, dict):
            problem = f"must be a chat message object with 'role' and 'content', got {_type_name(item)}"
            raise where.error(problem, at)
        message = {key: part for key, part in item.items() if part is not None or key == "content"}
        for key in ("role", "content"):
            if key not in message:
                raise where.error("is missing; each message needs 'role' and 'content'.", f"{at}.{key}")
        role = message["role"]
        if lenient and isinstance(role, str):
            role = _LOG_ROLE_ALIASES.get(role, role)
        if role not in ROLES:
            raise where.error(f"must be one of {', '.join(ROLES)}, got {_show(role)}", f"{at}.role")
        content = _content_text(message["content"]) if lenient else message["content"]
        if lenient and content is None:
            content = ""
        if not isinstance(content, str):
            raise where.error(f"must be a string, got {_type_name(content)}", f"{at}.content")
        message["role"] = role
        message["content"] = content
        messages.append(message)
    if not any(message["role"] == "user" for message in messages):
        raise where.error("has no message with role 'user'; expected at least one", name)
    return tuple(messages)


def _content_text(content: Any) -> Any:
    """Join the text parts of a multi-part content list; anything else is returned unchanged."""
    if not isinstance(content, list):
        return content
    texts = [
        part["text"]
        for part in content
        if isinstance(part, dict) and part.get("type", "text") in _TEXT_PART_TYPES and isinstance(part.get("text"), str)
    ]
    return "\n".join(texts)


def _parse_reference(where: _Where, value: Any) -> str | list[str] | None:
    expected = "must be a string or a list of strings"
    if value is None or isinstance(value, str):
        return value
    if _is_number(value):
        return _number_text(where, value, REFERENCE)
    if not isinstance(value, list):
        raise where.error(f"{expected}, got {_type_name(value)}", REFERENCE)
    if not value:
        raise where.error(f"{expected}, got an empty list", REFERENCE)
    answers = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            answers.append(item)
        elif _is_number(item):
            answers.append(_number_text(where, item, f"{REFERENCE}[{index}]"))
        else:
            raise where.error(f"{expected}, got a list holding {_type_name(item)}", REFERENCE)
    return answers


def _number_text(where: _Where, value: int | float, name: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise where.error(f"must be a string or a finite number, got {value!r}", name)
    return str(value)


def _optional_str(where: _Where, value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise where.error(f"must be a string, got {_type_name(value)}", name)
    return value or None


def _parse_choice(where: _Where, value: Any, name: str, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    expected = " or ".join(f"'{choice}'" for choice in choices)
    raise where.error(f"must be {expected}, got {_show(value)}", name)


def _parse_metadata(where: _Where, value: Any, name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise where.error(f"must be an object, got {_type_name(value)}", name)
    return dict(value)
