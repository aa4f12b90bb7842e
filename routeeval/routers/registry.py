"""Every router routeeval can fit, by name: the rows it needs, its out-of-fold candidates, which swept points an
exported policy reproduces, its export, and the request metadata it reads at runtime.

Adding a router is a change to one place: its module under ``routers/`` and a :class:`RouterSpec` here. The
optimizer, the config's checks, ``bench/`` and the tests read this table; nothing else dispatches on names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from routeeval.config import OptimizeConfig
from routeeval.errors import ConfigError
from routeeval.outcomes import RouterData
from routeeval.routers.base import cross_fit
from routeeval.routers.cascade import CascadeRouter, cascade_options
from routeeval.routers.classifier import ClassifierRouter
from routeeval.routers.intent import INTENT_KEY, IntentRouter, intent_codes
from routeeval.routers.knn import KnnRouter
from routeeval.routers.static import StaticRouter
from routeeval.sweep import Candidate, FixedCandidate, OperatingPoint, ThresholdCandidate, UtilityCandidate

MIN_ROWS_TO_CROSS_FIT = 20  # a learned router needs this many selection rows (and one per fold)
Export = tuple[Any, str, dict]  # (fitted router or policy section, policy kind, knob)


@dataclass
class LLMRouterCalls:
    """The llm router's answers for each row (by row id), and the cost and latency of asking."""

    router: Any  # a fitted routeeval.routers.LLMRouter
    answers: dict[str, str | None]
    cost_usd: dict[str, float]
    latency_ms: dict[str, float]


@dataclass
class Workspace:
    """What the routers of one optimize share: the selection rows, the settings, notes for the reader, the llm
    router's calls, and results worth computing once (``memo``)."""

    data: RouterData
    settings: OptimizeConfig
    notes: list[str] = field(default_factory=list)
    llm_calls: LLMRouterCalls | None = None
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def tiers(self) -> list[str]:
        return list(self.data.tiers)

    @property
    def folds(self) -> int:
        return min(self.settings.folds, self.data.n_rows)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def too_few_rows(self) -> bool:
        return self.data.n_rows < max(MIN_ROWS_TO_CROSS_FIT, self.folds)

    def common(self, data: RouterData | None = None) -> dict[str, Any]:
        """The matrices every candidate carries: options (the tiers), score, cost and latency of ``data``."""
        data = data or self.data
        return dict(options=self.tiers, score=data.score, cost=data.cost_usd, latency=data.latency_ms)


@dataclass(frozen=True)
class RouterSpec:
    """One router: ``candidates`` (out of fold on the workspace's rows), ``export`` (refit on every selection row,
    for the chosen point), ``exportable`` (the swept points an export reproduces; default all), ``metadata_keys``
    (request metadata a variant reads at runtime), ``holdout_candidates`` (fit on one set of rows, scored on
    another: the benchmarks' train/test protocol)."""

    name: str
    summary: str
    learned: bool
    candidates: Callable[[Workspace], list[Candidate]]
    export: Callable[[Workspace, OperatingPoint], Export]
    exportable: Callable[[Workspace, list[OperatingPoint]], list[OperatingPoint]] | None = None
    metadata_keys: Callable[[Workspace, str], list[str]] | None = None
    holdout_candidates: Callable[[Workspace, RouterData], list[Candidate]] | None = None

    def build(self, workspace: Workspace) -> list[Candidate]:
        """The candidates, or none with a note when there is nothing to route or too few rows to cross-fit."""
        if len(workspace.tiers) < 2:
            workspace.note("only one tier: there is nothing to route, so no router was fit")
            return []
        if self.learned and workspace.too_few_rows():
            workspace.note(f"{self.name} router skipped: {workspace.data.n_rows} rows are too few to cross-fit")
            return []
        return self.candidates(workspace)


# --- shared pieces ---------------------------------------------------------------------------------------


