"""The ``routeeval`` command line: each command parses, makes one library call, renders.

Heavy libraries (litellm, pandas, sklearn) are imported inside the functions that need them so
``routeeval --help`` stays fast.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import re
import sys
import typing
from pathlib import Path

import typer
from typer.core import TyperCommand, TyperGroup

from routeeval.errors import RouteEvalError


class _PlainValuesGroup(TyperGroup):
    """The command groups: their own options' values converted plainly (see :func:`_plain_values`)."""

    def parse_args(self, ctx, args):
        _plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)


class _PlainValuesCommand(TyperCommand):
    """Every command: its options' values converted plainly (see :func:`_plain_values`)."""

    def parse_args(self, ctx, args):
        _plain_values(self.get_params(ctx))
        return super().parse_args(ctx, args)


app = typer.Typer(
    name="routeeval",
    cls=_PlainValuesGroup,
    help="Measure how much of your LLM bill routing saves without losing accuracy, then ship the policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rendering it with rich costs ~130 ms of imports per call
)
cache_app = typer.Typer(
    cls=_PlainValuesGroup, help="Response cache housekeeping.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(cache_app, name="cache")


def _print_version(value: bool) -> None:
    if value:
        from routeeval import __version__

        typer.echo(f"routeeval {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print routeeval's version and exit."
    ),
) -> None:
    """The options of ``routeeval`` itself (the commands have their own)."""


DEFAULT_CONFIG = "routeeval.toml"
CONFIG_OPTION = typer.Option(
    Path(DEFAULT_CONFIG), "--config", "-c", help="Config file (tiers, replay, scoring, optimize)."
)
JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on stdout instead of tables.")
MAX_DROP_OPTION = typer.Option(
    None,
    "--max-drop",
    help="Largest accuracy drop vs the baseline tolerated, a fraction (0.02 = 2 points) [default: 0.01].",
)
CONFIDENCE_OPTION = typer.Option(
    None, "--confidence", help="Confidence for the drop's upper bound, a fraction [default: 0.95]."
)
BUDGET_OPTION = typer.Option(
    None,
    "--budget-per-1k",
    help="Instead: the most accurate policy costing at most this USD per 1,000 queries [default: none].",
)
BASELINE_OPTION = typer.Option(None, "--baseline", help="Tier to compare against [default: the most accurate].")
HOLDOUT_OPTION = typer.Option(
    None,
    "--holdout-share",
    help="Hold out this share of rows (0-1) from selection; measure the policy on them [default: none].",
)
MONTHLY_OPTION = typer.Option(
    None,
    "--monthly-queries",
    help="Production's monthly volume, for the dollar projection [default: none: per-1k figures only].",
)
METADATA_ROUTERS_OPTION = typer.Option(
    False,
    "--allow-metadata-routers",
    help="Let routers that read request metadata (static/intent: metadata.intent) be chosen even when the logs "
    "do not show production sending it.",
)
ROUTERS_OPTION = typer.Option(
    None, "--router", help="Router to try (repeat the option) [default: cascade, classifier, knn, llm, static]."
)
MAP_OPTION = typer.Option(
    None,
    "--map",
    metavar="FIELD=COLUMN",
    help="Read your file's COLUMN as routeeval's FIELD, e.g. --map input=question (repeat the option; "
    "logs.FIELD=COLUMN or evalset.FIELD=COLUMN for one kind of file); overrides [columns] in the config.",
)
_DEFAULT_TAG = re.compile(r"\[default: [^\]]*\]")


class _DefaultsInForce(_PlainValuesCommand):
    """A command whose help shows each option's default in force: the config file's value, else the built-in."""

    config_default: str | None = DEFAULT_CONFIG

    def parse_args(self, ctx, args):
        ctx.meta["routeeval.args"] = list(args)  # --help is handled while parsing: keep the words it came with
        return super().parse_args(ctx, args)

    def format_options(self, ctx, formatter):
        in_force = _defaults_in_force(ctx.meta.get("routeeval.args", []), self.config_default)
        for param in self.get_params(ctx):
            text = in_force.get(param.name or "")
            if text is not None and param.help:
                param.help = _DEFAULT_TAG.sub(lambda _m, t=text: f"[default: {t}]", param.help)
        super().format_options(ctx, formatter)


