"""Fixtures only (shared helpers and constants live in helpers.py). No test touches the network: tiers are
simulated or point at a loopback server.

The demo's expensive inputs are session fixtures, computed once for the whole run. They are shared, so a test
never changes one: it copies first (``frame.copy()``, ``{**summary, ...}``). The outcomes and the report inputs
are checked at the end of the session against a digest taken when they were made: the run fails if a test
changed them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import REPORT_SETTINGS, ROOT, TEST_KEY, TEST_KEY_ENV, report_inputs, simulated_outcomes


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


# ------------------------------------------------------------------------------ the demo, once per session


def _fingerprint(value) -> str:
    """A digest of a shared fixture's value: frames by their cells, columns and dtypes; the rest as JSON."""
    import hashlib

    import pandas as pd

    digest = hashlib.sha256()
    for part in value if isinstance(value, tuple) else (value,):
        if isinstance(part, pd.DataFrame):
            digest.update(pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes())
            digest.update(repr([(str(c), str(t)) for c, t in part.dtypes.items()]).encode())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def _unchanged(name: str, before: str, value) -> None:
    assert _fingerprint(value) == before, (
        f"a test changed the session fixture {name!r}; copy it before changing it (conftest.py)"
    )


@pytest.fixture(scope="session")
def demo_outcomes():
    """The bundled demo set (350 rows) answered by the three simulated tiers: an outcomes frame. Do not change it."""
    frame = simulated_outcomes()
    before = _fingerprint(frame)
    yield frame
    _unchanged("demo_outcomes", before, frame)


@pytest.fixture(scope="session")
def demo_report(demo_outcomes):
    """(summary, outcomes, chosen_rows, optimize result) of the demo with ``REPORT_SETTINGS``, as the reports read
    them. Do not change them."""
    inputs = report_inputs(demo_outcomes, REPORT_SETTINGS)
    summary, _, _, result = inputs
    before = _fingerprint((summary, result.policy))
    yield inputs
    _unchanged("demo_report", before, (summary, result.policy))


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The folder of a whole `make run` on the demo (simulated tiers through litellm, a fresh cache): the
    slowest thing in the suite, done once. Do not write into it."""
    from routeeval.pipeline import run_evaluation

    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "routeeval.toml", folder / "routeeval.toml")
    shutil.copytree(ROOT / "evalsets", folder / "evalsets")
    cwd = Path.cwd()
    os.chdir(folder)  # the config's cache path is relative to it
    try:
        run_evaluation(
            "evalsets/support.jsonl",
            logs_path="evalsets/support-logs.jsonl",
            config_path="routeeval.toml",
            out_dir="reports/demo",
            monthly_queries=1_000_000,
        )
    finally:
        os.chdir(cwd)
    return folder / "reports" / "demo"
