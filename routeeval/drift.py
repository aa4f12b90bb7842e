"""``routeeval drift``: is a deployed policy still as safe, and still saving, what it promised on fresh logs?

Checks, cheapest first, each ok / warn / fail with its statistic, threshold and interval:

1. free (no model calls): the fresh log rows routed through ``runtime.Router`` exactly as production routes them,
   measured with the same functions as the policy's ``reference`` profile (:mod:`routeeval.profile`) and compared:
   tier shares, the routing score's distribution, the intent mix, input length, vocabulary coverage, a domain
   classifier (old queries vs new, when reference inputs are given) and, when the logs say which model answered,
   production's tiers against the policy's;
2. cost: the policy's cost per 1,000 queries on the fresh rows at today's prices against its promise, each tier's
   price then and now, and a monthly projection against ``[drift] max_monthly_usd``;
3. outcomes (paid, within ``--max-cost``): a sample of rows the policy sends below the baseline tier replayed on
   their tier and on the baseline through the replay engine (same cache, retries, budget), scored with the
   configured scorer against gold when rows carry a ``reference``, else as agreement with the baseline's answer;
   the accuracy drop on fresh traffic, weighted back to the population, against ``max_drop`` and the certified
   bound.

The verdict is the worst status; thresholds are set so that a stationary month passes (bench/bench_drift.py
measures the false-alarm rate). A month of logs that does not fit in memory is read in batches and sampled down to
``[drift] max_rows`` rows, so the free layer's memory is bounded whatever the logs' size.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from routeeval import __version__
from routeeval.config import Config, column_map, load_config, with_options
from routeeval.errors import ConfigError, DataError, PolicyError, ProviderError
from routeeval.files import make_folder, write_text_atomic
from routeeval.logs import LogRecord, iso_utc, light_row, open_log_stream, time_window
from routeeval.policy import load_router
from routeeval.profile import (
    NO_INTENT,
    OTHER_INTENT,
    RoutedRows,
    coverage,
    estimated_costs,
    policy_prices,
    query_metadata,
    route_queries,
    vocabulary,
)
from routeeval.runtime import Router, query_text
from routeeval.stats import (
    auc_interval,
    distribution_shift,
    share_shift,
    two_proportion_p,
    wilson_interval,
)

DRIFT_SCHEMA = "routeeval.drift/v1"
STATUSES = ("ok", "warn", "fail", "skipped")
_RANK = {"skipped": 0, "ok": 0, "warn": 1, "fail": 2}
CONFIDENCE = 0.95

# Thresholds. A change must be both large (the effect size) and unlikely under no change (the p-value) to count:
# a small month does not raise an alarm on noise, a huge one not on a trivial shift.
P_WARN, P_FAIL = 0.01, 0.001
SHARE_WARN, SHARE_FAIL = 0.05, 0.10  # total variation distance of tier shares or the intent mix
PSI_WARN, PSI_FAIL = 0.10, 0.25  # population stability index (the industry's usual 0.1 / 0.25)
NEW_INTENT_WARN, NEW_INTENT_FAIL = 0.02, 0.05  # share of queries of an intent the reference never saw
NEW_INTENT_MIN_ROWS = 10
GROWN_BY = 0.03  # an intent whose share grew this much (and significantly) is named
COVERAGE_WARN, COVERAGE_FAIL = 0.05, 0.10  # fall in the share of query words the router knows
AUC_WARN, AUC_FAIL = 0.65, 0.80  # lower end of the domain classifier's AUC interval
OBSERVED_WARN, OBSERVED_FAIL = 0.98, 0.90  # share of rows where production's tier is the policy's
COST_WARN, COST_FAIL = 0.10, 0.25  # rise in cost per 1k queries over the promise (fail: the interval's low end)
MIN_DOMAIN_ROWS = 50  # rows each side the domain classifier needs
DOMAIN_ROWS = 2000  # rows each side it uses at most
MIN_PAID_ROWS = 30  # scored sample rows the accuracy check needs
WORST_ROUTED = 10
DAYS_PER_MONTH = 30.44


@dataclass
class DriftOptions:
    policy: Path
    logs: Path
    config_path: Path | None = None
    reference_dir: Path | None = None
    evalset: Path | None = None
    sample: int | None = None
    max_rows: int | None = None
    max_cost_usd: float | None = None
    monthly_queries: int | None = None
    since: str | None = None
    until: str | None = None
    fail_on: str = "fail"
    refit: bool = False
    out_dir: Path | None = None
    seed: int = 0
    map_options: tuple[str, ...] = ()  # --map FIELD=COLUMN, over the config's [columns]


@dataclass
class DriftResult:
    record: dict
    exit_code: int
    out_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)
    provider_error: str | None = None  # a failure that stopped the paid layer (exit 3), outputs written first


@dataclass
class FreshLogs:
    """What the free layer keeps of the fresh logs: per checked row a few numbers; a uniform sample of records."""

    path: str
    kind: str
    rows_read: int
    rows_in_window: int
    rows_no_time: int
    routed: RoutedRows
    intents: list[str]
    models: list[str | None]
    seconds: np.ndarray  # epoch seconds per checked row, NaN without a timestamp
    kept: list[tuple[int, LogRecord]]  # (checked row index, record): a uniform sample for the paid layer
    sampled: bool
    rate: float
    log_format: str = "routeeval"  # the record format detected (routeeval.log_formats.LOG_FORMATS)
    notes: list[str] = field(default_factory=list)  # what reading the format left out or could not fill in


def default_out_dir(now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.UTC)
    return Path("reports") / f"drift-{now.strftime('%Y%m%dT%H%M%SZ')}"


# -- the command ------------------------------------------------------------------------------------
def run_drift(options: DriftOptions, progress=None) -> DriftResult:
    """Every check on ``options.logs`` against ``options.policy``; writes drift.json (the renderers write the
    rest). Bad input raises before anything is read or paid (exit 2)."""
    if options.fail_on not in ("fail", "warn"):
        raise ConfigError(f"--fail-on is {options.fail_on!r}; choose from: fail, warn.")
    router = load_router(options.policy)
    policy = router.policy
    config = _load_config(options)
    columns = column_map(config.columns if config is not None else None, list(options.map_options))
    if config is not None:
        config = replace(config, columns=columns)
    _check_tiers(router, config)
    since, until = time_window(options.since, options.until)
    reference, reference_source, reference_inputs = _reference(options, router, columns)
    drift = config.drift if config is not None else None
    max_rows = options.max_rows or (drift.max_rows if drift else 1_000_000)
    sample = options.sample if options.sample is not None else (drift.sample if drift else 200)
    if options.refit and options.evalset is None:
        raise ConfigError("--refit re-runs the optimizer on what is known now: give the eval set with --evalset.")
    if options.refit and config is None:
        raise ConfigError("--refit replays the eval set on the tiers: give the config with --config.")
    out_dir = Path(options.out_dir) if options.out_dir is not None else default_out_dir()

    fresh = read_fresh_logs(
        options.logs,
        router,
        since,
        until,
        max_rows,
        keep=max(20 * sample, DOMAIN_ROWS),
        seed=options.seed,
        columns=columns,
    )
    if fresh.routed.n_rows == 0:
        window = f" between {options.since or 'the start'} and {options.until or 'the end'}" if since or until else ""
        raise DataError(str(options.logs), f"has no log rows{window} to check ({fresh.rows_read} rows read)")
    if fresh.routed.fallback.all():
        raise DataError(
            str(options.logs),
            f"no row has a usable input: each of the {fresh.routed.n_rows:,} rows checked is empty or unreadable",
            field="input",
        )

    checks: list[dict] = []
    checks.append(tier_share_check(router, reference, fresh))
    checks.append(routing_score_check(router, reference, fresh.routed.score, "free"))
    checks.append(intent_check(reference, fresh))
    checks.append(length_check(reference, fresh))
    checks.append(vocabulary_check(router, reference, fresh))
    checks.append(domain_check(reference_inputs, fresh, options.seed))
    checks.append(observed_tiers_check(router, fresh))

    paid = None
    provider_error = None
    if sample > 0 and config is not None and router.kind != "llm":
        from routeeval.drift_replay import replay_sample

        budget = options.max_cost_usd if options.max_cost_usd is not None else config.replay.max_cost_usd
        try:
            paid = replay_sample(router, reference, fresh, config, sample, budget, options.seed, progress)
        except ProviderError as exc:
            provider_error = str(exc)
    checks.append(cost_check(router, reference, fresh, config, options, paid))
    checks.append(accuracy_check(router, reference, paid, sample, config, provider_error))
    if router.kind == "cascade" and paid is not None and paid.get("confidence") is not None:
        checks[1] = routing_score_check(router, reference, np.asarray(paid["confidence"]), "outcomes")

    record = _record(options, router, policy, reference, reference_source, fresh, checks, paid, since, until)
    record["exit_code"] = _exit_code(record["verdict"], options.fail_on)
    if provider_error is not None:
        record["provider_error"] = provider_error
    make_folder(out_dir)
    paths = {"json": write_drift_json(record, out_dir / "drift.json")}
    if options.refit and config is not None:
        from routeeval.drift_replay import refit_policy
        from routeeval.errors import RouteEvalError

        try:
            record["refit"] = refit_policy(options, config, router, fresh, out_dir, paid, progress)
        except RouteEvalError as exc:  # the checks stand; the candidate could not be made, and the record says why
            record["refit"] = {"error": str(exc), "diff": [f"no candidate policy: {exc}"]}
            if isinstance(exc, ProviderError):
                provider_error = provider_error or str(exc)
        paths["json"] = write_drift_json(record, out_dir / "drift.json")
    exit_code = 3 if provider_error is not None else record["exit_code"]
    return DriftResult(record, exit_code, out_dir, paths, provider_error)


def write_drift_json(record: dict, path: Path) -> Path:
    write_text_atomic(path, json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    return path


def _exit_code(verdict: str, fail_on: str) -> int:
    if verdict == "fail" or (fail_on == "warn" and verdict == "warn"):
        return 1
    return 0


# -- inputs ----------------------------------------------------------------------------------------
def _load_config(options: DriftOptions) -> Config | None:
    """The config given, else ./routeeval.toml when there is one, else None (free and cost layers only)."""
    path = options.config_path
    if path is None and not Path("routeeval.toml").is_file():
        return None
    config = load_config(path)
    return with_options(
        config,
        max_cost_usd=options.max_cost_usd,
        monthly_queries=options.monthly_queries,
        sample=options.sample,
        max_rows=options.max_rows,
    )


def _check_tiers(router: Router, config: Config | None) -> None:
    if config is None:
        return
    known = {t.name for t in config.tiers}
    missing = [name for name in router.tier_names if name not in known]
    if missing:
        raise ConfigError(
            f"{config.path}: the policy's tier{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"{'are' if len(missing) > 1 else 'is'} not in the config (it has: {', '.join(sorted(known))}); "
            "drift replays and prices the policy's tiers: use the config the policy was written with."
        )


def _reference(options: DriftOptions, router: Router, columns=None) -> tuple[dict, str, dict | None]:
    """(the reference profile, where it came from, reference inputs for the domain classifier or None)."""
    inputs = None
    if options.reference_dir is not None:
        reference, inputs = reference_from_run(Path(options.reference_dir), router)
        source = f"{options.reference_dir} (summary.json and outcomes.parquet)"
    elif isinstance(router.policy.get("reference"), dict):
        reference, source = router.policy["reference"], "the policy's reference profile"
    else:
        raise PolicyError(
            f"{options.policy} has no 'reference' profile (it was written before routeeval drift existed): pass "
            "--reference RUN_DIR, the folder of the run that wrote it (its summary.json and outcomes.parquet), "
            "or write the policy again with routeeval run / routeeval optimize."
        )
    if inputs is None and options.evalset is not None:
        from routeeval.data import load_eval_set

        eval_set = load_eval_set(options.evalset, columns)
        inputs = {
            "queries": [row.input_value for row in eval_set.rows],
            "basis": "evalset",
            "what": f"the eval set {options.evalset}",
        }
    return reference, source, inputs


def reference_from_run(run_dir: Path, router: Router) -> tuple[dict, dict]:
    """The reference profile of a run folder's outcomes (as ``run`` would have written it into the policy), and
    its inputs: the log rows when the run had logs, else the eval rows."""
    from routeeval.optimize import reference_profile
    from routeeval.outcomes import pivot_outcomes, read_outcomes

    summary_path, outcomes_path = run_dir / "summary.json", run_dir / "outcomes.parquet"
    for path in (summary_path, outcomes_path):
        if not path.is_file():
            raise DataError(str(path), "no such file; --reference needs the run folder that wrote the policy")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(str(summary_path), f"not readable JSON ({exc})") from None
    for key in ("chosen", "selection"):
        if not isinstance(summary.get(key), dict):
            raise DataError(str(summary_path), "is not a routeeval run summary", field=key)
    frame = read_outcomes(outcomes_path)
    tiers = list(router.tier_names)
    missing = sorted(set(tiers) - set(frame["tier"].astype(str).unique()))
    if missing:
        raise DataError(str(outcomes_path), f"has no rows for the policy's tiers {', '.join(missing)}", field="tier")
    data = pivot_outcomes(frame, tiers)
    baseline = (summary.get("baseline") or {}).get("tier") or router.tier_names[router.fallback]
    window = (summary.get("logs") or {}).get("date_range")
    reference = reference_profile(frame, data, router.policy, router.kind, baseline, summary, None, window)
    if reference["basis"] == "logs":
        logs = pivot_outcomes(frame, tiers, source="log")
        inputs = {"queries": logs.inputs, "basis": "logs", "what": f"the log rows of {outcomes_path}"}
    else:
        inputs = {"queries": data.inputs, "basis": "evalset", "what": f"the eval rows of {outcomes_path}"}
    return reference, inputs


# -- reading the fresh logs --------------------------------------------------------------------------
def read_fresh_logs(
    path,
    router: Router,
    since,
    until,
    max_rows: int,
    *,
    keep: int,
    seed: int = 0,
    chunk: int = 20_000,
    workers: int | None = None,
    columns=None,
) -> FreshLogs:
    """Stream the logs, keep rows inside the window, sample them down to about ``max_rows`` (a fixed rate from the
    row count, so memory stays bounded), route each kept row through the runtime, and keep a uniform sample of
    ``keep`` whole records (reservoir sampling) for the paid layer and the domain classifier.

    Each row's query, time, intent, metadata and model are read and checked (:func:`routeeval.logs.light_row`);
    the records kept for the paid layer are parsed whole, with every check :func:`load_logs` makes. Routing runs
    in ``workers`` processes (default: one per core when the logs have more than ``PARALLEL_ROWS`` rows), each
    with the same runtime, while this process reads on."""
    stream = open_log_stream(path, columns)
    rate = min(1.0, max_rows / stream.total) if stream.total else 1.0
    draw = np.random.default_rng(seed)
    reservoir_draw = random.Random(seed)
    words = vocabulary(router)
    intents: list[str] = []
    models: list[str | None] = []
    seconds: list[float] = []
    kept: list[tuple[int, Any, dict]] = []  # (checked row index, where, raw values): records made at the end
    queries: list[Any] = []
    metadata: list[dict | None] = []
    rows_read = rows_in_window = rows_no_time = 0
    expected = min(stream.total, max_rows)
    every = max(1, expected // COVERAGE_ROWS)  # vocabulary coverage on about COVERAGE_ROWS rows
    with RoutingPool(router, words, _workers(workers, expected), every) as pool:
        for batch in stream.batches(light=True):
            rows_read += len(batch)
            picks = draw.random(len(batch)) < rate if rate < 1 else None
            for position, (where, values) in enumerate(batch):
                if picks is not None and not picks[position]:
                    continue
                row = light_row(where, values, stream.log_format)
                moment = row.moment
                if since is not None or until is not None:
                    if moment is None:
                        rows_no_time += 1
                        continue
                    if (since is not None and moment < since) or (until is not None and moment >= until):
                        continue
                index = rows_in_window
                rows_in_window += 1
                if index < keep:
                    kept.append((index, where, values))
                else:
                    slot = reservoir_draw.randrange(rows_in_window)
                    if slot < keep:
                        kept[slot] = (index, where, values)
                intents.append(row.intent or NO_INTENT)
                models.append(row.model)
                seconds.append(moment.timestamp() if moment is not None else math.nan)
                queries.append(row.query)
                metadata.append(query_metadata(row.intent, row.metadata))
                if len(queries) >= chunk:
                    pool.submit(queries, metadata)
                    queries, metadata = [], []
        if queries:
            pool.submit(queries, metadata)
        routed = pool.results()
    records = stream.records([(where, values) for _index, where, values in kept], light=True)
    # rows_in_window counts the rows checked; scaled back by the sampling rate it estimates the window's rows
    checked = rows_in_window
    return FreshLogs(
        path=str(path),
        kind=stream.kind,
        rows_read=stream.total if rate < 1 else rows_read,
        rows_in_window=round(checked / rate) if rate < 1 else checked,
        rows_no_time=rows_no_time,
        routed=routed,
        intents=intents,
        models=models,
        seconds=np.asarray(seconds, dtype=float),
        kept=[(index, record) for (index, _where, _values), record in zip(kept, records, strict=True)],
        sampled=rate < 1,
        rate=rate,
        log_format=stream.log_format,
        notes=list(stream.notes),
    )


PARALLEL_ROWS = 50_000  # below this many rows one process routes them (starting workers costs more)
COVERAGE_ROWS = 50_000  # rows whose vocabulary coverage is counted (every k-th row of larger logs)


def _workers(workers: int | None, rows: int) -> int:
    if workers is not None:
        return max(0, workers)
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if rows > PARALLEL_ROWS and cores > 1 else 0


class RoutingPool:
    """Routes chunks of queries through the runtime, in worker processes (``workers`` > 0) or in this one; the
    results come back in submission order. At most two chunks per worker wait, so memory stays bounded."""

    def __init__(self, router: Router, words: frozenset[str] | None, workers: int, coverage_every: int = 1) -> None:
        self.router, self.words, self.workers, self.every = router, words, workers, coverage_every
        self.done: list[RoutedRows] = []
        self.pending: list = []
        self.executor: Any = None

    def __enter__(self) -> RoutingPool:
        if self.workers:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_worker_start, initargs=(self.router.policy, self.words)
            )
        return self

    def __exit__(self, *exc) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=exc[0] is None, cancel_futures=exc[0] is not None)

    def submit(self, queries: list, metadata: list) -> None:
        if self.executor is None:
            self.done.append(route_queries(self.router, queries, metadata, words=self.words, coverage_every=self.every))
            return
        while len(self.pending) >= 2 * self.workers:
            self.done.append(self.pending.pop(0).result())
        self.pending.append(self.executor.submit(_worker_route, queries, metadata, self.every))

    def results(self) -> RoutedRows:
        self.done += [future.result() for future in self.pending]
        self.pending = []
        return RoutedRows.concat(self.done)


_WORKER: dict[str, Any] = {}


def _worker_start(policy: dict, words: frozenset[str] | None) -> None:
    _WORKER["router"] = Router.load(policy)
    _WORKER["words"] = words


def _worker_route(queries: list, metadata: list, coverage_every: int) -> RoutedRows:
    return route_queries(_WORKER["router"], queries, metadata, words=_WORKER["words"], coverage_every=coverage_every)


# -- free checks -----------------------------------------------------------------------------------
def check(
    check_id: str,
    layer: str,
    title: str,
    status: str,
    summary: str,
    *,
    statistic: tuple[str, float | None] | None = None,
    p_value: float | None = None,
    thresholds: dict | None = None,
    ci: list | None = None,
    details: dict | None = None,
) -> dict:
    return {
        "id": check_id,
        "layer": layer,
        "title": title,
        "status": status,
        "summary": summary,
        "statistic": {"name": statistic[0], "value": _num(statistic[1])} if statistic else None,
        "p_value": _num(p_value),
        "thresholds": thresholds,
        "ci": [_num(ci[0]), _num(ci[1])] if ci else None,
        "details": _plain(details or {}),
    }


def _gate(effect: float, p_value: float, warn: float, fail: float) -> str:
    """fail when the effect reaches ``fail`` with p < P_FAIL; warn when it reaches ``warn`` with p < P_WARN."""
    if effect >= fail and p_value < P_FAIL:
        return "fail"
    if effect >= warn and p_value < P_WARN:
        return "warn"
    return "ok"


def tier_share_check(router: Router, reference: dict, fresh: FreshLogs) -> dict:
    title = "Tier shares"
    names = list(router.tier_names)
    then = (reference.get("tier_share") or {}).get("first")
    if router.kind == "llm":
        return check("tier_share", "free", title, "skipped", "an llm policy's tier needs its router model's answer")
    if not then:
        return check("tier_share", "free", title, "skipped", "the reference has no tier shares")
    counts = Counter(fresh.routed.tier.tolist())
    now_counts = {name: counts.get(i, 0) for i, name in enumerate(names)}
    n = fresh.routed.n_rows
    now = {name: now_counts[name] / n for name in names}
    now_ci = {name: list(wilson_interval(now[name], n, CONFIDENCE)[1:]) for name in names}
    shift = share_shift({k: float(v or 0) for k, v in then.items()}, int(reference.get("rows") or 0), now_counts)
    status = _gate(shift["tvd"], shift["p_value"], SHARE_WARN, SHARE_FAIL)
    moved = max(names, key=lambda k: abs(now[k] - float(then.get(k) or 0)))
    delta = now[moved] - float(then.get(moved) or 0)
    summary = (
        f"the first decision's tier shares are as certified (largest change {abs(delta) * 100:.1f} points, "
        f"{_p_text(shift['p_value'])})"
        if status == "ok"
        else f"'{moved}' gets {now[moved]:.1%} of queries, was {float(then.get(moved) or 0):.1%} "
        f"(tier shares moved {shift['tvd'] * 100:.1f} points, {_p_text(shift['p_value'])})"
    )
    if router.kind == "cascade":
        summary = (
            f"a cascade starts every query at '{names[int(router.cascade.order[0])]}'; "  # type: ignore[union-attr]
            "its escalations are measured in the outcomes layer"
        )
    fallback = int(fresh.routed.fallback.sum())
    return check(
        "tier_share",
        "free",
        title,
        status,
        summary,
        statistic=("total variation distance", shift["tvd"]),
        p_value=shift["p_value"],
        thresholds={"warn": SHARE_WARN, "fail": SHARE_FAIL},
        details={"then": then, "now": now, "now_ci": now_ci, "fallback_rows": fallback},
    )


def routing_score_check(router: Router, reference: dict, scores, layer: str) -> dict:
    title = "Routing score"
    entry = reference.get("routing_score") or {}
    name = entry.get("name")
    if name is None:
        return check("routing_score", layer, title, "skipped", f"a {router.kind} policy's decisions carry no score")
    scores = np.asarray(scores, dtype=float)
    if not np.isfinite(scores).any():
        why = (
            "a cascade's score is its first tier's confidence in an answer: measured in the outcomes layer"
            if router.kind == "cascade"
            else "no routed row has a score"
        )
        return check("routing_score", layer, title, "skipped", why, details={"name": name})
    return _shift_check(
        "routing_score",
        layer,
        title,
        entry.get("quantiles") or [],
        scores,
        int(reference.get("rows") or 0),
        lambda now, then: f"{name}: median {now:.3f}, was {then:.3f}",
        {"name": name},
        count_rows=True,
    )


def _shift_check(
    check_id: str,
    layer: str,
    title: str,
    then_q: list,
    values,
    reference_rows: int,
    lead,
    details: dict,
    count_rows: bool = False,
) -> dict:
    """A distribution against the reference's percentiles: its PSI, gated by the KS p-value (:func:`_gate`)."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    shift = distribution_shift(then_q, finite, reference_rows)
    if shift["psi"] is None:
        return check(check_id, layer, title, "skipped", "the reference has no distribution to compare with")
    status = _gate(shift["psi"], shift["p_value"], PSI_WARN, PSI_FAIL)
    then_median, now_median = float(then_q[len(then_q) // 2]), float(np.median(finite))
    rows = f", {finite.size:,} rows" if count_rows else ""
    summary = f"{lead(now_median, then_median)} (PSI {shift['psi']:.2f}, KS {_p_text(shift['p_value'])}{rows})"
    return check(
        check_id,
        layer,
        title,
        status,
        summary,
        statistic=("PSI", shift["psi"]),
        p_value=shift["p_value"],
        thresholds={"warn": PSI_WARN, "fail": PSI_FAIL},
        details={
            **details,
            "then_quantiles": then_q,
            "now_quantiles": _quantiles(finite),
            "then_median": then_median,
            "now_median": now_median,
            "psi": shift["psi"],
            "ks": shift["ks"],
            "rows": int(finite.size),
        },
    )


def intent_check(reference: dict, fresh: FreshLogs) -> dict:
    title = "Intent mix"
    then = reference.get("intent_share")
    then_rows = int(reference.get("rows") or 0)
    counts = Counter(fresh.intents)
    n = len(fresh.intents)
    against = "the reference"
    evalset = reference.get("evalset") or {}
    if not then and evalset.get("intent_share"):  # the reference logs named no intent; the eval set does
        then, then_rows, against = evalset["intent_share"], int(evalset.get("rows") or 0), "the eval set"
    if not then:
        return check("intent_mix", "free", title, "skipped", "the reference has no intents (its rows named none)")
    if counts.get(NO_INTENT, 0) == n:
        return check(
            "intent_mix",
            "free",
            title,
            "skipped",
            "the fresh logs name no intent (give rows an 'intent' field or metadata.intent)",
        )
    open_ended = OTHER_INTENT in then  # the reference kept only its common intents by name
    now_counts: Counter[str] = Counter()
    for intent, count in counts.items():
        now_counts[intent if intent in then or not open_ended else OTHER_INTENT] += count
    shift = share_shift({k: float(v) for k, v in then.items()}, then_rows, dict(now_counts))
    status = _gate(shift["tvd"], shift["p_value"], SHARE_WARN, SHARE_FAIL)
    if against == "the eval set":  # a curated mix is not production's: its shift is shown, only new intents count
        status = "ok"
    new: list[dict[str, Any]] = (
        []
        if open_ended
        else [
            {"intent": k, "share": c / n, "rows": c}
            for k, c in counts.most_common()
            if k not in then and k != NO_INTENT
        ]
    )
    for item in new:
        if item["rows"] >= NEW_INTENT_MIN_ROWS and item["share"] >= NEW_INTENT_FAIL:
            status = "fail"
        elif item["rows"] >= NEW_INTENT_MIN_ROWS and item["share"] >= NEW_INTENT_WARN and status == "ok":
            status = "warn"
    grown = []
    for intent, share_then in then.items():
        share_now = now_counts.get(intent, 0) / n
        if share_now - share_then >= GROWN_BY and two_proportion_p(share_then, then_rows, share_now, n) < P_WARN:
            grown.append({"intent": intent, "then": share_then, "now": share_now})
    grown.sort(key=lambda g: g["then"] - g["now"])
    parts = []
    if new:
        top = new[0]
        parts.append(
            f"new intent '{top['intent']}' is {top['share']:.1%} of queries ({top['rows']} rows), absent from {against}"
        )
        if len(new) > 1:
            parts[-1] += f", {len(new) - 1} more new"
    if grown:
        parts.append("grown: " + ", ".join(f"'{g['intent']}' {g['then']:.1%} → {g['now']:.1%}" for g in grown[:3]))
    moved = f"the intent mix moved {shift['tvd'] * 100:.1f} points from {against}'s ({_p_text(shift['p_value'])})"
    if against == "the eval set":
        moved += ", shown only: the eval set's mix is curated, not production's"
    parts.append(moved)
    return check(
        "intent_mix",
        "free",
        title,
        status,
        "; ".join(parts),
        statistic=("total variation distance", shift["tvd"]),
        p_value=shift["p_value"],
        thresholds={"warn": SHARE_WARN, "fail": SHARE_FAIL, "new_warn": NEW_INTENT_WARN, "new_fail": NEW_INTENT_FAIL},
        details={
            "against": against,
            "then": then,
            "now": {k: c / n for k, c in counts.most_common()},
            "new": new,
            "grown": grown,
        },
    )


def length_check(reference: dict, fresh: FreshLogs) -> dict:
    title = "Input length"
    then_q = (reference.get("input_chars") or {}).get("quantiles")
    if not then_q:
        return check("input_length", "free", title, "skipped", "the reference has no input lengths")

    def lead(now: float, then: float) -> str:
        word = "longer" if now > then else "shorter" if now < then else "as long"
        return f"inputs are {word}: median {now:,.0f} characters, was {then:,.0f}"

    reference_rows = int(reference.get("rows") or 0)
    return _shift_check("input_length", "free", title, then_q, fresh.routed.chars, reference_rows, lead, {})


def vocabulary_check(router: Router, reference: dict, fresh: FreshLogs) -> dict:
    title = "Vocabulary coverage"
    then = reference.get("vocabulary")
    if router.featurizer is None or not then or then.get("coverage_mean") is None:
        return check("vocabulary", "free", title, "skipped", f"the {router.kind} policy reads no words")
    cover = coverage(fresh.routed)
    cover = cover[np.isfinite(cover)]
    if cover.size == 0:
        return check("vocabulary", "free", title, "skipped", "no fresh row has a word")
    mean_then, sd_then, rows_then = float(then["coverage_mean"]), float(then["coverage_sd"] or 0), int(then["rows"])
    mean_now, sd_now = float(cover.mean()), float(cover.std())
    fall = mean_then - mean_now
    se = math.sqrt(sd_then**2 / max(rows_then, 1) + sd_now**2 / cover.size)
    p_value = 1.0 if se == 0 else float(0.5 * math.erfc((fall / se) / math.sqrt(2)))  # one-sided: a fall
    status = _gate(fall, p_value, COVERAGE_WARN, COVERAGE_FAIL)
    summary = (
        f"the router knows {mean_now:.1%} of the fresh queries' words, {mean_then:.1%} of the reference's "
        f"({_p_text(p_value)})"
    )
    return check(
        "vocabulary",
        "free",
        title,
        status,
        summary,
        statistic=("fall in coverage", fall),
        p_value=p_value,
        thresholds={"warn": COVERAGE_WARN, "fail": COVERAGE_FAIL},
        details={"then": mean_then, "now": mean_now, "rows": int(cover.size)},
    )


def domain_check(inputs: dict | None, fresh: FreshLogs, seed: int) -> dict:
    """A classifier tries to tell the reference's queries from the fresh ones: out-of-fold AUC near 0.5 means it
    cannot (no shift); near 1, the queries are of another kind."""
    title = "Old vs new queries (domain classifier)"
    if inputs is None:
        return check(
            "domain_classifier",
            "free",
            title,
            "skipped",
            "no reference queries: pass --reference RUN_DIR or --evalset to compare the queries themselves",
        )
    old = _texts(inputs["queries"])
    new = _texts([record.query.input_value for _index, record in fresh.kept])
    rng = random.Random(seed)
    if len(old) > DOMAIN_ROWS:
        old = rng.sample(old, DOMAIN_ROWS)
    if len(new) > DOMAIN_ROWS:
        new = rng.sample(new, DOMAIN_ROWS)
    if min(len(old), len(new)) < MIN_DOMAIN_ROWS:
        return check(
            "domain_classifier",
            "free",
            title,
            "skipped",
            f"needs {MIN_DOMAIN_ROWS} queries each side, has {len(old)} reference and {len(new)} fresh",
        )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

    from routeeval.routers.base import one_thread

    texts = old + new
    labels = np.array([0] * len(old) + [1] * len(new))
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=20_000)
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=1.0, max_iter=1000)
    # a query both sides share sits in one fold: held out, it cannot be told apart (AUC 0.5), never "learnt" from
    # its twin with the other label (which would push the AUC below 0.5)
    groups = np.unique([" ".join(text.lower().split()) for text in texts], return_inverse=True)[1]
    if min(len(set(groups[labels == side])) for side in (0, 1)) < MIN_DOMAIN_ROWS:
        return check(
            "domain_classifier",
            "free",
            title,
            "skipped",
            f"needs {MIN_DOMAIN_ROWS} distinct queries each side (most queries repeat)",
        )
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    with one_thread():
        scores = cross_val_predict(model, features, labels, groups=groups, cv=folds, method="predict_proba")[:, 1]
        model.fit(features, labels)
    auc = float(roc_auc_score(labels, scores))
    low, high = auc_interval(auc, len(new), len(old), CONFIDENCE)
    status = "fail" if low >= AUC_FAIL else "warn" if low >= AUC_WARN else "ok"
    capped = inputs["basis"] == "evalset" and status == "fail"
    if capped:  # a curated eval set reads unlike production even when production has not moved
        status = "warn"
    terms = np.asarray(vectorizer.get_feature_names_out())
    top_new = [str(t) for t in terms[np.argsort(model.coef_[0])[::-1][:8]]]
    summary = (
        f"a classifier tells the fresh queries from {inputs['what']} with AUC {auc:.2f} "
        f"({CONFIDENCE:.0%} CI {low:.2f}-{high:.2f}); 0.5 means it cannot"
    )
    if status != "ok":
        summary += f"; words that mark the new queries: {', '.join(top_new[:5])}"
    if capped:
        summary += " (capped at warn: the reference is a curated eval set, not production traffic)"
    return check(
        "domain_classifier",
        "free",
        title,
        status,
        summary,
        statistic=("AUC", auc),
        ci=[low, high],
        thresholds={"warn": AUC_WARN, "fail": AUC_FAIL},
        details={
            "reference_rows": len(old),
            "new_rows": len(new),
            "reference_inputs": inputs["what"],
            "top_new_terms": top_new,
        },
    )


