"""The ``routeeval run`` pipeline: load -> replay -> score -> outcomes (-> optimize -> report).

Each step is a library function elsewhere (``data``/``logs``, ``replay``, ``scoring``, ``optimize``, ``report``);
this module wires them in order, holds the run's one budget, and writes the run folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from routeeval import __version__
from routeeval import columns as C
from routeeval.cache import ResponseCache
from routeeval.config import Config, ReplayConfig, Tier, load_config, with_options
from routeeval.data import EvalSet, load_eval_set
from routeeval.errors import ProviderError
from routeeval.files import write_text_atomic
from routeeval.logs import LogSet, load_logs, log_date_range
from routeeval.outcomes import ChosenRows
from routeeval.pricing import TierPrice, cost_map_version, litellm_import_s, price_tiers
from routeeval.replay import (
    CallRequest,
    ReplayProgress,
    ReplayReport,
    SpendLedger,
    replay_calls,
    resolve_api_keys,
)
from routeeval.scoring import (
    LOG_ID_PREFIX,
    JudgeScorer,
    ScoredRow,
    agreement_spec,
    exact,
    outcome_record,
    parse_judge_score,
    row_scorers,
    score_eval_rows,
    score_log_rows,
    scorer_from_config,
)
from routeeval.sim import eval_sim_row, judge_sim_row, log_sim_rows, triage_sim_row, wrong_answers
from routeeval.summary import RunSummary

ProgressFactory = Callable[[str], ReplayProgress | None]
Stage = Callable[[str], None]  # progress of work without calls: called with each stage's name as it starts


@dataclass
class RunResult:
    out_dir: Path
    outcomes_path: Path
    summary_path: Path
    summary: RunSummary  # summary.json, typed
    replay: ReplayReport | None  # None for `optimize` on a table: nothing was replayed
    judge_replay: ReplayReport | None = None
    notes: list[str] = field(default_factory=list)
    policy_path: Path | None = None
    reports: dict = field(default_factory=dict)  # "html", "markdown", "frontier_svg" -> path
    outcomes: object | None = None  # the outcomes DataFrame (for reports); `optimize` reads text as categoricals
    chosen_rows: ChosenRows | None = None  # where the chosen policy sent each selection row
    outcomes_written: bool = True  # False for `optimize`: outcomes_path is the table it read

    @property
    def simulated(self) -> bool:
        return self.summary.simulated


def default_out_dir(evalset_path: str | Path, now: dt.datetime | None = None) -> Path:
    now = now or dt.datetime.now(dt.UTC)
    return Path("reports") / f"{Path(evalset_path).stem}-{now.strftime('%Y%m%dT%H%M%SZ')}"


def run_evaluation(
    evalset_path: str | Path,
    *,
    logs_path: str | Path | None = None,
    config: Config | None = None,
    config_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    max_cost_usd: float | None = None,
    progress: ProgressFactory | None = None,
    overrides: dict | None = None,
    monthly_queries: int | None = None,
    labels_path: str | Path | None = None,
    subset: RowSubset | None = None,
    stage: Stage | None = None,
) -> RunResult:
    """Replay an eval set (and optional logs) against every tier and write scored outcomes. ``labels_path``: a
    labels file (routeeval label) whose easy/hard labels replace the eval rows' ``label`` by id; ``subset``: only
    some of the eval rows (--limit / --sample), recorded in summary.json and the report. ``stage``: called with each
    stage's name as it starts once the paid calls are done (``progress`` shows those): writing the outcomes, the
    optimizer's stages (as `routeeval optimize` names them), the reports."""
    imported_s = litellm_import_s()
    config = checked_run_config(config or load_config(config_path), overrides, max_cost_usd, monthly_queries)
    monthly_queries = config.logs.monthly_queries
    prices = price_tiers(config.tiers, config.path)  # an unpriced model stops us before any call is made
    plan = plan_run(evalset_path, config, logs_path=logs_path, labels_path=labels_path, subset=subset)
    eval_set, log_set, scorers, requests = plan.eval_set, plan.log_set, plan.scorers, plan.requests
    logprobs = plan.logprobs
    settings = config.optimize
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(evalset_path)
    progress = progress or (lambda _label: None)

    resolve_api_keys(config.tiers, config.path)  # a key variable not set stops us too, naming the config file
    ledger = SpendLedger(budget_usd=config.replay.max_cost_usd)  # one ceiling over replay, judge and triage
    with ResponseCache(config.replay.cache) as cache:
        paid = PaidCalls(prices, config.replay, cache, ledger, progress)
        report = paid.replay(requests, "replay")
        # the litellm import, in the replay or before it (prices, the log-probability check): apart from wall_s
        report.import_s = litellm_import_s() - imported_s
        # Eval and log rows are kept apart by where they sit, never by id: the two files may reuse ids.
        names = [tier.name for tier in config.tiers]
        n_eval = len(eval_set.rows) * len(names)
        eval_rows = score_eval_rows(eval_set, names, scorers, report.results[:n_eval])
        judge_report = run_judge(eval_rows, config, paid)
        against = _log_reference(config, eval_rows)  # the tier the optimizer will take as its baseline
        eval_ids = frozenset(row.row_id for row in eval_set.rows)
        log_scorer = scorer_from_config(config.scoring.scorer, config.scoring, config.path)
        log_rows = (
            score_log_rows(log_set, names, log_scorer, report.results[n_eval:], eval_ids, against) if log_set else []
        )
        run_judge(log_rows, config, paid)
        judge_report = paid.reports.get("judge")  # the eval rows' and the log rows' judge calls
        records = [record for row in eval_rows + log_rows for record in row.records()]
        from routeeval.routers.registry import routers_to_fit

        if "llm" in routers_to_fit(settings):  # triage answers are outcomes rows: `optimize` reads them as `run`
            records += _run_llm_router(eval_set, config, settings, paid)

    from routeeval.outcomes import outcomes_frame, write_outcomes

    stage = stage or (lambda _name: None)
    stage(f"writing {len(records):,} outcome rows to {out_dir / 'outcomes.parquet'}")
    _start_outputs(out_dir)
    frame = outcomes_frame(records)
    tier_entries = [_tier_entry(t, prices[t.name], logprobs.get(t.name)) for t in config.tiers]
    metadata = {
        "version": __version__,
        "simulated": json.dumps(config.simulated),
        "cost_map_version": cost_map_version(),
        "evalset_sha256": eval_set.sha256,
        "evalset_path": str(eval_set.path),
        "tiers": json.dumps(tier_entries),
    }
    if plan.subset is not None:
        metadata["evalset_subset"] = json.dumps(plan.subset)
    outcomes_path = write_outcomes(frame, out_dir / "outcomes.parquet", metadata)
    _check_answers(config, eval_rows, paid, outcomes_path)  # no policy from tiers that could not answer
    summary = _summary(config, tier_entries, eval_set, log_set, frame, report, judge_report, against)
    summary["evalset"]["subset"] = plan.subset
    summary["spend"] = paid.spend()
    log_notes = list(log_set.notes) if log_set else []
    notes = subset_notes(plan.subset) + _budget_notes(ledger) + log_notes + _data_notes(paid, log_rows)
    result = _optimize_into(summary, frame, tier_entries, settings, out_dir, notes, stage)
    if summary.get("labels"):
        summary["labels"]["source"] = str(labels_path) if labels_path is not None else "the eval set's label column"
    stage(f"writing the reports and summary.json to {out_dir}")
    record, reports = _reports_into(summary, frame, result, out_dir, log_set, monthly_queries, config.logs.sample_rate)
    summary_path = _write_summary(record, out_dir)
    return RunResult(
        out_dir,
        outcomes_path,
        summary_path,
        record,
        report,
        judge_report,
        notes,
        policy_path=result.policy_path,
        reports=reports,
        outcomes=frame,
        chosen_rows=result.chosen_rows,
    )


