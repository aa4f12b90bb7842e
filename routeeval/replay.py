"""Replay queries against model tiers through litellm: async, cached, resumable, priced.

litellm's own retries are off; ours are exponential backoff with full jitter, honouring
``Retry-After`` on 429 and retrying 5xx, connection errors and timeouts. A semaphore bounds
concurrency. Every completed call is committed to the cache before it is counted, so a killed
run loses only the calls in flight. A call that finally fails becomes a result with an ``error``
and no response — never a wrong answer — and the run goes on.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from routeeval.cache import CachedResponse, ResponseCache, cache_key
from routeeval.config import ReplayConfig, Tier
from routeeval.errors import ConfigError
from routeeval.pricing import TierPrice, import_litellm, lookup_cost_map
from routeeval.sim import SIM_METADATA_KEY, SimRow, register_simulated_provider

CompletionFn = Callable[..., Awaitable[Any]]
BUDGET_SKIP = "not called: the --max-cost budget was reached"
STOP_AFTER = 3  # identical failures in a row (after their retries) that stop calling a tier
_CLAIM_POLL_S = 0.2  # how often a run waiting for another run's answer looks for it
_DEFAULT_COMPLETION_TOKENS = 256  # spend estimate for a call in flight when max_tokens is not set


@dataclass(frozen=True)
class CallRequest:
    """One model call to make (or find in the cache)."""

    row_id: str
    tier: Tier
    messages: list[dict]
    sim_row: SimRow | None = None

    @property
    def params(self) -> dict:
        return dict(self.tier.params)

    @property
    def key(self) -> str:
        params = self.params
        if self.tier.api_base:  # two endpoints serving one model id answer differently: never one cache entry
            params["api_base"] = self.tier.api_base
        if self.tier.simulated and self.sim_row is not None:
            # The simulator's answer depends on the row's answer key; keep it in the key.
            params[SIM_METADATA_KEY] = self.sim_row.as_dict()
        return cache_key(self.tier.model, self.messages, params)


@dataclass
class CallResult:
    row_id: str
    tier: str
    response: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float | None
    logprobs: list[float] | None = None
    error: str | None = None
    cached: bool = False
    attempts: int = 0
    error_kind: str | None = None  # auth, not found, connection, rate limit, timeout, server error, ... (ERROR_KINDS)
    usage_estimated: bool = False  # the provider gave no token counts: they (and the cost) are estimated

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def logprob_mean(self) -> float | None:
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else None


@dataclass
class ReplayReport:
    results: list[CallResult]
    calls_made: int = 0  # calls that reached a provider this run (including ones that failed)
    cache_hits: int = 0
    spent_usd: float = 0.0  # money actually spent this run (cache hits cost nothing)
    budget_usd: float | None = None
    skipped_budget: int = 0
    errors: int = 0
    wall_s: float = 0.0  # the replay's own time: lookups, calls, cache writes (not the litellm import)
    import_s: float = 0.0  # time this replay waited for litellm's first import (0 when it was imported already)
    retries: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)  # final failures by kind (ERROR_KINDS)
    errors_by_tier: dict[str, dict[str, int]] = field(default_factory=dict)  # tier -> kind -> failed calls
    stopped_tiers: dict[str, str] = field(default_factory=dict)  # tier -> why no more calls were made to it

    @property
    def stopped_by_budget(self) -> bool:
        return self.skipped_budget > 0


@dataclass
class SpendLedger:
    """One ceiling over every paid call of a run: the replay, the judge and the llm router's triage.

    ``spent_usd`` is what this run paid (cache hits cost nothing); ``reserved_usd`` holds the estimates of
    calls in flight. A call is made only when spent + reserved + its own estimate fits the budget, so the
    spend never passes the budget by more than what calls in flight overshoot their estimates.
    """

    budget_usd: float | None = None
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    in_flight: int = 0  # calls holding a reservation
    spent_by_phase: dict[str, float] = field(default_factory=dict)
    skipped_by_phase: dict[str, int] = field(default_factory=dict)

    def fits(self, estimate_usd: float) -> bool:
        return self.budget_usd is None or self.spent_usd + self.reserved_usd + estimate_usd <= self.budget_usd

    def record(self, phase: str, cost_usd: float) -> None:
        self.spent_usd += cost_usd
        self.spent_by_phase[phase] = self.spent_by_phase.get(phase, 0.0) + cost_usd

    def skipped(self, phase: str) -> None:
        self.skipped_by_phase[phase] = self.skipped_by_phase.get(phase, 0) + 1

    def to_dict(self) -> dict:
        """``summary.json``'s ``spend``: the total, its split by phase, and calls the budget stopped."""
        return {
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "by_phase": dict(self.spent_by_phase),
            "skipped_by_budget": dict(self.skipped_by_phase),
        }


