"""``routeeval init``: a commented ``routeeval.toml`` from a LiteLLM proxy's ``config.yaml`` and/or model ids.

Each model of the proxy's ``model_list`` (its own and its ``include`` files') becomes a tier: a model group
serving one model is a tier named after the group; a group serving several models (a route group) gives one tier
per model, named after the model. The key becomes ``api_key_env``, the NAME of the variable (``api_key:
os.environ/NAME``); a key written into the YAML itself is never copied. Tiers are ordered cheapest first by the
price litellm's cost map gives (input plus output per 1M tokens); a model the map does not price gets a commented
placeholder and a warning, never $0.
The text is checked by :func:`routeeval.config.parse_config` before it is written, so ``load_config`` reads it.
"""

from __future__ import annotations

import json
import math
import re
import stat
import textwrap
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from routeeval.config import DEFAULT_CONFIG_NAME, parse_config
from routeeval.errors import ConfigError, DataError
from routeeval.files import write_text_atomic
from routeeval.pricing import cost_map_model, cost_map_version, lookup_cost_map

ENV_PREFIX = "os.environ/"  # how a LiteLLM proxy config reads a value from the environment
# litellm_params carried into a tier's params: they change the answer or reach the deployment, and hold no secret.
CARRIED_PARAMS = (
    "api_version",
    "custom_llm_provider",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "reasoning_effort",
)
_HANDLED_PARAMS = {"model", "api_key", "api_base", "input_cost_per_token", "output_cost_per_token"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class TierDraft:
    """One tier as ``init`` writes it; ``notes`` are the comment lines above it (where it came from, what was
    left out); ``price`` is USD per 1M (input, output) tokens and where it came from, or None when unpriced."""

    name: str
    model: str
    api_base: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    price: tuple[float, float, str] | None = None
    price_is_value: bool = False  # written as the tier's price (not as a comment: run would not find it)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitResult:
    path: Path
    tiers: tuple[TierDraft, ...]
    warnings: tuple[str, ...]
    text: str


def init_config(
    litellm_config: str | Path | None, models: Sequence[str], out: str | Path, *, force: bool = False
) -> InitResult:
    """Write ``out`` from the proxy config and/or ``models`` (``MODEL`` or ``NAME=MODEL``); refuse to overwrite
    an existing file unless ``force``."""
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"{out}: is a directory; --out names the config file to write.")
    if out.exists() and not force:
        raise ConfigError(f"{out}: already exists; pass --force to overwrite it.")
    if litellm_config is None and not models:
        raise ConfigError("init needs tiers: give --from-litellm-config FILE, or --model MODEL (repeat it), or both.")
    warnings: list[str] = []
    drafts: list[TierDraft] = []
    if litellm_config is not None:
        drafts += drafts_from_litellm_config(Path(litellm_config), warnings)
    drafts += _drafts_from_models(models, drafts, warnings)
    if not drafts:
        raise ConfigError(f"{litellm_config}: no model_list entry names one model; add tiers with --model MODEL.")
    tiers = order_cheapest_first(drafts, warnings)
    if len(tiers) == 1:
        warnings.append(f"only one tier ({tiers[0].name}); routing needs two or more: add them with --model.")
    text = render_config(tiers, source=str(litellm_config) if litellm_config is not None else None, out=out)
    parse_config(tomllib.loads(text), str(out))  # what load_config will read, checked before it is written
    write_text_atomic(out, text)
    return InitResult(out, tuple(tiers), tuple(warnings), text)


