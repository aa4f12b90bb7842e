"""routeeval.integrations.litellm: a policy picks a litellm Router's deployment, and complete()/acomplete() run a
whole policy (cascades included), through litellm's real HTTP path to the loopback server. Every async test runs its
litellm calls in one ``asyncio.run``."""

from __future__ import annotations

import asyncio
import logging
import math
import os

import pytest
from conftest import TEST_KEY_ENV

from routeeval.errors import ConfigError
from routeeval.integrations.litellm import (
    METADATA_KEY,
    RoutingTrail,
    TierCall,
    acomplete,
    attach_policy,
    complete,
    read_trail,
)
from routeeval.loopback import LoopbackServer
from routeeval.policy import build_policy, load_router
from routeeval.pricing import import_litellm
from routeeval.routers import CascadeRouter, LLMRouter, StaticRouter
from routeeval.runtime import CEILING_REASON, quantize

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


def test_a_failing_escalation_raises_with_the_trail_in_a_note(server):
    litellm = import_litellm()
    policy_router = load_router(_cascade_policy({"small": UNSURE, "large": "openai/down"}))
    with pytest.raises(litellm.ServiceUnavailableError) as error:
        complete(policy_router, _user(SHORT), **_direct(server))
    spent = policy_router.spent_today_usd()
    assert spent > 0  # the small tier's answer was paid for and counted
    assert error.value.__notes__ == [
        "routeeval: the call to tier 'large' failed (logprob confidence 0.135 < 0.5 on small; escalate); "
        f"tiers that answered before it: small (${spent:.6g})."
    ]
    assert server.count(model="down") == 1
    first_down = load_router(_cascade_policy({"small": "openai/down", "large": "openai/large-model"}))
    with pytest.raises(litellm.ServiceUnavailableError) as error:
        asyncio.run(acomplete(first_down, _user(SHORT), **_direct(server)))
    assert error.value.__notes__[-1].endswith("tiers that answered before it: none.")
    assert server.count(model="large-model") == 0  # a failed call is not an unsure answer: nothing escalates
    assert first_down.spent_today_usd() == 0


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


def test_an_escalation_served_by_another_tier_still_counts_against_the_cap(server):
    router = _router(
        [_deployment(server, "auto", UNSURE), _deployment(server, "auto", "openai/down")],
        allowed_fails=0,
        cooldown_time=60,
    )
    strategy = attach_policy(router, _cascade_policy({"small": UNSURE, "large": "openai/down"}))
    litellm = import_litellm()

    async def calls():
        with pytest.raises(litellm.ServiceUnavailableError):
            await acomplete(strategy, _user(SHORT))  # "large" fails and cools down
        return await acomplete(strategy, _user(SHORT))

    trail = read_trail(asyncio.run(calls()))
    # With no healthy "large" deployment the Router serves the escalation from "small" again; the cascade
    # stops there instead of escalating from "small" forever.
    assert trail.tiers == ("small", "small")
    assert trail.calls[1].reason == (
        "logprob confidence 0.135 < 0.5 on small; escalate; tier 'large' has no healthy deployment, "
        "served by tier 'small'"
    )
    assert trail.stop_reason == "escalation cap reached (1 escalation)"
    assert server.count(model="down") == 1


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


def test_a_failing_router_model_raises_before_any_answer(server):
    litellm = import_litellm()
    policy_router = load_router(_llm_policy({"small": "openai/down", "large": "openai/large-model"}))
    with pytest.raises(litellm.ServiceUnavailableError) as error:
        complete(policy_router, _user("hard: clauses"), **_direct(server))
    assert error.value.__notes__[-1] == (
        "routeeval: the call to tier 'small' failed (llm router: the router model triages the query); "
        "tiers that answered before it: none."
    )
    assert server.count(model="large-model") == 0 and policy_router.spent_today_usd() == 0
