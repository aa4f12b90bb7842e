"""The SQLite response cache: keys, durability, two writers at once, stats and clear."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time

import pytest

from routeeval.cache import CachedResponse, CacheError, ResponseCache, cache_key

MESSAGES = [{"role": "user", "content": "where is my invoice?"}]


def test_key_ignores_credentials_and_transport_but_not_the_endpoint_or_answer_shaping_params():
    base = cache_key("openai/gpt-4o", MESSAGES, {"temperature": 0})
    assert base == cache_key("openai/gpt-4o", MESSAGES, {"temperature": 0, "api_key": "sk-1", "timeout": 5})
    # Two endpoints serving one model id (a fine-tune behind a proxy, another region) answer differently.
    assert base != cache_key("openai/gpt-4o", MESSAGES, {"temperature": 0, "api_base": "http://x/v1"})
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


@pytest.mark.slow
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


def _damage(path, sql: str, *params) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE responses SET cost_usd = 'free'", "a cost or latency that is not a non-negative number"),
        ("UPDATE responses SET cost_usd = -1", "a cost or latency that is not a non-negative number"),
        ("UPDATE responses SET prompt_tokens = 2.5", "token counts that are not non-negative integers"),
        ("UPDATE responses SET logprobs = '[oops'", "log-probabilities that are not JSON"),
        ("UPDATE responses SET logprobs = '[\"a\"]'", "log-probabilities that are not a list of numbers <= 0"),
        ("UPDATE responses SET response = 'a different answer'", "was changed after it was written"),
        ("UPDATE responses SET cost_usd = 0.0", "was changed after it was written"),
    ],
)
def test_an_edited_row_is_a_clear_error_never_a_silent_answer(tmp_path, sql, problem):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as cache:
        cache.put("k1", "m", CachedResponse("hello", 3, 1, 0.001, 12.5, [-0.1]))
    _damage(path, sql)
    with ResponseCache(path) as cache, pytest.raises(CacheError) as info:
        cache.get("k1")
    assert problem in str(info.value) and "routeeval cache clear --path" in str(info.value)


def test_a_file_of_another_schema_or_not_a_database_is_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    _damage(other, "CREATE TABLE responses (key TEXT, value TEXT)")
    with pytest.raises(CacheError, match="has a 'responses' table of another schema"):
        ResponseCache(other)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    with pytest.raises(CacheError, match="is damaged or not a cache|cannot be opened"):
        ResponseCache(garbage)


def test_an_older_cache_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, response TEXT NOT NULL, prompt_tokens "
        "INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, "
        "logprobs TEXT, created_at REAL NOT NULL)"
    )
    db.execute("INSERT INTO responses VALUES ('k', 'm', 'hi', 1, 2, 0.5, 3.0, NULL, 0)")
    db.commit()
    db.close()
    with ResponseCache(path) as cache:
        assert cache.get("k") == CachedResponse("hi", 1, 2, 0.5, 3.0, None, False)


def test_a_claim_keeps_a_second_run_from_paying_until_released_or_dead(tmp_path):
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as first, ResponseCache(path) as second:
        assert first.claim("k", lease_s=60)
        assert not second.claim("k", lease_s=60) and second.claimed_elsewhere("k")
        first.put("k", "m", CachedResponse("answer", 1, 1, 0.1, 1.0))  # committing releases the claim
        assert second.get("k").response == "answer" and not second.claimed_elsewhere("k")
        assert first.claim("j", lease_s=60)
        first.release("j")  # the call failed: another run may try
        assert second.claim("j", lease_s=60)
    # A claim whose lease ran out, or whose owner process is gone, is free.
    _damage(path, "INSERT OR REPLACE INTO claims VALUES ('x', 'gone', ?, 999999999, ?)", os.uname().nodename, 1e12)
    _damage(path, "INSERT OR REPLACE INTO claims VALUES ('y', 'late', 'elsewhere', 1, ?)", time.time() - 1)
    with ResponseCache(path) as third:
        assert third.claim("x", lease_s=60) and third.claim("y", lease_s=60)


def _open_and_write(path: str, n: int) -> None:
    with ResponseCache(path) as cache:
        cache.put(f"p{os.getpid()}-{n}", "m", CachedResponse("r", 1, 1, 0.0, 1.0))


@pytest.mark.slow
def test_two_processes_create_one_fresh_cache_at_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    for attempt in range(4):
        path = str(tmp_path / f"fresh{attempt}.sqlite")
        workers = [context.Process(target=_open_and_write, args=(path, k)) for k in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0, "opening a fresh cache from several processes must not fail"
        with ResponseCache(path) as cache:
            assert cache.stats()["entries"] == 3
