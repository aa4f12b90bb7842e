"""The SQLite response cache: keys, durability, two writers at once, stats and clear."""

from __future__ import annotations

import multiprocessing
import sqlite3

from routeeval.cache import CachedResponse, ResponseCache, cache_key

MESSAGES = [{"role": "user", "content": "where is my invoice?"}]


def test_key_ignores_credentials_and_transport_but_not_answer_shaping_params():
    base = cache_key("openai/gpt-4o", MESSAGES, {"temperature": 0})
    assert base == cache_key("openai/gpt-4o", MESSAGES, {"temperature": 0, "api_key": "sk-1", "timeout": 5})
    assert base == cache_key("openai/gpt-4o", MESSAGES, {"temperature": 0, "api_base": "http://x/v1"})
    assert base != cache_key("openai/gpt-4o", MESSAGES, {"temperature": 0.7})
    assert base != cache_key("openai/gpt-4o-mini", MESSAGES, {"temperature": 0})
    assert base != cache_key("openai/gpt-4o", [{"role": "user", "content": "where is my invoice"}], {"temperature": 0})
    # Parameter order does not matter.
    assert cache_key("m", MESSAGES, {"a": 1, "b": 2}) == cache_key("m", MESSAGES, {"b": 2, "a": 1})


def test_put_is_durable_before_close(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    cache.put("k1", "m", CachedResponse("hello", 3, 1, 0.001, 12.5, [-0.1, -0.2]))
    # A second connection sees the entry at once: it was committed, not buffered.
    with ResponseCache(path) as other:
        hit = other.get("k1")
    assert hit == CachedResponse("hello", 3, 1, 0.001, 12.5, [-0.1, -0.2])
    assert cache.get("missing") is None
    cache.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_get_many_spans_chunks(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        for i in range(1200):
            cache.put(f"k{i}", "m", CachedResponse(f"r{i}", 1, 1, 0.0, 1.0))
        found = cache.get_many([f"k{i}" for i in range(0, 1300, 3)])
    assert len(found) == len(range(0, 1200, 3))
    assert found["k999"].response == "r999"


def _writer(path: str, start: int, n: int) -> None:
    with ResponseCache(path) as cache:
        for i in range(start, start + n):
            cache.put(f"k{i}", "m", CachedResponse(f"r{i}", i, 1, 0.5, 1.0))


def test_two_processes_write_at_once_without_corruption(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    ResponseCache(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, k * 400, 400)) for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    with ResponseCache(path) as cache:
        stats = cache.stats()
        assert stats["entries"] == 800
        assert cache.get("k799").prompt_tokens == 799
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_stats_and_clear(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        cache.put("a", "openai/gpt-4o", CachedResponse("x", 1, 1, 0.25, 1.0))
        cache.put("b", "openai/gpt-4o", CachedResponse("y", 1, 1, 0.25, 1.0))
        cache.put("c", "openai/gpt-4o-mini", CachedResponse("z", 1, 1, 0.01, 1.0))
        stats = cache.stats()
        assert stats["entries"] == 3
        assert stats["cost_usd"] == 0.51
        assert stats["models"] == [
            {"model": "openai/gpt-4o", "entries": 2, "cost_usd": 0.5},
            {"model": "openai/gpt-4o-mini", "entries": 1, "cost_usd": 0.01},
        ]
        assert cache.clear() == 3
        assert cache.stats()["entries"] == 0
