"""Terminal rendering with rich: tables people read, from the same summary machines get as JSON."""

from __future__ import annotations


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


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
    table.caption = "models: " + ", ".join(
        f"{name}={t['model'].removeprefix('routeeval-sim/')}" + (" (simulated)" if t.get("simulated") else "")
        for name, t in models.items()
    )
    table.caption_justify = "left"
    rows = summary.get(key) if key == "single_tiers" else (summary.get("logs") or {}).get("agreement", [])
    for row in rows or []:
        low, high = row["accuracy_ci"]
        interval = f" [{low * 100:.1f}–{high * 100:.1f}]" if low is not None else ""
        table.add_row(
            row["tier"],
            _share(row["accuracy"]) + interval,
            _money(row["cost_per_1k_usd"]),
            _ms(row["latency_p50_ms"]),
            _ms(row["latency_p95_ms"]),
            str(row["errors"]),
        )
    return table


def render_run(result, console) -> None:
    """Everything `routeeval run` prints after the progress bars."""
    summary = result.summary
    console.print(tier_table(summary))
    if summary.get("logs"):
        anchor = summary["logs"].get("reference_tier")
        console.print(
            tier_table(summary, title=f"Agreement with {anchor}'s answers on production logs (no gold)", key="logs")
        )
    replay = summary["replay"]
    console.print(
        f"replay: {replay['calls']} calls, {replay['cache_hits']} from cache, "
        f"{replay['calls_made']} made ({replay['retries']} retries), {replay['errors']} errors, "
        f"${replay['spent_usd']:.4f} spent, {replay['wall_s']:.1f}s"
    )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if result.simulated:
        console.print(
            "[bold yellow]SIMULATED:[/bold yellow] tiers answered from routeeval's simulator, not real models."
        )
    console.print(f"wrote {result.outcomes_path}")
    console.print(f"wrote {result.summary_path}")


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
