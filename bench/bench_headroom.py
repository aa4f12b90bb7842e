"""Headroom for issue 4's RouterBench target ("mixed workload: at least 50% cheaper than GPT-4 at <= 1 point").

How much could a router save that knows each query's *task* (arc-challenge, winogrande, mbpp) and nothing
else about it? The best such policy is a mix of models per task: a linear programme over the share of each
task's queries sent to each model, minimising the mean cost per query subject to mean accuracy >= GPT-4's
minus ``max_drop``. It is solved on RouterDC's train split (where routeeval selects) and the same shares are
then applied to the test split's per-task means (a randomised policy's expected test figures). The oracle
(the cheapest correct model per query, or the cheapest model when none is correct) is shown for reference.

A text router can beat the task-level mix only with per-query signal beyond the task; the bench's chosen
policies are compared with this bound in bench/RESULTS.md.

Usage: python bench/bench_headroom.py [--quick] [--data ../shared/data] [--no-record]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from bench_common import record

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
GPT4 = "gpt-4-1106-preview"
MAX_DROPS = (0.0, 0.01, 0.02)


def task_means(frame, split: str):
    """(tasks, models, accuracy[t, m], cost per query[t, m], queries per task) on one split."""
    from routeeval import columns as C

    part = frame[frame[C.SPLIT] == split]
    accuracy = part.pivot_table(index=C.INTENT, columns=C.TIER, values=C.SCORE, aggfunc="mean")
    cost = part.pivot_table(index=C.INTENT, columns=C.TIER, values=C.COST_USD, aggfunc="mean")
    counts = part.groupby(C.INTENT)[C.ROW_ID].nunique()
    models = sorted(accuracy.columns, key=lambda m: cost[m].mean())
    tasks = list(accuracy.index)
    return tasks, models, accuracy.loc[tasks, models].to_numpy(), cost.loc[tasks, models].to_numpy(), counts[tasks]


def best_task_mix(accuracy, cost, weights, floor: float):
    """Shares x[t, m] (each task's row sums to 1) minimising the weighted mean cost with weighted mean
    accuracy >= ``floor``; None when no mix reaches it."""
    from scipy.optimize import linprog

    n_tasks, n_models = accuracy.shape
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    objective = (w[:, None] * cost).ravel()
    accuracy_row = -(w[:, None] * accuracy).ravel()
    sums = np.kron(np.eye(n_tasks), np.ones(n_models))
    solved = linprog(
        objective, A_ub=[accuracy_row], b_ub=[-floor], A_eq=sums, b_eq=np.ones(n_tasks), bounds=(0, 1), method="highs"
    )
    return solved.x.reshape(n_tasks, n_models) if solved.success else None


def oracle(frame, split: str) -> tuple[float, float]:
    """(accuracy, mean cost per query) of the cheapest correct model per query (the cheapest model if none)."""
    from routeeval import columns as C
    from routeeval.outcomes import pivot_outcomes
    from routeeval.routers import oracle_choice

    part = frame[frame[C.SPLIT] == split]
    data = pivot_outcomes(part)
    choice = oracle_choice(data.correct(), data.cost_usd)
    rows = np.arange(data.n_rows)
    return float(np.nanmean(data.score[rows, choice])), float(np.nanmean(data.cost_usd[rows, choice]))


def describe(shares, tasks, models) -> str:
    parts = []
    for t, task in enumerate(tasks):
        picks = [f"{models[m]} {shares[t, m]:.0%}" for m in np.argsort(-shares[t]) if shares[t, m] > 0.005]
        parts.append(f"{task}: " + ", ".join(picks))
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the same run (it takes about a second); not recorded")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data folder")
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from routeeval.importers import import_routerbench

    frame, _ = import_routerbench(Path(args.data) / "routerbench-subset")
    tasks, models, accuracy, cost, counts = task_means(frame, "train")
    test_tasks, test_models, test_accuracy, test_cost, test_counts = task_means(frame, "test")
    assert (tasks, models) == (test_tasks, test_models), "train and test name the same tasks and models"
    w, w_test = counts.to_numpy() / counts.sum(), test_counts.to_numpy() / test_counts.sum()
    g = models.index(GPT4)
    base = (w @ accuracy[:, g], w @ cost[:, g])
    base_test = (w_test @ test_accuracy[:, g], w_test @ test_cost[:, g])
    rows = [
        ("GPT-4 alone", "—", f"{base[0]:.4f}", "100%", f"{base_test[0]:.4f}", "100%", "gpt-4-1106-preview 100%"),
    ]
    for max_drop in MAX_DROPS:
        shares = best_task_mix(accuracy, cost, w, base[0] - max_drop)
        train_acc, train_cost = w @ (shares * accuracy).sum(axis=1), w @ (shares * cost).sum(axis=1)
        test_acc = w_test @ (shares * test_accuracy).sum(axis=1)
        test_cost_ = w_test @ (shares * test_cost).sum(axis=1)
        rows.append(
            (
                "best mix of models per task",
                f"{max_drop:g}",
                f"{train_acc:.4f}",
                f"{train_cost / base[1]:.1%}",
                f"{test_acc:.4f} (drop {base_test[0] - test_acc:+.4f})",
                f"{test_cost_ / base_test[1]:.1%}",
                describe(shares, tasks, models),
            )
        )
    train_oracle, test_oracle = oracle(frame, "train"), oracle(frame, "test")
    rows.append(
        (
            "oracle (cheapest correct model per query), reference",
            "—",
            f"{train_oracle[0]:.4f}",
            f"{train_oracle[1] / base[1]:.1%}",
            f"{test_oracle[0]:.4f}",
            f"{test_oracle[1] / base_test[1]:.1%}",
            "knows every answer",
        )
    )
    within = []
    for t, task in enumerate(tasks):
        close = [models[m] for m in range(len(models)) if m != g and accuracy[t, m] >= accuracy[t, g] - 0.01]
        cheaper = [name for name in close if cost[t, models.index(name)] < cost[t, g]]
        within.append(f"{task}: {', '.join(cheaper) or 'none'}")
    notes = [
        f"RouterBench subset, RouterDC's split; {int(counts.sum())} train / {int(test_counts.sum())} test queries; "
        "cost = mean dollars per query; shares solved on train by a linear programme (scipy linprog, HiGHS), then "
        "applied to the test split's per-task means.",
        "Cheaper single models within 1 point of GPT-4 on train, per task: " + "; ".join(within) + ".",
        "Reading: a router that knows only the task cannot save more than the 'best mix' rows; the target of >= 50% "
        "at <= 1 point needs per-query signal the oracle has and the task does not.",
    ]
    header = (
        "policy",
        "max_drop",
        "train accuracy",
        "train cost vs GPT-4",
        "test accuracy",
        "test cost vs GPT-4",
        "shares per task",
    )
    command = "python bench/bench_headroom.py" + (" --quick" if args.quick else "")
    record(
        "headroom: RouterBench mixed, the best task-level policy",
        command,
        rows,
        save=not (args.quick or args.no_record),
        header=header,
        notes=notes,
    )


if __name__ == "__main__":
    main()
