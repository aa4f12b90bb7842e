"""SQLite response cache: every completed call is committed before it is counted.

Keyed by a hash of the canonical model + messages + request parameters, the endpoint (``api_base``)
included: two endpoints serving one model id answer differently. The API key and what only shapes the
transport (timeouts, retries) stay out of the key and out of the file. WAL mode and a busy timeout let
several runs share one cache file; a run *claims* a key before calling (a row in ``claims`` with its owner,
pid and a lease), so a second run waits for the first one's answer instead of paying for it again.

The file is checked when opened (its tables are the ones routeeval writes) and every row when read (types,
ranges, and a checksum over its values): a damaged or edited cache is a clear error naming the file, never
a silent wrong answer or cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from routeeval.errors import ConfigError

# Parameters that never change a response, so they never enter the key.
_NOT_IN_KEY = frozenset({"api_key", "timeout", "num_retries", "max_retries", "metadata", "api_key_env"})

_COLUMNS = (
    ("key", "TEXT"),
    ("model", "TEXT"),
    ("response", "TEXT"),
    ("prompt_tokens", "INTEGER"),
    ("completion_tokens", "INTEGER"),
    ("cost_usd", "REAL"),
    ("latency_ms", "REAL"),
    ("logprobs", "TEXT"),
    ("created_at", "REAL"),
    ("usage_estimated", "INTEGER"),
    ("checksum", "TEXT"),
)
_ADDED_LATER = {"usage_estimated": "INTEGER NOT NULL DEFAULT 0", "checksum": "TEXT"}  # columns older files lack
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    latency_ms REAL NOT NULL,
    logprobs TEXT,
    created_at REAL NOT NULL,
    usage_estimated INTEGER NOT NULL DEFAULT 0,
    checksum TEXT
);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
"""
_BUSY_TIMEOUT_S = 30.0
_OPEN_RETRY_S = 30.0  # creating a fresh file from two processes at once can see "database is locked"


@dataclass(frozen=True)
class CachedResponse:
    response: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    logprobs: list[float] | None = None
    usage_estimated: bool = False  # the provider gave no token counts: they (and the cost) were estimated


