"""Routers: each scores every query per tier (out-of-fold through ``cross_fit``) and exports a policy.

| router | scores | knob | module |
|---|---|---|---|
| ``StaticRouter`` | rules as written, then a length cut-off | ``length_cutoff_chars`` | ``static`` |
| ``IntentRouter`` | expected score per tier of the query's intent, exported as static rules | ``lambda`` | ``intent`` |
| ``ClassifierRouter`` | expected score per tier, logistic regressions | ``threshold`` or ``lambda`` | ``classifier`` |
| ``KnnRouter`` | expected score per tier, nearest neighbours' scores | ``threshold`` or ``lambda`` | ``knn`` |
| ``CascadeRouter`` | confidence in each tier's answer | ``threshold`` | ``cascade`` |
| ``LLMRouter`` | a cheap tier's easy/hard answer | -- | ``llm`` |

The learned routers fit each call's graded score (0-1); their expected score is P(correct) for 0/1
scorers. Baselines (single tier, random mix, oracle) are in ``baselines``. The routers the optimizer
fits, by name, are in ``registry`` (imported on its own: it loads numpy). Importing this package
imports neither numpy nor scikit-learn; they load when a router is fit.
"""

from routeeval.routers.base import cross_fit, feature_matrix
from routeeval.routers.baselines import oracle_choice, random_mix_choice, single_tier_choice
from routeeval.routers.cascade import CascadeRouter, cascade_options, walk_cascade
from routeeval.routers.classifier import ClassifierRouter
from routeeval.routers.intent import IntentRouter
from routeeval.routers.knn import KnnRouter
from routeeval.routers.llm import LLMRouter
from routeeval.routers.static import StaticRouter

__all__ = [
    "CascadeRouter",
    "ClassifierRouter",
    "IntentRouter",
    "KnnRouter",
    "LLMRouter",
    "StaticRouter",
    "cascade_options",
    "cross_fit",
    "feature_matrix",
    "oracle_choice",
    "random_mix_choice",
    "single_tier_choice",
    "walk_cascade",
]
