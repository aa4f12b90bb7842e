"""Layering and import hygiene, read from the source with ast (STYLE.md)."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "routeeval"
HEAVY = {"litellm", "pandas", "numpy", "sklearn", "pyarrow", "matplotlib", "rich", "typer"}
# Modules allowed a heavy import at top level (their whole job needs it, and nothing light imports them).
TOP_LEVEL_HEAVY_OK = {
    "stats": {"numpy"},
    "sweep": {"numpy"},
    "frontier": {"numpy"},
    "selection": {"numpy"},
    "optimize": {"numpy"},
    "routers.registry": {"numpy"},  # it builds candidates (sweep needs numpy); only the optimizer imports it
    "profile": {"numpy"},  # per-row arrays of routed traffic; the optimizer and drift import it
    "drift": {"numpy"},
    "drift_replay": {"numpy"},
    "cli": {"typer"},
}
# Who may import whom, by full module name under routeeval ("__init__" is the package itself, "routers" the
# routers package's __init__): a module may import its own layer and earlier ones, never a later one (cli imports
# all). Every module must be placed. ARCHITECTURE.md's table is the target; "summary" and "routers.registry" are
# placed before they exist so that they land where it says.
LAYERS = [
    {"__init__", "runtime"},
    {"testing", "testing.loopback"},  # the loopback server the tests start: standard library only
    {"errors"},
    {"columns", "fields", "files", "intervals"},
    {"config"},
    {"data", "log_formats", "logs"},
    {"labeling", "labeling.labels"},  # the sample and labels files
    {"pricing", "sim"},
    {"scaffold"},  # routeeval init: a routeeval.toml from a LiteLLM proxy config or model ids
    {"cache"},
    {"replay"},
    {"scoring"},
    {"outcomes"},
    {"promptfoo", "inspect_logs"},  # other eval tools' results as outcomes
    {"importers"},
    {"routers.featurize"},  # the routers' offline featurizing: runtime.TextFeaturizer's numbers, once per text
    {
        "routers.base",
        "routers.baselines",
        "routers.cascade",
        "routers.classifier",
        "routers.intent",
        "routers.knn",
        "routers.llm",
        "routers.static",
    },
    {"stats"},
    {"sweep"},
    {"frontier"},
    {"selection"},
    {"routers", "routers.registry"},  # each router's candidates (sweep's types) and export
    {"policy"},
    {"profile"},  # the traffic profile a policy's reference holds and drift measures fresh logs with
    {"integrations", "integrations.litellm"},
    {"integrations.litellm_proxy"},  # the LiteLLM proxy's callback: attaches integrations.litellm's strategy
    {"summary"},
    {"report", "report.formatting", "report.plots", "report.progress"},
    {"report.figures", "report.html", "report.markdown", "report.terminal", "report.drift", "report.dryrun"},
    {"report.write"},
    {"optimize"},
    {"pipeline"},
    {"dryrun"},  # run --dry-run: the pipeline's calls, priced and looked up in the cache, none made
    {"drift_replay"},  # drift's paid layer: the pipeline's paid calls and judge
    {"drift"},
    {"labeling.sample", "labeling.estimate", "labeling.session", "labeling.train"},  # sample, estimate, label, import
    {"cli"},
]


def _module_name(path: Path) -> str:
    """routeeval/report/html.py -> "report.html"; a package's __init__.py is the package: "routers", "__init__"."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


@functools.cache
def _modules() -> tuple[tuple[str, ast.Module], ...]:
    """Every module's name and syntax tree, parsed once for the whole module (read them, never change them)."""
    return tuple(
        (_module_name(path), ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(PACKAGE.rglob("*.py"))
    )


def _layer(module: str) -> int:
    for index, names in enumerate(LAYERS):
        if module in names:
            return index
    raise AssertionError(f"module {module} is not placed in LAYERS")


def _imports(tree, top_level_only: bool):
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def _package_imports(module: str, tree, known: set[str]) -> set[str]:
    """The routeeval modules this one imports anywhere (inside functions too), by full name: ``from routeeval
    import columns`` imports "columns" (and the package, "__init__"); relative imports are resolved."""
    package = module.split(".")[:-1] if module != "__init__" else []
    if module in {name for name in known if any(other.startswith(name + ".") for other in known)}:
        package = module.split(".")  # a package's own __init__: relative imports start inside it
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found.update(_short(name) for name in names if _short(name) is not None)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                absolute = ".".join(["routeeval", *base, *([node.module] if node.module else [])])
            else:
                absolute = node.module or ""
            target = _short(absolute)
            if target is None:
                continue
            found.add(target)
            for alias in node.names:
                child = alias.name if target == "__init__" else f"{target}.{alias.name}"
                if child in known:
                    found.add(child)
    found.discard(module)
    return found


def _short(name: str) -> str | None:
    """ "routeeval.report.html" -> "report.html", "routeeval" -> "__init__"; None outside the package."""
    if name == "routeeval":
        return "__init__"
    if name.startswith("routeeval."):
        return name.removeprefix("routeeval.")
    return None


@functools.cache
def _import_graph() -> dict[str, set[str]]:
    trees = dict(_modules())
    known = set(trees)
    return {module: _package_imports(module, tree, known) & known for module, tree in trees.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each as a sorted list of names."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def test_no_heavy_import_at_module_top_level():
    offenders = []
    for module, tree in _modules():
        allowed = TOP_LEVEL_HEAVY_OK.get(module, set())
        for name in _imports(tree, top_level_only=True):
            root = name.split(".")[0]
            if root in HEAVY and root not in allowed:
                offenders.append(f"{module}: {name}")
    assert offenders == []


def test_every_module_is_placed_in_one_layer():
    placed = [name for names in LAYERS for name in names]
    assert len(placed) == len(set(placed)), "a module is placed in two layers"
    unplaced = sorted(module for module, _ in _modules() if module not in placed)
    assert unplaced == [], f"place these in LAYERS: {unplaced}"


def test_imports_point_down_the_layers():
    offenders = []
    for module, targets in sorted(_import_graph().items()):
        for target in sorted(targets):
            if _layer(target) > _layer(module):
                offenders.append(f"{module} imports {target}")
    assert offenders == []


def test_no_import_cycle_even_inside_packages():
    """No two modules import each other, directly or through others, at top level or inside functions."""
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert _cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    tree = ast.parse("from routeeval import columns as C\nfrom . import html\nimport routeeval.sweep\nimport numpy")
    known = {"__init__", "columns", "sweep", "report", "report.html", "report.write"}
    assert _package_imports("report.write", tree, known) == {"__init__", "columns", "report", "report.html", "sweep"}


def test_the_testing_package_imports_only_the_standard_library():
    """The loopback server runs wherever the tests and benchmarks do, without the package's heavy dependencies."""
    allowed = set(sys.stdlib_module_names) | {"__future__", "aiohttp"}  # ARCHITECTURE.md: testing/ is stdlib, aiohttp
    testing = [(module, tree) for module, tree in _modules() if module.split(".")[0] == "testing"]
    assert {module for module, _ in testing} >= {"testing", "testing.loopback"}
    for module, tree in testing:
        roots = {name.split(".")[0] for name in _imports(tree, top_level_only=False)}
        assert roots <= allowed, f"{module} imports {sorted(roots - allowed)}"


def test_nothing_imports_the_cli_and_no_click():
    for module, tree in _modules():
        names = set(_imports(tree, top_level_only=False))
        assert "click" not in {n.split(".")[0] for n in names}, module
        if module != "cli":
            assert "routeeval.cli" not in names, module


@pytest.mark.slow
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


@pytest.mark.slow
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
