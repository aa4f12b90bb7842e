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


def _pts(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}"


def _point_label(point: dict) -> str:
    if point["router"] == "tier":
        return f"{point['variant']} only"
    knob = point.get("knob")
    knob_text = "" if knob is None else f" @ {knob:.4g}"
    return f"{point['router']} {point['variant']}{knob_text}"


def frontier_table(summary: dict, max_rows: int = 14):
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
    if len(frontier) > max_rows:
        step = (len(frontier) - 1) / (max_rows - 1)
        keep = {round(i * step) for i in range(max_rows)}
        shown = [p for i, p in enumerate(frontier) if i in keep or _same_point(p, chosen)]
    else:
        shown = frontier
    for point in shown:
        low, high = point.get("accuracy_ci") or (None, None)
        interval = f" [{_pts(low)}–{_pts(high)}]" if low is not None else ""
        shares = ", ".join(f"{k} {v * 100:.0f}%" for k, v in point["tier_share"].items() if v)
        style = "bold green" if _same_point(point, chosen) else None
        table.add_row(
            _point_label(point) + (" ← chosen" if style else ""),
            _share(point["accuracy"]) + interval,
            _money(point["cost_per_1k_usd"]),
            shares,
            style=style,
        )
    return table


def _same_point(point: dict, chosen: dict) -> bool:
    return all(point.get(k) == chosen.get(k) for k in ("router", "variant", "knob")) and bool(chosen)


def chosen_lines(summary: dict) -> list[str]:
    """The decision in words: savings and accuracy drop, each with its CI, against the baseline."""
    chosen = summary.get("chosen")
    if not chosen:
        return []
    baseline = summary["baseline"]
    drop_low, drop_high = chosen["accuracy_drop_ci"]
    tag = " [SIMULATED tiers]" if summary.get("simulated") else ""
    lines = [
        f"[bold]Chosen policy{tag}:[/bold] {_point_label(chosen)} → policy kind '{chosen.get('policy_kind')}'",
        f"  accuracy {_share(chosen['accuracy'])} [{_pts(chosen['accuracy_ci'][0])}–{_pts(chosen['accuracy_ci'][1])}]"
        f" vs {baseline['tier']} {_share(baseline['accuracy'])}: drop {_pts(chosen['accuracy_drop'])} points"
        f" [{_pts(drop_low)}–{_pts(drop_high)}]",
        f"  cost {_money(chosen['cost_per_1k_usd'])} per 1k queries vs {_money(baseline['cost_per_1k_usd'])}: "
        f"saves {_share(chosen.get('savings_share'))}"
        + (
            f" [{_pts(chosen['savings_share_ci'][0])}–{_pts(chosen['savings_share_ci'][1])}]"
            if chosen.get("savings_share_ci")
            else ""
        ),
        f"  latency p50 {_ms(chosen.get('latency_p50_ms'))} ms, p95 {_ms(chosen.get('latency_p95_ms'))} ms",
    ]
    selection = summary.get("selection") or {}
    if selection.get("rule"):
        lines.append(f"  rule: {selection['rule']}")
    holdout = summary.get("holdout")
    if holdout and holdout.get("chosen"):
        h = holdout["chosen"]
        lines.append(
            f"  hold-out ({holdout['rows']} rows never seen by selection): accuracy {_share(h['accuracy'])}, "
            f"drop {_pts(h['accuracy_drop'])} points "
            f"[{_pts(h['accuracy_drop_ci'][0])}–{_pts(h['accuracy_drop_ci'][1])}],"
            f" saves {_share(h.get('savings_share'))}"
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
        console.print(
            f"replay: {replay['calls']} calls, {replay['cache_hits']} from cache, "
            f"{replay['calls_made']} made ({replay['retries']} retries), {replay['errors']} errors, "
            f"${replay['spent_usd']:.4f} spent, {replay['wall_s']:.1f}s"
        )
    if summary.get("frontier"):
        console.print(frontier_table(summary))
        aiq = summary["metrics"]["aiq"]
        console.print(
            "AIQ: "
            + ", ".join(f"{k} {v:.4f}" for k, v in aiq.items() if v is not None)
            + f" (zero router {summary['metrics']['zero_router_aiq']:.4f})"
        )
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