def finite_knob(value: float | None) -> float:
    """A knob for policy.json: +/-inf become the largest finite floats (the same decisions on quantized scores),
    NaN or None 0. The one place a swept knob is made finite."""
    if value is None or math.isnan(value):
        return 0.0
    if math.isinf(value):
        return math.copysign(1e308, value)
    return float(value)


def finite_or_inf(value: float | None) -> float:
    """A swept knob as a number: a missing one (a fixed point) is no knob at all, -inf."""
    return -math.inf if value is None else float(value)


def static_metadata(data: RouterData) -> list[dict | None] | None:
    """Per-row metadata for static rules, with the row's intent under "intent" unless the metadata has one;
    None when no row has either."""
    if data.intents:  # each distinct intent spelled once (a million rows hold a few dozen)
        codes, names = intent_codes(data.intents)
        intents = [*names, None]
        intents = [intents[code] for code in codes]
    else:
        intents = [None] * data.n_rows
    metadata = data.metadata or [None] * data.n_rows
    if metadata.count(None) == len(metadata) and intents.count(None) == len(intents):
        return None
    rows = []
    for meta, intent in zip(metadata, intents, strict=True):
        if intent is not None and INTENT_KEY not in (meta or {}):
            meta = {**(meta or {}), INTENT_KEY: intent}
        rows.append(meta)
    return rows


def per_distinct_input(score_rows: Callable, inputs: list, keys=None) -> np.ndarray:
    """``score_rows(inputs)`` (one row of scores per query) computed once per distinct query object.

    Equal query texts share one object in a pivoted table, so this is one call per distinct query. ``keys``:
    one number per row, equal exactly where the query object is (the pivot's ``input_codes``); default: ids.
    """
    import pandas as pd

    if keys is None:
        keys = np.fromiter(map(id, inputs), dtype=np.int64, count=len(inputs))
    codes, uniques = pd.factorize(keys)
    if len(uniques) == len(inputs):
        return score_rows(inputs)
    first = np.flatnonzero(codes > np.maximum.accumulate(np.r_[-1, codes[:-1]]))  # codes number first sightings
    return np.take(score_rows([inputs[i] for i in first]), codes, axis=0)


# --- classifier and knn: expected score per tier, threshold and utility rules --------------------------------


def _probability_spec(name: str, factory: Callable[[Workspace], Any], summary: str) -> RouterSpec:
    def candidates(ws: Workspace) -> list[Candidate]:
        data = ws.data
        probability = cross_fit(
            lambda: factory(ws),
            data.inputs,
            data.score,
            folds=ws.folds,
            random_state=ws.settings.seed,
            fit_params={"cost_usd": data.cost_usd},
        )
        return [
            ThresholdCandidate(name, "threshold", accept=probability, **ws.common()),
            UtilityCandidate(name, "utility", utility_prob=probability, **ws.common()),
        ]

    def export(ws: Workspace, point: OperatingPoint) -> Export:
        data = ws.data
        fitted = factory(ws).fit(data.inputs, data.score, cost_usd=data.cost_usd)
        if point.rule == "threshold":
            return fitted, name, {"rule": "threshold", "threshold": finite_knob(point.knob)}
        return fitted, name, {"rule": "utility", "lambda": finite_knob(point.knob)}

    def holdout_candidates(train: Workspace, test: RouterData) -> list[Candidate]:
        fitted = factory(train).fit(train.data.inputs, train.data.score, cost_usd=train.data.cost_usd)
        probability = fitted.predict_proba(test.inputs)
        common = train.common(test)
        return [
            ThresholdCandidate(name, "threshold", accept=probability, **common),
            UtilityCandidate(
                name, "utility", utility_prob=probability, option_cost=fitted.expected_cost_usd_, **common
            ),
        ]

    return RouterSpec(name, summary, True, candidates, export, holdout_candidates=holdout_candidates)


# --- static: config rules, a length cut-off, and the per-intent table ----------------------------------------