def observed_tiers_check(router: Router, fresh: FreshLogs) -> dict:
    """Production's tier (from the logs' ``model``) against what the policy decides on the same rows."""
    title = "Production's tiers vs the policy's"
    by_model: dict[str, int] = {}
    for index, (name, model) in enumerate(zip(router.tier_names, router.models, strict=True)):
        by_model.setdefault(model, index)
        by_model.setdefault(name, index)
    models = fresh.models
    observed = np.array([by_model.get(m, -1) if m else -1 for m in models], dtype=int)
    unmatched = Counter(m for m, o in zip(models, observed, strict=True) if m and o < 0)
    matched = observed >= 0
    if not matched.any():
        why = (
            "the logs do not say which model answered"
            if not unmatched
            else f"the logs' models ({', '.join(list(unmatched)[:3])}) are none of the policy's tiers' models"
        )
        return check(
            "observed_tiers",
            "free",
            title,
            "skipped",
            why,
            details={"unmatched_models": dict(unmatched.most_common(10))},
        )
    names = list(router.tier_names)
    n = int(matched.sum())
    obs_share = {name: float((observed[matched] == i).mean()) for i, name in enumerate(names)}
    if router.kind == "cascade":
        first = int(router.cascade.order[0])  # type: ignore[union-attr]
        escalated = float((observed[matched] != first).mean())
        summary = f"production escalated {escalated:.1%} of {n:,} logged queries past '{names[first]}'"
        return check(
            "observed_tiers",
            "free",
            title,
            "ok",
            summary,
            statistic=("escalation share", escalated),
            details={"observed": obs_share, "unmatched_models": dict(unmatched.most_common(10)), "rows": n},
        )
    expected = fresh.routed.tier[matched].astype(int)
    agreement = float((observed[matched] == expected).mean())
    exp_share = {name: float((expected == i).mean()) for i, name in enumerate(names)}
    status = "fail" if agreement < OBSERVED_FAIL else "warn" if agreement < OBSERVED_WARN else "ok"
    summary = f"production used the policy's tier on {agreement:.1%} of {n:,} logged queries"
    if status != "ok":
        summary += " (another policy version, the cost ceiling, or failover is deciding)"
    return check(
        "observed_tiers",
        "free",
        title,
        status,
        summary,
        statistic=("agreement", agreement),
        ci=list(wilson_interval(agreement, n, CONFIDENCE)[1:]),
        thresholds={"warn": OBSERVED_WARN, "fail": OBSERVED_FAIL},
        details={"observed": obs_share, "expected": exp_share, "unmatched_models": dict(unmatched.most_common(10))},
    )