def optimize_file(
    outcomes_path: str | Path,
    *,
    config: Config | None = None,
    out_dir: str | Path | None = None,
    overrides: dict | None = None,
    monthly_queries: int | None = None,
    stage: Stage | None = None,
) -> RunResult:
    """`routeeval optimize`: the optimizer half on an existing outcomes table (replayed or imported). ``stage``:
    called with each stage's name as it starts (loading, fitting each router, sweeping, selecting, writing)."""
    from routeeval.outcomes import read_outcomes, read_outcomes_metadata, text_mask

    if config is not None:
        _check_routers(config, overrides)
    elif (overrides or {}).get("routers"):
        _check_routers(Config(tiers=()), overrides)
    checked = with_options(config or Config(tiers=()), monthly_queries=monthly_queries, **(overrides or {}))
    settings, monthly_queries = checked.optimize, checked.logs.monthly_queries
    stage = stage or (lambda _name: None)
    stage(f"loading outcomes from {outcomes_path}")
    frame = read_outcomes(outcomes_path, compact=True)
    metadata = read_outcomes_metadata(outcomes_path)
    tier_entries = _tiers_from(frame, metadata, config)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(outcomes_path)
    simulated = any(t.get("simulated") for t in tier_entries)
    names = [t["name"] for t in tier_entries]
    from routeeval.stats import summarize_tiers

    stage(f"summarizing {len(frame):,} outcome rows × {len(names)} tiers")
    eval_ids = frame.loc[text_mask(frame[C.SOURCE], C.SOURCE_EVAL, missing=True), C.ROW_ID]
    subset = json.loads(metadata["evalset_subset"]) if metadata.get("evalset_subset") else None  # run --limit/--sample
    summary = {
        "routeeval_version": __version__,
        "created_at": _now(),
        "simulated": simulated,
        "cost_map_version": metadata.get("cost_map_version"),
        "outcomes": {"path": str(outcomes_path), "rows": len(frame)},
        "evalset": {
            "path": metadata.get("evalset_path") or metadata.get("dataset") or str(outcomes_path),
            "sha256": metadata.get("evalset_sha256"),
            "rows": int(eval_ids.nunique()),
            "subset": subset,
        },
        "tiers": tier_entries,
        "single_tiers": summarize_tiers(frame, names, settings.confidence, source=C.SOURCE_EVAL),
    }
    notes = subset_notes(subset)
    from_labels = _learned_from_labels(frame, metadata)
    if from_labels:
        settings, label_notes = _labels_settings(settings, int(eval_ids.nunique()), str(outcomes_path))
        notes += label_notes
    _start_outputs(out_dir)
    result = _optimize_into(summary, frame, tier_entries, settings, out_dir, notes, stage)
    if from_labels:  # the labels-vs-outcomes check would compare the labels with a table built from them
        summary["labels"] = None
    stage(f"writing the reports and summary.json to {out_dir}")
    record, reports = _reports_into(summary, frame, result, out_dir, None, monthly_queries, checked.logs.sample_rate)
    summary_path = _write_summary(record, out_dir)
    return RunResult(
        out_dir,
        Path(outcomes_path),
        summary_path,
        record,
        None,
        None,
        notes,
        policy_path=result.policy_path,
        reports=reports,
        outcomes=frame,
        chosen_rows=result.chosen_rows,
        outcomes_written=False,
    )


