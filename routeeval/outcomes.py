"""The outcomes table: one row per query × tier, in the long format of the contract, and the rows × tiers
matrix the routers read (``RouterData``, built by ``pivot_outcomes``).

Replayed and imported data land in exactly this shape, so the optimizer cannot tell them apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routeeval import columns as C
from routeeval.errors import DataError
from routeeval.files import atomic_path

REQUIRED_COLUMNS = (C.ROW_ID, C.TIER, C.SCORE, C.COST_USD)
_DTYPES = {
    C.ROW_ID: "string",
    C.TIER: "string",
    C.RESPONSE: "string",
    C.SCORE: "float64",
    C.COST_USD: "float64",
    C.LATENCY_MS: "float64",
    C.PROMPT_TOKENS: "Int64",
    C.COMPLETION_TOKENS: "Int64",
    C.ERROR: "string",
    C.CACHED: "boolean",
    C.INPUT: "string",
    C.INTENT: "string",
    C.LABEL: "string",
    C.SPLIT: "string",
    C.SOURCE: "string",
    C.SCORER: "string",
    C.LOGPROB_MEAN: "float64",
    C.REFERENCE: "string",
    C.METADATA: "string",
    C.UNSCORED: "string",
    C.USAGE_ESTIMATED: "boolean",
}


def outcomes_frame(records: list[dict]):
    """Build the outcomes DataFrame from row dicts keyed by the column names."""
    import pandas as pd

    frame = pd.DataFrame.from_records(records, columns=list(_DTYPES))
    return frame.astype(_DTYPES)


def write_outcomes(frame, path: str | Path, metadata: dict | None = None) -> Path:
    """Write the outcomes as Parquet; ``metadata`` (str -> str) goes into the file's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        existing = table.schema.metadata or {}
        extra = {f"routeeval.{k}".encode(): str(v).encode() for k, v in metadata.items()}
        table = table.replace_schema_metadata({**existing, **extra})
    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)
    return path


def read_outcomes(path: str | Path, *, compact: bool = False):
    """Read and check an outcomes Parquet file; raises DataError naming what is wrong.

    ``compact``: text columns come back as pandas categoricals, dictionary-encoded as Parquet stores
    them, instead of "string" columns: the same values in a fraction of the time and memory, for
    large tables (the optimizer reads them so). Read their values with :func:`column_codes`.
    """
    import stat

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(str(path), "no such file") from None
    except OSError as exc:
        raise DataError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise DataError(str(path), "is a directory; expected an outcomes .parquet file")
    if not stat.S_ISREG(mode):  # a named pipe would wait forever, a device never end
        raise DataError(str(path), "is not a regular file; expected an outcomes .parquet file")
    try:
        frame = _read_compact(path) if compact else pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(str(path), f"not a readable Parquet file ({exc})") from None
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise DataError(
                str(path),
                f"column '{column}' is missing; outcomes need {', '.join(REQUIRED_COLUMNS)}",
            )
    for column, dtype in _DTYPES.items():
        if compact and dtype == "string":
            if column not in frame.columns or not isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = _categorical_text(frame, column)
            continue
        if column not in frame.columns:
            frame[column] = None
        elif dtype != "string" and frame[column].dtype == dtype:
            continue  # already so: assigning a column again can copy it
        try:
            frame[column] = frame[column].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise DataError(str(path), f"column '{column}' cannot be read as {dtype} ({exc})") from None
    score = frame[C.SCORE].to_numpy()
    bad_rows = (score < 0) | (score > 1)  # NaN compares False
    if bad_rows.any():
        bad = int(bad_rows.argmax())
        raise DataError(str(path), "must be between 0 and 1", line=bad + 1, field=C.SCORE, row_word="row")
    return frame


def column_codes(column):
    """(codes, values) of a text column: row i holds ``values[codes[i]]``, or is missing where the code is -1.

    ``values`` is an object array. A categorical column (``read_outcomes(..., compact=True)``) gives its
    stored codes at once; any other column is factorized (values in order of first appearance).
    """
    import numpy as np
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.codes), column.cat.categories.to_numpy(dtype=object)
    codes, values = pd.factorize(column, use_na_sentinel=True)
    return codes, np.asarray(values, dtype=object)


