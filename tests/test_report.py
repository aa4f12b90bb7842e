"""Reports: the figures they compute, the HTML page's sections and self-containment, and hostile text."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import REPORT_SETTINGS, ROOT, TIER_ENTRIES

from routeeval import columns as C
from routeeval.logs import load_logs
from routeeval.report.figures import (
    headline_verdict,
    intent_slices,
    latency_figures,
    misrouted_sample,
    report_figures,
    report_summary,
    router_curves,
    savings_projection,
    traffic_figures,
)
from routeeval.report.formatting import drop_bound
from routeeval.report.html import el, esc, join
from routeeval.report.markdown import md_text
from routeeval.report.plots import frontier_svg
from routeeval.report.write import write_reports
from routeeval.summary import RunSummary

SECTIONS = ["headline", "frontier", "tier-mix", "intents", "misrouted", "confidence", "labels", "savings", "provenance"]
HOSTILE_INPUT = "<script>alert(1)</script> a | b | c"
HOSTILE_RESPONSE = "<img src=x onerror=alert(1)> `tick` a | b | c\nsecond line"
HOSTILE_INTENT = "a | b | c <img src=x onerror=alert(1)>"
TIERS = [t["name"] for t in TIER_ENTRIES]


@pytest.fixture(scope="module")
def demo(demo_report):
    """(summary, outcomes, chosen_rows, optimize result) of the demo (the session's: copy before changing)."""
    return demo_report


@pytest.fixture(scope="module")
def logs():
    return load_logs(ROOT / "evalsets" / "support-logs.jsonl")


@pytest.fixture(scope="module")
def written(demo, logs, tmp_path_factory):
    summary, frame, chosen_rows, _ = demo
    out = tmp_path_factory.mktemp("report")
    return write_reports(out, RunSummary.from_json(summary), frame, chosen_rows, logs=logs)


class _Page(HTMLParser):
    """Every start tag with its attributes, the section ids in order, and the visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.sections: list[str] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section":
            self.sections.append(attributes.get("id"))

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def table_rows(markdown: str) -> list[list[list[str]]]:
    """Each Markdown table as its rows, each row as its cells (split on pipes not escaped by a backslash)."""
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


# ------------------------------------------------------------------------------------------ the page


def test_html_has_every_section_in_reading_order(written):
    page = parse(written["html"])
    assert page.sections == SECTIONS
    text = " ".join(page.text)
    for heading in ("Headline", "Frontier", "Tier mix and latency", "Per-intent slices", "Mis-routed queries"):
        assert heading in text
    assert "Savings projection" in text and "Provenance" in text
    # the demo's eval rows carry easy/hard labels: they are checked against what the tiers did
    assert "Rows labeled easy: small answered" in text and "needed large" in text


def test_plot_is_inline_svg_and_nothing_points_outside(written):
    page = parse(written["html"])
    names = [tag for tag, _ in page.tags]
    assert "svg" in names
    assert not {"script", "img", "iframe", "link", "object", "embed"} & set(names)
    frontier_start = names.index("section", [i for i, (t, a) in enumerate(page.tags) if a.get("id") == "frontier"][0])
    assert "svg" in names[frontier_start : frontier_start + 10] or "svg" in names[frontier_start:]
    for tag, attributes in page.tags:
        for name, value in attributes.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("src", "href", "xlink:href", "action", "formaction", "poster", "data"):
                assert value is None or value.startswith("#"), (tag, name, value)
    source = written["html"].read_text(encoding="utf-8")
    assert not re.search(r"url\((?!#)", source), "only in-document url(#...) references"
    assert "@import" not in source and "http://" not in source.replace("http://www.w3.org/", "")
    assert "https://" not in source


def test_simulated_is_said_prominently(written, demo, tmp_path):
    html_text = written["html"].read_text(encoding="utf-8")
    assert "SIMULATED" in html_text and 'class="banner"' in html_text
    assert "SIMULATED" in written["markdown"].read_text(encoding="utf-8")
    assert "SIMULATED" in written["frontier_svg"].read_text(encoding="utf-8")
    summary, frame, chosen_rows, _ = demo
    real = write_reports(tmp_path, RunSummary.from_json({**summary, "simulated": False}), frame, chosen_rows)
    assert "SIMULATED" not in real["html"].read_text(encoding="utf-8")
    assert "SIMULATED" not in real["markdown"].read_text(encoding="utf-8")


def test_headline_states_the_decision_from_the_summary(written, demo):
    summary = demo[0]
    page = " ".join(parse(written["html"]).text)
    chosen = summary["chosen"]
    assert "Routing pays off here" in page
    assert f"the {chosen['router']} router" in page
    assert f"{chosen['savings_share'] * 100:.1f}%" in page
    markdown = written["markdown"].read_text(encoding="utf-8")
    assert "Routing pays off here" in markdown and "← chosen" in markdown


def test_markdown_tables_are_well_formed_and_the_plot_sits_beside_it(written):
    markdown = written["markdown"].read_text(encoding="utf-8")
    tables = table_rows(markdown)
    assert len(tables) >= 3  # headline, frontier, per intent
    for table in tables:
        assert re.fullmatch(r"\s*-+:?\s*", table[1][0]), table[1]
        assert {len(row) for row in table} == {len(table[0])}, table
    assert "](frontier.svg)" in markdown
    assert written["frontier_svg"].parent == written["markdown"].parent


def test_frontier_svg_is_small_with_text_as_text(written, demo):
    svg = written["frontier_svg"].read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert len(svg.encode()) < 150_000
    assert "@font-face" not in svg and "<font" not in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert any("small" in t for t in texts) and any("chosen" in t for t in texts)


def test_plot_changes_no_global_matplotlib_state(demo):
    import matplotlib

    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    frontier_svg(RunSummary.from_json(demo[0]))
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == before


def test_router_curves_draw_one_line_per_router(demo):
    summary, _, _, result = demo
    curves = router_curves(result.points)
    assert set(curves) == {"static", "cascade"}
    for points in curves.values():
        costs = [p["cost_per_1k_usd"] for p in points]
        accuracies = [p["accuracy"] for p in points]
        assert costs == sorted(costs) and accuracies == sorted(accuracies)
    plain = frontier_svg(RunSummary.from_json(summary))
    with_curves = frontier_svg(RunSummary.from_json({**summary, "curves": curves}))
    assert with_curves.count("<path") > plain.count("<path")


# ------------------------------------------------------------------------------------------ figures


def test_intent_slices_add_up(demo):
    summary, frame, chosen_rows, _ = demo
    slices = intent_slices(frame, chosen_rows, TIERS)
    assert sum(s["rows"] for s in slices) == frame[C.ROW_ID].nunique()
    by_intent = {s["intent"]: s for s in slices}
    eval_rows = frame[frame[C.TIER] == "small"]
    expected = eval_rows.groupby(C.INTENT)[C.SCORE].mean()
    for intent, accuracy in expected.items():
        assert by_intent[intent]["tier_accuracy"]["small"] == pytest.approx(accuracy)
    routes = {r["row_id"]: r for r in chosen_rows}
    intents = dict(zip(eval_rows[C.ROW_ID], eval_rows[C.INTENT], strict=True))
    for s in slices:
        mine = [r for rid, r in routes.items() if intents[rid] == s["intent"]]
        assert s["policy_accuracy"] == pytest.approx(sum(r["score"] for r in mine) / len(mine))
        assert s["sent_too_low"] == sum(r["score"] < r["baseline_score"] for r in mine)
        assert sum(s["tier_share"].values()) == pytest.approx(1.0)
    total_low = sum(s["sent_too_low"] for s in slices)
    assert total_low == misrouted_sample(frame, chosen_rows, TIERS)["too_low_count"]


def test_misrouted_samples_show_each_tiers_answer(demo):
    _, frame, chosen_rows, _ = demo
    sample = misrouted_sample(frame, chosen_rows, TIERS, too_low=5, too_high=5)
    assert sample["too_low_count"] >= len(sample["too_low"]) and sample["too_high"]
    for row in sample["too_low"]:
        assert row["policy_score"] < row["baseline_score"]
    order = {t: i for i, t in enumerate(TIERS)}
    for row in sample["too_high"]:
        assert [a["tier"] for a in row["answers"]] == TIERS
        scores = {a["tier"]: a["score"] for a in row["answers"]}
        best = max(scores.values())
        assert any(scores[t] >= best for t in TIERS if order[t] < order[row["policy_tier"]])
    intents = [row["intent"] for row in sample["too_high"]]
    assert len(set(intents)) == len(intents), "spread over intents"


def test_latency_shows_the_added_time_and_escalations(demo):
    summary, _, chosen_rows, _ = demo
    latency = latency_figures(RunSummary.from_json(summary), chosen_rows)
    base = next(t for t in summary["single_tiers"] if t["tier"] == summary["baseline"]["tier"])
    assert latency["added_p50_ms"] == pytest.approx(summary["chosen"]["latency_p50_ms"] - base["latency_p50_ms"])
    escalated = sum(">" in r["path"] for r in chosen_rows) / len(chosen_rows)
    assert latency["escalated_share"] == pytest.approx(escalated)
    assert sum(latency["final_tier_share"].values()) == pytest.approx(1.0)


# A table to check by hand: (row id, intent, small's score, large's score); NaN is a failed call.
HAND_ROWS = [
    ("q1", "a", 1.0, 1.0),
    ("q2", "a", 0.0, 1.0),
    ("q3", "a", 0.5, float("nan")),
    ("q4", "b", 0.25, 0.75),
    ("q5", "b", 1.0, 0.0),
    ("q7", "b", 1.0, 1.0),
    ("q6", None, 0.0, 1.0),
]
HAND_ROUTES = [  # (row id, final tier, path, policy score, baseline score); q6 is held out, q9 is no eval row
    ("q1", "small", "small", 1.0, 1.0),
    ("q2", "small", "small", 0.0, 1.0),
    ("q3", "small", "small", 0.5, None),
    ("q4", "large", "small>large", 0.75, 0.75),
    ("q5", "small", "small", 1.0, 0.0),
    ("q5", "large", "small>large", 0.0, 0.0),  # routed twice: the first route counts
    ("q7", "large", "small>large", 1.0, 1.0),
    ("q9", "small", "small", 0.0, 1.0),
]


def _hand_table():
    from routeeval.outcomes import outcomes_frame

    records = [
        {C.ROW_ID: rid, C.TIER: tier, C.SCORE: score, C.COST_USD: cost, C.INTENT: intent, C.SOURCE: "eval"}
        | {C.INPUT: f"question {rid}", C.RESPONSE: f"{tier} answers {rid}"}
        for rid, intent, small, large in HAND_ROWS
        for tier, score, cost in (("small", small, 0.001), ("large", large, 0.01))
    ]
    records.append({C.ROW_ID: "q1", C.TIER: "small", C.SCORE: 0.0, C.COST_USD: 0.001, C.SOURCE: "log"})
    routes = [
        {"row_id": r, "tier": t, "path": p, "score": s, "latency_ms": 100.0, "baseline_score": b}
        for r, t, p, s, b in HAND_ROUTES
    ]
    return outcomes_frame(records), routes


def test_intent_slices_on_a_table_checked_by_hand():
    frame, routes = _hand_table()
    slices = intent_slices(frame, routes, ["small", "large"])
    assert [s["intent"] for s in slices] == ["a", "(no intent)", "b"]  # most lost accuracy first
    a, none, b = slices
    assert a == {
        "intent": "a",
        "rows": 3,
        "routed_rows": 3,
        "tier_accuracy": {"small": 0.5, "large": 1.0},  # the log row and the failed call do not count
        "policy_accuracy": 0.5,
        "baseline_accuracy": 1.0,
        "accuracy_drop": 0.5,  # on q1 and q2, the rows with both scores
        "tier_share": {"small": 1.0, "large": 0.0},
        "sent_too_low": 1,
        "better_than_baseline": 0,
    }
    assert none["rows"] == 1 and none["routed_rows"] == 0 and none["tier_accuracy"] == {"small": 0.0, "large": 1.0}
    assert none["policy_accuracy"] is None and none["accuracy_drop"] is None
    assert none["tier_share"] == {"small": 0.0, "large": 0.0}
    assert b["tier_accuracy"] == pytest.approx({"small": 0.75, "large": 1.75 / 3})
    assert b["policy_accuracy"] == pytest.approx(2.75 / 3)  # q5's first route (small, 1.0), not its second
    assert b["accuracy_drop"] == pytest.approx(-1 / 3)
    assert b["tier_share"] == pytest.approx({"small": 1 / 3, "large": 2 / 3})
    assert (b["sent_too_low"], b["better_than_baseline"]) == (0, 1)


def test_intent_slices_equal_a_plain_pandas_groupby(demo):
    """The bincount version against the obvious one: a groupby over a joined per-row table."""
    import pandas as pd

    summary, frame, chosen_rows, _ = demo
    slices = {s["intent"]: s for s in intent_slices(frame, chosen_rows, TIERS)}
    wide = frame.pivot(index=C.ROW_ID, columns=C.TIER, values=C.SCORE)
    wide[C.INTENT] = frame.drop_duplicates(C.ROW_ID).set_index(C.ROW_ID)[C.INTENT].astype(object)
    routes = pd.DataFrame([dict(r) for r in chosen_rows]).set_index("row_id")
    joined = wide.join(routes[["tier", "score", "baseline_score"]])
    assert set(slices) == set(joined[C.INTENT])
    for intent, group in joined.groupby(C.INTENT):
        mine = slices[intent]
        assert mine["rows"] == len(group) and mine["routed_rows"] == group["tier"].notna().sum()
        for tier in TIERS:
            assert mine["tier_accuracy"][tier] == pytest.approx(group[tier].mean())
            assert mine["tier_share"][tier] == pytest.approx((group["tier"] == tier).mean())
        assert mine["policy_accuracy"] == pytest.approx(group["score"].mean())
        assert mine["sent_too_low"] == (group["score"] < group["baseline_score"]).sum()
        assert mine["better_than_baseline"] == (group["score"] > group["baseline_score"]).sum()


def test_misrouted_sample_on_a_table_checked_by_hand():
    frame, routes = _hand_table()
    sample = misrouted_sample(frame, routes, ["small", "large"])
    assert (sample["rows"], sample["too_low_count"], sample["too_high_count"]) == (6, 1, 1)
    (low,) = sample["too_low"]
    assert (low["row_id"], low["intent"], low["input"], low["policy_path"]) == ("q2", "a", "question q2", "small")
    assert [(a["tier"], a["score"], a["response"]) for a in low["answers"]] == [
        ("small", 0.0, "small answers q2"),  # the eval row's answer, not the log row's
        ("large", 1.0, "large answers q2"),
    ]
    (high,) = sample["too_high"]  # q7 went on to large though small already scored 1.0
    assert (high["row_id"], high["policy_tier"], high["policy_path"]) == ("q7", "large", "small>large")


def test_figures_do_not_depend_on_the_outcomes_row_order(demo):
    """Samples follow row ids, not the table's order: shuffled rows give the same figures."""
    summary, frame, chosen_rows, _ = demo
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    reversed_blocks = frame.iloc[::-1].reset_index(drop=True)
    expected = misrouted_sample(frame, chosen_rows, TIERS, too_low=6, too_high=6)
    assert expected["too_high"], "the demo has rows to sample"
    for other in (shuffled, reversed_blocks):
        assert misrouted_sample(other, chosen_rows, TIERS, too_low=6, too_high=6) == expected
        assert intent_slices(other, chosen_rows, TIERS) == intent_slices(frame, chosen_rows, TIERS)
    # Worked out plainly: the rows sent higher than needed, then the lowest row id of the six biggest intents.
    wide = frame.pivot(index=C.ROW_ID, columns=C.TIER, values=C.SCORE)[TIERS]
    intents = frame.drop_duplicates(C.ROW_ID).set_index(C.ROW_ID)[C.INTENT]
    best = wide.max(axis=1)
    cheapest = wide.ge(best, axis=0).to_numpy().argmax(axis=1)
    high = {}
    for row in chosen_rows:
        row_id = row["row_id"]
        if best[row_id] > 0 and cheapest[wide.index.get_loc(row_id)] < TIERS.index(row["tier"]):
            high.setdefault(intents[row_id], []).append(row_id)
    biggest = sorted(sorted(high), key=lambda intent: -len(high[intent]))[:6]
    assert [row["row_id"] for row in expected["too_high"]] == [min(high[intent]) for intent in biggest]


def test_figures_from_the_optimizers_pivot_equal_those_from_the_table(demo, logs, tmp_path):
    """`run` and `optimize` hand the reports the optimizer's pivot instead of pivoting the outcomes again."""
    import dataclasses

    summary, frame, chosen_rows, result = demo
    assert result.data is not None
    typed = RunSummary.from_json(summary)
    expected = report_figures(typed, frame, chosen_rows, logs=logs)
    assert report_figures(typed, frame, chosen_rows, logs=logs, data=result.data) == expected
    # Held-out rows: the policy routed only the selection rows, which the figures find by id.
    from routeeval.optimize import optimize_outcomes

    settings = dataclasses.replace(REPORT_SETTINGS, holdout_share=0.3)
    held = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=settings)
    with_holdout = RunSummary.from_json({**summary, **held.summary})
    expected = report_figures(with_holdout, frame, held.chosen_rows)
    assert report_figures(with_holdout, frame, held.chosen_rows, data=held.data) == expected
    assert expected["misrouted"]["rows"] == held.summary["selection"]["rows"] < held.data.n_rows
    paths = write_reports(tmp_path, with_holdout, frame, held.chosen_rows, data=held.data)
    assert paths["html"].read_text(encoding="utf-8") == write_reports(
        tmp_path / "again", with_holdout, frame, held.chosen_rows
    )["html"].read_text(encoding="utf-8")