def checked_run_config(
    config: Config, overrides: dict | None, max_cost_usd: float | None, monthly_queries: int | None
) -> Config:
    """The run's config with its command-line options applied, every router name and number checked."""
    _check_routers(config, overrides)
    return with_options(config, max_cost_usd=max_cost_usd, monthly_queries=monthly_queries, **(overrides or {}))


@dataclass
class RunPlan:
    """What a run reads before its first call: the rows (the subset, if any), their scorers, and every tier call."""

    eval_set: EvalSet
    log_set: LogSet | None
    scorers: dict
    requests: list[CallRequest]  # every (row, tier) call, eval rows first
    subset: dict | None  # summary.json's evalset.subset: how the rows were picked, or None for the whole set
    logprobs: dict[str, str]  # tier -> whether the replay asks it for log-probabilities (logprob_requests)


def plan_run(
    evalset_path: str | Path,
    config: Config,
    *,
    logs_path: str | Path | None = None,
    labels_path: str | Path | None = None,
    subset: RowSubset | None = None,
) -> RunPlan:
    """Load and check the rows, pick the subset, check every row scorable, and list the calls (`run` and
    `run --dry-run` share this, so the dry run prices exactly the calls the run would make)."""
    eval_set = load_eval_set(evalset_path, config.columns)
    if labels_path is not None:
        eval_set = with_labels(eval_set, labels_path)
    eval_set, picked = subset_eval_set(eval_set, subset)
    log_set = load_logs(logs_path, config.columns) if logs_path is not None else None
    scorers = row_scorers(eval_set, config.scoring, config.path)
    logprobs = logprob_requests(config)  # the cascade's tiers are asked for log-probabilities: other cache keys
    requests = build_requests(eval_set, log_set, tiers_asking_logprobs(config.tiers, logprobs))
    return RunPlan(eval_set, log_set, scorers, requests, picked, logprobs)


@dataclass(frozen=True)
class RowSubset:
    """``--limit N`` (the eval set's first N rows) or ``--sample N [--seed S]`` (N rows drawn with a seed,
    proportionally from each intent when the rows have intents); checked when made."""

    limit: int | None = None
    sample: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        from routeeval.errors import ConfigError

        if self.limit is not None and self.sample is not None:
            raise ConfigError("--limit and --sample both pick the rows to run; give one of them.")
        if self.seed is not None and self.sample is None:
            raise ConfigError("--seed seeds --sample; give --sample N with it.")
        for option, value in (("--limit", self.limit), ("--sample", self.sample)):
            if value is not None and value < 1:
                raise ConfigError(f"{option} must be at least 1, got {value}.")
        if self.seed is not None and self.seed < 0:
            raise ConfigError(f"--seed must be at least 0, got {self.seed}.")

    @property
    def given(self) -> bool:
        return self.limit is not None or self.sample is not None


