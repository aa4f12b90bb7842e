"""routeeval.integrations.litellm: a policy picks a litellm Router's deployment, through litellm's real HTTP path
to the loopback server. Every async test runs its litellm calls in one ``asyncio.run``."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest
from conftest import TEST_KEY_ENV

from routeeval.errors import ConfigError
from routeeval.integrations.litellm import METADATA_KEY, attach_policy
from routeeval.loopback import LoopbackServer
from routeeval.policy import build_policy
from routeeval.pricing import import_litellm
from routeeval.routers import StaticRouter
from routeeval.runtime import CEILING_REASON

TIERS = [
    {"name": "small", "model": "openai/small-model", "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6},
    {"name": "large", "model": "openai/large-model", "price_in_per_mtok": 2.5, "price_out_per_mtok": 10.0},
]
CUTOFF_CHARS = 40
SHORT = "where is my invoice?"
LONG = "please compare these two contract clauses and tell me which one wins"


def _policy(tiers=TIERS, **guards) -> dict:
    """Static policy: queries longer than 40 characters go to "large", others to "small"."""
    router = StaticRouter(tiers=tuple(t["name"] for t in tiers)).fit()
    return build_policy(router, "static", {"length_cutoff_chars": CUTOFF_CHARS}, tiers, guards=guards)


def _deployment(server, group: str, model: str, **model_info) -> dict:
    entry = {
        "model_name": group,
        "litellm_params": {
            "model": model,
            "api_base": server.base_url,
            "api_key": os.environ[TEST_KEY_ENV],
            "num_retries": 0,
        },
    }
    if model_info:
        entry["model_info"] = model_info
    return entry


def _router(model_list: list[dict], **settings):
    litellm = import_litellm()
    return litellm.Router(model_list=model_list, num_retries=0, **settings)


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture()
def server():
    with LoopbackServer(require_api_key=os.environ[TEST_KEY_ENV]) as running:
        yield running


def test_short_and_long_queries_land_on_their_tiers(server):
    assert len(SHORT) <= CUTOFF_CHARS < len(LONG)
    router = _router(
        [
            _deployment(server, "auto", "openai/small-model"),
            _deployment(server, "auto", "openai/large-model"),
            _deployment(server, "large", "openai/large-model"),
        ]
    )
    strategy = attach_policy(router, _policy())

    async def calls():
        short = await router.acompletion(model="auto", messages=_user(SHORT))
        long = await router.acompletion(model="auto", messages=_user(LONG))
        direct = await router.acompletion(model="large", messages=_user(SHORT))  # another group: no policy
        return short, long, direct

    short, long, direct = asyncio.run(calls())
    assert (short.model, long.model, direct.model) == ("small-model", "large-model", "large-model")
    assert server.count(model="small-model", status=200) == 1
    assert server.count(model="large-model", status=200) == 2
    # Spend counts the routed calls only, at the policy's prices (litellm has none for these models).
    expected = sum(
        (r.usage.prompt_tokens * t["price_in_per_mtok"] + r.usage.completion_tokens * t["price_out_per_mtok"]) / 1e6
        for r, t in ((short, TIERS[0]), (long, TIERS[1]))
    )
    assert strategy.policy_router.spent_today_usd() == pytest.approx(expected, rel=1e-12)


def test_a_malformed_query_goes_to_the_fallback_tier_and_the_reason_is_logged(server, caplog):
    router = _router(
        [_deployment(server, "auto", "openai/small-model"), _deployment(server, "auto", "openai/large-model")]
    )
    attach_policy(router, _policy(fallback_tier="large"))
    seen: list[dict] = []

    litellm = import_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    class Metadata(CustomLogger):
        async def async_post_call_success_deployment_hook(self, request_data, response, call_type):
            seen.append((request_data.get("metadata") or {}).get(METADATA_KEY))

    probe = Metadata()
    litellm.callbacks.append(probe)
    try:
        with caplog.at_level(logging.DEBUG, logger="routeeval"):
            # No user message: the runtime cannot read a query, so the policy's fallback tier answers,
            # although the text is short enough for "small".
            asyncio.run(router.acompletion(model="auto", messages=[{"role": "system", "content": "hi"}]))
    finally:
        litellm.callbacks.remove(probe)
    assert server.count(model="large-model", status=200) == 1
    assert server.count(model="small-model") == 0
    assert seen[0]["tier"] == "large" and seen[0]["fallback"] is True
    assert seen[0]["reason"] == "fallback: the message list has no user message"
    assert "fallback: the message list has no user message" in caplog.text


def test_the_ceiling_guard_sends_long_queries_to_the_cheapest_tier_once_spend_passes_it(server):
    router = _router(
        [_deployment(server, "auto", "openai/small-model"), _deployment(server, "auto", "openai/large-model")]
    )
    ceiling_usd = 5e-5  # one long call on "large" costs about 8e-5 at the policy's prices
    strategy = attach_policy(router, _policy(daily_cost_ceiling_usd=ceiling_usd))

    async def calls():
        first = await router.acompletion(model="auto", messages=_user(LONG))
        spent_after_first = strategy.policy_router.spent_today_usd()
        second = await router.acompletion(model="auto", messages=_user(LONG))
        return first, spent_after_first, second

    first, spent_after_first, second = asyncio.run(calls())
    assert first.model == "large-model"
    assert spent_after_first >= ceiling_usd  # counted before acompletion returned
    assert second.model == "small-model"
    assert strategy.policy_router.route(LONG).reason == CEILING_REASON


def test_litellm_prices_win_over_the_policy_prices_when_it_has_them(server):
    model_info = {"input_cost_per_token": 3e-6, "output_cost_per_token": 7e-6}
    router = _router(
        [
            _deployment(server, "auto", "openai/small-model", **model_info),
            _deployment(server, "auto", "openai/large-model", **model_info),
        ]
    )
    strategy = attach_policy(router, _policy())

    async def calls():
        return [await router.acompletion(model="auto", messages=_user(text)) for text in (SHORT, LONG)]

    responses = asyncio.run(calls())
    litellm_costs = [r._hidden_params["response_cost"] for r in responses]
    assert all(cost > 0 for cost in litellm_costs)
    assert strategy.policy_router.spent_today_usd() == pytest.approx(sum(litellm_costs), rel=1e-12)


def test_a_tier_without_a_healthy_deployment_hands_over_to_the_fallback_tier(server):
    tiers = [dict(TIERS[0], model="openai/down"), TIERS[1]]  # the loopback answers model "down" with 503
    router = _router(
        [_deployment(server, "auto", "openai/down"), _deployment(server, "auto", "openai/large-model")],
        allowed_fails=0,
        cooldown_time=60,
    )
    attach_policy(router, _policy(tiers))
    litellm = import_litellm()

    async def calls():
        with pytest.raises(litellm.ServiceUnavailableError):
            await router.acompletion(model="auto", messages=_user(SHORT))  # "small" fails and cools down
        return await router.acompletion(model="auto", messages=_user(SHORT))

    response = asyncio.run(calls())
    assert response.model == "large-model"
    assert server.count(model="down") == 1


def test_sync_completion_is_routed_too(server):
    router = _router(
        [_deployment(server, "auto", "openai/small-model"), _deployment(server, "auto", "openai/large-model")]
    )
    attach_policy(router, _policy())
    assert router.completion(model="auto", messages=_user(SHORT)).model == "small-model"
    assert router.completion(model="auto", messages=_user(LONG)).model == "large-model"


def test_a_deployment_can_name_its_tier_in_model_info(server):
    router = _router(
        [
            _deployment(server, "auto", "openai/mini-eastus", routeeval_tier="small"),
            _deployment(server, "auto", "openai/large-model"),
        ]
    )
    attach_policy(router, _policy())
    assert router.completion(model="auto", messages=_user(SHORT)).model == "mini-eastus"


def test_a_route_group_missing_a_tier_is_refused_with_what_to_add(server):
    router = _router([_deployment(server, "auto", "openai/small-model")])
    with pytest.raises(ConfigError) as error:
        attach_policy(router, _policy())
    assert str(error.value) == (
        "model group 'auto' has no deployment for tier 'large'; give each tier a deployment whose "
        "litellm_params.model is the tier's model (small -> openai/small-model, large -> openai/large-model) "
        "or whose model_info.routeeval_tier names the tier."
    )
    with pytest.raises(ConfigError, match="litellm Router has no model group 'smart'"):
        attach_policy(router, _policy(), route="smart")
