"""inspect_ai eval logs as outcomes: one log per model (tier), one row per sample (and epoch).

Reads both of inspect's log formats with the standard library only (routeeval does not depend on
inspect_ai): ``.json`` (one JSON document) and ``.eval`` (a zip of ``header.json`` and
``samples/<id>_epoch_<n>.json``). Recent inspect versions compress ``.eval`` members with zstd,
which ``zipfile`` reads from Python 3.14; on older Pythons the optional ``zstandard`` package (which
inspect_ai itself installs) is used when present, else the import stops and says how to convert the
log (``inspect log convert --to json``).

- ``tier``: the log's model (``openai/gpt-4o``), or the name of the ``--config`` tier serving it.
- ``row_id``: the sample id; with several epochs ``<id>@<epoch>``. Every log must hold the same
  samples: one missing from a log is an error naming it, never a silent gap.
- ``score``: the first scorer (or ``--scorer NAME``), its value mapped to 0-1 as inspect's own
  metrics do (``value_to_float``: C = 1, P = 0.5, I and N = 0, yes/true = 1, no/false = 0, numbers
  as they are). A value that does not map (a dict, a list, text, a number outside 0-1) is an error.
  A sample that errored has no score and its error.
- tokens: the sample's ``model_usage`` for the log's model (cache reads and writes counted as input);
  ``cost_usd``: those tokens at the ``--config`` tier's prices, else litellm's cost map price for the
  model; a model neither knows stops the import (inspect logs carry tokens, not dollars).
- ``latency_ms``: the sample's ``working_time`` (else ``total_time``), in milliseconds.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

from routeeval import columns as C
from routeeval.config import Tier
from routeeval.errors import DataError
from routeeval.outcomes import outcomes_frame
from routeeval.pricing import price_imported_tier

ZIP_ZSTANDARD = 93  # the zip compression method number of zstd
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local file header (30 bytes)


def import_inspect(paths, *, scorer: str | None = None, tiers: tuple[Tier, ...] = ()):
    """Read inspect_ai eval logs (one model each); returns ``(frame, metadata)`` in the outcomes contract."""
    paths = [Path(path) for path in ([paths] if isinstance(paths, str | Path) else paths)]
    if not paths:
        raise DataError("inspect", "no log files given")
    logs = [_read_log(path) for path in paths]
    by_model: dict[str, Path] = {}
    for path, (header, _) in zip(paths, logs, strict=True):
        model = header["eval"]["model"]
        if model in by_model:
            raise DataError(
                str(path),
                f"is '{model}', the same model as {by_model[model]}; give one log per model",
                field="eval.model",
            )
        by_model[model] = path

    chosen = scorer or _first_scorer(paths[0], *logs[0])
    records: list[dict[str, Any]] = []
    sample_keys: list[tuple[Path, list[str]]] = []
    costs = {}
    for path, (header, samples) in zip(paths, logs, strict=True):
        model = header["eval"]["model"]
        price = price_imported_tier(model, model, tiers)
        if price is None:
            raise DataError(
                str(path),
                f"model '{model}' has no price in litellm's cost map and no --config tier serves it; inspect logs "
                "carry tokens, not dollars: give a --config tier with this model and price_in_per_mtok, "
                "price_out_per_mtok",
                field="eval.model",
            )
        costs[price.tier] = f"{price.source} ({price.price_in_per_mtok:g} / {price.price_out_per_mtok:g} USD per 1M)"
        epochs = int((header["eval"].get("config") or {}).get("epochs") or 1)
        keys = []
        for where, sample in samples:
            record = _record(path, where, sample, model, chosen, epochs)
            record[C.TIER] = price.tier
            record[C.COST_USD] = price.cost_usd(record[C.PROMPT_TOKENS] or 0, record[C.COMPLETION_TOKENS] or 0)
            records.append(record)
            keys.append(record[C.ROW_ID])
        if len(set(keys)) != len(keys):
            duplicate = next(key for key in keys if keys.count(key) > 1)
            raise DataError(str(path), f"holds sample '{duplicate}' twice", field="samples")
        sample_keys.append((path, keys))
    _check_same_samples(sample_keys)
    frame = outcomes_frame(records)
    metadata = {
        "dataset": "inspect",
        "source_paths": [str(path) for path in paths],
        "task": logs[0][0]["eval"].get("task"),
        "scorer": f"inspect({chosen})",
        "failed_samples": int(frame[C.ERROR].notna().sum()),
        "costs": costs,
        "assumptions": [
            "score: the scorer's value mapped to 0-1 as inspect's value_to_float does (C 1, P 0.5, I/N 0)",
            "cost_usd: the sample's model_usage tokens for the log's model (cache reads/writes as input tokens) "
            "at the listed prices; other models' usage (graders) is left out",
            "latency_ms: the sample's working_time (else total_time)",
        ],
    }
    return frame, metadata


# --- reading the two log formats -----------------------------------------------------------------


def _read_log(path: Path) -> tuple[dict, list[tuple[str, dict]]]:
    """The log's header (``eval``, ``results``, ...) and its samples as (where, sample) pairs."""
    if path.is_dir():
        raise DataError(str(path), "is a folder; give its log files, one per model (e.g. DIR/*.eval)")
    if not path.is_file():
        raise DataError(str(path), "no such file")
    if zipfile.is_zipfile(path):
        header, samples = _read_eval_zip(path)
    else:
        log = _json(path, _read_bytes(path), "the log")
        if not isinstance(log, dict):
            raise DataError(str(path), "not an inspect_ai log (expected a JSON object with 'eval' and 'samples')")
        _check_header(path, log)
        samples_raw = log.get("samples")
        if not isinstance(samples_raw, list):
            raise DataError(str(path), "is missing; the log was written without samples", field="samples")
        header = log
        samples = [(f"samples[{index}]", sample) for index, sample in enumerate(samples_raw)]
    _check_header(path, header)
    for where, sample in samples:
        if not isinstance(sample, dict):
            raise DataError(str(path), "is not an object", field=where)
    if not samples:
        raise DataError(str(path), "holds no samples", field="samples")
    return header, samples


