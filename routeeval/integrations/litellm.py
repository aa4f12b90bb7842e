"""Run a routeeval policy through litellm: every policy kind, cascades included, with failover by capability.

Two ways in. :func:`complete` / :func:`acomplete` run the whole policy for one request: a cascade
calls its first tier, asks the policy whether to escalate, and calls the next tier until one is
accepted or ``max_escalations`` is reached; other kinds make the one routed call:

    policy_router = load_router("policy.json")                 # load once: it holds the daily spend
    reply = await acomplete(policy_router, messages=[...], api_base=..., api_key=...)
    read_trail(reply)   # RoutingTrail: the tiers tried, why, their confidences, failures, total_cost_usd

:func:`attach_policy` makes a policy pick the deployment of a litellm ``Router``; pass the strategy
it returns to :func:`complete` / :func:`acomplete` to run cascades over the Router's deployments (its
retries and cooldowns):

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
``select(kind="healthy")``: cooldowns and pre-call checks applied) with simple-shuffle weights. An odd
query (no user message, wrong types) gets the policy's fallback tier, as in
:meth:`routeeval.runtime.Router.route`. A call whose metadata carries ``routeeval_pin`` (a decision
:func:`complete` made) goes to that decision's tier and no other.

**Failover** (:func:`failover_order`): when the decided tier fails or has no healthy deployment, the
request goes to the next tier up by capability (the policy's tier order, cheapest first), up to the
top; when every tier above is down too, to the tiers below the decided one, nearest first. Never at
random, and never to a deployment or tier already tried in the request; a tier's other healthy
deployments are tried before the next tier. A tier fails when its call raises a provider error (any
litellm/OpenAI API error: an HTTP error status, a timeout, a refused connection) or it has no deployment
left to try; other exceptions propagate at once. A failover is not an escalation: it does not count
against ``max_escalations``. Past the daily cost ceiling the order is the same (an answer first: a
failover may reach a pricier tier, whose cost is counted).

*Through a Router*, every attempt of one call to the route group (litellm's retries and fallbacks) asks
the strategy again, which moves on to the next deployment instead of retrying one that failed.
:func:`attach_policy` also sets litellm's ``fallbacks`` for the route group to its failover groups
(``"<route>:failover-<n>"``, hidden aliases of the route group, as many as it has deployments), so that
an error litellm does not retry, or a Router with ``num_retries=0``, fails over at the first failure too
(litellm's ``max_fallbacks``, 5 by default, caps the hops). When no tier is left, the strategy refuses
the call's further attempts with :class:`TiersExhaustedError`, naming each tier tried and why it failed,
and logs that at WARNING on the ``routeeval`` logger; litellm then raises the error of the route group's
last attempt (its contract once the fallbacks failed too): that :class:`TiersExhaustedError` when the
group's retries outlasted its tiers, else the provider's error with litellm's note on the fallbacks.

*Through* :func:`complete`, the failover is its own: a failed call is recorded in the trail and replaced
by a call to the next tier not asked yet (a pinned call to the route group stays on its tier), a cascade
never asks a tier twice (neither one that answered nor one that failed), and when no tier is left it
raises :class:`TiersExhaustedError` naming each tier tried and why it failed or was not accepted (the
answers it rejected are not returned).

**Every other model group**: litellm lets a Router have one custom strategy and asks it for every
group, so other groups are picked the same way (simple-shuffle over healthy deployments). A Router
whose other groups need latency- or usage-based routing should not carry the policy. Retries and
cooldowns stay litellm's; every attempt asks the strategy again. Sync calls (``router.completion``)
work too, with cooldowns but without pre-call checks.

**Observable**: the decision is written into the request's metadata under ``"routeeval"`` (tier,
model, served_tier, failed_tiers, score, reason, fallback, ceiling_reached, escalations), which
litellm hands to every logging callback, and logged at DEBUG on the ``routeeval`` logger.

**Spend**: every successful call carrying the decision (retries and failovers included) adds
its cost to the policy's daily spend (:meth:`~routeeval.runtime.Router.record_spend`), which the
cost-ceiling guard reads; a failed call is not paid and adds nothing. Async, non-streamed calls are
counted in the response path (a litellm ``CustomLogger``'s ``async_post_call_success_deployment_hook``,
awaited before ``acompletion`` returns), so the next call already sees them; sync and streamed calls
are counted when litellm's success callback runs. A call is counted once. The cost is litellm's (its
cost map or the deployment's own prices); when litellm prices a call at 0 (a model it does not know),
the served tier's prices in the policy times the response's tokens. :func:`complete` given a loaded
policy (no Router) records each of its calls the same way itself.

**Limits**: a call to the route group is one call: a ``cascade`` policy answers with its first tier
and never escalates (use :func:`complete` / :func:`acomplete` with the strategy for that); an ``llm``
policy routes to its default tier (the router model is not asked), in both ways in. When an ``llm``
policy's router model fails, :func:`complete` answers as the runtime does without its answer: the
default tier (the failed router-model tier is not asked again).
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from routeeval.errors import ConfigError, ProviderError
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
FAILOVER_GROUP = "{route}:failover-{n}"  # the route group's aliases that its litellm fallbacks name
SHUFFLE_WEIGHTS = ("weight", "rpm", "tpm")  # litellm's simple-shuffle order
_COUNTED_CALLS = 10_000  # call ids remembered so that a call is counted once
_OPEN_CALLS = 10_000  # route-group calls whose tried deployments are remembered for their retries and fallbacks


class TiersExhaustedError(ProviderError):
    """No tier could answer: every tier the request could still ask failed, has no healthy deployment,
    or (in a cascade) answered without being accepted.

    ``tried``: (tier, what happened) in the order tried; ``trail``: the :class:`RoutingTrail` of the calls
    :func:`complete` made (None when a Router call to the route group raised it).
    """

    def __init__(self, where: str, tried: Sequence[tuple[str | None, str]], trail: RoutingTrail | None = None) -> None:
        listed = ", ".join(f"{tier} ({what})" for tier, what in tried) or "none"
        super().__init__(f"{where}: no tier could answer; tried {listed}.")
        self.tried = tuple(tried)
        self.trail = trail


def failover_order(policy_router: PolicyRouter, tier: str) -> tuple[str, ...]:
    """The tiers to ask, in order, when ``tier`` fails: ``tier``, then each tier above it by capability
    (the policy's tier order, cheapest first), then the tiers below it, nearest first."""
    names = policy_router.tier_names
    index = names.index(tier)
    return (*names[index:], *reversed(names[:index]))


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
    :class:`~routeeval.errors.ConfigError` when the route group lacks a deployment for some tier or a
    failover group's name is another model group's.

    Sets the Router's ``fallbacks`` for the route group to :attr:`PolicyRoutingStrategy.fallbacks` (its
    failover groups, then any fallbacks the Router had for it) and adds the failover groups as hidden
    ``model_group_alias`` entries of the route group, so that a failed call fails over to the next tier
    by capability at the first failure (module docstring, **Failover**).

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
    _set_failover(router, strategy)
    router.register_plugin(strategy)
    return strategy


