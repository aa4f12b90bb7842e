"""Golden outputs: the demo's summary.json and policy.json, canonical and with run-dependent values masked.

Every structural change must keep them identical; a change that alters them on purpose updates them in its
own commit, saying why: ``ROUTEEVAL_UPDATE_GOLDEN=1 pytest tests/test_golden.py``. The demo run itself is the
session fixture ``demo_run`` (conftest.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import ROOT

GOLDEN = Path(__file__).resolve().parent / "golden"
# Values that depend on when, where and on what the run happened, not on what it computed.
MASKED = frozenset(
    {
        "created_at",
        "routeeval_version",
        "cost_map_version",
        "checksum",  # covers the provenance above
        "wall_s",
        "import_s",  # how long the litellm import took
        "calls_made",  # a warm cache turns calls into hits
        "cache_hits",
        "spent_usd",
        "by_phase",
    }
)
SIGNIFICANT_DIGITS = 10  # floats past this differ between BLAS builds; the decisions do not


def canonical(value):
    """The value with masked keys replaced and floats rounded, ready to compare as canonical JSON."""
    if isinstance(value, dict):
        return {key: "<masked>" if key in MASKED else canonical(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


@pytest.mark.slow
@pytest.mark.parametrize("name", ["summary.json", "policy.json"])
def test_the_demo_outputs_match_their_golden_files(demo_run, name):
    produced = canonical(json.loads((demo_run / name).read_text(encoding="utf-8")))
    golden = GOLDEN / f"demo_{name}"
    if os.environ.get("ROUTEEVAL_UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(produced, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert produced == expected, f"{name} differs from {golden.name}; if on purpose, update it (see the module doc)"


@pytest.mark.slow
def test_optimize_on_the_outcomes_reproduces_the_run(demo_run, tmp_path):
    """The outcomes table holds everything the optimizer read, the llm router's triage answers included
    (rows with source "router"): `routeeval optimize outcomes.parquet` decides exactly as `run` did."""
    from routeeval.config import load_config
    from routeeval.pipeline import optimize_file

    result = optimize_file(
        demo_run / "outcomes.parquet",
        config=load_config(ROOT / "routeeval.toml"),
        out_dir=tmp_path / "again",
        monthly_queries=1_000_000,
    )
    run = json.loads((demo_run / "summary.json").read_text(encoding="utf-8"))
    keys = ("frontier", "metrics", "chosen", "selection", "baseline", "oracle", "production_mix", "metadata_routers")
    for key in keys:
        assert canonical(result.summary.to_json()[key]) == canonical(run[key]), key
    assert "llm" in result.summary.metrics.aiq
    policy = json.loads((demo_run / "policy.json").read_text(encoding="utf-8"))
    again = json.loads(result.policy_path.read_text(encoding="utf-8"))
    assert canonical(again["router"]) == canonical(policy["router"]) and again["kind"] == policy["kind"]
