"""``routeeval estimate``: easy/hard labels turned into the easy share, its interval, and what routing would save.

:func:`estimate_labels` reads labels, builds the ``estimate.json`` record (a plain dict, ``routeeval.estimate/v1``);
:func:`render_estimate_markdown` and :func:`render_estimate_terminal` show it, :func:`write_estimate` writes
``estimate.json`` and ``estimate.md``.

**Inputs.** routeeval's labels files (:mod:`routeeval.labeling.labels`) and Label Studio JSON exports (the "JSON"
export: a list of tasks, each ``{"id", "data": {"id": SAMPLE ROW ID, ...}, "annotations": [{"completed_by",
"result": [{"type": "choices", "from_name": "difficulty", "value": {"choices": ["easy"]}}], "was_cancelled",
"lead_time"}], "predictions": [...]}``; one task object, as cloud storage holds it, is read too). In an export a
cancelled (skipped) annotation, or one without a choice, counts as *skip*; ``lead_time`` is the seconds spent; a
prediction's easy/hard choice is the assist's suggestion. A labels file needs its sample file (``sample_path``):
the queries, strata and token counts live there. Without a sample, every input must be a Label Studio export;
the tasks' ``data`` then stands for the rows (their ``intent``, ``stratum``, ``prompt_tokens``, ...), and there
is no reweighting, since no stratum population is known.

**Rows.** A row's label, per labeler, is that labeler's latest decision (one labeler labeling a row differently in
two files is an error). With several labelers, a row's label is the majority of their easy/hard labels (skips do
not vote; a row everyone skipped is skipped); a tie is *disputed*, listed, and left out of every share.

**Intervals.** An unstratified sample: the Wilson score interval. A sample stratified by intent: the
post-stratified share Σ W_h p_h (W_h the stratum's population share, p_h its easy share among labeled rows) with
variance Σ W_h² (1 − n_h/N_h) s_h²/n_h (s_h² = p_h(1 − p_h) n_h/(n_h − 1)), turned into a Wilson interval at the
effective sample size p(1 − p)/variance (n itself when that variance is 0). ``bench/bench_estimate.py`` checks the
coverage of both on 1,000 simulated samples. Per-intent shares: Wilson. Human–assist agreement: Wilson. The saving:
a (stratified) bootstrap over rows, 2,000 resamples, seeded.

**Saving.** Every query on the most expensive tier (the config's last) against easy rows on the cheapest (the
first) and hard rows where they were: per row, the cost at each tier from its ``prompt_tokens`` and
``completion_tokens`` (estimated when missing: ceil(characters / 4) of the query, of the recorded response, or
200 completion tokens), weighted like the share. This assumes the cheap tier answers easy rows as well as the
expensive one, which is what the labels claim.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

from routeeval.config import Config, load_config
from routeeval.errors import DataError
from routeeval.files import write_text_atomic
from routeeval.labeling.labels import LABELS, LabelEvent, Labels, Sample, is_sample_header, read_labels, read_sample
from routeeval.stats import wilson_interval

ESTIMATE_SCHEMA = "routeeval.estimate/v1"
LABEL_STUDIO_CHOICE = "difficulty"  # the from_name of routeeval's Label Studio labeling config
FORMAT_LABELS = "routeeval labels"
FORMAT_LABEL_STUDIO = "label-studio"
CHARS_PER_TOKEN = 4  # a token estimate where a row records no counts: ceil(characters / 4)
ASSUMED_COMPLETION_TOKENS = 200  # where a row records neither completion tokens nor a response
BOOTSTRAP_RESAMPLES = 2000
RULE_OF_THUMB_SHARE = 0.5  # more than half easy: routing pays back fast
ASSIST_GOOD_SHARE = 0.9  # human-assist agreement whose lower bound clears this: the one-prompt router may do
ASSIST_POOR_SHARE = 0.8  # agreement whose upper bound is under this: it does not
QUERY_CHARS = 80  # a query's text, shortened, in the disagreement lists
NO_INTENT = "(no intent)"


# ------------------------------------------------------------------------------------------ inputs


@dataclass
class _Source:
    """One input file, read: its format, its per-(labeler, row) labels, and (Label Studio) its tasks' data."""

    path: str
    format: str
    labels: Labels
    rows: dict[str, dict]  # Label Studio: row id -> the task's data; routeeval labels: empty


def load_estimate_config(path: str | Path | None) -> Config | None:
    """The config given, else ./routeeval.toml when there is one, else None (no dollars, only shares)."""
    if path is None and not Path("routeeval.toml").is_file():
        return None
    return load_config(path)


