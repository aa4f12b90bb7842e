"""Build, validate and write ``policy.json`` in the runtime's format (``routeeval.policy/v1``).

A policy is plain JSON numbers and strings: the router kind and its learned numbers, the chosen
knob, the tiers with models and prices, guards, the expected metrics and provenance, and a checksum
the runtime verifies at load. Never a pickle. The JSON Schema ships beside this module as
``policy.schema.json``; :func:`validate_policy` checks the same required keys and types by hand
(the field tables below), so no jsonschema dependency is needed.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from routeeval import __version__
from routeeval.errors import PolicyError
from routeeval.files import write_text_atomic
from routeeval.runtime import KINDS, ON_CEILING, RULES, SCHEMA, Router, policy_checksum
from routeeval.runtime import PolicyError as RuntimePolicyError

SCHEMA_PATH = Path(__file__).with_name("policy.schema.json")

# Required keys and their JSON types, mirrored by policy.schema.json (a test keeps them equal).
TOP_FIELDS = {
    "schema": "string",
    "kind": "string",
    "knob": "object",
    "tiers": "array",
    "guards": "object",
    "router": "object",
    "expected": "object",
    "provenance": "object",
    "checksum": "string",
}
REFERENCE_FIELDS = {"schema": "string", "basis": "string", "rows": "integer"}
TIER_FIELDS = {
    "name": "string",
    "model": "string",
    "price_in_per_mtok": "number|null",
    "price_out_per_mtok": "number|null",
}
GUARD_FIELDS = {
    "fallback_tier": "string",
    "daily_cost_ceiling_usd": "number|null",
    "max_escalations": "integer",
    "on_ceiling": "string",
}
PROVENANCE_FIELDS = {
    "evalset_sha256": "string|null",
    "rows": "integer|null",
    "routeeval_version": "string",
    "cost_map_version": "string|null",
    "selection_rule": "string|null",
    "created_at": "string",
}
FEATURIZER_FIELDS = {
    "word_ngrams": "array|null",
    "char_ngrams": "array|null",
    "char_scope": "string",
    "min_df": "number",
    "max_df": "number",
    "max_word_features": "integer|null",
    "max_char_features": "integer|null",
    "tf": "string",
    "dense": "boolean",
    "n_docs": "integer",
    "word_vocabulary": "array",
    "char_vocabulary": "array",
    "idf": "array",
}
ROUTER_FIELDS = {
    "static": {"rules": "array", "default_tier": "string", "long_tier": "string"},
    "classifier": {"featurizer": "object", "expected_cost_usd": "array", "models": "array"},
    "knn": {
        "featurizer": "object",
        "n_neighbors": "integer",
        "prior": "array",
        "expected_cost_usd": "array",
        "docs": "array",
        "correct": "array",
    },
    "cascade": {
        "order": "array",
        "max_escalations": "integer",
        "confidence": "array",
        "featurizer": "object|null",
        "response_featurizer": "object|null",
    },
    "llm": {
        "classifier_tier": "string",
        "default_tier": "string",
        "system": "string",
        "prompt": "string",
        "mapping": "object",
    },
}
KNOB_FIELDS = {
    "static": {"length_cutoff_chars": "integer|null"},
    "classifier": {"rule": "string"},
    "knn": {"rule": "string"},
    "cascade": {"threshold": "number"},
    "llm": {},
}
_CHECKSUM_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def build_policy(
    router,
    kind: str,
    knob: dict,
    tiers: list,
    guards: dict | None = None,
    expected: dict | None = None,
    provenance: dict | None = None,
) -> dict:
    """The complete, checksummed policy for a fitted ``router`` (or its ``to_policy()`` dict) at ``knob``.

    ``tiers``: dicts (or config ``Tier`` objects) with name, model, price_in_per_mtok and
    price_out_per_mtok, cheapest first. ``guards`` defaults: fallback to the last tier, no cost
    ceiling, 2 escalations, cheapest tier past the ceiling. ``provenance`` gains ``created_at`` and
    ``routeeval_version`` when missing. Raises PolicyError when the result would not load.
    """
    section = router.to_policy() if hasattr(router, "to_policy") else router
    tier_entries = [_tier_entry(tier) for tier in tiers]
    names = [t["name"] for t in tier_entries]
    guards = dict(guards or {})
    body = {
        "schema": SCHEMA,
        "kind": kind,
        "knob": _finite_knob(knob),
        "tiers": tier_entries,
        "guards": {
            "fallback_tier": guards.get("fallback_tier") or (names[-1] if names else None),
            "daily_cost_ceiling_usd": _plain(guards.get("daily_cost_ceiling_usd")),
            "max_escalations": int(guards.get("max_escalations", 2)),
            "on_ceiling": guards.get("on_ceiling", "cheapest"),
        },
        "router": section,
        "expected": _plain(dict(expected or {})),
        "provenance": {
            "evalset_sha256": None,
            "rows": None,
            "routeeval_version": __version__,
            "cost_map_version": None,
            "selection_rule": None,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **_plain(dict(provenance or {})),
        },
    }
    try:
        body["checksum"] = policy_checksum(body)
    except ValueError as exc:
        raise PolicyError(f"policy: not plain JSON ({exc}); remove NaN and infinite numbers.") from None
    validate_policy(body)
    load_router(body)
    return body


def attach_reference(policy: dict, reference: dict) -> dict:
    """``policy`` with its ``reference`` profile (what ``routeeval drift`` compares fresh logs against; the
    runtime ignores it), checksummed again."""
    body = {key: value for key, value in policy.items() if key not in ("reference", "checksum")}
    body["reference"] = _plain(dict(reference))
    try:
        body["checksum"] = policy_checksum(body)
    except ValueError as exc:
        raise PolicyError(f"policy: the reference profile is not plain JSON ({exc}).") from None
    validate_policy(body)
    return body


def write_policy(policy: dict, path: str | Path) -> Path:
    """Validate and write ``policy`` as UTF-8 JSON (key order kept; the checksum does not depend on layout)."""
    validate_policy(policy)
    path = Path(path)
    text = json.dumps(policy, indent=1, ensure_ascii=False, allow_nan=False)
    write_text_atomic(path, text + "\n")
    return path


def validate_policy(policy: Any, where: str = "policy") -> None:
    """Check required keys, JSON types and cross-references; PolicyError names the first problem."""
    _check_fields(policy, TOP_FIELDS, where)
    if policy["schema"] != SCHEMA:
        raise PolicyError(f"{where} has schema {policy['schema']}; this version of routeeval writes {SCHEMA}.")
    kind = policy["kind"]
    if kind not in KINDS:
        raise PolicyError(f"{where}: kind is '{kind}'; choose from: {', '.join(KINDS)}.")
    if not _CHECKSUM_RE.match(policy["checksum"]):
        raise PolicyError(f"{where}: checksum must look like sha256:<64 hex digits>.")
    tiers = policy["tiers"]
    if not tiers:
        raise PolicyError(f"{where}: 'tiers' is empty; a policy needs at least one tier.")
    for number, tier in enumerate(tiers, start=1):
        _check_fields(tier, TIER_FIELDS, f"{where} tiers[{number}]")
    names = [t["name"] for t in tiers]
    if len(set(names)) != len(names):
        raise PolicyError(f"{where}: tier names must be unique, got {', '.join(names)}.")
    guards = policy["guards"]
    _check_fields(guards, GUARD_FIELDS, f"{where} guards")
    _check_tier(guards["fallback_tier"], names, f"{where} guards.fallback_tier")
    if guards["on_ceiling"] not in ON_CEILING:
        raise PolicyError(f"{where}: guards.on_ceiling is '{guards['on_ceiling']}'; choose from: cheapest, fallback.")
    if guards["max_escalations"] < 0:
        raise PolicyError(f"{where}: guards.max_escalations must be 0 or more.")
    _check_fields(policy["provenance"], PROVENANCE_FIELDS, f"{where} provenance")
    if "reference" in policy:  # optional: policies written before routeeval drift have none
        _check_fields(policy["reference"], REFERENCE_FIELDS, f"{where} reference")
    knob = policy["knob"]
    _check_fields(knob, KNOB_FIELDS[kind], f"{where} knob")
    if kind in ("classifier", "knn"):
        if knob["rule"] not in RULES:
            raise PolicyError(f"{where}: knob.rule is '{knob['rule']}'; choose from: threshold, utility.")
        needed = "threshold" if knob["rule"] == "threshold" else "lambda"
        _check_fields(knob, {needed: "number"}, f"{where} knob")
    router = policy["router"]
    _check_fields(router, ROUTER_FIELDS[kind], f"{where} router")
    for key in ("featurizer", "response_featurizer"):
        if isinstance(router.get(key), dict):
            _check_fields(router[key], FEATURIZER_FIELDS, f"{where} router.{key}")
    for key in ("expected_cost_usd", "models", "prior", "confidence"):
        if key in router and len(router[key]) != len(names):
            raise PolicyError(f"{where}: router.{key} has {len(router[key])} entries for {len(names)} tiers.")
    for key in ("default_tier", "long_tier", "classifier_tier"):
        if key in router:
            _check_tier(router[key], names, f"{where} router.{key}")
    for name in router.get("order", []):
        _check_tier(name, names, f"{where} router.order")
    for answer, name in router.get("mapping", {}).items():
        _check_tier(name, names, f"{where} router.mapping['{answer}']")


def load_router(path_or_dict) -> Router:
    """``runtime.Router.load`` for routeeval's own commands: its PolicyError becomes ``errors.PolicyError``
    (exit code 2, one line; the runtime's error cannot derive from routeeval's errors, the other way round
    holds: ``errors.PolicyError`` is a ``runtime.PolicyError``, so either ``except`` catches it)."""
    try:
        return Router.load(path_or_dict)
    except RuntimePolicyError as exc:
        raise PolicyError(str(exc)) from None


def load_schema() -> dict:
    """The JSON Schema (draft 2020-12) of routeeval.policy/v1, as shipped in the package."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


_JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _check_fields(value: Any, fields: dict[str, str], where: str) -> None:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected an object, got {type(value).__name__}.")
    for key, kinds in fields.items():
        if key not in value:
            raise PolicyError(f"{where}: key '{key}' is missing.")
        if not any(_JSON_TYPES[kind](value[key]) for kind in kinds.split("|")):
            expected = " or ".join(kinds.split("|"))
            raise PolicyError(f"{where}: key '{key}' must be {expected}, got {value[key]!r:.60}.")


def _check_tier(name: Any, names: list[str], where: str) -> None:
    if name not in names:
        raise PolicyError(f"{where} is {name!r}; the policy's tiers are: {', '.join(names)}.")


def _tier_entry(tier) -> dict:
    get = tier.get if isinstance(tier, dict) else lambda key: getattr(tier, key, None)
    entry = {"name": get("name"), "model": get("model")}
    for key in ("price_in_per_mtok", "price_out_per_mtok"):
        value = get(key)
        entry[key] = None if value is None else float(value)
    return entry


def _finite_knob(knob: dict) -> dict:
    """The knob in plain JSON. A sweep's threshold of +inf ("always the last tier / always escalate") becomes
    2.0 and -inf becomes -1.0: scores and confidences lie in [0, 1], so the decisions are the same."""
    knob = _plain_numbers(dict(knob))
    threshold = knob.get("threshold")
    if isinstance(threshold, float) and math.isinf(threshold):
        knob["threshold"] = 2.0 if threshold > 0 else -1.0
    return knob


def _plain_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain_numbers(v) for k, v in value.items()}
    if hasattr(value, "tolist") and not isinstance(value, str):
        return value.tolist()
    return value


def _plain(value: Any) -> Any:
    """numpy scalars and arrays to Python, tuples to lists, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
