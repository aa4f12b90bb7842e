"""``routeeval sample``: a seeded, optionally stratified and deduplicated sample of production log rows.

The logs are read twice, a batch at a time (:func:`routeeval.logs.open_log_stream`), so a month of logs never has
to fit in memory. The first pass keeps per row only what sampling needs: its position in the stream, its stratum
and a 64-bit hash of its dedupe key. The second pass picks up the chosen rows' raw values (stopping after the last
one) and validates them as whole log records. The result is a sample file (``routeeval.sample/v1``, see
:mod:`routeeval.labeling.labels`) and, for Label Studio, its tasks and labeling config.

The draw, exactly (so that it can be reproduced by hand):

1. Rows outside ``since``/``until`` are dropped (``since <= timestamp < until``; a date covers its whole UTC day,
   so ``until`` is inclusive for dates; rows without a timestamp are outside any window).
2. Dedupe, in file order, keeping the first occurrence: the key is the query's text (the last user message,
   :func:`routeeval.runtime.query_text`), as it is (``exact``) or lowercased with punctuation dropped and
   whitespace collapsed (``normalized``).
3. Strata: the row's intent (from the row or ``metadata.intent``; ``(none)`` when it has none), or one stratum
   ``all`` for ``stratify="none"``. Each stratum's population is its rows left after steps 1 and 2.
4. Allocation (:func:`allocate_sample`): proportional by largest remainder, then every stratum gets at least one
   row when ``n`` allows. When ``n`` is at least the population, every row is taken.
5. In stratum ``S`` holding ``N`` rows (in file order), the rows at positions
   ``random.Random(f"{seed}/{S}").sample(range(N), k)`` are taken (a string seed is hashed with SHA-512 by
   :mod:`random`, so the draw does not depend on the process or the platform).
6. The chosen rows are written in the order ``random.Random(f"{seed}/order").shuffle`` gives their stream positions
   sorted ascending: a labeling session stopped half-way still holds a random part of the sample.

The same logs, options and seed give the same file byte for byte, but for the header's ``created_at``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import re
from array import array
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from routeeval.errors import ConfigError, DataError
from routeeval.fields import ColumnMap
from routeeval.files import write_text_atomic
from routeeval.labeling.labels import SAMPLE_KEY, SAMPLE_SCHEMA
from routeeval.logs import LogRecord, LogStream, iso_utc, light_row, open_log_stream, time_window, utc_time
from routeeval.runtime import query_text

STRATIFY_CHOICES = ("intent", "none")
DEDUPE_CHOICES = ("exact", "normalized", "none")
FORMAT_CHOICES = ("jsonl", "label-studio")
NO_INTENT = "(none)"  # the stratum of rows without an intent
ALL_ROWS = "all"  # the one stratum of stratify="none"

LABEL_STUDIO_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="difficulty" toName="text" choice="single" showInline="true">
    <Choice value="easy"/>
    <Choice value="hard"/>
  </Choices>
</View>
"""


@dataclass
class SampleResult:
    """What :func:`sample_logs` wrote and drew."""

    path: str  # the sample file (JSONL)
    header: dict  # the sample file's header record
    n_rows_read: int
    n_rows_in_window: int
    n_rows_after_dedupe: int
    n_sampled: int
    label_studio_tasks: str | None = None  # <stem>.label-studio.json, with fmt="label-studio"
    label_studio_config: str | None = None  # <stem>.label-studio.xml
    notes: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[str]:
        """Every file written, the sample file first."""
        return [p for p in (self.path, self.label_studio_tasks, self.label_studio_config) if p is not None]

    def as_dict(self) -> dict:
        return asdict(self)


