"""Replay through litellm's real HTTP path to the loopback server: retries, timeouts, budget, keys."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from helpers import TEST_KEY_ENV

from routeeval.cache import ResponseCache
from routeeval.config import ReplayConfig, Tier
from routeeval.pricing import TierPrice, import_litellm
from routeeval.replay import BUDGET_SKIP, CallRequest, replay_calls, retry_after_s


def _tier(server, model: str, name: str | None = None, **params) -> Tier:
    return Tier(
        name=name or model,
        model=f"openai/{model}",
        api_base=server.base_url,
        api_key_env=TEST_KEY_ENV,
        price_in_per_mtok=1.0,
        price_out_per_mtok=2.0,
        params=params,
    )


def _requests(tier: Tier, n: int, prefix: str = "q") -> list[CallRequest]:
    return [CallRequest(f"{prefix}{i}", tier, [{"role": "user", "content": f"question number {i}"}]) for i in range(n)]


def _prices(*tiers: Tier) -> dict[str, TierPrice]:
    return {t.name: TierPrice(t.name, t.model, t.price_in_per_mtok, t.price_out_per_mtok, "config") for t in tiers}


def _settings(tmp_path, **overrides) -> ReplayConfig:
    values = dict(concurrency=4, timeout_s=5.0, retries=3, cache=str(tmp_path / "cache.sqlite"))
    values.update(backoff_base_s=0.01, backoff_max_s=2.0)
    values.update(overrides)
    return ReplayConfig(**values)


def _replay(tmp_path, requests, *tiers, **overrides):
    settings = _settings(tmp_path, **overrides)
    with ResponseCache(settings.cache) as cache:
        return replay_calls(requests, _prices(*tiers), settings, cache)


def test_replay_answers_prices_and_caches(loopback, tmp_path):
    tier = _tier(loopback, "plain")
    report = _replay(tmp_path, _requests(tier, 5), tier)
    assert [r.row_id for r in report.results] == [f"q{i}" for i in range(5)]
    assert all(r.ok and r.response.startswith("Answer ") for r in report.results)
    first = report.results[0]
    assert first.cost_usd == pytest.approx((first.prompt_tokens * 1.0 + first.completion_tokens * 2.0) / 1e6)
    assert report.calls_made == 5 and report.cache_hits == 0
    assert loopback.count() == 5

    again = _replay(tmp_path, _requests(tier, 5), tier)
    assert loopback.count() == 5, "a rerun must not call the provider for cached answers"
    assert again.cache_hits == 5 and all(r.cached for r in again.results)
    assert [r.response for r in again.results] == [r.response for r in report.results]


def test_litellm_is_told_the_prices_of_models_its_cost_map_lacks_and_the_provider_sees_none(loopback, tmp_path):
    """A tier whose model litellm's cost map does not price hands litellm its per-token prices (custom pricing, so
    litellm skips its cost-map search); a model the map prices gets none. The provider's request holds only the
    tier's params either way."""
    litellm = import_litellm()
    small, large = _tier(loopback, "plain", "small", temperature=0), _tier(loopback, "plain", "large", max_tokens=9)
    large = dataclasses.replace(large, price_in_per_mtok=2.5, price_out_per_mtok=10.0)
    known = _tier(loopback, "gpt-4o-mini", "known", max_tokens=7)  # the loopback server answers any model id
    passed: list[dict] = []

    async def completion(**kwargs):
        passed.append(kwargs)
        return await litellm.acompletion(**kwargs)

    settings = _settings(tmp_path)
    with ResponseCache(settings.cache) as cache:
        report = replay_calls(
            _requests(small, 1) + _requests(large, 1, "l") + _requests(known, 1, "k"),
            _prices(small, large, known),
            settings,
            cache,
            completion_fn=completion,
        )
    assert report.errors == 0 and len(passed) == 3
    prices = {k.get("max_tokens"): (k.get("input_cost_per_token"), k.get("output_cost_per_token")) for k in passed}
    assert prices == {None: pytest.approx((1.0e-6, 2.0e-6)), 9: pytest.approx((2.5e-6, 10.0e-6)), 7: (None, None)}
    bodies = sorted((sorted(r.body), r.body.get("temperature"), r.body.get("max_tokens")) for r in loopback.requests)
    assert bodies == [
        (["max_tokens", "messages", "model"], None, 7),
        (["max_tokens", "messages", "model"], None, 9),
        (["messages", "model", "temperature"], 0, None),
    ]


