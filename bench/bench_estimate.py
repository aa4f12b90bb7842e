"""`routeeval estimate` (issue 14): does the 95% interval on the easy share cover the true share?

For each scenario a population of queries is drawn once (seeded): strata (intents) of unequal sizes, each with its
own easy share, every query easy or hard. The true easy share is that population's. Then 1,000 samples are drawn
from it without replacement, as ``routeeval sample`` would: simple random (``stratify: none``), or stratified by
intent with the allocation the scenario names, each stratum's population recorded in the header. A perfect
labeler labels every sampled row (skipping 5% at random where the scenario says so), and the sample file and the
labels file go through ``routeeval.labeling.estimate.estimate_labels`` itself (no config: the share only). The
table gives how often the reported interval covers the true share (target: at least 93%), the mean width, and
for stratified samples how often the unweighted share's Wilson interval would have: what reweighting buys.

Numbers only, no assertions (STYLE.md). ``--quick``: 100 samples per scenario, nothing recorded.

Usage: python bench/bench_estimate.py [--samples 1000] [--seed 0] [--no-record] [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_common import record

from routeeval.labeling.estimate import estimate_labels
from routeeval.labeling.labels import SAMPLE_SCHEMA


@dataclass(frozen=True)
class Scenario:
    name: str
    populations: tuple[int, ...]  # queries per stratum
    easy_shares: tuple[float, ...]  # each stratum's easy share
    allocation: tuple[int, ...] | None  # rows sampled per stratum; None: a simple random sample of n_rows
    n_rows: int = 200
    skip_share: float = 0.0


SCENARIOS = (
    Scenario("simple random, 200 of 20,000", (9000, 6000, 3000, 2000), (0.9, 0.75, 0.6, 0.45), None),
    Scenario("simple random, 200, easy share near 0.95", (15000, 5000), (0.98, 0.85), None),
    Scenario("stratified, proportional", (9000, 6000, 3000, 2000), (0.9, 0.75, 0.6, 0.45), (90, 60, 30, 20)),
    Scenario("stratified, equal allocation", (12000, 5000, 2000, 1000), (0.9, 0.7, 0.4, 0.15), (50, 50, 50, 50)),
    Scenario(
        "stratified, small strata oversampled, 5% skipped",
        (16000, 2500, 1000, 500),
        (0.85, 0.3, 0.95, 0.1),
        (80, 60, 40, 20),
        skip_share=0.05,
    ),
    Scenario(
        "stratified, extreme shares, small strata",
        (10000, 6000, 3000, 1000),
        (0.97, 0.5, 0.03, 0.99),
        (110, 50, 30, 10),
    ),
)


def make_population(scenario: Scenario, rng) -> tuple[list[np.ndarray], float]:
    """Per stratum, its queries' easy flags (exactly round(share x size) easy, shuffled); the true easy share."""
    strata = []
    for size, share in zip(scenario.populations, scenario.easy_shares, strict=True):
        flags = np.zeros(size, dtype=bool)
        flags[: round(share * size)] = True
        rng.shuffle(flags)
        strata.append(flags)
    total = sum(scenario.populations)
    return strata, float(sum(flags.sum() for flags in strata)) / total


def draw_sample(scenario: Scenario, strata: list[np.ndarray], rng) -> list[tuple[str, bool]]:
    """(stratum name, easy?) per sampled row, drawn without replacement."""
    names = [f"intent{h}" for h in range(len(strata))]
    if scenario.allocation is None:
        labels = np.concatenate([np.full(len(flags), h) for h, flags in enumerate(strata)])
        flags = np.concatenate(strata)
        picks = rng.choice(len(flags), size=scenario.n_rows, replace=False)
        return [(names[labels[i]], bool(flags[i])) for i in picks]
    rows = []
    for h, (flags, n_h) in enumerate(zip(strata, scenario.allocation, strict=True)):
        picks = rng.choice(len(flags), size=n_h, replace=False)
        rows += [(names[h], bool(flags[i])) for i in picks]
    return rows


