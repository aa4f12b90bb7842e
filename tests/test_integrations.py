"""routeeval.integrations.litellm: a policy picks a litellm Router's deployment, and complete()/acomplete() run a
whole policy (cascades included), failing over by capability when a tier is down, through litellm's real HTTP path
to the loopback server (faults by model name: ``down`` answers 503, ``fail500-<n>`` 500). Every async test runs its
litellm calls in one ``asyncio.run``."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket

import pytest
from helpers import TEST_KEY_ENV

from routeeval.errors import ConfigError
from routeeval.integrations.litellm import (
    METADATA_KEY,
    RoutingTrail,
    TierCall,
    TiersExhaustedError,
    acomplete,
    attach_policy,
    complete,
    failover_order,
    read_trail,
)
from routeeval.policy import build_policy, load_router
from routeeval.pricing import import_litellm
from routeeval.routers import CascadeRouter, LLMRouter, StaticRouter
from routeeval.runtime import CEILING_REASON, quantize
from routeeval.testing.loopback import LoopbackServer

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


# -- complete() / acomplete(): the whole policy, cascades included -------------------------------------------------
PRICES = {"small": (0.15, 0.6), "medium": (1.0, 5.0), "large": (2.5, 10.0)}
CASCADE_TEXTS = ["where is my invoice", "reset my password", "compare these contract clauses", "gdpr data request"] * 3
UNSURE = "openai/logprob-2000"  # every token's logprob is -2.0: confidence exp(-2) = 0.135
SURE = "openai/logprob-100"  # -0.1 per token: confidence exp(-0.1) = 0.905


def _tiers(models: dict[str, str]) -> list[dict]:
    return [
        {"name": name, "model": model, "price_in_per_mtok": PRICES[name][0], "price_out_per_mtok": PRICES[name][1]}
        for name, model in models.items()
    ]


def _cascade_policy(models: dict[str, str], max_escalations: int = 2, confidence: str = "logprob", **guards) -> dict:
    """A cascade over ``models`` (tier name -> model, cheapest first) at threshold 0.5, fit by CascadeRouter on
    rows where the cheaper tiers miss the last two queries: its confidence comes from token logprobs or, with
    ``confidence="verifier"``, from a verifier that trusts answers saying "solved"."""
    names = tuple(models)
    correct = [[1] * len(names) if i % 4 < 2 else [0] * (len(names) - 1) + [1] for i in range(len(CASCADE_TEXTS))]
    logprob_mean = [[-0.1 if score else -1.5 for score in row] for row in correct]
    responses = [["solved, done" if score else "unsure, sorry" for score in row] for row in correct]
    router = CascadeRouter(
        tiers=names,
        max_escalations=max_escalations,
        confidence=confidence,
        featurizer={"min_df": 1},
        response_featurizer={"min_df": 1},
    ).fit(CASCADE_TEXTS, correct, responses=responses, logprob_mean=logprob_mean)
    guards = {"max_escalations": max_escalations, **guards}
    return build_policy(router, "cascade", {"threshold": 0.5}, _tiers(models), guards=guards)


def _direct(server) -> dict:
    """complete()'s keyword arguments for calling the loopback server without a Router."""
    return {"api_base": server.base_url, "api_key": os.environ[TEST_KEY_ENV], "num_retries": 0}


def _policy_cost_usd(response, tier: str) -> float:
    price_in, price_out = PRICES[tier]
    return (response.usage.prompt_tokens * price_in + response.usage.completion_tokens * price_out) / 1e6


def _asked_logprobs(server, model: str) -> list[bool]:
    return [r.body.get("logprobs") is True for r in server.requests if r.model == model]


