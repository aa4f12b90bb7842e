"""The fields of every file of rows routeeval reads or writes, defined once, and the column mapping onto them.

The eval set, the production logs and the outcomes table each have a tuple of :class:`FieldSpec` here. The
loaders (:mod:`routeeval.data`, :mod:`routeeval.logs`) take their field names from it, ``[columns]`` and ``--map``
are checked against it, and ``scripts/readme_fields.py`` writes the README's "Your data" tables from it, so the
three cannot disagree.

A :class:`ColumnMap` says which column of a file holds which of routeeval's fields: ``[columns]`` in
``routeeval.toml`` (``id = "ticket_id"``) applies to every file of rows a command reads, ``[columns.evalset]``
and ``[columns.logs]`` to one kind of file only, and ``--map FIELD=COLUMN`` (or ``--map logs.FIELD=COLUMN``)
overrides the config's entry for that field.
"""

from __future__ import annotations

from dataclasses import dataclass

from routeeval.errors import ConfigError


@dataclass(frozen=True)
class FieldSpec:
    """One field of a file contract: its name, type, whether a row needs it, and what it means."""

    name: str
    type: str
    required: str  # "yes", "no", or how it is required ("input or messages")
    meaning: str


EVALSET = "evalset"
LOGS = "logs"
KINDS = (EVALSET, LOGS)  # the kinds of files a [columns] sub-table or a --map prefix may name

EVAL_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", "string (or integer)", "yes", "unique per row; names the row in outcomes and reports"),
    FieldSpec(
        "input",
        "string, or list of chat messages `{role, content}`",
        "yes",
        "the query sent to every tier; a list must hold a user turn and not end with an assistant turn",
    ),
    FieldSpec(
        "reference",
        "string, or list of strings",
        "no",
        "the gold answer (a list: any of them is right); scorers other than the judge and a fixed regex need it",
    ),
    FieldSpec("intent", "string", "no", "the query's kind, for the intent and static routers and the report"),
    FieldSpec("label", "`easy` or `hard`", "no", "a human difficulty label; the report checks it against the tiers"),
    FieldSpec("scorer", "string", "no", "this row's scorer instead of the config's, e.g. `numeric` or `contains`"),
    FieldSpec("split", "`train` or `test`", "no", "`test` rows are held out of selection and measure the policy"),
    FieldSpec(
        "metadata",
        "object",
        "no",
        "request metadata static rules read (`metadata.plan`); every other column of the file is added here",
    ),
)

LOG_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", "string (or integer)", "no", "the request's id; `log-<line>` when absent"),
    FieldSpec("timestamp", "ISO 8601 date and time", "no", "when the request was made (UTC when no offset)"),
    FieldSpec(
        "input",
        "string, or list of chat messages",
        "`input` or `messages`",
        "the prompt replayed; trailing assistant turns are production's answer, not prompt",
    ),
    FieldSpec("messages", "list of chat messages", "`input` or `messages`", "the prompt as chat messages"),
    FieldSpec("model", "string", "no", "the model production called"),
    FieldSpec("response", "string", "no", "production's answer (else the trailing assistant turns' text)"),
    FieldSpec("prompt_tokens", "integer ≥ 0", "no", "production's input tokens"),
    FieldSpec("completion_tokens", "integer ≥ 0", "no", "production's output tokens"),
    FieldSpec("cost_usd", "number ≥ 0", "no", "what production's call cost, USD"),
    FieldSpec("latency_ms", "number ≥ 0", "no", "production's latency, milliseconds"),
    FieldSpec("intent", "string", "no", "the query's kind (else `metadata.intent`)"),
    FieldSpec("label", "`easy` or `hard`", "no", "a human difficulty label (from `routeeval label`)"),
    FieldSpec(
        "metadata",
        "object",
        "no",
        "the request's metadata, as production sent it; every other column of the file is added here",
    ),
)

# Keys of a sample file's rows (routeeval sample) that are the sample's own, not extra columns of the logs.
SAMPLE_ROW_KEYS = ("stratum", "log_id")

