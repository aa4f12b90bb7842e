#!/usr/bin/env python3
"""Write the README's command reference from the real ``--help`` of every routeeval command.

The reference is the part of README.md between the lines ``<!-- [[[help ...]]] -->`` and ``<!-- [[[end]]] -->``:
each command's ``--help`` exactly as the command line prints it on a 100-column terminal, run in a folder with no
``routeeval.toml`` (``run --help`` shows the defaults in force, so here the built-in ones). Commands are found by
walking the command line itself, so a new command or option appears here (and tests/test_docs.py fails until
this is rerun).

Usage: ``python scripts/readme_help.py`` rewrites the block; ``--check`` only says whether it is up to date
(exit 1 when it is not).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN = "<!-- [[[help"
END = "<!-- [[[end]]] -->"
COLUMNS = "100"
PROG = "routeeval"


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the command line, the program itself first, in the order ``--help`` lists them."""
    import typer.main

    from routeeval.cli import app

    def walk(command, path: tuple[str, ...]):
        yield path
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                yield from walk(sub, (*path, name))

    return list(walk(typer.main.get_command(app), ()))


def help_text(path: tuple[str, ...]) -> str:
    """What ``routeeval PATH... --help`` prints, trailing spaces removed (the command line runs in-process)."""
    from typer.testing import CliRunner

    from routeeval.cli import app

    result = CliRunner().invoke(app, [*path, "--help"], prog_name=PROG, env={"COLUMNS": COLUMNS, "NO_COLOR": "1"})
    if result.exit_code != 0:
        raise SystemExit(f"{PROG} {' '.join(path)} --help exited with {result.exit_code}: {result.output}")
    return "\n".join(line.rstrip() for line in result.stdout.strip("\n").splitlines())


def command_reference() -> str:
    """The block's lines between the markers: one heading and one code block per command."""
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as empty:
        os.chdir(empty)  # no routeeval.toml here: help shows the built-in defaults, wherever this runs
        try:
            sections = [
                f"### `{' '.join((PROG, *path, '--help'))}`\n\n```\n{help_text(path)}\n```\n"
                for path in command_paths()
            ]
        finally:
            os.chdir(cwd)
    return "\n".join(sections)


def split_readme(text: str, begin: str = BEGIN, end: str = END) -> tuple[str, str, str]:
    """README text as (up to and including the begin marker line, the block, from the end marker line on)."""
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith(begin)]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise SystemExit(f"{README.name}: expected one line starting {begin!r} and, after it, one line {end!r}")
    start, stop = begins[0] + 1, ends[0]
    return "".join(lines[:start]), "".join(lines[start:stop]), "".join(lines[stop:])


def update_block(
    argv: list[str] | None, wanted: str, what: str, script: str, begin: str = BEGIN, end: str = END
) -> int:
    """The main of a script that writes one marked README block: rewrite it when it differs from ``wanted``
    (``--check``: exit 1 instead)."""
    parser = argparse.ArgumentParser(description=f"Write the README's {what}.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's block is out of date")
    args = parser.parse_args(argv)
    before, block, after = split_readme(README.read_text(encoding="utf-8"), begin, end)
    wanted = "\n" + wanted + "\n"
    if block == wanted:
        print(f"{README.name}: {what}: up to date")
        return 0
    if args.check:
        print(f"{README.name}: {what}: out of date; run python scripts/{script}")
        return 1
    draft = README.with_name(README.name + ".tmp")
    draft.write_text(before + wanted + after, encoding="utf-8")
    draft.replace(README)  # whole or not at all
    print(f"{README.name}: {what}: rewritten")
    return 0


def main(argv: list[str] | None = None) -> int:
    return update_block(argv, command_reference(), "command reference", "readme_help.py")


if __name__ == "__main__":
    sys.exit(main())