def sample_logs(
    path: str | Path,
    *,
    n: int = 200,
    seed: int = 0,
    stratify: str = "intent",
    dedupe: str = "exact",
    since: str | None = None,
    until: str | None = None,
    out: str | Path | None = None,
    fmt: str = "jsonl",
    progress: Callable[[int, int], None] | None = None,
    columns: ColumnMap | None = None,
) -> SampleResult:
    """Draw ``n`` log rows of ``path`` (JSONL, CSV, Parquet, or a folder of Parquet files) into a sample file.

    ``out`` defaults to ``<logs stem>-sample-<n>.jsonl`` in the current directory. ``fmt="label-studio"`` also
    writes ``<out stem>.label-studio.json`` (tasks) and ``<out stem>.label-studio.xml`` (the labeling config).
    ``progress(rows_read, total)`` is called after each batch of the first pass. ``columns`` maps the logs' columns
    to routeeval's fields (``[columns]``, ``--map``); the sample file has routeeval's own names. Bad logs raise
    DataError (file, line, field); bad options and an empty window raise ConfigError. See the module docstring for
    the draw.
    """
    _check_options(n, seed, stratify, dedupe, fmt)
    start, end = time_window(since, until)
    stream = open_log_stream(path, columns)
    out_path = Path(out) if out is not None else Path(f"{_stem(Path(path))}-sample-{n}.jsonl")
    if _same_file(out_path, Path(path)):
        raise ConfigError(f"--out {out_path} is the logs file itself; choose another path for the sample.")

    scan = _scan(stream, stratify, dedupe, start, end, progress)
    notes = list(stream.notes) + _scan_notes(scan)
    if scan.rows_read == 0:
        raise DataError(str(path), "has no log rows; expected JSONL, CSV or Parquet log rows to sample from")
    if scan.rows_in_window == 0:
        raise ConfigError(_empty_window(str(path), since, until, scan))

    populations = {name: len(rows) for name, rows in scan.strata.items()}
    allocation = allocate_sample(populations, n)
    population = sum(populations.values())
    if stratify == "intent" and list(populations) == [NO_INTENT]:
        notes.append("no row has an intent (in the row or metadata.intent): one stratum, a simple random sample")
    if population <= n:
        notes.append(f"fewer rows than --n {n}: took all {population}")
    else:
        empty = sorted(name for name, k in allocation.items() if k == 0)
        if empty:
            notes.append(f"--n {n} is smaller than the {len(populations)} strata: no row drawn from {', '.join(empty)}")
    chosen: list[tuple[int, str]] = []  # (stream position, stratum)
    for name in sorted(allocation):
        members = scan.strata[name]
        positions = random.Random(f"{seed}/{name}").sample(range(len(members)), allocation[name])
        chosen.extend((members[p], name) for p in positions)
    chosen.sort()
    random.Random(f"{seed}/order").shuffle(chosen)

    records = _read_chosen(stream, [index for index, _name in chosen])
    rows, id_note = _sample_rows(chosen, records)
    if id_note:
        notes.append(id_note)

    header = {
        SAMPLE_KEY: SAMPLE_SCHEMA,
        "source": {
            "path": str(path),
            "sha256": stream.source_sha256(),
            "format": stream.kind,
            "log_format": stream.log_format,
        },
        "seed": seed,
        "n": n,
        "stratify": stratify,
        "dedupe": dedupe,
        "since": since,
        "until": until,
        "population": {
            "rows_read": scan.rows_read,
            "rows_in_window": scan.rows_in_window,
            "after_dedupe": population,
        },
        "strata": {
            name: {"population": populations[name], "sampled": allocation[name]}
            for name in sorted(populations, key=lambda s: (-populations[s], s))
        },
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "routeeval_version": _version(),
    }
    result = SampleResult(
        path=str(out_path),
        header=header,
        n_rows_read=scan.rows_read,
        n_rows_in_window=scan.rows_in_window,
        n_rows_after_dedupe=population,
        n_sampled=len(rows),
        notes=notes,
    )
    if fmt == "label-studio":
        base = out_path.with_suffix("") if out_path.suffix else out_path
        tasks_path = base.with_name(base.name + ".label-studio.json")
        config_path = base.with_name(base.name + ".label-studio.xml")
        write_text_atomic(tasks_path, json.dumps(label_studio_tasks(rows), ensure_ascii=False, indent=2) + "\n")
        write_text_atomic(config_path, LABEL_STUDIO_CONFIG)
        result.label_studio_tasks, result.label_studio_config = str(tasks_path), str(config_path)
    lines = [json.dumps(header, ensure_ascii=False)] + [json.dumps(row, ensure_ascii=False) for row in rows]
    write_text_atomic(out_path, "\n".join(lines) + "\n")
    return result


