"""The sample and labels files: their formats, one reader and one writer for each.

**Sample file** (``routeeval.sample/v1``, JSONL). Line 1 is the header: ``{"routeeval_sample": SAMPLE_SCHEMA,
"source": {"path", "sha256", "format"}, "seed", "n", "stratify", "dedupe", "since", "until", "population": {...},
"strata": {NAME: {"population", "sampled"}}, "created_at", "routeeval_version"}``. Each following line is one
sampled query, a valid log row: ``id`` (unique), ``input`` (a string or chat messages) and, when known,
``stratum``, ``intent``, ``timestamp``, ``model``, ``response``, ``prompt_tokens``, ``completion_tokens``,
``metadata``. The log and eval-set loaders skip the header, so a sample file is also a logs file.

**Labels file** (``routeeval.labels/v1``, JSONL, append-only). Each line is one event, flushed and fsynced before
the labeler moves on, so nothing typed is lost even after ``kill -9``:

- a decision: ``{"id", "label": "easy" | "hard" | "skip", "labeler", "at" (UTC ISO time), "seconds" (time spent on
  the row), "assist": "easy" | "hard" | null (the LLM classifier's suggestion shown, if any), "sample" (the
  sample file's sha256)}``;
- an undo: ``{"id", "undo": true, "labeler", "at", "sample"}``, which cancels that labeler's latest decision on
  that row.

A row's label, per labeler, is its latest decision not undone. A torn last line (the process killed mid-write) is
ignored when reading and overwritten by the next append; any other bad line is an error naming file and line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routeeval.data import SAMPLE_HEADER_KEY
from routeeval.errors import DataError

SAMPLE_SCHEMA = "routeeval.sample/v1"
SAMPLE_KEY = SAMPLE_HEADER_KEY  # the header line's marker key; loaders skip a first line holding it
LABELS_SCHEMA = "routeeval.labels/v1"
LABELS = ("easy", "hard", "skip")


# -- sample files ------------------------------------------------------------------------------------
@dataclass
class Sample:
    path: str
    sha256: str
    header: dict
    rows: list[dict]  # the raw sampled rows, in file order

    @property
    def ids(self) -> list[str]:
        return [str(row["id"]) for row in self.rows]


def is_sample_header(record: Any) -> bool:
    return isinstance(record, dict) and SAMPLE_KEY in record


def read_sample(path: str | Path) -> Sample:
    """Read a sample file; DataError (file and line) when it is not one."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(str(path), "no such file") from None
    except OSError as exc:
        raise DataError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    header: dict | None = None
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise DataError(str(path), f"not valid JSON ({exc})", line=number) from None
        if header is None:
            if not is_sample_header(record):
                raise DataError(
                    str(path),
                    "is not a sample file: its first line has no 'routeeval_sample' header (write one with "
                    "routeeval sample LOGS)",
                    line=number,
                )
            if record[SAMPLE_KEY] != SAMPLE_SCHEMA:
                raise DataError(
                    str(path), f"has sample schema {record[SAMPLE_KEY]!r}; expected {SAMPLE_SCHEMA}", line=number
                )
            header = record
            continue
        if not isinstance(record, dict):
            raise DataError(str(path), "expected a JSON object", line=number)
        row_id = record.get("id")
        if not isinstance(row_id, str | int) or isinstance(row_id, bool) or str(row_id) == "":
            raise DataError(str(path), "must be a non-empty string", line=number, field="id")
        if str(row_id) in seen:
            raise DataError(
                str(path), f"duplicates id {row_id!r} first seen on line {seen[str(row_id)]}", line=number, field="id"
            )
        seen[str(row_id)] = number
        if record.get("input") is None and record.get("messages") is None:
            raise DataError(str(path), "is missing; each row needs 'input'", line=number, field="input")
        rows.append(record)
    if header is None:
        raise DataError(str(path), "is empty; expected a sample file written by routeeval sample")
    return Sample(str(path), sha256, header, rows)


# -- labels files ------------------------------------------------------------------------------------
@dataclass
class LabelEvent:
    row_id: str
    label: str | None  # None for an undo
    labeler: str
    at: str
    seconds: float | None = None
    assist: str | None = None
    sample: str | None = None
    line: int = 0

    @property
    def undo(self) -> bool:
        return self.label is None


