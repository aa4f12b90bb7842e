"""The typed run record behind ``summary.json``: one dataclass per part (tiers, points, chosen policy, selection,
hold-out, logs, spend), built once by the pipeline, read by attribute.

``RunSummary.to_json()`` writes the contract's keys (ARCHITECTURE.md: stable keys, added freely, renamed never)
plus ``schema``; ``RunSummary.from_json()`` reads a summary back, so a run folder can be re-read by later
commands (``drift`` compares a policy with the summary it came from). Keys a part does not know are kept in
its ``extra`` and written back, so a newer summary read by this version loses nothing.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, TypeVar

SCHEMA = "routeeval.summary/v1"
Interval = list[float | None]  # [low, high]; either end None when unknown

T = TypeVar("T", bound="Record")


@dataclass
class Record:
    """Base of the parts: reading from and writing to the JSON dicts of ``summary.json``."""

    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)  # keys this version does not know

    @classmethod
    def from_json(cls: type[T], data: dict[str, Any]) -> T:
        hints = _hints(typing.cast(Any, cls))
        known = {f.name for f in fields(cls) if f.name != "extra"}
        values = {name: _read(hints[name], data[name]) for name in known if name in data}
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = _write(value)
        out.update(self.extra)
        return out


def _optional() -> Any:
    """A field that today's summaries leave out when it has no value (written only when set)."""
    return field(default=None, metadata={"omit_none": True})


@dataclass
class EvalSetInfo(Record):
    path: str | None = None
    sha256: str | None = None
    rows: int = 0
    subset: dict[str, Any] | None = _optional()  # --limit / --sample: how the rows were picked (absent: every row)


@dataclass
class TierInfo(Record):
    name: str = ""
    model: str = ""
    price_in_per_mtok: float | None = None
    price_out_per_mtok: float | None = None
    price_source: str | None = _optional()
    simulated: bool = False
    # with the cascade router: whether the replay asked for token log-probabilities (requested, set in params,
    # not supported, simulated, not needed)
    logprobs: str | None = _optional()


@dataclass
class CascadeConfidence(Record):
    """Where the cascade takes one tier's confidence in its answer from, and why."""

    tier: str = ""
    source: str = ""  # logprob, verifier, or none (the tier's accuracy as a constant)
    logprob_share: float | None = None  # share of the tier's scored answers carrying token log-probabilities
    logprobs: str | None = None  # how the replay asked for them (TierInfo.logprobs), None when not known
    reason: str = ""


@dataclass
class TierSummary(Record):
    """One tier on the eval rows (``single_tiers``) or its agreement on the log rows (``logs.agreement``)."""

    tier: str = ""
    rows: int | None = _optional()
    scored: int | None = _optional()
    accuracy: float | None = None
    accuracy_ci: Interval = field(default_factory=lambda: [None, None])
    cost_per_1k_usd: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    errors: int = 0
    unscored: int | None = _optional()
    unscored_reasons: dict[str, int] | None = _optional()


@dataclass
class Baseline(Record):
    """The baseline tier on the selection rows (``single_tiers``: every tier on all eval rows)."""

    tier: str | None = None
    accuracy: float | None = None
    accuracy_ci: Interval | None = None
    cost_per_1k_usd: float | None = None
    rows: int | None = _optional()
    basis: str | None = _optional()  # "selection rows"


@dataclass
class Point(Record):
    """An operating point: a router variant at one knob value (a frontier point, the oracle, the chosen one)."""

    router: str = ""
    variant: str = ""
    rule: str | None = None
    knob: float | None = None
    accuracy: float | None = None
    accuracy_ci: Interval | None = None
    cost_per_1k_usd: float | None = None
    tier_share: dict[str, float | None] = field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    needs_metadata: list[str] | None = _optional()  # request metadata keys the router reads at runtime
    selectable: bool | None = _optional()  # False: the logs do not show production sending them

    @property
    def label(self) -> str:
        """'cascade small>large @ 0.7607', 'large only'."""
        if self.router == "tier":
            return f"{self.variant} only"
        return f"{self.router} {self.variant}" + ("" if self.knob is None else f" @ {self.knob:.4g}")