def test_an_unsure_cheap_answer_escalates_to_the_strong_tier(server):
    policy_router = load_router(_cascade_policy({"small": UNSURE, "large": "openai/large-model"}))
    response = complete(policy_router, _user(SHORT), **_direct(server))
    assert response.model == "large-model"
    assert server.count(model="logprob-2000", status=200) == 1
    assert server.count(model="large-model", status=200) == 1
    # The small tier's confidence comes from logprobs, so they are asked for; the last tier's is never read.
    assert _asked_logprobs(server, "logprob-2000") == [True]
    assert _asked_logprobs(server, "large-model") == [False]
    trail = read_trail(response)
    unsure = quantize(math.exp(-2.0))
    assert trail.tiers == ("small", "large") and trail.escalations == 1
    assert [(c.tier, c.model, c.reason, c.confidence) for c in trail.calls] == [
        ("small", UNSURE, "cascade: start with the first tier", unsure),
        ("large", "openai/large-model", "logprob confidence 0.135 < 0.5 on small; escalate", None),
    ]
    assert trail.stop_reason == "'large' is the cascade's last tier"
    # Both calls are priced at the policy's prices (litellm has none for these models) and recorded as spend.
    assert trail.calls[1].cost_usd == pytest.approx(_policy_cost_usd(response, "large"), rel=1e-12)
    assert trail.calls[0].cost_usd > 0
    assert policy_router.spent_today_usd() == pytest.approx(trail.total_cost_usd, rel=1e-12)


def test_a_confident_cheap_answer_stands_async(server):
    policy_router = load_router(_cascade_policy({"small": SURE, "large": "openai/large-model"}))
    response = asyncio.run(acomplete(policy_router, _user(SHORT), **_direct(server)))
    assert response.model == "logprob-100"
    assert server.count(model="large-model") == 0
    assert read_trail(response) == RoutingTrail(
        "cascade",
        (
            TierCall(
                "small",
                SURE,
                "cascade: start with the first tier",
                quantize(math.exp(-0.1)),
                pytest.approx(_policy_cost_usd(response, "small"), rel=1e-12),
            ),
        ),
        "logprob confidence 0.905 >= 0.5 on small; accept",
    )
    assert policy_router.spent_today_usd() == pytest.approx(_policy_cost_usd(response, "small"), rel=1e-12)


def test_max_escalations_caps_the_cascade(server):
    models = {"small": UNSURE, "medium": "openai/logprob-1500", "large": "openai/large-model"}
    capped = load_router(_cascade_policy(models, max_escalations=1))
    response = complete(capped, _user(SHORT), **_direct(server))
    trail = read_trail(response)
    assert trail.tiers == ("small", "medium")
    assert trail.calls[1].confidence is None  # at the cap its confidence is not needed, so not measured
    assert trail.stop_reason == "escalation cap reached (1 escalation)"
    assert server.count(model="large-model") == 0
    # The same cascade with two escalations allowed walks on to the top: the cap is what stopped it.
    walked = complete(load_router(_cascade_policy(models, max_escalations=2)), _user(SHORT), **_direct(server))
    assert read_trail(walked).tiers == ("small", "medium", "large")
    assert server.count(model="large-model", status=200) == 1
    assert _asked_logprobs(server, "logprob-1500") == [False, True]  # asked only where it may escalate


def test_a_tier_that_returns_no_logprobs_counts_as_unsure(server):
    policy_router = load_router(_cascade_policy({"small": "openai/nologprobs", "large": "openai/large-model"}))
    trail = read_trail(asyncio.run(acomplete(policy_router, _user(SHORT), **_direct(server))))
    assert _asked_logprobs(server, "nologprobs") == [True]
    assert trail.tiers == ("small", "large")
    assert trail.calls[1].reason == "no logprobs: confidence 0.000 < 0.5 on small; escalate"


def test_a_verifier_tier_is_judged_on_its_answer_without_logprobs():
    answers = {"where is my invoice": "solved, done", "reset my password": "unsure, sorry"}
    models = {"small": "openai/small-model", "large": "openai/large-model"}
    policy = _cascade_policy(models, confidence="verifier")
    assert [c["source"] for c in policy["router"]["confidence"]] == ["verifier", "constant"]
    policy_router = load_router(policy)
    with LoopbackServer(require_api_key=os.environ[TEST_KEY_ENV], answers=answers) as server:
        solved = complete(policy_router, _user("where is my invoice"), **_direct(server))
        unsure = complete(policy_router, _user("reset my password"), **_direct(server))
        assert _asked_logprobs(server, "small-model") == [False, False]
    assert read_trail(solved).tiers == ("small",) and solved.choices[0].message.content == "solved, done"
    assert read_trail(solved).stop_reason.startswith("verifier confidence ")
    assert read_trail(unsure).tiers == ("small", "large")
    assert read_trail(unsure).calls[1].reason.startswith("verifier confidence ")


