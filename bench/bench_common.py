"""Shared by the bench scripts: print a result table and append it to bench/RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def record(name: str, command: str, rows: list[tuple[str, str]]) -> None:
    """Print ``rows`` and append them, with the command and the date, to bench/RESULTS.md."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [f"### {name} — {stamp}", "", f"`{command}` ({machine})", "", "| measure | value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text)