def _set_failover(router: Any, strategy: PolicyRoutingStrategy) -> None:
    """Alias the strategy's failover groups to its route group and make them the group's litellm fallbacks."""
    from litellm.router_api import ChangeSet

    route = strategy.route
    aliases = dict(router.registry().aliases())
    groups = strategy.failover_groups
    for group in groups:
        target = aliases.get(group)
        target = target.get("model") if isinstance(target, Mapping) else target
        if target != route and (target is not None or router.registry().deployments(group)):
            raise ConfigError(
                f"litellm Router already has a model group '{group}'; routeeval needs that name for a failover "
                f"group of route '{route}' (it names them '{FAILOVER_GROUP.format(route=route, n='<n>')}'), so "
                "rename that group."
            )
    aliases.update({group: {"model": route, "hidden": True} for group in groups})
    configured = list(router.settings().fallbacks or [])
    theirs = [target for entry in configured if route in entry for target in entry[route]]
    fallbacks = [entry for entry in configured if route not in entry]
    fallbacks.append({route: [*strategy.fallbacks[route], *(t for t in theirs if t not in groups)]})
    router.apply(ChangeSet(assign={"fallbacks": fallbacks, "model_group_alias": aliases}))


@dataclass(slots=True)
class _OpenCall:
    """One call to the route group while litellm retries it and falls back: the decision and what was tried."""

    decision: Decision
    pinned: bool  # complete() decided the tier: this call may use no other
    picked: list[tuple[str | None, str | None]] = field(default_factory=list)  # (deployment id, tier), in order
    errors: dict[str | None, str] = field(default_factory=dict)  # deployment id -> why it failed
    exhausted: bool = False  # a pick found no deployment left (reported once)

    def note_failures(self, breadcrumbs: Any) -> None:
        """Every deployment picked before was tried and failed: record why, where not known yet (the failure
        hook records it on the async path), from litellm's ``previous_models``."""
        why: dict[str | None, str] = {}
        for crumb in breadcrumbs if isinstance(breadcrumbs, list | tuple) else ():
            if isinstance(crumb, Mapping) and isinstance(crumb.get("deployment_id"), str):
                text = str(crumb.get("exception_string") or crumb.get("exception_type") or "failed")
                why[crumb["deployment_id"]] = _first_line(text)
        for deployment_id, _ in self.picked:
            self.errors.setdefault(deployment_id, why.get(deployment_id, "failed"))

    def why_passed(self, tier: str) -> str:
        """Why the call cannot use ``tier`` now: the last failure of its deployments, else it has no healthy one."""
        errors = [self.errors[i] for i, t in self.picked if t == tier and i in self.errors]
        return errors[-1] if errors else "no healthy deployment"