# -- the proxy's config.yaml ---------------------------------------------------------------------------
def drafts_from_litellm_config(path: Path, warnings: list[str]) -> list[TierDraft]:
    """One draft per model the proxy's ``model_list`` serves, in the file's order (warnings appended)."""
    groups: dict[str, list[tuple[str, dict[str, Any], int | None]]] = {}  # group -> (where, entry, line)
    deployments = _deployments(path, set())
    if not deployments:
        raise DataError(
            str(path),
            "has no deployments; a LiteLLM proxy config lists them there (or in its include files)",
            field="model_list",
        )
    for file, index, entry, line in deployments:
        where = f"model_list[{index}]"
        if not isinstance(entry, dict):
            raise DataError(str(file), "must be a mapping with model_name and litellm_params", line=line, field=where)
        group = entry.get("model_name")
        if not isinstance(group, str) or not group.strip():
            raise DataError(str(file), "is missing or not a string", line=line, field=f"{where}.model_name")
        params = entry.get("litellm_params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str) or not params["model"].strip():
            raise DataError(str(file), "is missing or not a string", line=line, field=f"{where}.litellm_params.model")
        at = f"{file} line {line}" if line else f"{file} {where}"
        groups.setdefault(group, []).append((at, entry, line))

    drafts: list[TierDraft] = []
    by_model: dict[str, int] = {}  # model -> index in drafts
    for group, entries in groups.items():
        models = list(dict.fromkeys(entry["litellm_params"]["model"] for _, entry, _ in entries))
        for model in models:
            same = [(at, e) for at, e, _ in entries if e["litellm_params"]["model"] == model]
            at, entry = same[0]
            if "*" in group or "*" in model or model.startswith(ENV_PREFIX):
                warnings.append(
                    f"{at}: model group '{group}' ({model}) is not one model (a wildcard or a variable): left out; "
                    "add the models you want routed with --model."
                )
                continue
            if model in by_model:
                known = drafts[by_model[model]]
                drafts[by_model[model]] = replace(
                    known, notes=(*known.notes, f"model group '{group}' ({at}) serves it too.")
                )
                continue
            name = group if len(models) == 1 else model.rsplit("/", 1)[-1]
            origin = f"from model group '{group}' ({at})"
            if len(same) > 1:
                origin += f"; {len(same)} deployments of this model, the first one's api_base and key used"
            by_model[model] = len(drafts)
            drafts.append(_draft(name, model, entry, origin, at, warnings))
    return drafts


def _deployments(path: Path, seen: set[Path]) -> list[tuple[Path, int, Any, int | None]]:
    """(file, index, entry, line) of each model_list entry of ``path`` and the files its ``include`` names (relative
    to it, as the proxy reads them: their model_list entries are appended)."""
    document, lines = _read_yaml(path)
    seen = seen | {path.resolve()}
    if not isinstance(document, dict):
        raise DataError(str(path), "expected a LiteLLM proxy config: a mapping with a model_list")
    deployments = document.get("model_list", [])
    if not isinstance(deployments, list):
        raise DataError(str(path), "must be a list of deployments", line=lines.get(id(document)), field="model_list")
    found = [(path, index, entry, lines.get(id(entry))) for index, entry in enumerate(deployments)]
    includes = document.get("include", [])
    if not isinstance(includes, list) or not all(isinstance(name, str) for name in includes):
        raise DataError(str(path), "must be a list of file names", line=lines.get(id(document)), field="include")
    for name in includes:
        included = path.parent / name
        if included.resolve() in seen:
            raise DataError(str(path), f"includes {name}, which includes it back", field="include")
        found += _deployments(included, seen)
    return found


def _draft(name: str, model: str, entry: dict[str, Any], origin: str, at: str, warnings: list[str]) -> TierDraft:
    params_in: dict[str, Any] = entry["litellm_params"]
    notes = [origin]
    api_key_env = None
    key = params_in.get("api_key")
    if isinstance(key, str) and key.startswith(ENV_PREFIX) and _ENV_NAME.fullmatch(key[len(ENV_PREFIX) :]):
        api_key_env = key[len(ENV_PREFIX) :]
    elif key is not None:
        notes.append(
            "api_key: the key written in the proxy config is left out (never copied); put it in an environment "
            "variable and set api_key_env to that variable's NAME."
        )
        warnings.append(
            f"{at}: model group '{entry['model_name']}' has its api_key written in the file: left out of the "
            "config; set api_key_env to the NAME of an environment variable holding it."
        )
    api_base = None
    base = params_in.get("api_base")
    if isinstance(base, str) and base.startswith(ENV_PREFIX):
        notes.append(f"api_base: the proxy reads it from {base}; set api_base here to replay against it.")
    elif isinstance(base, str):
        api_base = base
    params = {
        k: v for k, v in params_in.items() if k in CARRIED_PARAMS and _plain(v) and not str(v).startswith(ENV_PREFIX)
    }
    dropped = sorted(k for k in params_in if k not in params and k not in _HANDLED_PARAMS)
    if dropped:
        notes.append(f"not carried over from litellm_params: {', '.join(dropped)}.")
    price, price_is_value = _price(model, params_in, entry.get("model_info"))
    return TierDraft(
        name=name,
        model=model,
        api_base=api_base,
        api_key_env=api_key_env,
        params=params,
        price=price,
        price_is_value=price_is_value,
        notes=tuple(notes),
    )


def _price(model: str, params: dict[str, Any], info: Any) -> tuple[tuple[float, float, str] | None, bool]:
    """The model's price per 1M tokens and whether it must be written as a value: the proxy config's own prices
    (model_info or litellm_params), else litellm's cost map for the model (a comment: run finds it there too), else
    the cost map for ``model_info.base_model`` (a value: run would not find it)."""
    info = info if isinstance(info, dict) else {}
    for source, table in (("model_info", info), ("litellm_params", params)):
        price_in, price_out = table.get("input_cost_per_token"), table.get("output_cost_per_token")
        if (
            isinstance(price_in, int | float)
            and isinstance(price_out, int | float)
            and _number(price_in)
            and _number(price_out)
        ):
            return (price_in * 1e6, price_out * 1e6, f"the proxy config's {source}"), True
    found = lookup_cost_map(cost_map_model(model))
    if found is not None and found != (0.0, 0.0):  # a $0 entry is a loose match or a local model: run refuses it
        return (*found, "litellm's cost map"), False
    base = info.get("base_model")
    if isinstance(base, str) and (found := lookup_cost_map(base)) not in (None, (0.0, 0.0)):
        return (*found, f"litellm's cost map for model_info.base_model {base}"), True
    return None, False


def _read_yaml(path: Path) -> tuple[Any, dict[int, int]]:
    """The parsed file, and the line each mapping starts on (by ``id``), for errors that name the line."""
    import yaml

    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(
            str(path), "no such file; --from-litellm-config names the LiteLLM proxy's config.yaml"
        ) from None
    except OSError as exc:
        raise DataError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise DataError(str(path), "is not a regular file; expected the LiteLLM proxy's config.yaml")
    lines: dict[int, int] = {}

    class LineLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            mapping = super().construct_mapping(node, deep=deep)
            lines[id(mapping)] = node.start_mark.line + 1
            return mapping

    def mapping_with_line(loader: LineLoader, node: Any) -> Any:
        return loader.construct_mapping(node, deep=True)

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping_with_line)
    try:
        text = path.read_text(encoding="utf-8-sig")
        return yaml.load(text, Loader=LineLoader), lines  # a SafeLoader that also records lines
    except OSError as exc:
        raise DataError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DataError(str(path), f"not valid YAML ({exc.problem or exc.context})", line=line) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise DataError(str(path), f"not valid YAML ({exc})") from None