def cache_key(model: str, messages: Iterable[dict], params: dict | None = None) -> str:
    """sha256 of the canonical JSON of model, messages and the parameters that shape the answer."""
    kept = {k: v for k, v in (params or {}).items() if k not in _NOT_IN_KEY}
    canonical = json.dumps(
        {"model": model, "messages": list(messages), "params": kept},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CacheError(ConfigError):
    """The cache file cannot be trusted (damaged, another schema, edited rows): exit 2, with the way out."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"{path}: the response cache {problem}; move the file away, or empty it with "
            f"`routeeval cache clear --path {path} --yes` (its answers will be paid for again)."
        )


class ResponseCache:
    """A small key-value store of completed calls. Use as a context manager or call close()."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot create the response cache's folder ({exc}).") from None
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        deadline = time.monotonic() + _OPEN_RETRY_S
        while True:
            try:
                db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
                db.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                self._check_schema(db)
                return db
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise CacheError(self.path, f"cannot be opened ({exc})") from None
            except sqlite3.DatabaseError as exc:
                raise CacheError(self.path, f"is damaged or not a cache ({exc})") from None

    def _check_schema(self, db: sqlite3.Connection) -> None:
        """The responses table is the one routeeval writes (older files gain the columns added since)."""
        columns = {name: kind for _cid, name, kind, *_ in db.execute("PRAGMA table_info(responses)")}
        for name, sql in _ADDED_LATER.items():
            if name not in columns:
                db.execute(f"ALTER TABLE responses ADD COLUMN {name} {sql}")
                columns[name] = sql.split()[0]
        expected = dict(_COLUMNS)
        if set(columns) != set(expected) or any(columns[name].upper() != kind for name, kind in expected.items()):
            found = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            raise CacheError(self.path, f"has a 'responses' table of another schema ({found})")

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))
        self._db.close()

    def _run(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        """Execute, turning a damaged file into a CacheError (never a traceback mid-run)."""
        try:
            return self._db.execute(sql, tuple(params))
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise CacheError(self.path, f"stayed locked for {_BUSY_TIMEOUT_S:g} s ({exc})") from None
            raise CacheError(self.path, f"is damaged ({exc})") from None

    def get(self, key: str) -> CachedResponse | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: list[str]) -> dict[str, CachedResponse]:
        """Look up many keys at once (a rerun of 100k calls must not pay 100k round trips); every row checked."""
        found: dict[str, CachedResponse] = {}
        chunk = 500
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            marks = ",".join("?" * len(part))
            rows = self._run(
                "SELECT key, model, response, prompt_tokens, completion_tokens, cost_usd, latency_ms, logprobs,"
                f" usage_estimated, checksum FROM responses WHERE key IN ({marks})",
                part,
            ).fetchall()
            for key, model, *values, checksum in rows:
                entry = self._entry(key, values)
                if checksum is not None and checksum != _checksum(key, model, *values):
                    raise CacheError(self.path, f"holds a row that was changed after it was written (key {key[:12]})")
                found[key] = entry
        return found

    def _entry(self, key: str, values: list) -> CachedResponse:
        response, prompt_tokens, completion_tokens, cost, latency, logprobs, estimated = values
        problem = None
        if not isinstance(response, str):
            problem = "a response that is not text"
        elif not _count(prompt_tokens) or not _count(completion_tokens):
            problem = "token counts that are not non-negative integers"
        elif not _amount(cost) or not _amount(latency):
            problem = "a cost or latency that is not a non-negative number"
        elif estimated not in (0, 1):
            problem = "a usage flag that is not 0 or 1"
        parsed = None
        if problem is None and logprobs is not None:
            try:
                parsed = json.loads(logprobs)
            except (TypeError, ValueError, RecursionError):
                problem = "log-probabilities that are not JSON"
            else:
                numbers = type(parsed) is list and all(type(v) is float or type(v) is int for v in parsed)
                if not numbers or (parsed and (max(parsed) > 0 or not math.isfinite(sum(parsed)))):
                    problem = "log-probabilities that are not a list of numbers <= 0"
        if problem is not None:
            raise CacheError(self.path, f"holds a row with {problem} (key {key[:12]})")
        return CachedResponse(response, prompt_tokens, completion_tokens, cost, latency, parsed, bool(estimated))

    def put(self, key: str, model: str, entry: CachedResponse) -> None:
        """Store one completed call, release its claim, and commit both before returning."""
        logprobs = json.dumps(entry.logprobs) if entry.logprobs is not None else None
        values = (
            entry.response,
            entry.prompt_tokens,
            entry.completion_tokens,
            float(entry.cost_usd),
            float(entry.latency_ms),
            logprobs,
            int(entry.usage_estimated),
        )
        row = (key, model, *values[:6], time.time(), values[6], _checksum(key, model, *values))
        self._run("BEGIN IMMEDIATE")
        try:
            self._run("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._run("DELETE FROM claims WHERE key = ?", (key,))
            self._run("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    # --- claims: one run pays for a key; the others wait for its answer ------------------------------

    def claim(self, key: str, lease_s: float) -> bool:
        """Take ``key`` for this cache's owner for ``lease_s`` seconds; False when another live owner holds it.

        A claim is free when none exists, when its lease ran out, or when its owner was a process on this host
        that is gone (killed runs leave claims behind; their calls were never committed).
        """
        now = time.time()
        self._run("BEGIN IMMEDIATE")
        try:
            held = self._run("SELECT owner, host, pid, expires_at FROM claims WHERE key = ?", (key,)).fetchone()
            if held is not None and held[0] != self.owner and held[3] > now and _alive(held[1], held[2]):
                self._run("COMMIT")
                return False
            self._run(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)",
                (key, self.owner, socket.gethostname(), os.getpid(), now + lease_s),
            )
            self._run("COMMIT")
            return True
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    def release(self, key: str) -> None:
        """Give up this owner's claim on ``key`` (its call failed: another run may try)."""
        self._run("DELETE FROM claims WHERE key = ? AND owner = ?", (key, self.owner))

    def claimed_elsewhere(self, key: str) -> bool:
        """Whether another live owner still holds ``key``."""
        held = self._run("SELECT owner, host, pid, expires_at FROM claims WHERE key = ?", (key,)).fetchone()
        return held is not None and held[0] != self.owner and held[3] > time.time() and _alive(held[1], held[2])

    # --- housekeeping -------------------------------------------------------------------------------

    def stats(self) -> dict:
        total = self._run(
            "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0), MIN(created_at), MAX(created_at) FROM responses"
        ).fetchone()
        by_model = self._run(
            "SELECT model, COUNT(*), COALESCE(SUM(cost_usd), 0) FROM responses GROUP BY model ORDER BY model"
        ).fetchall()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {
            "path": str(self.path),
            "entries": total[0],
            "cost_usd": total[1],
            "size_bytes": size,
            "oldest": total[2],
            "newest": total[3],
            "models": [{"model": m, "entries": n, "cost_usd": c} for m, n, c in by_model],
        }

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        count = self._run("SELECT COUNT(*) FROM responses").fetchone()[0]
        self._run("DELETE FROM responses")
        self._run("DELETE FROM claims")
        self._run("VACUUM")
        return count


def remove_cache_files(path: str | Path) -> int:
    """Delete a cache file that cannot be opened (damaged, another schema), with its WAL and shared-memory files;
    returns how many files were removed."""
    path = Path(path)
    removed = 0
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.is_file():
            candidate.unlink()
            removed += 1
    return removed


def _checksum(key, model, response, prompt_tokens, completion_tokens, cost, latency, logprobs, estimated) -> str:
    """A digest of a row's values as stored (the log-probabilities as their JSON text): an edit shows."""
    text = "\x1f".join(
        (key, model, str(response), str(prompt_tokens), str(completion_tokens), repr(cost), repr(latency))
    )
    text += f"\x1f{logprobs}\x1f{estimated}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _alive(host: str, pid: int) -> bool:
    """Whether a claim's owner may still be running: a process on another host is assumed alive until its lease
    runs out; one on this host is checked."""
    if host != socket.gethostname():
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _amount(value) -> bool:
    return _number(value) and value >= 0