def test_terminal_reads_numbers_as_the_reports_do_but_keeps_cents(demo):
    import io

    from rich.console import Console

    from routeeval.report.formatting import money, point_label, share
    from routeeval.report.terminal import cache_table, chosen_lines, frontier_table
    from routeeval.summary import RunSummary

    def text(renderable) -> str:
        console = Console(file=io.StringIO(), width=200, color_system=None)
        console.print(renderable)
        return console.file.getvalue()

    stats = {"path": "c.sqlite", "models": [{"model": "m", "entries": 2, "cost_usd": 12.345}], "entries": 2}
    table = text(cache_table({**stats, "cost_usd": 1234.5, "size_bytes": 0}))
    assert "$12.35" in table and "$1,234.50" in table  # the reports round these to $12 and $1,234
    assert (money(12.345), money(1234.5)) == ("$12", "$1,234")
    summary = RunSummary.from_json(demo[0])
    chosen = demo[0]["chosen"]
    assert f"{point_label(summary.chosen)} ← chosen" in text(frontier_table(summary))
    lines = chosen_lines(summary)
    assert f"accuracy {share(chosen['accuracy'])} [" in lines[1]
    assert lines[3] == f"  latency p50 {chosen['latency_p50_ms']:,.0f} ms, p95 {chosen['latency_p95_ms']:,.0f} ms"
    unknown = RunSummary.from_json({**demo[0], "chosen": {**chosen, "latency_p50_ms": None, "latency_p95_ms": None}})
    assert chosen_lines(unknown)[3] == "  latency p50 —, p95 —"  # not "— ms"