@dataclass
class Chosen(Point):
    """The chosen policy's point on the selection rows, with its drop, saving and export."""

    accuracy_drop: float | None = None
    accuracy_drop_ci: Interval | None = None
    accuracy_drop_upper: float | None = None  # the selection's family-wise bound on the drop
    cost_per_1k_usd_ci: Interval | None = None
    qualified: bool | None = None
    savings_share: float | None = None
    savings_share_ci: Interval | None = None
    policy_kind: str | None = None
    policy_knob: dict[str, Any] | None = None
    runtime_parity_share: float | None = None


@dataclass
class Selection(Record):
    rule: str | None = None
    reason: str | None = None
    qualified: bool | None = None
    found_cheaper: bool | None = None
    rows: int = 0
    rows_unscored: int | None = _optional()
    max_drop: float | None = None
    confidence: float | None = None
    families: int | None = None
    test_level: float | None = None
    budget_per_1k_usd: float | None = None


@dataclass
class HoldoutChosen(Record):
    accuracy: float | None = None
    accuracy_ci: Interval | None = None
    accuracy_drop: float | None = None
    accuracy_drop_ci: Interval | None = None
    cost_per_1k_usd: float | None = None
    savings_share: float | None = None
    savings_share_ci: Interval | None = None
    tier_share: dict[str, float] = field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    baseline_accuracy: float | None = None


@dataclass
class Holdout(Record):
    rows: int = 0
    chosen: HoldoutChosen | None = None
    note: str | None = _optional()
    rows_unscored: int | None = _optional()


@dataclass
class Logs(Record):
    path: str | None = None
    sha256: str | None = None
    format: str | None = _optional()  # the container: jsonl, json (an array), csv, parquet, parquet/batch folder
    log_format: str | None = _optional()  # the record format detected (routeeval.log_formats.LOG_FORMATS)
    rows: int = 0
    reference_tier: str | None = None
    scorer: str | None = _optional()
    agreement: list[TierSummary] = field(default_factory=list)
    date_range: list[str] | None = _optional()  # the first and last timestamp of the log rows


@dataclass
class ReplayStats(Record):
    calls: int = 0
    calls_made: int = 0
    cache_hits: int = 0
    retries: int = 0
    errors: int = 0
    spent_usd: float = 0.0
    budget_usd: float | None = None
    skipped_budget: int = 0
    usage_estimated: int | None = _optional()
    errors_by_kind: dict[str, int] | None = _optional()
    errors_by_tier: dict[str, dict[str, int]] | None = _optional()
    stopped_tiers: dict[str, str] | None = _optional()
    wall_s: float = 0.0  # the replay's own time, without the litellm import (import_s)
    import_s: float | None = _optional()  # the litellm import this replay waited for, s


@dataclass
class Spend(Record):
    """Every paid call of the run against its one budget."""

    budget_usd: float | None = None
    spent_usd: float = 0.0
    by_phase: dict[str, float] = field(default_factory=dict)
    skipped_by_budget: dict[str, int] = field(default_factory=dict)
    phases: dict[str, ReplayStats] = field(default_factory=dict)


@dataclass
class MetadataRouter(Record):
    router: str = ""
    variant: str = ""
    keys: list[str] = field(default_factory=list)
    log_rows: int = 0
    log_rows_with_keys: int = 0
    selectable: bool = False
    note: str = ""


@dataclass
class HullPoint(Record):
    cost_per_1k_usd: float | None = None
    accuracy: float | None = None


@dataclass
class Metrics(Record):
    aiq: dict[str, float | None] = field(default_factory=dict)
    aiq_with_tiers: dict[str, float | None] | None = _optional()
    aiq_by_variant: dict[str, float | None] | None = _optional()
    zero_router_aiq: float | None = None
    aiq_routerbench: dict[str, float | None] | None = _optional()
    zero_router_aiq_routerbench: float | None = _optional()
    aiq_normalisation: str | None = _optional()
    apgr: dict[str, float | None] = field(default_factory=dict)
    apgr_fine: dict[str, float | None] | None = _optional()
    cpt50: dict[str, float | None] = field(default_factory=dict)
    cpt80: dict[str, float | None] = field(default_factory=dict)
    cpt50_usd_per_1k: dict[str, float | None] | None = _optional()
    cpt80_usd_per_1k: dict[str, float | None] | None = _optional()