def allocate_sample(populations: dict[str, int], n: int) -> dict[str, int]:
    """Rows to draw from each stratum: ``n * N_s / N`` rounded by largest remainder (ties: larger fraction, then
    larger stratum, then name), then, when ``n`` is at least the number of strata, every stratum with no row takes
    one from the stratum whose allocation most exceeds its exact share. All rows when ``n >= N``."""
    total = sum(populations.values())
    if total <= n:
        return dict(populations)
    quotas = {name: n * size / total for name, size in populations.items()}
    allocation = {name: math.floor(q) for name, q in quotas.items()}
    left = n - sum(allocation.values())
    by_remainder = sorted(quotas, key=lambda s: (-(quotas[s] - allocation[s]), -populations[s], s))
    for name in by_remainder[:left]:
        allocation[name] += 1
    if n >= len(populations):
        for name in sorted(s for s in allocation if allocation[s] == 0):
            donor = min(
                (s for s in allocation if allocation[s] > 1),
                key=lambda s: (-(allocation[s] - quotas[s]), -allocation[s], s),
            )
            allocation[donor] -= 1
            allocation[name] = 1
    return allocation


def label_studio_tasks(rows: list[dict]) -> list[dict]:
    """Label Studio tasks for sample rows: ``{"data": {"id", "text", "intent", "response"}}`` (None left out)."""
    tasks = []
    for row in rows:
        data = {
            "id": row["id"],
            "text": _display_text(row["input"]),
            "intent": row.get("intent"),
            "response": row.get("response"),
        }
        tasks.append({"data": {key: value for key, value in data.items() if value is not None}})
    return tasks


# --- the first pass: what sampling needs, per row ----------------------------------------------------
@dataclass
class _Scan:
    rows_read: int = 0
    rows_in_window: int = 0
    rows_no_time: int = 0
    duplicates: int = 0
    first: dt.datetime | None = None  # the earliest and latest timestamp read, for an empty window's message
    last: dt.datetime | None = None
    strata: dict[str, array] = field(default_factory=dict)  # stratum -> stream positions, in file order


def _scan(
    stream: LogStream,
    stratify: str,
    dedupe: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    progress: Callable[[int, int], None] | None,
) -> _Scan:
    scan = _Scan()
    seen: set[int] = set()
    windowed = start is not None or end is not None
    position = 0
    for batch in stream.batches(light=True):
        for where, values in batch:
            index = position
            position += 1
            row = light_row(where, values, stream.log_format)
            moment = utc_time(row.timestamp) if row.timestamp else None
            if moment is not None:
                scan.first = moment if scan.first is None else min(scan.first, moment)
                scan.last = moment if scan.last is None else max(scan.last, moment)
            if windowed:
                if moment is None:
                    scan.rows_no_time += 1
                    continue
                if (start is not None and moment < start) or (end is not None and moment >= end):
                    continue
            scan.rows_in_window += 1
            if dedupe != "none":
                try:
                    text = query_text(row.query)[0]
                except ValueError as exc:
                    raise where.error(f"has no query text ({exc})", "input") from None
                key = _dedupe_hash(text if dedupe == "exact" else normalize_text(text))
                if key in seen:
                    scan.duplicates += 1
                    continue
                seen.add(key)
            name = (row.intent or NO_INTENT) if stratify == "intent" else ALL_ROWS
            rows = scan.strata.get(name)
            if rows is None:
                rows = scan.strata[name] = array("q")
            rows.append(index)
        scan.rows_read = position
        if progress is not None:
            progress(position, stream.total)
    return scan


def normalize_text(text: str) -> str:
    """The ``normalized`` dedupe key: lowercase, punctuation dropped, whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _dedupe_hash(key: str) -> int:
    """A 64-bit hash of a dedupe key (a set of these, not of the texts, keeps the first pass small)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# --- the second pass: the chosen rows, whole ------------------------------------------------------