def text_mask(column, value: str, *, missing: bool = False):
    """Boolean array: rows of the text ``column`` equal to ``value`` (and, with ``missing``, rows without one)."""
    import numpy as np

    codes, values = column_codes(column)
    hits = np.append(values == value, missing)  # code -1 (missing) reads the last entry
    return hits[codes]


def _text_columns(schema) -> list[str]:
    """The contract's text columns that the file stores as text (plain or dictionary-encoded)."""
    import pyarrow as pa

    def is_text(kind) -> bool:
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        return pa.types.is_string(kind) or pa.types.is_large_string(kind)

    return [field.name for field in schema if _DTYPES.get(field.name) == "string" and is_text(field.type)]


def _read_compact(path: Path):
    """The compact frame: text columns as categoricals, other columns converted one by one.

    Repetitive text is read dictionary-encoded, as Parquet stores it; row ids, one per query, are encoded
    after (:func:`_arrow_categorical`). Columns stay one block each: gathering them into 2-D blocks would
    copy them. Arrow allocates from jemalloc (else the system allocator): its default mimalloc pool keeps
    the freed table's pages, which cost ~600 MB of peak memory on a million queries.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    text = _text_columns(pq.read_schema(path))
    options = ds.ParquetReadOptions(dictionary_columns=[name for name in text if name != C.ROW_ID])
    pool = _memory_pool()
    table = ds.dataset(path, format=ds.ParquetFileFormat(read_options=options)).to_table(memory_pool=pool)
    parts = {name: _arrow_categorical(table.column(name), pool) for name in text}
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        # Nullable integers and booleans straight to pandas' masked arrays.
        if _DTYPES.get(name) == "Int64" and kind == pa.int64():
            parts[name] = _masked_integers(table.column(name))
        elif _DTYPES.get(name) == "boolean" and kind == pa.bool_():
            parts[name] = pd.BooleanDtype().__from_arrow__(table.column(name))
    rest = table.drop_columns(list(parts)).to_pandas(split_blocks=True, memory_pool=pool)
    index = rest.index if len(rest.columns) else pd.RangeIndex(table.num_rows)
    names = [name for name in table.column_names if name in parts or name in rest.columns]
    del table
    return pd.DataFrame({name: parts[name] if name in parts else rest[name] for name in names}, index=index, copy=False)


def _masked_integers(column):
    """pandas' Int64 array of an Arrow int64 column, its values copied once (pandas' own conversion copies twice)."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    values = np.empty(len(column), dtype=np.int64)
    start = 0
    for chunk in column.chunks:
        if chunk.null_count:
            chunk = pc.fill_null(chunk, 0)
        values[start : start + len(chunk)] = chunk.to_numpy()
        start += len(chunk)
    return pd.arrays.IntegerArray(values, column.is_null().to_numpy(zero_copy_only=False))


def _memory_pool():
    import pyarrow as pa

    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc
        return pa.system_memory_pool()