def test_a_cached_answer_is_priced_at_todays_prices(loopback, tmp_path):
    tier = _tier(loopback, "plain")
    bought = _replay(tmp_path, _requests(tier, 3), tier).results
    raised = dataclasses.replace(tier, price_in_per_mtok=1.5, price_out_per_mtok=3.0)  # the provider raised prices
    again = _replay(tmp_path, _requests(raised, 3), raised)
    assert loopback.count() == 3 and again.cache_hits == 3 and again.spent_usd == 0
    for old, new in zip(bought, again.results, strict=True):
        assert new.cost_usd == pytest.approx(1.5 * old.cost_usd)
        assert new.cost_usd == pytest.approx((new.prompt_tokens * 1.5 + new.completion_tokens * 3.0) / 1e6)


class _RecordedSleeps:
    """asyncio as the replay module sees it, with every ``sleep`` it asks for recorded (and then slept)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result=None):
        self.delays.append(delay)
        return await asyncio.sleep(delay, result)


def test_retries_recover_from_429_and_honour_retry_after(loopback, tmp_path, monkeypatch):
    import routeeval.replay

    sleeps = _RecordedSleeps()
    monkeypatch.setattr(routeeval.replay, "asyncio", sleeps)
    tier = _tier(loopback, "fail429-2")
    report = _replay(tmp_path, _requests(tier, 2), tier)
    assert all(r.ok for r in report.results)
    assert [r.attempts for r in report.results] == [3, 3]
    assert loopback.count(status=429) == 4 and loopback.count(status=200) == 2
    # Each 429 said Retry-After: 0.2 (the fixture's server), and each retry waited exactly that, not the
    # exponential backoff (at most 0.01 s, then 0.02 s, here).
    assert sleeps.delays == [0.2] * 4


def test_retries_recover_from_500(loopback, tmp_path):
    tier = _tier(loopback, "fail500-2")
    report = _replay(tmp_path, _requests(tier, 3), tier)
    assert all(r.ok for r in report.results)
    assert loopback.count(status=500) == 6 and loopback.count(status=200) == 3
    assert report.retries == 6


def test_timeouts_are_retried(loopback, tmp_path):
    tier = _tier(loopback, "slowfirst-1-3000")
    report = _replay(tmp_path, _requests(tier, 2), tier, timeout_s=0.5)
    assert all(r.ok for r in report.results), [r.error for r in report.results]
    assert [r.attempts for r in report.results] == [2, 2]


def test_final_failure_is_an_error_not_a_wrong_answer_and_the_run_goes_on(loopback, tmp_path):
    down, fine = _tier(loopback, "down"), _tier(loopback, "plain")
    requests = _requests(down, 2, "d") + _requests(fine, 2, "f")
    report = _replay(tmp_path, requests, down, fine, retries=2)
    failed = [r for r in report.results if r.tier == "down"]
    assert all(r.response is None and r.cost_usd is None for r in failed)
    assert all("ServiceUnavailableError" in r.error and "after 3 attempts" in r.error for r in failed)
    assert all(r.ok for r in report.results if r.tier == "plain")
    assert loopback.count(model="down") == 6
    # Errors are not cached: a rerun tries the failed calls again, and only those.
    loopback.reset()
    _replay(tmp_path, requests, down, fine, retries=0)
    assert loopback.count(model="down") == 2 and loopback.count(model="plain") == 0


def test_client_errors_are_not_retried(tmp_path):
    from routeeval.testing.loopback import LoopbackServer

    with LoopbackServer(require_api_key="sk-right") as server:
        tier = _tier(server, "plain")
        report = _replay(tmp_path, _requests(tier, 1), tier)
        assert server.count(status=401) == 1
        assert report.results[0].error.startswith("AuthenticationError")


def test_max_cost_is_never_exceeded(loopback, tmp_path):
    tier = _tier(loopback, "slow-20", max_tokens=50)
    requests = _requests(tier, 60)
    # Each call costs about 4 prompt tokens at $1/M + 4 completion tokens at $2/M = $0.000012;
    # the estimate for a call in flight uses max_tokens, which bounds the real completion.
    budget = 0.0004
    report = _replay(tmp_path, requests, tier, max_cost_usd=budget, concurrency=8)
    assert report.spent_usd <= budget
    assert report.skipped_budget > 0 and report.stopped_by_budget
    made = [r for r in report.results if r.ok]
    assert len(made) == loopback.count(status=200) < 60
    assert sum(r.cost_usd for r in made) == pytest.approx(report.spent_usd)
    assert all(r.error == BUDGET_SKIP for r in report.results if not r.ok)
    # It does not give up early: a call is refused only when its estimate cannot fit with nothing in flight
    # (the first refusal used to stop every later call, at a few percent of the budget).
    estimate = (4 * 1.0 + 50 * 2.0) / 1e6
    assert report.spent_usd > budget - estimate


def test_one_ledger_is_one_ceiling_over_every_phase(loopback, tmp_path):
    from routeeval.replay import SpendLedger

    tier = _tier(loopback, "plain", max_tokens=50)
    settings = _settings(tmp_path, max_cost_usd=1.0)  # the phase's own setting is not the ceiling: the ledger is
    ledger = SpendLedger(budget_usd=0.0005)
    with ResponseCache(settings.cache) as cache:
        first = replay_calls(_requests(tier, 30, "a"), _prices(tier), settings, cache, ledger=ledger, phase="replay")
        judge = [CallRequest(f"b{i}", tier, [{"role": "user", "content": f"grade answer {i}"}]) for i in range(30)]
        second = replay_calls(judge, _prices(tier), settings, cache, ledger=ledger, phase="judge")
    assert first.spent_usd > 0 and second.skipped_budget > 0
    assert ledger.spent_usd == pytest.approx(first.spent_usd + second.spent_usd) and ledger.spent_usd <= 0.0005
    assert ledger.to_dict()["by_phase"] == {"replay": first.spent_usd, "judge": second.spent_usd}
    assert ledger.to_dict()["skipped_by_budget"]["judge"] == second.skipped_budget


def test_identical_requests_are_made_once(loopback, tmp_path):
    tier = _tier(loopback, "plain")
    messages = [{"role": "user", "content": "hi"}]
    requests = [CallRequest(f"r{i}", tier, messages) for i in range(4)]
    report = _replay(tmp_path, requests, tier)
    assert loopback.count() == 1
    assert [r.row_id for r in report.results] == ["r0", "r1", "r2", "r3"]
    assert len({r.response for r in report.results}) == 1


def test_logprobs_are_kept_when_the_provider_returns_them(loopback, tmp_path):
    tier = _tier(loopback, "plain", logprobs=True)
    report = _replay(tmp_path, _requests(tier, 1), tier)
    result = report.results[0]
    assert result.logprobs and all(-2.0 <= v <= 0.0 for v in result.logprobs)
    assert result.logprob_mean == pytest.approx(sum(result.logprobs) / len(result.logprobs))
    with ResponseCache(tmp_path / "cache.sqlite") as cache:
        assert cache.stats()["entries"] == 1


class _Headers(dict):
    pass


class _FakeResponse:
    def __init__(self, headers):
        self.headers = headers


class _FakeRateLimit(Exception):
    status_code = 429

    def __init__(self, headers):
        super().__init__("rate limited")
        self.response = _FakeResponse(headers)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "150", "retry-after": "9"}, 0.15),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers, expected):
    assert retry_after_s(_FakeRateLimit(_Headers(headers))) == expected


def _replay_in_process(base_url: str, cache: str, n: int, out) -> None:
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from routeeval.testing.loopback import LoopbackServer  # noqa: F401  (the child only needs the client side)

    tier = Tier(
        name="slow",
        model="openai/slow-150",
        api_base=base_url,
        api_key_env=TEST_KEY_ENV,
        price_in_per_mtok=1.0,
        price_out_per_mtok=2.0,
    )
    settings = ReplayConfig(concurrency=4, timeout_s=10.0, retries=1, cache=cache, backoff_base_s=0.01)
    with ResponseCache(cache) as handle:
        report = replay_calls(_requests(tier, n), _prices(tier), settings, handle)
    out.put((report.calls_made, report.cache_hits, report.spent_usd))


@pytest.mark.slow
def test_two_runs_sharing_a_cache_pay_for_each_call_once(loopback, tmp_path):
    import multiprocessing

    cache = str(tmp_path / "shared.sqlite")
    ResponseCache(cache).close()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    runs = [context.Process(target=_replay_in_process, args=(loopback.base_url, cache, 16, out)) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(120)
        assert run.exitcode == 0
    reports = [out.get(timeout=5) for _ in runs]
    # Each request was made once in all: the run that lost the claim waited for the other's answer.
    assert loopback.count(status=200) == 16
    assert sum(made for made, _hits, _spent in reports) == 16
    assert sum(hits for _made, hits, _spent in reports) == 16