class ReplayProgress(Protocol):
    def start(self, total: int, cache_hits: int) -> None: ...
    def advance(self, result: CallResult, spent_usd: float) -> None: ...
    def finish(self) -> None: ...


def replay_calls(
    requests: list[CallRequest],
    prices: dict[str, TierPrice],
    settings: ReplayConfig,
    cache: ResponseCache,
    *,
    progress: ReplayProgress | None = None,
    completion_fn: CompletionFn | None = None,
    ledger: SpendLedger | None = None,
    phase: str = "replay",
) -> ReplayReport:
    """Run every request (cache first) and return results in request order.

    ``ledger``: the run's one budget, shared by every phase that pays for calls (default: a new one holding
    ``settings.max_cost_usd``); ``phase`` names this phase in it ("replay", "judge", "triage").
    """
    api_keys = resolve_api_keys({r.tier.name: r.tier for r in requests}.values())
    ledger = ledger if ledger is not None else SpendLedger(budget_usd=settings.max_cost_usd)
    replayer = _Replayer(requests, prices, settings, cache, api_keys, progress, completion_fn, ledger, phase)
    return asyncio.run(replayer.run())


def resolve_api_keys(tiers, where: str | None = None) -> dict[str, str | None]:
    """API keys by tier name, read from the variables the config (the file ``where``) names, never from it."""
    keys: dict[str, str | None] = {}
    for tier in tiers:
        if tier.api_key_env:
            value = os.environ.get(tier.api_key_env)
            if not value:
                raise ConfigError(
                    f"tier '{tier.name}': environment variable {tier.api_key_env} is not set "
                    f"(named by api_key_env in {where or 'the config'})."
                )
            keys[tier.name] = value
        else:
            keys[tier.name] = None
    return keys