def subset_eval_set(eval_set: EvalSet, subset: RowSubset | None) -> tuple[EvalSet, dict | None]:
    """The rows ``subset`` picks, in the file's order, and the record of how (None: every row)."""
    from dataclasses import replace

    if subset is None or not subset.given:
        return eval_set, None
    rows = eval_set.rows
    record: dict = {"method": "limit" if subset.limit is not None else "sample", "rows_in_file": len(rows)}
    if subset.limit is not None:
        kept = list(range(min(subset.limit, len(rows))))
        record.update(n=subset.limit, seed=None, stratified_by=None)
    else:
        n, seed = int(subset.sample or 0), subset.seed if subset.seed is not None else 0
        intents = [row.intent for row in rows]
        stratified = any(intent is not None for intent in intents)
        kept = _stratified_sample(intents if stratified else [None] * len(rows), n, seed)
        record.update(n=n, seed=seed, stratified_by="intent" if stratified else None)
    record["rows"] = len(kept)
    return replace(eval_set, rows=[rows[i] for i in kept]), record


def _stratified_sample(strata: list, n: int, seed: int) -> list[int]:
    """Indexes of ``n`` items drawn with ``seed``, each stratum's share proportional to its size (largest
    remainders round), sorted; every index when ``n`` covers them all."""
    import random

    if n >= len(strata):
        return list(range(len(strata)))
    members: dict = {}
    for index, stratum in enumerate(strata):
        members.setdefault(stratum, []).append(index)
    exact = {stratum: n * len(group) / len(strata) for stratum, group in members.items()}
    quota = {stratum: int(share) for stratum, share in exact.items()}
    by_remainder = sorted(members, key=lambda s: -(exact[s] - quota[s]))  # stable: ties keep first-seen order
    for stratum in by_remainder[: n - sum(quota.values())]:
        quota[stratum] += 1
    rng = random.Random(seed)
    picked = [i for stratum, group in members.items() for i in rng.sample(group, quota[stratum])]
    return sorted(picked)


def subset_notes(subset: dict | None) -> list[str]:
    """The note every report carries when the run used only some of the eval set's rows."""
    if not subset:
        return []
    total, rows = subset["rows_in_file"], subset["rows"]
    if subset["method"] == "limit":
        how = f"the first {rows:,} of its {total:,} rows (--limit {subset['n']})"
    else:
        strata = ", stratified by intent" if subset.get("stratified_by") else ""
        how = f"{rows:,} of its {total:,} rows drawn at random (--sample {subset['n']} --seed {subset['seed']}{strata})"
    return [f"SUBSET: this run used {how}; its figures describe those rows, not the whole eval set."]


BASIS_HUMAN_LABELS = "human labels"  # the outcomes metadata's "basis" of a table built from labels (import labels)
LABELS_SCORER = "human label (easy/hard)"  # the scorer column of such a table
_NOT_FROM_LABELS = {  # routers labels cannot train, and why
    "cascade": "it escalates on the cheapest tier's answer, and labels record no answer",
    "llm": "it needs a tier's triage calls, and no tier was called",
}


def _learned_from_labels(frame, metadata: dict) -> bool:
    """Whether the table was built from human easy/hard labels (``routeeval import labels``): its metadata's basis,
    or (the metadata lost) every row's scorer."""
    from routeeval.outcomes import text_mask

    if metadata.get("basis") == BASIS_HUMAN_LABELS:
        return True
    return len(frame) > 0 and bool(text_mask(frame[C.SCORER], LABELS_SCORER).all())


def _labels_settings(settings, n_rows: int, where: str) -> tuple:
    """(settings, notes) for a table of labels: only the routers labels can train, and the notes that say so."""
    from dataclasses import replace

    from routeeval.errors import ConfigError
    from routeeval.routers.registry import router_names, routers_to_fit

    wanted = routers_to_fit(settings)
    kept = tuple(name for name in wanted if name not in _NOT_FROM_LABELS)
    if not kept:
        trainable = ", ".join(name for name in router_names() if name not in _NOT_FROM_LABELS)
        raise ConfigError(
            f"{where} holds human easy/hard labels, which cannot train {', '.join(wanted)}; choose from: {trainable}."
        )
    notes = [
        f"This policy was learned from human easy/hard labels alone ({n_rows:,} rows, no tier called): its "
        "accuracy figures are the labels' claim; replay it with routeeval run before trusting them."
    ]
    notes += [f"{name} router skipped: {_NOT_FROM_LABELS[name]}" for name in wanted if name in _NOT_FROM_LABELS]
    return replace(settings, routers=kept), notes