def _static_router(ws: Workspace) -> StaticRouter:
    return StaticRouter(tiers=tuple(ws.tiers), rules=tuple(ws.settings.static_rules))


def _intent_table(ws: Workspace) -> IntentRouter:
    """static/intent's table refit on every selection row (the one an export ships), fit once."""
    if "intent_table" not in ws.memo:
        data = ws.data
        ws.memo["intent_table"] = IntentRouter(tiers=tuple(ws.tiers)).fit(
            data.intents, data.score, cost_usd=data.cost_usd
        )
    return ws.memo["intent_table"]


def _intent_policies(ws: Workspace):
    """:meth:`IntentRouter.policy_costs` of the refit table on the selection rows, computed once."""
    if "intent_policies" not in ws.memo:
        ws.memo["intent_policies"] = _intent_table(ws).policy_costs(ws.data.intents, ws.data.cost_usd)
    return ws.memo["intent_policies"]


def _static_candidates(ws: Workspace) -> list[Candidate]:
    router = _static_router(ws).fit()
    data = ws.data
    if not any(rule.metadata for rule in router.rules_):
        accept = per_distinct_input(router.accept_scores, data.inputs, data.input_codes)
    else:  # rules on metadata: the same text can route differently
        accept = router.accept_scores(data.inputs, static_metadata(data))
    candidates: list[Candidate] = [ThresholdCandidate("static", "length", accept=accept, **ws.common())]
    if not data.intents or len(intent_codes(data.intents)[1]) < 2:
        return candidates
    if ws.too_few_rows():
        ws.note(f"static/intent skipped: {data.n_rows} rows are too few to cross-fit")
        return candidates
    probability = cross_fit(
        lambda: IntentRouter(tiers=tuple(ws.tiers)),
        data.intents,
        data.score,
        folds=ws.folds,
        random_state=ws.settings.seed,
        fit_params={"cost_usd": data.cost_usd},
    )
    return candidates + [UtilityCandidate("static", "intent", utility_prob=probability, **ws.common())]


def _static_exportable(ws: Workspace, points: list[OperatingPoint]) -> list[OperatingPoint]:
    """``points`` less static/intent's that no table refit on every row reproduces.

    The cross-fitting folds' tables switch an intent at slightly different lambdas, so between two refit tables
    the sweep finds points that mix them (a fifth of an intent's rows switched, then two fifths...). No exported
    policy behaves like that, so those points are neither shown on the frontier nor certified: a point stays
    when some refit table costs, on the selection rows, at least as much and at most 1% more.
    """
    intent = [p for p in points if p.variant == "intent"]
    if not intent:
        return points
    _, costs = _intent_policies(ws)
    reachable = np.sort(costs[np.isfinite(costs)])
    mixed = set()
    for point in intent:
        cost = point.cost_per_1k_usd
        if not math.isfinite(cost) or not reachable.size:
            continue  # without costs there is nothing to compare
        at = np.searchsorted(reachable, cost * (1 - 1e-9))
        if at == reachable.size or reachable[at] > cost * 1.01:
            mixed.add(id(point))
    if mixed:
        ws.note(
            f"static/intent: left out {len(mixed)} of {len(intent)} swept points that no exportable table "
            "reproduces (they mix the cross-fitting folds' tables)"
        )
    return [p for p in points if id(p) not in mixed]


