"""The README's command reference is the real --help of every command (scripts/readme_help.py writes it), so a
command or an option cannot ship undocumented (as sqlite-utils' and llm's docs tests do)."""

from __future__ import annotations

import re

import pytest
from helpers import ROOT, load_script

README = ROOT / "README.md"


@pytest.fixture(scope="module")
def readme_help():
    return load_script("readme_help.py")


@pytest.fixture(scope="module")
def reference(readme_help) -> str:
    """The README's command reference, between its markers."""
    return readme_help.split_readme(README.read_text(encoding="utf-8"))[1]


def test_the_readme_command_reference_is_the_real_help(readme_help, reference):
    assert reference == "\n" + readme_help.command_reference() + "\n", (
        "README.md's command reference is not the command line's --help; run python scripts/readme_help.py"
    )


def test_every_command_and_option_is_in_the_readme(readme_help, reference):
    """Checked apart from the text above: a command or option that --help does not show fails here too."""
    paths = readme_help.command_paths()
    assert {("run",), ("optimize",), ("import",), ("route",), ("cache", "stats"), ("cache", "clear")} <= set(paths)
    headings = re.findall(r"^### `routeeval ?(.*) --help`$", reference, flags=re.M)
    assert headings == [" ".join(path) for path in paths]
    sections = dict(zip(headings, re.split(r"^### .*$", reference, flags=re.M)[1:], strict=True))
    for path in paths:
        command, text = _command(path), sections[" ".join(path)]
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            names = [*param.opts, *param.secondary_opts] if param.param_type_name == "option" else [param.name]
            for name in names:
                assert name in text, f"routeeval {' '.join(path)}: {name} is not in the README"
        for name in getattr(command, "commands", {}):
            assert re.search(rf"^  {name} ", text, flags=re.M), f"routeeval {' '.join(path)}: {name} is not listed"


def _command(path: tuple[str, ...]):
    """The command line's command at ``path`` (typer builds it; nothing here imports click)."""
    import typer.main

    from routeeval.cli import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def test_the_readme_field_tables_are_the_loaders_fields():
    """The "Your data" tables are written from routeeval/fields.py, the field list the loaders and [columns] read."""
    readme_fields = load_script("readme_fields.py")
    block = readme_fields.split_readme(README.read_text(encoding="utf-8"))[1]
    assert block == "\n" + readme_fields.field_tables() + "\n", (
        "README.md's field tables are not routeeval/fields.py's; run python scripts/readme_fields.py"
    )
    from routeeval.fields import EVAL_FIELDS, LOG_FIELDS, OUTCOME_FIELDS

    for spec in (*EVAL_FIELDS, *LOG_FIELDS, *OUTCOME_FIELDS):
        assert f"| `{spec.name}` |" in block