def _optimize_into(summary, frame, tier_entries, settings, out_dir, notes, stage: Stage | None = None):
    """Run the optimizer and merge its frontier, metrics, chosen point and hold-out into ``summary``."""
    from routeeval.optimize import optimize_outcomes

    provenance = {
        "evalset_sha256": summary["evalset"]["sha256"],
        "rows": summary["evalset"]["rows"],
        "cost_map_version": summary.get("cost_map_version"),
        "simulated": summary.get("simulated"),
    }
    if summary["evalset"].get("subset"):
        provenance["evalset_subset"] = summary["evalset"]["subset"]
    result = optimize_outcomes(
        frame,
        tiers=tier_entries,
        settings=settings,
        provenance=provenance,
        out_dir=out_dir,
        where=str(summary.get("outcomes", {}).get("path", "outcomes")),
        log_window=(summary.get("logs") or {}).get("date_range"),
        stage=stage,
    )
    summary.update(result.summary)
    summary["policy_path"] = str(result.policy_path) if result.policy_path else None
    notes += result.notes
    summary["notes"] = list(notes)
    return result


def _reports_into(
    summary: dict, frame, result, out_dir, logs, monthly_queries, sample_rate=None
) -> tuple[RunSummary, dict[str, Path]]:
    """The run's typed record, built once from ``summary``; write report.html, report.md and frontier.svg from it.
    The record carries each router's curve (``curves``) and the figures the reports show (``report``)."""
    from routeeval.report.figures import report_figures, report_summary, router_curves
    from routeeval.report.write import write_reports

    record = RunSummary.from_json(summary)
    record.curves = router_curves(result.points)
    figures = report_figures(
        record, frame, result.chosen_rows, logs, monthly_queries, data=result.data, sample_rate=sample_rate
    )
    record.report = report_summary(figures)
    paths = write_reports(out_dir, record, frame, result.chosen_rows, logs, monthly_queries, figures=figures)
    return record, paths


def _check_routers(config: Config, overrides: dict | None) -> None:
    """The routers named in the config and on the command line are registered ones (before any call)."""
    from routeeval.routers.registry import check_router_names

    check_router_names(config.optimize.routers, where=config.path)
    check_router_names((overrides or {}).get("routers") or ())


def _start_outputs(out_dir: Path) -> None:
    """Before a run writes its files: remove an earlier summary.json from the folder. summary.json is written
    last, so a folder with a summary holds one complete run (each file is written atomically)."""
    with contextlib.suppress(NotADirectoryError):  # out_dir is a file: the first write says so, naming it
        (Path(out_dir) / "summary.json").unlink(missing_ok=True)


def _write_summary(summary: RunSummary, out_dir: Path) -> Path:
    path = Path(out_dir) / "summary.json"
    write_text_atomic(path, json.dumps(summary.to_json(), indent=2, allow_nan=False) + "\n")
    return path


def _tiers_from(frame, metadata: dict, config: Config | None) -> list[dict]:
    """Tier entries, cheapest first: from the run that wrote the outcomes, the config, or the data."""
    present = [str(t) for t in frame[C.TIER].dropna().unique()]
    if "tiers" in metadata:
        stored = json.loads(metadata["tiers"])
        if stored and isinstance(stored[0], dict):
            return [t for t in stored if t["name"] in present]
        ordered = [str(t) for t in stored if str(t) in present]
    elif config is not None and {t.name for t in config.tiers} >= set(present):
        prices = price_tiers(config.tiers, config.path)
        return [_tier_entry(t, prices[t.name]) for t in config.tiers if t.name in present]
    else:
        means = frame.groupby(C.TIER)[C.COST_USD].mean().sort_values(kind="stable")
        ordered = [str(t) for t in means.index]
    return [
        {
            "name": name,
            "model": name,
            "price_in_per_mtok": None,
            "price_out_per_mtok": None,
            "price_source": "outcomes (cost per call as recorded)",
            "simulated": False,
        }
        for name in ordered
    ]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_requests(eval_set: EvalSet, log_set: LogSet | None, tiers: tuple[Tier, ...]) -> list[CallRequest]:
    """Every (row, tier) call, eval rows first. Simulated tiers get the row's answer key."""
    requests = []
    wrong = wrong_answers(eval_set.rows)
    for row in eval_set.rows:
        key = eval_sim_row(row, wrong)
        requests += [CallRequest(row.row_id, tier, list(row.messages), key) for tier in tiers]
    if log_set is not None:
        for record, key in zip(log_set.records, log_sim_rows(log_set.records), strict=True):
            requests += [CallRequest(record.query.row_id, t, list(record.query.messages), key) for t in tiers]
    return requests


def run_judge(rows: list[ScoredRow], config: Config, paid: PaidCalls) -> ReplayReport | None:
    """Score the answers queued for an LLM judge: one cached call per (row, tier) answer; strict score parsing."""
    requests, targets = judge_requests(rows, config)
    if not requests:
        return None
    judge_report = paid.replay(requests, "judge")
    for (row, tier_name), result in zip(targets, judge_report.results, strict=True):
        row.judged_as(tier_name, parse_judge_score(result.response) if result.ok else None, result)
    return judge_report