@dataclass
class Labels:
    """The events of one labels file, and each (labeler, row)'s current label."""

    path: str
    events: list[LabelEvent] = field(default_factory=list)
    torn_tail: bool = False  # the last line was cut short (a kill mid-write) and is ignored

    def current(self) -> dict[tuple[str, str], LabelEvent]:
        """(labeler, row id) -> the latest decision not undone (skips included)."""
        stacks: dict[tuple[str, str], list[LabelEvent]] = {}
        for event in self.events:
            stack = stacks.setdefault((event.labeler, event.row_id), [])
            if event.undo:
                if stack:
                    stack.pop()
            else:
                stack.append(event)
        return {key: stack[-1] for key, stack in stacks.items() if stack}

    def last_decision(self, labeler: str) -> LabelEvent | None:
        """The labeler's latest decision still in force (what ``u`` undoes next)."""
        current = self.current()
        live = [e for e in current.values() if e.labeler == labeler]
        return max(live, key=lambda e: e.line) if live else None


def read_labels(path: str | Path, sample_ids: Iterable[str] | None = None) -> Labels:
    """Read a labels file (a missing file is an empty one). ``sample_ids``: refuse labels for other rows."""
    path = Path(path)
    labels = Labels(str(path))
    if not path.exists():
        return labels
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(str(path), f"cannot be read ({exc})") from None
    known = set(sample_ids) if sample_ids is not None else None
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines) and not text.endswith("\n"):  # the last write was cut short
                labels.torn_tail = True
                break
            raise DataError(str(path), "not valid JSON", line=number) from None
        labels.events.append(_event(str(path), number, record, known))
    return labels


EVENT_KEYS = frozenset({"id", "label", "labeler", "at", "seconds", "assist", "sample", "undo"})


def _event(path: str, number: int, record: Any, known: set[str] | None) -> LabelEvent:
    if not isinstance(record, dict):
        raise DataError(path, "expected a JSON object", line=number)
    unknown = sorted(set(record) - EVENT_KEYS)
    if unknown:  # a hand-edited or foreign line: say so rather than guess what it meant
        raise DataError(
            path, f"is not a labels-file key (expected: {', '.join(sorted(EVENT_KEYS))})", line=number, field=unknown[0]
        )
    row_id = record.get("id")
    if not isinstance(row_id, str | int) or isinstance(row_id, bool):
        raise DataError(path, "must be a string", line=number, field="id")
    row_id = str(row_id)
    if known is not None and row_id not in known:
        raise DataError(path, f"labels row {row_id!r}, which is not in the sample", line=number, field="id")
    labeler = record.get("labeler")
    if not isinstance(labeler, str) or not labeler:
        raise DataError(path, "must be a non-empty string", line=number, field="labeler")
    at = record.get("at")
    if not isinstance(at, str):
        raise DataError(path, "must be an ISO 8601 time", line=number, field="at")
    if record.get("undo") is True:
        return LabelEvent(row_id, None, labeler, at, sample=record.get("sample"), line=number)
    label = record.get("label")
    if label not in LABELS:
        raise DataError(path, f"must be one of {', '.join(LABELS)}, got {label!r}", line=number, field="label")
    assist = record.get("assist")
    if assist not in (None, "easy", "hard"):
        raise DataError(path, f"must be easy, hard or null, got {assist!r}", line=number, field="assist")
    seconds = record.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0):
        raise DataError(path, f"must be a non-negative number, got {seconds!r}", line=number, field="seconds")
    return LabelEvent(row_id, label, labeler, at, seconds, assist, record.get("sample"), number)


class LabelsWriter:
    """Appends events to a labels file, each written, flushed and fsynced before ``append`` returns. A torn last
    line left by a kill is cut off first, so the file stays one JSON object per line."""

    def __init__(self, path: str | Path, sample_sha256: str, labeler: str) -> None:
        self.path = Path(path)
        self.sample = sample_sha256
        self.labeler = labeler
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail()
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the session

    def _repair_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as handle:
                handle.truncate(keep)
                handle.flush()
                os.fsync(handle.fileno())

    def decide(self, row_id: str, label: str, seconds: float | None, assist: str | None = None) -> dict:
        if label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, got {label!r}")
        record = {
            "id": row_id,
            "label": label,
            "labeler": self.labeler,
            "at": _now(),
            "seconds": None if seconds is None else round(seconds, 3),
            "assist": assist,
            "sample": self.sample,
        }
        self._write(record)
        return record

    def undo(self, row_id: str) -> dict:
        record = {"id": row_id, "undo": True, "labeler": self.labeler, "at": _now(), "sample": self.sample}
        self._write(record)
        return record

    def _write(self, record: dict) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> LabelsWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
