"""Terminal rendering with rich: tables people read, from the same summary machines get as JSON.

Numbers read as in the HTML and Markdown reports (the formatters in :mod:`routeeval.report.formatting`), except
that money keeps its cents at any size here.
"""

from __future__ import annotations

import math

from routeeval.report.formatting import (
    confidence_sentences,
    count,
    drop_bound,
    interval,
    labels_sentences,
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
from routeeval.summary import Baseline, Metrics, RunSummary

FRONTIER_ROWS = 14
UNBOUNDED_WIDTH = 10_000  # a pipe or a file has no width: tables take their content's, and never cut a name


def make_console(*, stderr: bool = False):
    """A rich Console for stdout (or stderr). On a terminal it takes the terminal's width; written to a pipe or a
    file, ``COLUMNS`` when set, else as wide as each table's content, so no model name is cut at 80 columns."""
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not _is_terminal(stream):
        columns = os.environ.get("COLUMNS", "").strip()
        width = int(columns) if columns.isdigit() and int(columns) > 0 else UNBOUNDED_WIDTH
    return Console(stderr=stderr, width=width)


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _money(value: float | None) -> str:
    return money(value, cents_below=math.inf)


def tier_table(summary: RunSummary, *, title: str | None = None, logs: bool = False):
    """The per-tier table: accuracy (or, for ``logs``, agreement) with CI, $ per 1,000 queries, latency p50/p95,
    errors, and unscored rows when there are any."""
    from rich.table import Table

    label = "agreement" if logs else "accuracy"
    table = Table(
        title=(title or "Single tiers on the eval set") + (" — SIMULATED tiers" if summary.simulated else ""),
        title_justify="left",
    )
    # Too narrow a width folds a model name onto more lines, never cuts it; the figures keep their width.
    table.add_column("tier", no_wrap=True)
    table.add_column("model", overflow="fold")
    table.add_column(f"{label} [95% CI]", justify="right", no_wrap=True)
    table.add_column("$/1k queries", justify="right", no_wrap=True)
    table.add_column("p50 ms", justify="right", no_wrap=True)
    table.add_column("p95 ms", justify="right", no_wrap=True)
    table.add_column("errors", justify="right", no_wrap=True)
    rows = (summary.logs.agreement if summary.logs else []) if logs else summary.single_tiers
    unscored = any(row.unscored for row in rows)
    if unscored:  # rows with no score: a failed call, a judge not called or unreadable (the caption says which)
        table.add_column("unscored", justify="right", no_wrap=True)
    models = {
        t.name: str(t.model).removeprefix("routeeval-sim/") + (" (simulated)" if t.simulated else "")
        for t in summary.tiers
    }
    caption = []
    if logs:
        caption.append(f"scorer: {(summary.logs.scorer if summary.logs else None) or 'as configured'}")
    caption += unscored_lines(rows)
    table.caption = "\n".join(caption) or None
    table.caption_justify = "left"
    for row in rows:
        table.add_row(
            row.tier,
            models.get(row.tier, ""),
            share(row.accuracy) + interval(row.accuracy_ci),
            _money(row.cost_per_1k_usd),
            count(row.latency_p50_ms),
            count(row.latency_p95_ms),
            str(row.errors),
            *([str(row.unscored or 0)] if unscored else []),
        )
    return table


def frontier_table(summary: RunSummary, max_rows: int = FRONTIER_ROWS):
    """The Pareto frontier (thinned to ``max_rows``), the chosen point highlighted."""
    from rich.table import Table

    frontier = summary.frontier
    chosen = summary.chosen
    title = f"Pareto frontier ({len(frontier)} points)" + (" — SIMULATED tiers" if summary.simulated else "")
    table = Table(title=title, title_justify="left")
    table.add_column("router / knob")
    table.add_column("accuracy [95% CI]", justify="right")
    table.add_column("$/1k", justify="right")
    table.add_column("tier share")
    for point in thin(frontier, chosen, max_rows):
        shares = ", ".join(f"{k} {share(v, digits=0)}" for k, v in point.tier_share.items() if v)
        style = "bold green" if same_point(point, chosen) else None
        table.add_row(
            point_label(point) + (" ← chosen" if style else ""),
            share(point.accuracy) + interval(point.accuracy_ci),
            _money(point.cost_per_1k_usd),
            shares,
            style=style,
        )
    return table


def chosen_lines(summary: RunSummary) -> list[str]:
    """The decision in words: savings and accuracy drop, each with its CI, against the baseline."""
    chosen = summary.chosen
    if chosen is None:
        return []
    baseline = summary.baseline or Baseline()
    tag = " [SIMULATED tiers]" if summary.simulated else ""
    lines = [
        f"[bold]Chosen policy{tag}:[/bold] {point_label(chosen)} → policy kind '{chosen.policy_kind}'",
        f"  accuracy {share(chosen.accuracy)}{interval(chosen.accuracy_ci)}"
        f" vs {baseline.tier} {share(baseline.accuracy)}{_on_rows(summary, baseline)}: "
        f"drop {points(chosen.accuracy_drop)} "
        "points" + interval(chosen.accuracy_drop_ci) + drop_bound(summary),
        f"  cost {_money(chosen.cost_per_1k_usd)} per 1k queries vs {_money(baseline.cost_per_1k_usd)}: "
        f"saves {share(chosen.savings_share)}{interval(chosen.savings_share_ci)}",
        f"  latency p50 {ms(chosen.latency_p50_ms)}, p95 {ms(chosen.latency_p95_ms)}",
    ]
    mix = summary.production_mix
    if mix is not None and mix.policy_cost_per_1k_usd is not None:
        calls = ", ".join(
            f"{tier} {share(value, digits=0)}{interval((mix.tier_share_ci or {}).get(tier), digits=0)}"
            for tier, value in (mix.tier_share or {}).items()
            if value
        )
        lines.append(
            f"  on the production logs ({mix.rows} rows): {_money(mix.policy_cost_per_1k_usd)} per 1k "
            f"vs {_money(mix.baseline_cost_per_1k_usd)}: saves {share(mix.savings_share)}"
            f"{interval(mix.savings_share_ci)}; calls per query {calls}"
        )
    if summary.selection is not None and summary.selection.rule:
        lines.append(f"  rule: {summary.selection.rule}")
    holdout = summary.holdout
    if holdout is not None and holdout.chosen is not None:
        h = holdout.chosen
        lines.append(
            f"  hold-out ({holdout.rows} rows never seen by selection): accuracy {share(h.accuracy)}, "
            f"drop {points(h.accuracy_drop)} points{interval(h.accuracy_drop_ci)},"
            f" saves {share(h.savings_share)}"
        )
    return lines


def _on_rows(summary: RunSummary, baseline: Baseline) -> str:
    """' on the 245 selection rows' when the baseline's rows are not all the eval rows the tier table shows."""
    if baseline.rows is None or baseline.rows == summary.evalset.rows:
        return ""
    return f" on the {baseline.rows:,} {baseline.basis or 'selection rows'}"


def replay_line(replay) -> str:
    """The replay's calls, cache hits, errors, spend and time; the litellm import it waited for is shown apart
    (it is no part of the replay's own time and costs the same for 10 calls as for 100,000)."""
    kinds = replay.errors_by_kind or {}
    errors = f"{replay.errors} errors" + (
        " (" + ", ".join(f"{kind} {n}" for kind, n in kinds.items()) + ")" if kinds else ""
    )
    line = (
        f"replay: {replay.calls} calls, {replay.cache_hits} from cache, "
        f"{replay.calls_made} made ({replay.retries} retries), {errors}, "
        f"${replay.spent_usd or 0:.4f} spent, {replay.wall_s or 0:.1f}s"
    )
    if replay.import_s and replay.import_s >= 0.05:
        line += f" (+ {replay.import_s:.1f}s importing litellm)"
    return line


def render_run(result, console) -> None:
    """Everything `routeeval run` and `routeeval optimize` print after the progress bars (``result.summary``:
    the run's :class:`~routeeval.summary.RunSummary`)."""
    summary: RunSummary = result.summary
    console.print(tier_table(summary))
    if summary.logs is not None:
        console.print(logs_line(summary.logs), highlight=False)
        title = f"Agreement with {summary.logs.reference_tier}'s answers on production logs (no gold)"
        console.print(tier_table(summary, title=title, logs=True))
    replay = summary.replay
    if replay is not None:
        console.print(replay_line(replay))
    spend = spend_text(summary)
    if spend:
        console.print(f"spend, every paid call of the run: {spend}")
    if summary.frontier:
        console.print(frontier_table(summary))
        line = aiq_line(summary.metrics)
        if line:
            console.print(line)
        for line in chosen_lines(summary):
            console.print(line)
    for sentence in confidence_sentences(summary):
        console.print(f"cascade confidence, {sentence}", highlight=False)
    for sentence in labels_sentences(summary.labels):
        console.print(sentence, highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if result.simulated:
        console.print(
            "[bold yellow]SIMULATED:[/bold yellow] tiers answered from routeeval's simulator, not real models."
        )
    if getattr(result, "outcomes_written", True):
        console.print(f"wrote {result.outcomes_path}", highlight=False, soft_wrap=True)
    if result.policy_path:
        console.print(f"wrote {result.policy_path}", highlight=False, soft_wrap=True)
    for path in (getattr(result, "reports", None) or {}).values():
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    console.print(f"wrote {result.summary_path}", highlight=False, soft_wrap=True)


def logs_line(logs) -> str:
    """'logs: spend.json, 400 rows read as litellm spend logs (a JSON array)': the format detected, named."""
    from routeeval.log_formats import format_label

    read = f" read as {format_label(logs.log_format, logs.format)}" if logs.log_format and logs.format else ""
    return f"logs: {logs.path}, {logs.rows:,} rows{read}"


def aiq_line(metrics: Metrics) -> str | None:
    """'AIQ: cascade 0.9031, ... (zero router 0.8457)': each router's own curve (RouterBench's AIQ), or None."""
    aiq = {k: v for k, v in metrics.aiq.items() if v is not None}
    if not aiq:
        return None
    zero = metrics.zero_router_aiq
    return (
        "AIQ (each router's own curve, RouterBench): "
        + ", ".join(f"{k} {v:.4f}" for k, v in aiq.items())
        + (f" (zero router {zero:.4f})" if zero is not None else "")
    )


def cache_table(stats: dict):
    from rich.table import Table

    table = Table(title=f"Response cache {stats['path']}", title_justify="left")
    table.add_column("model", overflow="fold")
    table.add_column("responses", justify="right", no_wrap=True)
    table.add_column("cost when made", justify="right", no_wrap=True)
    for row in stats["models"]:
        table.add_row(row["model"], f"{row['entries']:,}", _money(row["cost_usd"]))
    table.add_row("[bold]total", f"[bold]{stats['entries']:,}", f"[bold]{_money(stats['cost_usd'])}")
    table.caption = f"{stats['size_bytes'] / 1e6:.2f} MB on disk"
    return table
