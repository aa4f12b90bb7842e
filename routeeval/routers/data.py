"""The eval rows of an outcomes table as the routers read them: n rows x T tiers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from routeeval import columns as C


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

    from routeeval.outcomes import column_codes, text_mask

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
        return scatter(np.append(values, None)[codes], None)

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