def test_past_the_cost_ceiling_the_cascade_does_not_escalate(server):
    policy_router = load_router(
        _cascade_policy({"small": UNSURE, "large": "openai/large-model"}, daily_cost_ceiling_usd=1e-9)
    )
    policy_router.record_spend(1e-6)
    trail = read_trail(complete(policy_router, _user(SHORT), **_direct(server)))
    assert trail.tiers == ("small",)
    assert (trail.calls[0].reason, trail.stop_reason) == (CEILING_REASON, CEILING_REASON)
    assert server.count(model="large-model") == 0


def test_other_policy_kinds_make_the_one_routed_call(server):
    policy_router = load_router(_policy())
    response = complete(policy_router, _user(LONG), **_direct(server))
    assert (response.model, server.count()) == ("large-model", 1)
    assert server.requests[0].body.get("logprobs") is None
    trail = read_trail(response)
    assert (trail.kind, trail.tiers, trail.stop_reason) == ("static", ("large",), "static policy: one call")
    assert trail.calls[0].reason == f"longer than {CUTOFF_CHARS} characters"
    assert policy_router.spent_today_usd() == pytest.approx(_policy_cost_usd(response, "large"), rel=1e-12)


def test_a_router_strategy_runs_the_cascade_over_its_deployments(server):
    router = _router(
        [_deployment(server, "auto", UNSURE), _deployment(server, "auto", "openai/large-model", routeeval_tier="large")]
    )
    strategy = attach_policy(router, _cascade_policy({"small": UNSURE, "large": "openai/large-model"}))

    async def calls():
        one = await router.acompletion(model="auto", messages=_user(SHORT))  # the route group alone: one call
        spent_after_one = strategy.policy_router.spent_today_usd()
        whole = await acomplete(strategy, _user(SHORT), metadata={"team": "support"})
        return one, spent_after_one, whole

    one, spent_after_one, whole = asyncio.run(calls())
    assert one.model == "logprob-2000" and read_trail(one) is None
    assert whole.model == "large-model"
    trail = read_trail(whole)
    assert trail.tiers == ("small", "large")
    assert trail.calls[1].reason == "logprob confidence 0.135 < 0.5 on small; escalate"
    assert server.count(model="logprob-2000", status=200) == 2
    assert server.count(model="large-model", status=200) == 1
    # The strategy's spend hook counted the helper's two calls, at the cost the trail reports.
    assert strategy.policy_router.spent_today_usd() - spent_after_one == pytest.approx(trail.total_cost_usd, rel=1e-9)
    # Sync, through the Router too.
    assert read_trail(complete(strategy, _user(SHORT))).tiers == ("small", "large")
    assert server.count(model="large-model", status=200) == 2


def test_complete_refuses_what_it_cannot_honour(server):
    policy = _cascade_policy({"small": UNSURE, "large": "openai/large-model"})
    with pytest.raises(ConfigError) as error:
        complete(policy, _user(SHORT), **_direct(server))
    assert str(error.value) == (
        "complete() got a dict as its policy; pass a loaded policy (routeeval.policy.load_router('policy.json'), "
        "loaded once: it holds the daily spend) or the strategy attach_policy returned."
    )
    policy_router = load_router(policy)
    with pytest.raises(ConfigError, match="the policy picks each call's model"):
        complete(policy_router, _user(SHORT), model="openai/large-model", **_direct(server))
    with pytest.raises(ConfigError, match="complete\\(\\) cannot stream"):
        complete(policy_router, _user(SHORT), stream=True, **_direct(server))
    assert server.count() == 0


def _llm_policy(models: dict[str, str]) -> dict:
    """An llm policy whose router model (the first tier) is shown the query alone; "easy"/"hard" name a tier."""
    router = LLMRouter(tiers=tuple(models), prompt="{query}").fit(intents=["billing", "legal"])
    return build_policy(router, "llm", {}, _tiers(models))


