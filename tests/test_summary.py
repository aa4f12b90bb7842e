"""The typed run record: summary.json read into dataclasses and written back with the same keys and values."""

from __future__ import annotations

import json

import pytest

from routeeval.summary import SCHEMA, Chosen, Holdout, Point, RunSummary, TierSummary


@pytest.fixture(scope="module")
def summaries(tmp_path_factory, demo_outcomes):
    """Whole summaries of several shapes, as `routeeval optimize` writes them: with a hold-out, without one."""
    from routeeval.outcomes import write_outcomes
    from routeeval.pipeline import optimize_file

    folder = tmp_path_factory.mktemp("summaries")
    table = write_outcomes(demo_outcomes, folder / "outcomes.parquet")
    shapes = []
    for name, overrides in (
        ("holdout", {"routers": ["static", "cascade"], "holdout_share": 0.3, "max_drop": 0.02}),
        ("plain", {"routers": ["static"], "max_drop": 0.0}),
    ):
        optimize_file(table, out_dir=folder / name, overrides=overrides)
        shapes.append(json.loads((folder / name / "summary.json").read_text(encoding="utf-8")))
    return shapes


def test_a_summary_reads_into_typed_parts_and_writes_back_unchanged(summaries):
    for data in summaries:
        summary = RunSummary.from_json(data)
        assert isinstance(summary.chosen, Chosen) and isinstance(summary.frontier[0], Point)
        assert summary.outcomes is not None and summary.outcomes.rows > 0
        written = summary.to_json()
        assert written.pop("schema", SCHEMA) == SCHEMA
        data.pop("schema", None)
        # every key and value as read; a part `optimize` leaves out that `run` writes null may be added, as null
        assert {key: value for key, value in written.items() if key in data} == data
        assert all(written[key] is None for key in set(written) - set(data)), set(written) - set(data)


def test_parts_read_by_attribute(summaries):
    summary = RunSummary.from_json(summaries[0])
    assert isinstance(summary.holdout, Holdout) and summary.holdout.rows == 105
    assert summary.holdout.chosen is not None and 0 <= summary.holdout.chosen.accuracy <= 1
    from routeeval.report.formatting import point_label

    chosen = summary.chosen
    assert point_label(chosen) == chosen.label and chosen.variant in chosen.label
    assert summary.selection.rows + summary.holdout.rows == 350
    assert summary.logs is None and "logs" not in summary.to_json()  # a key today's summaries leave out stays out


def test_keys_this_version_does_not_know_are_kept():
    data = {
        "routeeval_version": "9.9",
        "future_key": {"a": 1},
        "single_tiers": [{"tier": "small", "accuracy": 0.5, "errors": 0, "new_figure": 3}],
    }
    summary = RunSummary.from_json(data)
    assert summary.extra == {"future_key": {"a": 1}}
    assert isinstance(summary.single_tiers[0], TierSummary) and summary.single_tiers[0].extra == {"new_figure": 3}
    written = summary.to_json()
    assert written["future_key"] == {"a": 1} and written["single_tiers"][0]["new_figure"] == 3


def test_the_baseline_says_which_rows_its_figures_come_from(summaries):
    """With a hold-out the baseline is measured on the selection rows and the tier table on all eval rows: the
    numbers differ, and both say which rows they are."""
    from routeeval.report.terminal import chosen_lines

    summary = RunSummary.from_json(summaries[0])
    assert summary.baseline.rows == summary.selection.rows == 245 and summary.baseline.basis == "selection rows"
    assert {tier.rows for tier in summary.single_tiers} == {350}
    assert " on the 245 selection rows: drop " in chosen_lines(summary)[1]
    plain = RunSummary.from_json(summaries[1])  # no hold-out: the same rows, nothing to say
    assert plain.baseline.rows == 350 and " on the " not in chosen_lines(plain)[1]