# -- cost ------------------------------------------------------------------------------------------
def prices_now(router: Router, config: Config | None) -> tuple[dict[str, list[float | None]], str]:
    """USD per 1M tokens [in, out] of each policy tier today: the config's prices (explicit, or litellm's cost map
    for its model), else the cost map for the policy's models."""
    if config is not None:
        from routeeval.pricing import price_tier

        found: dict[str, list[float | None]] = {}
        for name in router.tier_names:
            try:  # a tier without a price leaves the cost check skipped, naming it; the other checks stand
                price = price_tier(config.tier(name), config.path)
                found[name] = [price.price_in_per_mtok, price.price_out_per_mtok]
            except ConfigError:
                found[name] = [None, None]
        return found, str(config.path)
    from routeeval.pricing import cost_map_model, lookup_cost_map

    out: dict[str, list[float | None]] = {}
    for name, model in zip(router.tier_names, router.models, strict=True):
        prices_found = lookup_cost_map(cost_map_model(model))  # a simulated tier: the model it stands for
        out[name] = [prices_found[0], prices_found[1]] if prices_found else [None, None]
    return out, "litellm's cost map"


def model_changes(router: Router, config: Config | None) -> list[str]:
    """Tiers whose model in the config is not the one the policy names."""
    if config is None:
        return []
    return [
        f"'{name}' is {config.tier(name).model} in the config, {model} in the policy"
        for name, model in zip(router.tier_names, router.models, strict=True)
        if config.tier(name).model != model
    ]


