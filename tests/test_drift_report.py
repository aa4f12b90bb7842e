"""drift.md, drift.html and the terminal view of a drift record: what each shows, hostile text, missing data."""

from __future__ import annotations

import ast
import copy
import io
import json
import re
import sys
from html.parser import HTMLParser

import pytest
from helpers import DATA, ROOT

from routeeval.report.drift import (
    md_text,
    render_drift_html,
    render_drift_markdown,
    render_drift_terminal,
    write_drift_reports,
)

EXAMPLE = DATA / "drift-example.json"  # the record `routeeval drift` writes, as /tmp/notes/drift-example.json
HOSTILE = "<script>alert(1)</script> | pipes | `tick` ```\n# heading\nsecond line"
FIGURE_TITLES = {
    "routing_score": "Routing score then vs now",
    "tier_share": "Tier shares then vs now",
    "intent_mix": "Intent mix then vs now",
    "input_length": "Input length then vs now",
    "cost": "Cost per 1,000 queries then vs now",
}


@pytest.fixture()
def record() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _check(record: dict, check_id: str) -> dict:
    return next(c for c in record["checks"] if c["id"] == check_id)


def _hostile(record: dict) -> dict:
    """The example with hostile text as a worst-routed query and answers, an intent name, a tier name, a summary,
    a reason, the headline and a policy path."""
    record = copy.deepcopy(record)
    record["headline"] = "FAIL: " + HOSTILE
    record["policy"]["path"] = HOSTILE
    record["reasons"].append(f"new intent {HOSTILE!r}")
    record["worst_routed"] = [
        {
            "id": HOSTILE,
            "query": HOSTILE,
            "tier": HOSTILE,
            "answer": HOSTILE,
            "baseline_tier": "large",
            "baseline_answer": HOSTILE,
            "score": 0.0,
        }
    ]
    intents = _check(record, "intent_mix")
    intents["summary"] = f"new intent {HOSTILE} is 17.5% of queries"
    intents["details"]["now"][HOSTILE] = 0.3
    intents["details"]["new"].append({"intent": HOSTILE, "share": 0.3, "rows": 120})
    tiers = _check(record, "tier_share")["details"]
    tiers["then"][HOSTILE] = 0.5
    tiers["now"][HOSTILE] = 0.5
    return record


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <title> elements of SVG figures."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


def _table_rows(markdown: str, heading: str) -> list[str]:
    """The body rows of the table under ``### heading`` (its header and separator left out)."""
    lines = markdown.splitlines()
    start = lines.index(f"### {heading}") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows[2:]


