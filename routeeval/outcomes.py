"""The outcomes table: one row per query × tier, in the long format of the contract.

Replayed and imported data land in exactly this shape, so the optimizer cannot tell them apart.
"""

from __future__ import annotations

from pathlib import Path

from routeeval import columns as C
from routeeval.errors import DataError

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
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        existing = table.schema.metadata or {}
        extra = {f"routeeval.{k}".encode(): str(v).encode() for k, v in metadata.items()}
        table = table.replace_schema_metadata({**existing, **extra})
    pq.write_table(table, path)
    return path


def read_outcomes(path: str | Path, *, compact: bool = False):
    """Read and check an outcomes Parquet file; raises DataError naming what is wrong.

    ``compact``: text columns come back as pandas categoricals, dictionary-encoded as Parquet stores
    them, instead of "string" columns: the same values in a fraction of the time and memory, for
    large tables (the optimizer reads them so). Read their values with :func:`column_codes`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "no such file")
    if path.is_dir():
        raise DataError(str(path), "is a directory; expected an outcomes .parquet file")
    try:
        # Compact: repetitive text is read dictionary-encoded; row ids, one per query, are encoded after.
        repetitive = [name for name in _text_columns(pq.read_schema(path)) if name != C.ROW_ID] if compact else None
        table = pq.read_table(path, read_dictionary=repetitive)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(str(path), f"not a readable Parquet file ({exc})") from None
    names = table.column_names
    text = {name: _arrow_categorical(table.column(name)) for name in _text_columns(table.schema)} if compact else {}
    frame = table.drop_columns(list(text)).to_pandas()
    del table
    if text:
        frame = frame.assign(**text)[names]
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise DataError(
                str(path),
                f"column '{column}' is missing; outcomes need {', '.join(REQUIRED_COLUMNS)}",
            )
    for column, dtype in _DTYPES.items():
        if compact and dtype == "string":
            frame[column] = _categorical_text(frame, column)
            continue
        if column not in frame.columns:
            frame[column] = None
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


def _arrow_categorical(column):
    """A pandas categorical of str from an Arrow text column (chunked, plain or dictionary-encoded)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = pa.table({"c": column}).unify_dictionaries().column("c")
        chunks = column.chunks
        value_type = column.type.value_type
        dictionary = chunks[0].dictionary if chunks else pa.array([], value_type)
        indices = pa.chunked_array([chunk.indices for chunk in chunks], column.type.index_type)
    else:
        encoded = column.combine_chunks().dictionary_encode()
        dictionary, indices = encoded.dictionary, encoded.indices
    codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    categories = pd.Index(dictionary.cast(pa.string()).to_pandas())
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