class _Replayer:
    def __init__(self, requests, prices, settings, cache, api_keys, progress, completion_fn, ledger, phase):
        self.requests = requests
        self.prices = prices
        self.settings = settings
        self.cache = cache
        self.api_keys = api_keys
        self.progress = progress
        self.completion_fn = completion_fn
        self.ledger = ledger
        self.phase = phase
        self.report = ReplayReport(results=[], budget_usd=ledger.budget_usd)
        self.room: asyncio.Condition | None = None  # made in the event loop; signalled when a call settles
        self.failing: dict[str, tuple[tuple[str, str], int]] = {}  # tier -> (last failure, how many in a row)
        self.completion_tokens_seen: dict[str, list[int]] = {}
        self.litellm_pricing: dict[str, dict[str, float]] = {}  # tier -> litellm's custom pricing arguments
        self.rng = random.Random()

    async def run(self) -> ReplayReport:
        started = time.perf_counter()
        keys = [r.key for r in self.requests]
        hits = self.cache.get_many(sorted(set(keys)))
        results: list[CallResult | None] = [None] * len(self.requests)
        pending: dict[str, list[int]] = {}  # identical requests are made once and shared
        for index, (request, key) in enumerate(zip(self.requests, keys, strict=True)):
            if key in hits:
                results[index] = self._from_cache(request, hits[key])
            else:
                pending.setdefault(key, []).append(index)
        self.report.cache_hits = sum(r is not None for r in results)
        if self.progress:
            self.progress.start(len(self.requests), self.report.cache_hits)
            for result in results:
                if result is not None:
                    self.progress.advance(result, 0.0)

        if pending:
            if self.completion_fn is None:
                importing = time.perf_counter()
                litellm = import_litellm()
                self.report.import_s = time.perf_counter() - importing
                if any(r.tier.simulated for r in self.requests):
                    register_simulated_provider(litellm)
                self.completion_fn = litellm.acompletion
            tiers = {request.tier.name: request.tier for request in (self.requests[i[0]] for i in pending.values())}
            self.litellm_pricing = {name: litellm_pricing(tier, self.prices[name]) for name, tier in tiers.items()}
            semaphore = asyncio.Semaphore(self.settings.concurrency)
            self.room = asyncio.Condition()

            async def one(key: str, indexes: list[int]) -> None:
                request = self.requests[indexes[0]]
                result = await self._call(request, key, semaphore)
                for position, index in enumerate(indexes):
                    shared = result if position == 0 else _shared_copy(result, self.requests[index])
                    results[index] = shared
                    if self.progress:
                        self.progress.advance(shared, self.ledger.spent_usd)

            await asyncio.gather(*(one(key, indexes) for key, indexes in pending.items()))

        self.report.results = [r for r in results if r is not None]
        self.report.errors = sum(1 for r in self.report.results if not r.ok)
        self.report.wall_s = time.perf_counter() - started - self.report.import_s
        if self.progress:
            self.progress.finish()
        return self.report

    def _from_cache(self, request: CallRequest, hit: CachedResponse) -> CallResult:
        # priced at today's prices: the cache keeps what the answer cost when it was bought, and a tier whose
        # price changed since must not report its old cost
        cost_usd = hit.cost_usd
        if hit.prompt_tokens is not None and hit.completion_tokens is not None:
            cost_usd = self.prices[request.tier.name].cost_usd(hit.prompt_tokens, hit.completion_tokens)
        return CallResult(
            row_id=request.row_id,
            tier=request.tier.name,
            response=hit.response,
            prompt_tokens=hit.prompt_tokens,
            completion_tokens=hit.completion_tokens,
            cost_usd=cost_usd,
            latency_ms=hit.latency_ms,
            logprobs=hit.logprobs,
            cached=True,
            usage_estimated=hit.usage_estimated,
        )

    def _estimate_usd(self, request: CallRequest) -> float:
        price = self.prices[request.tier.name]
        prompt_tokens = math.ceil(sum(len(str(m.get("content", ""))) for m in request.messages) / 4)
        completion_tokens = request.tier.params.get("max_tokens")
        if completion_tokens is None:
            seen = self.completion_tokens_seen.get(request.tier.name)
            completion_tokens = max(seen) if seen else _DEFAULT_COMPLETION_TOKENS
        return price.cost_usd(prompt_tokens, int(completion_tokens))

    def _room(self) -> asyncio.Condition:
        if self.room is None:  # made with the event loop, before the first call
            raise RuntimeError("the replay's budget condition is used before the run started")
        return self.room

    async def _reserve(self, estimate_usd: float) -> bool:
        """Hold ``estimate_usd`` of the budget for one call; wait while calls in flight may free room.

        False when the call cannot fit even with nothing in flight: it is not made. Later calls are still
        tried (a cheaper one may fit), so the run uses its budget rather than stopping at the first refusal.
        """
        async with self._room():
            while not self.ledger.fits(estimate_usd):
                if self.ledger.in_flight == 0:
                    return False
                await self._room().wait()
            self.ledger.reserved_usd += estimate_usd
            self.ledger.in_flight += 1
            return True

    async def _settle(self, estimate_usd: float, cost_usd: float) -> None:
        async with self._room():
            self.ledger.in_flight -= 1
            self.ledger.reserved_usd = self.ledger.reserved_usd - estimate_usd if self.ledger.in_flight else 0.0
            self.ledger.record(self.phase, cost_usd)
            self.report.spent_usd += cost_usd
            self._room().notify_all()

    async def _claim(self, key: str) -> CachedResponse | None:
        """Claim ``key`` so that no other run sharing the cache pays for it too; while another live run holds it,
        wait for its answer. Returns that answer (this run then makes no call), or None once the key is ours."""
        settings = self.settings
        lease_s = (settings.timeout_s + settings.backoff_max_s) * (settings.retries + 1) + 30.0
        while not self.cache.claim(key, lease_s):
            hit = self.cache.get(key)
            if hit is not None:
                return hit
            await asyncio.sleep(_CLAIM_POLL_S)
        hit = self.cache.get(key)  # answered between our miss and our claim
        if hit is not None:
            self.cache.release(key)
        return hit

    async def _call(self, request: CallRequest, key: str, semaphore: asyncio.Semaphore) -> CallResult:
        async with semaphore:
            stopped = self.report.stopped_tiers.get(request.tier.name)
            if stopped:
                return self._count_failure(_failed(request, f"not called: {stopped}", 0, "tier stopped"))
            answered = await self._claim(key)
            if answered is not None:  # another run sharing the cache paid for it
                self.report.cache_hits += 1
                return self._from_cache(request, answered)
            estimate = self._estimate_usd(request)
            if not await self._reserve(estimate):
                self.cache.release(key)
                self.report.skipped_budget += 1
                self.ledger.skipped(self.phase)
                return _failed(request, BUDGET_SKIP, 0, "budget")
            cost, committed = 0.0, False
            try:
                result = await self._call_with_retries(request)
                self._watch_tier(request.tier.name, result)
                if result.ok:  # committed to the cache (which releases the claim) before it is counted
                    self.cache.put(
                        key,
                        request.tier.model,
                        CachedResponse(
                            result.response or "",
                            result.prompt_tokens or 0,
                            result.completion_tokens or 0,
                            result.cost_usd or 0.0,
                            result.latency_ms or 0.0,
                            result.logprobs,
                            result.usage_estimated,
                        ),
                    )
                    cost, committed = result.cost_usd or 0.0, True
                    self.completion_tokens_seen.setdefault(request.tier.name, []).append(result.completion_tokens or 0)
            finally:
                await self._settle(estimate, cost)
                if not committed:
                    self.cache.release(key)  # the call failed or was stopped: another run may try it
            return result

    def _watch_tier(self, tier: str, result: CallResult) -> None:
        """Stop calling a tier after STOP_AFTER identical failures in a row: a wrong key, an unknown model or a
        refused connection fails every call the same way, and retrying each row only burns time and rate limit."""
        if result.ok:
            self.failing.pop(tier, None)
            return
        if result.error_kind in (None, "budget", "tier stopped"):
            return
        signature = (result.error_kind, re.sub(r"\d+", "#", (result.error or "").split(" (after ")[0]))
        last, count = self.failing.get(tier, (None, 0))
        count = count + 1 if last == signature else 1
        self.failing[tier] = (signature, count)
        if count >= STOP_AFTER and tier not in self.report.stopped_tiers:
            self.report.stopped_tiers[tier] = (
                f"tier '{tier}' stopped after {count} identical failures in a row ({result.error_kind}: {result.error})"
            )

    def _count_failure(self, result: CallResult) -> CallResult:
        kind = result.error_kind or "other"
        self.report.errors_by_kind[kind] = self.report.errors_by_kind.get(kind, 0) + 1
        per_tier = self.report.errors_by_tier.setdefault(result.tier, {})
        per_tier[kind] = per_tier.get(kind, 0) + 1
        return result

    async def _call_with_retries(self, request: CallRequest) -> CallResult:
        tier = request.tier
        kwargs: dict[str, Any] = dict(tier.params)
        kwargs.update(timeout=self.settings.timeout_s, num_retries=0, max_retries=0)
        kwargs.update(self.litellm_pricing.get(tier.name, {}))
        if tier.api_base:
            kwargs["api_base"] = tier.api_base
        api_key = self.api_keys.get(tier.name)
        if api_key:
            kwargs["api_key"] = api_key
        if tier.simulated:
            context = request.sim_row.as_dict() if request.sim_row else {}
            context["skill"] = tier.skill
            kwargs["metadata"] = {SIM_METADATA_KEY: context}

        attempts = self.settings.retries + 1
        last_error = "unknown error"
        for attempt in range(attempts):
            self.report.calls_made += 1
            if attempt:
                self.report.retries += 1
            started = time.perf_counter()
            try:
                response = await asyncio.wait_for(
                    self.completion_fn(model=tier.model, messages=request.messages, **kwargs),
                    timeout=self.settings.timeout_s,
                )
            except TimeoutError:
                retryable, wait_s, kind = True, None, "timeout"
                last_error = f"Timeout: no answer within {self.settings.timeout_s:g}s"
            except Exception as exc:  # classified below; anything unknown is not retried
                retryable, wait_s = _classify(exc)
                kind = error_kind(exc)
                last_error = _redact(f"{type(exc).__name__}: {_first_line(exc)}", api_key)
            else:
                latency_ms = (time.perf_counter() - started) * 1000
                try:
                    return self._result(request, response, latency_ms, attempt + 1)
                except BadResponse as exc:  # the provider answered 200 with no usable answer: not retried
                    retryable, wait_s, kind = False, None, "bad response"
                    last_error = f"BadResponse: {exc}"
            if not retryable or attempt == attempts - 1 or tier.name in self.report.stopped_tiers:
                break
            await asyncio.sleep(self._backoff_s(attempt, wait_s))
        suffix = f" (after {attempt + 1} attempts)" if attempt else ""
        return self._count_failure(_failed(request, last_error + suffix, attempt + 1, kind))

    def _backoff_s(self, attempt: int, retry_after_s: float | None) -> float:
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.settings.backoff_max_s)
        ceiling = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2**attempt)
        return self.rng.uniform(0, ceiling)

    def _result(self, request: CallRequest, response: Any, latency_ms: float, attempts: int) -> CallResult:
        """The answer in a 200 reply, checked: no choice or no text is a provider error (never a wrong answer);
        missing token counts are estimated from the text and flagged; negative or absurd ones are refused."""
        choices = getattr(response, "choices", None) or []
        if not choices:
            raise BadResponse("the reply has no choices")
        message = getattr(choices[0], "message", None)
        text = getattr(message, "content", None)
        if not isinstance(text, str):
            finish = getattr(choices[0], "finish_reason", None)
            raise BadResponse(f"the reply's message has no text content (finish_reason {finish!r})")
        usage = getattr(response, "usage", None)
        prompt_tokens = _token_count(getattr(usage, "prompt_tokens", None))
        completion_tokens = _token_count(getattr(usage, "completion_tokens", None))
        estimated = False
        if not prompt_tokens and not completion_tokens:  # litellm fills a missing usage with zeros
            prompt_tokens, completion_tokens = _estimated_tokens(request.messages), _estimated_tokens(text)
            estimated = True
        _check_usage(prompt_tokens, completion_tokens, request.tier.params.get("max_tokens"))
        hidden = getattr(response, "_hidden_params", None) or {}
        if "routeeval_latency_ms" in hidden:  # a simulated tier reports its modelled latency
            latency_ms = float(hidden["routeeval_latency_ms"])
        logprobs = response_logprobs(response)
        price = self.prices[request.tier.name]
        return CallResult(
            row_id=request.row_id,
            tier=request.tier.name,
            response=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=price.cost_usd(prompt_tokens, completion_tokens),
            latency_ms=round(latency_ms, 3),
            logprobs=logprobs,
            attempts=attempts,
            usage_estimated=estimated,
        )