def judge_requests(rows: list[ScoredRow], config: Config) -> tuple[list[CallRequest], list[tuple[ScoredRow, str]]]:
    """The judge's calls for the answers queued for it, and the (row, tier) each one grades."""
    requests, targets = [], []
    for row in rows:
        if not row.judged:
            continue
        judge = row.scorer
        if not isinstance(judge, JudgeScorer):
            raise TypeError(f"row {row.query.row_id} is queued for a judge but its scorer is {judge.spec}")
        judge_tier = config.tier(judge.tier)
        for tier_name in row.judged:
            response = row.results[tier_name].response
            messages = judge.messages(row.query.text, response, row.reference)
            sim_row = judge_sim_row(bool(exact()(response, row.reference))) if judge_tier.simulated else None
            requests.append(CallRequest(f"{row.query.row_id}::judge::{tier_name}", judge_tier, messages, sim_row))
            targets.append((row, tier_name))
    return requests, targets


@dataclass
class PaidCalls:
    """The run's paid phases (replay, judge, llm-router triage): one cache, one budget, their reports."""

    prices: dict
    settings: ReplayConfig
    cache: ResponseCache
    ledger: SpendLedger
    progress: ProgressFactory
    reports: dict[str, ReplayReport] = field(default_factory=dict)

    def replay(self, requests: list[CallRequest], phase: str) -> ReplayReport:
        label = {"triage": "llm router"}.get(phase, phase)
        report = replay_calls(
            requests,
            self.prices,
            self.settings,
            self.cache,
            progress=self.progress(label),
            ledger=self.ledger,
            phase=phase,
        )
        earlier = self.reports.get(phase)
        self.reports[phase] = report if earlier is None else _merged(earlier, report)
        return report

    def spend(self) -> dict:
        """The run's spend: its total against the one budget, and each phase's calls and dollars."""
        entry = self.ledger.to_dict()
        entry["phases"] = {phase: _replay_entry(report) for phase, report in self.reports.items()}
        return entry


def _merged(first: ReplayReport, second: ReplayReport) -> ReplayReport:
    """One phase's two replays (the judge on eval rows, then on log rows) as one report."""

    def summed(a: dict, b: dict) -> dict:
        return {key: a.get(key, 0) + b.get(key, 0) for key in {**a, **b}}

    return ReplayReport(
        results=first.results + second.results,
        calls_made=first.calls_made + second.calls_made,
        cache_hits=first.cache_hits + second.cache_hits,
        spent_usd=first.spent_usd + second.spent_usd,
        budget_usd=first.budget_usd,
        skipped_budget=first.skipped_budget + second.skipped_budget,
        errors=first.errors + second.errors,
        wall_s=first.wall_s + second.wall_s,
        import_s=first.import_s + second.import_s,
        retries=first.retries + second.retries,
        errors_by_kind=summed(first.errors_by_kind, second.errors_by_kind),
        errors_by_tier={
            tier: summed(first.errors_by_tier.get(tier, {}), second.errors_by_tier.get(tier, {}))
            for tier in {**first.errors_by_tier, **second.errors_by_tier}
        },
        stopped_tiers={**first.stopped_tiers, **second.stopped_tiers},
    )


def _check_answers(config: Config, rows: list[ScoredRow], paid: PaidCalls, outcomes_path: Path) -> None:
    """Stop (exit 3, before any policy) when a tier has no scored eval row, or a phase stopped calling a tier."""
    problems = []
    for tier in config.tiers:
        scored = sum(tier.name in row.scores for row in rows)
        if not scored:
            reasons: dict[str, int] = {}
            for row in rows:
                reason = row.unscored.get(tier.name, "no score")
                reasons[reason] = reasons.get(reason, 0) + 1
            why = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
            problems.append(f"tier '{tier.name}' has no scored eval row ({why})")
    stopped = [why for report in paid.reports.values() for why in report.stopped_tiers.values()]
    if not problems and not stopped:
        return
    budget_only = not stopped and all("(budget" in problem and "failed" not in problem for problem in problems)
    advice = (
        "raise --max-cost (or [replay] max_cost_usd)"
        if budget_only
        else "fix what the tier needs (its key, model name or endpoint)"
    )
    raise ProviderError(
        "; ".join(problems + stopped) + f". No policy was written: {advice} and rerun; completed calls are in "
        f"the cache, and the answers so far in {outcomes_path}."
    )


def _budget_notes(ledger: SpendLedger) -> list[str]:
    skipped = {phase: n for phase, n in ledger.skipped_by_phase.items() if n}
    if not skipped:
        return []
    parts = ", ".join(f"{n} {_PHASE_WORDS.get(phase, phase)}" for phase, n in skipped.items())
    return [
        f"the --max-cost budget stopped the run at ${ledger.spent_usd:.4f} of ${ledger.budget_usd:.4f}: "
        f"{parts} were not made; rows they leave without an answer or a score are counted as unscored."
    ]


