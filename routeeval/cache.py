"""SQLite response cache: every completed call is committed before it is counted.

Keyed by a hash of the canonical model + messages + request parameters. The API key, the
api_base and anything else that does not change the answer stay out of the key and out of the
file. WAL mode and a busy timeout let two runs share one cache file safely.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from routeeval.errors import ConfigError

# Parameters that never change a response, so they never enter the key.
_NOT_IN_KEY = frozenset(
    {"api_key", "api_base", "base_url", "timeout", "num_retries", "max_retries", "metadata", "api_key_env"}
)

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
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class CachedResponse:
    response: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    logprobs: list[float] | None = None


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


class ResponseCache:
    """A small key-value store of completed calls. Use as a context manager or call close()."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path}: cannot open the response cache ({exc}).") from None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def get(self, key: str) -> CachedResponse | None:
        return self.get_many([key]).get(key)

    def get_many(self, keys: list[str]) -> dict[str, CachedResponse]:
        """Look up many keys at once (a rerun of 100k calls must not pay 100k round trips)."""
        found: dict[str, CachedResponse] = {}
        chunk = 500
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                "SELECT key, response, prompt_tokens, completion_tokens, cost_usd, latency_ms, logprobs"
                f" FROM responses WHERE key IN ({marks})",
                part,
            )
            for key, response, p_tok, c_tok, cost, latency, logprobs in rows:
                found[key] = CachedResponse(
                    response, p_tok, c_tok, cost, latency, json.loads(logprobs) if logprobs else None
                )
        return found

    def put(self, key: str, model: str, entry: CachedResponse) -> None:
        """Store one completed call and commit it before returning."""
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                model,
                entry.response,
                entry.prompt_tokens,
                entry.completion_tokens,
                entry.cost_usd,
                entry.latency_ms,
                json.dumps(entry.logprobs) if entry.logprobs is not None else None,
                time.time(),
            ),
        )

    def stats(self) -> dict:
        total = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0), MIN(created_at), MAX(created_at) FROM responses"
        ).fetchone()
        by_model = self._db.execute(
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
        count = self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        self._db.execute("DELETE FROM responses")
        self._db.execute("VACUUM")
        return count