def litellm_pricing(tier: Tier, price: TierPrice) -> dict[str, float]:
    """litellm's custom pricing arguments for a tier whose model litellm's cost map does not price, else none.

    routeeval prices every call itself (TierPrice) and never reads litellm's ``response_cost``; but litellm prices
    each answer too, and for a model id its map does not hold (a self-hosted or fine-tuned model, the loopback
    server's) it walks every fallback pattern of the map and then diagnoses the $0 cost, after every call. Handed
    the tier's per-token prices (its documented custom pricing), it skips that search. For a model the map prices
    they would only add work (litellm builds a per-call price entry), so such a tier gets none. Nothing of this is
    sent to the provider.
    """
    if lookup_cost_map(tier.model) not in (None, (0.0, 0.0)):
        return {}
    return {
        "input_cost_per_token": price.price_in_per_mtok / 1e6,
        "output_cost_per_token": price.price_out_per_mtok / 1e6,
    }


class BadResponse(Exception):
    """A 200 reply that is not an answer, or whose token counts cannot be true."""


ABSURD_TOKENS = 1_000_000  # a completion (or prompt) claimed larger than this is a provider error


def _token_count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadResponse(f"the reply's usage holds a token count that is not a number: {value!r}")
    return int(value)


def _estimated_tokens(content: Any) -> int:
    """About four characters a token: the price of a reply that gave no usage (flagged "usage estimated")."""
    if isinstance(content, list):  # chat messages
        content = " ".join(str(m.get("content", "")) for m in content if isinstance(m, dict))
    return math.ceil(len(str(content)) / 4)