def _data_notes(paid: PaidCalls, log_rows: list[ScoredRow]) -> list[str]:
    """What the reader of the numbers must know: estimated usage, renamed log ids."""
    notes = []
    for phase, report in paid.reports.items():
        estimated: dict[str, int] = {}
        for result in report.results:
            if result.usage_estimated:
                estimated[result.tier] = estimated.get(result.tier, 0) + 1
        if estimated:
            where = ", ".join(f"{tier} {n}" for tier, n in estimated.items())
            notes.append(
                f"usage estimated: the provider gave no token counts for {sum(estimated.values())} {phase} answers "
                f"({where}); their tokens and cost are estimated from the text (about 4 characters a token)"
            )
    renamed = sum(row.row_id is not None for row in log_rows)
    if renamed:
        notes.append(
            f"{renamed} log ids are also eval-set ids; the outcomes write those log rows as '{LOG_ID_PREFIX}<id>' "
            "so that eval rows and log rows never share a key"
        )
    return notes


_PHASE_WORDS = {"replay": "tier calls", "judge": "judge calls", "triage": "llm-router triage calls"}


def _run_llm_router(eval_set, config, settings, paid: PaidCalls) -> list[dict]:
    """Ask the llm router's tier to triage every eval row (cached like any call): outcomes rows with
    source "router", the triage tier's answer, cost and latency (no score)."""
    classifier_tier, requests = triage_requests(eval_set, config, settings)
    report = paid.replay(requests, "triage")
    spec = f"llm_router(classifier_tier={classifier_tier!r})"
    return [
        outcome_record(row, result, None, spec, source=C.SOURCE_ROUTER)
        for row, result in zip(eval_set.rows, report.results, strict=True)
    ]


def triage_requests(eval_set: EvalSet, config: Config, settings) -> tuple[str, list[CallRequest]]:
    """The llm router's triage calls, one per eval row, and the tier that answers them."""
    from routeeval.routers import LLMRouter

    names = [t.name for t in config.tiers]
    router = LLMRouter(tiers=tuple(names), classifier_tier=settings.llm_router_tier or names[0])
    router.fit(intents=[row.intent for row in eval_set.rows])
    tier = config.tier(router.classifier_tier_)
    requests = []
    for row in eval_set.rows:
        sim_row = triage_sim_row(row.label) if tier.simulated else None
        requests.append(CallRequest(row.row_id, tier, router.request(row.input_value), sim_row))
    return router.classifier_tier_, requests


def _log_reference(config: Config, eval_rows: list[ScoredRow]) -> str:
    """What log rows are scored against: the recorded production answer, or the reference tier's, chosen by the
    rule the optimizer's baseline follows (``optimize.reference_tier``) on the same selection rows."""
    import numpy as np

    from routeeval.optimize import reference_tier, selection_split

    if config.scoring.log_reference == "production":
        return "production"
    names = [tier.name for tier in config.tiers]
    score = np.array([[row.scores.get(name, np.nan) for name in names] for row in eval_rows], dtype=float)
    cost = np.array(
        [
            [np.nan if row.results[name].cost_usd is None else row.results[name].cost_usd for name in names]
            for row in eval_rows
        ],
        dtype=float,
    )
    selection, _ = selection_split([row.query.split for row in eval_rows], len(eval_rows), config.optimize)
    selection = selection[np.isfinite(score[selection]).all(axis=1)] if len(eval_rows) else selection
    if not selection.size:
        return config.optimize.baseline or names[-1]  # nothing scored everywhere: the run stops before selection
    return reference_tier(score[selection], cost[selection], names, config.optimize)


def _summary(config, tier_entries, eval_set, log_set, frame, report, judge_report, log_reference: str) -> dict:
    from routeeval.stats import summarize_tiers

    tier_names = [t.name for t in config.tiers]
    single_tiers = summarize_tiers(frame, tier_names, config.optimize.confidence, source=C.SOURCE_EVAL)
    summary = {
        "routeeval_version": __version__,
        "created_at": _now(),
        "simulated": config.simulated,
        "cost_map_version": cost_map_version(),
        "evalset": {"path": str(eval_set.path), "sha256": eval_set.sha256, "rows": len(eval_set.rows)},
        "tiers": tier_entries,
        "baseline": None,  # the optimizer's (optimize._most_accurate picks it), filled in by _optimize_into
        "single_tiers": single_tiers,
        "replay": _replay_entry(report),
        "judge_replay": _replay_entry(judge_report) if judge_report else None,
        "holdout": None,
    }
    if log_set is not None:
        summary["logs"] = {
            "path": str(log_set.path),
            "sha256": log_set.sha256,
            "format": log_set.kind,  # the container: jsonl, json (an array), csv, parquet, a folder
            "log_format": log_set.log_format,  # the record format detected: routeeval, openai-chat, ...
            "rows": len(log_set.records),
            "reference_tier": log_reference,
            "scorer": agreement_spec(scorer_from_config(config.scoring.scorer, config.scoring), log_reference),
            "agreement": summarize_tiers(
                frame, [t.name for t in config.tiers], config.optimize.confidence, source=C.SOURCE_LOG
            ),
            "date_range": log_date_range(log_set),
        }
    return summary


