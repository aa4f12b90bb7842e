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
    from routeeval.loopback import LoopbackServer

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