class _DefaultsInForceOptionalConfig(_DefaultsInForce):
    config_default = None  # `optimize` reads a config only when --config is given


def _defaults_in_force(args: list[str], config_default: str | None) -> dict[str, str]:
    """Option name -> its default text, from the config that ``args`` name (or the default config, if any)."""
    from routeeval.config import load_config

    path = config_default
    for index, word in enumerate(args):
        if word in ("--config", "-c") and index + 1 < len(args):
            path = args[index + 1]
        elif word.startswith("--config="):
            path = word.split("=", 1)[1]
    if path is None or not Path(path).is_file():
        return {}
    try:
        config = load_config(path)
    except RouteEvalError:
        return {}  # the command itself will say what is wrong with the file

    def text(value, built_in) -> str | None:
        if value == built_in:
            return None
        shown = ", ".join(value) if isinstance(value, tuple) else "none" if value is None else f"{value:g}"
        return f"{shown}, from {path}" if not isinstance(value, str) else f"{value}, from {path}"

    from routeeval.config import LogsConfig, OptimizeConfig, ReplayConfig

    optimize, built_in = config.optimize, OptimizeConfig()
    pairs = {
        "max_drop": (optimize.max_drop, built_in.max_drop),
        "confidence": (optimize.confidence, built_in.confidence),
        "budget_per_1k": (optimize.budget_per_1k_usd, built_in.budget_per_1k_usd),
        "baseline": (optimize.baseline, built_in.baseline),
        "holdout_share": (optimize.holdout_share, built_in.holdout_share),
        "router": (optimize.routers, built_in.routers),
        "max_cost": (config.replay.max_cost_usd, ReplayConfig().max_cost_usd),
        "monthly_queries": (config.logs.monthly_queries, LogsConfig().monthly_queries),
    }
    return {name: shown for name, (value, default) in pairs.items() if (shown := text(value, default)) is not None}


def _overrides(max_drop, confidence, budget, baseline, holdout_share, routers, allow_metadata=False) -> dict:
    """The selection options by config key (checked, with the config's, by ``config.with_options``)."""
    return {
        "allow_metadata_routers": True if allow_metadata else None,
        "max_drop": max_drop,
        "confidence": confidence,
        "budget_per_1k_usd": budget,
        "baseline": baseline,
        "holdout_share": holdout_share,
        "routers": list(routers) if routers else None,
    }