def _tier_entry(tier: Tier, price: TierPrice, logprobs: str | None = None) -> dict:
    entry = {
        "name": tier.name,
        "model": tier.model,
        "price_in_per_mtok": price.price_in_per_mtok,
        "price_out_per_mtok": price.price_out_per_mtok,
        "price_source": price.source,
        "simulated": tier.simulated,
    }
    if logprobs is not None:
        entry["logprobs"] = logprobs
    return entry


# Whether the replay asked a tier for token log-probabilities (the cascade's confidence): a tier entry's "logprobs".
LOGPROBS_REQUESTED = "requested"  # routeeval added logprobs = true: litellm lists the parameter for the provider
LOGPROBS_IN_PARAMS = "set in params"  # the tier's params set logprobs themselves; left as they are
LOGPROBS_UNSUPPORTED = "not supported"  # litellm lists no logprobs parameter for the provider: a verifier instead
LOGPROBS_SIMULATED = "simulated"  # the simulator returns them unasked
LOGPROBS_NOT_NEEDED = "not needed"  # the last tier: a cascade takes its answer whatever its confidence


def logprob_requests(config: Config) -> dict[str, str]:
    """Tier name -> whether the replay asks it for token log-probabilities, when the cascade router is among the
    routers (else empty): every tier a cascade can stop at (all but the last) is asked where litellm says its
    provider takes ``logprobs``, unless its params already set it."""
    from routeeval.pricing import supports_logprobs
    from routeeval.routers.registry import routers_to_fit

    if "cascade" not in routers_to_fit(config.optimize) or not config.tiers:
        return {}
    decisions = {}
    for tier in config.tiers[:-1]:
        if "logprobs" in tier.params:
            decisions[tier.name] = LOGPROBS_IN_PARAMS
        elif tier.simulated:
            decisions[tier.name] = LOGPROBS_SIMULATED
        elif supports_logprobs(tier.model):
            decisions[tier.name] = LOGPROBS_REQUESTED
        else:
            decisions[tier.name] = LOGPROBS_UNSUPPORTED
    decisions[config.tiers[-1].name] = LOGPROBS_NOT_NEEDED
    return decisions


def tiers_asking_logprobs(tiers: tuple[Tier, ...], decisions: dict[str, str]) -> tuple[Tier, ...]:
    """``tiers`` with ``logprobs = true`` added to the params of those ``decisions`` marks requested. The params
    are part of each call's cache key, so an answer cached without log-probabilities is never taken for one
    with them."""
    from dataclasses import replace

    return tuple(
        replace(tier, params={**tier.params, "logprobs": True})
        if decisions.get(tier.name) == LOGPROBS_REQUESTED
        else tier
        for tier in tiers
    )


def _replay_entry(report: ReplayReport) -> dict:
    return {
        "calls": len(report.results),
        "calls_made": report.calls_made,
        "cache_hits": report.cache_hits,
        "retries": report.retries,
        "errors": report.errors,
        "spent_usd": report.spent_usd,
        "budget_usd": report.budget_usd,
        "skipped_budget": report.skipped_budget,
        "usage_estimated": sum(r.usage_estimated for r in report.results),
        "errors_by_kind": dict(report.errors_by_kind),
        "errors_by_tier": {tier: dict(kinds) for tier, kinds in report.errors_by_tier.items()},
        "stopped_tiers": dict(report.stopped_tiers),
        "wall_s": round(report.wall_s, 3),
        "import_s": round(report.import_s, 3),
    }


def with_labels(eval_set: EvalSet, labels_path: str | Path) -> EvalSet:
    """``eval_set`` with each row's ``label`` from a labels file: the labelers' majority (a tie, or only skips,
    leaves the row's own label). A label for an id the eval set lacks is an error naming the file and line."""
    from collections import Counter
    from dataclasses import replace

    from routeeval.labeling.labels import read_labels

    labels = read_labels(labels_path, [row.row_id for row in eval_set.rows])
    votes: dict[str, Counter[str]] = {}
    for (_labeler, row_id), event in labels.current().items():
        if event.label in ("easy", "hard"):
            votes.setdefault(row_id, Counter())[event.label] += 1
    chosen = {}
    for row_id, counts in votes.items():
        (first, top), *rest = counts.most_common()
        if not rest or rest[0][1] < top:
            chosen[row_id] = first
    rows = [replace(row, label=chosen[row.row_id]) if row.row_id in chosen else row for row in eval_set.rows]
    return replace(eval_set, rows=rows)