def _check_header(path: Path, header: dict) -> None:
    info = header.get("eval")
    if not isinstance(info, dict) or not isinstance(info.get("model"), str):
        raise DataError(str(path), "is missing; not an inspect_ai eval log", field="eval.model")


def _read_eval_zip(path: Path) -> tuple[dict, list[tuple[str, dict]]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            header_name = "header.json" if "header.json" in names else "_journal/start.json"
            if header_name not in names:
                raise DataError(str(path), "has no header.json; not an inspect_ai .eval log")
            header = _json(path, _member(path, archive, header_name), header_name)
            sample_names = sorted(name for name in names if name.startswith("samples/") and name.endswith(".json"))
            samples = [(name, _json(path, _member(path, archive, name), name)) for name in sample_names]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(str(path), f"cannot be read as an .eval zip ({exc})") from None
    if not isinstance(header, dict):
        raise DataError(str(path), "is not an object", field=header_name)
    return header, samples


def _member(path: Path, archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.compress_type != ZIP_ZSTANDARD or getattr(zipfile, "ZIP_ZSTANDARD", None) == ZIP_ZSTANDARD:
        return archive.read(name)
    try:
        import zstandard
    except ImportError:
        raise DataError(
            str(path),
            f"member '{name}' is zstd-compressed (inspect_ai's current .eval format), which Python reads from 3.14; "
            "install the zstandard package, or convert the log: inspect log convert LOG --to json --output-dir DIR",
        ) from None
    with open(path, "rb") as handle:  # the member's bytes follow its local header
        handle.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
        handle.seek(fields[-2] + fields[-1], io.SEEK_CUR)  # file name and extra field
        compressed = handle.read(info.compress_size)
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(compressed), read_across_frames=True)
    data = reader.read()
    if zlib.crc32(data) != info.CRC:
        raise DataError(str(path), f"member '{name}' fails its CRC check; the file is damaged")
    return data


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(str(path), f"cannot be read ({exc.strerror or exc})") from None


def _json(path: Path, data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(str(path), f"{what} is not valid JSON ({exc})") from None


# --- samples -> rows ---------------------------------------------------------------------------


def _first_scorer(path: Path, header: dict, samples: list[tuple[str, dict]]) -> str:
    """The log's first scorer, by the name its samples' scores carry (results.scores, else the samples' own order)."""
    keys = next((list(sample["scores"]) for _, sample in samples if isinstance(sample.get("scores"), dict)), [])
    results: dict[str, Any] = header["results"] if isinstance(header.get("results"), dict) else {}
    for score in results.get("scores") or []:
        if isinstance(score, dict) and score.get("name") in keys:
            return score["name"]
    if keys:
        return keys[0]
    raise DataError(str(path), "no sample has scores; nothing to import", field="samples")


def _record(path: Path, where: str, sample: dict, model: str, scorer: str, epochs: int) -> dict[str, Any]:
    sample_id = sample.get("id")
    if not isinstance(sample_id, str | int) or isinstance(sample_id, bool):
        raise DataError(str(path), "is missing or not a string or number", field=f"{where}.id")
    epoch = sample.get("epoch", 1)
    row_id = str(sample_id) if epochs == 1 else f"{sample_id}@{epoch}"
    error = sample.get("error")
    message = None
    if error:
        message = error.get("message") if isinstance(error, dict) else str(error)
        message = str(message or "the sample failed").strip().splitlines()[0][:500]
    scores: dict[str, Any] = sample["scores"] if isinstance(sample.get("scores"), dict) else {}
    score = None
    if message is None:
        if scorer not in scores:
            available = ", ".join(sorted(scores)) or "none"
            raise DataError(
                str(path), f"has no score '{scorer}' (scores here: {available}); pick one with --scorer", field=where
            )
        value = scores[scorer].get("value") if isinstance(scores[scorer], dict) else None
        score = value_to_float(path, value, f"{where}.scores.{scorer}.value")
    prompt_tokens, completion_tokens = _usage(path, where, sample, model)
    output: dict[str, Any] = sample["output"] if isinstance(sample.get("output"), dict) else {}
    seconds = sample.get("working_time", sample.get("total_time"))
    return {
        C.ROW_ID: row_id,
        C.RESPONSE: output.get("completion") if isinstance(output.get("completion"), str) else None,
        C.SCORE: score,
        C.LATENCY_MS: float(seconds) * 1000 if isinstance(seconds, int | float) else None,
        C.PROMPT_TOKENS: prompt_tokens,
        C.COMPLETION_TOKENS: completion_tokens,
        C.ERROR: message,
        C.CACHED: False,
        C.INPUT: _input_text(sample.get("input")),
        C.REFERENCE: _reference_text(sample.get("target")),
        C.SOURCE: C.SOURCE_EVAL,
        C.SCORER: f"inspect({scorer})",
        C.METADATA: json.dumps(sample["metadata"], default=str) if sample.get("metadata") else None,
    }


def value_to_float(path: Path, value: Any, field: str) -> float:
    """A score value in 0-1, mapped as inspect_ai's ``value_to_float`` maps it; what it cannot map is an error
    (inspect counts it as 0 with a warning; here that would be a silent wrong number)."""
    mapped: float | None = None
    if value == "C":
        mapped = 1.0
    elif value == "P":
        mapped = 0.5
    elif value in ("I", "N"):
        mapped = 0.0
    elif isinstance(value, bool | int | float):
        mapped = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in ("yes", "true"):
            mapped = 1.0
        elif text in ("no", "false"):
            mapped = 0.0
        else:
            try:
                mapped = float(text)
            except ValueError:
                mapped = None
    if mapped is None or not math.isfinite(mapped) or not 0 <= mapped <= 1:
        raise DataError(
            str(path),
            f"is {json.dumps(value, default=str)[:80]}; expected C, P, I, N, yes/no or a number in 0-1 "
            "(pick another scorer with --scorer)",
            field=field,
        )
    return mapped


def _usage(path: Path, where: str, sample: dict, model: str) -> tuple[int | None, int | None]:
    usage_by_model = sample.get("model_usage")
    usage = usage_by_model.get(model) if isinstance(usage_by_model, dict) else None
    if usage is None:
        output = sample["output"] if isinstance(sample.get("output"), dict) else {}
        usage = output.get("usage")
    if not isinstance(usage, dict):
        return (0, 0) if sample.get("error") else (None, None)
    counts = []
    for key in ("input_tokens", "input_tokens_cache_read", "input_tokens_cache_write", "output_tokens"):
        value = usage.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise DataError(str(path), f"is {value!r}; expected a token count", field=f"{where}.model_usage.{key}")
        counts.append(value)
    return counts[0] + counts[1] + counts[2], counts[3]


def _input_text(value: Any) -> str | None:
    """A sample's input: text as it is, chat messages as their JSON list of {role, content}."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        messages = [
            {"role": message.get("role"), "content": _content_text(message.get("content"))}
            for message in value
            if isinstance(message, dict)
        ]
        return json.dumps(messages, ensure_ascii=False)
    return json.dumps(value, default=str)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _reference_text(target: Any) -> str | None:
    if target is None or isinstance(target, str):
        return target
    return json.dumps(target, ensure_ascii=False)


def _check_same_samples(sample_keys: list[tuple[Path, list[str]]]) -> None:
    if len(sample_keys) < 2:
        return
    first_path, first = sample_keys[0]
    first_set = set(first)
    for path, keys in sample_keys[1:]:
        missing = [key for key in first if key not in set(keys)]
        extra = [key for key in keys if key not in first_set]
        if missing or extra:
            key, here, there = (missing[0], first_path, path) if missing else (extra[0], path, first_path)
            raise DataError(
                str(there),
                f"has no sample '{key}', which {here} has ({len(missing) + len(extra)} samples differ between the "
                "logs); every log must hold the same samples: rerun the missing ones, or import only logs that agree",
            )
