"""mypy for ``make lint``: the typed surfaces stay clean, and the rest of the package only gets cleaner.

Runs mypy once on the package (``[tool.mypy]`` in pyproject.toml), counts its errors per file, and fails when

* a module of the typed public surfaces (``TYPED``: runtime, integrations, summary, selection) has any error, or
* the package's total is above the count recorded in ``mypy-baseline.txt``.

When the total falls below the recorded count it says so, without failing: lower the file to the new count in
the same commit, so that the count only goes down. Counts depend on mypy's version; the file names the one
it was measured with.

Usage: python scripts/mypy_ratchet.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"
TYPED = ("runtime", "integrations", "summary", "selection")  # modules or packages of routeeval
ERROR_LINE = re.compile(r"^(?P<path>[^:\n]+):\d+(?::\d+)?: error: ")


def main() -> int:
    recorded = read_baseline(BASELINE)
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    if run.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        print(run.stdout + run.stderr, end="")
        print(f"mypy: exited with {run.returncode} before checking the package.")
        return 2
    lines = run.stdout.splitlines()
    errors = [(match["path"].replace("\\", "/"), line) for line in lines if (match := ERROR_LINE.match(line))]
    per_file = Counter(path for path, _ in errors)
    typed_errors = [line for path, line in errors if is_typed(path)]
    if typed_errors:
        print("\n".join(typed_errors))
        print(f"mypy: the typed public surfaces ({', '.join(TYPED)}) must have no error; found {len(typed_errors)}.")
        return 1
    total = len(errors)
    if total > recorded:
        for path, count in per_file.most_common():
            print(f"{count:5d}  {path}")
        print(
            f"mypy: {total} errors, above the {recorded} recorded in {BASELINE.name}; "
            "fix the new ones (`.venv/bin/mypy` lists them)."
        )
        return 1
    if total < recorded:
        print(f"mypy: {total} errors, below the {recorded} recorded: lower {BASELINE.name} to {total}.")
    else:
        print(f"mypy: {total} errors, as recorded; none in {', '.join(TYPED)}.")
    return 0


def is_typed(path: str) -> bool:
    """Whether ``path`` (as mypy prints it, relative to the repository) is one of the ``TYPED`` modules."""
    return any(path == f"routeeval/{name}.py" or path.startswith(f"routeeval/{name}/") for name in TYPED)


def read_baseline(path: Path) -> int:
    """The recorded count: the first line of ``path`` that is not blank or a ``#`` comment."""
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            return int(text)
    raise SystemExit(f"{path.name}: no count; write the number of mypy errors on a line of its own.")


if __name__ == "__main__":
    sys.exit(main())