def _check_usage(prompt_tokens: int, completion_tokens: int, max_tokens: Any) -> None:
    if prompt_tokens < 0 or completion_tokens < 0:
        raise BadResponse(
            f"the reply's usage is negative ({prompt_tokens} prompt, {completion_tokens} completion tokens)"
        )
    ceiling = ABSURD_TOKENS
    if isinstance(max_tokens, int) and max_tokens > 0:
        ceiling = min(ceiling, 2 * max_tokens + 64)  # a little slack for providers that count differently
    if completion_tokens > ceiling or prompt_tokens > 10 * ABSURD_TOKENS:
        raise BadResponse(
            f"the reply's usage claims {completion_tokens:,} completion and {prompt_tokens:,} prompt tokens"
            + (f" (max_tokens {max_tokens})" if isinstance(max_tokens, int) else "")
        )


def _failed(request: CallRequest, error: str, attempts: int, kind: str) -> CallResult:
    return CallResult(
        error_kind=kind,
        row_id=request.row_id,
        tier=request.tier.name,
        response=None,
        prompt_tokens=None,
        completion_tokens=None,
        cost_usd=None,
        latency_ms=None,
        error=error,
        attempts=attempts,
    )


def _shared_copy(result: CallResult, request: CallRequest) -> CallResult:
    copy = CallResult(**{**result.__dict__, "row_id": request.row_id, "tier": request.tier.name})
    copy.cached = result.ok  # answered by the identical request made for another row
    return copy