# -- --model options -------------------------------------------------------------------------------------
def _drafts_from_models(models: Sequence[str], known: list[TierDraft], warnings: list[str]) -> list[TierDraft]:
    drafts: list[TierDraft] = []
    seen = {d.model for d in known}
    for option in models:
        name, _, model = option.partition("=") if "=" in option else ("", "", option)
        name, model = name.strip(), model.strip()
        if not model or "*" in model:
            raise ConfigError(f"--model {option!r}: give one litellm model id (e.g. openai/gpt-4o-mini) or NAME=MODEL.")
        if model in seen:
            warnings.append(f"--model {model}: already a tier; given once.")
            continue
        seen.add(model)
        price, _ = _price(model, {}, None)
        drafts.append(
            TierDraft(name or model.rsplit("/", 1)[-1], model, price=price, notes=(f"from --model {option}",))
        )
    return drafts


# -- order, names and text -------------------------------------------------------------------------------
def order_cheapest_first(drafts: list[TierDraft], warnings: list[str]) -> list[TierDraft]:
    """Priced tiers by input + output price per 1M tokens (ties keep their order), then the unpriced ones, each
    with a warning; tier names made valid and unique."""
    priced = sorted((d for d in drafts if d.price is not None), key=_price_per_mtok)
    unpriced = [d for d in drafts if d.price is None]
    for draft in unpriced:
        warnings.append(
            f"tier '{draft.name}': model '{draft.model}' has no price in litellm's cost map ({cost_map_version()}); "
            "set price_in_per_mtok and price_out_per_mtok for it (a commented placeholder is written) and move it "
            "to its place in the cheapest-first order."
        )
    names: set[str] = set()
    ordered = []
    for draft in [*priced, *unpriced]:
        name = _tier_name(draft.name, names)
        names.add(name)
        ordered.append(replace(draft, name=name))
    return ordered


def _price_per_mtok(draft: TierDraft) -> float:
    return draft.price[0] + draft.price[1] if draft.price is not None else math.inf