class PolicyRoutingStrategy:
    """litellm custom routing strategy (``CustomRoutingStrategyBase``'s two picks) backed by a policy.

    Build it with :func:`attach_policy`, which also registers it, sets the route group's failover and
    starts counting spend. ``policy_router`` is the loaded :class:`routeeval.runtime.Router` (its
    ``spent_today_usd()`` is the spend the ceiling guard sees).
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
        self._open_calls: OrderedDict[str, _OpenCall] = OrderedDict()
        self._open_lock = threading.Lock()
        n_deployments = self._check_route_group()
        # One hop per deployment: enough to try them all with num_retries=0, and one more to report that.
        self.failover_groups = tuple(FAILOVER_GROUP.format(route=route, n=n) for n in range(1, n_deployments + 1))

    @property
    def fallbacks(self) -> dict[str, list[str]]:
        """The route group's entry of litellm's ``fallbacks`` setting: its failover groups, in order."""
        return {self.route: list(self.failover_groups)}

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
        model = (deployment.get("litellm_params") or {}).get("model")
        return self._tier_by_model.get(model) if isinstance(model, str) else None

    def _pick(
        self, model: str, healthy: list[dict[str, Any]], query: Any, request_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if not _spend_hook().ensure_registered():
            logger.warning("route %r: litellm.callbacks is full; this call's spend is not counted", self.route)
        metadata = _request_metadata(request_kwargs)
        if model != self.route and model not in self.failover_groups:
            deployment = self._shuffle(healthy)
            stamp = metadata.get(METADATA_KEY)
            if isinstance(stamp, dict) and stamp.get("attachment") == self.attachment_id:
                metadata[METADATA_KEY] = {**stamp, "served_tier": self.tier_of(deployment), "group": model}
            return deployment
        call_id, call = self._open_call(metadata, query)
        decision = call.decision
        deployment, passed = self._next_deployment(call, healthy)
        served_tier = self.tier_of(deployment)
        call.picked.append((_deployment_id(deployment), served_tier))
        reason = decision.reason
        if passed:
            failed = "; ".join(f"tier '{tier}': {why}" for tier, why in passed)
            reason += f"; failover to tier '{served_tier}', the next by capability ({failed})"
        metadata[METADATA_KEY] = {
            "attachment": self.attachment_id,
            "request": call_id,
            "route": self.route,
            "group": model,
            "tier": decision.tier,
            "model": decision.model,
            "served_tier": served_tier,
            "deployment": _deployment_id(deployment),
            "failed_tiers": [tier for tier, _ in passed],
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
            _deployment_id(deployment),
            reason,
        )
        return deployment

    def _next_deployment(
        self, call: _OpenCall, healthy: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """A healthy deployment the call has not tried, of the first tier in the failover order that has one
        (only the pinned tier for a pinned call), and (tier, why) for each tier passed over. Raises
        :class:`TiersExhaustedError` when there is none."""
        decided = call.decision.tier
        tried = {deployment_id for deployment_id, _ in call.picked}
        passed: list[tuple[str, str]] = []
        for tier in (decided,) if call.pinned else failover_order(self.policy_router, decided):
            untried = [d for d in healthy if self.tier_of(d) == tier and _deployment_id(d) not in tried]
            if untried:
                return self._shuffle(untried), passed
            passed.append((tier, call.why_passed(tier)))
        error = TiersExhaustedError(f"route {self.route!r}", passed)
        if not call.exhausted and not call.pinned:  # complete() fails over itself and raises its own error
            logger.warning("%s", error)
        call.exhausted = True
        raise error

    def _open_call(self, metadata: dict[str, Any], query: Any) -> tuple[str, _OpenCall]:
        """This call's record: the one its earlier attempts made (litellm retries or falls back after a
        failure, which its ``previous_models`` lists), else a new one with the policy's decision."""
        stamp = metadata.get(METADATA_KEY)
        breadcrumbs = metadata.get("previous_models")
        if breadcrumbs and isinstance(stamp, dict) and stamp.get("attachment") == self.attachment_id:
            call_id = stamp.get("request")
            if isinstance(call_id, str):
                with self._open_lock:
                    call = self._open_calls.get(call_id)
                if call is not None:
                    call.note_failures(breadcrumbs)
                    return call_id, call
        pin = metadata.get(PIN_KEY)
        if isinstance(pin, dict):  # complete() decided already: this call is one step of its cascade
            call = _OpenCall(Decision(**pin), pinned=True)
        else:
            call = _OpenCall(self.policy_router.route(query, metadata=dict(metadata)), pinned=False)
        call_id = uuid.uuid4().hex
        with self._open_lock:
            self._open_calls[call_id] = call
            if len(self._open_calls) > _OPEN_CALLS:
                self._open_calls.popitem(last=False)
        return call_id, call

    def close_call(self, call_id: Any) -> None:
        """Forget an open call once it has an answer."""
        with self._open_lock:
            self._open_calls.pop(call_id, None)

    def note_failure(self, call_id: Any, deployment_id: Any, exc: BaseException) -> None:
        """Record why a deployment failed in an open call (litellm's failure hook, before its next attempt)."""
        with self._open_lock:
            call = self._open_calls.get(call_id) if isinstance(call_id, str) else None
        if call is not None and isinstance(deployment_id, str) and not isinstance(exc, TiersExhaustedError):
            call.errors.setdefault(deployment_id, _first_line(str(exc)) or type(exc).__name__)

    def _shuffle(self, deployments: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """One deployment, weighted like litellm's simple-shuffle: weight, else rpm, else tpm, else uniform."""
        for key in SHUFFLE_WEIGHTS:
            weights = [_positive((d.get("litellm_params") or {}).get(key)) for d in deployments]
            if any(weights):
                return self._rng.choices(list(deployments), weights=weights)[0]
        return self._rng.choice(list(deployments))

    def _healthy_now(self, model: str) -> list[dict[str, Any]]:
        """The sync path's healthy list: the group's deployments not cooling down (all of them when all are)."""
        deployments = list(self.router.registry().deployments(model) or [])
        if not deployments:
            litellm = import_litellm()
            raise litellm.BadRequestError(
                message=f"litellm Router has no model group '{model}'", model=model, llm_provider=""
            )
        ids = [_deployment_id(d) for d in deployments]
        cooling = {entry[0] for entry in self.router.health().cooldowns.get_active_cooldowns(ids, None)}
        return [d for d, i in zip(deployments, ids, strict=True) if i not in cooling] or deployments

    def _check_route_group(self) -> int:
        """The number of deployments in the route group, once it serves every tier."""
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
        return len(deployments)

    # -- spend -----------------------------------------------------------------------------------
    def call_cost_usd(self, litellm_cost: Any, response: Any, served_tier: str | None) -> float:
        """litellm's cost of a call when it has one (> 0), else the served tier's policy prices x tokens."""
        return self._pricing.cost_usd(litellm_cost, response, served_tier)


class _TierPrices:
    """A call's cost: litellm's when it has one (> 0), else the served tier's prices in the policy x tokens.

    ``where`` and ``advice`` go into the one warning per tier that has neither price.
    """

    def __init__(self, tiers: list[dict[str, Any]], where: str, advice: str) -> None:
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
    """One call :func:`complete` made. ``reason``: why this tier was called (the policy's decision, or a
    failover); ``confidence``: the policy's confidence in its answer, None when the policy did not measure
    it or the call failed; ``error``: why the call failed (None when the tier answered; a failed call
    costs nothing)."""

    tier: str | None  # None: a deployment outside the policy's tiers answered (one of the Router's own fallbacks)
    model: str
    reason: str
    confidence: float | None
    cost_usd: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RoutingTrail:
    """How :func:`complete` reached its answer: its calls in order, failed ones included (the last one
    answered), and why it stopped."""

    kind: str
    calls: tuple[TierCall, ...]
    stop_reason: str
    triage: TierCall | None = None  # an llm policy's call to its router model, made before ``calls``

    @property
    def tiers(self) -> tuple[str | None, ...]:
        """The tiers that answered, in order (the last one's answer is the response)."""
        return tuple(call.tier for call in self.calls if call.error is None)

    @property
    def failed_tiers(self) -> tuple[str | None, ...]:
        """The tiers whose call failed, in order (each one was replaced by the next in :func:`failover_order`)."""
        return tuple(call.tier for call in self.calls if call.error is not None)

    @property
    def escalations(self) -> int:
        return max(len(self.tiers) - 1, 0)

    @property
    def total_cost_usd(self) -> float:
        triage = [self.triage.cost_usd] if self.triage is not None else []
        return math.fsum([*triage, *(call.cost_usd for call in self.calls)])


def complete(policy: PolicyRoutingStrategy | PolicyRouter, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    """Answer ``messages`` the way ``policy`` says, through litellm; return the last call's litellm response.

    ``policy``: a loaded policy (:func:`routeeval.policy.load_router`; load it once, since it holds the
    daily spend), whose tiers are called as ``litellm.completion(model=<tier's model>, ...)``, or the
    strategy :func:`attach_policy` returned, whose Router's route group is called with the tier pinned
    (litellm's retries of that call stay on the tier's other deployments).
    ``kwargs`` go to every call (``api_base``, ``api_key``, ``temperature``, ``metadata``...).

    A cascade calls its first tier, then, while :meth:`~routeeval.runtime.Router.should_escalate` names a
    next tier, calls it: at most ``max_escalations`` more calls, none past the daily cost ceiling. A tier
    whose confidence comes from token log-probabilities is asked for them (``logprobs=True``; a provider
    that rejects the parameter needs litellm's ``drop_params``); an answer without them has confidence 0
    and escalates. A verifier reads the query and the answer. An ``llm`` policy first asks its router model
    to triage the query (the policy's own prompt; only the connection arguments of ``kwargs`` -- ``api_base``,
    ``api_key``, ``timeout``... -- and ``temperature=0`` go to that call), then makes the one call its answer
    names (the default tier when the answer names no tier or the router model failed). Other policy kinds
    make one call.

    A call that fails (a provider error, or no deployment of the tier left) is recorded in the trail and
    replaced by a call to the next tier in :func:`failover_order` (from the tier the policy decided) that
    this request has not asked yet; no tier is asked for an answer twice (an llm policy's router-model tier
    may triage the query and then answer it, unless its triage failed). When no tier is left, raises
    :class:`TiersExhaustedError` naming the tiers tried and why each failed or was not accepted (its
    ``trail`` holds the calls; the rejected answers are not returned). Other exceptions propagate as they are.

    Each answered call's cost (litellm's, else the tier's prices in the policy) is added to the policy's
    daily spend: here for a loaded policy, by the strategy's spend hook for a Router. The trail of calls is
    on the response: :func:`read_trail`. Raises :class:`~routeeval.errors.ConfigError` for ``model=`` (the
    policy picks it), ``stream=True`` or a policy that is not loaded.
    """
    run = _PolicyRun(policy, messages, kwargs)
    triage, answer = run.triage_request(), None
    if triage is not None:
        try:
            answer = run.triaged(triage, run.call(triage))
        except _tier_failures() as exc:
            run.triage_failed(triage, exc)
    request = run.start(answer)
    while True:
        try:
            response = run.call(request)
        except _tier_failures() as exc:
            request = run.failed(request, exc)
            continue
        following = run.answered(request, response)
        if following is None:
            return run.finish(response)
        request = following


async def acomplete(policy: PolicyRoutingStrategy | PolicyRouter, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    """:func:`complete`, with ``litellm.acompletion`` (or the Router's ``acompletion``)."""
    run = _PolicyRun(policy, messages, kwargs)
    triage, answer = run.triage_request(), None
    if triage is not None:
        try:
            answer = run.triaged(triage, await run.acall(triage))
        except _tier_failures() as exc:
            run.triage_failed(triage, exc)
    request = run.start(answer)
    while True:
        try:
            response = await run.acall(request)
        except _tier_failures() as exc:
            request = run.failed(request, exc)
            continue
        following = run.answered(request, response)
        if following is None:
            return run.finish(response)
        request = following


def read_trail(response: Any) -> RoutingTrail | None:
    """The :class:`RoutingTrail` :func:`complete` left on ``response``; None for another response."""
    hidden = getattr(response, "_hidden_params", None)
    trail = hidden.get(TRAIL_KEY) if isinstance(hidden, dict) else None
    return trail if isinstance(trail, RoutingTrail) else None


@dataclass(frozen=True, slots=True)
class _TierRequest:
    decision: Decision  # the tier called and why
    params: dict[str, Any]  # litellm's completion arguments
    step: Decision  # the policy's decision this call serves (``decision`` differs after a failover)


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
        self.asked: set[str] = set()  # tiers asked for an answer (answered or failed): never asked again
        self.stop_reason = ""
        self.triage: TierCall | None = None

    # -- one call -----------------------------------------------------------------------------
    def start(self, llm_answer: str | None = None) -> _TierRequest:
        return self._request(self.policy_router.route(self.messages, metadata=self.metadata, llm_answer=llm_answer))

    def triage_request(self) -> _TierRequest | None:
        """An llm policy's call to its router model (None for other kinds, or a query it cannot read)."""
        router = self.policy_router
        messages, tier = router.llm_request(self.messages), router.llm_tier  # both None unless an llm policy
        if messages is None or tier is None:
            return None
        model = router.models[router.tier_names.index(tier)]
        decision = Decision(tier, model, None, "llm router: the router model triages the query", router.kind)
        params = {key: value for key, value in self.kwargs.items() if key in _CONNECTION_KWARGS}
        params.update(messages=messages, temperature=0)
        if self.strategy is None:
            params["model"] = model
        else:
            params["model"] = self.strategy.route
            params["metadata"] = {**(self.metadata or {}), PIN_KEY: dataclasses.asdict(decision)}
        return _TierRequest(decision, params, decision)

    def triaged(self, request: _TierRequest, response: Any) -> str | None:
        """Record the triage call; the router model's answer."""
        tier, model = self._served(request, response)
        cost_usd = self._cost_usd(response, tier)
        if self.strategy is None:
            self.policy_router.record_spend(cost_usd)
        self.triage = TierCall(tier, model, request.decision.reason, None, cost_usd)
        return _answer_text(response)

    def triage_failed(self, request: _TierRequest, exc: Exception) -> None:
        """Record the failed triage call: the policy goes on without the router model's answer, and the
        router model's tier is not asked again."""
        decision = request.decision
        why = _failure_text(exc, decision.tier)
        self.triage = TierCall(decision.tier, decision.model, decision.reason, None, 0.0, why)
        self.asked.add(decision.tier)
        logger.debug("policy %s: the router model (tier %s) failed: %s", self._name, decision.tier, why)

    def call(self, request: _TierRequest) -> Any:
        if self.strategy is not None:
            return self.strategy.router.completion(**request.params)
        return import_litellm().completion(**request.params)

    async def acall(self, request: _TierRequest) -> Any:
        if self.strategy is not None:
            return await self.strategy.router.acompletion(**request.params)
        return await import_litellm().acompletion(**request.params)

    def _request(self, step: Decision) -> _TierRequest:
        """The call for the policy's decision ``step``: its tier, or when that was asked already the next
        tier in the failover order; raises :class:`TiersExhaustedError` when none is left."""
        if step.tier not in self.asked:
            return self._build(step, step)
        decision = self._failover(step, f"tier '{step.tier}' was asked already")
        if decision is None:
            raise self._exhausted()
        return self._build(decision, step)

    def _build(self, decision: Decision, step: Decision) -> _TierRequest:
        params = dict(self.kwargs, messages=self.messages)
        if self.policy_router.reads_logprobs(decision.tier):
            params["logprobs"] = True
        if self.strategy is None:
            params["model"] = decision.model
            if self.metadata is not None:
                params["metadata"] = self.metadata
        else:
            params["model"] = self.strategy.route
            params["metadata"] = {**(self.metadata or {}), PIN_KEY: dataclasses.asdict(decision)}
        return _TierRequest(decision, params, step)

    def _failover(self, step: Decision, because: str) -> Decision | None:
        """The decision for the next tier of :func:`failover_order` from ``step``'s tier not asked yet, if any."""
        names = self.policy_router.tier_names
        for tier in failover_order(self.policy_router, step.tier):
            if tier not in self.asked:
                index = names.index(tier)
                direction = "up" if index > names.index(step.tier) else "down"
                reason = f"{step.reason}; failover: {because}, '{tier}' is the next tier {direction} by capability"
                return dataclasses.replace(step, tier=tier, model=self.policy_router.models[index], reason=reason)
        return None

    # -- after a call ---------------------------------------------------------------------------
    def answered(self, request: _TierRequest, response: Any) -> _TierRequest | None:
        """Record the call; the next tier's request, or None when this answer stands. Raises
        :class:`TiersExhaustedError` when the policy escalates and every tier was asked already."""
        decision = request.decision
        tier, model = self._served(request, response)
        cost_usd = self._cost_usd(response, tier)
        if self.strategy is None:
            self.policy_router.record_spend(cost_usd)  # through a Router, the spend hook counts the call
        reason = decision.reason
        if tier != decision.tier:
            reason += f"; answered by tier '{tier}' instead"
        self.asked.update(t for t in (decision.tier, tier) if t is not None)
        text = _answer_text(response)
        logprobs = response_logprobs(response)
        following = (
            None
            if tier is None  # a deployment outside the policy's tiers answered (one of the Router's own fallbacks)
            else self.policy_router.should_escalate(tier, logprobs=logprobs, response=text, query=self.messages)
        )
        n_answered = len(self.calls) - len(self._failures())
        cascade = self.policy_router.cascade
        if following is not None and cascade is not None:  # should_escalate names a next tier only in a cascade
            if n_answered < cascade.cap:
                self.calls.append(TierCall(tier, model, reason, following.score, cost_usd))
                logger.debug("policy %s: tier %s answered ($%.6g); %s", self._name, tier, cost_usd, following.reason)
                return self._request(following)
            # a failover reached a tier earlier in the cascade's order: the cap holds
            confidence, self.stop_reason = following.score, _cap_reason(cascade.cap)
        else:
            confidence, self.stop_reason = self._why_stopped(tier, logprobs, text)
        self.calls.append(TierCall(tier, model, reason, confidence, cost_usd))
        return None

    def failed(self, request: _TierRequest, exc: Exception) -> _TierRequest:
        """Record the failed call; the call to the next tier in the failover order not asked yet. Raises
        :class:`TiersExhaustedError` (from ``exc``) when none is left."""
        decision = request.decision
        why = _failure_text(exc, decision.tier)
        self.calls.append(TierCall(decision.tier, decision.model, decision.reason, None, 0.0, why))
        self.asked.add(decision.tier)
        logger.debug("policy %s: tier %s failed: %s", self._name, decision.tier, why)
        following = self._failover(request.step, f"tier '{decision.tier}' failed")
        if following is None:
            raise self._exhausted() from exc
        return self._build(following, request.step)

    def finish(self, response: Any) -> Any:
        trail = self._trail()
        hidden = getattr(response, "_hidden_params", None)
        if not isinstance(hidden, dict):
            hidden = response._hidden_params = {}
        hidden[TRAIL_KEY] = trail
        logger.debug(
            "policy %s: answered by %s after %s ($%.6g): %s",
            self._name,
            trail.tiers[-1],
            " > ".join(map(str, trail.tiers)),
            trail.total_cost_usd,
            trail.stop_reason,
        )
        return response

    def _trail(self) -> RoutingTrail:
        return RoutingTrail(self.policy_router.kind, tuple(self.calls), self.stop_reason, self.triage)

    def _failures(self) -> list[TierCall]:
        return [call for call in self.calls if call.error is not None]

    def _exhausted(self) -> TiersExhaustedError:
        """The error for a request no tier can answer: each tier tried and why it failed or was not accepted."""
        tried = []
        if self.triage is not None and self.triage.error is not None:
            tried.append((self.triage.tier, f"router model failed: {self.triage.error}"))
        cascade = self.policy_router.cascade
        for call in self.calls:
            if call.error is not None:
                tried.append((call.tier, f"failed: {call.error}"))
            elif call.confidence is not None and cascade is not None:
                confidence = f"confidence {call.confidence:.3f} < {cascade.threshold:g}"
                tried.append((call.tier, f"answer not accepted: {confidence}"))
            else:
                tried.append((call.tier, "answer not accepted"))
        self.stop_reason = "no tier could answer"
        where = f"route {self.strategy.route!r}" if self.strategy is not None else self.policy_router.where
        return TiersExhaustedError(where, tried, self._trail())

    def _why_stopped(self, tier: str | None, logprobs: Any, text: str | None) -> tuple[float | None, str]:
        """(confidence in the answer, why it stands), the checks of ``should_escalate`` in its order."""
        router = self.policy_router
        cascade = router.cascade
        if cascade is None:
            return None, f"{router.kind} policy: one call"
        if tier is None:
            return None, "answered by a deployment outside the policy's tiers (the Router's own fallback)"
        if tier not in router.tier_names:
            return None, f"tier '{tier}' is not in the cascade's order"
        index = router.tier_names.index(tier)
        if index not in cascade.order:
            return None, f"tier '{tier}' is not in the cascade's order"
        step = cascade.order.index(index)
        if step == len(cascade.order) - 1:
            return None, f"'{tier}' is the cascade's last tier"
        if step >= cascade.cap:
            return None, _cap_reason(cascade.cap)
        if router.ceiling_usd is not None and router.spent_today_usd() >= router.ceiling_usd:
            return None, CEILING_REASON
        score, source = router.answer_confidence(tier, logprobs=logprobs, response=text, query=self.messages)
        return score, f"{source} {score:.3f} >= {cascade.threshold:g} on {tier}; accept"

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


@cache
def _tier_failures() -> tuple[type[Exception], ...]:
    """The exceptions that mean a tier could not answer: a provider error (every litellm provider
    exception is an ``openai.APIError``: HTTP statuses, timeouts, refused connections), a Router with no
    deployment available, or a route group with no deployment of the tier left."""
    import_litellm()
    import openai
    from litellm.types.router import RouterRateLimitError, RouterRateLimitErrorBasic

    return (openai.APIError, RouterRateLimitError, RouterRateLimitErrorBasic, TiersExhaustedError)


def _failure_text(exc: Exception, tier: str) -> str:
    """Why a call to ``tier`` failed, on one line."""
    if isinstance(exc, TiersExhaustedError):  # the route group had no deployment of the tier left
        reasons = [what for name, what in exc.tried if name == tier]
        if reasons:
            return reasons[-1]
    return _first_line(str(exc)) or type(exc).__name__


def _first_line(text: str) -> str:
    """The first line of an error's text, without its full stop (it goes inside a sentence)."""
    return text.strip().split("\n", 1)[0].strip().removesuffix(".")


def _deployment_id(deployment: Mapping[str, Any]) -> str | None:
    return (deployment.get("model_info") or {}).get("id")


def _answer_text(response: Any) -> str | None:
    choices = getattr(response, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else None


def _request_metadata(request_kwargs: dict[str, Any]) -> dict[str, Any]:
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


def _stamp_in(*metadata_dicts: Any) -> dict[str, Any] | None:
    """The decision a strategy stamped in a call's metadata (the first of ``metadata_dicts`` holding one)."""
    for metadata in metadata_dicts:
        stamp = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
        if isinstance(stamp, dict):
            return stamp
    return None


@cache
def _spend_hook() -> Any:
    """The process's one spend-counting litellm callback, created on first use."""
    import_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    class SpendHook(CustomLogger):
        """Counts each successful call a :class:`PolicyRoutingStrategy` routed into that policy's daily spend,
        and tells the strategy why a deployment it picked failed."""

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

        async def async_post_call_success_deployment_hook(
            self, request_data: dict[str, Any], response: Any, call_type: Any
        ) -> None:
            stamp = _stamp_in(request_data.get("metadata"), request_data.get("litellm_metadata"))
            logging_obj = request_data.get("litellm_logging_obj")

            def litellm_cost() -> Any:
                return logging_obj.response_cost_calculator(result=response) if logging_obj is not None else None

            self._count(stamp, request_data.get("litellm_call_id"), response, litellm_cost)
            return None  # the response is not changed

        async def async_post_call_failure_deployment_hook(
            self, request_data: Mapping[str, Any], exception: Exception, call_type: Any, fallback_depth: Any = None
        ) -> None:
            """Tell the strategy why the deployment it picked failed, before litellm's next attempt asks it again."""
            stamp = _stamp_in(request_data.get("metadata"), request_data.get("litellm_metadata"))
            strategy = self._strategy(stamp)
            if stamp is not None and strategy is not None:
                strategy.note_failure(stamp.get("request"), stamp.get("deployment"), exception)

        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            self._count_event(kwargs, response_obj)

        def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
            self._count_event(kwargs, response_obj)

        def _count_event(self, kwargs: dict[str, Any], response_obj: Any) -> None:
            params = kwargs.get("litellm_params") or {}
            stamp = _stamp_in(params.get("metadata"), params.get("litellm_metadata"), kwargs.get("metadata"))
            self._count(stamp, kwargs.get("litellm_call_id"), response_obj, lambda: kwargs.get("response_cost"))

        def _strategy(self, stamp: dict[str, Any] | None) -> PolicyRoutingStrategy | None:
            """The strategy that routed a call, from the decision stamped in its metadata; None for another call."""
            attachment = stamp.get("attachment") if stamp is not None else None
            return self.strategies.get(attachment) if isinstance(attachment, str) else None

        def _count(
            self, stamp: dict[str, Any] | None, call_id: Any, response: Any, litellm_cost: Callable[[], Any]
        ) -> None:
            strategy = self._strategy(stamp)
            if stamp is None or strategy is None:
                return
            strategy.close_call(stamp.get("request"))
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
