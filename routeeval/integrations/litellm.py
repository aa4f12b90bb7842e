"""Run a routeeval policy through litellm: every policy kind, cascades included.

Two ways in. :func:`complete` / :func:`acomplete` run the whole policy for one request: a cascade
calls its first tier, asks the policy whether to escalate, and calls the next tier until one is
accepted or ``max_escalations`` is reached; other kinds make the one routed call:

    policy_router = load_router("policy.json")                 # load once: it holds the daily spend
    reply = await acomplete(policy_router, messages=[...], api_base=..., api_key=...)
    read_trail(reply)   # RoutingTrail: the tiers tried, why, their confidences, total_cost_usd

:func:`attach_policy` makes a policy pick the deployment of a litellm ``Router``; pass the strategy
it returns to :func:`complete` / :func:`acomplete` to run cascades over the Router's deployments (its
retries, cooldowns and fallbacks):

    router = litellm.Router(model_list=[
        {"model_name": "auto", "litellm_params": {"model": "openai/gpt-4o-mini"}},
        {"model_name": "auto", "litellm_params": {"model": "openai/gpt-4o"}},
    ])
    strategy = attach_policy(router, "policy.json")            # the route group is "auto"
    await router.acompletion(model="auto", messages=[...])     # one call: the policy's first decision
    await acomplete(strategy, messages=[...])                  # the whole policy, cascades included

**The route group** (``route``, default ``"auto"``) is an ordinary model group holding the deployments
of the policy's tiers. A deployment serves tier T when its ``model_info["routeeval_tier"]`` is T's
name or, without that tag, when its ``litellm_params["model"]`` is T's ``model`` (the tag is for a
deployment whose model id differs from the one the policy was measured on, e.g. an Azure deployment).
Every tier needs one; :func:`attach_policy` checks. The group must be real (not a name only the
strategy knows): litellm sizes retries by the group's deployments.

**A call to the route group**: the policy routes the messages (and the request's ``metadata``, which
static rules may match) to a tier; the strategy picks among that tier's healthy deployments (litellm's
``select(kind="healthy")``: cooldowns and pre-call checks applied) with simple-shuffle weights. A tier
with no healthy deployment hands over to the policy's fallback tier, then to any healthy deployment
of the route group, and the reason says so. An odd query (no user message, wrong types) gets the
policy's fallback tier, as in :meth:`routeeval.runtime.Router.route`. A call whose metadata carries
``routeeval_pin`` (a decision :func:`complete` made) goes to that decision's tier instead.

**Every other model group**: litellm lets a Router have one custom strategy and asks it for every
group, so other groups are picked the same way (simple-shuffle over healthy deployments). A Router
whose other groups need latency- or usage-based routing should not carry the policy. Retries, cooldowns
and fallbacks stay litellm's; every attempt asks the strategy again. Sync calls
(``router.completion``) work too, with cooldowns but without pre-call checks.

**Observable**: the decision is written into the request's metadata under ``"routeeval"`` (tier,
model, served_tier, score, reason, fallback, ceiling_reached, escalations), which litellm hands to
every logging callback, and logged at DEBUG on the ``routeeval`` logger.

**Spend**: every successful call carrying the decision (retries and litellm fallbacks included) adds
its cost to the policy's daily spend (:meth:`~routeeval.runtime.Router.record_spend`), which the
cost-ceiling guard reads. Async, non-streamed calls are counted in the response path (a litellm
``CustomLogger``'s ``async_post_call_success_deployment_hook``, awaited before ``acompletion``
returns), so the next call already sees them; sync and streamed calls are counted when litellm's
success callback runs. A call is counted once. The cost is litellm's (its cost map or the deployment's
own prices); when litellm prices a call at 0 (a model it does not know), the served tier's prices in
the policy times the response's tokens. :func:`complete` given a loaded policy (no Router) records
each of its calls the same way itself.

**Limits**: a call to the route group is one call: a ``cascade`` policy answers with its first tier
and never escalates (use :func:`complete` / :func:`acomplete` with the strategy for that); an ``llm``
policy routes to its default tier (the router model is not asked), in both ways in.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from routeeval.errors import ConfigError
from routeeval.policy import load_router
from routeeval.pricing import import_litellm
from routeeval.replay import response_logprobs
from routeeval.runtime import CEILING_REASON, Decision
from routeeval.runtime import Router as PolicyRouter

logger = logging.getLogger("routeeval")

DEFAULT_ROUTE = "auto"
METADATA_KEY = "routeeval"  # where the decision goes in the request's metadata
TIER_TAG = "routeeval_tier"  # model_info key naming the tier a deployment serves
PIN_KEY = "routeeval_pin"  # request metadata: the decision complete() made for this call (its fields)
TRAIL_KEY = "routeeval"  # where complete() puts the RoutingTrail in the response's _hidden_params
SHUFFLE_WEIGHTS = ("weight", "rpm", "tpm")  # litellm's simple-shuffle order
_COUNTED_CALLS = 10_000  # call ids remembered so that a call is counted once


def attach_policy(
    router: Any,
    policy: Any,
    *,
    route: str = DEFAULT_ROUTE,
    random_state: int | None = None,
) -> PolicyRoutingStrategy:
    """Make ``policy`` pick the deployments of ``router`` (a ``litellm.Router``); return the strategy.

    ``policy``: a ``policy.json`` path, its parsed dict, or a loaded :class:`routeeval.runtime.Router`
    (share one between several litellm Routers to give them one daily spend). Raises
    :class:`~routeeval.errors.PolicyError` for a policy that cannot be trusted and
    :class:`~routeeval.errors.ConfigError` when the route group lacks a deployment for some tier.

    A call to the route group is one call: a **cascade** policy answers with its first tier and never
    escalates. To run cascades, call :func:`complete` / :func:`acomplete` with the returned strategy;
    they call the route group once per tier tried.
    """
    strategy = PolicyRoutingStrategy(policy, router, route=route, random_state=random_state)
    hook = _spend_hook()
    hook.watch(strategy)
    if not hook.ensure_registered():
        raise ConfigError(
            "litellm.callbacks is full (LITELLM_MAX_CALLBACKS), so routeeval cannot count spend for the daily "
            "cost ceiling; remove unused callbacks or raise LITELLM_MAX_CALLBACKS."
        )
    router.register_plugin(strategy)
    return strategy


class PolicyRoutingStrategy:
    """litellm custom routing strategy (``CustomRoutingStrategyBase``'s two picks) backed by a policy.

    Build it with :func:`attach_policy`, which also registers it and starts counting spend.
    ``policy_router`` is the loaded :class:`routeeval.runtime.Router` (its ``spent_today_usd()`` is the
    spend the ceiling guard sees).
    """

    def __init__(self, policy: Any, router: Any, route: str = DEFAULT_ROUTE, random_state: int | None = None) -> None:
        self.policy_router = policy if isinstance(policy, PolicyRouter) else load_router(policy)
        self.router = router
        self.route = route
        self.attachment_id = uuid.uuid4().hex[:12]
        self._rng = random.Random(random_state)
        tiers = self.policy_router.policy["tiers"]
        self._tier_models = {str(t["name"]): str(t["model"]) for t in tiers}
        self._tier_by_model: dict[str, str] = {}
        for name, model in self._tier_models.items():
            self._tier_by_model.setdefault(model, name)
        self._pricing = _TierPrices(
            tiers, f"route {route!r}", "Set model_info input_cost_per_token/output_cost_per_token on its deployments."
        )
        self._check_route_group()

    # -- litellm's custom-strategy interface ------------------------------------------------------
    async def async_get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        input: Any = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request_kwargs = request_kwargs if request_kwargs is not None else {}
        healthy = await self.router.select(model, dict(request_kwargs), kind="healthy")
        return self._pick(model, list(healthy), messages if messages is not None else input, request_kwargs)

    def get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, Any]] | None = None,
        input: Any = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request_kwargs = request_kwargs if request_kwargs is not None else {}
        healthy = self._healthy_now(model)
        return self._pick(model, healthy, messages if messages is not None else input, request_kwargs)

    # -- picking ---------------------------------------------------------------------------------
    def tier_of(self, deployment: Mapping[str, Any]) -> str | None:
        """The policy tier a deployment serves: its ``model_info`` tag, else its model; None for neither."""
        tag = (deployment.get("model_info") or {}).get(TIER_TAG)
        if tag is not None:
            return str(tag) if str(tag) in self._tier_models else None
        return self._tier_by_model.get((deployment.get("litellm_params") or {}).get("model"))

    def _pick(self, model: str, healthy: list[dict], query: Any, request_kwargs: dict) -> dict:
        if not _spend_hook().ensure_registered():
            logger.warning("route %r: litellm.callbacks is full; this call's spend is not counted", self.route)
        metadata = _request_metadata(request_kwargs)
        if model != self.route:
            deployment = self._shuffle(healthy)
            stamp = metadata.get(METADATA_KEY)
            if isinstance(stamp, dict) and stamp.get("attachment") == self.attachment_id:
                metadata[METADATA_KEY] = {**stamp, "served_tier": self.tier_of(deployment), "group": model}
            return deployment
        pin = metadata.get(PIN_KEY)
        if isinstance(pin, dict):  # complete() decided already: this call is one step of its cascade
            decision = Decision(**pin)
        else:
            decision = self.policy_router.route(query, metadata=dict(metadata))
        fallback_tier = self.policy_router.tier_names[self.policy_router.fallback]
        pool: list[dict] = []
        for tier in dict.fromkeys((decision.tier, fallback_tier)):
            pool = [d for d in healthy if self.tier_of(d) == tier]
            if pool:
                break
        deployment = self._shuffle(pool or healthy)
        served_tier = self.tier_of(deployment)
        reason = decision.reason
        if served_tier != decision.tier:
            reason += f"; tier '{decision.tier}' has no healthy deployment, served by tier '{served_tier}'"
        metadata[METADATA_KEY] = {
            "attachment": self.attachment_id,
            "route": self.route,
            "group": model,
            "tier": decision.tier,
            "model": decision.model,
            "served_tier": served_tier,
            "score": decision.score,
            "reason": reason,
            "fallback": decision.fallback,
            "ceiling_reached": decision.ceiling_reached,
            "escalations": decision.escalations,
        }
        logger.debug(
            "route %r: tier %s (served by %s, deployment %s): %s",
            self.route,
            decision.tier,
            served_tier,
            (deployment.get("model_info") or {}).get("id"),
            reason,
        )
        return deployment

    def _shuffle(self, deployments: Sequence[dict]) -> dict:
        """One deployment, weighted like litellm's simple-shuffle: weight, else rpm, else tpm, else uniform."""
        for key in SHUFFLE_WEIGHTS:
            weights = [_positive((d.get("litellm_params") or {}).get(key)) for d in deployments]
            if any(weights):
                return self._rng.choices(list(deployments), weights=weights)[0]
        return self._rng.choice(list(deployments))

    def _healthy_now(self, model: str) -> list[dict]:
        """The sync path's healthy list: the group's deployments not cooling down (all of them when all are)."""
        deployments = list(self.router.registry().deployments(model) or [])
        if not deployments:
            litellm = import_litellm()
            raise litellm.BadRequestError(
                message=f"litellm Router has no model group '{model}'", model=model, llm_provider=""
            )
        ids = [(d.get("model_info") or {}).get("id") for d in deployments]
        cooling = {entry[0] for entry in self.router.health().cooldowns.get_active_cooldowns(ids, None)}
        return [d for d, i in zip(deployments, ids, strict=True) if i not in cooling] or deployments

    def _check_route_group(self) -> None:
        deployments = self.router.registry().deployments(self.route) or []
        wanted = ", ".join(f"{name} -> {model}" for name, model in self._tier_models.items())
        if not deployments:
            raise ConfigError(
                f"litellm Router has no model group '{self.route}'; add one deployment per policy tier with "
                f"model_name '{self.route}' ({wanted})."
            )
        served = {self.tier_of(d) for d in deployments}
        missing = [name for name in self._tier_models if name not in served]
        if missing:
            raise ConfigError(
                f"model group '{self.route}' has no deployment for tier {', '.join(map(repr, missing))}; "
                f"give each tier a deployment whose litellm_params.model is the tier's model ({wanted}) "
                f"or whose model_info.{TIER_TAG} names the tier."
            )

    # -- spend -----------------------------------------------------------------------------------
    def call_cost_usd(self, litellm_cost: Any, response: Any, served_tier: str | None) -> float:
        """litellm's cost of a call when it has one (> 0), else the served tier's policy prices x tokens."""
        return self._pricing.cost_usd(litellm_cost, response, served_tier)


class _TierPrices:
    """A call's cost: litellm's when it has one (> 0), else the served tier's prices in the policy x tokens.

    ``where`` and ``advice`` go into the one warning per tier that has neither price.
    """

    def __init__(self, tiers: list[dict], where: str, advice: str) -> None:
        self.where = where
        self.advice = advice
        self.prices = {
            str(t["name"]): (float(t["price_in_per_mtok"]), float(t["price_out_per_mtok"]))
            for t in tiers
            if t.get("price_in_per_mtok") is not None and t.get("price_out_per_mtok") is not None
        }
        self._unpriced_warned: set[str] = set()

    def cost_usd(self, litellm_cost: Any, response: Any, tier: str | None) -> float:
        if isinstance(litellm_cost, int | float) and math.isfinite(litellm_cost) and litellm_cost > 0:
            return float(litellm_cost)
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        prices = self.prices.get(tier) if tier is not None else None
        if prices is not None:
            return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1e6
        key = tier or "?"
        if (prompt_tokens or completion_tokens) and key not in self._unpriced_warned:
            self._unpriced_warned.add(key)
            logger.warning(
                "%s: litellm has no price for tier %s and the policy gives none; its calls add $0 to the daily "
                "spend. %s",
                self.where,
                key,
                self.advice,
            )
        return 0.0


# -- the whole policy for one request ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TierCall:
    """One call :func:`complete` made. ``reason``: why this tier was called (the policy's decision);
    ``confidence``: the policy's confidence in its answer, None when the policy did not measure it."""

    tier: str
    model: str
    reason: str
    confidence: float | None
    cost_usd: float


@dataclass(frozen=True, slots=True)
class RoutingTrail:
    """How :func:`complete` reached its answer: its calls in order (the last one answered) and why it stopped."""

    kind: str
    calls: tuple[TierCall, ...]
    stop_reason: str
    triage: TierCall | None = None  # an llm policy's call to its router model, made before ``calls``

    @property
    def tiers(self) -> tuple[str, ...]:
        return tuple(call.tier for call in self.calls)

    @property
    def escalations(self) -> int:
        return len(self.calls) - 1

    @property
    def total_cost_usd(self) -> float:
        triage = [self.triage.cost_usd] if self.triage is not None else []
        return math.fsum([*triage, *(call.cost_usd for call in self.calls)])


def complete(policy: PolicyRoutingStrategy | PolicyRouter, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    """Answer ``messages`` the way ``policy`` says, through litellm; return the last call's litellm response.

    ``policy``: a loaded policy (:func:`routeeval.policy.load_router`; load it once, since it holds the
    daily spend), whose tiers are called as ``litellm.completion(model=<tier's model>, ...)``, or the
    strategy :func:`attach_policy` returned, whose Router's route group is called with the tier pinned.
    ``kwargs`` go to every call (``api_base``, ``api_key``, ``temperature``, ``metadata``...).

    A cascade calls its first tier, then, while :meth:`~routeeval.runtime.Router.should_escalate` names a
    next tier, calls it: at most ``max_escalations`` more calls, none past the daily cost ceiling. A tier
    whose confidence comes from token log-probabilities is asked for them (``logprobs=True``; a provider
    that rejects the parameter needs litellm's ``drop_params``); an answer without them has confidence 0
    and escalates. A verifier reads the query and the answer. An ``llm`` policy first asks its router model
    to triage the query (the policy's own prompt; only the connection arguments of ``kwargs`` -- ``api_base``,
    ``api_key``, ``timeout``... -- and ``temperature=0`` go to that call), then makes the one call its answer
    names (the default tier when the answer names no tier). Other policy kinds make one call.

    Each call's cost (litellm's, else the tier's prices in the policy) is added to the policy's daily
    spend: here for a loaded policy, by the strategy's spend hook for a Router. The trail of calls is
    on the response: :func:`read_trail`.

    A failed call raises litellm's exception (after the Router's retries and fallbacks, for a strategy),
    with a note naming the tier and the calls made before it; the earlier answers are not returned.
    Raises :class:`~routeeval.errors.ConfigError` for ``model=`` (the policy picks it), ``stream=True``
    or a policy that is not loaded.
    """
    run = _PolicyRun(policy, messages, kwargs)
    triage, answer = run.triage_request(), None
    if triage is not None:
        try:
            answer = run.triaged(triage, run.call(triage))
        except Exception as exc:
            run.note_failure(exc, triage)
            raise
    request = run.start(answer)
    while True:
        try:
            response = run.call(request)
        except Exception as exc:
            run.note_failure(exc, request)
            raise
        request = run.answered(request, response)
        if request is None:
            return run.finish(response)


async def acomplete(policy: PolicyRoutingStrategy | PolicyRouter, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    """:func:`complete`, with ``litellm.acompletion`` (or the Router's ``acompletion``)."""
    run = _PolicyRun(policy, messages, kwargs)
    triage, answer = run.triage_request(), None
    if triage is not None:
        try:
            answer = run.triaged(triage, await run.acall(triage))
        except Exception as exc:
            run.note_failure(exc, triage)
            raise
    request = run.start(answer)
    while True:
        try:
            response = await run.acall(request)
        except Exception as exc:
            run.note_failure(exc, request)
            raise
        request = run.answered(request, response)
        if request is None:
            return run.finish(response)


def read_trail(response: Any) -> RoutingTrail | None:
    """The :class:`RoutingTrail` :func:`complete` left on ``response``; None for another response."""
    hidden = getattr(response, "_hidden_params", None)
    trail = hidden.get(TRAIL_KEY) if isinstance(hidden, dict) else None
    return trail if isinstance(trail, RoutingTrail) else None


@dataclass(frozen=True, slots=True)
class _TierRequest:
    decision: Decision
    params: dict[str, Any]  # litellm's completion arguments


_DIRECT_PRICES: weakref.WeakKeyDictionary[PolicyRouter, _TierPrices] = weakref.WeakKeyDictionary()


def _direct_prices(policy_router: PolicyRouter) -> _TierPrices:
    """The prices of a loaded policy called without a Router: one per policy, so it warns once per tier."""
    prices = _DIRECT_PRICES.get(policy_router)
    if prices is None:
        advice = "Register its price with litellm.register_model or give the tier prices in routeeval.toml."
        prices = _DIRECT_PRICES.setdefault(
            policy_router, _TierPrices(policy_router.policy["tiers"], policy_router.where, advice)
        )
    return prices


class _PolicyRun:
    """One :func:`complete` call: the policy, the request's parameters and the calls made so far."""

    def __init__(self, policy: Any, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> None:
        if isinstance(policy, PolicyRoutingStrategy):
            self.strategy: PolicyRoutingStrategy | None = policy
            self.policy_router = policy.policy_router
            self.pricing = policy._pricing
        elif isinstance(policy, PolicyRouter):
            self.strategy = None
            self.policy_router = policy
            self.pricing = _direct_prices(policy)
        else:
            raise ConfigError(
                f"complete() got a {type(policy).__name__} as its policy; pass a loaded policy "
                "(routeeval.policy.load_router('policy.json'), loaded once: it holds the daily spend) or the "
                "strategy attach_policy returned."
            )
        if "model" in kwargs:
            raise ConfigError("complete() got model=; the policy picks each call's model, so leave it out.")
        if kwargs.get("stream"):
            raise ConfigError(
                "complete() cannot stream: a cascade judges the whole answer before it returns one; leave out "
                "stream=True (or stream through the Router's route group, which makes the policy's first call)."
            )
        self.kwargs = dict(kwargs)
        self.metadata = self.kwargs.pop("metadata", None)
        self.messages = messages
        self.calls: list[TierCall] = []
        self.stop_reason = ""
        self.triage: TierCall | None = None

    # -- one call -----------------------------------------------------------------------------
    def start(self, llm_answer: str | None = None) -> _TierRequest:
        return self._request(self.policy_router.route(self.messages, metadata=self.metadata, llm_answer=llm_answer))

    def triage_request(self) -> _TierRequest | None:
        """An llm policy's call to its router model (None for other kinds, or a query it cannot read)."""
        router = self.policy_router
        messages = router.llm_request(self.messages) if router.kind == "llm" else None
        if messages is None:
            return None
        tier = router.llm_tier
        model = router.models[router.tier_names.index(tier)]
        decision = Decision(tier, model, None, "llm router: the router model triages the query", router.kind)
        params = {key: value for key, value in self.kwargs.items() if key in _CONNECTION_KWARGS}
        params.update(messages=messages, temperature=0)
        if self.strategy is None:
            params["model"] = model
        else:
            params["model"] = self.strategy.route
            params["metadata"] = {**(self.metadata or {}), PIN_KEY: dataclasses.asdict(decision)}
        return _TierRequest(decision, params)

    def triaged(self, request: _TierRequest, response: Any) -> str | None:
        """Record the triage call; the router model's answer."""
        tier, model = self._served(request, response)
        cost_usd = self._cost_usd(response, tier)
        if self.strategy is None:
            self.policy_router.record_spend(cost_usd)
        self.triage = TierCall(tier, model, request.decision.reason, None, cost_usd)
        return _answer_text(response)

    def call(self, request: _TierRequest) -> Any:
        if self.strategy is not None:
            return self.strategy.router.completion(**request.params)
        return import_litellm().completion(**request.params)

    async def acall(self, request: _TierRequest) -> Any:
        if self.strategy is not None:
            return await self.strategy.router.acompletion(**request.params)
        return await import_litellm().acompletion(**request.params)

    def _request(self, decision: Decision) -> _TierRequest:
        params = dict(self.kwargs, messages=self.messages)
        if self._wants_logprobs(decision.tier):
            params["logprobs"] = True
        if self.strategy is None:
            params["model"] = decision.model
            if self.metadata is not None:
                params["metadata"] = self.metadata
        else:
            params["model"] = self.strategy.route
            params["metadata"] = {**(self.metadata or {}), PIN_KEY: dataclasses.asdict(decision)}
        return _TierRequest(decision, params)

    def _wants_logprobs(self, tier: str) -> bool:
        """Whether the policy reads this tier's token log-probabilities (only when it may escalate from it)."""
        router = self.policy_router
        if router.kind != "cascade":
            return False
        index = router.tier_names.index(tier)
        if index not in router.order or router.order.index(index) >= router.cascade_cap:
            return False
        return router.confidence[index][0] == "logprob"

    # -- after a call ---------------------------------------------------------------------------
    def answered(self, request: _TierRequest, response: Any) -> _TierRequest | None:
        """Record the call; the next tier's request, or None when this answer stands."""
        decision = request.decision
        tier, model = self._served(request, response)
        cost_usd = self._cost_usd(response, tier)
        if self.strategy is None:
            self.policy_router.record_spend(cost_usd)  # through a Router, the spend hook counts the call
        reason = decision.reason
        if tier != decision.tier:
            reason += f"; tier '{decision.tier}' has no healthy deployment, served by tier '{tier}'"
        text = _answer_text(response)
        logprobs = response_logprobs(response)
        following = self.policy_router.should_escalate(tier, logprobs=logprobs, response=text, query=self.messages)
        if following is not None and len(self.calls) < self.policy_router.cascade_cap:
            self.calls.append(TierCall(tier, model, reason, following.score, cost_usd))
            logger.debug("policy %s: tier %s answered ($%.6g); %s", self._name, tier, cost_usd, following.reason)
            return self._request(following)
        if following is not None:  # another tier's deployment answered for this step: the cap still holds
            confidence, self.stop_reason = following.score, _cap_reason(self.policy_router.cascade_cap)
        else:
            confidence, self.stop_reason = self._why_stopped(tier, logprobs, text)
        self.calls.append(TierCall(tier, model, reason, confidence, cost_usd))
        return None

    def finish(self, response: Any) -> Any:
        trail = RoutingTrail(self.policy_router.kind, tuple(self.calls), self.stop_reason, self.triage)
        hidden = getattr(response, "_hidden_params", None)
        if not isinstance(hidden, dict):
            hidden = response._hidden_params = {}
        hidden[TRAIL_KEY] = trail
        logger.debug(
            "policy %s: answered by %s after %s ($%.6g): %s",
            self._name,
            trail.tiers[-1],
            " > ".join(trail.tiers),
            trail.total_cost_usd,
            trail.stop_reason,
        )
        return response

    def note_failure(self, exc: Exception, request: _TierRequest) -> None:
        before = ([self.triage] if self.triage is not None else []) + self.calls
        tried = ", ".join(f"{call.tier} (${call.cost_usd:.6g})" for call in before) or "none"
        exc.add_note(
            f"routeeval: the call to tier '{request.decision.tier}' failed ({request.decision.reason}); "
            f"tiers that answered before it: {tried}."
        )

    def _why_stopped(self, tier: str | None, logprobs: Any, text: str | None) -> tuple[float | None, str]:
        """(confidence in the answer, why it stands), the checks of ``should_escalate`` in its order."""
        router = self.policy_router
        if router.kind != "cascade":
            return None, f"{router.kind} policy: one call"
        index = router.tier_names.index(tier) if tier in router.tier_names else -1
        if index not in router.order:
            return None, f"tier '{tier}' is not in the cascade's order"
        step = router.order.index(index)
        if step == len(router.order) - 1:
            return None, f"'{tier}' is the cascade's last tier"
        if step >= router.cascade_cap:
            return None, _cap_reason(router.cascade_cap)
        if router.ceiling_usd is not None and router.spent_today_usd() >= router.ceiling_usd:
            return None, CEILING_REASON
        score, source = router.answer_confidence(tier, logprobs=logprobs, response=text, query=self.messages)
        return score, f"{source} {score:.3f} >= {router.threshold:g} on {tier}; accept"

    def _served(self, request: _TierRequest, response: Any) -> tuple[str | None, str]:
        """(tier, model) that answered: the decided one, or for a Router the deployment litellm reports."""
        decision = request.decision
        if self.strategy is None:
            return decision.tier, decision.model
        model_id = (getattr(response, "_hidden_params", None) or {}).get("model_id")
        deployment = self.strategy.router.registry().deployment_dict(model_id) if model_id else None
        if deployment is None:
            return decision.tier, decision.model
        model = (deployment.get("litellm_params") or {}).get("model")
        return self.strategy.tier_of(deployment), str(model or decision.model)

    def _cost_usd(self, response: Any, tier: str | None) -> float:
        litellm_cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
        if self.strategy is None and not _positive(litellm_cost):
            try:
                litellm_cost = import_litellm().completion_cost(completion_response=response)
            except Exception as exc:  # litellm's cost code raises many types; the policy prices still apply
                logger.debug("policy %s: litellm could not price a call to %s: %s", self._name, tier, exc)
        return self.pricing.cost_usd(litellm_cost, response, tier)

    @property
    def _name(self) -> str:
        return repr(self.strategy.route) if self.strategy is not None else self.policy_router.where


# complete()'s arguments that an llm policy's triage call also gets: where and how to call, not what to ask.
_CONNECTION_KWARGS = frozenset(
    {"api_base", "base_url", "api_key", "api_version", "timeout", "num_retries", "extra_headers", "organization"}
)


def _cap_reason(cap: int) -> str:
    return f"escalation cap reached ({cap} escalation{'s' if cap != 1 else ''})"


def _answer_text(response: Any) -> str | None:
    choices = getattr(response, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else None


def _request_metadata(request_kwargs: dict) -> dict:
    """The request's metadata dict (``litellm_metadata`` where the endpoint uses it), created when missing."""
    key = "litellm_metadata" if isinstance(request_kwargs.get("litellm_metadata"), dict) else "metadata"
    metadata = request_kwargs.get(key)
    if not isinstance(metadata, dict):
        metadata = request_kwargs[key] = {}
    return metadata


def _positive(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) and number > 0 else 0.0


def _stamp_in(*metadata_dicts: Any) -> dict | None:
    for metadata in metadata_dicts:
        if isinstance(metadata, dict) and isinstance(metadata.get(METADATA_KEY), dict):
            return metadata[METADATA_KEY]
    return None


@cache
def _spend_hook():
    """The process's one spend-counting litellm callback, created on first use."""
    import_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    class SpendHook(CustomLogger):
        """Counts each successful call a :class:`PolicyRoutingStrategy` routed into that policy's daily spend."""

        def __init__(self) -> None:
            super().__init__()
            self.strategies: weakref.WeakValueDictionary[str, PolicyRoutingStrategy] = weakref.WeakValueDictionary()
            self._counted: OrderedDict[str, None] = OrderedDict()
            self._lock = threading.Lock()

        def watch(self, strategy: PolicyRoutingStrategy) -> None:
            self.strategies[strategy.attachment_id] = strategy

        def ensure_registered(self) -> bool:
            """Be in ``litellm.callbacks`` (again, when someone reset the list); False when litellm refused."""
            litellm = import_litellm()
            if self not in litellm.callbacks:
                litellm.logging_callback_manager.add_litellm_callback(self)  # refuses past LITELLM_MAX_CALLBACKS
            return self in litellm.callbacks

        async def async_post_call_success_deployment_hook(self, request_data, response, call_type):
            stamp = _stamp_in(request_data.get("metadata"), request_data.get("litellm_metadata"))
            logging_obj = request_data.get("litellm_logging_obj")

            def litellm_cost():
                return logging_obj.response_cost_calculator(result=response) if logging_obj is not None else None

            self._count(stamp, request_data.get("litellm_call_id"), response, litellm_cost)
            return None  # the response is not changed

        async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
            self._count_event(kwargs, response_obj)

        def log_success_event(self, kwargs, response_obj, start_time, end_time):
            self._count_event(kwargs, response_obj)

        def _count_event(self, kwargs, response_obj) -> None:
            params = kwargs.get("litellm_params") or {}
            stamp = _stamp_in(params.get("metadata"), params.get("litellm_metadata"), kwargs.get("metadata"))
            self._count(stamp, kwargs.get("litellm_call_id"), response_obj, lambda: kwargs.get("response_cost"))

        def _count(self, stamp, call_id, response, litellm_cost) -> None:
            strategy = self.strategies.get(stamp.get("attachment")) if stamp is not None else None
            if strategy is None:
                return
            with self._lock:
                if call_id is not None:
                    if call_id in self._counted:
                        return
                    self._counted[call_id] = None
                    if len(self._counted) > _COUNTED_CALLS:
                        self._counted.popitem(last=False)
            try:
                cost = litellm_cost()
            except Exception as exc:  # litellm's cost code raises many types; the policy prices still apply
                logger.debug("route %r: litellm could not price call %s: %s", strategy.route, call_id, exc)
                cost = None
            usd = strategy.call_cost_usd(cost, response, stamp.get("served_tier"))
            strategy.policy_router.record_spend(usd)
            logger.debug(
                "route %r: call %s cost $%.6g; spent today $%.6g",
                strategy.route,
                call_id,
                usd,
                strategy.policy_router.spent_today_usd(),
            )

    return SpendHook()