def test_an_llm_policy_asks_its_router_model_then_makes_the_call_it_names(server):
    policy_router = load_router(_llm_policy({"small": "openai/echo", "large": "openai/large-model"}))
    hard = "hard: which of these two contract clauses wins?"
    response = complete(policy_router, _user(hard), temperature=0.7, max_tokens=64, **_direct(server))
    assert response.model == "large-model"
    triage_request = next(r for r in server.requests if r.model == "echo")
    assert triage_request.body["messages"] == policy_router.llm_request(_user(hard))
    assert triage_request.body["temperature"] == 0 and "max_tokens" not in triage_request.body
    assert [r.model for r in server.requests] == ["echo", "large-model"]
    trail = read_trail(response)
    assert trail.triage.tier == "small" and trail.triage.reason == "llm router: the router model triages the query"
    assert trail.tiers == ("large",) and trail.calls[0].reason == "llm router answered large"
    assert trail.escalations == 0
    assert policy_router.spent_today_usd() == pytest.approx(trail.total_cost_usd, rel=1e-12)
    assert trail.total_cost_usd == pytest.approx(trail.triage.cost_usd + trail.calls[0].cost_usd, rel=1e-12)

    easy = asyncio.run(acomplete(policy_router, _user("easy: where is my invoice?"), **_direct(server)))
    assert read_trail(easy).tiers == ("small",) and easy.model == "echo"


# -- failover: a tier that fails hands over to the next by capability ---------------------------------------------
TIERS3 = [
    TIERS[0],
    {"name": "medium", "model": "openai/medium-model", "price_in_per_mtok": 1.0, "price_out_per_mtok": 5.0},
    TIERS[1],
]
DOWN_TEXT = (
    "litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - The engine is currently overloaded "
    "(loopback fault: down)"
)
ODD = [{"role": "system", "content": "hi"}]  # no user message: the policy's fallback tier answers


def _tier_cost_usd(response, tier: dict) -> float:
    usage = response.usage
    return (
        usage.prompt_tokens * tier["price_in_per_mtok"] + usage.completion_tokens * tier["price_out_per_mtok"]
    ) / 1e6


def test_the_failover_order_goes_up_by_capability_then_down():
    policy_router = load_router(_policy(TIERS3))
    assert failover_order(policy_router, "small") == ("small", "medium", "large")
    assert failover_order(policy_router, "medium") == ("medium", "large", "small")
    assert failover_order(policy_router, "large") == ("large", "medium", "small")


def test_when_the_fallback_tier_is_down_its_traffic_goes_to_the_next_tier_by_capability(server):
    tiers = [*TIERS3[:2], dict(TIERS3[2], model="openai/down")]
    router = _router(
        [_deployment(server, "auto", t["model"]) for t in tiers],
        allowed_fails=0,
        cooldown_time=60,
    )
    strategy = attach_policy(router, _policy(tiers, fallback_tier="large"), random_state=0)
    metadata = [{} for _ in range(12)]

    async def calls():
        return [await router.acompletion(model="auto", messages=ODD, metadata=m) for m in metadata]

    responses = asyncio.run(calls())
    # "large" has no tier above it, so "medium" (the nearest below) answers every call; never "small", at random.
    assert [r.model for r in responses] == ["medium-model"] * 12
    assert server.count(model="small-model") == 0
    assert server.count(model="down") == 1  # the first call's failure cools it down; later calls skip it
    stamp = metadata[-1][METADATA_KEY]
    assert (stamp["tier"], stamp["served_tier"], stamp["failed_tiers"]) == ("large", "medium", ["large"])
    assert stamp["reason"] == (
        "fallback: the message list has no user message; failover to tier 'medium', the next by capability "
        "(tier 'large': no healthy deployment)"
    )
    # Every answer was paid for and counted; the failed call was not.
    expected = sum(_tier_cost_usd(r, tiers[1]) for r in responses)
    assert strategy.policy_router.spent_today_usd() == pytest.approx(expected, rel=1e-12)


