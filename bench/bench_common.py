"""Shared by the bench scripts: print a result table and append it to bench/RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def record(
    name: str,
    command: str,
    rows: list[tuple],
    save: bool = True,
    header: tuple[str, ...] = ("measure", "value"),
    notes: tuple[str, ...] | list[str] = (),
) -> None:
    """Print ``rows`` and (unless ``save`` is False, as for a --quick smoke run) append them, with the command
    and the date, to bench/RESULTS.md.

    ``rows`` are tuples with one cell per ``header`` column (default: measure, value); ``notes`` are lines
    printed under the table (protocol, caveats).
    """
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {row!r} has {len(row)} cells; the header has {len(header)}: {header}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [f"### {name} — {stamp}", "", f"`{command}` ({machine})", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    if notes:
        lines += [""] + [str(note) for note in notes]
    text = "\n".join(lines) + "\n"
    print(text)
    if save:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
