"""drift.md, drift.html and the terminal view of a drift record (``drift.json``, schema ``routeeval.drift/v1``).

``routeeval drift POLICY LOGS`` re-checks a deployed policy against a fresh month of production logs; these
renderers read its record as the plain dictionary it writes. Any optional key may be missing or null (a skipped
check's details are often empty): a renderer leaves out what it cannot show and never fails on it.

Every string in the record may carry production text (queries, answers, intent and tier names, paths). The
Markdown passes it through :func:`md_text` (punctuation backslash-escaped, ``<``, ``>`` and ``&`` as entities,
newlines folded), the HTML through :func:`el` (``html.escape``), and the terminal prints it as rich ``Text``, never
as markup. The figures are small hand-written SVG, inline in the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from routeeval.files import write_text_atomic
from routeeval.report.formatting import count, money, share
from routeeval.report.html import Markup, el, join
from routeeval.report.markdown import md_text

STATUSES = ("fail", "warn", "ok", "skipped")
WORST_ROUTED_MD = 5  # worst-routed examples in the Markdown; the HTML shows up to WORST_ROUTED_HTML
WORST_ROUTED_HTML = 20
EXAMPLE_CHARS = 200
TOP_INTENTS = 12
MAX_CDF_MARKERS = 12  # a CDF drawn through more quantiles than this is a line without dots
# How a check's statistic, thresholds and CI read: fractions of queries as points, a cost change as a signed
# percentage, anything else (PSI, AUC, KS) as a plain number.
CHECK_UNITS = {"tier_share": "points", "intent_mix": "points", "accuracy": "points", "cost": "change"}

THEN_COLOUR = "#9e9e9e"
NOW_COLOUR = "#3182bd"
NEW_COLOUR = "#d62728"
GRID_COLOUR = "#e5e5e5"
INK = "#222222"
FONT = "DejaVu Sans, Arial, sans-serif"


# ------------------------------------------------------------------------------------------ reading the record


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _num(value) -> float | None:
    """A finite number, or None (booleans, strings and NaN are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _pair(value) -> tuple[float, float] | None:
    """A ``[low, high]`` interval of two numbers, or None."""
    items = _list(value)
    if len(items) != 2:
        return None
    low, high = _num(items[0]), _num(items[1])
    return None if low is None or high is None else (low, high)


def _numbers(value) -> list[float]:
    """The numbers of a list, or [] when any item is not one."""
    numbers = [_num(item) for item in _list(value)]
    return [] if None in numbers else [n for n in numbers if n is not None]


def _shares(value) -> dict[str, float]:
    """``{name: share}`` with the entries whose share is a number."""
    return {str(k): n for k, v in _dict(value).items() if (n := _num(v)) is not None}


def _text(value) -> str:
    return "" if value is None else str(value)


def _checks(record: dict) -> list[dict]:
    return [check for check in _list(record.get("checks")) if isinstance(check, dict)]


def _status(check: dict) -> str:
    return _text(check.get("status")) or "unknown"


def _details(record: dict, check_id: str) -> tuple[dict, dict]:
    """(the check, its details) for ``check_id``; empty dictionaries when the record has no such check."""
    check = next((c for c in _checks(record) if c.get("id") == check_id), {})
    return check, _dict(check.get("details"))


def _verdict(record: dict) -> str:
    return _text(record.get("verdict")) or "unknown"


def _headline(record: dict) -> str:
    """The headline without a leading 'FAIL:' that repeats the verdict badge."""
    headline = " ".join(_text(record.get("headline")).split())
    prefix = _verdict(record).upper() + ":"
    if headline.upper().startswith(prefix):
        headline = headline[len(prefix) :].strip()
    return headline or "no headline in the record"


def _day(value) -> str:
    """'2026-12-01' from an ISO timestamp; other text as it is."""
    text = _text(value)
    return text[:10] if re.match(r"\d{4}-\d{2}-\d{2}", text) else text


def _date_range(value) -> str | None:
    items = _list(value)
    if len(items) != 2 or not all(items):
        return None
    low, high = _day(items[0]), _day(items[1])
    return low if low == high else f"{low} to {high}"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first(entry: dict, *keys: str):
    """The first of ``keys`` whose value is not None (records name some facts two ways)."""
    return next((entry[key] for key in keys if entry.get(key) is not None), None)


def _refit_lines(refit: dict) -> tuple[str, list[str]]:
    """(the sentence that says where the candidate is, the diff's lines) of a refit, in plain text."""
    path = _first(refit, "policy_path", "candidate_path", "path")
    text = "A policy refit with this month's logs" + (f": {path}" if path else "")
    if refit.get("report"):
        text += f" (its report: {refit['report']})"
    return text + ". What changes if it replaces the deployed policy:", [_text(x) for x in _list(refit.get("diff"))]


# ------------------------------------------------------------------------------------------ how a check reads


def _in_unit(value: float, unit: str) -> str:
    if unit == "points":
        return f"{value * 100:.1f} pt"
    if unit == "change":
        return f"{value * 100:+.1f}%"
    return f"{value:.3g}"


def _p_value(value) -> str | None:
    p = _num(value)
    if p is None:
        return None
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _ci_text(value, unit: str) -> str | None:
    ci = _pair(value)
    if ci is None:
        return None
    low, high = ci
    if unit == "points":
        return f"CI {low * 100:.1f} to {high * 100:.1f} pt"
    if unit == "change":
        return f"CI {low * 100:+.1f}% to {high * 100:+.1f}%"
    return f"CI {low:.3g}–{high:.3g}"


def check_facts(check: dict) -> tuple[str, str, str]:
    """(statistic, evidence, thresholds) of a check as text: 'total variation distance 21.0 pt', 'p < 0.001',
    'warn 5.0 pt, fail 10.0 pt'; '—' for what the check does not carry."""
    unit = CHECK_UNITS.get(_text(check.get("id")), "number")
    statistic = _dict(check.get("statistic"))
    value = _num(statistic.get("value"))
    name = _text(statistic.get("name")) or "statistic"
    stat_text = f"{name} {_in_unit(value, unit)}" if value is not None else "—"
    evidence = "; ".join(x for x in (_p_value(check.get("p_value")), _ci_text(check.get("ci"), unit)) if x)
    thresholds = _dict(check.get("thresholds"))
    warn, fail = _num(thresholds.get("warn")), _num(thresholds.get("fail"))
    if warn is not None and warn == fail:
        limits = f"fail at {_in_unit(warn, unit)}"
    else:
        limits = ", ".join(
            f"{label} {_in_unit(limit, unit)}" for label, limit in (("warn", warn), ("fail", fail)) if limit is not None
        )
    return stat_text, evidence or "—", limits or "—"


def _provenance(record: dict) -> list[tuple[str, str]]:
    """(label, sentence) for the policy, the logs and the reference, in plain (unescaped) text."""
    policy, logs, reference = _dict(record.get("policy")), _dict(record.get("logs")), _dict(record.get("reference"))
    items = []
    if policy:
        kind = _text(policy.get("kind")) or "unknown kind"
        router = ", ".join(
            f"{label} {policy[key]}" for label, key in (("router", "router"), ("variant", "variant")) if policy.get(key)
        )
        text = f"a {kind} policy" + (f" ({router})" if router else "")
        if policy.get("created_at"):
            text += f", created {_day(policy['created_at'])}"
        if policy.get("path"):
            text += f", from {policy['path']}"
        items.append(("Policy", text + "."))
    if logs:
        text = _text(logs.get("path")) or "the logs"
        if logs.get("log_format") and logs.get("format"):
            from routeeval.log_formats import format_label

            text += f", read as {format_label(str(logs['log_format']), str(logs['format']))}"
        checked, read = _num(logs.get("rows_checked")), _num(logs.get("rows_read"))
        if checked is not None:
            text += f": {count(checked)} rows checked" + (f" of {count(read)} read" if read is not None else "")
        window = ", ".join(f"{label} {_day(logs[label])}" for label in ("since", "until") if logs.get(label))
        if window:
            text += f" (window {window})"
        dates = _date_range(logs.get("date_range"))
        if dates:
            text += f", {dates}"
        if logs.get("sampled") is True:
            text += "; a sample of the rows in the window"
        elif logs.get("sampled") is False:
            text += "; every row in the window"
        fallback = _num(logs.get("fallback_rows"))
        if fallback:
            text += f"; {count(fallback)} rows went to the policy's fallback tier"
        items.append(("Logs", text + "."))
        items += [("Note", _text(note) or "") for note in logs.get("notes") or []]
    if reference:
        rows, dates = _num(reference.get("rows")), _date_range(reference.get("date_range"))
        size = ", ".join(x for x in (f"{count(rows)} rows" if rows is not None else "", dates or "") if x)
        if reference.get("basis") == "evalset":
            text = (
                "the eval set the policy was certified on"
                + (f" ({size})" if size else "")
                + ". The reference is the eval set, not production traffic: a shift here compares this month's "
                "production against the eval set."
            )
        elif reference.get("basis") == "logs":
            text = "the production logs the policy was certified on" + (f" ({size})" if size else "") + "."
        else:
            text = (_text(reference.get("basis")) or "unknown basis") + (f" ({size})" if size else "") + "."
        if reference.get("note"):
            text += f" {reference['note']}"
        items.append(("Reference", text))
    if record.get("simulated"):
        items.append(("Simulated", "the tiers answered from routeeval's simulator, not real models."))
    return items


def _spend_sentence(record: dict) -> str | None:
    """'$0.1200 of the $5.00 maximum; 400 calls made, 0 from the cache' (plain text), or None."""
    spend = _dict(record.get("spend"))
    total = _num(_first(spend, "total_usd", "spent_usd"))
    maximum = _num(_first(spend, "max_cost_usd", "budget_usd"))
    if total is None and maximum is None:
        return None
    phases = {str(name): _dict(facts) for name, facts in _dict(spend.get("phases")).items()}
    text = money(total or 0.0) + (f" of the {money(maximum)} maximum" if maximum is not None else "")
    calls = []
    for key, label in (("calls_made", "calls made"), ("cache_hits", "from the cache")):
        n = _num(spend.get(key))
        if n is None and any(_num(f.get(key)) is not None for f in phases.values()):
            n = sum(_num(f.get(key)) or 0.0 for f in phases.values())
        if n is not None:
            calls.append(f"{count(n)} {label}")
    skipped = _num(spend.get("skipped_budget"))
    if skipped is None:
        skipped = sum(_num(v) or 0.0 for v in _dict(spend.get("skipped_by_budget")).values())
    if skipped:
        calls.append(f"{count(skipped)} not made: the maximum was reached")
    phase_texts = []
    for phase, facts in phases.items():
        parts = [f"{count(n)} calls" for n in [_num(facts.get("calls"))] if n is not None]
        parts += [money(n) for n in [_num(_first(facts, "cost_usd", "spent_usd"))] if n is not None]
        if parts:
            phase_texts.append(f"{phase} " + ", ".join(parts))
    return text + ("; " + ", ".join(calls) if calls else "") + (f" ({'; '.join(phase_texts)})" if phase_texts else "")


# ------------------------------------------------------------------------------------------ Markdown


def _md_row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_status(status: str) -> str:
    return f"**{status.upper()}**" if status in ("fail", "warn") else md_text(status.upper())


def render_drift_markdown(record: dict) -> str:
    """drift.md: the verdict on the first line, then what was compared, the checks, the reasons and what to do,
    the worst-routed examples, the spend and a refit candidate when there is one."""
    lines = [f"**{md_text(_verdict(record).upper())}** — {md_text(_headline(record))}", ""]
    provenance = _provenance(record)
    if provenance:
        lines += [" ".join(f"**{label}:** {md_text(text)}" for label, text in provenance), ""]

    checks = _checks(record)
    shown = [c for c in checks if _status(c) != "skipped"]
    skipped = [c for c in checks if _status(c) == "skipped"]
    if shown:
        lines += ["### Checks", ""]
        lines += [
            _md_row("status", "check", "what the logs show", "statistic", "p-value / CI", "thresholds"),
            _md_row(*["---"] * 6),
        ]
        for check in shown:
            statistic, evidence, thresholds = check_facts(check)
            lines.append(
                _md_row(
                    _md_status(_status(check)),
                    md_text(check.get("title") or check.get("id")),
                    md_text(check.get("summary")) or "—",
                    md_text(statistic),
                    md_text(evidence),
                    md_text(thresholds),
                )
            )
        lines.append("")
    if skipped:
        lines += [f"<details><summary>{len(skipped)} skipped checks</summary>", ""]
        lines += [
            f"- {md_text(c.get('title') or c.get('id'))}: {md_text(c.get('summary')) or 'no reason given'}"
            for c in skipped
        ]
        lines += ["", "</details>", ""]

    for heading, key in (("Top reasons", "reasons"), ("What to do", "actions")):
        items = [item for item in _list(record.get(key)) if _text(item).strip()]
        if items:
            lines += [f"### {heading}", ""] + [f"- {md_text(item)}" for item in items] + [""]

    worst = [w for w in _list(record.get("worst_routed")) if isinstance(w, dict)]
    if worst:
        lines += [f"### Worst-routed examples ({min(len(worst), WORST_ROUTED_MD)} of {len(worst)})", ""]
        lines += [_md_row("id", "query", "policy's answer", "baseline's answer", "score"), _md_row(*["---"] * 5)]
        for example in worst[:WORST_ROUTED_MD]:
            score = _num(example.get("score"))
            lines.append(
                _md_row(
                    md_text(example.get("id")) or "—",
                    md_text(example.get("query"), EXAMPLE_CHARS),
                    _md_answer(example.get("tier"), example.get("answer")),
                    _md_answer(example.get("baseline_tier"), example.get("baseline_answer")),
                    "—" if score is None else f"{score:.2g}",
                )
            )
        lines.append("")

    spend = _spend_sentence(record)
    if spend:
        lines += [f"**Spend:** {md_text(spend)}.", ""]

    refit = _dict(record.get("refit"))
    if refit:
        text, diff = _refit_lines(refit)
        lines += ["### Refit candidate", "", md_text(text), ""]
        lines += [f"- {md_text(line)}" for line in diff] or ["_No difference listed._"]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_answer(tier, answer) -> str:
    text = md_text(answer, EXAMPLE_CHARS) or "—"
    return f"**{md_text(tier)}:** {text}" if tier else text


# ------------------------------------------------------------------------------------------ HTML building


CSS = """
:root { --ink: #1b1f23; --muted: #5a6470; --line: #d8dee4; --bg-soft: #f6f8fa; --good: #1a7f37; --bad: #b42318;
        --warn: #9a6700; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
       "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 24px; margin: 4px 0 6px; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line);
     break-after: avoid; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0 10px; }
.kicker { color: var(--muted); font-size: 13px; margin: 0; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
.small { font-size: 13px; }
.verdict { margin: 14px 0 10px; padding: 12px 16px; border: 2px solid; border-radius: 6px; font-size: 17px; }
.verdict strong { letter-spacing: 0.06em; margin-right: 8px; }
.verdict-fail { border-color: var(--bad); background: #fde7e9; }
.verdict-warn { border-color: #d4a72c; background: #fff4ce; }
.verdict-ok { border-color: var(--good); background: #e6f4ea; }
.verdict-unknown { border-color: var(--line); background: var(--bg-soft); }
.simulated { margin: 10px 0; padding: 8px 12px; border: 2px solid #d4a72c; background: #fff4ce; border-radius: 6px;
             font-weight: 600; }
.status { display: inline-block; min-width: 4.5em; padding: 0 6px; border-radius: 3px; font-size: 12px;
          font-weight: 700; text-transform: uppercase; text-align: center; }
.status-fail { background: var(--bad); color: #fff; }
.status-warn { background: #d4a72c; color: #1b1f23; }
.status-ok { background: var(--good); color: #fff; }
.status-skipped, .status-unknown { background: var(--line); color: var(--muted); }
figure { margin: 8px 0 18px; break-inside: avoid; }
figure svg { width: 100%; height: auto; max-width: 720px; display: block; }
figcaption { color: var(--muted); font-size: 13px; max-width: 720px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 13.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { break-inside: avoid; }
tr.changed td { background: #fde7e9; font-weight: 600; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 13.5px; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; overflow-wrap: anywhere; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
}
@page { margin: 14mm; }
"""


# ------------------------------------------------------------------------------------------ SVG figures


def _f(value: float) -> str:
    return f"{value:.1f}"


def _svg(width: int, height: int, title: str, *children) -> Markup:
    return el(
        "svg",
        el("title", title),
        *children,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
        font_family=FONT,
        font_size=11,
        fill=INK,
    )


def _legend(x: float, y: float, items: list[tuple[str, str]]) -> Markup:
    parts = []
    for colour, label in items:
        parts.append(el("rect", x=_f(x), y=_f(y - 9), width=10, height=10, fill=colour))
        parts.append(el("text", label, x=_f(x + 14), y=_f(y)))
        x += 24 + 6.2 * len(label)
    return join(*parts)


def _axis(low: float, high: float, n: int = 5) -> tuple[float, float, list[float]]:
    """A rounded axis range around [low, high] and its ticks (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
    ticks = [round(start + i * step, 10) for i in range(round((stop - start) / step) + 1)]
    return start, stop, ticks


def _tick(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _levels(details: dict, n: int) -> tuple[list[float], bool]:
    """The probability levels of ``n`` quantiles: the record's ``quantile_levels`` when it gives them, else evenly
    spaced from 0 to 1 (the second item says which)."""
    given = _numbers(details.get("quantile_levels"))
    if len(given) == n and all(0 <= level <= 1 for level in given):
        return given, True
    if n == 1:
        return [0.5], False
    return [i / (n - 1) for i in range(n)], False


def _cdf_svg(title: str, details: dict, x_label: str) -> tuple[Markup, bool] | None:
    """Two cumulative distributions drawn through their quantiles, then (grey) and now (blue), and whether the
    quantiles' levels were assumed (evenly spaced); None when the details hold neither."""
    series = [
        (label, colour, values)
        for label, colour, key in (
            ("then (reference)", THEN_COLOUR, "then_quantiles"),
            ("now (these logs)", NOW_COLOUR, "now_quantiles"),
        )
        if (values := sorted(_numbers(details.get(key))))
    ]
    if not series:
        return None
    width, height, left, right, top, bottom = 640, 250, 58, 18, 34, 46
    low, high, ticks = _axis(min(min(v) for _, _, v in series), max(max(v) for _, _, v in series))

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (width - left - right)

    def y(level: float) -> float:
        return top + (1 - level) * (height - top - bottom)

    parts = []
    for level in (0, 0.25, 0.5, 0.75, 1):
        parts.append(el("line", x1=left, x2=width - right, y1=_f(y(level)), y2=_f(y(level)), stroke=GRID_COLOUR))
        parts.append(el("text", f"{level:.0%}", x=left - 6, y=_f(y(level) + 4), text_anchor="end"))
    for tick in ticks:
        parts.append(el("line", x1=_f(x(tick)), x2=_f(x(tick)), y1=height - bottom, y2=height - bottom + 4, stroke=INK))
        parts.append(el("text", _tick(tick), x=_f(x(tick)), y=height - bottom + 16, text_anchor="middle"))
    parts.append(el("line", x1=left, x2=width - right, y1=height - bottom, y2=height - bottom, stroke=INK))
    parts.append(el("text", _short(x_label, 90), x=_f((left + width - right) / 2), y=height - 8, text_anchor="middle"))
    parts.append(
        el(
            "text",
            "share of queries at or below",
            x=12,
            y=_f((top + height - bottom) / 2),
            text_anchor="middle",
            transform=f"rotate(-90 12 {_f((top + height - bottom) / 2)})",
        )
    )
    assumed = False
    for _label, colour, values in series:
        levels, given = _levels(details, len(values))
        assumed = assumed or not given
        coords = [(x(v), y(p)) for v, p in zip(values, levels, strict=True)]
        parts.append(
            el(
                "polyline",
                points=" ".join(f"{_f(a)},{_f(b)}" for a, b in coords),
                fill="none",
                stroke=colour,
                stroke_width=2,
            )
        )
        if len(coords) <= MAX_CDF_MARKERS:
            parts += [el("circle", cx=_f(a), cy=_f(b), r=3, fill=colour) for a, b in coords]
    parts.append(_legend(left, 18, [(colour, label) for label, colour, _ in series]))
    return _svg(width, height, title, *parts), assumed


_Bar = tuple[float | None, str, Any, str]  # value, colour, CI (or None), text


def _bars_svg(title: str, rows: Sequence[tuple[str, Sequence[_Bar]]], legend) -> Markup:
    """Horizontal bars, one group per row: ``(label, [(value, colour, ci, text), ...])``; a bar whose value is None
    is left empty with its text (for example 'not seen'); ``ci`` draws a whisker."""
    bars_per_row = max(len(bars) for _, bars in rows)
    bar_h, gap, pad = 10, 3, 12
    row_h = bars_per_row * bar_h + (bars_per_row - 1) * gap + pad
    width, label_w, value_w, top = 680, 180, 170, 30
    height = top + row_h * len(rows) + 6
    right_edge = width - value_w
    scale = max(
        [v for _, bars in rows for v, _, _, _ in bars if v is not None]
        + [ci[1] for _, bars in rows for _, _, ci, _ in bars if ci is not None]
        + [1e-12]
    )

    def x(value: float) -> float:
        return label_w + max(0.0, value) / scale * (right_edge - label_w - 6)

    parts = [_legend(label_w, 16, legend)]
    for index, (label, bars) in enumerate(rows):
        y0 = top + index * row_h
        middle = y0 + (len(bars) * bar_h + (len(bars) - 1) * gap) / 2
        parts.append(
            el("text", el("title", label), _short(label, 28), x=label_w - 8, y=_f(middle + 4), text_anchor="end")
        )
        for slot, (value, colour, ci, text) in enumerate(bars):
            y = y0 + slot * (bar_h + gap)
            end = x(value) if value is not None else label_w
            if value is not None:
                parts.append(
                    el("rect", x=label_w, y=_f(y), width=_f(max(end - label_w, 0.5)), height=bar_h, fill=colour)
                )
            if ci is not None:
                lo, hi, mid = x(ci[0]), x(ci[1]), y + bar_h / 2
                parts.append(el("line", x1=_f(lo), x2=_f(hi), y1=_f(mid), y2=_f(mid), stroke=INK, stroke_width=1.2))
                for edge in (lo, hi):
                    parts.append(el("line", x1=_f(edge), x2=_f(edge), y1=_f(y + 1), y2=_f(y + bar_h - 1), stroke=INK))
                end = max(end, hi)
            parts.append(el("text", text, x=_f(end + 5), y=_f(y + bar_h - 1), font_size=10))
    parts.append(el("line", x1=label_w, x2=label_w, y1=top - 4, y2=height - 6, stroke=INK))
    return _svg(width, height, title, *parts)


def _share_ci_text(value: float | None, ci) -> str:
    return share(value) + (f" [{share(ci[0])}–{share(ci[1])}]" if ci is not None else "")


def _tier_share_figure(record: dict) -> Markup | None:
    check, details = _details(record, "tier_share")
    then, now, now_ci = _shares(details.get("then")), _shares(details.get("now")), _dict(details.get("now_ci"))
    if not then and not now:
        return None
    tiers = list(then) + [t for t in now if t not in then]
    rows = []
    for tier in tiers:
        ci = _pair(now_ci.get(tier))
        rows.append(
            (
                tier,
                [
                    (then.get(tier), THEN_COLOUR, None, share(then.get(tier)) if tier in then else "not routed to"),
                    (now.get(tier), NOW_COLOUR, ci, _share_ci_text(now.get(tier), ci) if tier in now else "not seen"),
                ],
            )
        )
    svg = _bars_svg(
        "Tier shares then vs now", rows, [(THEN_COLOUR, "then (certified)"), (NOW_COLOUR, "now, with its CI")]
    )
    caption = "Share of queries whose first decision goes to each tier, as certified and on these logs."
    return _figure("Tier shares", svg, caption, check)


def _intent_figure(record: dict) -> Markup | None:
    check, details = _details(record, "intent_mix")
    then, now = _shares(details.get("then")), _shares(details.get("now"))
    if not then and not now:
        return None
    intents = list(then) + [i for i in now if i not in then]
    if isinstance(details.get("new"), list):
        new = {_text(_dict(item).get("intent")) for item in details["new"]}
    else:  # no list of new intents: those the reference does not have
        new = {i for i in now if i not in then}
    top = sorted(intents, key=lambda i: -max(then.get(i, 0.0), now.get(i, 0.0)))[:TOP_INTENTS]
    rows = [
        (
            ("new: " if intent in new else "") + intent,
            [
                (
                    then.get(intent),
                    THEN_COLOUR,
                    None,
                    _intent_share(then, intent, "not seen" if intent in new else "—"),
                ),
                (now.get(intent), NEW_COLOUR if intent in new else NOW_COLOUR, None, _intent_share(now, intent, "—")),
            ],
        )
        for intent in top
    ]
    svg = _bars_svg(
        "Intent mix then vs now",
        rows,
        [(THEN_COLOUR, "then (reference)"), (NOW_COLOUR, "now"), (NEW_COLOUR, "now, an intent the reference lacks")],
    )
    caption = (
        f"Share of queries per intent, the {len(top)} largest of {len(intents)} by their larger share"
        if len(intents) > len(top)
        else "Share of queries per intent"
    ) + "; intents new this month in red."
    return _figure("Intent mix", svg, caption, check)


def _intent_share(shares: dict[str, float], intent: str, missing: str) -> str:
    return share(shares[intent]) if intent in shares else missing


def _cdf_figure(record: dict, check_id: str, heading: str, x_label: str) -> Markup | None:
    check, details = _details(record, check_id)
    drawn = _cdf_svg(f"{heading} then vs now", details, x_label)
    if drawn is None:
        return None
    svg, assumed = drawn
    caption = "Cumulative distributions through the record's quantiles, then (grey) and now (blue)."
    if assumed:
        caption += " Its quantiles are drawn at evenly spaced levels, 0 to 100% (drift records every percentile)."
    measures = [f"{key.upper()} {value:.3g}" for key in ("psi", "ks") if (value := _num(details.get(key))) is not None]
    if measures:
        caption += " " + ", ".join(measures) + "."
    return _figure(heading, svg, caption, check)


def _cost_figure(record: dict) -> Markup | None:
    check, details = _details(record, "cost")
    promised, now = _num(details.get("promised_per_1k_usd")), _num(details.get("now_per_1k_usd"))
    parts = []
    if promised is not None or now is not None:
        ci = _pair(details.get("now_per_1k_usd_ci"))
        now_text = money(now) + (f" [{money(ci[0])}–{money(ci[1])}]" if ci is not None else "")
        rows: list[tuple[str, list[_Bar]]] = [
            ("promised at certification", [(promised, THEN_COLOUR, None, money(promised))]),
            ("now, at today's prices", [(now, NOW_COLOUR, ci, now_text)]),
        ]
        legend = [(THEN_COLOUR, "then"), (NOW_COLOUR, "now, with its CI")]
        parts.append(_bars_svg("Cost per 1,000 queries then vs now", rows, legend))
    at_policy = _num(details.get("at_policy_prices_per_1k_usd"))
    notes = []
    if at_policy is not None:
        notes.append(f"This month's traffic at the policy's own prices: {money(at_policy)} per 1,000 queries.")
    monthly, maximum = _num(details.get("monthly_usd")), _num(details.get("max_monthly_usd"))
    if monthly is not None:
        ci = _pair(details.get("monthly_usd_ci"))
        notes.append(
            f"Per month: {money(monthly)}"
            + (f" [{money(ci[0])}–{money(ci[1])}]" if ci is not None else "")
            + (f" against a maximum of {money(maximum)}" if maximum is not None else "")
            + "."
        )
    elif details.get("monthly_note"):
        notes.append(f"No monthly figure: {details['monthly_note']}.")
    if details.get("escalation_source"):
        notes.append(f"Escalations measured from {details['escalation_source']}.")
    table = _price_table(details)
    if not parts and table is None:
        return None
    caption = "Dollars per 1,000 queries, as promised when the policy was certified and now. " + " ".join(notes)
    return _figure("Cost per 1,000 queries", join(*parts), caption, check, after=table)


def _price_table(details: dict) -> Markup | None:
    prices = _dict(details.get("prices"))
    if not prices:
        return None
    changed = {_text(t) for t in _list(details.get("changed_prices"))}

    def price(value, index: int) -> str:
        items = _list(value)
        amount = _num(items[index]) if len(items) > index else None
        return "—" if amount is None else f"${amount:,.2f}"

    rows = []
    for tier, entry in prices.items():
        entry = _dict(entry)
        rows.append(
            el(
                "tr",
                el("td", tier, " (changed)" if tier in changed else None),
                *[el("td", price(entry.get(when), i), class_="num") for when in ("then", "now") for i in (0, 1)],
                class_="changed" if tier in changed else None,
            )
        )
    head = el(
        "tr",
        el("th", "tier"),
        el("th", "then $ / 1M input", class_="num"),
        el("th", "then $ / 1M output", class_="num"),
        el("th", "now $ / 1M input", class_="num"),
        el("th", "now $ / 1M output", class_="num"),
    )
    return el("table", head, *rows)


def _figure(heading: str, svg: Markup, caption: str, check: dict, *, after: Markup | None = None) -> Markup:
    status = _status(check) if check else "unknown"
    note = None
    if status == "skipped":
        note = el(
            "p", "This check was skipped: ", _text(check.get("summary")) or "no reason given", class_="small muted"
        )
    return join(
        el("h3", heading, " ", _status_pill(status) if check else None),
        note,
        el("figure", svg, el("figcaption", caption)) if svg else None,
        after,
    )


def _status_pill(status: str) -> Markup:
    known = status if status in STATUSES else "unknown"
    return el("span", status, class_=f"status status-{known}")


# ------------------------------------------------------------------------------------------ HTML page


def render_drift_html(record: dict) -> str:
    """drift.html: one self-contained page (inline CSS and SVG, no script, no external URL)."""
    policy = _dict(record.get("policy"))
    title = "routeeval drift — " + (_text(policy.get("path")) or "policy")
    body = el(
        "main",
        _html_header(record),
        _html_checks(record),
        _html_figures(record),
        _html_worst(record),
        _html_spend(record),
        _html_refit(record),
    )
    head = join(
        Markup('<meta charset="utf-8">'),
        Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        el("title", ("SIMULATED — " if record.get("simulated") else "") + title),
        el("style", Markup(CSS)),
    )
    return "<!DOCTYPE html>\n" + el("html", el("head", head), el("body", body), lang="en") + "\n"


def _html_header(record: dict) -> Markup:
    verdict = _verdict(record)
    known = verdict if verdict in ("fail", "warn", "ok") else "unknown"
    kicker = " · ".join(
        x
        for x in (
            "routeeval " + _text(record.get("routeeval_version")),
            _text(record.get("schema")),
            _text(record.get("created_at")),
        )
        if x.strip() and x != "routeeval "
    )
    policy = _dict(record.get("policy"))
    parts = [
        el("p", kicker, class_="kicker"),
        el("h1", "Does the policy still hold? ", _text(policy.get("path")) or "routeeval drift"),
    ]
    if record.get("simulated"):
        parts.append(
            el(
                "div",
                "SIMULATED — the tiers answered from routeeval's simulator, not real models.",
                class_="simulated",
                role="note",
            )
        )
    parts.append(el("div", el("strong", verdict.upper()), _headline(record), class_=f"verdict verdict-{known}"))
    exit_code, fail_on = _num(record.get("exit_code")), record.get("fail_on")
    if exit_code is not None or fail_on:
        parts.append(
            el(
                "p",
                (f"exit code {exit_code:.0f}" if exit_code is not None else "")
                + ("; " if exit_code is not None and fail_on else "")
                + (f"fails on: {fail_on}" if fail_on else ""),
                class_="small muted",
            )
        )
    for heading, key in (("Top reasons", "reasons"), ("What to do", "actions")):
        items = [item for item in _list(record.get(key)) if _text(item).strip()]
        if items:
            parts.append(el("h3", heading))
            parts.append(el("ul", *[el("li", item) for item in items]))
    provenance = _provenance(record)
    if provenance:
        parts.append(el("dl", *[join(el("dt", k), el("dd", v)) for k, v in provenance], class_="prov"))
    return join(*parts)


def _html_checks(record: dict) -> Markup:
    checks = _checks(record)
    shown = [c for c in checks if _status(c) != "skipped"]
    skipped = [c for c in checks if _status(c) == "skipped"]
    if not checks:
        return el("section", el("h2", "Checks"), el("p", "The record holds no checks."), id="checks")
    rows = []
    for check in shown:
        statistic, evidence, thresholds = check_facts(check)
        rows.append(
            el(
                "tr",
                el("td", _status_pill(_status(check))),
                el("td", _text(check.get("title") or check.get("id"))),
                el("td", _text(check.get("summary")) or "—"),
                el("td", statistic),
                el("td", evidence),
                el("td", thresholds),
            )
        )
    parts = []
    if rows:
        head = el(
            "tr",
            *[el("th", name) for name in ("status", "check", "what the logs show", "statistic", "p-value / CI")],
            el("th", "thresholds"),
        )
        parts.append(el("table", head, *rows))
    if skipped:
        parts.append(
            el(
                "p",
                f"Skipped ({len(skipped)}): ",
                *[
                    join(
                        "; " if i else "", el("b", _text(c.get("title") or c.get("id"))), ": ", _text(c.get("summary"))
                    )
                    for i, c in enumerate(skipped)
                ],
                ".",
                class_="small muted",
            )
        )
    return el("section", el("h2", "Checks"), *parts, id="checks")


def _html_figures(record: dict) -> Markup:
    _, score = _details(record, "routing_score")
    figures = [
        _cdf_figure(record, "routing_score", "Routing score", _text(score.get("name")) or "routing score"),
        _tier_share_figure(record),
        _intent_figure(record),
        _cdf_figure(record, "input_length", "Input length", "input length (characters)"),
        _cost_figure(record),
    ]
    shown = [f for f in figures if f is not None]
    if not shown:
        return el("section", el("h2", "Then vs now"), el("p", "The record holds no figures to draw."), id="then-now")
    return el("section", el("h2", "Then vs now"), *shown, id="then-now")


def _html_worst(record: dict) -> Markup | None:
    worst = [w for w in _list(record.get("worst_routed")) if isinstance(w, dict)]
    if not worst:
        return None
    rows = []
    for example in worst[:WORST_ROUTED_HTML]:
        score = _num(example.get("score"))
        rows.append(
            el(
                "tr",
                el("td", _text(example.get("id")) or "—"),
                el("td", el("div", _text(example.get("query")), class_="text")),
                el("td", el("b", _text(example.get("tier"))), el("div", _text(example.get("answer")), class_="text")),
                el(
                    "td",
                    el("b", _text(example.get("baseline_tier"))),
                    el("div", _text(example.get("baseline_answer")), class_="text"),
                ),
                el("td", "—" if score is None else f"{score:.2g}", class_="num"),
            )
        )
    head = el(
        "tr",
        el("th", "id"),
        el("th", "query"),
        el("th", "policy's answer"),
        el("th", "baseline's answer"),
        el("th", "score", class_="num"),
    )
    heading = "Worst-routed examples" + (
        f" ({WORST_ROUTED_HTML} of {len(worst)})" if len(worst) > WORST_ROUTED_HTML else ""
    )
    return el("section", el("h2", heading), el("table", head, *rows), id="worst-routed")


def _html_spend(record: dict) -> Markup | None:
    spend = _spend_sentence(record)
    if spend is None:
        return None
    return el("section", el("h2", "Spend"), el("p", spend, "."), id="spend")


def _html_refit(record: dict) -> Markup | None:
    refit = _dict(record.get("refit"))
    if not refit:
        return None
    text, diff = _refit_lines(refit)
    return el(
        "section",
        el("h2", "Refit candidate"),
        el("p", text),
        el("ul", *[el("li", line) for line in diff]) if diff else el("p", "No difference listed."),
        id="refit",
    )


# ------------------------------------------------------------------------------------------ terminal

_RICH_STYLES = {"fail": "bold red", "warn": "bold yellow", "ok": "bold green", "skipped": "dim"}


def render_drift_terminal(record: dict, console) -> None:
    """The verdict line in colour, a table of the checks that ran, and the top reasons and actions (the CLI prints
    the output paths)."""
    from rich.table import Table
    from rich.text import Text

    verdict = _verdict(record)
    console.print(Text.assemble((verdict.upper(), _RICH_STYLES.get(verdict, "bold")), " — ", _headline(record)))
    if record.get("simulated"):
        console.print(Text("SIMULATED: tiers answered from routeeval's simulator, not real models.", style="yellow"))
    logs = _dict(record.get("logs"))
    if logs.get("log_format") and logs.get("format"):
        from routeeval.log_formats import format_label

        label = format_label(str(logs["log_format"]), str(logs["format"]))
        console.print(Text(f"logs: {_text(logs.get('path'))}, read as {label}"))
    for note in _list(logs.get("notes")):
        console.print(Text(f"note: {_text(note)}"))
    checks = _checks(record)
    shown = [c for c in checks if _status(c) != "skipped"]
    if shown:
        table = Table(title="Drift checks", title_justify="left")
        table.add_column("status")
        table.add_column("check")
        table.add_column("what the logs show")
        for check in shown:
            status = _status(check)
            table.add_row(
                Text(status.upper(), style=_RICH_STYLES.get(status, "")),
                Text(_text(check.get("title") or check.get("id"))),
                Text(_text(check.get("summary"))),
            )
        console.print(table)
    skipped = [_text(c.get("title") or c.get("id")) for c in checks if _status(c) == "skipped"]
    if skipped:
        console.print(Text("skipped: " + ", ".join(skipped), style="dim"))
    for heading, key in (("Top reasons", "reasons"), ("What to do", "actions")):
        items = [_text(item) for item in _list(record.get(key)) if _text(item).strip()]
        if items:
            console.print(Text(heading, style="bold"))
            for item in items:
                console.print(Text(f"  • {item}"))


# ------------------------------------------------------------------------------------------ files


def write_drift_reports(record: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write ``drift.md`` and ``drift.html`` into ``out_dir``, each atomically; return their paths."""
    out_dir = Path(out_dir)
    paths = {"markdown": out_dir / "drift.md", "html": out_dir / "drift.html"}
    write_text_atomic(paths["markdown"], render_drift_markdown(record))
    write_text_atomic(paths["html"], render_drift_html(record))
    return paths