def test_the_first_failure_fails_over_instead_of_retrying_the_dead_deployment(server):
    tiers = [TIERS[0], dict(TIERS[1], model="openai/down")]
    litellm = import_litellm()
    # litellm's defaults: two retries, and a deployment cools down only after several failures.
    model_list = [_deployment(server, "auto", t["model"]) for t in tiers]
    for deployment in model_list:
        del deployment["litellm_params"]["num_retries"]
    router = litellm.Router(model_list=model_list)
    attach_policy(router, _policy(tiers))
    assert router.settings().fallbacks == [{"auto": ["auto:failover-1", "auto:failover-2"]}]
    assert asyncio.run(router.acompletion(model="auto", messages=_user(LONG))).model == "small-model"
    assert server.count(model="down") == 1  # retried on "small" at once, not on the dead deployment
    # Without retries, litellm's fallbacks (set from the policy) fail over at the first failure too; sync as well.
    no_retries = _router([_deployment(server, "auto", t["model"]) for t in tiers])
    attach_policy(no_retries, _policy(tiers))
    server.reset()
    assert asyncio.run(no_retries.acompletion(model="auto", messages=_user(LONG))).model == "small-model"
    assert no_retries.completion(model="auto", messages=_user(LONG)).model == "small-model"
    assert server.count(model="down") == 2  # once per call: not cooling down yet, but never retried
    assert server.count(model="small-model", status=200) == 2


def test_a_tier_tries_its_other_deployments_before_failing_over(server):
    down = _deployment(server, "auto", "openai/down", routeeval_tier="large")
    down["litellm_params"]["weight"] = 1_000_000  # picked first
    router = _router(
        [_deployment(server, "auto", "openai/small-model"), down, _deployment(server, "auto", "openai/large-model")],
        allowed_fails=0,
        cooldown_time=60,
    )
    attach_policy(router, _policy(), random_state=0)

    async def calls():
        return [await router.acompletion(model="auto", messages=_user(LONG)) for _ in range(3)]

    assert [r.model for r in asyncio.run(calls())] == ["large-model"] * 3
    assert server.count(model="down") == 1  # failed, then cooled down
    assert server.count(model="small-model") == 0


def test_when_no_tier_can_answer_the_error_names_each_tier_tried_and_why(server, caplog):
    litellm = import_litellm()
    tiers = [*TIERS3[:2], dict(TIERS3[2], model="openai/down")]
    with socket.socket() as closed:  # bound but never listening: a connection to it is refused
        closed.bind(("127.0.0.1", 0))
        medium = _deployment(server, "auto", "openai/medium-model")
        medium["litellm_params"]["api_base"] = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
        small = _deployment(server, "auto", "openai/small-model")
        small["litellm_params"]["api_key"] = "sk-wrong"  # the loopback server answers 401
        model_list = [small, medium, _deployment(server, "auto", "openai/down")]
        strategy = attach_policy(_router(model_list), _policy(tiers))
        with pytest.raises(TiersExhaustedError) as error:
            asyncio.run(acomplete(strategy, _user(LONG)))
        # A plain call to the route group fails over the same way; litellm raises the group's first error once
        # its fallbacks failed too, and routeeval logs which tiers were tried and why.
        router = _router(model_list)  # another Router: no deployment cooling down after the first one's calls
        attach_policy(router, strategy.policy_router)
        with caplog.at_level(logging.WARNING, logger="routeeval"), pytest.raises(litellm.ServiceUnavailableError):
            asyncio.run(router.acompletion(model="auto", messages=_user(LONG)))
    # "large" decided; down, so "medium" (no tier above "large": the nearest below), then "small".
    tried = dict(error.value.tried)
    assert list(tried) == ["large", "medium", "small"]
    assert tried["large"] == f"failed: {DOWN_TEXT}"
    assert tried["medium"].startswith("failed: litellm.InternalServerError:") and "Connection error" in tried["medium"]
    assert tried["small"].startswith("failed: litellm.AuthenticationError:") and "Incorrect API key" in tried["small"]
    assert str(error.value) == (
        f"route 'auto': no tier could answer; tried large ({tried['large']}), medium ({tried['medium']}), "
        f"small ({tried['small']})."
    )
    assert error.value.exit_code == 3 and error.value.trail.failed_tiers == ("large", "medium", "small")
    listed = ", ".join(f"{tier} ({what.removeprefix('failed: ')})" for tier, what in tried.items())
    warnings = [r.getMessage() for r in caplog.records if r.name == "routeeval"]
    assert warnings == [f"route 'auto': no tier could answer; tried {listed}."]
    assert [(r.model, r.status) for r in server.requests] == [("down", 503), ("small-model", 401)] * 2
    assert strategy.policy_router.spent_today_usd() == 0

    # When litellm's retries outlast the tiers, the call to the route group raises the error itself.
    server.reset()
    two_down = [dict(TIERS[0], model="openai/fail500-9"), dict(TIERS[1], model="openai/down")]
    retrying = _router([_deployment(server, "auto", t["model"]) for t in two_down])
    attach_policy(retrying, _policy(two_down))
    with pytest.raises(TiersExhaustedError) as error:  # the third attempt finds no tier left
        asyncio.run(retrying.acompletion(model="auto", messages=_user(LONG), num_retries=2))
    assert [tier for tier, _ in error.value.tried] == ["large", "small"]
    assert [(r.model, r.status) for r in server.requests] == [("down", 503), ("fail500-9", 500)]

    # Without a Router, complete() fails over the same way and raises with the trail.
    server.reset()
    policy_router = load_router(_policy(two_down))
    with pytest.raises(TiersExhaustedError) as error:
        complete(policy_router, _user(LONG), **_direct(server))
    five_hundred = (
        "litellm.InternalServerError: InternalServerError: OpenAIException - The server had an error "
        "(loopback fault: attempt 1 of 9)"
    )
    assert str(error.value) == (
        f"policy: no tier could answer; tried large (failed: {DOWN_TEXT}), small (failed: {five_hundred})."
    )
    assert isinstance(error.value.__cause__, litellm.InternalServerError)
    trail = error.value.trail
    assert (trail.tiers, trail.failed_tiers, trail.stop_reason) == ((), ("large", "small"), "no tier could answer")
    assert trail.calls[1].reason == (
        f"longer than {CUTOFF_CHARS} characters; failover: tier 'large' failed, 'small' is the next tier down by "
        "capability"
    )
    assert [(r.model, r.status) for r in server.requests] == [("down", 503), ("fail500-9", 500)]
    assert policy_router.spent_today_usd() == 0


