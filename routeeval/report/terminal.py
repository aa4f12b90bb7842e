"""Terminal rendering with rich: tables people read, from the same summary machines get as JSON.

Numbers read as in the HTML and Markdown reports (the formatters in :mod:`routeeval.report.formatting`), except
that money keeps its cents at any size here.
"""

from __future__ import annotations

import math

from routeeval.report.formatting import (
    count,
    drop_bound,
    interval,
    money,
    ms,
    point_label,
    points,
    same_point,
    share,
    spend_text,
    thin,
    unscored_lines,
)

FRONTIER_ROWS = 14


def _money(value: float | None) -> str:
    return money(value, cents_below=math.inf)


def tier_table(summary: dict, *, title: str | None = None, key: str = "single_tiers"):
    """The per-tier table: accuracy with CI, $ per 1,000 queries, latency p50/p95, errors."""
    from rich.table import Table

    simulated = summary.get("simulated")
    models = {t["name"]: t for t in summary.get("tiers", [])}
    label = "accuracy" if key == "single_tiers" else "agreement"
    table = Table(
        title=(title or "Single tiers on the eval set") + (" — SIMULATED tiers" if simulated else ""),
        title_justify="left",
    )
    table.add_column("tier")
    table.add_column(f"{label} [95% CI]", justify="right")
    table.add_column("$/1k queries", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    table.add_column("errors", justify="right")
    rows = summary.get(key) if key == "single_tiers" else (summary.get("logs") or {}).get("agreement", [])
    unscored = any(row.get("unscored") for row in rows or [])
    if unscored:  # rows with no score: a failed call, a judge not called or unreadable (the caption says which)
        table.add_column("unscored", justify="right")
    caption = [
        "models: "
        + ", ".join(
            f"{name}={str(t.get('model')).removeprefix('routeeval-sim/')}"
            + (" (simulated)" if t.get("simulated") else "")
            for name, t in models.items()
        )
    ]
    if key != "single_tiers":
        caption.append(f"scorer: {(summary.get('logs') or {}).get('scorer') or 'as configured'}")
    caption += unscored_lines(rows or [])
    table.caption = "\n".join(caption)
    table.caption_justify = "left"
    for row in rows or []:
        table.add_row(
            str(row.get("tier")),
            share(row.get("accuracy")) + interval(row.get("accuracy_ci")),
            _money(row.get("cost_per_1k_usd")),
            count(row.get("latency_p50_ms")),
            count(row.get("latency_p95_ms")),
            str(row.get("errors", 0)),
            *([str(row.get("unscored", 0))] if unscored else []),
        )
    return table


def frontier_table(summary: dict, max_rows: int = FRONTIER_ROWS):
    """The Pareto frontier (thinned to ``max_rows``), the chosen point highlighted."""
    from rich.table import Table

    frontier = summary.get("frontier") or []
    chosen = summary.get("chosen") or {}
    title = f"Pareto frontier ({len(frontier)} points)" + (" — SIMULATED tiers" if summary.get("simulated") else "")
    table = Table(title=title, title_justify="left")
    table.add_column("router / knob")
    table.add_column("accuracy [95% CI]", justify="right")
    table.add_column("$/1k", justify="right")
    table.add_column("tier share")
    for point in thin(frontier, chosen, max_rows):
        shares = ", ".join(f"{k} {share(v, digits=0)}" for k, v in point["tier_share"].items() if v)
        style = "bold green" if same_point(point, chosen) else None
        table.add_row(
            point_label(point) + (" ← chosen" if style else ""),
            share(point["accuracy"]) + interval(point.get("accuracy_ci")),
            _money(point["cost_per_1k_usd"]),
            shares,
            style=style,
        )
    return table


def chosen_lines(summary: dict) -> list[str]:
    """The decision in words: savings and accuracy drop, each with its CI, against the baseline."""
    chosen = summary.get("chosen")
    if not chosen:
        return []
    baseline = summary.get("baseline") or {}
    tag = " [SIMULATED tiers]" if summary.get("simulated") else ""
    lines = [
        f"[bold]Chosen policy{tag}:[/bold] {point_label(chosen)} → policy kind '{chosen.get('policy_kind')}'",
        f"  accuracy {share(chosen.get('accuracy'))}{interval(chosen.get('accuracy_ci'))}"
        f" vs {baseline.get('tier')} {share(baseline.get('accuracy'))}: drop {points(chosen.get('accuracy_drop'))} "
        "points" + interval(chosen.get("accuracy_drop_ci")) + drop_bound(summary),
        f"  cost {_money(chosen.get('cost_per_1k_usd'))} per 1k queries vs {_money(baseline.get('cost_per_1k_usd'))}: "
        f"saves {share(chosen.get('savings_share'))}{interval(chosen.get('savings_share_ci'))}",
        f"  latency p50 {ms(chosen.get('latency_p50_ms'))}, p95 {ms(chosen.get('latency_p95_ms'))}",
    ]
    mix = summary.get("production_mix") or {}
    if mix.get("policy_cost_per_1k_usd") is not None:
        calls = ", ".join(
            f"{tier} {share(value, digits=0)}{interval((mix.get('tier_share_ci') or {}).get(tier), digits=0)}"
            for tier, value in (mix.get("tier_share") or {}).items()
            if value
        )
        lines.append(
            f"  on the production logs ({mix.get('rows')} rows): {_money(mix.get('policy_cost_per_1k_usd'))} per 1k "
            f"vs {_money(mix.get('baseline_cost_per_1k_usd'))}: saves {share(mix.get('savings_share'))}"
            f"{interval(mix.get('savings_share_ci'))}; calls per query {calls}"
        )
    selection = summary.get("selection") or {}
    if selection.get("rule"):
        lines.append(f"  rule: {selection['rule']}")
    holdout = summary.get("holdout")
    if holdout and holdout.get("chosen"):
        h = holdout["chosen"]
        lines.append(
            f"  hold-out ({holdout.get('rows')} rows never seen by selection): accuracy {share(h.get('accuracy'))}, "
            f"drop {points(h.get('accuracy_drop'))} points{interval(h.get('accuracy_drop_ci'))},"
            f" saves {share(h.get('savings_share'))}"
        )
    return lines


def render_run(result, console) -> None:
    """Everything `routeeval run` and `routeeval optimize` print after the progress bars."""
    summary = result.summary
    console.print(tier_table(summary))
    if summary.get("logs"):
        anchor = summary["logs"].get("reference_tier")
        console.print(
            tier_table(summary, title=f"Agreement with {anchor}'s answers on production logs (no gold)", key="logs")
        )
    replay = summary.get("replay")
    if replay:
        kinds = replay.get("errors_by_kind") or {}
        errors = f"{replay.get('errors', 0)} errors" + (
            " (" + ", ".join(f"{kind} {n}" for kind, n in kinds.items()) + ")" if kinds else ""
        )
        console.print(
            f"replay: {replay.get('calls', 0)} calls, {replay.get('cache_hits', 0)} from cache, "
            f"{replay.get('calls_made', 0)} made ({replay.get('retries', 0)} retries), {errors}, "
            f"${replay.get('spent_usd') or 0:.4f} spent, {replay.get('wall_s') or 0:.1f}s"
        )
    spend = spend_text(summary)
    if spend:
        console.print(f"spend, every paid call of the run: {spend}")
    if summary.get("frontier"):
        console.print(frontier_table(summary))
        line = aiq_line(summary.get("metrics") or {})
        if line:
            console.print(line)
        for line in chosen_lines(summary):
            console.print(line)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if result.simulated:
        console.print(
            "[bold yellow]SIMULATED:[/bold yellow] tiers answered from routeeval's simulator, not real models."
        )
    console.print(f"wrote {result.outcomes_path}")
    if result.policy_path:
        console.print(f"wrote {result.policy_path}")
    for path in (getattr(result, "reports", None) or {}).values():
        console.print(f"wrote {path}")
    console.print(f"wrote {result.summary_path}")


def aiq_line(metrics: dict) -> str | None:
    """'AIQ: cascade 0.9031, ... (zero router 0.8457)': each router's own curve (RouterBench's AIQ), or None."""
    aiq = {k: v for k, v in (metrics.get("aiq") or {}).items() if v is not None}
    if not aiq:
        return None
    zero = metrics.get("zero_router_aiq")
    return (
        "AIQ (each router's own curve, RouterBench): "
        + ", ".join(f"{k} {v:.4f}" for k, v in aiq.items())
        + (f" (zero router {zero:.4f})" if zero is not None else "")
    )


def cache_table(stats: dict):
    from rich.table import Table

    table = Table(title=f"Response cache {stats['path']}", title_justify="left")
    table.add_column("model")
    table.add_column("responses", justify="right")
    table.add_column("cost when made", justify="right")
    for row in stats["models"]:
        table.add_row(row["model"], f"{row['entries']:,}", _money(row["cost_usd"]))
    table.add_row("[bold]total", f"[bold]{stats['entries']:,}", f"[bold]{_money(stats['cost_usd'])}")
    table.caption = f"{stats['size_bytes'] / 1e6:.2f} MB on disk"
    return table
