"""The outcomes table on disk: the compact read (text as categoricals) holds the same values as the full one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import fifo_that_unblocks

from routeeval import columns as C
from routeeval.outcomes import column_codes, pivot_outcomes, read_outcomes, text_mask, write_outcomes
from routeeval.stats import summarize_tiers

TIERS = ["small", "medium", "large"]


def test_compact_read_keeps_every_value_and_column(tmp_path, demo_outcomes):
    frame = demo_outcomes.copy()
    frame.loc[3, C.SOURCE] = None  # a row without a source counts as an eval row
    _assert_compact_equals_full(write_outcomes(frame, tmp_path / "outcomes.parquet"))


def test_text_mask_and_codes_on_both_kinds_of_column():
    values = pd.Series(["eval", None, "log", "eval"], dtype="string")
    for column in (values, values.astype("category")):
        codes, names = column_codes(column)
        assert [None if c < 0 else names[c] for c in codes] == ["eval", None, "log", "eval"]
        assert text_mask(column, "eval").tolist() == [True, False, False, True]
        assert text_mask(column, "eval", missing=True).tolist() == [True, True, False, True]
        assert text_mask(column, "nowhere").tolist() == [False] * 4


def _assert_compact_equals_full(path):
    full = read_outcomes(path)
    compact = read_outcomes(path, compact=True)
    assert list(compact.columns) == list(full.columns)
    for column in full.columns:
        if full[column].dtype == "string":
            assert isinstance(compact[column].dtype, pd.CategoricalDtype), column
            codes, values = column_codes(compact[column])
            decoded = [None if code < 0 else values[code] for code in codes]
            assert decoded == [None if pd.isna(v) else v for v in full[column]], column
        else:
            assert compact[column].equals(full[column]), column
    assert summarize_tiers(compact, TIERS) == summarize_tiers(full, TIERS)
    a, b = pivot_outcomes(full, TIERS), pivot_outcomes(compact, TIERS)
    assert a.row_ids == b.row_ids and a.inputs == b.inputs and a.intents == b.intents and a.labels == b.labels
    np.testing.assert_array_equal(a.score, b.score)
    np.testing.assert_array_equal(a.latency_ms, b.latency_ms)
    assert (a.responses == b.responses).all()
    return compact


@pytest.mark.parametrize("layout", ["blocks", "shuffled", "tier_major", "id_comes_back"])
def test_compact_read_of_every_layout_and_many_row_groups(tmp_path, demo_outcomes, layout):
    """Row ids in runs are encoded by comparing neighbours, other layouts by hashing; dictionaries differ per row
    group. Every way gives the full read's values."""
    frame = demo_outcomes.copy()
    frame.loc[5, C.INTENT] = None
    frame.loc[7, C.RESPONSE] = None
    frame.loc[9, C.PROMPT_TOKENS] = None
    frame.loc[11, C.CACHED] = None
    if layout == "shuffled":
        frame = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    elif layout == "tier_major":
        frame = frame.sort_values([C.TIER, C.ROW_ID], kind="stable").reset_index(drop=True)
    elif layout == "id_comes_back":  # each query's block together, but one id also at the end (a duplicate)
        frame = pd.concat([frame.sort_values(C.ROW_ID, kind="stable"), frame.iloc[[0]]], ignore_index=True)
    else:
        frame = frame.sort_values(C.ROW_ID, kind="stable").reset_index(drop=True)
    path = write_outcomes(frame, tmp_path / "outcomes.parquet")
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(path), path, row_group_size=97)  # many chunks, each with its own dictionaries

    compact = _assert_compact_equals_full(path)
    # Row ids are numbered in order of first appearance, as factorizing them would.
    _, values = column_codes(compact[C.ROW_ID])
    assert list(values) == list(pd.unique(frame[C.ROW_ID]))


def test_an_outcomes_path_that_is_not_a_regular_file_is_refused_before_it_is_opened(tmp_path):
    from routeeval.errors import DataError

    with fifo_that_unblocks(tmp_path / "outcomes.parquet") as path, pytest.raises(DataError) as info:
        read_outcomes(path)
    assert info.value.exit_code == 2
    assert str(info.value) == f"{path}: is not a regular file; expected an outcomes .parquet file"