def _write_logs(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i, (timestamp, text) in enumerate(rows):
            record = {"id": f"l{i}", "timestamp": timestamp, "input": text, "model": "m", "response": "ok"}
            handle.write(json.dumps(record) + "\n")
    return path


def test_traffic_volume_and_duplicate_shares(tmp_path):
    texts = ["Reset my password", "Reset my password", "reset my password!", "Where is my invoice?"]
    texts += [f"question {i}" for i in range(6)] + ["Where is my invoice?"]
    stamps = [f"2026-10-{day:02d}T12:00:00Z" for day in range(1, 12)]
    traffic = traffic_figures(load_logs(_write_logs(tmp_path / "logs.jsonl", list(zip(stamps, texts, strict=True)))))
    assert traffic["rows"] == 11
    assert traffic["span_days"] == pytest.approx(10.0)
    # the sample's own rate: production's is it divided by the sampling rate, which only the user knows
    assert traffic["sample_queries_per_month"] == pytest.approx(10 / 10 * 365.25 / 12)
    assert traffic["exact_duplicate_share"] == pytest.approx(2 / 11)  # the second "Reset..." and "Where..."
    assert traffic["normalized_duplicate_share"] == pytest.approx(3 / 11)  # plus "reset my password!"
    assert traffic_figures(None) is None


def test_savings_projection_with_a_cache_in_front():
    summary = {
        "baseline": {"tier": "large", "cost_per_1k_usd": 0.4},
        "chosen": {"cost_per_1k_usd": 0.3, "savings_share": 0.25, "savings_share_ci": [0.2, 0.3]},
    }
    traffic = {"sample_queries_per_month": 5000.0, "exact_duplicate_share": 0.1, "normalized_duplicate_share": 0.2}
    summary = RunSummary.from_json(summary)
    given = savings_projection(summary, traffic, monthly_queries=1_000_000)
    assert given["volume_source"] == "monthly_queries"
    assert given["baseline_monthly_usd"] == pytest.approx(400.0)
    assert given["policy_monthly_usd"] == pytest.approx(300.0)
    assert given["saving_monthly_usd"] == pytest.approx(100.0)
    assert given["saving_monthly_usd_ci"] == pytest.approx([80.0, 120.0])
    exact, normalized = given["cache"]
    assert exact["combined_cost_per_1k_usd"] == pytest.approx(0.27)
    assert exact["combined_saving_share"] == pytest.approx(1 - 0.27 / 0.4)
    assert normalized["combined_saving_monthly_usd"] == pytest.approx(400 - 240)
    # A sample's time span is never taken for production's volume ...
    sample = savings_projection(summary, traffic)
    assert sample["monthly_queries"] is None and sample["saving_monthly_usd"] is None
    assert sample["volume_note"].startswith("the logs are a sample") and sample["savings_share"] == 0.25
    # ... unless the sampling rate is known: 5,000 a month in a 1% sample is 500,000 in production.
    sampled = savings_projection(summary, traffic, sample_rate=0.01)
    assert sampled["volume_source"] == "sample_rate" and sampled["monthly_queries"] == pytest.approx(500_000)
    assert sampled["policy_monthly_usd"] == pytest.approx(150.0)
    unknown = savings_projection(summary, None)
    assert unknown["monthly_queries"] is None and unknown["saving_monthly_usd"] is None and unknown["cache"] == []


def test_savings_projection_is_based_on_the_logs_mix_when_there_are_logs():
    summary = {
        "baseline": {"tier": "large", "cost_per_1k_usd": 0.4},
        "chosen": {"cost_per_1k_usd": 0.3, "savings_share": 0.25, "savings_share_ci": [0.2, 0.3]},
        # production asks the hard questions more often than the curated eval set: the saving is smaller
        "production_mix": {
            "rows": 400,
            "policy_cost_per_1k_usd": 0.45,
            "baseline_cost_per_1k_usd": 0.5,
            "savings_share": 0.1,
            "savings_share_ci": [0.05, 0.15],
        },
    }
    projection = savings_projection(RunSummary.from_json(summary), None, monthly_queries=1_000_000)
    assert projection["basis"] == "logs"
    assert projection["saving_monthly_usd"] == pytest.approx(50.0)  # (0.5 - 0.45) per 1k x 1M, not (0.4 - 0.3)
    assert projection["savings_share_ci"] == [0.05, 0.15]
    assert projection["eval_savings_share"] == 0.25


def _verdict(summary: dict) -> dict:
    return headline_verdict(RunSummary.from_json(summary))


def _verdict_summary(**chosen_fields):
    chosen = {
        "router": "cascade",
        "variant": "small>large",
        "knob": 0.7,
        "savings_share": 0.27,
        "savings_share_ci": [0.2, 0.3],
        "accuracy_drop": 0.003,
        "accuracy_drop_ci": [0.0, 0.009],
    }
    chosen.update(chosen_fields)
    return {
        "tiers": [{"name": "small"}, {"name": "large"}],
        "baseline": {"tier": "large"},
        "frontier": [chosen],
        "chosen": chosen,
        "selection": {"found_cheaper": True, "max_drop": 0.01, "confidence": 0.95},
        "metrics": {"aiq": {"cascade": 0.90, "knn": 0.88}, "zero_router_aiq": 0.85},
    }


def test_headline_verdict_follows_the_measured_frontier():
    pays = _verdict(_verdict_summary())
    assert pays["verdict"] == "routing_pays" and pays["winner"] == "cascade"
    assert "cascade router" in pays["sentence"] and "best frontier overall" in pays["sentence"]

    other = _verdict_summary(router="knn", variant="threshold")
    assert "cascade has the best frontier overall" in _verdict(other)["sentence"]

    tier = _verdict(_verdict_summary(router="tier", variant="small", knob=None))
    assert tier["verdict"] == "cheaper_tier" and "sending every query to small" in tier["sentence"]

    none = _verdict_summary(router="tier", variant="large", knob=None)
    none["selection"]["found_cheaper"] = False
    verdict = _verdict(none)
    assert verdict["verdict"] == "no_saving" and verdict["sentence"].startswith("Routing does not pay off")

    lone = _verdict_summary(router="tier", variant="large", knob=None)
    lone["tiers"], lone["selection"]["found_cheaper"] = [{"name": "large"}], None
    assert _verdict(lone)["verdict"] == "one_tier"
    assert _verdict({})["verdict"] == "not_optimized"


def test_report_figures_are_json_friendly(demo, logs):
    summary, frame, chosen_rows, _ = demo
    figures = report_figures(RunSummary.from_json(summary), frame, chosen_rows, logs=logs, monthly_queries=2_000_000)
    json.dumps(figures, allow_nan=False)
    assert figures["savings"]["monthly_queries"] == 2_000_000
    compact = report_summary(figures)
    assert compact["misrouted"]["too_high"] and "input" not in compact["misrouted"]["too_high"][0]
    assert len(json.dumps(compact)) < len(json.dumps(figures))
    assert figures["traffic"]["rows"] == 400


# ------------------------------------------------------------------------------------------ hostile text


def test_el_escapes_text_and_attributes():
    assert el("td", "<b>x</b>", title='"><script>') == '<td title="&quot;&gt;&lt;script&gt;">&lt;b&gt;x&lt;/b&gt;</td>'
    assert join("a&b", el("i", "c")) == "a&amp;b<i>c</i>"
    assert esc("'") == "&#x27;"
    assert md_text("a | b `c` <img>\nd") == "a \\| b \\`c\\` &lt;img&gt; d"


def _hostile(frame):
    frame = frame.copy()
    frame[C.INPUT] = HOSTILE_INPUT + " " + frame[C.ROW_ID].astype(str)
    frame[C.RESPONSE] = HOSTILE_RESPONSE
    frame[C.REFERENCE] = HOSTILE_RESPONSE
    frame[C.INTENT] = frame[C.INTENT].where(frame[C.INTENT] != "ambiguous", HOSTILE_INTENT)
    return frame


def assert_escaped(paths: dict[str, Path]) -> None:
    """Hostile strings show as text in both reports: no tag, handler or broken table comes from data."""
    html_text = paths["html"].read_text(encoding="utf-8")
    assert "<script" not in html_text.lower() and "<img" not in html_text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_text
    page = parse(paths["html"])
    assert not {"script", "img"} & {tag for tag, _ in page.tags}
    assert not [name for _, attributes in page.tags for name in attributes if name.startswith("on")]
    text = "".join(page.text)
    assert "<script>alert(1)</script>" in text, "shown to the reader as text"
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "<script" not in markdown and "<img" not in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;" in markdown
    assert "a \\| b \\| c" in markdown
    for table in table_rows(markdown):
        assert {len(row) for row in table} == {len(table[0])}, table


def test_hostile_text_is_escaped_in_both_reports(demo, tmp_path):
    summary, frame, chosen_rows, _ = demo
    paths = write_reports(tmp_path, RunSummary.from_json(summary), _hostile(frame), chosen_rows)
    assert_escaped(paths)
    assert "&lt;script&gt;" in paths["markdown"].read_text(encoding="utf-8"), "the sent-too-low sample shows queries"


def test_hostile_tier_names_stay_text_in_the_plot(demo, tmp_path):
    summary, frame, chosen_rows, _ = demo
    name = "<b onload=x>$big$</b>"
    rename = {"large": name}
    summary = RunSummary.from_json(json.loads(json.dumps(summary).replace('"large"', json.dumps(name))))
    frame = frame.assign(**{C.TIER: frame[C.TIER].replace(rename)})
    chosen_rows = [{**r, "tier": rename.get(r["tier"], r["tier"])} for r in chosen_rows]
    paths = write_reports(tmp_path, summary, frame, chosen_rows)
    svg = paths["frontier_svg"].read_text(encoding="utf-8")
    assert "<b " not in svg and "&lt;b onload=x&gt;$big$&lt;/b&gt;" in svg
    page = parse(paths["html"])
    assert "b" not in {tag for tag, attributes in page.tags if "onload" in attributes}
    assert name in "".join(page.text)


@pytest.mark.slow
def test_hostile_text_through_a_full_run(tmp_path, monkeypatch):
    """A real `run` (simulated tiers through litellm) on an eval set full of hostile text, then the reports."""
    from routeeval.pipeline import run_evaluation

    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    monkeypatch.chdir(tmp_path)
    rows = []
    for i in range(40):
        intent = HOSTILE_INTENT if i % 2 else "plain"
        rows.append(
            {
                "id": f"r{i:02d}",
                "input": f"{HOSTILE_INPUT} #{i}",
                "reference": f"{HOSTILE_RESPONSE} {i % 7}",
                "intent": intent,
                "label": "hard" if i % 3 == 0 else "easy",
            }
        )
    evalset = tmp_path / "hostile.jsonl"
    evalset.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    logs = _write_logs(tmp_path / "logs.jsonl", [(f"2026-10-0{1 + i % 9}T00:00:00Z", HOSTILE_INPUT) for i in range(9)])
    result = run_evaluation(
        evalset, logs_path=logs, out_dir=tmp_path / "run", overrides={"routers": ["static", "cascade"]}
    )
    paths = write_reports(result.out_dir, result.summary, result.outcomes, result.chosen_rows, logs=load_logs(logs))
    assert_escaped(paths)


def test_reports_cope_with_a_bare_summary_and_missing_columns(tmp_path, demo_outcomes):
    frame = demo_outcomes.drop(columns=[C.INTENT, C.INPUT, C.REFERENCE])
    summary = RunSummary.from_json(
        {"tiers": [{"name": t} for t in TIERS], "evalset": {"path": "imported", "rows": 350}}
    )
    paths = write_reports(tmp_path, summary, frame, [])
    # no labels and no cascade: no section for either
    assert parse(paths["html"]).sections == [s for s in SECTIONS if s not in ("labels", "confidence")]
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "No routing result" in markdown and "(no intent)" in markdown
    for table in table_rows(markdown):
        assert {len(row) for row in table} == {len(table[0])}, table


def test_reports_state_the_certified_drop_bound(written, demo):
    summary = demo[0]
    upper = summary["chosen"]["accuracy_drop_upper"]
    assert summary["selection"]["found_cheaper"] and upper <= summary["selection"]["max_drop"]
    bound = f"at most {upper * 100:.1f} points with 95% family-wise confidence"
    assert bound in written["markdown"].read_text(encoding="utf-8")
    assert bound in " ".join(parse(written["html"]).text)
    budget = json.loads(json.dumps(summary))
    budget["selection"]["budget_per_1k_usd"] = 0.1  # a budget certifies nothing about the drop
    assert drop_bound(RunSummary.from_json(budget)) == ""
