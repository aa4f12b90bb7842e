"""Layering and import hygiene, read from the source with ast (STYLE.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "routeeval"
HEAVY = {"litellm", "pandas", "numpy", "sklearn", "pyarrow", "matplotlib", "rich", "typer"}
# Modules allowed a heavy import at top level (their whole job needs it, and nothing light imports them).
TOP_LEVEL_HEAVY_OK = {"stats": {"numpy"}, "sweep": {"numpy"}, "optimize": {"numpy"}, "cli": {"typer"}}
# Who may import whom: a module may not import one listed later in this order (cli imports all).
LAYERS = [
    {"errors", "columns", "files", "__init__"},
    {"runtime"},
    {"config"},
    {"data"},
    {"logs"},
    {"pricing", "sim", "loopback"},
    {"cache"},
    {"replay"},
    {"scoring"},
    {"outcomes"},
    {"importers"},
    {"stats"},
    {"sweep"},
    {"routers"},
    {"policy"},
    {"summary"},
    {"integrations"},
    {"pipeline", "optimize", "progress", "report"},
    {"cli"},
]


def _modules():
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).with_suffix("").parts
        yield ".".join(name), ast.parse(path.read_text(encoding="utf-8"))


def _layer(module: str) -> int:
    head = module.split(".")[0]
    for index, names in enumerate(LAYERS):
        if head in names:
            return index
    raise AssertionError(f"module {module} is not placed in LAYERS")


def _imports(tree, top_level_only: bool):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_no_heavy_import_at_module_top_level():
    offenders = []
    for module, tree in _modules():
        allowed = TOP_LEVEL_HEAVY_OK.get(module, set())
        for name in _imports(tree, top_level_only=True):
            root = name.split(".")[0]
            if root in HEAVY and root not in allowed:
                offenders.append(f"{module}: {name}")
    assert offenders == []


def test_imports_point_down_the_layers():
    offenders = []
    for module, tree in _modules():
        for name in _imports(tree, top_level_only=False):
            if name.startswith("routeeval.") and name != "routeeval":
                target = name.removeprefix("routeeval.")
                if _layer(target) > _layer(module):
                    offenders.append(f"{module} imports {target}")
    assert offenders == []


def test_nothing_imports_the_cli_and_no_click():
    for module, tree in _modules():
        names = set(_imports(tree, top_level_only=False))
        assert "click" not in {n.split(".")[0] for n in names}, module
        if module != "cli":
            assert "routeeval.cli" not in names, module


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from routeeval.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in ('litellm', 'pandas', 'sklearn', 'pyarrow', 'numpy', 'matplotlib')"
        " if m in sys.modules)\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out


def test_importing_modules_changes_no_environment():
    code = (
        "import os, importlib, pkgutil, routeeval\n"
        "before = dict(os.environ)\n"
        "for m in pkgutil.walk_packages(routeeval.__path__, 'routeeval.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('SAME' if dict(os.environ) == before else 'CHANGED')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "SAME"
