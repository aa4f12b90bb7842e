"""Prices: litellm's bundled cost map, config overrides, and no silent $0."""

from __future__ import annotations

import pytest

from routeeval.config import Tier
from routeeval.errors import ConfigError
from routeeval.pricing import cost_map_version, lookup_cost_map, price_tier


def test_cost_map_prices_real_and_simulated_models_alike():
    real = price_tier(Tier("s", "openai/gpt-4o-mini"))
    simulated = price_tier(Tier("s", "routeeval-sim/gpt-4o-mini"))
    assert (real.price_in_per_mtok, real.price_out_per_mtok) == pytest.approx((0.15, 0.60))
    assert (simulated.price_in_per_mtok, simulated.price_out_per_mtok) == pytest.approx((0.15, 0.60))
    assert real.source == "litellm cost map"
    assert real.cost_usd(1_000_000, 1_000_000) == pytest.approx(0.75)


def test_config_prices_override_the_cost_map():
    price = price_tier(Tier("l", "openai/gpt-4o", price_in_per_mtok=1.0, price_out_per_mtok=4.0))
    assert price.source == "config"
    assert price.cost_usd(500, 250) == pytest.approx((500 * 1.0 + 250 * 4.0) / 1e6)


def test_unpriced_model_is_an_error_not_zero():
    with pytest.raises(ConfigError) as info:
        price_tier(Tier("mystery", "openai/my-private-finetune"))
    assert str(info.value).startswith("tier 'mystery': model 'openai/my-private-finetune' has no price")
    assert "set price_in_per_mtok and price_out_per_mtok" in str(info.value)


@pytest.mark.parametrize("model", ["google/gemini-2.5-flash", "ollama/llama3"])
def test_a_zero_price_from_the_cost_map_is_refused_unless_the_config_says_so(model):
    assert lookup_cost_map(model) == (0.0, 0.0)  # litellm's loose match / local model
    with pytest.raises(ConfigError) as info:
        price_tier(Tier("cheap", model), "team.toml")
    assert str(info.value).startswith(f"tier 'cheap': litellm's cost map prices model '{model}' at $0")
    assert "in team.toml (0 and 0 if it really is free" in str(info.value)
    free = price_tier(Tier("cheap", model, price_in_per_mtok=0.0, price_out_per_mtok=0.0))
    assert (free.price_in_per_mtok, free.price_out_per_mtok, free.source) == (0.0, 0.0, "config")


def test_cost_map_version_names_litellm_and_the_map():
    version = cost_map_version()
    assert version.startswith("litellm 1.110.")
    assert "cost map " in version and "unknown" not in version


def test_imported_tiers_use_litellms_provider_names_and_refuse_zero_prices():
    from routeeval.pricing import price_imported_tier

    # inspect_ai and promptfoo say "google/"; litellm's cost map says "gemini/" (a loose match gives $0 there).
    google = price_imported_tier("google/gemini-2.5-flash", "google/gemini-2.5-flash")
    assert google is not None and google.price_in_per_mtok > 0
    assert (google.price_in_per_mtok, google.price_out_per_mtok) == lookup_cost_map("gemini/gemini-2.5-flash")
    assert price_imported_tier("house", "openai/house-model-7") is None
    config = (Tier("small", "openai/house-model-7", 1.0, 2.0),)
    priced = price_imported_tier("openai/house-model-7", "openai/house-model-7", config)
    assert priced is not None and (priced.tier, priced.source, priced.price_in_per_mtok) == ("small", "config", 1.0)