def _static_export(ws: Workspace, point: OperatingPoint) -> Export:
    if point.variant != "intent":
        return _static_router(ws).fit(), "static", StaticRouter.knob_from_threshold(finite_or_inf(point.knob))
    data = ws.data
    table = _intent_table(ws)
    lam = finite_knob(point.knob)
    if math.isfinite(point.cost_per_1k_usd):  # never export a cheaper table than the certified point
        target = point.cost_per_1k_usd * (1 - 1e-9)
        lam = table.lambda_costing_at_least(data.intents, data.cost_usd, target, _intent_policies(ws))
    knob = {"rule": "utility", "lambda": lam}
    exported = 1000 * np.nanmean(data.cost_usd[np.arange(data.n_rows), table.decide(data.intents, knob)])
    if exported > point.cost_per_1k_usd * 1.01:
        ws.note(
            "static/intent: the certified point mixes the cross-fitting folds' tables "
            f"(${point.cost_per_1k_usd:.4g} per 1k); no table refit on every row costs that, so the exported "
            f"one is the cheapest that costs no less: ${exported:.4g} per 1k on the selection rows"
        )
    rules, default = table.rules(knob)
    static = StaticRouter(tiers=tuple(ws.tiers), rules=tuple(rules), default_tier=default)
    return static.fit(), "static", {"length_cutoff_chars": None}


def _static_metadata_keys(ws: Workspace, variant: str) -> list[str]:
    if variant == "intent":
        return [INTENT_KEY]
    return sorted({key for rule in ws.settings.static_rules for key in (rule.get("metadata") or {})})


def _static_holdout_candidates(train: Workspace, test: RouterData) -> list[Candidate]:
    common = train.common(test)
    accept = _static_router(train).fit().accept_scores(test.inputs, static_metadata(test))
    candidates: list[Candidate] = [ThresholdCandidate("static", "length", accept=accept, **common)]
    if len(set(train.data.intents)) > 1:  # as optimize: the intent table when there are two or more intents
        probability = _intent_table(train).predict_proba(test.intents)
        candidates.append(UtilityCandidate("static", "intent", utility_prob=probability, **common))
    return candidates


# --- cascade: the cheap answer first, escalate when unsure ---------------------------------------------------


def _cascade_router(ws: Workspace, order: tuple[str, ...] | None = None) -> CascadeRouter:
    return CascadeRouter(
        tiers=tuple(ws.tiers), order=order, max_escalations=ws.settings.max_escalations, random_state=ws.settings.seed
    )


def cascade_orders(n_tiers: int) -> list[list[int]]:
    """Each cheaper tier escalating to the strongest, and (up to 4 tiers) the full chain."""
    last = n_tiers - 1
    orders = [[t, last] for t in range(last)]
    if 2 < n_tiers <= 4:
        orders.append(list(range(n_tiers)))
    return orders


def _cascade_options(ws: Workspace, confidence, data: RouterData, cap_of: Callable[[list[int]], int]):
    candidates: list[Candidate] = []
    for order in cascade_orders(len(ws.tiers)):
        cap = cap_of(order)
        options = cascade_options(confidence, data.score, data.cost_usd, data.latency_ms, order, cap, ws.tiers)
        # A stop point none of whose calls was timed has an unknown latency, not 0 ms (tables without latency).
        timed = np.logical_or.accumulate(~np.isnan(data.latency_ms[:, order[: cap + 1]]), axis=1)
        options["latency"] = np.where(timed, options["latency"], np.nan)
        variant = ">".join(ws.tiers[t] for t in order)
        candidates.append(ThresholdCandidate("cascade", variant, **options))
    return candidates


def _cascade_candidates(ws: Workspace) -> list[Candidate]:
    data = ws.data
    hints = {"responses": data.responses, "logprob_mean": data.logprob_mean}
    confidence = cross_fit(
        lambda: _cascade_router(ws),
        data.inputs,
        data.score,
        folds=ws.folds,
        random_state=ws.settings.seed,
        fit_params=hints,
        predict_params=hints,
    )
    return _cascade_options(ws, confidence, data, lambda order: min(ws.settings.max_escalations, len(order) - 1))


def _cascade_export(ws: Workspace, point: OperatingPoint) -> Export:
    data = ws.data
    fitted = _cascade_router(ws, tuple(point.variant.split(">"))).fit(
        data.inputs, data.score, responses=data.responses, logprob_mean=data.logprob_mean
    )
    return fitted, "cascade", {"threshold": finite_knob(point.knob)}