def _cells(row: str) -> list[str]:
    """A Markdown table row split on the pipes Markdown would split on (escaped pipes stay in their cell)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]]


# ------------------------------------------------------------------------------------------ Markdown


def test_markdown_starts_with_the_verdict_without_repeating_it(record):
    first = render_drift_markdown(record).splitlines()[0]
    headline = "the policy no longer holds its promise on 2026-12-01..2026-12-31 (3 of 9 checks failed)."
    assert first == f"**FAIL** — {headline}"
    record["verdict"], record["headline"] = "warn", "two checks warn"
    assert render_drift_markdown(record).splitlines()[0] == "**WARN** — two checks warn"


def test_markdown_says_what_was_compared(record):
    text = render_drift_markdown(record)
    paragraph = text.split("\n\n")[1]
    assert "**Policy:** a cascade policy (router cascade, variant small&gt;large), created 2026-12-07" in paragraph
    assert "400 rows checked of 412 read, 2026-12-01 to 2026-12-31; every row in the window" in paragraph
    assert "**Reference:** the production logs the policy was certified on (400 rows, 2026-10-01 to 2026-10-30)" in (
        paragraph
    )
    assert "not production traffic" not in paragraph
    record["reference"]["basis"] = "evalset"
    record["logs"]["sampled"] = True
    paragraph = render_drift_markdown(record).split("\n\n")[1]
    assert "The reference is the eval set, not production traffic" in paragraph
    assert "a sample of the rows in the window" in paragraph


def test_markdown_check_table_holds_the_checks_that_ran_and_lists_the_skipped_apart(record):
    text = render_drift_markdown(record)
    rows = {_cells(row)[1]: _cells(row) for row in _table_rows(text, "Checks")}
    ran = [c["title"] for c in record["checks"] if c["status"] != "skipped"]
    skipped = [c["title"] for c in record["checks"] if c["status"] == "skipped"]
    assert list(rows) == ran
    assert skipped and not set(skipped) & set(rows)
    details = text[text.index("<details>") : text.index("</details>")]
    assert "3 skipped checks" in details
    for title in skipped:
        assert f"- {md_text(title)}: " in details
    # status, summary, statistic in its unit, p-value or CI, thresholds
    assert rows["Intent mix"] == [
        "**FAIL**",
        "Intent mix",
        "new intent 'ai\\_assistant' is 17.5% of queries; the intent mix moved 21 points (p &lt; 0.001)",
        "total variation distance 21.0 pt",
        "p &lt; 0.001",
        "warn 5.0 pt, fail 10.0 pt",
    ]
    cost = ["cost change +28.0%", "CI +20.0% to +36.0%", "warn +10.0%, fail +25.0%"]
    assert rows["Cost per 1,000 queries"][3:] == cost
    assert rows["Old vs new queries (domain classifier)"][3:] == ["AUC 0.71", "CI 0.66–0.76", "warn 0.65, fail 0.8"]
    assert rows["Accuracy drop on fresh traffic"][3:] == ["accuracy drop 0.4 pt", "CI -0.6 to 1.5 pt", "fail at 2.0 pt"]
    assert rows["Tier shares"][0] == "OK"


def test_markdown_reasons_actions_examples_and_spend(record):
    text = render_drift_markdown(record)
    assert "### Top reasons\n\n- new intent 'ai\\_assistant' is 17.5% of queries\n" in text
    assert "### What to do\n\n- Label a sample of the new intent" in text
    (row,) = _table_rows(text, "Worst-routed examples (1 of 1)")
    assert _cells(row) == [
        "log-2612-00042",
        "can copilot summarize my &lt;b&gt;tickets&lt;/b&gt;?",
        "**small:** Sure ...",
        "**large:** Acme Copilot ...",
        "0",
    ]
    assert "**Spend:** $0.1200 of the $5.00 maximum; 400 calls made, 0 from the cache (replay 400 calls)." in text
    assert "Refit" not in text


def test_markdown_shows_at_most_five_examples_shortened(record):
    record["worst_routed"] = [
        {"id": f"row-{i}", "query": "q" * 500, "tier": "small", "answer": "a" * 500, "score": 0.0} for i in range(8)
    ]
    text = render_drift_markdown(record)
    rows = _table_rows(text, "Worst-routed examples (5 of 8)")
    assert [_cells(r)[0] for r in rows] == [f"row-{i}" for i in range(5)]
    query = _cells(rows[0])[1]
    assert query == "q" * 199 + "…"


def test_markdown_shows_the_refit_candidate_and_its_diff(record):
    diff = ["router: cascade (small>large) → knn", "tier share '`x`': 40.0% → 55.0%"]
    record["refit"] = {"policy_path": "reports/drift/candidate/policy.json", "report": None, "diff": diff}
    text = render_drift_markdown(record)
    block = text[text.index("### Refit candidate") :]
    assert block.splitlines()[2] == (
        "A policy refit with this month's logs: reports/drift/candidate/policy.json. What changes if it replaces "
        "the deployed policy:"
    )
    assert "- router: cascade (small&gt;large) → knn\n- tier share '\\`x\\`': 40.0% → 55.0%\n" in block


def test_markdown_escapes_hostile_text(record):
    text = render_drift_markdown(_hostile(record))
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    (row,) = _table_rows(text, "Worst-routed examples (1 of 1)")
    cells = _cells(row)
    assert len(cells) == 5  # no pipe in the text split the row
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; \\| pipes \\| \\`tick\\` \\`\\`\\` \\# heading second line"
    assert cells[1] == escaped
    assert not re.search(r"(?<!\\)`", text)  # no backtick can open code
    assert not any(line.lstrip().startswith("#") and not line.startswith("### ") for line in text.splitlines())
    intent_row = next(r for r in _table_rows(text, "Checks") if "Intent mix" in r)
    assert len(_cells(intent_row)) == 6


def test_md_text_escapes_markers_at_the_start():
    assert md_text("# title") == "\\# title"
    assert md_text("- item") == "\\- item"
    assert md_text("1. first") == "1\\. first"
    assert md_text("a\n\n|b|") == "a \\|b\\|"
    assert md_text("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"


# ------------------------------------------------------------------------------------------ HTML


def test_html_draws_one_figure_per_check_with_data(record):
    page = render_drift_html(record)
    titles = [m.group(1) for m in re.finditer(r"<svg[^>]*><title>([^<]*)</title>", page)]
    assert titles == list(FIGURE_TITLES.values())
    assert page.count("<svg") == 5
    _check(record, "cost")["details"] = {}
    _check(record, "input_length")["details"]["now_quantiles"] = None
    _check(record, "input_length")["details"]["then_quantiles"] = []
    page = render_drift_html(record)
    titles = [m.group(1) for m in re.finditer(r"<svg[^>]*><title>([^<]*)</title>", page)]
    assert titles == [FIGURE_TITLES[k] for k in ("routing_score", "tier_share", "intent_mix")]
    assert "promised at certification" not in page


def test_html_renders_when_every_check_has_empty_details(record):
    for check in record["checks"]:
        check["details"] = {}
    page = render_drift_html(record)
    assert "<svg" not in page
    assert "The record holds no figures to draw." in page
    assert "Intent mix" in page  # the checks table is still there


@pytest.mark.parametrize(
    "minimal",
    [
        {},
        {"verdict": "ok"},
        {"verdict": "fail", "checks": [{"id": "cost", "status": "fail", "details": None}], "spend": None},
        {"checks": [None, "x", {"id": "intent_mix", "details": {"then": {"a": "x"}, "now": None}}], "refit": {}},
    ],
)
def test_every_renderer_survives_a_record_missing_its_keys(minimal):
    assert render_drift_markdown(minimal).startswith("**")
    assert "<svg" not in render_drift_html(minimal)
    render_drift_terminal(minimal, _console())


def test_html_cost_figure_and_price_table(record):
    page = render_drift_html(record)
    assert "$0.3157" in page and "$0.4100 [$0.3800–$0.4300]" in page
    changed = [attrs for tag, attrs in _tags(page) if tag == "tr" and attrs.get("class") == "changed"]
    assert len(changed) == 1
    assert "<td>medium (changed)</td>" in page
    assert "$0.3500 per 1,000 queries" in page  # at the policy's prices
    assert "No monthly figure: no production volume" in page


def test_html_intent_figure_keeps_the_top_intents_and_marks_new_ones(record):
    details = _check(record, "intent_mix")["details"]
    details["then"] = {f"intent-{i:02d}": 0.05 - i * 0.001 for i in range(20)}
    details["now"] = {**details["then"], "brand-new": 0.2}
    details["new"] = [{"intent": "brand-new", "share": 0.2, "rows": 80}]
    page = render_drift_html(record)
    svg = re.search(r"<svg[^>]*><title>Intent mix then vs now</title>.*?</svg>", page, re.S).group(0)
    labels = re.findall(r"<text[^>]*><title>([^<]*)</title>", svg)
    assert labels == ["new: brand-new"] + [f"intent-{i:02d}" for i in range(11)]
    assert 'fill="#d62728"' in svg
    assert "the 12 largest of 21" in page


def test_html_escapes_hostile_text_everywhere(record):
    page = render_drift_html(_hostile(record))
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6  # headline, path, reason, example, intent, tier
    tags = {tag for tag, _ in _tags(page)}
    assert "script" not in tags
    assert tags <= {
        "html", "head", "meta", "title", "style", "body", "main", "p", "h1", "h2", "h3", "div", "strong", "ul", "li",
        "dl", "dt", "dd", "section", "table", "tr", "th", "td", "span", "b", "figure", "figcaption", "svg", "rect",
        "text", "line", "polyline", "circle", "code", "pre",
    }  # fmt: skip


def test_html_is_self_contained(record):
    record["refit"] = {"policy_path": "candidate.json", "diff": ["knob: 0.7 → <i>0.8</i>"]}
    page = render_drift_html(record)
    for tag, attrs in _tags(page):
        assert tag not in {"script", "link", "img", "iframe", "object"}
        for name, value in attrs.items():
            if name != "xmlns":
                assert "://" not in (value or ""), (tag, name, value)
    assert "<li>knob: 0.7 → &lt;i&gt;0.8&lt;/i&gt;</li>" in page
    assert "A policy refit with this month&#x27;s logs: candidate.json." in page


# ------------------------------------------------------------------------------------------ terminal


def _console():
    from rich.console import Console

    return Console(file=io.StringIO(), width=160, record=True, color_system=None)


def test_terminal_shows_the_verdict_the_checks_that_ran_and_the_reasons(record):
    console = _console()
    render_drift_terminal(record, console)
    out = console.export_text()
    assert out.splitlines()[0].startswith("FAIL — the policy no longer holds its promise")
    table = out[out.index("Drift checks") : out.index("skipped:")]
    assert "Intent mix" in table and "Routing score" not in table
    assert "skipped: Routing score, Vocabulary coverage, Production's tiers vs the policy's" in out
    assert "• new intent 'ai_assistant' is 17.5% of queries" in out


def test_terminal_prints_record_text_as_text_not_markup(record):
    record["headline"] = "FAIL: [bold red]not markup[/bold red] [link=x]y[/link]"
    console = _console()
    render_drift_terminal(record, console)
    assert "[bold red]not markup[/bold red] [link=x]y[/link]" in console.export_text()


# ------------------------------------------------------------------------------------------ files and imports


def test_write_drift_reports_writes_both_files(record, tmp_path):
    out = tmp_path / "new" / "folder"
    paths = write_drift_reports(record, out)
    assert paths == {"markdown": out / "drift.md", "html": out / "drift.html"}
    assert paths["markdown"].read_text(encoding="utf-8") == render_drift_markdown(record)
    assert paths["html"].read_text(encoding="utf-8") == render_drift_html(record)
    assert sorted(p.name for p in out.iterdir()) == ["drift.html", "drift.md"]  # no temporary file left


def test_the_drift_renderers_import_only_what_sits_below_them():
    tree = ast.parse((ROOT / "routeeval" / "report" / "drift.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    package = {n for n in names if n.split(".")[0] == "routeeval"}
    # the shared escaping of report.html and report.markdown (siblings in the report layer), nothing above it;
    # log_formats (the data layer) names the logs' detected format in words
    below = {"routeeval.files", "routeeval.log_formats", "routeeval.report.formatting", "routeeval.report.plots"}
    assert package <= below | {"routeeval.report.html", "routeeval.report.markdown"}
    assert "routeeval.drift" not in package
    others = {n.split(".")[0] for n in names - package} - set(sys.stdlib_module_names) - {"__future__"}
    assert others == {"rich"}