def _read_chosen(stream: LogStream, positions: list[int]) -> dict[int, LogRecord]:
    """The whole log records at ``positions`` of the stream (read again, up to the last of them)."""
    wanted = set(positions)
    last = max(wanted, default=-1)
    found: dict[int, tuple[Any, dict]] = {}
    position = 0
    batches = stream.batches()
    try:
        for batch in batches:
            for where, values in batch:
                if position in wanted:
                    found[position] = (where, values)
                position += 1
            if position > last:
                break
    finally:
        batches.close()  # stop reading (and close the file) after the last chosen row
    if len(found) != len(wanted):
        raise DataError(stream.path, "changed while it was sampled (rows went missing on the second read)")
    order = sorted(found)
    records = stream.records([found[index] for index in order])
    return dict(zip(order, records, strict=True))


def _sample_rows(chosen: list[tuple[int, str]], records: dict[int, LogRecord]) -> tuple[list[dict], str | None]:
    """The sample file's rows, and a note when the log's ids could not be kept as the rows' ids."""
    originals = [_own_id(records[index]) for index, _name in chosen]
    keep_ids = all(original is not None for original in originals) and len(set(originals)) == len(originals)
    rows = []
    for (index, name), original in zip(chosen, originals, strict=True):
        record = records[index]
        query = record.query
        row = {
            "id": original if keep_ids else f"row-{index + 1}",
            "log_id": None if keep_ids else original,
            "input": query.input_value,
            "stratum": name,
            "intent": query.intent,
            "timestamp": record.timestamp,
            "model": record.model,
            "response": record.response,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "cost_usd": record.cost_usd,
            "latency_ms": record.latency_ms,
            "metadata": query.metadata or None,
        }
        rows.append({key: value for key, value in row.items() if value is not None})
    note = None
    if not keep_ids:
        missing = sum(original is None for original in originals)
        why = f"{missing} sampled rows have no id" if missing else "the sampled rows repeat ids"
        note = f"{why}: rows are named row-<position in the logs>; the log's own ids are kept as log_id"
    return rows, note


def _own_id(record: LogRecord) -> str | None:
    """The row's id in the log, or None when the log gave none (the parser names such rows ``log-<line>``)."""
    row_id = record.query.row_id
    return None if row_id == f"log-{record.query.line}" else row_id


# --- options, provenance, messages ----------------------------------------------------------------
def _check_options(n: int, seed: int, stratify: str, dedupe: str, fmt: str) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"--n must be a whole number of at least 1, got {n!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"--seed must be a whole number, got {seed!r}.")
    for option, value, choices in (
        ("--stratify", stratify, STRATIFY_CHOICES),
        ("--dedupe", dedupe, DEDUPE_CHOICES),
        ("--format", fmt, FORMAT_CHOICES),
    ):
        if value not in choices:
            raise ConfigError(f"unknown {option} {value!r}; choose from: {', '.join(choices)}.")


def _scan_notes(scan: _Scan) -> list[str]:
    notes = []
    if scan.rows_no_time:
        notes.append(f"{scan.rows_no_time} rows without a timestamp left out of the --since/--until window")
    if scan.duplicates:
        notes.append(f"{scan.duplicates} duplicate queries removed before sampling (the first of each kept)")
    return notes


def _empty_window(path: str, since: str | None, until: str | None, scan: _Scan) -> str:
    window = " ".join(f"{option} {text}" for option, text in (("--since", since), ("--until", until)) if text)
    if scan.first is None:
        return f"no row of {path} falls in the window {window}: none of its {scan.rows_read} rows has a timestamp."
    return (
        f"no row of {path} falls in the window {window}; its {scan.rows_read} rows run from "
        f"{iso_utc(scan.first)} to {iso_utc(scan.last or scan.first)}."
    )


def _stem(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and a.samefile(b)
    except OSError:
        return False


def _display_text(value: str | list[dict]) -> str:
    """A query as one text: a string as it is, chat messages as ``role: content`` lines."""
    if isinstance(value, str):
        return value
    return "\n".join(f"{message['role']}: {message.get('content') or ''}" for message in value)


def _version() -> str:
    from routeeval import __version__

    return __version__
