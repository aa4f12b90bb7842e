"""report.html: one self-contained page (inline CSS and SVG, no script, no external URL), printable.

Every piece of text goes through :func:`el`, which escapes it with ``html.escape(..., quote=True)``;
only :class:`Markup` (built here by :func:`el`, or the frontier SVG that matplotlib wrote and
escaped itself) passes unescaped. Query, answer, reference, intent, tier and path strings come from
users and production logs: they are never formatted into markup directly.
"""

from __future__ import annotations

import html
from typing import Any

from routeeval.report.formatting import (
    confidence_label,
    confidence_sentences,
    count,
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
from routeeval.report.plots import inline_svg
from routeeval.summary import Baseline, Chosen, Point, ProductionMix, RunSummary, Selection

FRONTIER_ROWS = 16  # the frontier table under the plot is thinned to about this many rows
TIER_PALETTE = ("#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b", "#041c40")

CSS = """
:root { --ink: #1b1f23; --muted: #5a6470; --line: #d8dee4; --bg-soft: #f6f8fa; --good: #1a7f37;
        --bad: #b42318; --warn-bg: #fff4ce; --warn-line: #d4a72c; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
       "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 4px 0 6px; line-height: 1.25; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line);
     break-after: avoid; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0 10px; }
.kicker { color: var(--muted); font-size: 13px; margin: 0; }
.lead { font-size: 17px; max-width: 70ch; }
.muted { color: var(--muted); }
.small { font-size: 13px; }
.banner { margin: 14px 0 6px; padding: 10px 14px; border: 2px solid var(--warn-line); background: var(--warn-bg);
          border-radius: 6px; font-weight: 600; }
.banner strong { letter-spacing: 0.06em; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); gap: 12px; margin: 14px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--bg-soft);
        break-inside: avoid; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
.card .value { font-size: 22px; font-weight: 700; margin: 2px 0; overflow-wrap: anywhere; }
.card .value.long { font-size: 16px; }
.card .detail { font-size: 13px; color: var(--muted); }
.verdict-routing_pays .value.main, .good { color: var(--good); }
.verdict-no_saving .value.main, .bad { color: var(--bad); }
figure { margin: 8px 0 12px; break-inside: avoid; }
figure svg { width: 100%; height: auto; max-width: 960px; display: block; }
figcaption { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 13.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { break-inside: avoid; }
tr.chosen td { background: #e6f4ea; font-weight: 600; }
td.loss { color: var(--bad); font-weight: 600; }
.bar { display: inline-flex; width: 140px; height: 12px; border: 1px solid var(--line); border-radius: 2px;
       overflow: hidden; vertical-align: middle; background: #fff; }
.bar span { display: block; height: 100%; }
td .bar { width: 80px; }
.legend-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 10px;
                 vertical-align: baseline; }
.sample { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; margin: 12px 0;
          break-inside: avoid; }
.sample h3 { margin: 0 0 4px; font-size: 14px; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.query { font-size: 15px; background: var(--bg-soft); border-left: 3px solid #3182bd; padding: 6px 10px;
         margin: 6px 0; }
.sample table { font-size: 13px; margin: 6px 0 2px; }
.sample td.answer { width: 70%; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 13.5px; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; overflow-wrap: anywhere; }
code { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { margin-top: 20px; }
  .card, .sample, figure { break-inside: avoid; }
}
@page { margin: 14mm; }
"""


class Markup(str):
    """HTML built by this module: passed through :func:`el` unescaped. Never wrap data in it."""

    __slots__ = ()


def esc(value) -> str:
    """Text as HTML: ``&``, ``<``, ``>``, ``"`` and ``'`` escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def el(tag: str, *children, **attrs) -> Markup:
    """``<tag attrs>children</tag>``: text children and every attribute value are escaped.

    ``class_`` gives ``class``; ``data_x`` gives ``data-x``; a None attribute or child is left out.
    """
    names = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"' for name, value in attrs.items() if value is not None
    )
    return Markup(f"<{tag}{names}>{join(*children)}</{tag}>")


def join(*children) -> Markup:
    """Concatenate children, escaping every one that is not already :class:`Markup`."""
    out: list[str] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, list | tuple):
            out.append(join(*child))
        else:
            out.append(child if isinstance(child, Markup) else esc(child))
    return Markup("".join(out))


# ------------------------------------------------------------------------------------------ page


def render_html(summary: RunSummary, figures: dict, svg: str) -> str:
    """The whole report page as a string."""
    evalset = summary.evalset.path or "outcomes"
    title = f"routeeval report — {evalset}"
    body = el(
        "main",
        _header(summary),
        _headline(summary, figures),
        _frontier(summary, svg),
        _tier_mix(summary, figures),
        _intents(summary, figures),
        _misrouted(summary, figures),
        _confidence(summary),
        _labels(summary),
        _savings(summary, figures),
        _provenance(summary, figures),
    )
    head = join(
        Markup('<meta charset="utf-8">'),
        Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        el("title", ("SIMULATED — " if summary.simulated else "") + title),
        el("style", Markup(CSS)),
    )
    return "<!DOCTYPE html>\n" + el("html", el("head", head), el("body", body), lang="en") + "\n"


def _header(summary: RunSummary) -> Markup:
    evalset = summary.evalset
    kicker = " · ".join(
        x
        for x in (
            "routeeval " + str(summary.routeeval_version or ""),
            str(evalset.path or ""),
            f"{evalset.rows} rows",
            str(summary.created_at or ""),
        )
        if x.strip()
    )
    parts = [el("p", kicker, class_="kicker"), el("h1", "Which queries can take the cheaper model, and what it saves")]
    if summary.simulated:
        parts.append(
            el(
                "div",
                el("strong", "SIMULATED"),
                " — every tier in this run answered from routeeval's simulator, not a real model. "
                "The figures show what the method measures, not what your models will do.",
                class_="banner",
                role="note",
            )
        )
    return join(*parts)


def _section(section_id: str, heading: str, *children) -> Markup:
    return el("section", el("h2", heading), *children, id=section_id)


# ------------------------------------------------------------------------------------------ headline


def _headline(summary: RunSummary, figures: dict) -> Markup:
    verdict = figures["headline"]
    chosen = summary.chosen
    baseline = summary.baseline or Baseline()
    savings = figures["savings"]
    cards = []
    if chosen is not None:
        cards.append(
            _card("chosen policy", point_label(chosen), f"policy kind: {chosen.policy_kind or '—'}", long=True)
        )
        mix = "on the production logs' mix" if savings.get("basis") == "logs" else "on the eval set's mix"
        if savings.get("saving_monthly_usd") is not None:
            saving_value = money(savings["saving_monthly_usd"]) + " / month"
            detail = f"{share(savings.get('savings_share'))}{interval(savings.get('savings_share_ci'))} of " + money(
                savings.get("baseline_monthly_usd")
            )
            detail += f" at {count(savings.get('monthly_queries'))} queries a month ({_volume_source(savings)}), {mix}"
        else:
            saving_value = share(savings.get("savings_share"))
            detail = (
                f"{interval(savings.get('savings_share_ci')).strip()} of {baseline.tier}'s cost {mix}; "
                f"{savings.get('volume_note') or 'no volume known'}"
            )
        cards.append(_card("saving", saving_value, detail, main=True))
        cards.append(
            _card(
                "accuracy drop",
                f"{points(chosen.accuracy_drop)} pt",
                f"{confidence_label(summary)}{interval(chosen.accuracy_drop_ci) or ' —'} points"
                f"{drop_bound(summary)}; {share(chosen.accuracy)} vs {baseline.tier} "
                f"{share(baseline.accuracy)}",
            )
        )
        cards.append(
            _card(
                "cost per 1,000 queries",
                money(chosen.cost_per_1k_usd),
                f"vs {money(baseline.cost_per_1k_usd)} for {baseline.tier} (baseline)",
            )
        )
    parts = [
        el("p", verdict["sentence"], class_="lead"),
        el("div", *cards, class_=f"cards verdict-{verdict['verdict']}"),
    ]
    holdout = summary.holdout
    if holdout is not None and holdout.chosen is not None:
        h = holdout.chosen
        parts.append(
            el(
                "p",
                f"Hold-out check ({holdout.rows} rows the selection never saw): "
                f"accuracy {share(h.accuracy)}, "
                f"drop {points(h.accuracy_drop)} points{interval(h.accuracy_drop_ci)}, "
                f"saves {share(h.savings_share)}.",
            )
        )
    reason = summary.selection.reason if summary.selection else None
    if reason:
        parts.append(el("p", "Selection: ", reason, ".", class_="muted small"))
    return _section("headline", "Headline", *parts)


def _card(label: str, value: str, detail: str, *, main: bool = False, long: bool = False) -> Markup:
    return el(
        "div",
        el("div", label, class_="label"),
        el("div", value, class_="value" + (" main" if main else "") + (" long" if long else "")),
        el("div", detail, class_="detail"),
        class_="card",
    )


def _volume_source(savings: dict) -> str:
    if savings.get("volume_source") == "monthly_queries":
        return "given"
    return f"the logs' rate divided by their sample rate {savings.get('sample_rate'):g}"


# ------------------------------------------------------------------------------------------ frontier


def _frontier(summary: RunSummary, svg: str) -> Markup:
    confidence = (summary.selection.confidence if summary.selection else None) or 0.95
    caption = (
        f"Each point is a policy measured out-of-fold on the eval set; bars are {confidence:.0%} confidence intervals. "
        "Squares are single tiers; coloured points are each router's operating points on the frontier"
        + ("; coloured lines are each router's own best curve" if summary.curves else "")
        + "; the dashed "
        "line is the zero router (mixing tiers at random); the star is the oracle (each query to its cheapest "
        "correct tier); the ring is the chosen policy."
    )
    parts = [el("figure", Markup(inline_svg(svg)), el("figcaption", caption))]
    metrics = summary.metrics
    aiq = {k: v for k, v in metrics.aiq.items() if v is not None}
    if aiq:
        zero = metrics.zero_router_aiq
        routerbench = metrics.aiq_routerbench or {}
        on_frontier: dict[str, int] = {}
        for p in summary.frontier:
            on_frontier[p.router] = on_frontier.get(p.router, 0) + 1
        rows = [
            el(
                "tr",
                el("td", router),
                el("td", f"{value:.4f}", class_="num"),
                el("td", _signed(value - zero) if zero is not None else "—", class_="num"),
                el("td", _aiq(routerbench.get(router)), class_="num"),
                el("td", str(on_frontier.get(router, 0)), class_="num"),
            )
            for router, value in sorted(aiq.items(), key=lambda kv: -kv[1])
        ]
        parts.append(el("h3", "Routers compared over the whole cost range"))
        parts.append(
            el(
                "table",
                el(
                    "tr",
                    el("th", "router"),
                    el("th", "AIQ (mean accuracy over cost)", class_="num"),
                    el("th", "vs zero router", class_="num"),
                    el("th", "AIQ, RouterBench's scale", class_="num"),
                    el("th", "points on the frontier", class_="num"),
                ),
                *rows,
            )
        )
        parts.append(
            el(
                "p",
                "AIQ as RouterBench defines it: the area under each router's own cost-accuracy hull (its variants "
                "pooled, no single tier added), over the single tiers' cost range, divided by that range "
                "(c_max - c_min). RouterBench's code divides by c_max instead (its scale, for comparing with its "
                "tables); both are in summary.json.",
                class_="small",
            )
        )
    frontier = summary.frontier
    if frontier:
        parts.append(el("h3", f"The frontier ({len(frontier)} points; thinned)"))
        parts.append(_frontier_table(summary, frontier))
    return _section("frontier", "Frontier: accuracy against dollars per 1,000 queries", *parts)


def _frontier_table(summary: RunSummary, frontier: list[Point]) -> Markup:
    chosen = summary.chosen
    tiers = [t.name for t in summary.tiers]
    head = el(
        "tr",
        el("th", "router / knob"),
        el("th", "accuracy [CI]", class_="num"),
        el("th", "$ / 1k", class_="num"),
        el("th", "calls per tier"),
    )
    rows = []
    for point in thin(frontier, chosen, FRONTIER_ROWS):
        is_chosen = same_point(point, chosen)
        rows.append(
            el(
                "tr",
                el("td", point_label(point) + ("  ← chosen" if is_chosen else "")),
                el("td", share(point.accuracy) + interval(point.accuracy_ci), class_="num"),
                el("td", money(point.cost_per_1k_usd), class_="num"),
                el("td", _share_bar(point.tier_share, tiers), " ", _share_text(point.tier_share)),
                class_="chosen" if is_chosen else None,
            )
        )
    return el("table", head, *rows)


# ------------------------------------------------------------------------------------------ tier mix


def _tier_mix(summary: RunSummary, figures: dict) -> Markup:
    latency = figures["latency"]
    tiers = [t.name for t in summary.tiers] or list(latency["tier_share"])
    if summary.chosen is None:
        return _section("tier-mix", "Tier mix and latency of the chosen policy", el("p", "No policy was chosen."))
    calls = latency["tier_share"]
    finals = latency["final_tier_share"]
    rows = [
        el(
            "tr",
            el("td", _swatch(tier, tiers), tier),
            el("td", share(calls.get(tier)), class_="num"),
            el("td", share(finals.get(tier, 0.0)) if finals else "—", class_="num"),
        )
        for tier in tiers
    ]
    mix = el(
        "table",
        el(
            "tr",
            el("th", "tier"),
            el("th", "queries that call it", class_="num"),
            el("th", "queries answered by it", class_="num"),
        ),
        *rows,
    )
    lat = el(
        "table",
        el("tr", el("th", ""), el("th", "p50", class_="num"), el("th", "p95", class_="num")),
        el(
            "tr",
            el("td", "chosen policy"),
            el("td", ms(latency["p50_ms"]), class_="num"),
            el("td", ms(latency["p95_ms"]), class_="num"),
        ),
        el(
            "tr",
            el("td", f"{latency['baseline_tier']} (baseline)"),
            el("td", ms(latency["baseline_p50_ms"]), class_="num"),
            el("td", ms(latency["baseline_p95_ms"]), class_="num"),
        ),
        el(
            "tr",
            el("td", "added by routing"),
            el("td", _signed_ms(latency["added_p50_ms"]), class_="num"),
            el("td", _signed_ms(latency["added_p95_ms"]), class_="num"),
        ),
    )
    notes = [
        el(
            "p",
            f"On average a query makes {latency['calls_per_query']:.2f} model calls."
            if latency.get("calls_per_query") is not None
            else "",
        )
    ]
    if latency.get("escalated_share"):
        notes.append(
            el(
                "p",
                f"{share(latency['escalated_share'])} of queries escalate: they wait for the first tier's answer, then "
                f"call the next (median {ms(latency['escalated_p50_ms'])} against {ms(latency['direct_p50_ms'])} for "
                "queries answered by the first tier). The percentiles above include that wait.",
            )
        )
    if latency.get("triage_tier"):
        notes.append(
            el(
                "p",
                f"Every query first asks {latency['triage_tier']} which tier should answer: that extra call's latency "
                "and cost are included in the figures above.",
            )
        )
    return _section(
        "tier-mix",
        "Tier mix and latency of the chosen policy",
        el("p", el("span", _share_bar(calls, tiers)), " ", _share_text(calls), class_="small"),
        mix,
        lat,
        *notes,
    )


def _tier_colour(tier: str, tiers: list[str]) -> str:
    if tier not in tiers:
        return "#bbbbbb"
    if len(tiers) == 1:
        return TIER_PALETTE[2]
    index = round(tiers.index(tier) * (len(TIER_PALETTE) - 1) / max(len(tiers) - 1, 1))
    return TIER_PALETTE[min(index, len(TIER_PALETTE) - 1)]


def _swatch(tier: str, tiers: list[str]) -> Markup:
    return el("span", "", class_="legend-swatch", style=f"background:{_tier_colour(tier, tiers)}")


def _share_bar(shares: dict, tiers: list[str]) -> Markup:
    """A stacked bar of tier shares (normalised to the bar; cascades call several tiers per query)."""
    total = sum(v or 0.0 for v in shares.values())
    if total <= 0:
        return Markup("")
    spans = [
        el(
            "span",
            "",
            style=f"width:{(shares.get(t) or 0.0) / total * 100:.2f}%;background:{_tier_colour(t, tiers)}",
            title=f"{t} {share(shares.get(t), 0)}",
        )
        for t in list(tiers) + [t for t in shares if t not in tiers]
        if shares.get(t)
    ]
    return el("span", *spans, class_="bar")


def _share_text(shares: dict | None) -> str:
    return ", ".join(f"{tier} {share(value, 0)}" for tier, value in (shares or {}).items() if value)


# ------------------------------------------------------------------------------------------ intents


def _intents(summary: RunSummary, figures: dict) -> Markup:
    slices = figures["intents"]
    tiers = [t.name for t in summary.tiers]
    baseline = summary.baseline.tier if summary.baseline else None
    if not slices:
        return _section("intents", "Per-intent slices", el("p", "No eval rows to slice."))
    head = el(
        "tr",
        el("th", "intent"),
        el("th", "rows", class_="num"),
        *[el("th", f"{t} acc.", class_="num") for t in tiers],
        el("th", "policy acc.", class_="num"),
        el("th", f"drop vs {baseline or 'baseline'}", class_="num"),
        el("th", "routed to"),
        el("th", "sent too low", class_="num"),
    )
    rows = []
    for s in slices:
        drop = s.get("accuracy_drop")
        rows.append(
            el(
                "tr",
                el("td", s["intent"]),
                el("td", str(s["rows"]), class_="num"),
                *[el("td", share(s["tier_accuracy"].get(t), 0), class_="num") for t in tiers],
                el("td", share(s.get("policy_accuracy"), 0), class_="num"),
                el("td", signed_points(drop), class_="num loss" if drop and drop > 0 else "num"),
                el("td", _share_bar(s["tier_share"], tiers), el("div", _share_text(s["tier_share"])), class_="small"),
                el("td", str(s["sent_too_low"]), class_="num loss" if s["sent_too_low"] else "num"),
            )
        )
    intro = el(
        "p",
        "Accuracy of each tier per intent, where the chosen policy sends that intent's queries, and where it loses "
        f"accuracy against {baseline}: 'sent too low' counts queries {baseline} answered correctly that the policy "
        "answered worse. Worst intents first.",
        class_="small muted",
    )
    return _section("intents", "Per-intent slices", intro, el("table", head, *rows))


# ------------------------------------------------------------------------------------------ samples


def _confidence(summary: RunSummary) -> Markup:
    sentences = confidence_sentences(summary)
    if not sentences:
        return Markup("")
    intro = el(
        "p",
        "Where the cascade takes each tier's confidence in its answer from: the answer's token log-probabilities "
        "(logprob), a verifier fit on the query and the answer (verifier), or none (the tier's accuracy):",
        class_="muted",
    )
    return _section("confidence", "Cascade confidence per tier", intro, el("ul", *[el("li", s) for s in sentences]))


def _labels(summary: RunSummary) -> Markup:
    sentences = labels_sentences(summary.labels)
    if not sentences:
        return Markup("")
    intro = el(
        "p",
        "The labelers' easy/hard judgement, checked against what the tiers measurably did on the same rows:",
        class_="muted",
    )
    return _section("labels", "Human labels vs measured outcomes", intro, el("ul", *[el("li", s) for s in sentences]))


def _misrouted(summary: RunSummary, figures: dict) -> Markup:
    sample = figures["misrouted"]
    baseline = summary.baseline.tier if summary.baseline else None
    intro = el(
        "p",
        f"Of the {plural(sample['rows'], 'query')} the policy was selected on (routed out-of-fold), "
        f"{sample['too_low_count']} went too low (answered worse than {baseline} would have) and "
        f"{sample['too_high_count']} went higher than needed (a cheaper tier's answer scored as well). "
        "A sample of each, spread over intents:",
    )
    parts = [intro]
    if sample["too_low"]:
        parts.append(el("h3", "Sent too low: accuracy lost against the baseline"))
        parts += [_sample_card(s, baseline) for s in sample["too_low"]]
    if sample["too_high"]:
        parts.append(el("h3", "Sent higher than needed: a cheaper tier's answer scored as well"))
        parts += [_sample_card(s, baseline) for s in sample["too_high"]]
    if not sample["too_low"] and not sample["too_high"]:
        parts.append(el("p", "No mis-routed queries."))
    return _section("misrouted", "Mis-routed queries", *parts)


def _sample_card(sample: dict, baseline: str | None) -> Markup:
    rows = []
    for answer in sample["answers"]:
        marks = []
        if answer["tier"] == sample.get("policy_tier"):
            marks.append("policy's answer")
        if answer["tier"] == baseline:
            marks.append("baseline")
        rows.append(
            el(
                "tr",
                el("td", answer["tier"], el("div", ", ".join(marks), class_="small muted") if marks else None),
                el("td", _score(answer.get("score")), class_="num"),
                el(
                    "td",
                    el("div", answer.get("response") or "", class_="text"),
                    el("div", "error: ", answer["error"], class_="small bad") if answer.get("error") else None,
                    class_="answer",
                ),
                class_="chosen" if answer["tier"] == sample.get("policy_tier") else None,
            )
        )
    meta = [
        el("span", "intent: ", el("b", sample.get("intent") or "—")),
        " · route: ",
        el("b", sample.get("policy_path") or "—"),
        f" · policy score {_score(sample.get('policy_score'))} vs baseline {_score(sample.get('baseline_score'))}",
    ]
    return el(
        "article",
        el("h3", sample["row_id"]),
        el("div", *meta, class_="small"),
        el("div", sample.get("input") or "", class_="query text"),
        el("div", "Reference: ", el("span", sample["reference"], class_="text"), class_="small")
        if sample.get("reference")
        else None,
        el(
            "table",
            el("tr", el("th", "tier"), el("th", "score", class_="num"), el("th", "answer")),
            *rows,
        ),
        class_="sample",
    )


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2g}"


# ------------------------------------------------------------------------------------------ savings


def _savings(summary: RunSummary, figures: dict) -> Markup:
    savings = figures["savings"]
    traffic = figures.get("traffic")
    baseline = savings.get("baseline_tier")
    volume = savings.get("monthly_queries")
    parts = []
    basis = (
        "the production logs' mix (the log rows routed by the policy, each tier's replayed cost)"
        if savings.get("basis") == "logs"
        else "the eval set's mix of queries"
    )
    if volume is not None:
        if savings["volume_source"] == "monthly_queries":
            source = "as given with --monthly-queries"
        else:
            source = (
                f"the logs' {traffic['rows']:,} queries over {traffic['span_days']:.1f} days divided by their "
                f"sample rate {savings.get('sample_rate'):g}"
                if traffic and traffic.get("span_days")
                else _volume_source(savings)
            )
        parts.append(
            el("p", f"Projected at {count(volume)} queries a month ({source}), with the cost per query of {basis}.")
        )
    else:
        parts.append(
            el(
                "p",
                f"Costs per 1,000 and per million queries, with the cost per query of {basis}: "
                f"{savings.get('volume_note') or 'no volume is known'}.",
            )
        )
    if savings.get("basis") == "logs":
        parts.append(_production_mix(summary, savings))
    head = el(
        "tr",
        el("th", ""),
        el("th", "$ per 1,000 queries", class_="num"),
        el("th", "per month" if volume is not None else "per million queries", class_="num"),
        el("th", "saving vs baseline", class_="num"),
    )

    def amount(per_1k):
        if per_1k is None:
            return "—"
        return money(per_1k * volume / 1000) if volume is not None else money(per_1k * 1000)

    base_1k = savings.get("baseline_cost_per_1k_usd")
    rows = [
        el(
            "tr",
            el("td", f"{baseline} for every query (baseline)"),
            el("td", money(base_1k), class_="num"),
            el("td", amount(base_1k), class_="num"),
            el("td", "—", class_="num"),
        ),
        el(
            "tr",
            el("td", "chosen policy"),
            el("td", money(savings.get("policy_cost_per_1k_usd")), class_="num"),
            el("td", amount(savings.get("policy_cost_per_1k_usd")), class_="num"),
            el(
                "td",
                share(savings.get("savings_share")) + interval(savings.get("savings_share_ci")),
                class_="num good",
            ),
            class_="chosen",
        ),
    ]
    for cache in savings.get("cache") or []:
        label = "exact-match cache" if cache["kind"] == "exact" else "normalized-text cache"
        rows.append(
            el(
                "tr",
                el("td", f"{label} in front of the policy"),
                el("td", money(cache.get("combined_cost_per_1k_usd")), class_="num"),
                el("td", amount(cache.get("combined_cost_per_1k_usd")), class_="num"),
                el("td", share(cache.get("combined_saving_share")), class_="num good"),
            )
        )
    parts.append(el("table", head, *rows))
    if savings.get("saving_monthly_usd") is not None:
        parts.append(
            el(
                "p",
                el("b", f"Monthly saving: {money(savings['saving_monthly_usd'])}"),
                _money_interval(savings.get("saving_monthly_usd_ci"), confidence_label(summary)),
                f" of {money(savings.get('baseline_monthly_usd'))}.",
            )
        )
    if traffic:
        parts.append(
            el(
                "p",
                f"Duplicates in the logs: {share(traffic.get('exact_duplicate_share'))} of queries repeat an earlier "
                f"one exactly, {share(traffic.get('normalized_duplicate_share'))} after normalizing case, punctuation, "
                "articles and spacing. A cache answers those before routing, at no model cost; the rows above assume "
                "the rest cost what the policy costs on average. A normalized-text cache returns the earlier answer to "
                "a query worded slightly differently: check that suits your traffic.",
                class_="small",
            )
        )
    return _section("savings", "Savings projection", *parts)


# ------------------------------------------------------------------------------------------ provenance


def _provenance(summary: RunSummary, figures: dict) -> Markup:
    evalset = summary.evalset
    logs = summary.logs
    chosen = summary.chosen
    selection = summary.selection or Selection()
    items: list[tuple[str, Any]] = [
        ("simulated", "YES — simulated tiers, not real models" if summary.simulated else "no"),
        ("eval set", f"{evalset.path} ({evalset.rows} rows)"),
        ("eval set sha256", el("code", evalset.sha256 or "—")),
    ]
    if logs is not None:
        items += [
            ("logs", f"{logs.path} ({logs.rows} rows{_read_as(logs)}; scored by agreement with {logs.reference_tier})"),
            ("logs sha256", el("code", logs.sha256 or "—")),
        ]
    items += [
        ("routeeval version", str(summary.routeeval_version or "—")),
        ("cost map", str(summary.cost_map_version or "—")),
        ("created", str(summary.created_at or "—")),
        ("baseline", str((summary.baseline.tier if summary.baseline else None) or "—")),
        ("routers tried", ", ".join(summary.routers) or "—"),
        ("selection rule", selection.rule or "—"),
        ("selection rows", str(selection.rows or "—")),
    ]
    if chosen is not None and chosen.runtime_parity_share is not None:
        items.append(
            (
                "runtime parity",
                f"{share(chosen.runtime_parity_share)} of offline decisions reproduced by policy.json",
            )
        )
    if summary.policy_path:
        items.append(("policy", str(summary.policy_path)))
    replay = summary.replay
    if replay is not None:
        items.append(
            (
                "replay",
                f"{replay.calls} calls, {replay.cache_hits} from cache, {replay.errors} errors, "
                f"${replay.spent_usd or 0:.4f} spent",
            )
        )
    spend = spend_text(summary)
    if spend:
        items.append(("spend", spend))
    for line in unscored_lines(summary.single_tiers):
        items.append(("eval set", line))
    for line in unscored_lines(logs.agreement if logs is not None else []):
        items.append(("logs", line))
    for note in summary.notes:
        items.append(("note", note))
    entries = [join(el("dt", k), el("dd", v)) for k, v in items]
    tier_rows = [
        el(
            "tr",
            el("td", t.name),
            el("td", el("code", t.model or "")),
            el("td", _price(t.price_in_per_mtok), class_="num"),
            el("td", _price(t.price_out_per_mtok), class_="num"),
            el("td", t.price_source or "—"),
            el("td", "simulated" if t.simulated else "real"),
        )
        for t in summary.tiers
    ]
    tiers_table = el(
        "table",
        el(
            "tr",
            el("th", "tier"),
            el("th", "model"),
            el("th", "$ / 1M input tokens", class_="num"),
            el("th", "$ / 1M output tokens", class_="num"),
            el("th", "price source"),
            el("th", ""),
        ),
        *tier_rows,
    )
    return _section(
        "provenance", "Provenance", el("dl", *entries, class_="prov"), el("h3", "Tiers and prices"), tiers_table
    )


def _read_as(logs) -> str:
    """', read as litellm spend logs (a JSON array)': the format the logs were detected in."""
    from routeeval.log_formats import format_label

    return f", read as {format_label(logs.log_format, logs.format)}" if logs.log_format and logs.format else ""


def _production_mix(summary: RunSummary, savings: dict) -> Markup:
    """The policy on the logs' mix next to the eval set's: cost, saving and tier shares, with CIs."""
    mix = summary.production_mix or ProductionMix()
    chosen = summary.chosen or Chosen()
    tier_share, tier_share_ci = mix.tier_share or {}, mix.tier_share_ci or {}
    tiers = list(tier_share)
    label = confidence_label(summary)
    head = el(
        "tr",
        el("th", ""),
        el("th", "$ / 1k queries", class_="num"),
        el("th", "saving", class_="num"),
        *[el("th", f"{tier} calls", class_="num") for tier in tiers],
    )
    logs_row = el(
        "tr",
        el("td", f"production logs ({mix.rows} rows)"),
        el(
            "td",
            money(mix.policy_cost_per_1k_usd) + _money_interval(mix.policy_cost_per_1k_usd_ci, label),
            class_="num",
        ),
        el("td", share(mix.savings_share) + interval(mix.savings_share_ci), class_="num"),
        *[el("td", share(tier_share.get(t)) + interval(tier_share_ci.get(t)), class_="num") for t in tiers],
    )
    eval_row = el(
        "tr",
        el("td", f"eval set ({summary.selection.rows if summary.selection else None} rows)"),
        el("td", money(chosen.cost_per_1k_usd), class_="num"),
        el("td", share(chosen.savings_share) + interval(chosen.savings_share_ci), class_="num"),
        *[el("td", share(chosen.tier_share.get(t)), class_="num") for t in tiers],
    )
    agreement = (
        f"On the logs the policy's answers agree with {summary.logs.reference_tier if summary.logs else None}'s "
        f"{share(mix.agreement)}{interval(mix.agreement_ci)} of the time."
        if mix.agreement is not None
        else ""
    )
    return join(
        el("h3", "The chosen policy on production's mix"),
        el("table", head, logs_row, eval_row),
        el(
            "p",
            "Tier shares are calls per query (a cascade calls its first tier on every query). ",
            agreement,
            class_="small",
        ),
    )


def _money_interval(ci, label: str) -> str:
    return f" ({label} {money(ci[0])}–{money(ci[1])})" if ci and None not in ci else ""


def _price(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def _aiq(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _signed(value: float) -> str:
    return f"{value:+.4f}"


def _signed_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:+,.0f} ms"