def test_without_a_router_a_failed_tier_fails_over_and_the_trail_records_it(server):
    litellm = import_litellm()
    first_down = load_router(_cascade_policy({"small": "openai/down", "large": "openai/large-model"}))
    response = asyncio.run(acomplete(first_down, _user(SHORT), **_direct(server)))
    assert response.model == "large-model"
    trail = read_trail(response)
    assert (trail.tiers, trail.failed_tiers, trail.escalations) == (("large",), ("small",), 0)
    assert trail.calls[0] == TierCall(
        "small", "openai/down", "cascade: start with the first tier", None, 0.0, DOWN_TEXT
    )
    assert trail.calls[1].reason == (
        "cascade: start with the first tier; failover: tier 'small' failed, 'large' is the next tier up by capability"
    )
    assert trail.stop_reason == "'large' is the cascade's last tier"
    assert first_down.spent_today_usd() == pytest.approx(_policy_cost_usd(response, "large"), rel=1e-12)
    assert server.count(model="down") == 1

    # The large tier down: the cascade does not go back to "small" (asked already) and raises instead of
    # returning the answer it rejected; the small answer was paid for and counted.
    last_down = load_router(_cascade_policy({"small": UNSURE, "large": "openai/down"}))
    with pytest.raises(TiersExhaustedError) as error:
        complete(last_down, _user(SHORT), **_direct(server))
    assert str(error.value) == (
        f"policy: no tier could answer; tried small (answer not accepted: confidence 0.135 < 0.5), "
        f"large (failed: {DOWN_TEXT})."
    )
    assert isinstance(error.value.__cause__, litellm.ServiceUnavailableError)
    assert server.count(model="logprob-2000") == 1 and server.count(model="down") == 2
    assert last_down.spent_today_usd() == pytest.approx(error.value.trail.total_cost_usd, rel=1e-12)
    assert error.value.trail.calls[0].cost_usd > 0


