"""promptfoo results (``promptfoo eval -o results.json``) as outcomes: one row per test × provider.

The file is the JSON promptfoo writes with ``-o FILE.json`` (results format version 2 or later:
``results.results`` is the list of per-cell results). Each cell becomes one outcome row:

- ``tier``: the provider's label, else its id (``openai:chat:gpt-4o-mini``); with several prompts,
  ``<provider>/prompt<N>`` so each prompt × provider column stays its own tier.
- ``row_id``: the test's ``vars.id``, else its ``description``, else ``test<N>`` (1-based test index).
  Two tests with the same id are an error, never a silent merge.
- ``score``: ``--scorer pass`` (default) gives 1 when the test passed and 0 when it failed;
  ``--scorer score`` takes promptfoo's graded score (the weighted mean of the assertions), which must
  lie in 0-1. A failed call (promptfoo's "error" outcome) has no score (null) and its ``error``.
- ``cost_usd``: promptfoo's own cost per call; for a provider it reports no cost for, the tokens at
  the price of a ``--config`` tier of the same name (or model), else at litellm's cost map price for the
  provider's model; else the import stops naming the tier. A ``--config`` price overrides promptfoo's.
- ``latency_ms``, ``prompt_tokens``, ``completion_tokens``, ``cached``: from the response.
- ``input``: the rendered prompt (chat prompts as their messages); the test's vars go to ``metadata``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from routeeval import columns as C
from routeeval.config import Tier
from routeeval.errors import ConfigError, DataError
from routeeval.outcomes import outcomes_frame
from routeeval.pricing import TierPrice, price_imported_tier

SCORERS = ("pass", "score")
ERROR_OUTCOME = 2  # promptfoo's ResultFailureReason.ERROR (0 none, 1 an assertion failed, 2 the call failed)


def import_promptfoo(path: str | Path, *, scorer: str | None = None, tiers: tuple[Tier, ...] = ()):
    """Read a promptfoo results JSON file; returns ``(frame, metadata)`` in the outcomes contract."""
    path = Path(path)
    scorer = scorer or "pass"
    if scorer not in SCORERS:
        raise ConfigError(f"--scorer '{scorer}' is not a promptfoo score; choose from: {', '.join(SCORERS)}.")
    cells = _read_cells(path)
    prompts = _prompt_numbers(cells)
    row_ids = _row_ids(path, cells)

    records: list[dict[str, Any]] = []
    models: dict[str, str | None] = {}
    seen: set[tuple[str, str]] = set()
    for index, cell in enumerate(cells):
        where = f"results.results[{index}]"
        tier, model = _tier_of(path, cell, where, prompts)
        models.setdefault(tier, model)
        row_id = row_ids[_test_index(path, cell, where)]
        if (row_id, tier) in seen:
            raise DataError(str(path), f"holds test '{row_id}' twice for provider '{tier}'", field=where)
        seen.add((row_id, tier))
        records.append(_record(path, cell, where, row_id, tier, scorer))

    prices = _price_tiers(path, records, models, tiers)
    renamed = {tier: price.tier for tier, price in prices.items() if price is not None and price.tier != tier}
    targets = list(renamed.values())
    # A config tier serving the model of several columns (several prompts) prices them all but names none.
    renamed = {tier: name for tier, name in renamed.items() if targets.count(name) == 1 and name not in prices}
    for record in records:
        price = prices.get(record[C.TIER])
        if price is not None:
            record[C.COST_USD] = price.cost_usd(record[C.PROMPT_TOKENS] or 0, record[C.COMPLETION_TOKENS] or 0)
        record[C.TIER] = renamed.get(record[C.TIER], record[C.TIER])
    frame = outcomes_frame(records)
    metadata = {
        "dataset": "promptfoo",
        "source_path": str(path),
        "scorer": f"promptfoo({scorer})",
        "failed_calls": int(frame[C.ERROR].notna().sum()),
        "costs": {
            renamed.get(tier, tier): "promptfoo" if price is None else f"{price.source} ({price.model})"
            for tier, price in prices.items()
        },
        "assumptions": [
            "score: " + ("1 when the test passed, 0 when it failed" if scorer == "pass" else "promptfoo's score (0-1)"),
            "a failed call (promptfoo error) has no score; its error is kept",
            "row_id from the test's vars.id, else its description, else test<N>",
        ],
    }
    return frame, metadata


def _read_cells(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DataError(str(path), "no such file")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(str(path), f"not readable JSON ({exc})") from None
    results = raw.get("results") if isinstance(raw, dict) else None
    cells = results.get("results") if isinstance(results, dict) else None
    if not isinstance(cells, list):
        raise DataError(
            str(path),
            "is missing or not a list; expected promptfoo's results file (promptfoo eval -o FILE.json)",
            field="results.results",
        )
    if not cells:
        raise DataError(str(path), "is empty: the eval has no results", field="results.results")
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise DataError(str(path), "is not an object", field=f"results.results[{index}]")
    return cells


def _test_index(path: Path, cell: dict, where: str) -> int:
    index = cell.get("testIdx")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise DataError(str(path), "is missing or not a test index", field=f"{where}.testIdx")
    return index


def _row_ids(path: Path, cells: list[dict]) -> dict[int, str]:
    """Test index -> row id, from vars.id, the description or the index; a collision is an error."""
    tests: dict[int, dict] = {}
    for index, cell in enumerate(cells):
        tests.setdefault(_test_index(path, cell, f"results.results[{index}]"), cell)
    row_ids: dict[int, str] = {}
    owner: dict[str, tuple[int, str]] = {}
    for test_index in sorted(tests):
        cell = tests[test_index]
        case = _object(cell.get("testCase"))
        variables = _object(cell.get("vars")) or _object(case.get("vars"))
        if isinstance(variables.get("id"), str | int) and str(variables["id"]):
            row_id, origin = str(variables["id"]), "vars.id"
        elif isinstance(case.get("description"), str) and case["description"].strip():
            row_id, origin = case["description"].strip(), "testCase.description"
        else:
            row_id, origin = f"test{test_index + 1}", "test index"
        if row_id in owner:
            other, other_origin = owner[row_id]
            raise DataError(
                str(path),
                f"tests {other + 1} and {test_index + 1} both get row id '{row_id}' (from {other_origin} and "
                f"{origin}); give each test a unique description or vars.id",
                field=origin,
            )
        owner[row_id] = (test_index, origin)
        row_ids[test_index] = row_id
    return row_ids


def _prompt_key(cell: dict) -> str:
    """Which prompt a cell ran (``promptIdx`` counts prompt × provider columns, not prompts)."""
    prompt = _object(cell.get("prompt"))
    return str(cell.get("promptId") or prompt.get("label") or "")


def _prompt_numbers(cells: list[dict]) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for cell in cells:
        numbers.setdefault(_prompt_key(cell), len(numbers) + 1)
    return numbers


def _tier_of(path: Path, cell: dict, where: str, prompts: dict[str, int]) -> tuple[str, str | None]:
    provider = cell.get("provider")
    if isinstance(provider, str):
        provider = {"id": provider}
    if not isinstance(provider, dict) or not isinstance(provider.get("id"), str):
        raise DataError(str(path), "is missing or has no id", field=f"{where}.provider")
    label = provider.get("label")
    name: str = label if isinstance(label, str) and label else provider["id"]
    if len(prompts) > 1:
        name = f"{name}/prompt{prompts[_prompt_key(cell)]}"
    return name, _litellm_model(provider["id"])


def _litellm_model(provider_id: str) -> str | None:
    """promptfoo's ``openai:chat:gpt-4o-mini`` as litellm's ``openai/gpt-4o-mini``; None for other shapes."""
    parts = provider_id.split(":")
    if len(parts) < 2 or not parts[-1]:
        return None
    return f"{parts[0]}/{parts[-1]}"


def _record(path: Path, cell: dict, where: str, row_id: str, tier: str, scorer: str) -> dict[str, Any]:
    response = _object(cell.get("response"))
    failed = cell.get("failureReason") == ERROR_OUTCOME or (
        "failureReason" not in cell and bool(response.get("error")) and not cell.get("gradingResult")
    )
    usage = _object(response.get("tokenUsage")) or _object(cell.get("tokenUsage"))
    cost = _number(path, cell.get("cost", response.get("cost")), f"{where}.cost")
    case = _object(cell.get("testCase"))
    variables = _object(cell.get("vars")) or _object(case.get("vars"))
    meta: dict[str, Any] = {"vars": variables} if variables else {}
    if isinstance(case.get("description"), str):
        meta["description"] = case["description"]
    return {
        C.ROW_ID: row_id,
        C.TIER: tier,
        C.RESPONSE: None if failed else _text(response.get("output")),
        C.SCORE: None if failed else _score(path, cell, where, scorer),
        C.COST_USD: cost,  # replaced below where a price applies
        C.LATENCY_MS: _number(path, cell.get("latencyMs", response.get("latencyMs")), f"{where}.latencyMs"),
        C.PROMPT_TOKENS: _count(path, usage.get("prompt"), f"{where}.response.tokenUsage.prompt"),
        C.COMPLETION_TOKENS: _count(path, usage.get("completion"), f"{where}.response.tokenUsage.completion"),
        C.ERROR: _error_text(cell, response) if failed else None,
        C.CACHED: bool(response.get("cached", False)),
        C.INPUT: _prompt_text(cell),
        C.SOURCE: C.SOURCE_EVAL,
        C.SCORER: f"promptfoo({scorer})",
        C.METADATA: json.dumps(meta, default=str) if meta else None,
    }


def _score(path: Path, cell: dict, where: str, scorer: str) -> float:
    if scorer == "pass":
        if not isinstance(cell.get("success"), bool):
            raise DataError(str(path), "is missing or not true/false", field=f"{where}.success")
        return 1.0 if cell["success"] else 0.0
    value = cell.get("score")
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise DataError(
            str(path), f"is {value!r}, not a number in 0-1; import with --scorer pass instead", field=f"{where}.score"
        )
    return float(value)


def _price_tiers(path: Path, records: list[dict], models: dict[str, str | None], tiers) -> dict[str, TierPrice | None]:
    """Per tier: the price to cost its calls at (a config price, or litellm's for a tier promptfoo did not
    cost), or None where promptfoo's own costs stand. A tier nobody can price stops the import."""
    reported = {record[C.TIER] for record in records if record[C.COST_USD]}
    prices: dict[str, TierPrice | None] = {}
    for tier, model in models.items():
        configured = [t for t in tiers if t.name == tier or (model is not None and t.model == model)]
        if configured or tier not in reported:
            price = price_imported_tier(tier, model, tiers)
            if price is None:
                used = any(record[C.TIER] == tier and record[C.PROMPT_TOKENS] for record in records)
                if used:
                    raise DataError(
                        str(path),
                        f"provider '{tier}' has no cost in the results and its model "
                        f"'{model or tier}' has no price in litellm's cost map; give a --config tier named "
                        f"'{tier}' with price_in_per_mtok and price_out_per_mtok",
                    )
            prices[tier] = price
        else:
            prices[tier] = None
    return prices


def _prompt_text(cell: dict) -> str | None:
    prompt = cell.get("prompt")
    raw = prompt.get("raw") if isinstance(prompt, dict) else prompt
    if isinstance(raw, str):
        return raw
    if raw is None:
        variables = cell.get("vars")
        return json.dumps(variables, sort_keys=True, default=str) if variables else None
    return json.dumps(raw, default=str)


def _error_text(cell: dict, response: dict) -> str:
    message = cell.get("error") or response.get("error") or "promptfoo reported an error"
    return str(message).strip().splitlines()[0][:500]


def _object(value: Any) -> dict[str, Any]:
    """A JSON object, or {} for anything else (absent, null, a list)."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _number(path: Path, value: Any, field: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise DataError(str(path), f"is {value!r}; expected a number >= 0", field=field)
    return float(value)


def _count(path: Path, value: Any, field: str) -> int | None:
    number = _number(path, value, field)
    return None if number is None else int(number)
