"""What tests share besides fixtures: paths, the loopback key, config files, the demo's simulated outcomes and
small synthetic tables. Fixtures live in conftest.py; tests import these with ``from helpers import ...``."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import threading
import types
from pathlib import Path

from routeeval.config import OptimizeConfig

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_KEY_ENV = "ROUTEEVAL_TEST_KEY"
TEST_KEY = "sk-loopback-test-7f3a9c"  # must never appear in any file a run writes

TIER_ENTRIES = [
    {"name": "small", "model": "routeeval-sim/gpt-4o-mini", "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6},
    {"name": "medium", "model": "routeeval-sim/claude-haiku-4-5", "price_in_per_mtok": 1.0, "price_out_per_mtok": 5.0},
    {"name": "large", "model": "routeeval-sim/gpt-4o", "price_in_per_mtok": 2.5, "price_out_per_mtok": 10.0},
]
# The reports' demo: 350 rows certify about 2 points (see test_optimize); at 3 the chosen policy sends a few rows too
# low to show.
REPORT_SETTINGS = OptimizeConfig(routers=("static", "cascade"), bootstrap=200, max_drop=0.03)
TWO_TIERS = [
    {"name": "cheap", "model": "cheap", "price_in_per_mtok": None, "price_out_per_mtok": None},
    {"name": "strong", "model": "strong", "price_in_per_mtok": None, "price_out_per_mtok": None},
]


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
    """The environment for a child process: offline litellm, and no real provider key from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    env["LITELLM_OFFLINE_MODE"] = "true"
    return env


def simulated_outcomes(
    evalset_path: Path | None = None,
    skills=(("small", "gpt-4o-mini", 0.5), ("medium", "claude-haiku-4-5", 0.62), ("large", "gpt-4o", 0.8)),
):
    """An outcomes frame for an eval set, answered by the simulator directly (no litellm, no cache).

    The same answers a `routeeval run` with the bundled config would record, scored by exact match. For the
    bundled demo set, take the session's ``demo_outcomes`` fixture instead of computing it again.
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
                    C.INPUT: row.input_value if isinstance(row.input_value, str) else json.dumps(row.input_value),
                    C.INTENT: row.intent,
                    C.LABEL: row.label,
                    C.SOURCE: C.SOURCE_EVAL,
                    C.SCORER: scorer.spec,
                    C.LOGPROB_MEAN: sum(answer.logprobs) / len(answer.logprobs),
                }
            )
    return outcomes_frame(records)


def hopeless_two_tiers(n_rows: int = 300):
    """An outcomes table (tiers ``TWO_TIERS``) where the cheap tier is always wrong and the strong one always right."""
    import numpy as np
    import pandas as pd

    from routeeval import columns as C

    cheap_right = np.zeros(n_rows, dtype=bool)
    rows = []
    for i in range(n_rows):
        text = f"question {i} about invoices and seats"
        rows.append(
            {C.ROW_ID: f"r{i}", C.TIER: "cheap", C.SCORE: float(cheap_right[i]), C.COST_USD: 0.0001, C.INPUT: text}
        )
        rows.append({C.ROW_ID: f"r{i}", C.TIER: "strong", C.SCORE: 1.0, C.COST_USD: 0.002, C.INPUT: text})
    frame = pd.DataFrame(rows)
    frame[C.SOURCE] = C.SOURCE_EVAL
    frame[C.LATENCY_MS] = 100.0
    return frame


def report_inputs(frame, settings):
    """(summary, outcomes, chosen_rows, optimize result) for ``frame``, shaped like `routeeval run` writes them."""
    from routeeval import columns as C
    from routeeval.optimize import optimize_outcomes
    from routeeval.stats import summarize_tiers

    result = optimize_outcomes(frame, tiers=TIER_ENTRIES, settings=settings)
    summary = {
        "routeeval_version": "0.1.0",
        "created_at": "2026-11-29T00:00:00Z",
        "simulated": True,
        "cost_map_version": "test cost map",
        "evalset": {"path": "evalsets/support.jsonl", "sha256": "ab" * 32, "rows": int(frame[C.ROW_ID].nunique())},
        "tiers": [{**t, "price_source": "test", "simulated": True} for t in TIER_ENTRIES],
        "single_tiers": summarize_tiers(frame, [t["name"] for t in TIER_ENTRIES], 0.95, source=C.SOURCE_EVAL),
        **result.summary,
    }
    return summary, frame, result.chosen_rows, result


def load_script(name: str) -> types.ModuleType:
    """``scripts/<name>`` imported as a module (its ``main`` not run), to call its functions in-process."""
    path = ROOT / "scripts" / name
    spec = importlib.util.spec_from_file_location(f"routeeval_scripts_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script runs
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@contextlib.contextmanager
def fifo_that_unblocks(path: Path):
    """A named pipe at ``path``. Should a reader open it, a writer opens and closes it, so the reader sees the
    end of the file instead of waiting forever: a loader that opens the pipe fails its test rather than hanging."""
    os.mkfifo(path)
    done = threading.Event()

    def writer():
        while not done.wait(0.05):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # succeeds only once a reader waits
                return
            except OSError:
                continue

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        thread.join()