def _cascade_holdout_candidates(train: Workspace, test: RouterData) -> list[Candidate]:
    data = train.data
    fitted = _cascade_router(train).fit(
        data.inputs, data.score, responses=data.responses, logprob_mean=data.logprob_mean
    )
    confidence = fitted.predict_proba(test.inputs, responses=test.responses, logprob_mean=test.logprob_mean)
    return _cascade_options(train, confidence, test, lambda order: min(fitted.max_escalations, len(order) - 1))


# --- llm: a cheap tier triages; its calls come from the run ----------------------------------------------------


def _llm_candidates(ws: Workspace) -> list[Candidate]:
    calls = ws.llm_calls
    if calls is None:
        ws.note("llm router skipped: it needs model calls; `routeeval run` makes them, `optimize` on a table cannot")
        return []
    data = ws.data
    fixed = calls.router.decide([calls.answers.get(row_id) for row_id in data.row_ids])
    extra_cost = np.array([calls.cost_usd.get(r, np.nan) for r in data.row_ids])[:, None]
    extra_latency = np.array([calls.latency_ms.get(r, np.nan) for r in data.row_ids])[:, None]
    return [
        FixedCandidate(
            "llm",
            calls.router.classifier_tier_,
            ws.tiers,
            data.score,
            data.cost_usd + np.nan_to_num(extra_cost),
            data.latency_ms + np.nan_to_num(extra_latency),
            fixed=fixed,
        )
    ]


def _llm_export(ws: Workspace, point: OperatingPoint) -> Export:
    if ws.llm_calls is None:
        raise ValueError("the llm router was chosen without its calls")
    return ws.llm_calls.router, "llm", {}


# --- the table ----------------------------------------------------------------------------------------------

REGISTRY: dict[str, RouterSpec] = {
    spec.name: spec
    for spec in (
        RouterSpec(
            "static",
            "config rules (first match wins), then a length cut-off; with two or more intents, a per-intent table",
            learned=False,
            candidates=_static_candidates,
            export=_static_export,
            exportable=_static_exportable,
            metadata_keys=_static_metadata_keys,
            holdout_candidates=_static_holdout_candidates,
        ),
        _probability_spec(
            "classifier",
            lambda ws: ClassifierRouter(tiers=tuple(ws.tiers), random_state=ws.settings.seed),
            "TF-IDF + logistic regression per tier: P(the tier answers well)",
        ),
        _probability_spec(
            "knn", lambda ws: KnnRouter(tiers=tuple(ws.tiers)), "the same features, nearest neighbours' scores"
        ),
        RouterSpec(
            "cascade",
            "cheapest tier first; escalate while the answer's confidence is below the threshold",
            learned=True,
            candidates=_cascade_candidates,
            export=_cascade_export,
            holdout_candidates=_cascade_holdout_candidates,
        ),
        RouterSpec(
            "llm",
            "a cheap tier answers 'easy or hard?'; its call is paid on every query",
            learned=False,
            candidates=_llm_candidates,
            export=_llm_export,
        ),
    )
}


def router_names() -> tuple[str, ...]:
    return tuple(sorted(REGISTRY))


def router_spec(name: str) -> RouterSpec:
    """The spec for ``name``; a ConfigError naming the choices for a name no router has."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise ConfigError(f"unknown router '{name}'; choose from: {', '.join(router_names())}.")
    return spec


def routers_to_fit(settings: OptimizeConfig) -> tuple[str, ...]:
    """The routers a run fits: ``[optimize] routers`` (or ``--router``), else every registered one."""
    return tuple(settings.routers) or router_names()


def check_router_names(names, where: str | None = None) -> None:
    """Every name is a registered router (checked before any call)."""
    for name in names:
        if name not in REGISTRY:
            prefix = f"{where}: " if where else ""
            raise ConfigError(f"{prefix}unknown router '{name}'; choose from: {', '.join(router_names())}.")