def _tier_name(wanted: str, taken: set[str]) -> str:
    base = _NOT_IN_NAME.sub("-", wanted).strip("-_.") or "tier"
    if not base[0].isalnum():
        base = "tier-" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def render_config(tiers: Sequence[TierDraft], source: str | None, out: Path = Path(DEFAULT_CONFIG_NAME)) -> str:
    """The commented routeeval.toml for ``tiers`` (already cheapest first), to be written to ``out``."""
    priced = [t for t in tiers if t.price is not None]
    top = (priced or list(tiers))[-1].name  # the costliest priced tier: the usual judge and baseline
    came_from = f"from the LiteLLM proxy config {source}" if source else "from --model options"
    lines = [
        *_comment(f"{out.name}, written by `routeeval init` {came_from}. Review it, then:"),
        f"#   routeeval run EVALSET.jsonl --config {out}",
        "# Tiers are ordered cheapest first (input + output price per 1M tokens), as routeeval expects.",
        f"# Prices come from litellm's cost map ({cost_map_version()}) unless a tier sets both of its own.",
        "# api_key_env is the NAME of the environment variable holding a tier's key; never put a key in this file.",
        "",
    ]
    for tier in tiers:
        lines += ["[[tier]]", *(line for note in tier.notes for line in _comment(note))]
        lines += [f"name = {_toml(tier.name)}", f"model = {_toml(tier.model)}"]
        if tier.api_base is not None:
            lines.append(f"api_base = {_toml(tier.api_base)}")
        if tier.api_key_env is not None:
            lines.append(f"api_key_env = {_toml(tier.api_key_env)}")
        if tier.params:
            lines.append("params = { " + ", ".join(f"{k} = {_toml(v)}" for k, v in tier.params.items()) + " }")
        lines += _price_lines(tier)
        lines.append("")
    lines += [
        "[replay]",
        "concurrency = 8                       # calls in flight at once",
        "timeout_s = 60",
        "retries = 4                           # rate limits, 5xx and timeouts are retried with backoff",
        "max_cost_usd = 10.0                   # one ceiling over every paid call of a run: it stops there",
        'cache = ".routeeval/cache.sqlite"     # completed calls are kept: a rerun pays for none of them again',
        "",
        "[scoring]",
        'scorer = "exact"                      # exact | contains | regex | numeric | choice | json | judge',
        f'# judge_tier = {_toml(top):<23} # with scorer = "judge" (free-text answers): the tier that judges',
        "",
        "[optimize]",
        f"# baseline = {_toml(top):<25} # the tier to compare against [default: the most accurate single tier]",
        "max_drop = 0.01                       # the largest accuracy drop tolerated, a fraction (0.01 = 1 point)",
        "confidence = 0.95                     # how sure the drop must be below max_drop",
        "# budget_per_1k_usd = 2.0             # instead: the most accurate policy within this USD per 1,000 queries",
        "",
    ]
    return "\n".join(lines)


def _price_lines(tier: TierDraft) -> list[str]:
    if tier.price is None:
        return [
            *_comment(
                f"NO PRICE: litellm's cost map does not price {tier.model}. Set both (USD per 1M tokens) before "
                "`routeeval run`, which stops naming this tier until then:"
            ),
            "# price_in_per_mtok = ",
            "# price_out_per_mtok = ",
        ]
    price_in, price_out, source = tier.price
    if tier.price_is_value:
        return [
            *_comment(f"price from {source}:"),
            f"price_in_per_mtok = {_number_text(price_in)}",
            f"price_out_per_mtok = {_number_text(price_out)}",
        ]
    return [
        *_comment(
            f"{source}: ${_number_text(price_in)} in, ${_number_text(price_out)} out per 1M tokens; to fix the "
            "price (e.g. a negotiated rate), uncomment both:"
        ),
        f"# price_in_per_mtok = {_number_text(price_in)}",
        f"# price_out_per_mtok = {_number_text(price_out)}",
    ]


def _comment(text: str) -> list[str]:
    """``text`` as comment lines of at most 112 characters."""
    return [f"# {line}" for line in textwrap.wrap(text, 110, break_long_words=False, break_on_hyphens=False)]


def _number_text(value: float) -> str:
    return f"{round(value, 6):g}" if abs(value) >= 1e-4 or value == 0 else repr(value)


def _toml(value: Any) -> str:
    """A TOML value: JSON's string escapes are TOML's basic-string escapes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _plain(value: Any) -> bool:
    """A scalar TOML can hold as it is (finite numbers, strings, booleans)."""
    return isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