def read_label_source(path: str | Path, sample_ids: set[str] | None) -> _Source:
    """Read one labels input, telling routeeval's labels files from Label Studio exports by their content."""
    path_text = str(path)
    file_path = Path(path)
    try:
        text = file_path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise DataError(path_text, "no such file") from None
    except IsADirectoryError:
        raise DataError(path_text, "is a directory; expected a labels file or a Label Studio JSON export") from None
    except OSError as exc:
        raise DataError(path_text, f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(path_text, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    stripped = text.lstrip()
    if not stripped:
        raise DataError(path_text, "is empty; expected a labels file (routeeval label) or a Label Studio JSON export")
    if stripped.startswith("["):
        return _read_label_studio(path_text, text, sample_ids)
    first_line = next(line for line in text.split("\n") if line.strip())
    first_number = text[: text.index(first_line)].count("\n") + 1
    try:
        first = json.loads(first_line)
    except ValueError:
        first = None
    if isinstance(first, dict) and "labeler" in first and "id" in first:
        if sample_ids is None:
            raise DataError(
                path_text,
                "is a routeeval labels file; pass the sample it labels with --sample (the queries, strata and token "
                "counts live there)",
            )
        return _Source(path_text, FORMAT_LABELS, read_labels(file_path, sample_ids), {})
    if is_sample_header(first):
        raise DataError(
            path_text,
            "is a sample file, not labels; pass it with --sample, and the labels file(s) routeeval label wrote",
            line=first_number,
        )
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and ("annotations" in whole or "data" in whole):
        return _read_label_studio(path_text, text, sample_ids)
    raise DataError(
        path_text,
        "is neither a routeeval labels file (JSON lines with 'id', 'label', 'labeler') nor a Label Studio JSON export "
        "(a list of tasks with 'data' and 'annotations')",
        line=first_number,
    )


def _read_label_studio(path: str, text: str, sample_ids: set[str] | None) -> _Source:
    try:
        document = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise DataError(path, f"not valid JSON ({getattr(exc, 'msg', exc)})", line=line) from None
    tasks = [(1, document)] if isinstance(document, dict) else _located_items(text)
    labels = Labels(path)
    rows: dict[str, dict] = {}
    for index, (line, task) in enumerate(tasks, start=1):
        where = f"task {index}"
        if not isinstance(task, dict):
            raise DataError(path, f"{where} is not a JSON object; expected a Label Studio task", line=line)
        data = task.get("data")
        if not isinstance(data, dict):
            raise DataError(
                path,
                f"{where} has no 'data' object; expected a Label Studio JSON export (not JSON-MIN or CSV)",
                line=line,
            )
        row_id = data.get("id")
        if not isinstance(row_id, str | int) or isinstance(row_id, bool) or str(row_id) == "":
            raise DataError(
                path,
                f"{where} has no data.id; routeeval's tasks carry the sample row's id there (routeeval sample "
                "--format label-studio)",
                line=line,
            )
        row_id = str(row_id)
        if sample_ids is not None and row_id not in sample_ids:
            raise DataError(path, f"{where} labels row {row_id!r}, which is not in the sample", line=line)
        rows[row_id] = data
        assist = _prediction_label(task.get("predictions"))
        annotations = task.get("annotations") or []
        if not isinstance(annotations, list):
            raise DataError(path, f"{where} (row {row_id!r}): 'annotations' must be a list", line=line)
        for number, annotation in enumerate(annotations, start=1):
            if not isinstance(annotation, dict):
                raise DataError(path, f"{where} (row {row_id!r}) annotation {number} is not an object", line=line)
            label = _annotation_label(path, line, f"{where} (row {row_id!r}) annotation {number}", annotation)
            labels.events.append(
                LabelEvent(
                    row_id,
                    label,
                    _annotator(annotation.get("completed_by")),
                    str(annotation.get("updated_at") or annotation.get("created_at") or ""),
                    _amount(annotation.get("lead_time")),
                    assist,
                    None,
                    line,
                )
            )
    return _Source(path, FORMAT_LABEL_STUDIO, labels, rows)


def _located_items(text: str) -> list[tuple[int, Any]]:
    """The items of a JSON array (already known to parse), each with the line it starts on."""
    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    position = _skip_space(text, 0) + 1  # past "["
    while True:
        position = _skip_space(text, position)
        if text[position] == "]":
            return items
        value, end = decoder.raw_decode(text, position)
        items.append((text.count("\n", 0, position) + 1, value))
        position = _skip_space(text, end)
        if text[position] == ",":
            position += 1


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n\ufeff":
        position += 1
    return position


def _annotation_label(path: str, line: int, where: str, annotation: dict) -> str:
    if annotation.get("was_cancelled") is True:
        return "skip"
    result = annotation.get("result") or []
    if not isinstance(result, list):
        raise DataError(path, f"{where}: 'result' must be a list", line=line)
    choices = [r for r in result if isinstance(r, dict) and r.get("type") == "choices"]
    named = [r for r in choices if r.get("from_name") == LABEL_STUDIO_CHOICE]
    picked = named or choices
    if not picked:
        return "skip"  # submitted without a choice
    if len(picked) > 1:
        names = ", ".join(repr(r.get("from_name")) for r in picked)
        raise DataError(
            path,
            f"{where} has {len(picked)} choices results ({names}); expected one named {LABEL_STUDIO_CHOICE!r}",
            line=line,
        )
    value = picked[0].get("value")
    chosen = value.get("choices") if isinstance(value, dict) else None
    if not isinstance(chosen, list) or len(chosen) != 1 or not isinstance(chosen[0], str):
        raise DataError(path, f"{where}: expected exactly one choice, got {chosen!r}", line=line)
    label = chosen[0].strip().lower()
    if label not in LABELS:
        raise DataError(path, f"{where} has choice {chosen[0]!r}; expected one of {', '.join(LABELS)}", line=line)
    return label


def _prediction_label(predictions: Any) -> str | None:
    """The easy/hard choice of the task's last prediction that makes one (the model's pre-label: the assist)."""
    found = None
    for prediction in predictions if isinstance(predictions, list) else []:
        result = prediction.get("result") if isinstance(prediction, dict) else None
        for item in result if isinstance(result, list) else []:
            value = item.get("value") if isinstance(item, dict) else None
            chosen = value.get("choices") if isinstance(value, dict) else None
            if isinstance(chosen, list) and len(chosen) == 1 and str(chosen[0]).strip().lower() in ("easy", "hard"):
                found = str(chosen[0]).strip().lower()
    return found


def _annotator(completed_by: Any) -> str:
    """A Label Studio user: the email when the export carries user details, else 'ls-user-<id>'."""
    if isinstance(completed_by, dict):
        if isinstance(completed_by.get("email"), str) and completed_by["email"]:
            return completed_by["email"]
        completed_by = completed_by.get("id")
    return f"ls-user-{completed_by}" if completed_by is not None else "ls-user-unknown"


def _amount(value: Any) -> float | None:
    """A finite, non-negative number as a float; None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None


def merge_labels(sources: list[_Source]) -> dict[tuple[str, str], tuple[LabelEvent, str]]:
    """(labeler, row id) -> (its decision, the file it came from); one labeler's two files must agree on a row."""
    merged: dict[tuple[str, str], tuple[LabelEvent, str]] = {}
    for source in sources:
        for key, event in sorted(source.labels.current().items(), key=lambda item: item[1].line):
            if key in merged:
                earlier, earlier_path = merged[key]
                if earlier.label != event.label:
                    raise DataError(
                        source.path,
                        f"labeler {key[0]!r} labels row {key[1]!r} {event.label}, but {earlier_path} line "
                        f"{earlier.line} labels it {earlier.label}; one labeler gives a row one label (remove one)",
                        line=event.line,
                    )
                continue
            merged[key] = (event, source.path)
    return merged


# ------------------------------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class StratumCount:
    name: str
    population: int  # queries in the population (after dedupe)
    easy: int  # labeled rows in the sample, easy
    labeled: int  # labeled rows (easy + hard)


def post_stratified_share(strata: list[StratumCount], confidence: float = 0.95) -> dict[str, Any]:
    """Σ W_h p_h over the strata with a labeled row, its variance (finite-population corrected) and a Wilson
    interval at the effective sample size p(1 − p)/variance. Strata without a labeled row are left out and their
    population share reported as ``missing_population_share``."""
    used = [s for s in strata if s.labeled > 0]
    population = sum(s.population for s in used)
    total = sum(s.population for s in strata)
    n_rows = sum(s.labeled for s in used)
    if not used or population <= 0:
        return {"value": None, "ci": None, "n_effective": None, "missing_population_share": 1.0}
    share = 0.0
    variance = 0.0
    for s in used:
        weight = s.population / population
        p = s.easy / s.labeled
        share += weight * p
        spread = p * (1 - p) * s.labeled / (s.labeled - 1) if s.labeled > 1 else 0.25
        correction = max(0.0, 1 - s.labeled / s.population) if s.population > 0 else 1.0
        variance += weight * weight * correction * spread / s.labeled
    share = min(1.0, max(0.0, share))
    n_effective = share * (1 - share) / variance if variance > 0 and 0 < share < 1 else float(n_rows)
    _, low, high = (
        wilson_interval(share, 1, confidence) if n_effective <= 0 else _wilson(share, n_effective, confidence)
    )
    return {
        "value": share,
        "ci": [low, high],
        "n_effective": n_effective,
        "missing_population_share": 1 - population / total if total > 0 else 0.0,
    }


def _wilson(share: float, n: float, confidence: float) -> tuple[float, float, float]:
    """The Wilson interval at a (possibly fractional) sample size."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return share, max(0.0, centre - half), min(1.0, centre + half)


def cohen_kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same rows; None when chance agreement is 1 (one label only)."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_a, counts_b = Counter(first), Counter(second)
    expected = sum(counts_a[c] * counts_b[c] for c in set(first) | set(second)) / (n * n)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(ratings: list[list[str]]) -> float | None:
    """Fleiss' kappa: ``ratings`` holds one list of labels per row, every row rated by the same number of raters."""
    if not ratings or len(ratings[0]) < 2:
        return None
    raters = len(ratings[0])
    categories = sorted({label for row in ratings for label in row})
    agreement = []
    totals = Counter[str]()
    for row in ratings:
        counts = Counter(row)
        totals.update(counts)
        agreement.append((sum(c * c for c in counts.values()) - raters) / (raters * (raters - 1)))
    observed = sum(agreement) / len(ratings)
    expected = sum((totals[c] / (len(ratings) * raters)) ** 2 for c in categories)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


# ------------------------------------------------------------------------------------------ the estimate


def estimate_labels(
    labels_paths: list,
    *,
    sample_path: str | Path | None = None,
    config: Config | None = None,
    monthly_queries: int | None = None,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """The ``estimate.json`` record from labels files and/or Label Studio exports (see the module's docstring)."""
    from routeeval import __version__

    if not labels_paths:
        raise DataError("estimate", "no labels given; pass one or more labels files or Label Studio exports")
    sample = read_sample(sample_path) if sample_path is not None else None
    sample_ids = set(sample.ids) if sample is not None else None
    sources = [read_label_source(path, sample_ids) for path in labels_paths]
    merged = merge_labels(sources)
    rows = _rows(sample, sources)
    notes: list[str] = []
    if sample is not None:
        stale = sorted(
            {path for event, path in merged.values() if event.sample and event.sample != sample.sha256},
        )
        if stale:
            notes.append(
                f"{', '.join(stale)}: labels were made on a sample file with another sha256 than {sample.path}; "
                "the ids match, but check it is the same sample."
            )
    labelers = sorted({labeler for labeler, _ in merged})
    votes, decided, labeled = decide_labels(merged, labels_paths)
    disputed = sorted((r for r, label in decided.items() if label == "disputed"), key=_order(rows))
    counts = {
        "n_sample_rows": len(sample.rows) if sample is not None else None,
        "n_labeled_rows": len(labeled),
        "n_easy": sum(label == "easy" for label in labeled.values()),
        "n_hard": sum(label == "hard" for label in labeled.values()),
        "n_skipped": sum(label == "skip" for label in decided.values()),
        "n_disputed": len(disputed),
        "n_unlabeled": len(rows) - len(decided) if sample is not None else None,
    }
    strata_header = _strata_header(sample)
    easy_share, strata = _easy_share(labeled, rows, strata_header, sample, confidence, notes)
    record: dict[str, Any] = {
        "schema": ESTIMATE_SCHEMA,
        "routeeval_version": __version__,
        "confidence": confidence,
        "inputs": {
            "labels": [
                {
                    "path": source.path,
                    "format": source.format,
                    "labelers": sorted({e.labeler for e in source.labels.current().values()}),
                    "n_decisions": len(source.labels.current()),
                }
                for source in sources
            ],
            "sample": None
            if sample is None
            else {
                "path": sample.path,
                "sha256": sample.sha256,
                "stratify": sample.header.get("stratify"),
                "n_rows": len(sample.rows),
            },
        },
        "counts": counts,
        "easy_share": easy_share,
        "verdict": _verdict(easy_share, confidence),
        "strata": strata,
        "intents": _intent_shares(labeled, rows, confidence),
        "labelers": _labelers(merged, votes, decided, disputed, rows, labelers),
        "assist": _assist(merged, confidence),
        "saving": _saving(labeled, rows, strata_header, config, monthly_queries, confidence, seed),
        "notes": notes,
    }
    if counts["n_disputed"]:
        notes.append(
            f"{_rows_word(counts['n_disputed'])} disputed (the labelers split evenly): left out of every share and "
            "the saving; settle the disputes to count those rows."
        )
    if counts["n_skipped"]:
        notes.append(f"{_rows_word(counts['n_skipped'])} skipped: left out of every share and the saving.")
    return record


def _rows_word(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _rows(sample: Sample | None, sources: list[_Source]) -> dict[str, dict]:
    """Row id -> the row: the sample's rows, or without a sample the Label Studio tasks' data."""
    if sample is not None:
        return {str(row["id"]): row for row in sample.rows}
    rows: dict[str, dict] = {}
    for source in sources:
        for row_id, data in source.rows.items():
            rows.setdefault(row_id, data)
    return rows


def _order(rows: dict[str, dict]):
    position = {row_id: index for index, row_id in enumerate(rows)}
    return lambda row_id: (position.get(row_id, len(position)), row_id)


def decide_labels(merged: dict, labels_paths) -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, str]]:
    """(each row's label by labeler, each row's majority: easy, hard, skip or disputed, the rows labeled easy or
    hard) from :func:`merge_labels`; DataError when no row is labeled easy or hard."""
    votes: dict[str, dict[str, str]] = {}
    for (labeler, row_id), (event, _path) in merged.items():
        votes.setdefault(row_id, {})[labeler] = event.label or "skip"
    decided = {row_id: _majority(by_labeler) for row_id, by_labeler in votes.items()}
    labeled = {row_id: label for row_id, label in decided.items() if label in ("easy", "hard")}
    if not labeled:
        raise DataError(
            ", ".join(str(p) for p in labels_paths),
            "no row is labeled easy or hard (by majority); label some rows first with routeeval label SAMPLE",
        )
    return votes, decided, labeled


def _majority(by_labeler: dict[str, str]) -> str:
    counts = Counter(label for label in by_labeler.values() if label != "skip")
    if not counts:
        return "skip"
    if counts["easy"] == counts["hard"]:
        return "disputed"
    return "easy" if counts["easy"] > counts["hard"] else "hard"


def _strata_header(sample: Sample | None) -> dict[str, int] | None:
    """Stratum -> population, when the sample was stratified (its header's ``stratify`` is not none)."""
    if sample is None or sample.header.get("stratify") in (None, "none"):
        return None
    strata = sample.header.get("strata")
    if not isinstance(strata, dict) or not strata:
        raise DataError(sample.path, "header says the sample is stratified but lists no 'strata'", line=1)
    populations = {}
    for name, entry in strata.items():
        population = entry.get("population") if isinstance(entry, dict) else None
        if not isinstance(population, int) or isinstance(population, bool) or population < 0:
            raise DataError(
                sample.path, f"header stratum {name!r}: 'population' must be a non-negative integer", line=1
            )
        populations[str(name)] = population
    return populations


def _stratum(row: dict) -> str:
    value = row.get("stratum")
    if value is None:
        value = _intent(row)
    return str(value)


def _intent(row: dict) -> str:
    value = row.get("intent")
    if value is None and isinstance(row.get("metadata"), dict):
        value = row["metadata"].get("intent")
    return NO_INTENT if value in (None, "") else str(value)


def _easy_share(
    labeled: dict[str, str],
    rows: dict[str, dict],
    strata_header: dict[str, int] | None,
    sample: Sample | None,
    confidence: float,
    notes: list[str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    n_easy = sum(label == "easy" for label in labeled.values())
    n = len(labeled)
    value, low, high = wilson_interval(n_easy / n, n, confidence)
    unweighted = {"value": value, "ci": [low, high], "n_rows": n}
    if strata_header is None or sample is None:
        return {**unweighted, "method": "wilson", "weighted": False, "unweighted": None}, []
    sampled: Counter[str] = Counter()
    easy: Counter[str] = Counter()
    labeled_in: Counter[str] = Counter()
    for row_id, row in rows.items():
        name = _stratum(row)
        if name not in strata_header:
            raise DataError(
                sample.path,
                f"row {row_id!r} is in stratum {name!r}, which the header's strata do not list "
                f"({', '.join(sorted(strata_header))})",
            )
        sampled[name] += 1
        if row_id in labeled:
            labeled_in[name] += 1
            easy[name] += labeled[row_id] == "easy"
    counts = [StratumCount(name, strata_header[name], easy[name], labeled_in[name]) for name in strata_header]
    estimate = post_stratified_share(counts, confidence)
    total = sum(strata_header.values())
    strata = []
    for s in counts:
        share = wilson_interval(s.easy / s.labeled, s.labeled, confidence) if s.labeled else None
        strata.append(
            {
                "name": s.name,
                "population": s.population,
                "population_share": s.population / total if total else None,
                "n_sampled": sampled[s.name],
                "n_labeled": s.labeled,
                "n_easy": s.easy,
                "easy_share": share[0] if share else None,
                "ci": [share[1], share[2]] if share else None,
            }
        )
    missing = [s.name for s in counts if s.labeled == 0 and s.population > 0]
    if missing:
        notes.append(
            f"strata without a labeled row ({', '.join(missing)}, {estimate['missing_population_share']:.1%} of the "
            "population) are left out of the weighted share: it describes the rest."
        )
    weighted = {
        "value": estimate["value"],
        "ci": estimate["ci"],
        "n_rows": n,
        "n_effective": estimate["n_effective"],
        "method": "post-stratified, wilson at the effective sample size",
        "weighted": True,
        "unweighted": unweighted,
    }
    return weighted, strata


def _verdict(easy_share: dict[str, Any], confidence: float) -> dict[str, str]:
    value, (low, high) = easy_share["value"], easy_share["ci"]
    head = f"easy share {value:.0%} [{low * 100:.0f}–{high * 100:.0f}]"
    level = f"{confidence:.0%}"
    if low > RULE_OF_THUMB_SHARE:
        return {
            "status": "above",
            "text": f"{head}: above 50% with {level} confidence — more than half easy: routing pays back fast.",
        }
    if high < RULE_OF_THUMB_SHARE:
        return {
            "status": "below",
            "text": f"{head}: under 50% with {level} confidence — under half easy: routing saves less; weigh "
            "the saving below against the work of running it.",
        }
    return {
        "status": "unclear",
        "text": f"{head}: the interval straddles 50% — label more rows to tell which side it is on.",
    }


def _intent_shares(labeled: dict[str, str], rows: dict[str, dict], confidence: float) -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for row_id, label in labeled.items():
        groups.setdefault(_intent(rows.get(row_id, {})), []).append(label)
    shares = []
    for intent, labels in groups.items():
        n_easy = labels.count("easy")
        value, low, high = wilson_interval(n_easy / len(labels), len(labels), confidence)
        shares.append(
            {"intent": intent, "n_labeled": len(labels), "n_easy": n_easy, "easy_share": value, "ci": [low, high]}
        )
    return sorted(shares, key=lambda entry: (-entry["n_labeled"], entry["intent"]))


def query_text(row: dict, limit: int | None = QUERY_CHARS) -> str:
    """The row's query as one line of text (a chat's last user turn), shortened to ``limit`` characters."""
    value = _query_value(row)
    if isinstance(value, list):
        turns = [m for m in value if isinstance(m, dict)]
        users = [m for m in turns if m.get("role") == "user"] or turns
        value = _content(users[-1].get("content")) if users else ""
    text = " ".join(str(value if value is not None else "").split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _content(content: Any) -> str:
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _labelers(
    merged: dict[tuple[str, str], tuple[LabelEvent, str]],
    votes: dict[str, dict[str, str]],
    decided: dict[str, str],
    disputed: list[str],
    rows: dict[str, dict],
    names: list[str],
) -> dict[str, Any]:
    per_labeler = []
    for name in names:
        events = [event for (labeler, _), (event, _) in merged.items() if labeler == name]
        seconds = [e.seconds for e in events if e.seconds is not None]
        tally = Counter(e.label for e in events)
        per_labeler.append(
            {
                "labeler": name,
                "n_rows": len(events),
                "n_easy": tally["easy"],
                "n_hard": tally["hard"],
                "n_skipped": tally["skip"],
                "median_seconds": statistics.median(seconds) if seconds else None,
                "total_seconds": sum(seconds) if seconds else None,
            }
        )
    agreement = None
    if len(names) >= 2:
        common = [
            row_id
            for row_id, by_labeler in votes.items()
            if all(by_labeler.get(name) in ("easy", "hard") for name in names)
        ]
        ratings = [[votes[row_id][name] for name in names] for row_id in common]
        observed = sum(len(set(r)) == 1 for r in ratings) / len(ratings) if ratings else None
        if len(names) == 2:
            kappa = cohen_kappa([r[0] for r in ratings], [r[1] for r in ratings])
            method = "cohen"
        else:
            kappa = fleiss_kappa(ratings)
            method = "fleiss"
        agreement = {
            "method": method,
            "kappa": kappa,
            "observed_agreement_share": observed,
            "n_rows": len(ratings),
            "rows": "rows every labeler labeled easy or hard",
        }
    disagreements = [
        {
            "id": row_id,
            "query": query_text(rows.get(row_id, {})),
            "labels": dict(sorted(by_labeler.items())),
            "majority": decided[row_id],
        }
        for row_id, by_labeler in sorted(votes.items(), key=lambda item: _order(rows)(item[0]))
        if len({label for label in by_labeler.values() if label != "skip"}) > 1
    ]
    return {
        "names": names,
        "per_labeler": per_labeler,
        "agreement": agreement,
        "disagreements": disagreements,
        "disputed": disputed,
    }


def _assist(merged: dict[tuple[str, str], tuple[LabelEvent, str]], confidence: float) -> dict[str, Any] | None:
    pairs = [
        (event.label, event.assist)
        for event, _ in merged.values()
        if event.assist in ("easy", "hard") and event.label in ("easy", "hard")
    ]
    if not pairs:
        return None
    agree = sum(human == assist for human, assist in pairs)
    value, low, high = wilson_interval(agree / len(pairs), len(pairs), confidence)
    confusion = {human: {assist: 0 for assist in ("easy", "hard")} for human in ("easy", "hard")}
    for human, assist in pairs:
        confusion[human][assist] += 1
    head = f"human–assist agreement {value:.0%} [{low * 100:.0f}–{high * 100:.0f}] on {len(pairs)} decisions"
    if low >= ASSIST_GOOD_SHARE:
        text = f"{head}: the one-prompt router agrees with the labelers on nearly every row; it may do to start with."
    elif high < ASSIST_POOR_SHARE:
        text = f"{head}: the one-prompt router often disagrees with the labelers; it isn't good enough on its own."
    else:
        text = f"{head}: the one-prompt router agrees on most rows; whether that is enough depends on its misses."
    return {
        "n_decisions": len(pairs),
        "agreement_share": value,
        "ci": [low, high],
        "confusion": confusion,  # human label -> assist suggestion -> decisions
        "hard_sent_cheap": confusion["hard"]["easy"],  # the assist called easy what a person called hard
        "easy_kept_expensive": confusion["easy"]["hard"],
        "text": text,
    }


# ------------------------------------------------------------------------------------------ the saving


def _tokens(row: dict) -> tuple[int, int, bool, bool]:
    """(prompt tokens, completion tokens, prompt recorded?, completion recorded?) of a row."""
    prompt, completion = _amount(row.get("prompt_tokens")), _amount(row.get("completion_tokens"))
    if prompt is None:
        prompt = max(1, math.ceil(len(_all_text(row)) / CHARS_PER_TOKEN))
    if completion is None:
        response = row.get("response")
        completion = (
            max(1, math.ceil(len(response) / CHARS_PER_TOKEN))
            if isinstance(response, str) and response
            else ASSUMED_COMPLETION_TOKENS
        )
    prompt_known = _amount(row.get("prompt_tokens")) is not None
    completion_known = _amount(row.get("completion_tokens")) is not None
    return int(prompt), int(completion), prompt_known, completion_known


def _query_value(row: dict) -> Any:
    for key in ("input", "messages", "text", "query"):
        if row.get(key) is not None:
            return row[key]
    return None


def _all_text(row: dict) -> str:
    """Every turn's text of the row's query (what the prompt's tokens are estimated from)."""
    value = _query_value(row)
    if isinstance(value, list):
        return "\n".join(_content(m.get("content")) for m in value if isinstance(m, dict))
    return "" if value is None else str(value)


def _saving(
    labeled: dict[str, str],
    rows: dict[str, dict],
    strata_header: dict[str, int] | None,
    config: Config | None,
    monthly_queries: int | None,
    confidence: float,
    seed: int,
) -> dict[str, Any]:
    assumption = (
        "assumes the cheapest tier answers the rows labeled easy as well as the most expensive tier does (the "
        "labels' claim); check it with routeeval run on these rows"
    )
    if config is None:
        return {
            "available": False,
            "reason": "dollars need --config: the tiers (cheapest first) and their prices",
            "assumption": assumption,
        }
    import numpy as np

    from routeeval.pricing import price_tiers

    prices = price_tiers(config.tiers, config.path)
    cheap, expensive = prices[config.tiers[0].name], prices[config.tiers[-1].name]
    if monthly_queries is None:
        monthly_queries = config.logs.monthly_queries
    groups: dict[str, list[tuple[float, float, float]]] = {}
    recorded_prompt = recorded_completion = 0
    for row_id, label in labeled.items():
        row = rows.get(row_id, {})
        prompt, completion, prompt_known, completion_known = _tokens(row)
        recorded_prompt += prompt_known
        recorded_completion += completion_known
        high_cost = expensive.cost_usd(prompt, completion)
        low_cost = cheap.cost_usd(prompt, completion)
        key = _stratum(row) if strata_header is not None else "all"
        groups.setdefault(key, []).append((float(label == "easy"), high_cost, high_cost - low_cost))
    weights = _group_weights(groups, strata_header)
    rng = np.random.default_rng(seed)
    saved = np.zeros(BOOTSTRAP_RESAMPLES)
    baseline = np.zeros(BOOTSTRAP_RESAMPLES)
    point_saved = point_baseline = 0.0
    for key, values in groups.items():
        array = np.asarray(values, dtype=float)
        per_row_saving = array[:, 0] * array[:, 2]
        point_saved += weights[key] * float(per_row_saving.mean())
        point_baseline += weights[key] * float(array[:, 1].mean())
        picks = rng.integers(0, len(array), size=(BOOTSTRAP_RESAMPLES, len(array)))
        saved += weights[key] * per_row_saving[picks].mean(axis=1)
        baseline += weights[key] * array[:, 1][picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    share_draws = np.divide(saved, baseline, out=np.zeros_like(saved), where=baseline > 0)
    share_ci = [float(v) for v in np.percentile(share_draws, [tail, 100 - tail])]
    saved_ci = [float(v) for v in np.percentile(saved, [tail, 100 - tail])]
    n = len(labeled)
    record: dict[str, Any] = {
        "available": True,
        "cheap_tier": cheap.tier,
        "expensive_tier": expensive.tier,
        "prices_per_mtok_usd": {
            p.tier: {"in": p.price_in_per_mtok, "out": p.price_out_per_mtok, "source": p.source}
            for p in (cheap, expensive)
        },
        "saving_share": {"value": point_saved / point_baseline if point_baseline > 0 else None, "ci": share_ci},
        "baseline_cost_per_1k_usd": point_baseline * 1000,
        "routed_cost_per_1k_usd": (point_baseline - point_saved) * 1000,
        "saving_per_1k_usd": {"value": point_saved * 1000, "ci": [v * 1000 for v in saved_ci]},
        "monthly_queries": monthly_queries,
        "monthly_saving_usd": None
        if monthly_queries is None
        else {"value": point_saved * monthly_queries, "ci": [v * monthly_queries for v in saved_ci]},
        "monthly_baseline_usd": None if monthly_queries is None else point_baseline * monthly_queries,
        "tokens": {
            "n_rows": n,
            "n_prompt_recorded": recorded_prompt,
            "n_completion_recorded": recorded_completion,
            "estimate": f"where a row records no counts: ceil(characters / {CHARS_PER_TOKEN}) of the query for the "
            f"prompt, of the recorded response for the completion, else {ASSUMED_COMPLETION_TOKENS} completion tokens",
        },
        "method": f"{'stratified ' if strata_header is not None else ''}bootstrap over rows, "
        f"{BOOTSTRAP_RESAMPLES} resamples, seed {seed}",
        "assumption": assumption,
    }
    if cheap.tier == expensive.tier:
        record["note"] = "the config has one tier: there is nothing cheaper to route to"
    return record


def _group_weights(groups: dict[str, list], strata_header: dict[str, int] | None) -> dict[str, float]:
    if strata_header is None:
        return {key: 1.0 for key in groups}
    population = sum(strata_header[key] for key in groups)
    return {key: strata_header[key] / population for key in groups}


# ------------------------------------------------------------------------------------------ rendering


def _pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _ci(ci: list | None, digits: int = 0) -> str:
    if not ci or None in ci:
        return ""
    return f" [{ci[0] * 100:.{digits}f}–{ci[1] * 100:.{digits}f}]"


def _usd(value: float | None, scale: float | None = None) -> str:
    """Dollars with as many decimals as the magnitude (of ``scale``, to print an interval alike) needs."""
    if value is None:
        return "—"
    size = abs(scale if scale is not None else value)
    digits = 0 if size >= 100 else 2 if size >= 0.1 else 4
    return f"${value:,.{digits}f}"


def _usd_ci(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "—"
    value, ci = entry["value"], entry.get("ci")
    scale = max([abs(value)] + [abs(v) for v in ci or []])
    tail = f" [{_usd(ci[0], scale)}–{_usd(ci[1], scale)}]" if ci else ""
    return f"{_usd(value, scale)}{tail}"


def _saving_lines(saving: dict[str, Any]) -> list[str]:
    """The saving as sentences, the same in Markdown and in the terminal."""
    if not saving.get("available"):
        return [f"Saving: not computed — {saving.get('reason')}."]
    share = saving["saving_share"]
    lines = [
        f"Saving if easy rows go to {saving['cheap_tier']} and hard rows stay on {saving['expensive_tier']}: "
        f"{_pct(share['value'])}{_ci(share['ci'])} of the bill; {_usd_ci(saving['saving_per_1k_usd'])} per 1,000 "
        f"queries (from {_usd(saving['baseline_cost_per_1k_usd'])} to {_usd(saving['routed_cost_per_1k_usd'])})."
    ]
    if saving.get("monthly_saving_usd"):
        lines.append(
            f"At {saving['monthly_queries']:,} queries a month: {_usd_ci(saving['monthly_saving_usd'])} a month "
            f"(of {_usd(saving['monthly_baseline_usd'])} on {saving['expensive_tier']} alone)."
        )
    else:
        lines.append("Monthly dollars need --monthly-queries (or [logs] monthly_queries in the config).")
    tokens = saving["tokens"]
    lines.append(
        f"Tokens recorded for {tokens['n_prompt_recorded']} of {tokens['n_rows']} prompts and "
        f"{tokens['n_completion_recorded']} completions; {tokens['estimate']}."
    )
    lines.append(f"This {saving['assumption']}.")
    if saving.get("note"):
        lines.append(f"Note: {saving['note']}.")
    return lines


def render_estimate_markdown(record: dict[str, Any]) -> str:
    """``estimate.md``: the verdict, the shares, agreement, the assist and the saving."""
    from routeeval.report.drift import md_text

    share = record["easy_share"]
    counts = record["counts"]
    out = ["# Will routing pay for us? The easy/hard estimate", "", f"**{record['verdict']['text']}**", ""]
    out += ["| measure | value |", "|---|---|"]
    kind = "reweighted by stratum" if share["weighted"] else "Wilson"
    out.append(f"| easy share ({kind}) | {_pct(share['value'], 1)}{_ci(share['ci'], 1)} |")
    if share.get("unweighted"):
        unweighted = share["unweighted"]
        out.append(f"| easy share, unweighted | {_pct(unweighted['value'], 1)}{_ci(unweighted['ci'], 1)} |")
    out.append(f"| rows labeled easy / hard | {counts['n_easy']} / {counts['n_hard']} |")
    out.append(f"| skipped / disputed | {counts['n_skipped']} / {counts['n_disputed']} |")
    if counts.get("n_sample_rows") is not None:
        out.append(f"| sample rows / not labeled | {counts['n_sample_rows']} / {counts['n_unlabeled']} |")
    out.append("")
    out += ["## Saving", ""] + [f"- {md_text(line)}" for line in _saving_lines(record["saving"])] + [""]
    if record["strata"]:
        out += ["## Strata", "", "| stratum | population share | labeled | easy share |", "|---|---|---|---|"]
        for s in record["strata"]:
            out.append(
                f"| {md_text(s['name'])} | {_pct(s['population_share'], 1)} | {s['n_labeled']} of {s['n_sampled']} | "
                f"{_pct(s['easy_share'])}{_ci(s['ci'])} |"
            )
        out.append("")
    out += ["## Easy share by intent", "", "| intent | labeled | easy share |", "|---|---|---|"]
    for entry in record["intents"]:
        out.append(
            f"| {md_text(entry['intent'])} | {entry['n_labeled']} | {_pct(entry['easy_share'])}{_ci(entry['ci'])} |"
        )
    out.append("")
    people = record["labelers"]
    out += ["## Labelers", "", "| labeler | rows | easy | hard | skipped | median s |", "|---|---|---|---|---|---|"]
    for p in people["per_labeler"]:
        seconds = "—" if p["median_seconds"] is None else f"{p['median_seconds']:.1f}"
        tally = f"{p['n_rows']} | {p['n_easy']} | {p['n_hard']} | {p['n_skipped']}"
        out.append(f"| {md_text(p['labeler'])} | {tally} | {seconds} |")
    out.append("")
    agreement = people.get("agreement")
    if agreement:
        out.append(_agreement_line(agreement))
        out.append("")
    if people["disagreements"]:
        names = people["names"]
        out += [
            "### Rows the labelers disagree on",
            "",
            "| id | query | " + " | ".join(md_text(n) for n in names) + " | row label |",
            "|---|---|" + "---|" * len(names) + "---|",
        ]
        for row in people["disagreements"]:
            cells = " | ".join(row["labels"].get(n, "—") for n in names)
            out.append(f"| {md_text(row['id'])} | {md_text(row['query'])} | {cells} | {row['majority']} |")
        out.append("")
    assist = record.get("assist")
    if assist:
        matrix = assist["confusion"]
        out += ["## The LLM classifier (assist)", "", md_text(assist["text"]), ""]
        out += ["| human \\ assist | easy | hard |", "|---|---|---|"]
        out += [f"| {h} | {matrix[h]['easy']} | {matrix[h]['hard']} |" for h in ("easy", "hard")]
        out.append("")
    if record["notes"]:
        out += ["## Notes", ""] + [f"- {md_text(note)}" for note in record["notes"]] + [""]
    out += [f"Interval method: {share['method']}; confidence {record['confidence']:.0%}.", ""]
    return "\n".join(out)


def _agreement_line(agreement: dict[str, Any]) -> str:
    name = "Cohen's kappa" if agreement["method"] == "cohen" else "Fleiss' kappa"
    kappa = "undefined (one label only)" if agreement["kappa"] is None else f"{agreement['kappa']:.2f}"
    return (
        f"{name} {kappa} on {agreement['n_rows']} rows every labeler labeled easy or hard "
        f"(raw agreement {_pct(agreement['observed_agreement_share'])})."
    )


def render_estimate_terminal(record: dict[str, Any], console) -> None:
    """The verdict in colour, the key numbers in a table, agreement, the assist and the saving (rich)."""
    from rich.table import Table
    from rich.text import Text

    style = {"above": "bold green", "below": "bold yellow", "unclear": "bold"}.get(record["verdict"]["status"], "bold")
    console.print(Text(record["verdict"]["text"], style=style))
    share = record["easy_share"]
    counts = record["counts"]
    table = Table(title_justify="left", show_header=False)
    table.add_column("measure")
    table.add_column("value")
    table.add_row(
        "easy share" + (" (reweighted by stratum)" if share["weighted"] else ""),
        f"{_pct(share['value'], 1)}{_ci(share['ci'], 1)}",
    )
    if share.get("unweighted"):
        table.add_row(
            "easy share, unweighted", f"{_pct(share['unweighted']['value'], 1)}{_ci(share['unweighted']['ci'], 1)}"
        )
    table.add_row(
        "easy / hard / skipped / disputed",
        f"{counts['n_easy']} / {counts['n_hard']} / {counts['n_skipped']} / {counts['n_disputed']}",
    )
    for entry in record["intents"][:8]:
        table.add_row(
            Text(f"  intent {entry['intent']}"),
            f"{_pct(entry['easy_share'])}{_ci(entry['ci'])} of {entry['n_labeled']}",
        )
    console.print(table)
    for line in _saving_lines(record["saving"]):
        console.print(Text(line))
    people = record["labelers"]
    if people.get("agreement"):
        console.print(Text(_agreement_line(people["agreement"])))
    if people["disagreements"]:
        heading = f"{_rows_word(len(people['disagreements']))} the labelers disagree on (all in estimate.md):"
        console.print(Text(heading, style="bold"))
        for row in people["disagreements"][:5]:
            labels = ", ".join(f"{name} {label}" for name, label in row["labels"].items())
            console.print(Text(f"  {row['id']}: {row['query']} — {labels}"))
    if record.get("assist"):
        console.print(Text(record["assist"]["text"]))
    for note in record["notes"]:
        console.print(Text(f"note: {note}", style="dim"))


def default_out_dir() -> Path:
    """reports/estimate-<UTC time>: where ``routeeval estimate`` writes without --out."""
    import datetime as dt

    return Path("reports") / f"estimate-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"


def write_estimate(record: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """Write ``estimate.json`` and ``estimate.md`` into ``out_dir``, each atomically; return their paths."""
    out_dir = Path(out_dir)
    paths = {"json": out_dir / "estimate.json", "markdown": out_dir / "estimate.md"}
    write_text_atomic(paths["json"], json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(paths["markdown"], render_estimate_markdown(record))
    return paths
