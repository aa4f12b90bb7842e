"""report.md: the headline, frontier table and per-intent table, fit for a pull-request comment or CI summary.

User text (intents, queries, answers, tier and path names) goes through :func:`md_text`, which
backslash-escapes Markdown punctuation (``|`` cannot split a table cell, backticks cannot open code),
turns ``<``, ``>`` and ``&`` into entities (no HTML gets through) and folds newlines into spaces (a
row stays one line).
"""

from __future__ import annotations

import re

from routeeval.report.formatting import (
    confidence_label,
    confidence_sentences,
    drop_bound,
    interval,
    labels_sentences,
    money,
    ms,
    plural,
    point_label,
    points,
    same_point,
    share,
    signed_points,
    spend_text,
    thin,
    unscored_lines,
)
from routeeval.summary import Baseline, Point, RunSummary

FRONTIER_ROWS = 12
SAMPLE_ROWS = 5
SAMPLE_CHARS = 140
_PUNCTUATION = "\\`*_[]|~#"


def md_text(value, limit: int | None = None) -> str:
    """User text as inert Markdown for one table cell or line: whitespace folded into single spaces, Markdown
    punctuation backslash-escaped (a ``|`` cannot split a cell, a backtick cannot open code, ``#`` cannot start a
    heading), a leading list or quote marker escaped, and ``&``, ``<``, ``>`` as entities (no HTML gets through)."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())  # newlines, tabs and runs of spaces become one space
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    for char in _PUNCTUATION:
        text = text.replace(char, "\\" + char)
    text = re.sub(r"^([-+=])", r"\\\1", text)
    text = re.sub(r"^(\d+)([.)])", r"\1\\\2", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _row(*cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(*names: str, numeric: set[int] | None = None) -> list[str]:
    numeric = numeric or set()
    return [_row(*names), _row(*["---:" if i in numeric else "---" for i in range(len(names))])]


def render_markdown(summary: RunSummary, figures: dict, plot_name: str = "frontier.svg") -> str:
    """The Markdown report as a string; ``plot_name`` is the frontier SVG written beside it."""
    lines: list[str] = []
    verdict = figures["headline"]
    baseline = summary.baseline or Baseline()
    tag = " (SIMULATED tiers)" if summary.simulated else ""
    lines.append(f"## routeeval: {md_text(summary.evalset.path or 'outcomes')}{tag}")
    lines.append("")
    if summary.simulated:
        lines.append("> **SIMULATED**: every tier answered from routeeval's simulator, not a real model.")
        lines.append("")
    lines.append(md_text(verdict["sentence"]))
    lines.append("")
    if summary.chosen is not None:
        lines += _headline_table(summary, figures)
        lines.append("")
    frontier = summary.frontier
    if frontier:
        lines.append(f"### Frontier ({len(frontier)} points, thinned)")
        lines.append("")
        lines += _frontier_table(summary, frontier)
        lines.append("")
        lines.append(f"![accuracy vs $ per 1,000 queries]({plot_name})")
        lines.append("")
    if figures["intents"]:
        lines.append("### Per intent")
        lines.append("")
        lines += _intent_table(summary, figures["intents"])
        lines.append("")
    sentences = confidence_sentences(summary)
    if sentences:
        lines.append("### Cascade confidence per tier")
        lines.append("")
        lines += [f"- {md_text(sentence)}" for sentence in sentences]
        lines.append("")
    sentences = labels_sentences(summary.labels)
    if sentences:
        lines.append("### Human labels vs measured outcomes")
        lines.append("")
        lines += [f"- {md_text(sentence)}" for sentence in sentences]
        lines.append("")
    too_low = figures["misrouted"]["too_low"][:SAMPLE_ROWS]
    if too_low:
        lines.append(f"### Sent too low: {plural(figures['misrouted']['too_low_count'], 'query')} (a sample)")
        lines.append("")
        lines += _sample_table(too_low, baseline.tier)
        lines.append("")
    if summary.notes:
        lines.append("### Notes")
        lines.append("")
        lines += [f"- {md_text(note)}" for note in summary.notes]
        lines.append("")
    lines.append(_provenance_line(summary))
    return "\n".join(lines) + "\n"


def _headline_table(summary: RunSummary, figures: dict) -> list[str]:
    chosen = summary.chosen
    assert chosen is not None
    baseline = summary.baseline or Baseline()
    savings = figures["savings"]
    latency = figures["latency"]
    monthly = savings.get("monthly_queries") is not None
    names = ["", f"accuracy [{confidence_label(summary)}]", "$ / 1k queries", "p50 / p95 latency"]
    if monthly:
        names.append("per month")
    lines = _header(*names, numeric={1, 2, 3, 4})
    base_row = [
        f"{md_text(baseline.tier)} (baseline)",
        share(baseline.accuracy) + interval(baseline.accuracy_ci),
        money(baseline.cost_per_1k_usd),
        f"{ms(latency.get('baseline_p50_ms'))} / {ms(latency.get('baseline_p95_ms'))}",
    ]
    chosen_row = [
        f"**{md_text(point_label(chosen))}** (chosen)",
        share(chosen.accuracy) + interval(chosen.accuracy_ci),
        money(chosen.cost_per_1k_usd),
        f"{ms(latency.get('p50_ms'))} / {ms(latency.get('p95_ms'))}",
    ]
    if monthly:
        base_row.append(money(savings.get("baseline_monthly_usd")))
        chosen_row.append(money(savings.get("policy_monthly_usd")))
    lines += [_row(*base_row), _row(*chosen_row)]
    lines.append("")
    mix = "on the production logs' mix" if savings.get("basis") == "logs" else "on the eval set's mix"
    saving = f"**Saving {mix}: {share(savings.get('savings_share'))}{interval(savings.get('savings_share_ci'))}**"
    if monthly:
        saving += f" = {money(savings.get('saving_monthly_usd'))} a month at {savings['monthly_queries']:,.0f} queries"
    saving += (
        f"; accuracy drop {points(chosen.accuracy_drop)} points{interval(chosen.accuracy_drop_ci)}"
        f" ({confidence_label(summary)}){drop_bound(summary)}."
    )
    lines.append(saving)
    lines += _production_lines(summary, savings)
    for cache in savings.get("cache") or []:
        label = "an exact-match" if cache["kind"] == "exact" else "a normalized-text"
        lines.append(
            f"With {label} cache in front ({share(cache['hit_share'])} of logged queries repeat): "
            f"{share(cache.get('combined_saving_share'))} saved."
        )
    return lines


def _production_lines(summary: RunSummary, savings: dict) -> list[str]:
    """The policy on the logs' mix next to the eval set's, and why no monthly dollars when volume is unknown."""
    lines = []
    mix = summary.production_mix
    if savings.get("basis") == "logs" and mix is not None and summary.chosen is not None:
        chosen = summary.chosen
        calls = ", ".join(
            f"{md_text(tier)} {share(value, digits=0)}{interval((mix.tier_share_ci or {}).get(tier), digits=0)}"
            for tier, value in (mix.tier_share or {}).items()
            if value
        )
        lines += [
            "",
            f"On the production logs ({mix.rows} rows, routed by the policy): "
            f"{money(mix.policy_cost_per_1k_usd)} per 1k queries vs "
            f"{money(mix.baseline_cost_per_1k_usd)}; "
            f"calls per query: {calls}. On the eval set: {money(chosen.cost_per_1k_usd)} per 1k, "
            f"saving {share(chosen.savings_share)}.",
        ]
    if savings.get("volume_note"):
        lines += ["", f"No monthly dollars: {md_text(savings['volume_note'])}."]
    return lines


def _frontier_table(summary: RunSummary, frontier: list[Point]) -> list[str]:
    chosen = summary.chosen
    names = ("router / knob", f"accuracy [{confidence_label(summary)}]", "$ / 1k", "calls per tier")
    lines = _header(*names, numeric={1, 2})
    for point in thin(frontier, chosen, FRONTIER_ROWS):
        label = md_text(point_label(point))
        if same_point(point, chosen):
            label = f"**{label} ← chosen**"
        calls = ", ".join(f"{md_text(tier)} {share(value, 0)}" for tier, value in point.tier_share.items() if value)
        lines.append(
            _row(
                label,
                share(point.accuracy) + interval(point.accuracy_ci),
                money(point.cost_per_1k_usd),
                calls,
            )
        )
    return lines


def _intent_table(summary: RunSummary, slices: list[dict]) -> list[str]:
    tiers = [t.name for t in summary.tiers]
    baseline = summary.baseline.tier if summary.baseline else None
    names = [
        "intent",
        "rows",
        *[f"{md_text(t)} acc." for t in tiers],
        "policy acc.",
        f"drop vs {md_text(baseline or 'baseline')}",
    ]
    names += ["routed to", "sent too low"]
    n = len(names)
    lines = _header(*names, numeric=set(range(1, n - 2)) | {n - 1})
    for s in slices:
        drop = s.get("accuracy_drop")
        routed = ", ".join(f"{md_text(t)} {share(v, 0)}" for t, v in s["tier_share"].items() if v)
        lines.append(
            _row(
                md_text(s["intent"]),
                str(s["rows"]),
                *[share(s["tier_accuracy"].get(t), 0) for t in tiers],
                share(s.get("policy_accuracy"), 0),
                signed_points(drop),
                routed or "—",
                str(s["sent_too_low"]),
            )
        )
    return lines


def _sample_table(samples: list[dict], baseline: str | None) -> list[str]:
    lines = _header(
        "intent", "query", "route", "policy's answer", "score", f"{md_text(baseline)} score", numeric={4, 5}
    )
    for s in samples:
        answer: dict = next((a for a in s["answers"] if a["tier"] == s.get("policy_tier")), {})
        lines.append(
            _row(
                md_text(s.get("intent")),
                md_text(s.get("input"), SAMPLE_CHARS),
                md_text(s.get("policy_path")),
                md_text(answer.get("response"), SAMPLE_CHARS),
                _score(s.get("policy_score")),
                _score(s.get("baseline_score")),
            )
        )
    return lines


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2g}"


def _provenance_line(summary: RunSummary) -> str:
    evalset = summary.evalset
    tiers = ", ".join(
        f"{md_text(t.name)}={md_text(t.model)}" + (" (simulated)" if t.simulated else "") for t in summary.tiers
    )
    sha = (evalset.sha256 or "")[:12]
    rule = md_text((summary.selection.rule if summary.selection else None) or "")
    spend = spend_text(summary)
    unscored = unscored_lines(summary.single_tiers)
    return (
        "".join(f"_Eval set: {md_text(line)}._\n\n" for line in unscored)
        + (f"_Spend, every paid call of the run: {md_text(spend)}._\n\n" if spend else "")
        + f"_eval set sha256 {sha or '—'}, {evalset.rows} rows; tiers {tiers}; "
        f"{md_text(summary.cost_map_version or 'no cost map')}; "
        f"routeeval {md_text(summary.routeeval_version or '')}. Selection: {rule}._"
    )
