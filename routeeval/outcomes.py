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


def read_outcomes(path: str | Path):
    """Read and check an outcomes Parquet file; raises DataError naming what is wrong."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "no such file")
    if path.is_dir():
        raise DataError(str(path), "is a directory; expected an outcomes .parquet file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(str(path), f"not a readable Parquet file ({exc})") from None
    frame = table.to_pandas()
    for column in REQUIRED_COLUMNS:
        if column not in frame.columns:
            raise DataError(
                str(path),
                f"column '{column}' is missing; outcomes need {', '.join(REQUIRED_COLUMNS)}",
            )
    for column, dtype in _DTYPES.items():
        if column not in frame.columns:
            frame[column] = None
        try:
            frame[column] = frame[column].astype(dtype)
        except (TypeError, ValueError) as exc:
            raise DataError(str(path), f"column '{column}' cannot be read as {dtype} ({exc})") from None
    scores = frame[C.SCORE].dropna()
    if ((scores < 0) | (scores > 1)).any():
        bad = frame.index[(frame[C.SCORE] < 0) | (frame[C.SCORE] > 1)][0]
        raise DataError(str(path), "must be between 0 and 1", line=int(bad) + 1, field=C.SCORE, row_word="row")
    return frame


def read_outcomes_metadata(path: str | Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    raw = pq.read_schema(path).metadata or {}
    prefix = b"routeeval."
    return {k[len(prefix) :].decode(): v.decode() for k, v in raw.items() if k.startswith(prefix)}