OUTCOME_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("row_id", "string", "yes", "the eval or log row's id"),
    FieldSpec("tier", "string", "yes", "the tier that answered"),
    FieldSpec("response", "string", "no", "the tier's answer; null when the call failed"),
    FieldSpec("score", "number 0-1", "no", "null when unscored (see `unscored`), never 0 for a failed call"),
    FieldSpec("cost_usd", "number", "no", "the call's cost, USD"),
    FieldSpec("latency_ms", "number", "no", "the call's latency, milliseconds"),
    FieldSpec("prompt_tokens", "integer", "no", "input tokens"),
    FieldSpec("completion_tokens", "integer", "no", "output tokens"),
    FieldSpec("error", "string", "no", "why the call failed"),
    FieldSpec("cached", "boolean", "no", "the answer came from the response cache"),
    FieldSpec("input", "string", "no", "the query (chat messages as JSON text)"),
    FieldSpec("reference", "string", "no", "the gold answer (a list as JSON text)"),
    FieldSpec("intent", "string", "no", "the row's intent"),
    FieldSpec("label", "`easy` or `hard`", "no", "the row's difficulty label"),
    FieldSpec("split", "`train` or `test`", "no", "the row's split"),
    FieldSpec("metadata", "string (JSON object)", "no", "the row's metadata, extra columns included"),
    FieldSpec("source", "`eval`, `log` or `router`", "yes", "eval row, log row, or the llm router's triage call"),
    FieldSpec("scorer", "string", "no", "the scorer that gave `score`"),
    FieldSpec("logprob_mean", "number", "no", "mean token log-probability of the response, when given"),
    FieldSpec("usage_estimated", "boolean", "no", "tokens and cost estimated from text (no usage reported)"),
    FieldSpec("unscored", "string", "no", "why a row has no score"),
)

EVAL_FIELD_NAMES = frozenset(spec.name for spec in EVAL_FIELDS)
LOG_FIELD_NAMES = frozenset(spec.name for spec in LOG_FIELDS)
MAPPABLE = tuple(sorted(EVAL_FIELD_NAMES | LOG_FIELD_NAMES))  # the field names [columns] and --map accept


@dataclass(frozen=True)
class ColumnMap:
    """routeeval field -> the file's column. Each entry is ``(kind, field, column, origin)``: ``kind`` "" for every
    file or one of :data:`KINDS`; ``origin`` the entry as written (``[columns.logs] input = "prompt"``,
    ``--map input=prompt``)."""

    entries: tuple[tuple[str, str, str, str], ...] = ()

    def for_kind(self, kind: str) -> dict[str, str]:
        """field -> column for one kind of file: the entries for every file (that kind's fields), then its own."""
        return {name: column for name, (column, _origin) in self._resolved(kind).items()}

    def origin(self, kind: str, name: str) -> str:
        """Where the entry for ``name`` that applies to ``kind`` came from, as an error names it."""
        return self._resolved(kind)[name][1]

    def shared(self, kind: str) -> frozenset[str]:
        """The fields whose entry that applies to ``kind`` is one for every kind of file."""
        own = {name for scope, name, _column, _origin in self.entries if scope == kind}
        return frozenset(name for scope, name, _c, _o in self.entries if not scope and name not in own)

    def _resolved(self, kind: str) -> dict[str, tuple[str, str]]:
        names = field_names(kind)
        shared = {name: (column, origin) for scope, name, column, origin in self.entries if not scope and name in names}
        own = {name: (column, origin) for scope, name, column, origin in self.entries if scope == kind}
        return {**shared, **own}

    def over(self, base: ColumnMap) -> ColumnMap:
        """This map's entries over ``base``'s (``--map`` over ``[columns]``): an entry for every file replaces base's
        entries for that field, an entry for one kind of file base's entry for that field and kind."""
        everywhere = {name for scope, name, _column, _origin in self.entries if not scope}
        mine = {(scope, name) for scope, name, _column, _origin in self.entries}
        kept = tuple(entry for entry in base.entries if entry[1] not in everywhere and entry[:2] not in mine)
        return ColumnMap(kept + self.entries)

    def without(self, kind: str) -> ColumnMap:
        """This map with nothing for ``kind`` (a file routeeval wrote itself has routeeval's names)."""
        other = LOGS if kind == EVALSET else EVALSET
        return ColumnMap(tuple((other, n, c, o) for n, (c, o) in self._resolved(other).items()))

    def __bool__(self) -> bool:
        return bool(self.entries)


