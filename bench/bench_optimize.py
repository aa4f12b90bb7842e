"""`routeeval optimize` on a large generated outcomes table: wall time and peak memory of the command.

Generates (seeded numpy, vectorised; not timed) an outcomes Parquet in the contract's long format:
``--queries`` rows x 5 tiers, cheapest first ($0.00002 ... $0.005 per call). Each query draws one of
~5,000 input templates (so Parquet dictionary-encodes the ``input`` column); its difficulty comes
from the template plus noise, and each tier answers correctly with probability
``sigmoid(slope * (skill - difficulty))``. About 0.5% of calls fail (null score). ``logprob_mean``
is higher for correct answers, so the cascade reads its confidence from it. Responses come from a
small set of answer texts.

Then runs ``routeeval optimize FILE --out DIR --router ...`` as a subprocess (``sys.executable -m
routeeval.cli``) and reports its wall time, CPU time and peak RSS (the child's own ``os.wait4``
usage), at ``--queries`` and at ``--small-queries`` for the ratio. CPU time is the steadier figure
on a shared machine; the load average before each run says how shared it was. Numbers only, no
assertions (STYLE.md).

Usage: python bench/bench_optimize.py [--queries 1000000] [--small-queries 100000]
                                      [--router static --router cascade] [--keep DIR] [--no-record] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import record

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("nano", "mini", "small", "medium", "large")
COST_PER_CALL_USD = (0.00002, 0.0001, 0.0004, 0.0015, 0.005)
SKILL = (-0.6, 0.0, 0.5, 1.1, 1.8)
LATENCY_MS = (180.0, 300.0, 550.0, 900.0, 1600.0)
N_TEMPLATES = 5000
N_INTENTS = 24
VOCABULARY_TEXT = """
account billing refund invoice password reset login order shipping delivery address card payment
subscription plan upgrade downgrade cancel renew charge tax receipt export report data privacy gdpr
contract warranty return exchange damaged missing late tracking courier store pickup coupon
discount price error crash update install android iphone browser email notification settings
profile language region currency transfer bank wire limit fraud dispute chargeback statement
"""
OPENERS = ("how do i", "why is my", "can you help with", "what happens to my", "i need to change my", "where is my")


def generate_outcomes(
    path: Path, n_queries: int, seed: int = 0, n_tiers: int = len(TIERS), distinct: bool = False
) -> int:
    """Write the synthetic outcomes Parquet for ``n_queries`` x ``n_tiers`` tiers (the first, middle and last
    of the five for 3); returns the number of long rows. ``distinct``: each query's text ends with its own order
    number ("... order 0001234?"), so that no two queries share a text, as in a sample of production traffic."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    picks = np.linspace(0, len(TIERS) - 1, n_tiers).round().astype(int)  # 3: nano, small, large
    tier_names = [TIERS[i] for i in picks]
    vocabulary = VOCABULARY_TEXT.split()

    # ~5,000 templates from a small vocabulary (a loop over templates, not rows).
    lengths = rng.integers(4, 40, N_TEMPLATES)
    words = rng.integers(0, len(vocabulary), lengths.sum())
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    openers = rng.integers(0, len(OPENERS), N_TEMPLATES)
    templates = [
        f"{OPENERS[o]} {' '.join(vocabulary[w] for w in words[s : s + n])}?"
        for o, s, n in zip(openers, starts, lengths, strict=True)
    ]
    # Longer questions are harder on average; each template has its own difficulty.
    template_difficulty = rng.normal(0.0, 0.9, N_TEMPLATES) + 0.03 * (lengths - lengths.mean())
    template_intent = rng.integers(0, N_INTENTS, N_TEMPLATES)

    template = rng.integers(0, N_TEMPLATES, n_queries)
    difficulty = template_difficulty[template] + rng.normal(0.0, 0.4, n_queries)
    prompt_tokens = (lengths[template] * 1.3 + 40).astype(np.int64)

    # Long format: each query's 5 tiers in a row, cheapest first.
    query = np.repeat(np.arange(n_queries), n_tiers)
    tier = np.tile(np.arange(n_tiers), n_queries)
    n_rows = query.size
    skill = np.asarray(SKILL)[picks][tier]
    p_correct = 1.0 / (1.0 + np.exp(-2.5 * (skill - difficulty[query])))
    correct = rng.random(n_rows) < p_correct
    failed = rng.random(n_rows) < 0.005
    completion_tokens = rng.integers(20, 400, n_rows)
    tokens = prompt_tokens[query] + completion_tokens
    cost = np.asarray(COST_PER_CALL_USD)[picks][tier] * tokens / 250.0
    latency = np.asarray(LATENCY_MS)[picks][tier] * rng.lognormal(0.0, 0.35, n_rows)
    logprob = np.where(correct, -rng.uniform(0.01, 0.45, n_rows), -rng.uniform(0.15, 1.6, n_rows))

    answers = [f"Answer {i}: please see the {vocabulary[i % len(vocabulary)]} page." for i in range(500)]
    wrong = ["I am not sure.", "Please contact support.", "Unclear request, sorry."]
    response_index = np.where(
        correct, rng.integers(0, len(answers), n_rows), len(answers) + rng.integers(0, len(wrong), n_rows)
    )

    def nullable(values, mask):
        return pa.array(values, mask=mask)

    null_string = pa.scalar(None, pa.string())
    row_ids = pc.binary_join_element_wise(
        "q", pc.utf8_lpad(pc.cast(pa.array(np.arange(n_queries)), pa.string()), 7, "0"), ""
    )
    strings = pa.array(templates)
    table = pa.table(
        {
            "row_id": row_ids.take(pa.array(query)),
            "tier": pa.array(tier_names).take(pa.array(tier)),
            "response": pc.if_else(failed, null_string, pa.array(answers + wrong).take(pa.array(response_index))),
            "score": nullable(correct.astype(float), failed),
            "cost_usd": nullable(cost, failed),
            "latency_ms": nullable(latency, failed),
            "prompt_tokens": pa.array(prompt_tokens[query]),
            "completion_tokens": nullable(completion_tokens, failed),
            "error": pc.if_else(failed, pa.scalar("timeout"), null_string),
            "cached": pa.array(np.zeros(n_rows, dtype=bool)),
            "input": _distinct_inputs(strings.take(pa.array(template[query])), row_ids.take(pa.array(query)))
            if distinct
            else strings.take(pa.array(template[query])),
            "intent": pa.array([f"intent-{i:02d}" for i in range(N_INTENTS)]).take(
                pa.array(template_intent[template][query])
            ),
            "label": pa.array(["easy", "hard"]).take(pa.array((difficulty[query] > 0.5).astype(np.int64))),
            "source": pa.array(["eval"]).take(pa.array(np.zeros(n_rows, dtype=np.int64))),
            "scorer": pa.array(["exact"]).take(pa.array(np.zeros(n_rows, dtype=np.int64))),
            "logprob_mean": nullable(logprob, failed),
        }
    )
    metadata = {
        b"routeeval.dataset": b"bench-synthetic",
        b"routeeval.tiers": json.dumps(tier_names).encode(),
        b"routeeval.queries": str(n_queries).encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    pq.write_table(table, path)
    return n_rows


def time_optimize(outcomes: Path, out_dir: Path, routers: list[str], root: Path = ROOT) -> dict:
    """Wall s, CPU s (user + system), peak RSS MB and exit code of `routeeval optimize` in a fresh child.

    ``os.wait4`` gives this child's own resource usage, so runs in one bench process do not mix (and the bench
    process stays small: Linux counts the parent's size at fork in a child's peak RSS). ``root``: the checkout
    whose ``routeeval`` runs (the child's working folder, first on its path); no ``routers``: the default ones.
    """
    # --allow-metadata-routers: the table has no log rows, and static/intent is part of the work measured
    command = [
        sys.executable,
        "-m",
        "routeeval.cli",
        "optimize",
        str(outcomes),
        "--out",
        str(out_dir),
        "--allow-metadata-routers",
    ]
    for router in routers:
        command += ["--router", router]
    load = os.getloadavg()
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=root, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode not in (0, 1):  # 1: the check found no cheaper policy, still a full run
            output.seek(0)
            print(output.read().decode(errors="replace")[-4000:], file=sys.stderr)
            raise SystemExit(f"routeeval optimize exited {child.returncode}")
    return {
        "wall_s": wall_s,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "exit": child.returncode,
        "load": load,  # 1, 5 and 15 minute load averages when the run started
    }


def _distinct_inputs(inputs, row_ids):
    """Each template's text with the query's own order number before its question mark: "... order 0001234?"."""
    import pyarrow as pa
    import pyarrow.compute as pc

    head = pc.utf8_slice_codeunits(inputs, 0, -1)  # the template without its "?"
    return pc.binary_join_element_wise(
        head, pa.scalar(" order "), pc.utf8_slice_codeunits(row_ids, 1), pa.scalar("?"), ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--small-queries", type=int, default=100_000, help="a second, smaller table for the ratio")
    parser.add_argument("--router", action="append", help="routers to run (default: static and cascade)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the generated tables and run folders here")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to bench/RESULTS.md")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke-sized run (20,000 and 2,000 queries), not recorded"
    )
    parser.add_argument("--generate-only", type=Path, metavar="PATH", help="write the --queries table; no timing")
    parser.add_argument("--tiers", type=int, default=len(TIERS), help="tiers in a --generate-only table (2 to 5)")
    parser.add_argument("--distinct", action="store_true", help="a --generate-only table of distinct query texts")
    args = parser.parse_args()
    if args.generate_only:
        n_rows = generate_outcomes(
            args.generate_only, args.queries, seed=args.seed, n_tiers=args.tiers, distinct=args.distinct
        )
        print(f"generated {n_rows:,} rows ({args.generate_only.stat().st_size / 1e6:.0f} MB; not timed)")
        return
    if args.quick:
        args.queries, args.small_queries, args.no_record = 20_000, 2_000, True
    routers = args.router or ["static", "cascade"]

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n_queries in sorted({args.queries, args.small_queries}, reverse=True):
            path = folder / f"outcomes-{n_queries}.parquet"
            # Generated in a child of its own: a child forked from a big process reports that size as its peak.
            generate = [sys.executable, __file__, "--generate-only", str(path), "--queries", str(n_queries)]
            subprocess.run([*generate, "--seed", str(args.seed)], check=True)
            run = time_optimize(path, folder / f"run-{n_queries}", routers)
            run["rows"] = n_queries * len(TIERS)
            run["chosen"] = json.loads((folder / f"run-{n_queries}" / "summary.json").read_text())["chosen"]
            results[n_queries] = run
            print(
                f"{n_queries:,} queries: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, "
                f"peak RSS {run['peak_mb']:.0f} MB, exit {run['exit']} (load average before: {_load(run)})"
            )

    rows = []
    for n_queries, run in results.items():
        label = f"{n_queries:,} queries x {len(TIERS)} tiers ({run['rows']:,} rows)"
        target = " (target ≤ 20 s, ≤ 3,072 MB)" if n_queries == 1_000_000 else ""
        rows.append(
            (
                f"{label}: wall s / CPU s / peak RSS MB",
                f"{run['wall_s']:.1f} / {run['cpu_s']:.1f} / {run['peak_mb']:.0f}{target}; load average {_load(run)}",
            )
        )
        chosen = run["chosen"]
        rows.append(
            (
                f"{label}: chosen",
                f"{chosen['router']}/{chosen['variant']}, accuracy {chosen['accuracy']:.4f}, "
                f"${chosen['cost_per_1k_usd']:.4g} per 1k, exit {run['exit']}",
            )
        )
    if len(results) == 2:
        big, small = sorted(results, reverse=True)
        ratio = results[big]["wall_s"] / results[small]["wall_s"]
        rows.append((f"wall time {big:,} / {small:,} queries", f"{ratio:.1f}x for {big / small:.0f}x the rows"))
    flags = " ".join(f"--router {r}" for r in routers)
    command = f"python bench/bench_optimize.py {' '.join(sys.argv[1:])}".rstrip()
    command += f"`, timing `routeeval optimize outcomes.parquet --out DIR --allow-metadata-routers {flags}"
    record("optimize", command, rows, save=not args.no_record)


def _load(run: dict) -> str:
    return " / ".join(f"{value:.2f}" for value in run["load"])


if __name__ == "__main__":
    main()
