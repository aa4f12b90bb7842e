"""Integrations with serving stacks. Each module imports its framework when it is used, never at import time.

* :mod:`routeeval.integrations.litellm`: a routeeval policy picks the deployment for a litellm ``Router``
  (``attach_policy``), and ``complete`` / ``acomplete`` run a whole policy, cascade escalations included.
* :mod:`routeeval.integrations.litellm_proxy`: the same inside a LiteLLM proxy, named in its ``config.yaml``
  (``litellm_settings: callbacks: ["routeeval.integrations.litellm_proxy.policy_routing"]``).
"""