def cost_check(router: Router, reference: dict, fresh: FreshLogs, config, options: DriftOptions, paid) -> dict:
    title = "Cost per 1,000 queries"
    names = list(router.tier_names)
    tokens = reference.get("tokens_per_call") or {}
    promised = reference.get("cost_per_1k_usd_estimated")
    then_prices = reference.get("prices") or policy_prices(router.policy)
    now_prices, price_source = prices_now(router, config)
    changed = [n for n in names if _price_changed(then_prices.get(n), now_prices.get(n))]
    calls, escalation_source = _expected_calls(router, reference, fresh, paid)
    escalation_rows = int(paid.get("rows_scored") or 0) if router.kind == "cascade" and paid else 0
    if promised is None or not any(tokens.get(n) for n in names):
        return check(
            "cost",
            "cost",
            title,
            "warn" if changed else "skipped",
            "the reference has no token counts to estimate costs from"
            + (f"; prices changed: {', '.join(changed)}" if changed else ""),
            details={"prices": _price_table(names, then_prices, now_prices), "changed_prices": changed},
        )
    chars = fresh.routed.chars
    now_rows = estimated_costs(chars, calls, now_prices, tokens, names)
    then_rows = estimated_costs(chars, calls, then_prices, tokens, names)
    if not np.isfinite(now_rows).all():
        unpriced = [n for n in names if now_prices.get(n, [None])[0] is None]
        return check("cost", "cost", title, "skipped", f"no price today for {', '.join(unpriced) or 'some tier'}")
    n = now_rows.size
    now_1k = 1000 * float(now_rows.mean())
    se = 1000 * float(now_rows.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    if escalation_rows:  # a cascade's calls per query measured on a sample: their uncertainty too
        for i in range(len(names)):
            share = float(calls[0, i])
            unit = estimated_costs(chars, np.eye(len(names))[[i] * n], now_prices, tokens, names)
            if 0 < share < 1 and np.isfinite(unit).all():
                se = math.hypot(se, 1000 * float(unit.mean()) * math.sqrt(share * (1 - share) / escalation_rows))
    z = 1.959963984540054
    now_ci = [now_1k - z * se, now_1k + z * se]
    change = now_1k / promised - 1 if promised else math.nan
    change_ci = None
    if promised:  # the promise is an estimate too (on the reference's rows): both errors widen the interval
        promised_se = float(reference.get("cost_per_1k_usd_estimated_se") or 0.0)
        change_se = math.hypot(se / promised, now_1k * promised_se / promised**2)
        change_ci = [change - z * change_se, change + z * change_se]
    status = "ok"  # like the other checks, a rise must be large and beyond noise (the interval above 0) to count
    if change_ci is not None and change_ci[0] >= COST_FAIL:
        status = "fail"
    elif (change >= COST_WARN and change_ci is not None and change_ci[0] > 0) or changed:
        status = "warn"
    monthly = _monthly(fresh, config, options, now_1k, now_ci)
    ceiling = config.drift.max_monthly_usd if config is not None else None
    if ceiling is not None and monthly["monthly_usd"] is not None:
        if monthly["monthly_usd_ci"][0] > ceiling:
            status = "fail"
        elif monthly["monthly_usd"] > ceiling and status == "ok":
            status = "warn"
    summary = f"${now_1k:.4g} per 1k queries at today's prices, promised ${promised:.4g} ({change:+.0%})"
    if changed:
        summary += f"; price changed: {', '.join(changed)}"
    if monthly["monthly_usd"] is not None:
        summary += f"; about ${monthly['monthly_usd']:,.0f} a month"
        if ceiling is not None:
            summary += f" (ceiling ${ceiling:,.0f})"
    return check(
        "cost",
        "cost",
        title,
        status,
        summary,
        statistic=("cost change", change),
        ci=change_ci,
        thresholds={"warn": COST_WARN, "fail": COST_FAIL, "max_monthly_usd": ceiling},
        details={
            "promised_per_1k_usd": promised,
            "measured_then_per_1k_usd": reference.get("cost_per_1k_usd"),
            "now_per_1k_usd": now_1k,
            "now_per_1k_usd_ci": now_ci,
            "at_policy_prices_per_1k_usd": 1000 * float(np.mean(then_rows)) if np.isfinite(then_rows).all() else None,
            "prices": _price_table(names, then_prices, now_prices),
            "price_source": price_source,
            "changed_prices": changed,
            "changed_models": model_changes(router, config),
            "escalation_source": escalation_source,
            **monthly,
            "max_monthly_usd": ceiling,
        },
    )


def _expected_calls(router: Router, reference: dict, fresh: FreshLogs, paid) -> tuple[np.ndarray, str | None]:
    """Rows x tiers: the calls each fresh row makes. A cascade's escalations need answers: measured by the outcomes
    layer when it ran, else the reference's calls per query."""
    names = list(router.tier_names)
    n = fresh.routed.n_rows
    calls = np.zeros((n, len(names)))
    if router.kind != "cascade":
        calls[np.arange(n), fresh.routed.tier.astype(int)] = 1.0
        return calls, None
    if paid is not None and paid.get("calls_per_query") and paid.get("rows_scored"):
        per_query, source = paid["calls_per_query"], f"the outcomes layer's replay of {paid['rows']} rows"
    else:
        per_query = (reference.get("tier_share") or {}).get("calls") or {}
        source = "the reference's calls per query (no outcomes layer ran)"
    for i, name in enumerate(names):
        calls[:, i] = float(per_query.get(name) or 0.0)
    return calls, source


def _monthly(fresh: FreshLogs, config, options: DriftOptions, now_1k: float, now_ci: list[float]) -> dict:
    monthly_queries = options.monthly_queries or (config.logs.monthly_queries if config is not None else None)
    note = None
    if monthly_queries is None and config is not None and config.logs.sample_rate:
        seconds = fresh.seconds[np.isfinite(fresh.seconds)]
        span_days = (seconds.max() - seconds.min()) / 86_400 if seconds.size > 1 else 0.0
        if span_days >= 1:
            monthly_queries = round(fresh.rows_in_window / config.logs.sample_rate / span_days * DAYS_PER_MONTH)
            note = (
                f"{fresh.rows_in_window:,} rows over {span_days:.1f} days at a sample rate of "
                f"{config.logs.sample_rate:g}"
            )
        else:
            note = "the logs span less than a day: give --monthly-queries"
    elif monthly_queries is None:
        note = "no production volume: give --monthly-queries or [logs] sample_rate"
    else:
        note = f"{monthly_queries:,} queries a month (stated)"
    if monthly_queries is None:
        return {"monthly_queries": None, "monthly_usd": None, "monthly_usd_ci": None, "monthly_note": note}
    return {
        "monthly_queries": monthly_queries,
        "monthly_usd": monthly_queries * now_1k / 1000,
        "monthly_usd_ci": [monthly_queries * now_ci[0] / 1000, monthly_queries * now_ci[1] / 1000],
        "monthly_note": note,
    }


def _price_changed(then, now) -> bool:
    if not then or not now or None in then or None in now:
        return False
    return any(
        not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(then, now, strict=True)
    )


def _price_table(names, then_prices, now_prices) -> dict:
    return {n: {"then": then_prices.get(n), "now": now_prices.get(n)} for n in names}


# -- outcomes --------------------------------------------------------------------------------------
def accuracy_check(router: Router, reference: dict, paid, sample: int, config, provider_error: str | None) -> dict:
    title = "Accuracy drop on fresh traffic"
    if provider_error is not None:
        return check("accuracy", "outcomes", title, "skipped", f"stopped: {provider_error}")
    if paid is None:
        if sample <= 0:
            why = "not run (--sample 0)"
        elif config is None:
            why = "not run: no config to replay the tiers with (pass --config)"
        elif router.kind == "llm":
            why = "not run: an llm policy needs its router model's answers"
        else:
            why = "not run"
        return check("accuracy", "outcomes", title, "skipped", why)
    max_drop = float(reference.get("max_drop") or 0.0)
    bound = reference.get("accuracy_drop_bound")
    details = {key: paid[key] for key in ("basis", "scorer", "rows", "strata", "spent_usd", "skipped_by_budget")}
    details.update(max_drop=max_drop, certified_bound=bound)
    for key in ("escalation_share", "escalation_share_then", "reference_disagreement", "disagreement"):
        if key in paid:
            details[key] = paid[key]
    if paid["rows_scored"] < MIN_PAID_ROWS:
        return check(
            "accuracy",
            "outcomes",
            title,
            "skipped",
            f"{paid['rows_scored']} sample rows were scored, the check needs {MIN_PAID_ROWS}"
            + (f" ({paid['skipped_by_budget']} calls stopped by --max-cost)" if paid["skipped_by_budget"] else ""),
            details=details,
        )
    drop, low, high = paid["drop"], paid["drop_ci"][0], paid["drop_ci"][1]
    status = "fail" if low > max_drop else "warn" if drop > max_drop else "ok"
    baseline = reference.get("baseline_tier")
    what = "accuracy drop" if paid["basis"] == "gold" else "disagreement with the baseline beyond the reference's"
    summary = (
        f"estimated {what} {drop * 100:.1f} points ({CONFIDENCE:.0%} CI {low * 100:.1f} to {high * 100:.1f}) "
        f"vs '{baseline}' on {paid['rows_scored']} replayed rows; max_drop {max_drop * 100:.1f} points"
    )
    if status == "fail":
        summary += ": the promise no longer holds"
    return check(
        "accuracy",
        "outcomes",
        title,
        status,
        summary,
        statistic=("accuracy drop" if paid["basis"] == "gold" else "excess disagreement", drop),
        ci=[low, high],
        thresholds={"warn": max_drop, "fail": max_drop},
        details=details,
    )


# -- the record ------------------------------------------------------------------------------------
def _record(options, router, policy, reference, reference_source, fresh, checks, paid, since, until) -> dict:
    verdict = max((c["status"] for c in checks), key=lambda s: _RANK[s])
    verdict = "ok" if verdict == "skipped" else verdict
    seconds = fresh.seconds[np.isfinite(fresh.seconds)]
    date_range = (
        [
            iso_utc(dt.datetime.fromtimestamp(seconds.min(), dt.UTC)),
            iso_utc(dt.datetime.fromtimestamp(seconds.max(), dt.UTC)),
        ]
        if seconds.size
        else None
    )
    failed = [c for c in checks if c["status"] == "fail"]
    warned = [c for c in checks if c["status"] == "warn"]
    period = f"{date_range[0][:10]}..{date_range[1][:10]}" if date_range else Path(fresh.path).name
    active = [c for c in checks if c["status"] != "skipped"]
    if verdict == "fail":
        headline = f"FAIL: the policy does not hold on {period} ({len(failed)} of {len(active)} checks failed)."
    elif verdict == "warn":
        headline = f"WARN: the policy holds on {period}, with {len(warned)} warning{'s' * (len(warned) != 1)}."
    else:
        headline = f"OK: the policy still holds on {period} ({len(active)} checks passed)."
    expected = policy.get("expected") or {}
    provenance = policy.get("provenance") or {}
    return {
        "schema": DRIFT_SCHEMA,
        "routeeval_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "simulated": bool(provenance.get("simulated")),
        "verdict": verdict,
        "fail_on": options.fail_on,
        "exit_code": None,
        "headline": headline,
        "policy": {
            "path": str(options.policy),
            "checksum": policy.get("checksum"),
            "kind": router.kind,
            "router": expected.get("router"),
            "variant": expected.get("variant"),
            "created_at": provenance.get("created_at"),
            "tiers": list(router.tier_names),
            "baseline_tier": reference.get("baseline_tier"),
        },
        "reference": {
            "source": reference_source,
            "basis": reference.get("basis"),
            "rows": reference.get("rows"),
            "date_range": reference.get("date_range"),
            "note": None
            if reference.get("basis") == "logs"
            else "the reference is the eval set, not production traffic: run with --logs to certify on production",
        },
        "logs": {
            "path": fresh.path,
            "format": fresh.kind,
            "log_format": fresh.log_format,
            "notes": fresh.notes,
            "rows_read": fresh.rows_read,
            "rows_in_window": fresh.rows_in_window,
            "rows_checked": fresh.routed.n_rows,
            "rows_without_timestamp": fresh.rows_no_time,
            "sampled": fresh.sampled,
            "sample_rate": fresh.rate,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "date_range": date_range,
            "fallback_rows": int(fresh.routed.fallback.sum()),
        },
        "checks": checks,
        "reasons": [c["summary"] for c in failed + warned],
        "actions": _actions(failed + warned, router, reference),
        "worst_routed": paid.get("worst", []) if paid else [],
        "spend": paid.get("spend") if paid else None,
        "refit": None,
    }


_ACTIONS = {
    "tier_share": "The router sends a different share of traffic to each tier than it was certified for: rerun "
    "`routeeval run` with this month's logs (--logs) and compare the new policy's promise.",
    "routing_score": "The router's scores moved: its calibration is stale. Re-fit on fresh labeled rows "
    "(`routeeval drift --refit --evalset ...` proposes a candidate).",
    "intent_mix": "New or grown intents: add labeled rows of them to the eval set (a few dozen each, with gold "
    "answers) and rerun `routeeval run --logs` on this month's logs.",
    "input_length": "Queries changed length: check the cascade's and classifier's behaviour on long inputs, and add "
    "such rows to the eval set.",
    "vocabulary": "The router does not know many of the new queries' words: re-fit it on fresh rows.",
    "domain_classifier": "This month's queries read unlike the reference's: look at the marking words, then add "
    "such queries to the eval set and rerun.",
    "observed_tiers": "Production does not route as this policy does: check the deployed policy's checksum, the "
    "daily cost ceiling, and failover.",
    "cost": "Cost is above the promise: check the changed prices and the tier mix; rerun `routeeval run` with "
    "today's prices to re-choose the operating point.",
    "accuracy": "Cheaper tiers answer worse than promised on fresh traffic: tighten the policy (rerun with fresh "
    "labeled rows, or `--refit`), and read the worst-routed examples.",
}


def _actions(flagged: list[dict], router: Router, reference: dict) -> list[str]:
    actions = [_ACTIONS[c["id"]] for c in flagged if c["id"] in _ACTIONS]
    if reference.get("basis") == "evalset":
        actions.append(
            "The reference is the eval set, not production traffic: write the policy with `routeeval run --logs` "
            "so drift compares production with production."
        )
    return list(dict.fromkeys(actions))


# -- small helpers -----------------------------------------------------------------------------------
def _texts(queries) -> list[str]:
    texts = []
    for query in queries:
        try:
            text, _ = query_text(query)
        except ValueError:
            continue
        if text.strip():
            texts.append(text)
    return texts


def _quantiles(values) -> list[float]:
    from routeeval.profile import quantile_points

    return quantile_points(values) or []


def _p_text(p: float | None) -> str:
    """``p = 0.123``, or ``p < 0.001``."""
    if p is None:
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