def _arrow_categorical(column, pool=None):
    """A pandas categorical of str from an Arrow text column (chunked, plain or dictionary-encoded)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        return _dictionary_categorical(column)
    runs = _run_categorical(column, pool)
    if runs is not None:
        return runs
    encoded = pc.dictionary_encode(column.combine_chunks(memory_pool=pool), memory_pool=pool)
    codes = pc.coalesce(encoded.indices, pa.scalar(-1, encoded.indices.type), memory_pool=pool).to_numpy()
    categories = pd.Index(encoded.dictionary.cast(pa.string()).to_pandas())
    return pd.Categorical.from_codes(codes.astype(np.int32, copy=False), dtype=pd.CategoricalDtype(categories))


def _dictionary_categorical(column):
    """A categorical from a dictionary-encoded Arrow column, its codes written once in pandas' own code type.

    The categories are the first chunk's dictionary, then each later chunk's new values, in order (as Arrow's
    ``unify_dictionaries`` orders them); each chunk's indices go through a small lookup into the codes.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    position: dict = {}
    lookups, previous = [], None
    for chunk in column.chunks:
        if previous is None or not chunk.dictionary.equals(previous):
            values = chunk.dictionary.to_pylist()
            lookup = np.array([-1 if v is None else position.setdefault(v, len(position)) for v in values] + [-1])
            previous = chunk.dictionary
        lookups.append(lookup)
    n_categories = len(position)
    kind = np.int8 if n_categories < 127 else np.int16 if n_categories < 32767 else np.int32  # as pandas stores them
    codes = np.empty(len(column), dtype=kind)
    start = 0
    for chunk, lookup in zip(column.chunks, lookups, strict=True):
        indices = chunk.indices
        if chunk.null_count:  # a missing value reads the lookup's last entry, -1
            indices = pc.fill_null(indices, pa.scalar(len(lookup) - 1, indices.type))
        np.take(lookup.astype(kind), indices.to_numpy(), out=codes[start : start + len(chunk)])
        start += len(chunk)
    categories = pd.Index(pa.array(list(position), type=pa.string()).to_pandas())
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))


def _run_categorical(column, pool=None):
    """A text column whose equal values come in runs (row ids, each query's tiers together) as a categorical
    with one category per run, in order; None when a value is missing or comes back after its run.

    Comparing neighbours is far cheaper than hashing every value (dictionary encoding); only the runs' first
    values are checked for uniqueness, which is a scan when they ascend.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    n_values = len(column)
    if n_values < 2 or column.null_count:
        return None
    starts = np.empty(n_values, dtype=bool)
    starts[0] = True
    changed = pc.not_equal(column.slice(1), column.slice(0, n_values - 1), memory_pool=pool)
    starts[1:] = changed.to_numpy(zero_copy_only=False)
    if np.count_nonzero(starts) > n_values // 2:  # mostly runs of one: dictionary encoding is the way
        return None
    firsts = pc.filter(column, pa.array(starts), memory_pool=pool).to_numpy(zero_copy_only=False)
    categories = pd.Index(firsts, dtype=object)
    if not categories.is_unique:
        return None
    codes = np.cumsum(starts, dtype=np.int32)
    codes -= 1
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))


def _categorical_text(frame, column: str):
    """A text column of the compact frame as a categorical of str (all missing when the file lacks it)."""
    import numpy as np
    import pandas as pd

    if column not in frame.columns:
        return pd.Categorical.from_codes(np.full(len(frame), -1, dtype=np.int8), categories=pd.Index([], dtype=str))
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    return values.astype("string").astype("category")


def read_outcomes_metadata(path: str | Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    raw = pq.read_schema(path).metadata or {}
    prefix = b"routeeval."
    return {k[len(prefix) :].decode(): v.decode() for k, v in raw.items() if k.startswith(prefix)}


# --- the rows x tiers matrix the routers read ------------------------------------------------------


@dataclass
class RouterData:
    """One entry per query (``row_ids``, ``inputs``, ``intents``, ...) and n x T arrays per tier."""

    row_ids: list[str]
    inputs: list[Any]  # a string, or a list of chat messages
    tiers: list[str]
    score: Any  # n x T float, NaN where the call failed
    cost_usd: Any
    latency_ms: Any
    logprob_mean: Any
    responses: Any  # n x T object: the answer text, or None
    intents: list[str | None] = field(default_factory=list)
    labels: list[str | None] = field(default_factory=list)
    splits: list[str | None] = field(default_factory=list)
    metadata: list[dict | None] = field(default_factory=list)  # per query, for static rules on metadata
    input_codes: Any = None  # n ints, equal exactly where the query is one object (the pivot's); None: not known

    @property
    def n_rows(self) -> int:
        return len(self.row_ids)

    def correct(self, at: float = 0.5):
        """n x T correctness in {0, 1}: score >= ``at``; NaN where the call failed.

        For the oracle baseline only: the routers learn from the graded ``score``."""
        import numpy as np

        correct = (self.score >= at).astype(float)
        correct[np.isnan(self.score)] = np.nan
        return correct

    def subset(self, index) -> RouterData:
        """The rows ``index`` (an index array or a boolean mask)."""
        import numpy as np

        index = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index)
        pick = index.tolist()  # Python ints: list indexing with them is the fast path
        return RouterData(
            row_ids=[self.row_ids[i] for i in pick],
            inputs=[self.inputs[i] for i in pick],
            tiers=list(self.tiers),
            score=self.score[index],
            cost_usd=self.cost_usd[index],
            latency_ms=self.latency_ms[index],
            logprob_mean=self.logprob_mean[index],
            responses=self.responses[index],
            intents=[self.intents[i] for i in pick] if self.intents else [],
            labels=[self.labels[i] for i in pick] if self.labels else [],
            splits=[self.splits[i] for i in pick] if self.splits else [],
            metadata=[self.metadata[i] for i in pick] if self.metadata else [],
            input_codes=self.input_codes[index] if self.input_codes is not None else None,
        )


def decode_input(value: Any) -> Any:
    """The query as the runtime gets it: the outcomes table stores chat messages as a JSON string."""
    if isinstance(value, str) and value.startswith("["):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            return value
        if isinstance(decoded, list) and decoded and all(isinstance(m, dict) and "role" in m for m in decoded):
            return decoded
    return value


def decode_metadata(value: Any) -> dict | None:
    """A query's metadata from its outcomes cell (a JSON object as text); None when absent or not an object."""
    if not isinstance(value, str) or not value:
        return None
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


