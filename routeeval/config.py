"""``routeeval.toml`` -> typed configuration.

The keys documented in ARCHITECTURE.md are the contract; unknown keys in a known table are
rejected with the list of valid ones, so a typo never silently does nothing.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from routeeval.errors import ConfigError

SIM_PROVIDER = "routeeval-sim"
KNOWN_SCORERS = ("choice", "contains", "exact", "json", "judge", "numeric", "regex")
DEFAULT_CONFIG_NAME = "routeeval.toml"


@dataclass(frozen=True)
class NumberRule:
    """The range a setting's number must be in; ``share`` marks a fraction 0-1 (hints catch percentages)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the bound itself is not allowed
    high_open: bool = False
    integer: bool = False
    share: str | None = None  # "points" (an accuracy drop) or "percent": how a fraction reads

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` ("must be ..., got ...; did you mean ...?"), or None when it is fine."""
        kind = "an integer" if self.integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float) or (self.integer and not _integral(value)):
            return f"must be {kind}, got {value!r}."
        if not math.isfinite(value):
            return f"must be a finite number, got {value!r}."
        if self._inside(value):
            return None
        text = f"must be {self._range_text()}, got {value:g}"
        if self.share and 1 < value <= 100 and self._inside(value / 100):
            meaning = f"{value * 100:,.4g} points" if self.share == "points" else f"{value * 100:,.4g}%"
            return text + f"; {value:g} is {meaning}: did you mean {value / 100:g}?"
        return text + "."

    def _inside(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))

    def _range_text(self) -> str:
        ends = []
        if self.low is not None:
            ends.append(f"above {self.low:g}" if self.low_open else f"at least {self.low:g}")
        if self.high is not None:
            ends.append(f"below {self.high:g}" if self.high_open else f"at most {self.high:g}")
        text = " and ".join(ends)
        if self.share == "points":
            text += " (a fraction: 0.02 is 2 points)"
        elif self.share:
            text += " (a fraction: 0.5 is 50%)"
        return text


NUMBER_RULES: dict[str, NumberRule] = {
    "tier.price_in_per_mtok": NumberRule(low=0),
    "tier.price_out_per_mtok": NumberRule(low=0),
    "tier.skill": NumberRule(low=0, high=1),
    "replay.concurrency": NumberRule(low=1, integer=True),
    "replay.timeout_s": NumberRule(low=0, low_open=True),
    "replay.retries": NumberRule(low=0, integer=True),
    "replay.max_cost_usd": NumberRule(low=0),
    "replay.backoff_base_s": NumberRule(low=0),
    "replay.backoff_max_s": NumberRule(low=0),
    "logs.sample_rate": NumberRule(low=0, high=1, low_open=True, share="percent"),
    "logs.monthly_queries": NumberRule(low=1, integer=True),
    "optimize.max_drop": NumberRule(low=0, high=1, high_open=True, share="points"),
    "optimize.confidence": NumberRule(low=0, high=1, low_open=True, high_open=True, share="percent"),
    "optimize.budget_per_1k_usd": NumberRule(low=0, low_open=True),
    "optimize.folds": NumberRule(low=2, integer=True),
    "optimize.bootstrap": NumberRule(low=10, integer=True),
    "optimize.seed": NumberRule(low=0, integer=True),
    "optimize.holdout_share": NumberRule(low=0, high=1, low_open=True, high_open=True, share="percent"),
    "optimize.daily_cost_ceiling_usd": NumberRule(low=0, low_open=True),
    "optimize.max_escalations": NumberRule(low=0, integer=True),
    "drift.sample": NumberRule(low=0, integer=True),
    "drift.max_rows": NumberRule(low=1, integer=True),
    "drift.max_monthly_usd": NumberRule(low=0, low_open=True),
}

# Command-line options that set a config key: option -> "section.key".
OPTION_KEYS = {
    "--max-cost": "replay.max_cost_usd",
    "--max-drop": "optimize.max_drop",
    "--confidence": "optimize.confidence",
    "--budget-per-1k": "optimize.budget_per_1k_usd",
    "--holdout-share": "optimize.holdout_share",
    "--monthly-queries": "logs.monthly_queries",
    "--sample-rate": "logs.sample_rate",
    "--sample": "drift.sample",
    "--max-rows": "drift.max_rows",
}


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
class LogsConfig:
    """How the production logs relate to production: what share of traffic they sample, or its volume."""

    sample_rate: float | None = None  # the logs hold this share of production's queries (0-1]
    monthly_queries: int | None = None  # or: production's volume per month, stated directly


@dataclass(frozen=True)
class OptimizeConfig:
    baseline: str | None = None
    max_drop: float = 0.01
    confidence: float = 0.95
    routers: tuple[str, ...] = ()  # none named: every registered router (routeeval.routers.registry)
    budget_per_1k_usd: float | None = None
    folds: int = 5
    bootstrap: int = 1000
    seed: int = 0
    holdout_share: float | None = None
    llm_router_tier: str | None = None
    static_rules: tuple[dict, ...] = ()
    daily_cost_ceiling_usd: float | None = None
    max_escalations: int = 2
    allow_metadata_routers: bool = False  # choose routers reading request metadata the logs do not show


@dataclass(frozen=True)
class DriftConfig:
    """``routeeval drift``: how much of the fresh logs to check, and the monthly spend not to pass."""

    sample: int = 200  # log rows replayed on their routed tier and the baseline (the paid layer; 0: none)
    max_rows: int = 1_000_000  # log rows the free layer routes; more are sampled down to this many
    max_monthly_usd: float | None = None  # the projected monthly spend on the policy must stay below this


@dataclass(frozen=True)
class Config:
    tiers: tuple[Tier, ...]
    replay: ReplayConfig = ReplayConfig()
    scoring: ScoringConfig = ScoringConfig()
    optimize: OptimizeConfig = OptimizeConfig()
    logs: LogsConfig = LogsConfig()
    drift: DriftConfig = DriftConfig()
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
_TOP_KEYS = {"tier", "replay", "scoring", "optimize", "logs", "drift"}
_TIER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def load_config(path: str | Path | None = None) -> Config:
    """Read ``routeeval.toml`` (or ``path``) into a :class:`Config`."""
    path = Path(path) if path is not None else Path(DEFAULT_CONFIG_NAME)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"{path}: no such config file; pass --config or create {DEFAULT_CONFIG_NAME}.") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{path}: is a directory; expected a TOML config file.")
    if not stat.S_ISREG(mode):  # a named pipe would wait forever, a device never end
        raise ConfigError(f"{path}: is not a regular file; expected a TOML config file.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # -sig: a byte-order mark (Notepad) is dropped
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    except RecursionError:
        raise ConfigError(f"{path}: arrays or inline tables are nested too deeply to read.") from None
    return with_cache_beside(parse_config(raw, str(path)), path)


def with_cache_beside(config: Config, config_path: str | Path) -> Config:
    """``config`` with a relative ``[replay] cache`` (the built-in default too) resolved against the config file's
    folder, not the working directory: the cache follows the project, so running from elsewhere with ``--config``
    finds the answers already paid for. ``~`` is expanded; an absolute path is kept."""
    cache = Path(config.replay.cache).expanduser()
    if not cache.is_absolute():
        cache = Path(os.path.normpath(Path(config_path).parent / cache))
    return replace(config, replay=replace(config.replay, cache=str(cache)))


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
    logs = _parse_section(raw, "logs", LogsConfig, where)
    drift = _parse_section(raw, "drift", DriftConfig, where)
    config = Config(tiers=tiers, replay=replay, scoring=scoring, optimize=optimize, logs=logs, drift=drift, path=where)
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
    if not _TIER_NAME.fullmatch(raw["name"]):
        raise ConfigError(
            f"{here}: key 'name' is {raw['name']!r}; a tier name is letters, digits, '-', '_' and '.' "
            "(it appears in route paths such as 'small>large')."
        )
    for key in ("price_in_per_mtok", "price_out_per_mtok", "skill"):
        value = raw.get(key)
        problem = None if value is None else NUMBER_RULES[f"tier.{key}"].problem(value)
        if problem:
            raise ConfigError(f"{here}: key '{key}' {problem}")
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
        rule = NUMBER_RULES.get(f"{name}.{key}")
        problem = rule.problem(value) if rule is not None and value is not None else None
        if problem:
            raise ConfigError(f"{where}: [{name}] key '{key}' {problem}")
        values[key] = float(value) if isinstance(default, float) else value
    return cls(**values)


def _check(config: Config, where: str) -> None:
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
    _check_static_rules(config, where)


def _check_static_rules(config: Config, where: str) -> None:
    """Static rules compile and name known tiers, as the runtime will read them (checked before any call)."""
    from routeeval.runtime import compile_rules

    names = [t.name for t in config.tiers]
    for index, rule in enumerate(config.optimize.static_rules, start=1):
        if not isinstance(rule, dict):
            raise ConfigError(f"{where}: [optimize] static_rules #{index} must be a table, got {rule!r}.")
        try:
            compile_rules([rule], names)
        except ValueError as exc:
            raise ConfigError(f"{where}: [optimize] static_rules #{index}: {exc}.") from None


def with_options(config: Config, **options: Any) -> Config:
    """``config`` with command-line options applied (None = not given), each checked like its config key.

    Keys are the config's (``max_drop``, ``max_cost_usd``, ``monthly_queries``, ...); an error names the option.
    """
    by_key = {key.split(".", 1)[1]: option for option, key in OPTION_KEYS.items()}
    sections: dict[str, dict[str, Any]] = {}
    for key, value in options.items():
        if value is None:
            continue
        option = by_key.get(key)
        section = OPTION_KEYS[option].split(".", 1)[0] if option else "optimize"
        rule = NUMBER_RULES.get(f"{section}.{key}")
        problem = rule.problem(value) if rule is not None else None
        if problem:
            raise ConfigError(f"{option} {problem}")
        sections.setdefault(section, {})[key] = tuple(value) if isinstance(value, list) else value
    if "baseline" in sections.get("optimize", {}) and config.tiers:  # `optimize` without a config: checked later
        config.tier(sections["optimize"]["baseline"])
    return replace(
        config,
        **{name: replace(getattr(config, name), **values) for name, values in sections.items()},
    )


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


def _integral(value: Any) -> bool:
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