def response_logprobs(response: Any) -> list[float] | None:
    """The answer's token log-probabilities: the first choice's ``logprobs.content`` (OpenAI's shape), or the
    ones routeeval's simulated tiers report; None when there are none."""
    hidden = getattr(response, "_hidden_params", None) or {}
    if hidden.get("routeeval_logprobs"):
        return list(hidden["routeeval_logprobs"])
    choices = getattr(response, "choices", None) or []
    logprobs = getattr(choices[0], "logprobs", None) if choices else None
    content = logprobs.get("content") if isinstance(logprobs, dict) else getattr(logprobs, "content", None)
    values = []
    for token in content or ():
        value = token.get("logprob") if isinstance(token, dict) else getattr(token, "logprob", None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values.append(float(value))
    return values or None


_RETRYABLE_NAMES = {
    "RateLimitError",
    "Timeout",
    "APITimeoutError",
    "APIConnectionError",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
}


ERROR_KINDS = (
    "auth",
    "not found",
    "bad request",
    "bad response",
    "connection",
    "rate limit",
    "timeout",
    "server error",
    "other",
    "budget",
    "tier stopped",
)


def error_kind(exc: BaseException) -> str:
    """What kind of failure a provider exception is, in words people act on (one of ERROR_KINDS)."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    text = str(exc)
    if name in ("AuthenticationError", "PermissionDeniedError") or status in (401, 403):
        return "auth"
    if "Missing credentials" in text:  # litellm wraps a missing key as a 500
        return "auth"
    if name == "NotFoundError" or status == 404:
        return "not found"
    if status == 429 or name == "RateLimitError":
        return "rate limit"
    if name in ("Timeout", "APITimeoutError") or status == 408:
        return "timeout"
    if name == "APIConnectionError" or "Connection error" in text:
        return "connection"
    if name in _RETRYABLE_NAMES or (isinstance(status, int) and status >= 500):
        return "server error"
    if name in ("BadRequestError", "UnprocessableEntityError", "ContextWindowExceededError") or status in (400, 422):
        return "bad request"
    return "other"


def _classify(exc: BaseException) -> tuple[bool, float | None]:
    """(retryable, seconds the provider asked us to wait)."""
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if "Missing credentials" in str(exc) or name == "AuthenticationError":
        return False, None  # litellm wraps a missing key as a 500; retrying cannot help
    if status == 429 or name == "RateLimitError":
        return True, retry_after_s(exc)
    if name in _RETRYABLE_NAMES or (isinstance(status, int) and status >= 500):
        return True, None
    return False, None


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds from a ``retry-after-ms`` or ``Retry-After`` header on the error, if any."""
    for headers in _error_headers(exc):
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        if "retry-after-ms" in lowered:
            try:
                return float(lowered["retry-after-ms"]) / 1000
            except ValueError:
                pass
        value = lowered.get("retry-after")
        if value is None:
            continue
        try:
            return float(value)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    return None


def _error_headers(exc: BaseException):
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers:
        yield headers
    for name in ("litellm_response_headers", "headers"):
        headers = getattr(exc, name, None)
        if headers:
            yield headers


_LITELLM_PREFIX = re.compile(r"^(?:litellm\.)?(\w+): (?:\1: )?")  # "litellm.NotFoundError: NotFoundError: "


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return _LITELLM_PREFIX.sub("", text[0])[:300] if text else "no message"


def _redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text
