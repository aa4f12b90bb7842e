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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readme_help

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
    """README text as (up to and including the begin marker line, the field tables, from the end marker on)."""
    return readme_help.split_readme(text, BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    return readme_help.update_block(argv, field_tables(), "field tables", "readme_fields.py", BEGIN, END)


if __name__ == "__main__":
    sys.exit(main())
