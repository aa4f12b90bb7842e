#!/usr/bin/env python3
"""Write the README's "Your data" field tables from ``routeeval/fields.py``, the field specs the loaders read.

The tables are the part of README.md between the lines ``<!-- [[[fields ...]]] -->`` and
``<!-- [[[end fields]]] -->``: one table for the eval set, one for the logs, one for the outcomes table, each
field's name, type, whether a row needs it, and what it means, in the order ``fields.py`` lists them. A field added
to (or changed in) ``fields.py`` makes tests/test_docs.py fail until this is rerun.

Usage: ``python scripts/readme_fields.py`` rewrites the block; ``--check`` only says whether it is up to date
(exit 1 when it is not).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN = "<!-- [[[fields"
END = "<!-- [[[end fields]]] -->"


def field_tables() -> str:
    """The block's lines between the markers: a heading and a Markdown table per file."""
    sys.path.insert(0, str(ROOT))
    from routeeval.fields import EVAL_FIELDS, LOG_FIELDS, OUTCOME_FIELDS

    sections = [
        ("Eval set", "one row per query (JSONL line, CSV row, Parquet row)", EVAL_FIELDS),
        ("Logs", "one row per production call; OpenAI and litellm shapes are read into these fields", LOG_FIELDS),
        ("Outcomes", "`outcomes.parquet`, written by `run` and `import`: one row per query × tier", OUTCOME_FIELDS),
    ]
    parts = []
    for title, what, specs in sections:
        lines = [f"**{title}**: {what}.", "", "| field | type | required | meaning |", "|---|---|---|---|"]
        for spec in specs:
            cells = (f"`{spec.name}`", spec.type, spec.required, spec.meaning)
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def split_readme(text: str) -> tuple[str, str, str]:
    """README text as (up to and including the begin marker line, the block, from the end marker line on)."""
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise SystemExit(f"{README.name}: expected one line starting {BEGIN!r} and, after it, one line {END!r}")
    start, stop = begins[0] + 1, ends[0]
    return "".join(lines[:start]), "".join(lines[start:stop]), "".join(lines[stop:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's block is out of date")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    before, block, after = split_readme(text)
    wanted = "\n" + field_tables() + "\n"
    if block == wanted:
        print(f"{README.name}: the field tables are up to date")
        return 0
    if args.check:
        print(f"{README.name}: the field tables are out of date; run python scripts/readme_fields.py")
        return 1
    draft = README.with_name(README.name + ".tmp")
    draft.write_text(before + wanted + after, encoding="utf-8")
    draft.replace(README)  # whole or not at all
    print(f"{README.name}: rewrote the field tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
