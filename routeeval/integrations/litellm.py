"""Let a routeeval policy pick the deployment of a litellm ``Router``.

    router = litellm.Router(model_list=[
        {"model_name": "auto", "litellm_params": {"model": "openai/gpt-4o-mini"}},
        {"model_name": "auto", "litellm_params": {"model": "openai/gpt-4o"}},
    ])
    attach_policy(router, "policy.json")                       # the route group is "auto"
    await router.acompletion(model="auto", messages=[...])     # the policy's tier answers

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
policy's fallback tier, as in :meth:`routeeval.runtime.Router.route`.

**Every other model group**: litellm lets a Router have one custom strategy and asks it for every
group, so other groups are picked the same way (simple-shuffle over healthy deployments). A Router
whose other groups need latency- or usage-based routing should not carry the policy. Retries, cooldowns
and fallbacks stay litellm's; every attempt asks the strategy again. Sync calls
(``router.completion``) work too, with cooldowns but without pre-call checks.

**Observable**: the decision is written into the request's metadata under ``"routeeval"`` (tier,
model, served_tier, score, reason, fallback, ceiling_reached), which litellm hands to every logging
callback, and logged at DEBUG on the ``routeeval`` logger.

**Spend**: every successful call carrying the decision (retries and litellm fallbacks included) adds
its cost to the policy's daily spend (:meth:`~routeeval.runtime.Router.record_spend`), which the
cost-ceiling guard reads. Async, non-streamed calls are counted in the response path (a litellm
``CustomLogger``'s ``async_post_call_success_deployment_hook``, awaited before ``acompletion``
returns), so the next call already sees them; sync and streamed calls are counted when litellm's
success callback runs. A call is counted once. The cost is litellm's (its cost map or the deployment's
own prices); when litellm prices a call at 0 (a model it does not know), the served tier's prices in
the policy times the response's tokens.

**Limits**: a ``cascade`` policy starts at its first tier (escalating takes a second call; see
:meth:`~routeeval.runtime.Router.should_escalate` on ``strategy.policy_router``); an ``llm`` policy
routes to its default tier (the router model is not asked).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from routeeval.errors import ConfigError
from routeeval.policy import load_router
from routeeval.pricing import import_litellm
from routeeval.runtime import Router as PolicyRouter

logger = logging.getLogger("routeeval")

DEFAULT_ROUTE = "auto"
METADATA_KEY = "routeeval"  # where the decision goes in the request's metadata
TIER_TAG = "routeeval_tier"  # model_info key naming the tier a deployment serves
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
        self._prices = {
            str(t["name"]): (float(t["price_in_per_mtok"]), float(t["price_out_per_mtok"]))
            for t in tiers
            if t.get("price_in_per_mtok") is not None and t.get("price_out_per_mtok") is not None
        }
        self._unpriced_warned: set[str] = set()
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
        if isinstance(litellm_cost, int | float) and math.isfinite(litellm_cost) and litellm_cost > 0:
            return float(litellm_cost)
        usage = getattr(response, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        prices = self._prices.get(served_tier) if served_tier is not None else None
        if prices is not None:
            return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1e6
        key = served_tier or "?"
        if (prompt_tokens or completion_tokens) and key not in self._unpriced_warned:
            self._unpriced_warned.add(key)
            logger.warning(
                "route %r: litellm has no price for tier %s and the policy gives none; its calls add $0 to the "
                "daily spend. Set model_info input_cost_per_token/output_cost_per_token on its deployments.",
                self.route,
                key,
            )
        return 0.0


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
