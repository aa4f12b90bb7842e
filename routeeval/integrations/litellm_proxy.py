"""Run a routeeval policy as the routing of a LiteLLM proxy: one line in its ``config.yaml``, no client change.

The proxy's ``config.yaml`` names this module's ``policy_routing`` callback and lists the policy's tiers as
deployments of one model group, the route group (``auto`` unless ``ROUTEEVAL_ROUTE`` says otherwise):

    model_list:
      - model_name: auto                     # the route group: one deployment (at least) per policy tier
        litellm_params: {model: openai/gpt-4o-mini, api_key: os.environ/OPENAI_API_KEY}
      - model_name: auto
        litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
    litellm_settings:
      callbacks: ["routeeval.integrations.litellm_proxy.policy_routing"]

and the proxy is started with ``ROUTEEVAL_POLICY=policy.json litellm --config config.yaml``. Clients send
``"model": "auto"``; the policy picks the tier of each request, exactly as
:func:`routeeval.integrations.litellm.attach_policy` does for a ``litellm.Router`` (the route group, tier tags,
failover by capability, the daily cost ceiling, the decision in the request's metadata: see that module).

**When what happens.** Importing this module does nothing. The proxy asks for ``policy_routing`` while it reads
its config: that builds the callback, which reads ``ROUTEEVAL_POLICY`` and loads the policy, so a missing or
damaged policy stops the proxy at start-up with one line naming it. The proxy builds its ``Router`` after its
callbacks, so the policy is attached to it on the first request (``async_pre_call_hook``, awaited before the
proxy routes that request), and again whenever the proxy replaces its Router; the loaded policy, and with it the
day's spend, is kept across those. A route group that lacks a deployment for some policy tier fails each request
to the route group with that message (requests to other model groups go on, the problem logged at ERROR).

**Limits.** A proxy request is one call: a ``cascade`` policy could never escalate and an ``llm`` policy would
never ask its router model, so both are refused at start-up (run them from code with
:func:`routeeval.integrations.litellm.acomplete`). Each proxy worker process loads its own copy of the policy,
so the daily cost ceiling counts each worker's spend separately (with ``--num_workers 4``, up to 4 times the
ceiling in a day).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any

from routeeval.errors import ConfigError, PolicyError
from routeeval.integrations.litellm import DEFAULT_ROUTE, PolicyRoutingStrategy, attach_policy
from routeeval.policy import load_router
from routeeval.pricing import import_litellm
from routeeval.runtime import Router as PolicyRouter

logger = logging.getLogger("routeeval")

POLICY_ENV = "ROUTEEVAL_POLICY"  # the path of the policy.json the proxy routes with
ROUTE_ENV = "ROUTEEVAL_ROUTE"  # the model group clients call to be routed [default: "auto"]
CALLBACK = "routeeval.integrations.litellm_proxy.policy_routing"  # what the proxy's config.yaml names
ONE_CALL_KINDS = {
    "cascade": "a cascade escalates by calling the next tier, and a proxy request is one call",
    "llm": "an llm policy asks its router model first, and a proxy request is one call",
}


def __getattr__(name: str) -> Any:
    """``policy_routing``: the proxy's callback, built from the environment the first time the proxy asks."""
    if name == "policy_routing":
        return proxy_callback()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def proxy_callback() -> Any:
    """The process's one proxy callback (a litellm ``CustomLogger``), for ``ROUTEEVAL_POLICY`` and
    ``ROUTEEVAL_ROUTE``. Raises :class:`~routeeval.errors.ConfigError` or
    :class:`~routeeval.errors.PolicyError` naming what is wrong, which stops the proxy at start-up."""
    path = os.environ.get(POLICY_ENV, "").strip()
    if not path:
        raise ConfigError(
            f"{POLICY_ENV} is not set; start the proxy with {POLICY_ENV}=path/to/policy.json "
            f"(the policy its callback {CALLBACK} routes with)."
        )
    route = os.environ.get(ROUTE_ENV, "").strip() or DEFAULT_ROUTE
    try:
        policy_router = load_router(Path(path))
    except PolicyError as exc:
        raise PolicyError(f"{POLICY_ENV}: {exc}") from None
    return proxy_hook_class()(policy_router, route=route)


def _proxy_router() -> Any:
    """The running proxy's ``litellm.Router`` (None outside a proxy, or before it has built one)."""
    proxy_server = sys.modules.get("litellm.proxy.proxy_server")
    return getattr(proxy_server, "llm_router", None)


@cache
def proxy_hook_class() -> type:
    """:class:`PolicyProxyHook`, a litellm ``CustomLogger`` (defined on first use: litellm imports in seconds)."""
    import_litellm()
    from litellm.integrations.custom_logger import CustomLogger

    class PolicyProxyHook(CustomLogger):
        """Attaches a policy to the proxy's Router before the first request it routes (and to each new Router).

        ``policy``: a ``policy.json`` path, its parsed dict or a loaded :class:`routeeval.runtime.Router`;
        ``route``: the model group clients call to be routed. ``strategy`` is the
        :class:`~routeeval.integrations.litellm.PolicyRoutingStrategy` attached last (None before the first
        request); ``policy_router.spent_today_usd()`` is the day's spend the ceiling guard reads.
        """

        def __init__(self, policy: Any, route: str = DEFAULT_ROUTE) -> None:
            super().__init__()
            self.policy_router = policy if isinstance(policy, PolicyRouter) else load_router(policy)
            self.route = route
            self.strategy: PolicyRoutingStrategy | None = None
            self._router: Any = None
            self._lock = threading.Lock()
            self._reported: str | None = None
            why = ONE_CALL_KINDS.get(self.policy_router.kind)
            if why is not None:
                raise ConfigError(
                    f"{self.policy_router.where}: the proxy cannot run a {self.policy_router.kind} policy ({why}); "
                    "choose one of the other routers (routeeval optimize --router classifier --router knn "
                    "--router static), or run it from code with routeeval.integrations.litellm.acomplete."
                )

        def attach(self, router: Any) -> PolicyRoutingStrategy:
            """Make the policy pick ``router``'s deployments, unless it already does; return the strategy."""
            with self._lock:
                if self.strategy is None or router is not self._router:
                    self.strategy = attach_policy(router, self.policy_router, route=self.route)
                    self._router = router
                    logger.info(
                        "routeeval: %s routes model group %r of the litellm proxy (%s policy, tiers %s)",
                        self.policy_router.where,
                        self.route,
                        self.policy_router.kind,
                        ", ".join(self.policy_router.tier_names),
                    )
                return self.strategy

        async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any) -> None:
            """Before the proxy routes a request: be attached to its current Router. A request to the route group
            fails when the policy cannot be attached (a request to another model group is let through)."""
            router = _proxy_router()
            if router is None:
                return None
            try:
                self.attach(router)
            except ConfigError as exc:
                if data.get("model") == self.route:
                    raise
                if str(exc) != self._reported:  # once per problem, not once per request
                    self._reported = str(exc)
                    logger.error("routeeval: the policy is not attached to the litellm proxy: %s", exc)
            return None  # the request is not changed

    return PolicyProxyHook
