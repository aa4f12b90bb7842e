"""``routeeval import labels``: human easy/hard labels as an outcomes table, for a first policy before any replay.

The labels' claim is binary, and the table says exactly that on two tiers, the config's cheapest (first) and most
expensive (last): a row labeled *easy* scores 1 on the cheapest tier (it answers right), a row labeled *hard*
scores 0 there (it does not); the most expensive tier scores 1 on every labeled row. A row's label is the
labelers' majority as ``routeeval estimate`` takes it (skips do not vote; a tie is disputed); skipped, disputed
and unlabeled rows are left out and counted.

Each (row, tier) is priced from the config's prices and the sample row's token counts (estimated where the row
records none, as ``estimate`` does). No tier is called: ``response`` and ``latency_ms`` are null, ``scorer`` is
:data:`LABELS_SCORER`, and the file's metadata says :data:`BASIS_HUMAN_LABELS`, which ``routeeval optimize``
reads to fit only the routers labels can train and to say the policy was learned from labels alone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from routeeval import __version__
from routeeval import columns as C
from routeeval.config import Config
from routeeval.errors import ConfigError
from routeeval.importers import ImportResult
from routeeval.labeling.estimate import (
    ASSUMED_COMPLETION_TOKENS,
    CHARS_PER_TOKEN,
    _tokens,
    decide_labels,
    merge_labels,
    read_label_source,
)
from routeeval.labeling.labels import read_sample
from routeeval.pipeline import BASIS_HUMAN_LABELS, LABELS_SCORER, _tier_entry

DATASET = "labels"  # the name `routeeval import` knows this format by


def outcomes_from_labels(
    sample_path: str | Path, labels_paths: list[str | Path], config: Config
) -> tuple[Any, dict[str, str]]:
    """(outcomes frame, metadata) from a sample file and the labels made on it (see the module docstring).

    DataError naming file and line for labels of rows the sample lacks, or when no row is labeled easy or hard;
    ConfigError when the config has fewer than two tiers."""
    from routeeval.logs import load_logs
    from routeeval.outcomes import outcomes_frame
    from routeeval.pricing import cost_map_version, price_tiers
    from routeeval.replay import CallResult
    from routeeval.scoring import outcome_record

    if not labels_paths:
        raise ConfigError("no labels given; pass the labels file(s) routeeval label wrote with --labels.")
    if len(config.tiers) < 2:
        where = f"{config.path}: " if config.path else ""
        raise ConfigError(
            f"{where}has one tier; labels route between the cheapest and the most expensive tier, so the config "
            "needs two or more, cheapest first."
        )
    sample = read_sample(sample_path)
    sources = [read_label_source(path, set(sample.ids)) for path in labels_paths]
    votes, decided, labeled = decide_labels(merge_labels(sources), labels_paths)

    cheap, expensive = config.tiers[0], config.tiers[-1]
    prices = price_tiers((cheap, expensive), config.path)
    rows = {str(row["id"]): row for row in sample.rows}
    records = []
    n_estimated = 0
    for log in load_logs(sample.path).records:  # the sample is a logs file: each row's query as `run` reads it
        label = labeled.get(log.query.row_id)
        if label is None:
            continue
        query = replace(log.query, label=label)
        prompt, completion, prompt_known, completion_known = _tokens(rows[query.row_id])
        estimated = not (prompt_known and completion_known)
        n_estimated += estimated
        for tier, score in ((cheap, float(label == "easy")), (expensive, 1.0)):
            cost = prices[tier.name].cost_usd(prompt, completion)
            claim = CallResult(query.row_id, tier.name, None, prompt, completion, cost, None, usage_estimated=estimated)
            record = outcome_record(query, claim, score, LABELS_SCORER)
            record[C.CACHED] = None  # nothing was called, so nothing came from the cache
            records.append(record)

    n_easy = sum(label == "easy" for label in labeled.values())
    counts = {
        "sample_rows": len(sample.rows),
        "labeled_rows": len(labeled),
        "easy": n_easy,
        "hard": len(labeled) - n_easy,
        "skipped": sum(label == "skip" for label in decided.values()),
        "disputed": sum(label == "disputed" for label in decided.values()),
        "unlabeled": len(sample.rows) - len(decided),
        "tokens_estimated_rows": n_estimated,
    }
    metadata: dict[str, Any] = {
        "version": __version__,
        "basis": BASIS_HUMAN_LABELS,
        "dataset": DATASET,
        "simulated": json.dumps(config.simulated),
        "cost_map_version": cost_map_version(),
        "evalset_path": sample.path,  # the policy's provenance names the sample
        "evalset_sha256": sample.sha256,
        "sample_path": sample.path,
        "sample_sha256": sample.sha256,
        "labels": json.dumps([source.path for source in sources]),
        "labelers": json.dumps(sorted({labeler for by_labeler in votes.values() for labeler in by_labeler})),
        "counts": json.dumps(counts),
        "tokens": f"the sample rows' prompt_tokens and completion_tokens; where a row records none: ceil(characters "
        f"/ {CHARS_PER_TOKEN}) of the query for the prompt, of the recorded response for the completion, else "
        f"{ASSUMED_COMPLETION_TOKENS} completion tokens",
        "claim": f"easy: {cheap.name} answers right (score 1); hard: it does not (score 0); {expensive.name} answers "
        "every labeled row right (score 1)",
        "tiers": json.dumps([_tier_entry(tier, prices[tier.name]) for tier in (cheap, expensive)]),
    }
    return outcomes_frame(records), metadata


def import_labels(
    sample_path: str | Path, labels_paths: list[str | Path], config: Config, out: str | Path
) -> ImportResult:
    """Build the outcomes table of :func:`outcomes_from_labels` and write it to ``out`` (atomically)."""
    from routeeval.outcomes import write_outcomes

    frame, metadata = outcomes_from_labels(sample_path, labels_paths, config)
    written = write_outcomes(frame, out, metadata)
    tiers = [entry["name"] for entry in json.loads(metadata["tiers"])]
    return ImportResult(
        dataset=DATASET,
        out=written,
        n_rows=len(frame),
        n_queries=len(frame) // len(tiers),
        tiers=tiers,
        metadata={**metadata, "counts": json.loads(metadata["counts"]), "labels": json.loads(metadata["labels"])},
    )