def pivot_outcomes(frame, tiers: list[str] | None = None, source: str | None = C.SOURCE_EVAL) -> RouterData:
    """Pivot the long outcomes table to n rows x T tiers (rows in order of first appearance).

    ``tiers`` gives the order (cheapest first, as in the config); by default, order of appearance.
    ``source`` keeps eval rows ("eval"), log rows ("log") or all (None). A tier missing for a row
    counts as a failed call (NaN score); a (row, tier) given twice keeps its last entry.

    Vectorised: text columns are read as codes (:func:`routeeval.outcomes.column_codes`) and values are
    scattered into place; the usual layout (each query's tiers together, in order) is a plain reshape.
    Equal texts share one Python object. The n x T arrays may be read-only views of ``frame``'s columns
    (and a column the table lacks a read-only placeholder): copy one before writing into it.
    """
    import numpy as np
    import pandas as pd

    keep = np.ones(len(frame), dtype=bool)
    if source is not None and C.SOURCE in frame.columns:
        keep = text_mask(frame[C.SOURCE], source, missing=source == C.SOURCE_EVAL)
    tier_codes, tier_values = column_codes(frame[C.TIER])
    if tiers is None:
        tiers = np.append(tier_values, str(pd.NA))[pd.unique(tier_codes[keep])].tolist()
    tiers = [str(t) for t in tiers]
    n_tiers = len(tiers)
    position = {name: index for index, name in reversed(list(enumerate(tiers)))}
    tier_of = np.array([position.get(str(v), -1) for v in tier_values] + [-1], dtype=np.int16)[tier_codes]
    id_codes, id_values = column_codes(frame[C.ROW_ID])

    if _one_block_per_row(keep, tier_of, id_codes, n_tiers):
        first_row = slice(0, len(frame), n_tiers)  # a row's own fields come from its first long row
        first_codes = id_codes[first_row]
        filled = source_row = None
    else:
        used = np.flatnonzero(keep & (tier_of >= 0))  # the long rows that enter the pivot, in order
        row_of, first_codes = pd.factorize(id_codes[used])  # a missing row id (-1) is a row of its own
        cell = row_of * n_tiers + tier_of[used]
        last = np.full(len(first_codes) * n_tiers, -1, dtype=np.intp)
        if cell.size and np.bincount(cell).max() > 1:
            np.maximum.at(last, cell, np.arange(cell.size))  # a (row, tier) given twice: the last wins
        else:
            last[cell] = np.arange(cell.size)
        filled = last >= 0
        source_row = used[last[filled]]  # the long row behind each filled cell
        seen_before = np.maximum.accumulate(np.r_[-1, row_of[:-1]]) if row_of.size else row_of
        first_row = used[row_of > seen_before]  # codes number rows in order of first sighting
    n_rows = len(first_codes)

    def scatter(values, empty):
        if source_row is None:
            return values.reshape(n_rows, n_tiers)
        out = np.full(n_rows * n_tiers, empty, dtype=values.dtype)
        out[filled] = values[source_row]
        return out.reshape(n_rows, n_tiers)

    def table(column: str):
        if column not in frame.columns:  # a read-only placeholder that takes no memory
            return np.broadcast_to(np.nan, (n_rows, n_tiers))
        return scatter(frame[column].to_numpy(dtype=float, na_value=np.nan), np.nan)

    def text_table(column: str):
        if column not in frame.columns:
            return np.broadcast_to(np.array(None, dtype=object), (n_rows, n_tiers))
        codes, values = column_codes(frame[column])
        return scatter(np.append(values, np.array([None], dtype=object))[codes], None)

    def per_row(column: str, convert=None) -> tuple[list, Any]:
        """(each row's value, from its first long row; the value's code: rows with one code share one object)."""
        if column not in frame.columns:
            return [None] * n_rows, None
        codes, values = column_codes(frame[column])
        lookup = np.empty(len(values) + 1, dtype=object)
        for index, value in enumerate(values):
            lookup[index] = convert(value) if convert else value
        lookup[-1] = None
        codes = codes[first_row]
        return lookup[codes].tolist(), codes

    names = np.append(id_values, str(pd.NA))[first_codes]
    text_ids = pd.api.types.infer_dtype(names, skipna=False) == "string"
    inputs, input_codes = per_row(C.INPUT, decode_input)
    return RouterData(
        row_ids=names.tolist() if text_ids else [str(v) for v in names.tolist()],
        inputs=inputs,
        tiers=tiers,
        score=table(C.SCORE),
        cost_usd=table(C.COST_USD),
        latency_ms=table(C.LATENCY_MS),
        logprob_mean=table(C.LOGPROB_MEAN),
        responses=text_table(C.RESPONSE),
        intents=per_row(C.INTENT)[0],
        labels=per_row(C.LABEL)[0],
        splits=per_row(C.SPLIT)[0],
        metadata=per_row(C.METADATA, decode_metadata)[0],
        input_codes=input_codes,
    )


