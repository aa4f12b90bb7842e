"""Run every benchmark in bench/ in turn: `make bench`.

Runs bench_replay.py, bench_runtime.py --record and bench_optimize.py, then any other
bench/bench_*.py (each appends its numbers to bench/RESULTS.md). ``--quick`` passes ``--quick`` to
each instead: a smoke-sized run that records nothing. Every bench script accepts ``--quick``.

Usage: python bench/run_all.py [--quick] [NAME ...]   (NAME: e.g. optimize, to run bench_optimize.py only)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
FIRST = ("bench_replay.py", "bench_runtime.py", "bench_optimize.py")
FULL_RUN_ARGS = {"bench_runtime.py": ["--record"]}  # it prints only, unless asked to record


def bench_scripts() -> list[Path]:
    """The known scripts in their usual order, then any others, by name."""
    found = {path.name: path for path in BENCH.glob("bench_*.py") if path.name != "bench_common.py"}
    return [found[name] for name in FIRST if name in found] + [found[n] for n in sorted(found) if n not in FIRST]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke-sized runs; nothing is recorded")
    parser.add_argument("names", nargs="*", help="run only these (replay, runtime, optimize, ...)")
    args = parser.parse_args()
    scripts = bench_scripts()
    if args.names:
        wanted = {f"bench_{name.removeprefix('bench_').removesuffix('.py')}.py" for name in args.names}
        unknown = wanted - {script.name for script in scripts}
        if unknown:
            known = ", ".join(s.name.removeprefix("bench_").removesuffix(".py") for s in scripts)
            parser.error(f"unknown benchmark {', '.join(sorted(unknown))}; choose from: {known}")
        scripts = [script for script in scripts if script.name in wanted]
    failed = []
    for script in scripts:
        extra = ["--quick"] if args.quick else FULL_RUN_ARGS.get(script.name, [])
        print(f"== {script.name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script), *extra], cwd=BENCH.parent).returncode
        print(f"== {script.name}: exit {code} after {time.perf_counter() - started:.0f} s\n", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
