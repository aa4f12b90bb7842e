"""How numbers and run facts read in every report: the same value reads the same in HTML, Markdown and the terminal.

Pure string formatting over plain values and the typed run record (:mod:`routeeval.summary`).
"""

from __future__ import annotations

from routeeval.summary import Point, RunSummary, TierSummary

# ------------------------------------------------------------------------------------------ numbers


def money(value: float | None, *, cents_below: float = 10.0) -> str:
    """$0.3232 under a dollar, $1.23 under ``cents_below`` (ten), $1,234 from there up."""
    if value is None:
        return "—"
    if abs(value) < 1:
        return f"${value:,.4f}"
    return f"${value:,.2f}" if abs(value) < cents_below else f"${value:,.0f}"


def share(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def labels_sentences(labels) -> list[str]:
    """Human easy/hard labels against measured outcomes (``summary.labels``), one sentence per label."""
    if labels is None:
        return []
    low, high = labels.cheapest_tier, labels.expensive_tier
    out = []
    for name in ("easy", "hard"):
        n = getattr(labels, name)
        if not n:
            continue
        right = share(getattr(labels, f"{name}_cheapest_accuracy"))
        right += interval(getattr(labels, f"{name}_cheapest_accuracy_ci"))
        needed = share(getattr(labels, f"{name}_needed_expensive"))
        needed += interval(getattr(labels, f"{name}_needed_expensive_ci"))
        out.append(
            f"Rows labeled {name}: {low} answered {right} of {n:,} right; {needed} needed {high} "
            f"({low} wrong, {high} right)."
        )
    return out


def confidence_sentences(summary) -> list[str]:
    """Where the cascade took each tier's confidence from (``summary.cascade_confidence``), one sentence a tier."""
    return [f"{entry.tier}: {entry.source} confidence; {entry.reason}." for entry in summary.cascade_confidence or []]


def points(value: float | None) -> str:
    """A fraction as percentage points: 0.003 -> '0.3'."""
    return "—" if value is None else f"{value * 100:.1f}"


def interval(ci, scale: float = 100.0, digits: int = 1) -> str:
    """' [low–high]' in percent (or points), empty when there is no interval."""
    if not ci or None in ci:
        return ""
    return f" [{ci[0] * scale:.{digits}f}–{ci[1] * scale:.{digits}f}]"


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def signed_points(value: float | None) -> str:
    if value is None:
        return "—"
    return "0.0" if round(value * 100, 1) == 0 else f"{value * 100:+.1f} pt"


def plural(n: int, word: str) -> str:
    """'1 query', '2 queries', '0 rows'."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def thin(frontier: list[Point], chosen: Point | None, max_rows: int) -> list[Point]:
    """About ``max_rows`` evenly spaced frontier points, always keeping the chosen one."""
    if len(frontier) <= max_rows:
        return list(frontier)
    step = (len(frontier) - 1) / (max_rows - 1)
    keep = {round(i * step) for i in range(max_rows)}
    return [p for i, p in enumerate(frontier) if i in keep or same_point(p, chosen)]


def same_point(point: Point, chosen: Point | None) -> bool:
    return chosen is not None and (point.router, point.variant, point.knob) == (
        chosen.router,
        chosen.variant,
        chosen.knob,
    )


# ------------------------------------------------------------------------------------------ run facts


def confidence_label(summary: RunSummary) -> str:
    """'95% CI' at the run's confidence level."""
    return f"{(summary.selection.confidence if summary.selection else None) or 0.95:.0%} CI"


def drop_bound(summary: RunSummary) -> str:
    """'; at most 1.9 points with 95% family-wise confidence': the selection's certified bound on the chosen
    policy's accuracy drop (empty when nothing cheaper was certified, or under a budget)."""
    chosen, selection = summary.chosen, summary.selection
    upper = chosen.accuracy_drop_upper if chosen else None
    if upper is None or selection is None or not selection.found_cheaper or selection.budget_per_1k_usd is not None:
        return ""
    return f"; at most {points(upper)} points with {selection.confidence or 0.95:.0%} family-wise confidence"


_PHASE_LABELS = {"replay": "replay", "judge": "judge", "triage": "llm-router triage"}


def spend_text(summary: RunSummary) -> str | None:
    """'$0.2931 of the $0.30 budget (replay $0.1700, judge $0.1100, llm-router triage $0.0131)': everything this
    run paid for, against its one budget; None for outcomes that were not replayed here."""
    spend = summary.spend
    if spend is None:
        return None
    phases = ", ".join(
        f"{_PHASE_LABELS.get(phase, phase)} ${amount or 0:.4f}" for phase, amount in spend.by_phase.items()
    )
    budget = spend.budget_usd
    text = f"${spend.spent_usd or 0:.4f}" + (f" of the ${budget:.2f} budget" if budget is not None else "")
    text += f" ({phases})" if phases else " (every call from the cache)"
    skipped = sum(spend.skipped_by_budget.values())
    if skipped:
        text += f"; {plural(skipped, 'call')} not made: the budget was reached"
    return text


def unscored_lines(rows: list[TierSummary]) -> list[str]:
    """'unscored rows: small 73 of 150 (judge not called (budget) 73)', one line per tier with any (``rows``: a
    summary's ``single_tiers`` or ``logs.agreement``)."""
    lines = []
    for row in rows:
        if row.unscored:
            why = ", ".join(f"{reason} {n}" for reason, n in (row.unscored_reasons or {}).items())
            lines.append(f"unscored rows: {row.tier} {row.unscored} of {row.rows} ({why})")
    return lines


def point_label(point: Point) -> str:
    """'cascade small>large @ 0.7575', 'large only', 'classifier utility @ 539.6'; a point whose router reads
    request metadata the logs do not show production sending says so."""
    label = point.label
    if point.selectable is False:
        label += " (needs " + ", ".join(f"metadata.{key}" for key in point.needs_metadata or []) + ")"
    return label