def write_files(folder: Path, scenario: Scenario, rows: list[tuple[str, bool]], rng) -> tuple[Path, Path]:
    stratified = scenario.allocation is not None
    sampled: dict[str, int] = {}
    for name, _ in rows:
        sampled[name] = sampled.get(name, 0) + 1
    header = {
        "routeeval_sample": SAMPLE_SCHEMA,
        "seed": 0,
        "n": len(rows),
        "stratify": "intent" if stratified else "none",
        "strata": {
            f"intent{h}": {"population": size, "sampled": sampled.get(f"intent{h}", 0)}
            for h, size in enumerate(scenario.populations)
        },
    }
    sample = folder / "sample.jsonl"
    labels = folder / "labels.jsonl"
    lines = [json.dumps(header)]
    lines += [
        json.dumps({"id": f"q{i}", "input": f"query {i}", "intent": name, "stratum": name})
        for i, (name, _) in enumerate(rows)
    ]
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    skips = rng.random(len(rows)) < scenario.skip_share
    events = [
        json.dumps(
            {
                "id": f"q{i}",
                "label": "skip" if skips[i] else ("easy" if easy else "hard"),
                "labeler": "bench",
                "at": "2026-12-01T00:00:00Z",
                "seconds": 5.0,
                "assist": None,
            }
        )
        for i, (_, easy) in enumerate(rows)
    ]
    labels.write_text("\n".join(events) + "\n", encoding="utf-8")
    return sample, labels


def run_scenario(scenario: Scenario, samples: int, seed: int, folder: Path) -> dict:
    rng = np.random.default_rng(seed)
    strata, truth = make_population(scenario, rng)
    covered = naive_covered = 0
    widths = []
    started = time.perf_counter()
    for _ in range(samples):
        rows = draw_sample(scenario, strata, rng)
        sample, labels = write_files(folder, scenario, rows, rng)
        share = estimate_labels([labels], sample_path=sample)["easy_share"]
        low, high = share["ci"]
        covered += low <= truth <= high
        widths.append(high - low)
        naive = share["unweighted"] or share
        naive_covered += naive["ci"][0] <= truth <= naive["ci"][1]
    return {
        "truth": truth,
        "coverage": covered / samples,
        "width": float(np.mean(widths)),
        "naive_coverage": naive_covered / samples if scenario.allocation is not None else None,
        "method": share["method"],
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000, help="simulated samples per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="100 samples per scenario; nothing recorded")
    args = parser.parse_args()
    samples = 100 if args.quick else args.samples
    rows = []
    lowest = 1.0
    with tempfile.TemporaryDirectory(prefix="bench-estimate-") as scratch:
        for index, scenario in enumerate(SCENARIOS):
            result = run_scenario(scenario, samples, args.seed + index, Path(scratch))
            lowest = min(lowest, result["coverage"])
            allocation = "simple random" if scenario.allocation is None else "/".join(map(str, scenario.allocation))
            naive = "—" if result["naive_coverage"] is None else f"{result['naive_coverage']:.1%}"
            rows.append(
                (
                    scenario.name,
                    "/".join(f"{p:,}" for p in scenario.populations),
                    "/".join(f"{s:.2f}" for s in scenario.easy_shares),
                    allocation,
                    f"{result['truth']:.4f}",
                    f"{result['coverage']:.1%}",
                    f"{result['width'] * 100:.1f} pt",
                    naive,
                    f"{result['seconds']:.1f}",
                )
            )
            print(f"{scenario.name}: coverage {result['coverage']:.1%} ({result['method']})", flush=True)
    command = "python bench/bench_estimate.py" + (f" --samples {args.samples}" if args.samples != 1000 else "")
    command += " --quick" if args.quick else ""
    record(
        "estimate: coverage of the easy share's 95% interval",
        command,
        rows,
        save=not (args.quick or args.no_record),
        header=(
            "scenario",
            "stratum populations",
            "stratum easy shares",
            "rows sampled per stratum",
            "true easy share",
            f"coverage of {samples:,} samples",
            "mean width",
            "unweighted Wilson coverage",
            "s",
        ),
        notes=[
            f"Lowest coverage: {lowest:.1%} (target ≥ 93%). Simple random samples: Wilson; stratified: the "
            "post-stratified share with a Wilson interval at the effective sample size (routeeval/labeling/"
            "estimate.py). Each sample goes through estimate_labels (sample and labels files written, read and "
            "estimated); the population is drawn once per scenario and sampled without replacement.",
        ],
    )


if __name__ == "__main__":
    main()
