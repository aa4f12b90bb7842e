"""`routeeval optimize` with the default routers (cascade, classifier, knn, llm, static; llm skips itself without
triage rows) at 2,500 / 10,000 / 100,000 queries x 3 tiers: wall time and peak RSS, this checkout against
another one (the code before a change) in the same run.

The tables come from bench_optimize.py's generator (seeded; not timed), with the first, middle and last of its
five tiers. Each size runs ``--repeat`` times, the two checkouts interleaved (A B A B ...), each run a fresh
child (``python -m routeeval.cli`` with the checkout as its working folder, so that checkout's ``routeeval`` is
the one imported; this interpreter and its packages for both). Medians are reported; the machine is shared,
so the load average before each run is printed, and the ratio B / A of one run is the figure to trust. The
chosen policy of the two checkouts is compared too (router, variant, accuracy, cost): it must not change.

Usage: python bench/bench_text_routers.py --baseline DIR [--sizes 2500 10000 100000] [--repeat 3]
                                          [--repeat-largest 1] [--distinct] [--no-record] [--quick]
--distinct: every query a text of its own (an order number in it), as in a sample of production traffic; without
it the generator's ~5,000 texts repeat.
DIR: a checkout of the code to compare with, e.g. ``git archive main | tar -x -C DIR``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_common import record
from bench_optimize import ROOT, time_optimize

N_TIERS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="a checkout of the code before (A); without it, B only")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_500, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each checkout at each size")
    parser.add_argument("--repeat-largest", type=int, default=1, help="runs at the largest size (slow before)")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument(
        "--distinct", action="store_true", help="every query a text of its own (default: ~5,000 texts repeated)"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 queries, once each, not recorded")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat, args.repeat_largest, args.no_record = [2_000], 1, 1, True
    checkouts = {"B (this checkout)": ROOT}
    if args.baseline:
        checkouts = {"A (baseline)": args.baseline.resolve(), **checkouts}

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n_queries in args.sizes:
            path = folder / f"outcomes-{n_queries}.parquet"
            generate = [sys.executable, str(ROOT / "bench" / "bench_optimize.py"), "--generate-only", str(path)]
            generate += ["--queries", str(n_queries), "--tiers", str(N_TIERS)] + ["--distinct"] * args.distinct
            subprocess.run(generate, check=True)
            repeat = args.repeat_largest if n_queries == max(args.sizes) else args.repeat
            runs: dict[str, list[dict]] = {name: [] for name in checkouts}
            for index in range(repeat):
                for name, root in checkouts.items():
                    out = folder / f"run-{n_queries}-{index}-{name[0]}"
                    run = time_optimize(path, out, [], root=root)
                    run["chosen"] = _chosen(out)
                    runs[name].append(run)
                    print(
                        f"{n_queries:,} x {N_TIERS}, {name}: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, "
                        f"{run['peak_mb']:.0f} MB, exit {run['exit']}, load {run['load'][0]:.2f}",
                        flush=True,
                    )
            label = f"{n_queries:,} queries x {N_TIERS} tiers"
            target = " (target ≤ 60 s, ≤ 2,048 MB)" if n_queries == 100_000 else ""
            for name, found in runs.items():
                wall = statistics.median(r["wall_s"] for r in found)
                cpu = statistics.median(r["cpu_s"] for r in found)
                peak = max(r["peak_mb"] for r in found)
                loads = ", ".join(f"{r['load'][0]:.1f}" for r in found)
                rows.append(
                    (
                        f"{label}, {name}: median wall s / CPU s, max peak RSS MB ({len(found)} runs)",
                        f"{wall:.1f} / {cpu:.1f} / {peak:.0f}{target}; 1-min load before: {loads}",
                    )
                )
            if len(runs) == 2:
                a, b = runs.values()
                ratio = statistics.median(y["wall_s"] / x["wall_s"] for x, y in zip(a, b, strict=True))
                cpu_ratio = statistics.median(y["cpu_s"] / x["cpu_s"] for x, y in zip(a, b, strict=True))
                same = all(r["chosen"] == a[0]["chosen"] for r in a + b)
                rows.append((f"{label}: B / A wall, CPU (median of paired runs)", f"{ratio:.2f}, {cpu_ratio:.2f}"))
                rows.append((f"{label}: same chosen policy in every run", f"{same} ({a[0]['chosen']})"))
            else:
                rows.append((f"{label}: chosen", runs["B (this checkout)"][0]["chosen"]))
    command = f"python bench/bench_text_routers.py {' '.join(sys.argv[1:])}".rstrip()
    notes = [
        "Timed: `routeeval optimize outcomes.parquet --out DIR --allow-metadata-routers` (every default router) in a "
        "fresh child per run, wall, user+system CPU and peak RSS from os.wait4; tables from bench_optimize.py's "
        "generator, --tiers 3 (5,000 input templates, so about 5,000 distinct texts"
        + (", each query's made its own by an order number: every text distinct)." if args.distinct else ").")
    ]
    record("optimize: text routers, before / after", command, rows, save=not args.no_record, notes=notes)


def _chosen(out: Path) -> str:
    import json

    chosen = json.loads((out / "summary.json").read_text())["chosen"]
    return (
        f"{chosen['router']}/{chosen['variant']}, accuracy {chosen['accuracy']:.4f}, ${chosen['cost_per_1k_usd']:.4g}"
    )


if __name__ == "__main__":
    main()