@dataclass
class ProductionMix(Record):
    """The chosen policy routed over the production logs' rows."""

    rows: int = 0
    note: str | None = _optional()
    policy_cost_per_1k_usd: float | None = _optional()
    policy_cost_per_1k_usd_ci: Interval | None = _optional()
    baseline_cost_per_1k_usd: float | None = _optional()
    savings_share: float | None = _optional()
    savings_share_ci: Interval | None = _optional()
    tier_share: dict[str, float] | None = _optional()
    tier_share_ci: dict[str, Interval] | None = _optional()
    agreement: float | None = _optional()
    agreement_ci: Interval | None = _optional()
    rows_with_cost: int | None = _optional()


@dataclass
class LabelsCheck(Record):
    """Human easy/hard labels of the eval rows against what the tiers measurably did on them."""

    rows: int = 0  # eval rows labeled easy or hard, scored on both tiers
    easy: int = 0
    hard: int = 0
    cheapest_tier: str | None = None
    expensive_tier: str | None = None  # the baseline tier
    easy_cheapest_accuracy: float | None = None
    easy_cheapest_accuracy_ci: Interval | None = None
    hard_cheapest_accuracy: float | None = None
    hard_cheapest_accuracy_ci: Interval | None = None
    hard_needed_expensive: float | None = None  # hard rows the cheapest tier got wrong and the expensive one right
    hard_needed_expensive_ci: Interval | None = None
    easy_needed_expensive: float | None = None  # "easy" rows that needed the expensive tier all the same
    easy_needed_expensive_ci: Interval | None = None
    source: str | None = _optional()  # "eval set" or the labels file given with --labels


@dataclass
class OutcomesInfo(Record):
    path: str | None = None
    rows: int = 0


@dataclass
class RunSummary(Record):
    """Everything a run (or ``optimize`` on a table) measured and decided: ``summary.json``."""

    schema: str = SCHEMA
    routeeval_version: str | None = None
    created_at: str | None = None
    simulated: bool = False
    cost_map_version: str | None = None
    outcomes: OutcomesInfo | None = _optional()  # `optimize`: the table it read
    evalset: EvalSetInfo = field(default_factory=EvalSetInfo)
    tiers: list[TierInfo] = field(default_factory=list)
    baseline: Baseline | None = None
    single_tiers: list[TierSummary] = field(default_factory=list)
    replay: ReplayStats | None = _optional()
    judge_replay: ReplayStats | None = None
    holdout: Holdout | None = None
    logs: Logs | None = _optional()
    spend: Spend | None = _optional()
    frontier: list[Point] = field(default_factory=list)
    metadata_routers: list[MetadataRouter] = field(default_factory=list)
    oracle: Point | None = None
    zero_router: list[HullPoint] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    chosen: Chosen | None = None
    selection: Selection | None = None
    routers: list[str] = field(default_factory=list)
    cascade_confidence: list[CascadeConfidence] | None = _optional()  # per tier a cascade can stop at
    production_mix: ProductionMix | None = None
    labels: LabelsCheck | None = _optional()  # human easy/hard labels against measured outcomes
    policy_path: str | None = None
    notes: list[str] = field(default_factory=list)
    curves: dict[str, list[dict[str, Any]]] | None = _optional()  # each router's own frontier, for the plot
    report: dict[str, Any] | None = _optional()  # the report's own figures (routeeval.report.figures)


# --- reading and writing nested parts --------------------------------------------------------------


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _read(kind: Any, value: Any) -> Any:
    """``value`` from JSON as ``kind``: records become dataclasses, in lists, dicts and optionals too."""
    if value is None:
        return None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        records = [a for a in args if isinstance(a, type) and issubclass(a, Record)]
        if records and isinstance(value, dict):
            return records[0].from_json(value)
        others = [a for a in args if a is not type(None)]
        return _read(others[0], value) if len(others) == 1 else value  # list[Record] | None: its records too
    if isinstance(kind, type) and issubclass(kind, Record):
        return kind.from_json(value) if isinstance(value, dict) else value
    if origin is list and args and isinstance(value, list):
        return [_read(args[0], item) for item in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {key: _read(args[1], item) for key, item in value.items()}
    return value


def _write(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, list):
        return [_write(item) for item in value]
    if isinstance(value, dict):
        return {key: _write(item) for key, item in value.items()}
    return value