def handle_errors(command):
    """Turn RouteEvalError into one line on stderr and its documented exit code; no traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RouteEvalError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: completed calls are saved in the cache; rerun to resume.", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _console(stderr: bool = False):
    from routeeval.report.terminal import make_console

    return make_console(stderr=stderr)


@app.command(cls=_DefaultsInForce)
@handle_errors
def run(
    evalset: Path = typer.Argument(..., help="Eval set: JSONL (canonical), CSV or Parquet."),
    logs: Path | None = typer.Option(
        None,
        "--logs",
        help="Sampled production logs (no gold), format detected: routeeval rows, OpenAI chat records or litellm "
        "spend logs as JSONL, a JSON array (/spend/logs), CSV or Parquet; a folder of Parquet files; or a folder "
        "holding an OpenAI batch's input and output files.",
    ),
    config: Path = CONFIG_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Run folder [default: reports/<evalset>-<UTC time>]."),
    max_cost: float | None = typer.Option(
        None,
        "--max-cost",
        help="One ceiling in USD over every paid call of the run (replay, judge, llm-router triage) [default: none].",
    ),
    max_drop: float | None = MAX_DROP_OPTION,
    confidence: float | None = CONFIDENCE_OPTION,
    budget_per_1k: float | None = BUDGET_OPTION,
    baseline: str | None = BASELINE_OPTION,
    holdout_share: float | None = HOLDOUT_OPTION,
    router: list[str] | None = ROUTERS_OPTION,
    allow_metadata_routers: bool = METADATA_ROUTERS_OPTION,
    monthly_queries: int | None = MONTHLY_OPTION,
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="A labels file (routeeval label) for the eval rows: its easy/hard labels replace their label column, "
        "and the report checks them against what the tiers did.",
    ),
    limit: int | None = typer.Option(None, "--limit", help="Run only the eval set's first N rows (logs: all)."),
    sample: int | None = typer.Option(
        None,
        "--sample",
        help="Run only N eval rows drawn at random with --seed (proportionally per intent when rows have one).",
    ),
    seed: int | None = typer.Option(None, "--seed", help="The seed of --sample [default: 0]."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Call nothing: print the calls the run would make per tier and phase, what is cached, the estimated "
        "tokens and dollars, and whether they fit --max-cost; exit 0.",
    ),
    map_: list[str] | None = MAP_OPTION,
    as_json: bool = JSON_OPTION,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
) -> None:
    """The whole loop: replay EVALSET against every tier, score, optimize, write the policy and report."""
    from routeeval.config import load_config, with_columns
    from routeeval.pipeline import RowSubset, run_evaluation
    from routeeval.report.progress import RichReplayProgress, stage_progress

    settings = with_columns(load_config(config), map_)
    subset = RowSubset(limit=limit, sample=sample, seed=seed)
    overrides = _overrides(max_drop, confidence, budget_per_1k, baseline, holdout_share, router, allow_metadata_routers)
    if dry_run:
        from routeeval.dryrun import estimate_run
        from routeeval.report.dryrun import render_dry_run

        record = estimate_run(
            evalset, config=settings, logs_path=logs, labels_path=labels, subset=subset, overrides=overrides,
            max_cost_usd=max_cost, monthly_queries=monthly_queries,
        )  # fmt: skip
        if as_json:
            typer.echo(json.dumps(record, indent=2))
        else:
            render_dry_run(record, _console())
        return
    show = progress and not as_json

    def make_progress(label: str):
        return RichReplayProgress(label, simulated=settings.simulated) if show else None

    with stage_progress("run", show=show) as stage:  # drawn from its first stage, once the replay's bars are done
        result = run_evaluation(
            evalset,
            logs_path=logs,
            config=settings,
            out_dir=out,
            max_cost_usd=max_cost,
            progress=make_progress,
            overrides=overrides,
            monthly_queries=monthly_queries,
            labels_path=labels,
            subset=subset,
            stage=stage,
        )
    _finish(result, as_json)


@app.command(cls=_DefaultsInForceOptionalConfig)
@handle_errors
def optimize(
    outcomes: Path = typer.Argument(..., help="Outcomes Parquet (from `run` or `import`)."),
    out: Path | None = typer.Option(None, "--out", help="Run folder [default: reports/<outcomes>-<UTC time>]."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Config for [optimize] settings and tier prices (optional)."
    ),
    max_drop: float | None = MAX_DROP_OPTION,
    confidence: float | None = CONFIDENCE_OPTION,
    budget_per_1k: float | None = BUDGET_OPTION,
    baseline: str | None = BASELINE_OPTION,
    holdout_share: float | None = HOLDOUT_OPTION,
    router: list[str] | None = ROUTERS_OPTION,
    allow_metadata_routers: bool = METADATA_ROUTERS_OPTION,
    monthly_queries: int | None = MONTHLY_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The optimizer half on an existing outcomes table: frontier, selection, policy.json, summary.json."""
    from routeeval.config import load_config
    from routeeval.pipeline import optimize_file
    from routeeval.report.progress import stage_progress

    settings = load_config(config) if config is not None else None
    overrides = _overrides(max_drop, confidence, budget_per_1k, baseline, holdout_share, router, allow_metadata_routers)
    with stage_progress("optimize", show=not as_json) as stage:
        result = optimize_file(
            outcomes, config=settings, out_dir=out, overrides=overrides, monthly_queries=monthly_queries, stage=stage
        )
    _finish(result, as_json)


