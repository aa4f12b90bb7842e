"""A rerun whose summary only differs in its timings reuses the frontier plot already written beside it."""

from __future__ import annotations

import copy

import pytest

from routeeval.report import write as write_module
from routeeval.report.plots import frontier_svg, inline_svg
from routeeval.report.write import write_reports
from routeeval.summary import RunSummary


@pytest.fixture()
def demo(demo_report):
    summary, frame, chosen_rows, _ = demo_report
    return copy.deepcopy(summary), frame, chosen_rows


def _write(out, summary, frame, chosen_rows):
    return write_reports(out, RunSummary.from_json(summary), frame, chosen_rows)


def _no_drawing(monkeypatch):
    def refuse(summary, **kwargs):
        raise AssertionError("the plot was drawn again")

    monkeypatch.setattr(write_module, "frontier_svg", refuse)


def test_rerun_with_other_timings_reuses_the_plot(demo, tmp_path, monkeypatch):
    summary, frame, chosen_rows = demo
    first = _write(tmp_path, summary, frame, chosen_rows)
    svg = first["frontier_svg"].read_text(encoding="utf-8")
    # the key is a comment before <svg>: the inlined plot is what frontier_svg draws, byte for byte
    drawn = frontier_svg(RunSummary.from_json(summary))
    assert inline_svg(svg) == inline_svg(drawn)
    assert svg.startswith(drawn[: drawn.find("<svg")]) and "<!-- routeeval frontier plot of sha256:" in svg
    assert inline_svg(drawn) in first["html"].read_text(encoding="utf-8")

    summary["created_at"] = "2099-01-01T00:00:00Z"
    summary.setdefault("spend", {}).setdefault("phases", {})["replay"] = {"wall_s": 1.0}
    svg = _write(tmp_path, summary, frame, chosen_rows)["frontier_svg"].read_text(encoding="utf-8")
    summary["spend"]["phases"]["replay"]["wall_s"] = 123.0
    _no_drawing(monkeypatch)
    again = _write(tmp_path, summary, frame, chosen_rows)
    assert again["frontier_svg"].read_text(encoding="utf-8") == svg
    assert inline_svg(drawn) in again["html"].read_text(encoding="utf-8")


def test_a_changed_summary_draws_the_plot_again(demo, tmp_path, monkeypatch):
    summary, frame, chosen_rows = demo
    _write(tmp_path, summary, frame, chosen_rows)
    summary["simulated"] = not summary["simulated"]
    drawn = []
    monkeypatch.setattr(write_module, "frontier_svg", lambda s, **kw: drawn.append(s) or frontier_svg(s, **kw))
    paths = _write(tmp_path, summary, frame, chosen_rows)
    assert len(drawn) == 1
    assert ("SIMULATED" in paths["frontier_svg"].read_text(encoding="utf-8")) == summary["simulated"]


def test_a_plot_without_the_key_or_with_another_is_drawn_again(demo, tmp_path, monkeypatch):
    summary, frame, chosen_rows = demo
    paths = _write(tmp_path, summary, frame, chosen_rows)
    svg = paths["frontier_svg"].read_text(encoding="utf-8")
    for stale in (inline_svg(svg), svg.replace("sha256:", "sha256:0", 1), "not a plot"):
        paths["frontier_svg"].write_text(stale, encoding="utf-8")
        _write(tmp_path, summary, frame, chosen_rows)
        assert paths["frontier_svg"].read_text(encoding="utf-8") == svg