def _one_block_per_row(keep, tier_of, row_codes, n_tiers: int) -> bool:
    """True for the usual layout: every long row kept, each query's tiers together in ``tiers`` order, once."""
    import numpy as np

    n_long = len(row_codes)
    if n_tiers == 0 or n_long == 0 or n_long % n_tiers or not keep.all():
        return False
    if not (tier_of.reshape(-1, n_tiers) == np.arange(n_tiers, dtype=tier_of.dtype)).all():
        return False
    blocks = row_codes.reshape(-1, n_tiers)
    first = blocks[:, 0]
    if first.min() < 0 or not (blocks == first[:, None]).all():
        return False
    return bool(np.bincount(first).max() == 1)


# --- where the chosen policy sent each row ---------------------------------------------------------

ROUTE_COLUMNS = ("row_id", "tier", "path", "score", "cost_usd", "latency_ms", "baseline_score", "baseline_cost_usd")


class ChosenRows(Sequence):
    """Where the chosen policy sent each selection row: the one type the optimizer writes and the reports read.

    Row ``i`` went down ``paths[decisions[i]]`` (a tier, or a cascade's "small>large"; -1: not known) and ended at
    ``tiers[tier_of[i]]``. Read as a list, row ``i`` is ``{row_id, tier, path, score, cost_usd, latency_ms,
    baseline_score, baseline_cost_usd}`` (NaN as None), built on access; the columns stay numpy arrays, so a
    million rows cost no Python objects until read. ``from_records`` builds one from such dicts or a DataFrame.
    """

    def __init__(self, *, row_ids, paths, decisions, score, cost_usd, latency_ms, baseline_score, baseline_cost_usd):
        self.row_ids = row_ids
        self.paths = paths  # option names: a tier, or a cascade's "small>large"
        self.decisions = decisions  # the option index of each row
        self.score = score
        self.cost_usd = cost_usd
        self.latency_ms = latency_ms
        self.baseline_score = baseline_score
        self.baseline_cost_usd = baseline_cost_usd

    def __len__(self) -> int:
        return len(self.row_ids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError("chosen row index out of range")
        index = index % len(self)
        code = int(self.decisions[index])
        path = self.paths[code] if code >= 0 else None
        return {
            "row_id": self.row_ids[index],
            "tier": path.split(">")[-1] if path else None,
            "path": path,
            "score": _finite_or_none(self.score[index]),
            "cost_usd": _finite_or_none(self.cost_usd[index]),
            "latency_ms": _finite_or_none(self.latency_ms[index]),
            "baseline_score": _finite_or_none(self.baseline_score[index]),
            "baseline_cost_usd": _finite_or_none(self.baseline_cost_usd[index]),
        }

    @property
    def path_of(self):
        """Per row, its path's index into ``paths`` (-1: not known)."""
        return self.decisions

    @property
    def tiers(self) -> list[str]:
        """The tiers rows end at, in order of first appearance among ``paths``."""
        return list(dict.fromkeys(str(path).split(">")[-1] for path in self.paths))

    @property
    def tier_of(self):
        """Per row, the index into ``tiers`` of the tier it ends at (-1: not known)."""
        import numpy as np

        tiers = self.tiers
        finals = np.array([tiers.index(str(path).split(">")[-1]) for path in self.paths] + [-1], dtype=np.intp)
        return finals[np.asarray(self.decisions, dtype=np.intp)]

    @classmethod
    def from_records(cls, rows) -> ChosenRows:
        """From dicts (or a DataFrame) keyed ``row_id, tier, path, score, cost_usd, latency_ms, baseline_score,
        baseline_cost_usd``; a missing ``path`` is the ``tier`` (a one-call policy)."""
        import numpy as np
        import pandas as pd

        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows or []), columns=list(ROUTE_COLUMNS))
        path_column = frame["path"] if "path" in frame.columns else frame["tier"]
        path_column = path_column.where(path_column.notna(), frame["tier"]) if "tier" in frame.columns else path_column
        decisions, paths = pd.factorize(path_column)

        def floats(column: str):
            if column not in frame.columns:
                return np.full(len(frame), np.nan)
            return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

        return cls(
            row_ids=frame["row_id"].to_numpy(dtype=object),
            paths=[str(path) for path in paths],
            decisions=np.asarray(decisions, dtype=np.intp),
            score=floats("score"),
            cost_usd=floats("cost_usd"),
            latency_ms=floats("latency_ms"),
            baseline_score=floats("baseline_score"),
            baseline_cost_usd=floats("baseline_cost_usd"),
        )

    def to_frame(self):
        """The same rows as a pandas DataFrame, one column per key (NaN, not None, for a missing number).

        Built from the arrays in one step: use it, not ``pd.DataFrame(list(rows))``, on big tables.
        """
        import numpy as np
        import pandas as pd

        paths = np.array([*self.paths, None], dtype=object)
        tiers = np.array([*(path.split(">")[-1] for path in self.paths), None], dtype=object)
        return pd.DataFrame(
            {
                "row_id": self.row_ids,
                "tier": tiers[self.decisions],
                "path": paths[self.decisions],
                "score": self.score,
                "cost_usd": self.cost_usd,
                "latency_ms": self.latency_ms,
                "baseline_score": self.baseline_score,
                "baseline_cost_usd": self.baseline_cost_usd,
            }
        )


def _finite_or_none(value) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
