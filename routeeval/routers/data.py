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

    @property
    def n_rows(self) -> int:
        return len(self.row_ids)

    def correct(self, at: float = 0.5):
        """n x T correctness in {0, 1}: score >= ``at``; NaN where the call failed."""
        import numpy as np

        return np.where(np.isnan(self.score), np.nan, (self.score >= at).astype(float))

    def subset(self, index) -> RouterData:
        """The rows ``index`` (an index array or a boolean mask)."""
        import numpy as np

        index = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index)
        pick = [int(i) for i in index]
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


def pivot_outcomes(frame, tiers: list[str] | None = None, source: str | None = C.SOURCE_EVAL) -> RouterData:
    """Pivot the long outcomes table to n rows x T tiers (rows in order of first appearance).

    ``tiers`` gives the order (cheapest first, as in the config); by default, order of appearance.
    ``source`` keeps eval rows ("eval"), log rows ("log") or all (None). A tier missing for a row
    counts as a failed call (NaN score).
    """
    import numpy as np
    import pandas as pd

    if source is not None and C.SOURCE in frame.columns:
        kept = frame[C.SOURCE].isna() if source == C.SOURCE_EVAL else frame[C.SOURCE] == source
        frame = frame[(frame[C.SOURCE] == source) | kept]
    if tiers is None:
        tiers = list(pd.unique(frame[C.TIER]))
    tiers = [str(t) for t in tiers]
    frame = frame[frame[C.TIER].isin(tiers)]
    row_ids = list(pd.unique(frame[C.ROW_ID]))
    rows = pd.Index(row_ids)
    columns = pd.Index(tiers)

    def table(column: str, dtype=float):
        if column not in frame.columns:
            return np.full((len(rows), len(columns)), np.nan if dtype is float else None, dtype=dtype)
        values = frame[column].astype(object).where(frame[column].notna(), None)
        pivot = pd.DataFrame({"r": frame[C.ROW_ID], "t": frame[C.TIER], "v": values})
        wide = pivot.drop_duplicates(["r", "t"], keep="last").pivot(index="r", columns="t", values="v")
        wide = wide.reindex(index=rows, columns=columns)
        if dtype is float:
            return wide.astype(float).to_numpy()
        array = wide.to_numpy(dtype=object)
        return np.where(pd.isna(wide).to_numpy(), None, array)

    first = frame.drop_duplicates(C.ROW_ID).set_index(C.ROW_ID).reindex(rows)

    def per_row(column: str) -> list:
        if column not in first.columns:
            return [None] * len(rows)
        return [None if pd.isna(v) else v for v in first[column].astype(object)]

    return RouterData(
        row_ids=[str(r) for r in row_ids],
        inputs=[decode_input(v) for v in per_row(C.INPUT)],
        tiers=tiers,
        score=table(C.SCORE),
        cost_usd=table(C.COST_USD),
        latency_ms=table(C.LATENCY_MS),
        logprob_mean=table(C.LOGPROB_MEAN),
        responses=table(C.RESPONSE, dtype=object),
        intents=per_row(C.INTENT),
        labels=per_row(C.LABEL),
        splits=per_row(C.SPLIT),
    )