def test_a_cascade_with_its_large_tier_down_never_asks_a_tier_twice(server):
    router = _router(
        [_deployment(server, "auto", UNSURE), _deployment(server, "auto", "openai/down")],
        allowed_fails=0,
        cooldown_time=60,
    )
    strategy = attach_policy(router, _cascade_policy({"small": UNSURE, "large": "openai/down"}))

    async def calls():
        errors = []
        for _ in range(2):  # the second time "large" is cooling down
            with pytest.raises(TiersExhaustedError) as error:
                await acomplete(strategy, _user(SHORT))
            errors.append(error.value)
        return errors

    first, second = asyncio.run(calls())
    assert str(first) == (
        f"route 'auto': no tier could answer; tried small (answer not accepted: confidence 0.135 < 0.5), "
        f"large (failed: {DOWN_TEXT})."
    )
    assert str(second) == (
        "route 'auto': no tier could answer; tried small (answer not accepted: confidence 0.135 < 0.5), "
        "large (failed: no healthy deployment)."
    )
    for error in (first, second):
        assert (error.trail.tiers, error.trail.failed_tiers) == (("small",), ("large",))
        assert error.trail.calls[1].reason == "logprob confidence 0.135 < 0.5 on small; escalate"
    assert server.count(model="logprob-2000") == 2  # once per request: never "small > small"
    assert server.count(model="down") == 1  # then it cools down and is not called
    # The spend hook counted both small answers, at the cost the trails report.
    spent = first.trail.total_cost_usd + second.trail.total_cost_usd
    assert spent > 0 and strategy.policy_router.spent_today_usd() == pytest.approx(spent, rel=1e-9)


def test_a_failing_router_model_leaves_the_policy_its_default_tier(server):
    policy_router = load_router(_llm_policy({"small": "openai/down", "large": "openai/large-model"}))
    response = complete(policy_router, _user("easy: where is my invoice?"), **_direct(server))
    assert response.model == "large-model"
    trail = read_trail(response)
    assert trail.triage == TierCall(
        "small", "openai/down", "llm router: the router model triages the query", None, 0.0, DOWN_TEXT
    )
    assert trail.calls[0].reason == "llm router: no answer from the router model; default tier"
    assert server.count(model="down") == 1  # the failed router-model tier is not asked again
    assert policy_router.spent_today_usd() == pytest.approx(_policy_cost_usd(response, "large"), rel=1e-12)


def test_failover_keeps_the_routers_own_fallbacks_and_refuses_a_taken_name(server):
    deployments = [_deployment(server, "auto", t["model"]) for t in TIERS]
    router = _router(
        [*deployments, _deployment(server, "spare", "openai/large-model")],
        fallbacks=[{"spare": ["auto"]}, {"auto": ["spare"]}],
    )
    attach_policy(router, _policy())
    assert router.settings().fallbacks == [
        {"spare": ["auto"]},
        {"auto": ["auto:failover-1", "auto:failover-2", "spare"]},
    ]
    attach_policy(router, _policy())  # attaching again changes nothing
    assert router.settings().fallbacks == [
        {"spare": ["auto"]},
        {"auto": ["auto:failover-1", "auto:failover-2", "spare"]},
    ]
    taken = _router([*deployments, _deployment(server, "auto:failover-2", "openai/small-model")])
    with pytest.raises(ConfigError) as error:
        attach_policy(taken, _policy())
    assert str(error.value) == (
        "litellm Router already has a model group 'auto:failover-2'; routeeval needs that name for a failover "
        "group of route 'auto' (it names them 'auto:failover-<n>'), so rename that group."
    )


def test_an_answer_from_a_group_outside_the_policys_tiers_is_recorded_without_a_tier(server):
    # The small tier is down; the call pinned to it runs out of deployments, and the Router's own fallback group
    # ("spare", whose model is no tier's) answers: the trail says so instead of failing on the missing tier.
    router = _router(
        [
            _deployment(server, "auto", "openai/down"),
            _deployment(server, "auto", "openai/large-model"),
            _deployment(server, "spare", "openai/spare-model"),
        ],
        fallbacks=[{"auto": ["spare"]}],
    )
    strategy = attach_policy(router, _cascade_policy({"small": "openai/down", "large": "openai/large-model"}))
    response = asyncio.run(acomplete(strategy, _user(SHORT)))
    assert response.model == "spare-model"
    trail = read_trail(response)
    assert trail.tiers == (None,)
    assert (trail.calls[0].model, trail.calls[0].confidence) == ("openai/spare-model", None)
    assert trail.stop_reason == "answered by a deployment outside the policy's tiers (the Router's own fallback)"
    assert server.count(model="down") == 1 and server.count(model="large-model") == 0
