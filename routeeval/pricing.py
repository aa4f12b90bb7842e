"""Prices per tier: litellm's bundled cost map, overridden by explicit prices in the config.

An unpriced model is an error at start-up, never a silent $0. litellm is imported here (and only
through :func:`import_litellm`), offline and with its bundled cost map, so no run ever fetches a
price list from the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from routeeval.config import SIM_PROVIDER, Tier
from routeeval.errors import ConfigError

_COST_MAP_FILE = "model_prices_and_context_window_backup.json"


_import_seconds = [0.0]  # how long import_litellm's one import took (0 until it ran, or when litellm was loaded)


def litellm_import_s() -> float:
    """Seconds this process spent importing litellm through :func:`import_litellm` (0 before it did)."""
    return _import_seconds[0]


@cache
def import_litellm():
    """Import litellm for offline use: the bundled cost map, no telemetry, no debug banners."""
    started = time.perf_counter()
    # litellm reads these once, at import time; they only ever point it at its own bundled files.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    _import_seconds[0] = time.perf_counter() - started
    return litellm


@dataclass(frozen=True)
class TierPrice:
    tier: str
    model: str
    price_in_per_mtok: float
    price_out_per_mtok: float
    source: str  # "config" or "litellm cost map"

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.price_in_per_mtok + completion_tokens * self.price_out_per_mtok) / 1e6


def price_tiers(tiers: tuple[Tier, ...] | list[Tier], where: str | None = None) -> dict[str, TierPrice]:
    """Price every tier, or raise ConfigError naming the first one without a price (and ``where``, the config file
    the tiers come from)."""
    return {tier.name: price_tier(tier, where) for tier in tiers}


def price_tier(tier: Tier, where: str | None = None) -> TierPrice:
    if tier.price_in_per_mtok is not None and tier.price_out_per_mtok is not None:
        return TierPrice(tier.name, tier.model, tier.price_in_per_mtok, tier.price_out_per_mtok, "config")
    lookup = cost_map_model(tier.model)
    found = lookup_cost_map(lookup)
    if found is None:
        raise ConfigError(
            f"tier '{tier.name}': model '{lookup}' has no price in litellm's cost map ({cost_map_version()}); "
            f"set price_in_per_mtok and price_out_per_mtok for this tier in {where or 'the config'}."
        )
    if found == (0.0, 0.0):  # a loose match (google/... -> $0) or a local model: never assumed free
        raise ConfigError(
            f"tier '{tier.name}': litellm's cost map prices model '{lookup}' at $0 ({cost_map_version()}), which "
            "routeeval does not take on trust (a provider prefix litellm does not know can match a $0 entry); "
            f"set price_in_per_mtok and price_out_per_mtok for this tier in {where or 'the config'} (0 and 0 if it "
            "really is free, such as a local model)."
        )
    price_in, price_out = found
    return TierPrice(tier.name, tier.model, price_in, price_out, "litellm cost map")


def cost_map_model(model: str) -> str:
    """The model id to look up: a simulated tier is priced like the model it stands for."""
    prefix = SIM_PROVIDER + "/"
    return model[len(prefix) :] if model.startswith(prefix) else model


def lookup_cost_map(model: str) -> tuple[float, float] | None:
    """USD per 1M (input, output) tokens from litellm's bundled cost map, or None when unpriced.

    The map is read straight from litellm's bundled JSON, so a fully cached run never pays the
    seconds it takes to import litellm; only ids the plain lookup misses ask litellm itself.
    """
    table = _bundled_cost_map()
    provider, _, bare = model.partition("/") if "/" in model else ("", "", model)
    for key in (model, bare):
        entry = table.get(key)
        if not isinstance(entry, dict) or key == bare and provider and entry.get("litellm_provider") != provider:
            continue
        found = _prices_of(entry)
        if found is not None:
            return found
    litellm = import_litellm()
    # get_model_info prints a provider banner to stdout on a miss; keep our output clean.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            info = litellm.get_model_info(model)
        except Exception:  # litellm raises several unrelated types for "not mapped"
            return None
    return _prices_of(info)


def _prices_of(entry) -> tuple[float, float] | None:
    price_in = entry.get("input_cost_per_token")
    price_out = entry.get("output_cost_per_token")
    if price_in is None or price_out is None:
        return None
    return float(price_in) * 1e6, float(price_out) * 1e6


@cache
def _cost_map_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        raise ConfigError("litellm is not installed; run `make run` or `pip install -e .` first.")
    return Path(spec.origin).parent / _COST_MAP_FILE


@cache
def _bundled_cost_map() -> dict:
    path = _cost_map_path()
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@cache
def cost_map_version() -> str:
    """'litellm X.Y.Z, cost map <sha256 prefix>' — recorded in every output."""
    from importlib.metadata import version

    path = _cost_map_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "unknown"
    return f"litellm {version('litellm')}, cost map {digest}"


def price_imported_tier(name: str, model: str | None, tiers: tuple[Tier, ...] | list[Tier] = ()) -> TierPrice | None:
    """The price of a tier read from another tool's results (``routeeval import promptfoo|inspect``).

    A config tier named ``name`` or serving ``model`` prices it (its own prices, else its model's in the
    cost map; the returned ``tier`` is then the config's name); otherwise ``model`` in litellm's cost map.
    None when neither knows a price: the caller refuses rather than count the calls as free.
    """
    for tier in tiers:
        if tier.name == name or (model is not None and tier.model == model):
            return price_tier(tier)
    if model is None:
        return None
    provider, _, bare = model.partition("/")
    lookup = f"{IMPORTED_PROVIDERS[provider]}/{bare}" if provider in IMPORTED_PROVIDERS and bare else model
    found = lookup_cost_map(cost_map_model(lookup))
    if found is None or found == (0.0, 0.0):  # a zero price from a loose match is no price, not free calls
        return None
    return TierPrice(name, model, found[0], found[1], "litellm cost map")


# Provider names other tools (inspect_ai, promptfoo) use where litellm's cost map uses another.
IMPORTED_PROVIDERS = {"google": "gemini", "together": "together_ai", "grok": "xai"}


@cache
def supports_logprobs(model: str) -> bool | None:
    """Whether litellm says the provider of ``model`` takes the OpenAI ``logprobs`` parameter (offline: litellm's
    own provider tables), or None when litellm cannot tell which provider ``model`` is."""
    litellm = import_litellm()
    with contextlib.redirect_stdout(io.StringIO()):  # a miss prints a provider banner to stdout
        try:
            bare, provider, _key, _base = litellm.get_llm_provider(model)
            supported = litellm.get_supported_openai_params(model=bare, custom_llm_provider=provider)
        except Exception:  # litellm raises several unrelated types for an unknown provider
            return None
    return bool(supported) and "logprobs" in supported
