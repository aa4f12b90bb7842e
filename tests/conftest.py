"""Shared fixtures. No test touches the network: tiers are simulated or point at a loopback server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_KEY_ENV = "ROUTEEVAL_TEST_KEY"
TEST_KEY = "sk-loopback-test-7f3a9c"  # must never appear in any file a run writes


@pytest.fixture(autouse=True)
def _offline_litellm(monkeypatch):
    """litellm must never fetch its cost map or anything else from the network."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("LITELLM_OFFLINE_MODE", "true")
    # Real provider keys from a developer's shell must not leak into tests.
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(TEST_KEY_ENV, TEST_KEY)


@pytest.fixture()
def loopback():
    from routeeval.testing.loopback import LoopbackServer

    with LoopbackServer(retry_after_s="0.2") as server:
        yield server


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    """Run in a temporary folder (the cache and reports land there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(path: Path, tiers: list[dict], **sections) -> Path:
    """Write a routeeval.toml with the given tier tables and extra sections."""
    lines = []
    for tier in tiers:
        lines.append("[[tier]]")
        lines += [f"{key} = {_toml(value)}" for key, value in tier.items()]
        lines.append("")
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def environ_without_keys() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["LITELLM_OFFLINE_MODE"] = "true"
    return env


def simulated_outcomes(
    evalset_path: Path | None = None,
    skills=(("small", "gpt-4o-mini", 0.5), ("medium", "claude-haiku-4-5", 0.62), ("large", "gpt-4o", 0.8)),
):
    """An outcomes frame for an eval set, answered by the simulator directly (no litellm, no cache).

    The same answers a `routeeval run` with the bundled config would record, scored by exact match.
    """
    from routeeval import columns as C
    from routeeval.config import Tier
    from routeeval.data import load_eval_set
    from routeeval.outcomes import outcomes_frame
    from routeeval.pricing import price_tier
    from routeeval.scoring import exact
    from routeeval.sim import SimRow, simulate, wrong_answers

    eval_set = load_eval_set(evalset_path or ROOT / "evalsets" / "support.jsonl")
    wrong = wrong_answers(eval_set.rows)
    scorer = exact()
    records = []
    for name, model, skill in skills:
        price = price_tier(Tier(name, f"routeeval-sim/{model}"))
        for row in eval_set.rows:
            reference = row.reference[0] if isinstance(row.reference, list) else row.reference
            answer = simulate(model, list(row.messages), SimRow(reference, wrong.get(row.row_id), row.label), skill)
            records.append(
                {
                    C.ROW_ID: row.row_id,
                    C.TIER: name,
                    C.RESPONSE: answer.text,
                    C.SCORE: scorer(answer.text, row.reference),
                    C.COST_USD: price.cost_usd(answer.prompt_tokens, answer.completion_tokens),
                    C.LATENCY_MS: answer.latency_ms,
                    C.PROMPT_TOKENS: answer.prompt_tokens,
                    C.COMPLETION_TOKENS: answer.completion_tokens,
                    C.CACHED: False,
                    C.INPUT: row.input_value
                    if isinstance(row.input_value, str)
                    else __import__("json").dumps(row.input_value),
                    C.INTENT: row.intent,
                    C.LABEL: row.label,
                    C.SOURCE: C.SOURCE_EVAL,
                    C.SCORER: scorer.spec,
                    C.LOGPROB_MEAN: sum(answer.logprobs) / len(answer.logprobs),
                }
            )
    return outcomes_frame(records)


TIER_ENTRIES = [
    {"name": "small", "model": "routeeval-sim/gpt-4o-mini", "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6},
    {"name": "medium", "model": "routeeval-sim/claude-haiku-4-5", "price_in_per_mtok": 1.0, "price_out_per_mtok": 5.0},
    {"name": "large", "model": "routeeval-sim/gpt-4o", "price_in_per_mtok": 2.5, "price_out_per_mtok": 10.0},
]