@app.command(cls=_PlainValuesCommand)
@handle_errors
def route(
    policy: Path = typer.Argument(..., help="A policy.json written by `run` or `optimize`."),
    text: str | None = typer.Argument(None, help="The query to route (or give --messages)."),
    messages: str | None = typer.Option(
        None, "--messages", help='The query as chat messages, a JSON list: [{"role": "user", "content": "..."}].'
    ),
    metadata: str | None = typer.Option(
        None, "--metadata", help='Request metadata the policy may read, a JSON object: {"intent": "billing"}.'
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """One runtime decision for a query under POLICY, exactly as production would make it."""
    from routeeval.policy import load_router

    query = _route_query(text, messages)
    decision = load_router(policy).route(query, _json_option("--metadata", metadata, dict, "a JSON object"))
    if as_json:
        from dataclasses import asdict

        typer.echo(json.dumps(asdict(decision), indent=2))
        return
    typer.echo(f"{decision.tier} ({decision.model})  score={decision.score}  {decision.reason}")


def _route_query(text: str | None, messages: str | None):
    from routeeval.errors import ConfigError

    if (text is None) == (messages is None):
        raise ConfigError("give the query as TEXT or as --messages, not both and not neither.")
    if messages is None:
        return text
    value = _json_option("--messages", messages, list, "a JSON list of chat messages")
    if not all(isinstance(m, dict) and "role" in m and "content" in m for m in value):
        raise ConfigError('--messages must be a JSON list of chat messages, each {"role": ..., "content": ...}.')
    return value


def _json_option(option: str, value: str | None, kind: type, expected: str):
    """The option's JSON text parsed, or None when not given; ConfigError naming the option otherwise."""
    from routeeval.errors import ConfigError

    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ConfigError(f"{option} is not valid JSON ({exc}); expected {expected}.") from None
    except RecursionError:
        raise ConfigError(f"{option} is nested too deeply to read; expected {expected}.") from None
    if not isinstance(parsed, kind):
        raise ConfigError(f"{option} must be {expected}, got {type(parsed).__name__}.")
    return parsed


@app.command("import", cls=_PlainValuesCommand)
@handle_errors
def import_(
    dataset: str = typer.Argument(
        ..., help="Which format: routerbench, routellm, llmrouter, promptfoo, inspect, or labels."
    ),
    paths: list[Path] = typer.Argument(
        ...,
        help="The dataset's folder or file (see ../shared/data/*/SOURCE.md); promptfoo: its results JSON "
        "(promptfoo eval -o FILE.json); inspect: one eval log (.eval or .json) per model; labels: the sample file.",
    ),
    out: Path = typer.Option(..., "--out", help="Outcomes Parquet file to write."),
    scorer: str | None = typer.Option(
        None,
        "--scorer",
        help="promptfoo: pass (1 passed, 0 failed; the default) or score (promptfoo's 0-1 score); inspect: the "
        "scorer to read [default: the log's first].",
    ),
    labels: list[Path] | None = typer.Option(
        None,
        "--labels",
        help="labels only: a labels file (routeeval label) or Label Studio export for the sample (repeat the "
        "option); each row's majority easy/hard becomes a score on the config's cheapest and costliest tier.",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="labels: the config's tiers (cheapest first) and prices [default: " + DEFAULT_CONFIG + "]; "
        "promptfoo, inspect: tiers whose name or model matches give names and prices (else litellm's cost map).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Convert public per-model result tables, promptfoo results or inspect_ai logs (evals already paid for), or
    human easy/hard labels of a sample (a first policy before any replay), into an outcomes table."""
    from routeeval.config import load_config
    from routeeval.errors import ConfigError

    if dataset == "labels":
        from routeeval.labeling.train import import_labels

        if not labels:
            raise ConfigError(
                f"import labels needs --labels LABELS: the labels file(s) routeeval label wrote for {paths[0]}."
            )
        if len(paths) != 1 or scorer is not None:
            raise ConfigError("import labels reads one sample file and no --scorer.")
        result = import_labels(paths[0], list(labels), load_config(config or DEFAULT_CONFIG), out)
    else:
        from routeeval.importers import import_outcomes

        if labels:
            raise ConfigError(f"--labels is read only by `routeeval import labels`, not by {dataset}.")
        tiers = load_config(config).tiers if config else ()
        from routeeval.report.progress import stage_progress

        with stage_progress(f"import {dataset}", show=not as_json) as stage:
            result = import_outcomes(dataset, list(paths), out, scorer=scorer, tiers=tiers, stage=stage)
    if as_json:
        typer.echo(json.dumps({"out": str(result.out), **result.metadata}, indent=2, default=str))
        return
    typer.echo(
        f"wrote {result.out}: {result.n_queries:,} queries × {len(result.tiers)} tiers = {result.n_rows:,} rows "
        f"(tiers, cheapest first: {', '.join(result.tiers)})"
    )
    if dataset == "labels":
        counts = result.metadata["counts"]
        typer.echo(
            f"from {counts['labeled_rows']} labeled rows ({counts['easy']} easy, {counts['hard']} hard); left out: "
            f"{counts['skipped']} skipped, {counts['disputed']} disputed, {counts['unlabeled']} unlabeled"
        )
    elif dataset in ("promptfoo", "inspect"):
        failed = result.metadata.get("failed_calls", result.metadata.get("failed_samples", 0))
        costs = "; ".join(f"{tier}: {source}" for tier, source in result.metadata["costs"].items())
        typer.echo(
            f"scored by {result.metadata['scorer']}; {failed} failed calls kept as errors (no score); cost from {costs}"
        )


def _finish(result, as_json: bool) -> None:
    """Render a run or optimize result; exit 1 when no policy cheaper than the baseline qualified."""
    if as_json:
        typer.echo(json.dumps(result.summary.to_json(), indent=2))
    else:
        from routeeval.report.terminal import render_run

        render_run(result, _console())
    selection = result.summary.selection
    if selection is not None and selection.found_cheaper is False:
        typer.echo(f"check failed: {selection.reason}", err=True)
        raise typer.Exit(1)


@app.command(cls=_PlainValuesCommand)
@handle_errors
def drift(
    policy: Path = typer.Argument(..., help="The deployed policy.json."),
    logs: Path = typer.Argument(
        ..., help="Fresh production logs: a file or folder, format detected (see --logs of run)."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Config with the tiers (to replay and price them) [default: ./routeeval.toml when there is one].",
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="The run folder that wrote the policy (summary.json, outcomes.parquet): for a policy without a "
        "reference profile, and to compare the queries themselves.",
    ),
    evalset: Path | None = typer.Option(
        None, "--evalset", help="The eval set: reference queries for the domain classifier, and --refit's data."
    ),
    sample: int | None = typer.Option(
        None,
        "--sample",
        help="Log rows replayed on their tier and the baseline (the paid check; 0: none) [default: 200].",
    ),
    max_cost: float | None = typer.Option(
        None, "--max-cost", help="One ceiling in USD over every paid call of the check [default: the config's]."
    ),
    since: str | None = typer.Option(None, "--since", help="Only log rows from this date (UTC, e.g. 2026-11-01)."),
    until: str | None = typer.Option(
        None, "--until", help="Only log rows up to this date, the whole day included (UTC, e.g. 2026-11-30)."
    ),
    fail_on: str = typer.Option(
        "fail", "--fail-on", help="Exit 1 on a failed check (fail) or on a warning too (warn)."
    ),
    refit: bool = typer.Option(
        False, "--refit", help="Re-run the optimizer on --evalset and the fresh logs; write candidate/policy.json."
    ),
    max_rows: int | None = typer.Option(
        None, "--max-rows", help="Log rows the free checks route; more are sampled down [default: 1000000]."
    ),
    monthly_queries: int | None = MONTHLY_OPTION,
    map_: list[str] | None = MAP_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Output folder [default: reports/drift-<UTC time>]."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-check a deployed policy against fresh logs: exit 0 ok, 1 a check failed (--fail-on), 2 bad input, 3 a
    provider failure stopped the paid check."""
    from routeeval.drift import DriftOptions, run_drift
    from routeeval.report.drift import render_drift_terminal, write_drift_reports

    options = DriftOptions(
        policy=policy,
        logs=logs,
        config_path=config,
        reference_dir=reference,
        evalset=evalset,
        sample=sample,
        max_rows=max_rows,
        max_cost_usd=max_cost,
        monthly_queries=monthly_queries,
        since=since,
        until=until,
        fail_on=fail_on,
        refit=refit,
        out_dir=out,
        map_options=tuple(map_ or ()),
    )
    result = run_drift(options)
    paths = {**result.paths, **write_drift_reports(result.record, result.out_dir)}
    if as_json:
        typer.echo(json.dumps(result.record, indent=2, ensure_ascii=False))
    else:
        console = _console()
        render_drift_terminal(result.record, console)
        for path in paths.values():
            console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    if result.provider_error is not None:
        typer.echo(f"error: {result.provider_error}", err=True)
    raise typer.Exit(result.exit_code)


@app.command(cls=_PlainValuesCommand)
@handle_errors
def sample(
    logs: Path = typer.Argument(..., help="Production logs: a file or folder, format detected (see --logs of run)."),
    n: int = typer.Option(200, "--n", help="Rows to sample (all of them when there are fewer)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same logs, options and seed give the same sample."),
    stratify: str = typer.Option(
        "intent", "--stratify", help="intent: proportional per intent (row or metadata.intent); none: simple random."
    ),
    dedupe: str = typer.Option(
        "exact", "--dedupe", help="Drop repeated queries first: exact, normalized (case, punctuation, spaces), none."
    ),
    since: str | None = typer.Option(None, "--since", help="Only log rows from this date or ISO time (UTC)."),
    until: str | None = typer.Option(
        None, "--until", help="Only log rows up to this date, the whole day included (UTC), or ISO time."
    ),
    fmt: str = typer.Option(
        "jsonl", "--format", help="jsonl, or label-studio: also Label Studio tasks (.json) and labeling config (.xml)."
    ),
    out: Path | None = typer.Option(None, "--out", help="The sample file [default: ./<logs stem>-sample-<n>.jsonl]."),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Config whose [columns] maps the logs' columns [default: ./routeeval.toml if present].",
    ),
    map_: list[str] | None = MAP_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Draw a seeded, stratified, deduplicated sample of log rows to label (routeeval label, Label Studio)."""
    from routeeval.labeling.sample import sample_logs

    columns = _columns(config, map_)
    result = sample_logs(
        logs,
        n=n,
        seed=seed,
        stratify=stratify,
        dedupe=dedupe,
        since=since,
        until=until,
        out=out,
        fmt=fmt,
        columns=columns,
    )
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    from routeeval.log_formats import format_label

    source, population = result.header["source"], result.header["population"]
    typer.echo(f"logs: {source['path']} read as {format_label(source['log_format'], source['format'])}")
    typer.echo(
        f"sampled {result.n_sampled} of {population['after_dedupe']} queries ({population['rows_read']} log rows "
        f"read, {population['rows_in_window']} in the window, {population['after_dedupe']} after --dedupe {dedupe})"
    )
    if stratify == "intent":
        strata = result.header["strata"]
        typer.echo("strata: " + ", ".join(f"{name} {s['sampled']}/{s['population']}" for name, s in strata.items()))
    for note in result.notes:
        typer.echo(f"note: {note}")
    for path in result.paths:
        typer.echo(f"wrote {path}")


@app.command(cls=_DefaultsInForce)
@handle_errors
def label(
    sample: Path = typer.Argument(..., help="A sample file written by `routeeval sample`."),
    out: Path | None = typer.Option(
        None, "--out", help="Labels file, appended to [default: <sample>.labels.jsonl beside the sample]."
    ),
    labeler: str | None = typer.Option(None, "--labeler", help="Your name on each label [default: $USER]."),
    show: str | None = typer.Option(
        None,
        "--show",
        help="Show these tiers' answers beside the query, comma-separated (small,large): from the response cache, "
        "else replayed within --max-cost.",
    ),
    assist: bool = typer.Option(
        False, "--assist", help="Suggest easy/hard with the config's LLM router tier; Enter accepts, e/h override."
    ),
    config: Path = CONFIG_OPTION,
    max_cost: float | None = typer.Option(
        None, "--max-cost", help="One ceiling in USD over the calls --show and --assist make [default: none]."
    ),
) -> None:
    """Label a sample's queries easy or hard, one per screen: e easy, h hard, s skip, u undo, ? help, q quit.
    Each decision is saved at once; rerun to resume. Without a terminal, reads one key per line from stdin."""
    from routeeval.labeling.session import run_label

    result = run_label(sample, out, labeler, show, assist, config, max_cost)
    typer.echo(result.describe())
    raise typer.Exit(result.exit_code)


@app.command(cls=_PlainValuesCommand)
@handle_errors
def estimate(
    labels: list[Path] = typer.Argument(
        ..., help="Labels files written by routeeval label, and/or Label Studio JSON exports."
    ),
    sample: Path | None = typer.Option(
        None, "--sample", help="The sample file the labels are for (needed with routeeval labels files)."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="Config with the tiers, cheapest first, to price the saving [default: ./routeeval.toml if present].",
    ),
    monthly_queries: int | None = MONTHLY_OPTION,
    out: Path | None = typer.Option(None, "--out", help="Output folder [default: reports/estimate-<UTC time>]."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The easy share of labeled queries with its 95% CI, labeler agreement, and what routing would save."""
    from routeeval.labeling.estimate import (
        default_out_dir,
        estimate_labels,
        load_estimate_config,
        render_estimate_terminal,
        write_estimate,
    )

    record = estimate_labels(
        labels, sample_path=sample, config=load_estimate_config(config), monthly_queries=monthly_queries
    )
    paths = write_estimate(record, out or default_out_dir())
    if as_json:
        typer.echo(json.dumps(record, indent=2, ensure_ascii=False))
        return
    console = _console()
    render_estimate_terminal(record, console)
    for path in paths.values():
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _columns(config: Path | None, map_options: list[str] | None):
    """The column mapping: ``--map`` over the config's ``[columns]`` (the config given, else ./routeeval.toml when
    there is one)."""
    from routeeval.config import column_map, load_config

    path = config if config is not None else Path(DEFAULT_CONFIG) if Path(DEFAULT_CONFIG).is_file() else None
    return column_map(load_config(path).columns if path is not None else None, map_options)


@app.command(cls=_PlainValuesCommand)
@handle_errors
def init(
    from_litellm_config: Path | None = typer.Option(
        None,
        "--from-litellm-config",
        help="A LiteLLM proxy config.yaml: each model of its model_list becomes a tier (name, model, api_base, the "
        "key's environment variable name; never a key itself).",
    ),
    model: list[str] | None = typer.Option(
        None, "--model", help="A tier's litellm model id, or NAME=MODEL (repeat the option); with or without a file."
    ),
    out: Path = typer.Option(Path(DEFAULT_CONFIG), "--out", help="The config file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out when it exists."),
) -> None:
    """Write a commented routeeval.toml: tiers cheapest first, priced from litellm's cost map (a model it does not
    price gets a placeholder and a warning), with [replay], [scoring] and [optimize] to review."""
    from routeeval.scaffold import init_config

    result = init_config(from_litellm_config, model or [], out, force=force)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    names = ", ".join(tier.name for tier in result.tiers)
    typer.echo(f"wrote {result.path}: {len(result.tiers)} tiers, cheapest first: {names}")


def _cache_path(config: Path, path: Path | None) -> Path:
    if path is not None:
        return path
    from routeeval.config import ReplayConfig, load_config

    if config.exists() or config != Path(DEFAULT_CONFIG):  # a --config given is read, or named in the error
        return Path(load_config(config).replay.cache)
    return Path(ReplayConfig().cache)


@cache_app.command("stats", cls=_PlainValuesCommand)
@handle_errors
def cache_stats(
    config: Path = CONFIG_OPTION,
    path: Path | None = typer.Option(None, "--path", help="Cache file [default: from the config]."),
    as_json: bool = JSON_OPTION,
) -> None:
    """How many responses are cached, what they cost, and the file size."""
    from routeeval.cache import ResponseCache

    with ResponseCache(_cache_path(config, path)) as cache:
        stats = cache.stats()
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    from routeeval.report.terminal import cache_table

    _console().print(cache_table(stats))


@cache_app.command("clear", cls=_PlainValuesCommand)
@handle_errors
def cache_clear(
    config: Path = CONFIG_OPTION,
    path: Path | None = typer.Option(None, "--path", help="Cache file [default: from the config]."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete every cached response (the next run pays for its calls again)."""
    from routeeval.cache import CacheError, ResponseCache, remove_cache_files
    from routeeval.errors import ConfigError

    cache_path = _cache_path(config, path)
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError(
                f"cache clear would delete every paid response in {cache_path}; "
                "without a terminal to confirm, pass --yes."
            )
        typer.confirm(f"Delete every response cached in {cache_path}?", abort=True)
    try:
        with ResponseCache(cache_path) as cache:
            removed = cache.clear()
    except CacheError:  # damaged, or another schema: the way out is to remove the file itself
        files = remove_cache_files(cache_path)
        typer.echo(f"removed the damaged response cache {cache_path} ({files} files)")
        return
    typer.echo(f"cleared {removed} cached responses from {cache_path}")


# --- plain values -------------------------------------------------------------------------------------------
# typer (0.2x) converts every parameter's value through a pydantic TypeAdapter; building the first one imports
# pydantic (~100 ms, the most of `routeeval route`'s time beyond --help). Our parameters are plain text, paths,
# whole and decimal numbers, lists of them and flags: those values are converted here as typer's adapters would
# convert them (a path through typer's own checks), and anything else still goes through typer.
try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path

    _TYPER_ADAPTERS = True
except ImportError:  # another typer: its own conversions, unchanged
    _TYPER_ADAPTERS = False

_WHOLE = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _plain_value(annotation, info, value: str, param, ctx):
    """``value`` converted to ``annotation`` without pydantic, or NotImplemented to leave it to typer."""
    if annotation is str:
        return value
    if annotation is Path and value and info.path_type is None:
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    if annotation is int and _WHOLE.fullmatch(value):
        return int(value)
    if annotation is float and _DECIMAL.fullmatch(value):
        return float(value)
    return NotImplemented


if _TYPER_ADAPTERS:

    class _PlainRuntimeParam(RuntimeParam):
        def _coerce_value(self, value, param, ctx):
            if isinstance(value, str) and self.parameter_info.parser is None:
                plain = _plain_value(self.annotation, self.parameter_info, value, param, ctx)
                if plain is not NotImplemented:
                    return plain
            if typing.get_origin(self.annotation) is list and isinstance(value, list | tuple) and value:
                (item_type,) = typing.get_args(self.annotation)
                items = [
                    _plain_value(item_type, self.parameter_info, item, param, ctx) if isinstance(item, str) else None
                    for item in value
                ]
                if self.parameter_info.parser is None and all(isinstance(item, item_type) for item in items):
                    return items
            if self.annotation is Path and isinstance(value, Path) and self.parameter_info.path_type is None:
                # a default such as Path("routeeval.toml"): typer's adapter passes a Path through to these checks
                return coerce_cli_path(value, self.parameter_info, path_type=Path, param=param, ctx=ctx)
            if isinstance(value, bool) and self.annotation is bool:
                return value
            return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)


def _plain_values(params) -> None:
    """Give ``params`` (all but files) the conversions above."""
    if not _TYPER_ADAPTERS:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue
        if descriptor.file_annotation is None:  # other values still go to typer, but only when given
            param._runtime_param = _PlainRuntimeParam(
                annotation=descriptor.annotation, parameter_info=descriptor.parameter_info
            )


# --- the entry point --------------------------------------------------------------------------------------
# A run allocates millions of objects that live until the end (litellm's and scikit-learn's modules, the
# outcomes): the default collector thresholds spend about 0.9 s of litellm's import in full collections, and
# the interpreter's exit tears every module down. A larger first threshold keeps cyclic garbage collected
# (in bigger batches), and the entry point leaves without the teardown once every output is written.
GC_THRESHOLDS = (20_000, 20, 20)  # CPython's default is (700, 10, 10)


def main() -> None:
    """The ``routeeval`` console script: run the command, flush stdout and stderr, run the exit handlers
    (litellm's included), then leave without collecting and tearing down every module. Files the commands
    keep are written atomically and closed before a command returns; the response cache commits each batch."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        app()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    _leave(code)


def _leave(code) -> None:
    """What the interpreter's exit does, in its order, less the final collection and module teardown: wait for
    the threads that are not daemons (thread pools shut down first), run the exit handlers, flush stdio."""
    import atexit
    import threading

    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message") prints the message and exits 1
        print(code, file=sys.stderr)
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`routeeval ... | head`) or a closed stream
            code = code or 120
    os._exit(code)


if __name__ == "__main__":
    main()
