"""``routeeval.toml`` -> typed configuration.

The keys documented in ARCHITECTURE.md are the contract; unknown keys in a known table are
rejected with the list of valid ones, so a typo never silently does nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routeeval.errors import ConfigError

SIM_PROVIDER = "routeeval-sim"
KNOWN_ROUTERS = ("cascade", "classifier", "knn", "llm", "static")
KNOWN_SCORERS = ("choice", "contains", "exact", "json", "judge", "numeric", "regex")
DEFAULT_CONFIG_NAME = "routeeval.toml"


@dataclass(frozen=True)
class Tier:
    name: str
    model: str
    price_in_per_mtok: float | None = None
    price_out_per_mtok: float | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    skill: float | None = None  # simulated tiers only: how capable the simulated model is (0-1)

    @property
    def simulated(self) -> bool:
        return self.model.startswith(SIM_PROVIDER + "/")


@dataclass(frozen=True)
class ReplayConfig:
    concurrency: int = 16
    timeout_s: float = 60.0
    retries: int = 4
    max_cost_usd: float | None = None
    cache: str = ".routeeval/cache.sqlite"
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0


@dataclass(frozen=True)
class ScoringConfig:
    scorer: str = "exact"
    judge_tier: str | None = None
    judge_rubric: str | None = None
    log_reference: str = "strongest"  # "strongest" tier's answer, or the recorded "production" answer


@dataclass(frozen=True)
class OptimizeConfig:
    baseline: str | None = None
    max_drop: float = 0.01
    confidence: float = 0.95
    routers: tuple[str, ...] = KNOWN_ROUTERS
    budget_per_1k_usd: float | None = None
    folds: int = 5
    bootstrap: int = 1000
    seed: int = 0
    holdout_share: float | None = None
    llm_router_tier: str | None = None
    static_rules: tuple[dict, ...] = ()
    daily_cost_ceiling_usd: float | None = None
    max_escalations: int = 2


@dataclass(frozen=True)
class Config:
    tiers: tuple[Tier, ...]
    replay: ReplayConfig = ReplayConfig()
    scoring: ScoringConfig = ScoringConfig()
    optimize: OptimizeConfig = OptimizeConfig()
    path: str | None = None

    def tier(self, name: str) -> Tier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        choices = ", ".join(t.name for t in self.tiers)
        raise ConfigError(f"{self._where()}: unknown tier '{name}'; choose from: {choices}.")

    @property
    def simulated(self) -> bool:
        return any(t.simulated for t in self.tiers)

    def _where(self) -> str:
        return self.path or "config"


_TIER_KEYS = {
    "name",
    "model",
    "price_in_per_mtok",
    "price_out_per_mtok",
    "api_base",
    "api_key_env",
    "params",
    "skill",
}
_TOP_KEYS = {"tier", "replay", "scoring", "optimize"}


def load_config(path: str | Path | None = None) -> Config:
    """Read ``routeeval.toml`` (or ``path``) into a :class:`Config`."""
    path = Path(path) if path is not None else Path(DEFAULT_CONFIG_NAME)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file; pass --config or create {DEFAULT_CONFIG_NAME}.")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; expected a TOML config file.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    return parse_config(raw, str(path))


def parse_config(raw: dict[str, Any], where: str = "config") -> Config:
    _reject_unknown(raw, _TOP_KEYS, where, "top level")
    tiers_raw = raw.get("tier")
    if not tiers_raw:
        raise ConfigError(f"{where}: no [[tier]] tables; define at least one tier, cheapest first.")
    if not isinstance(tiers_raw, list):
        raise ConfigError(f"{where}: 'tier' must be an array of tables ([[tier]]).")
    tiers = tuple(_parse_tier(t, i, where) for i, t in enumerate(tiers_raw, start=1))
    names = [t.name for t in tiers]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{where}: tier name '{name}' is used more than once; tier names must be unique.")

    replay = _parse_section(raw, "replay", ReplayConfig, where)
    scoring = _parse_section(raw, "scoring", ScoringConfig, where)
    optimize = _parse_section(raw, "optimize", OptimizeConfig, where)
    config = Config(tiers=tiers, replay=replay, scoring=scoring, optimize=optimize, path=where)
    _check(config, where)
    return config


def _parse_tier(raw: Any, index: int, where: str) -> Tier:
    here = f"{where} [[tier]] #{index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here}: expected a table.")
    _reject_unknown(raw, _TIER_KEYS, where, f"[[tier]] #{index}")
    for key in ("name", "model"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{here}: key '{key}' is missing; each tier needs 'name' and 'model'.")
    for key in ("price_in_per_mtok", "price_out_per_mtok", "skill"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            raise ConfigError(f"{here}: key '{key}' must be a non-negative number, got {value!r}.")
    if ("price_in_per_mtok" in raw) != ("price_out_per_mtok" in raw):
        raise ConfigError(f"{here}: set both 'price_in_per_mtok' and 'price_out_per_mtok', or neither.")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"{here}: key 'params' must be a table, e.g. {{ temperature = 0 }}.")
    if "api_key" in params:
        raise ConfigError(f"{here}: never put an API key in the config; set 'api_key_env' to the NAME of the variable.")
    return Tier(
        name=raw["name"],
        model=raw["model"],
        price_in_per_mtok=_float_or_none(raw.get("price_in_per_mtok")),
        price_out_per_mtok=_float_or_none(raw.get("price_out_per_mtok")),
        api_base=raw.get("api_base"),
        api_key_env=raw.get("api_key_env"),
        params=dict(params),
        skill=_float_or_none(raw.get("skill")),
    )


def _parse_section(raw: dict[str, Any], name: str, cls: type, where: str):
    section = raw.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [{name}] must be a table.")
    defaults = cls()
    valid = set(defaults.__dataclass_fields__)
    _reject_unknown(section, valid, where, f"[{name}]")
    values = {}
    for key, value in section.items():
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise ConfigError(f"{where}: [{name}] key '{key}' must be a list.")
            value = tuple(value)
        elif default is not None and not _same_kind(value, default):
            raise ConfigError(f"{where}: [{name}] key '{key}' must be {type(default).__name__}, got {value!r}.")
        values[key] = float(value) if isinstance(default, float) else value
    return cls(**values)


def _check(config: Config, where: str) -> None:
    replay = config.replay
    if replay.concurrency < 1:
        raise ConfigError(f"{where}: [replay] key 'concurrency' must be at least 1.")
    if replay.retries < 0:
        raise ConfigError(f"{where}: [replay] key 'retries' must be 0 or more.")
    if replay.timeout_s <= 0:
        raise ConfigError(f"{where}: [replay] key 'timeout_s' must be positive.")
    if replay.max_cost_usd is not None and replay.max_cost_usd < 0:
        raise ConfigError(f"{where}: [replay] key 'max_cost_usd' must be non-negative.")
    scorer_name = config.scoring.scorer.split("(", 1)[0].strip()
    if scorer_name not in KNOWN_SCORERS:
        raise ConfigError(f"{where}: unknown scorer '{scorer_name}'; choose from: {', '.join(KNOWN_SCORERS)}.")
    if scorer_name == "judge" and not config.scoring.judge_tier:
        raise ConfigError(f"{where}: [scoring] scorer 'judge' needs 'judge_tier', the tier that judges.")
    if config.scoring.log_reference not in ("strongest", "production"):
        raise ConfigError(f"{where}: [scoring] key 'log_reference' must be 'strongest' or 'production'.")
    for tier_name in (config.scoring.judge_tier, config.optimize.baseline, config.optimize.llm_router_tier):
        if tier_name is not None:
            config.tier(tier_name)
    for router in config.optimize.routers:
        if router not in KNOWN_ROUTERS:
            raise ConfigError(f"{where}: unknown router '{router}'; choose from: {', '.join(KNOWN_ROUTERS)}.")
    if not 0 < config.optimize.confidence < 1:
        raise ConfigError(f"{where}: [optimize] key 'confidence' must be between 0 and 1, e.g. 0.95.")


def _reject_unknown(raw: dict[str, Any], valid: set[str], where: str, section: str) -> None:
    for key in raw:
        if key not in valid:
            raise ConfigError(f"{where}: unknown key '{key}' in {section}; valid keys: {', '.join(sorted(valid))}.")


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
