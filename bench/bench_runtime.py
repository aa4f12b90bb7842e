"""Runtime router speed: one decision on a 300-character query, and loading the policy.

Fits a classifier policy (and, for comparison, knn and static ones) on ~300 rows of the demo eval
set, with correctness drawn from each row's easy/hard label (seeded), then times
``Router.route()`` with ``time.perf_counter_ns`` over many repeats on a 300-character query made
of held-out rows' text (so some of its words are outside the vocabulary), one decision on a 10 MB
query (the same text repeated; routers read its first 8,000 characters), and the policy's load
time from its JSON file. Numbers only, no assertions (STYLE.md: a benchmark is not a timed test).

Then the decisions that matter in production: the demo's own classifier and knn policies (the ones the golden
decisions test pins, tests/data/runtime/) routing each of the demo's 400 log queries ``--passes`` times, median µs
per decision. With ``--baseline DIR`` (a checkout of another revision, e.g. ``git archive main | tar -x -C DIR``)
those are timed in fresh processes, the baseline's and this checkout's interleaved over ``--rounds`` rounds
(PYTHONPATH picks the code), and the median of the rounds' medians is shown for each with their ratio; the
classifier and knn policies fit above are timed that way on the 300-character query too (both checkouts load the
same policy files).

Usage: python bench/bench_runtime.py [--rows 300] [--repeats 20000] [--passes 20] [--baseline DIR] [--rounds 5]
       [--record] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVALSET = ROOT / "evalsets" / "support.jsonl"
LOGS = ROOT / "evalsets" / "support-logs.jsonl"
DEMO_POLICIES = ROOT / "tests" / "data" / "runtime"  # the demo's policies: `routeeval run ... --router knn`
DEMO_KINDS = ("classifier", "knn")
TIERS = ["small", "medium", "large"]
SKILL = {"easy": (0.85, 0.92, 0.95), "hard": (0.25, 0.6, 0.9)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=300, help="rows the policies are fit on")
    parser.add_argument("--repeats", type=int, default=20_000, help="timed route() calls per policy")
    parser.add_argument("--passes", type=int, default=20, help="passes over the demo's log queries per policy")
    parser.add_argument("--baseline", type=Path, help="a checkout of another revision to time side by side")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds with --baseline")
    parser.add_argument("--record", action="store_true", help="append the numbers to bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run (2,000 repeats), not recorded")
    parser.add_argument("--demo-worker", action="store_true", help=argparse.SUPPRESS)  # one timing, as JSON
    parser.add_argument("--worker-policies", type=Path, help=argparse.SUPPRESS)  # the worker's fitted policies
    args = parser.parse_args()
    if args.demo_worker:
        medians = _demo_medians(args.passes)
        timings = {f"{kind}: route() median, demo log queries": medians[kind] for kind in DEMO_KINDS}
        timings.update(_fitted_medians(args.worker_policies, args.repeats))
        print(json.dumps(timings))
        return
    if args.quick:
        args.repeats, args.passes, args.rounds, args.record = min(args.repeats, 2000), 3, 1, False

    from routeeval.policy import build_policy, write_policy
    from routeeval.routers import ClassifierRouter, KnnRouter, StaticRouter
    from routeeval.runtime import Router

    texts, targets, costs, held_out = _data(args.rows)
    query = _query(held_out, 300)
    huge_query = _query(held_out, 10_000_000)
    tiers = [{"name": t, "model": f"demo/{t}", "price_in_per_mtok": None, "price_out_per_mtok": None} for t in TIERS]
    routers = {
        "classifier": (
            ClassifierRouter(tiers=TIERS).fit(texts, targets, cost_usd=costs),
            {"rule": "threshold", "threshold": 0.7},
        ),
        "knn": (KnnRouter(tiers=TIERS).fit(texts, targets, cost_usd=costs), {"rule": "threshold", "threshold": 0.7}),
        "static": (
            StaticRouter(tiers=TIERS, rules=({"tier": "large", "keywords": ["gdpr", "contract"]},)).fit(),
            {"length_cutoff_chars": 200},
        ),
    }
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind, (router, knob) in routers.items():
            path = write_policy(build_policy(router, kind, knob, tiers), Path(folder) / f"{kind}.json")
            load_ms, best_load_ms = (t / 1e6 for t in _median_ns(lambda path=path: Router.load(path), 30, blocks=3))
            runtime = Router.load(path)
            route_us, best_us = (
                t / 1e3 for t in _median_ns(lambda runtime=runtime: runtime.route(query), args.repeats)
            )
            size_kb = path.stat().st_size / 1024
            rows.append(
                (f"{kind}: route() median / best-block median, 300-char query", f"{route_us:.1f} / {best_us:.1f} µs")
            )
            huge_us, best_huge_us = (
                t / 1e3 for t in _median_ns(lambda runtime=runtime: runtime.route(huge_query), 50, blocks=5)
            )
            rows.append(
                (f"{kind}: route() median / best-block median, 10 MB query", f"{huge_us:.1f} / {best_huge_us:.1f} µs")
            )
            rows.append(
                (
                    f"{kind}: Router.load() median / best ({size_kb:.0f} KB policy)",
                    f"{load_ms:.1f} / {best_load_ms:.1f} ms",
                )
            )
        featurizer = routers["classifier"][0].featurizer_
        featurize_us, best_us = (t / 1e3 for t in _median_ns(lambda: featurizer.transform_one(query), args.repeats))
        rows.insert(
            0, ("classifier: transform_one() median / best-block median", f"{featurize_us:.1f} / {best_us:.1f} µs")
        )
        rows.append(("fit rows / query characters", f"{len(texts)} / {len(query)}"))
        rows += _demo_rows(args, Path(folder), query)
    command = "python bench/bench_runtime.py " + " ".join(sys.argv[1:])
    if args.record:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_common import record

        record("runtime router", command.strip(), rows)
    else:
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"{label:<{width}}  {value}")


def _demo_rows(args, folder: Path, query: str) -> list[tuple[str, str]]:
    """Median µs per decision of the demo's policies on its log queries; with a baseline, both side by side, and
    the policies fit above (in ``folder``) on the 300-character ``query`` too."""
    if args.baseline is None:
        medians = _demo_medians(args.passes)
        return [(f"{kind}: route() median, demo log queries", f"{medians[kind]:.1f} µs") for kind in DEMO_KINDS]
    query_file = folder / "query.txt"
    query_file.write_text(query, encoding="utf-8")
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "this": []}
    for _ in range(args.rounds):
        for name, code in (("baseline", args.baseline.resolve()), ("this", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(code)}
            worker = [sys.executable, str(Path(__file__).resolve()), "--demo-worker", "--passes", str(args.passes)]
            worker += ["--worker-policies", str(folder), "--repeats", str(args.repeats)]
            out = subprocess.run(worker, env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
            runs[name].append(json.loads(out))
    rows = []
    for key in runs["this"][0]:
        before = statistics.median(run[key] for run in runs["baseline"])
        after = statistics.median(run[key] for run in runs["this"])
        rows.append(
            (
                f"{key}, baseline → this ({args.rounds} rounds)",
                f"{before:.1f} → {after:.1f} µs ({after / before:.2f}×)",
            )
        )
    return rows


def _demo_medians(passes: int) -> dict[str, float]:
    """Median µs per ``route()`` of each demo policy over ``passes`` passes on the demo's 400 log queries."""
    from routeeval.runtime import Router

    records = [json.loads(line) for line in LOGS.read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [record.get("input", record.get("messages")) for record in records]
    medians = {}
    clock = time.perf_counter_ns
    for kind in DEMO_KINDS:
        route = Router.load(DEMO_POLICIES / f"{kind}-policy.json").route
        for query in queries:  # warm the token cache, as a running service has it
            route(query)
        timings = []
        gc.disable()
        try:
            for _ in range(passes):
                for query in queries:
                    start = clock()
                    route(query)
                    timings.append(clock() - start)
        finally:
            gc.enable()
        medians[kind] = statistics.median(timings) / 1e3
    return medians


def _fitted_medians(folder: Path | None, repeats: int) -> dict[str, float]:
    """Median µs per ``route()`` of each policy fit by the main process (in ``folder``) on its 300-char query."""
    from routeeval.runtime import Router

    if folder is None:
        return {}
    query = (folder / "query.txt").read_text(encoding="utf-8")
    medians = {}
    for kind in ("classifier", "knn"):
        route = Router.load(folder / f"{kind}.json").route
        median_ns = _median_ns(lambda route=route: route(query), repeats)[0]
        medians[f"{kind}: route() median, 300-char query"] = median_ns / 1e3
    return medians


def _data(n_rows: int):
    """Texts of the demo eval set, with per-tier correctness drawn from each row's label (seeded)."""
    rng = random.Random(0)
    records = [json.loads(line) for line in EVALSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts, targets, costs = [], [], []
    for record in records[:n_rows]:
        skills = SKILL.get(record.get("label"), SKILL["hard"])
        texts.append(record["input"])
        targets.append([1.0 if rng.random() < p else 0.0 for p in skills])
        costs.append([0.0002, 0.002, 0.01])
    held_out = [r["input"] for r in records[n_rows:]] or [r["input"] for r in records]
    return texts, targets, costs, held_out


def _query(texts: list, n_chars: int) -> str:
    parts = [t if isinstance(t, str) else t[-1]["content"] for t in texts]
    query = " ".join(parts)
    while len(query) < n_chars:
        query += " " + query
    return query[:n_chars]


def _median_ns(call, repeats: int, blocks: int = 10) -> tuple[float, float]:
    """(median over all calls, lowest median of ``blocks`` equal blocks) in ns; GC off while timing, as timeit does.

    On a shared, noisy machine the overall median moves with the neighbours' load; the best block's
    median is the figure least disturbed by them.
    """
    for _ in range(min(repeats, 500)):
        call()
    timings = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for _ in range(repeats):
            start = clock()
            call()
            timings.append(clock() - start)
    finally:
        gc.enable()
    size = max(1, repeats // blocks)
    best = min(statistics.median(timings[i : i + size]) for i in range(0, repeats, size))
    return statistics.median(timings), best


if __name__ == "__main__":
    main()