def field_names(kind: str) -> frozenset[str]:
    """The field names of a kind of file (:data:`EVALSET` or :data:`LOGS`)."""
    return EVAL_FIELD_NAMES if kind == EVALSET else LOG_FIELD_NAMES


def parse_columns(raw: object, where: str) -> ColumnMap:
    """``[columns]`` of ``routeeval.toml``, checked whole: ConfigError naming the key for anything wrong."""
    if not isinstance(raw, dict):
        raise ConfigError(f'{where}: [columns] must be a table of FIELD = "column", e.g. id = "ticket_id".')
    entries: list[tuple[str, str, str, str]] = []
    for key, value in raw.items():
        if key in KINDS:
            if not isinstance(value, dict):
                raise ConfigError(f'{where}: [columns.{key}] must be a table of FIELD = "column".')
            for name, column in value.items():
                table = f"[columns.{key}]"
                mapped = _entry(name, column, table, where, field_names(key))
                entries.append((key, name, mapped, f'{table} {name} = "{mapped}"'))
        else:
            mapped = _entry(key, value, "[columns]", where, frozenset(MAPPABLE))
            entries.append(("", key, mapped, f'[columns] {key} = "{mapped}"'))
    _check_distinct(entries, where)
    return ColumnMap(tuple(entries))


def parse_map_options(options: list[str] | None) -> ColumnMap:
    """``--map FIELD=COLUMN`` options (``--map logs.FIELD=COLUMN`` for one kind of file); ConfigError naming the
    option for anything wrong. A later option for the same field wins."""
    entries: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for option in options or ():
        target, sep, column = option.partition("=")
        target, column = target.strip(), column.strip()
        if not sep or not target or not column:
            raise ConfigError(f"--map {option!r} is not FIELD=COLUMN (e.g. --map id=ticket_id).")
        kind, dot, name = target.rpartition(".")
        if dot and kind not in KINDS:
            raise ConfigError(
                f"--map {option!r}: unknown kind of file '{kind}'; choose from: {', '.join(KINDS)} "
                "(or no prefix: every file)."
            )
        valid = field_names(kind) if dot else frozenset(MAPPABLE)
        if name not in valid:
            which = f" of {kind}" if dot else ""
            raise ConfigError(
                f"--map {option!r}: unknown field '{name}'{which}; valid fields: {', '.join(sorted(valid))}."
            )
        entries[(kind, name)] = (kind, name, column, f"--map {target}={column}")
    _check_distinct(list(entries.values()), None)
    return ColumnMap(tuple(entries.values()))


def _entry(name: str, column: object, table: str, where: str, valid: frozenset[str]) -> str:
    if name not in valid:
        kinds = f"; or the tables {' and '.join(f'[columns.{k}]' for k in KINDS)}" if table == "[columns]" else ""
        raise ConfigError(
            f"{where}: unknown field '{name}' in {table}; valid fields: {', '.join(sorted(valid))}{kinds}."
        )
    if not isinstance(column, str) or not column.strip():
        raise ConfigError(
            f"{where}: {table} key '{name}' must be the name of a column in your file, e.g. {name} = \"my_{name}\"."
        )
    return column.strip()


def _check_distinct(entries: list[tuple[str, str, str, str]], where: str | None) -> None:
    """No two fields of the same kind of file read one column."""
    seen: dict[tuple[str, str], str] = {}
    for scope, _name, column, origin in entries:
        if (scope, column) in seen:
            prefix = f"{where}: " if where else ""
            raise ConfigError(f"{prefix}{seen[scope, column]} and {origin} read the same column.")
        seen[scope, column] = origin
