"""The terminal view of a dry run (``routeeval run --dry-run``), read from its record (a dict, what ``--json``
prints): per phase and tier, the calls, what is cached, and the estimated tokens and dollars of the rest."""

from __future__ import annotations

PHASE_LABELS = {"replay": "tier calls", "judge": "judge", "triage": "llm router triage"}


def dry_run_table(record: dict):
    from rich.table import Table

    table = Table(title="Dry run: what `routeeval run` would call (nothing was called)", title_justify="left")
    table.add_column("phase", no_wrap=True)
    table.add_column("tier", no_wrap=True)
    for name in ("calls", "cached", "to call", "prompt tokens", "completion tokens", "est. USD"):
        table.add_column(name, justify="right", no_wrap=True)
    for entry in record["phases"]:
        table.add_row(
            PHASE_LABELS.get(entry["phase"], entry["phase"]),
            entry["tier"],
            f"{entry['calls']:,}",
            f"{entry['cached']:,}",
            f"{entry['to_call']:,}",
            f"{entry['prompt_tokens']:,}" + ("*" if entry.get("prompts_estimated") else ""),
            f"{entry['completion_tokens']:,}",
            _usd(entry["usd"]) if entry["priced"] else "no price",
        )
    total = record["total"]
    table.add_section()
    table.add_row(
        "total",
        "",
        f"{total['calls']:,}",
        f"{total['cached']:,}",
        f"{total['to_call']:,}",
        f"{total['prompt_tokens']:,}",
        f"{total['completion_tokens']:,}",
        _usd(total["usd"]) if total["usd"] is not None else "no price",
    )
    caption = ["models: " + ", ".join(f"{t['name']}={t['model']} ({_price(t)})" for t in record["tiers"])]
    if any(entry.get("prompts_estimated") for entry in record["phases"]):
        caption.append("* includes answers not bought yet, at their estimated completion tokens")
    from rich.markup import escape

    table.caption = escape("\n".join(caption))
    table.caption_justify = "left"
    return table


def render_dry_run(record: dict, console) -> None:
    from rich.markup import escape

    def say(prefix: str, text: str) -> None:  # the record's own words are never read as markup ("[optimize]")
        console.print(prefix + escape(text), highlight=False)

    evalset, logs = record["evalset"], record.get("logs")
    rows = f"{evalset['rows']:,} eval rows from {evalset['path']}"
    if logs:
        rows += f", {logs['rows']:,} log rows from {logs['path']}"
    say("", rows)
    for note in record.get("notes", []):
        say("[yellow]note:[/yellow] ", note)
    cache = record["cache"]
    say("cache: ", cache["path"] + ("" if cache["exists"] else " (no such file yet: nothing cached)"))
    table = dry_run_table(record)
    if console.is_terminal:
        console.print(table)
    else:  # piped or redirected: the table at its full width, never a model name cut
        from rich.measure import Measurement

        width = Measurement.get(console, console.options.update_width(10_000), table).maximum
        narrower = console.width
        console.width = max(narrower, width)
        console.print(table)
        console.width = narrower
    say("budget: ", record["verdict"])
    for line in record["assumptions"]:
        say("assumed: ", line)
    for problem in record["problems"]:
        say("[bold red]would stop:[/bold red] ", problem)


def _usd(value: float | None) -> str:
    return "no price" if value is None else f"${value:,.4f}"


def _price(tier: dict) -> str:
    if tier["price_in_per_mtok"] is None:
        return "no price"
    return f"${tier['price_in_per_mtok']:g} in / ${tier['price_out_per_mtok']:g} out per 1M, {tier['price_source']}"
