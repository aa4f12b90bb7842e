"""Replay throughput against the loopback server, and a fully cached rerun.

Prints, in one run on the same server:
  * raw litellm: ``litellm.acompletion`` under a semaphore, nothing of routeeval around it;
  * routeeval: ``replay_calls`` (cache writes, retries, budget, progress hooks) on fresh keys;
  * cached rerun: the same ``replay_calls`` again, answered wholly from the SQLite cache.

``--per-call`` measures instead the CPU one call costs this process (every thread of it: litellm runs part of each
call in its executor threads), with the loopback server in a child process so that its CPU is not counted. Three
tiers (``slow-50-small/medium/large``, as bench_vs_promptfoo.py names them: ids litellm's cost map does not hold)
and, apart, ``gpt-4o-mini`` (an id the map holds), each called through ``litellm.acompletion`` with the arguments
routeeval's replay passes, with and without the tier's per-token prices (``input_cost_per_token``,
``output_cost_per_token``: since issue 16 the replay passes them for a model litellm's cost map does not price, so
that litellm skips its cost-map search; for one it prices they only add work, and the replay passes none), and
through routeeval's ``replay_calls`` (fresh cache). Warm (after 50 calls of each model), with the garbage collector's
thresholds the ``routeeval`` console script sets; the variants interleaved, the order alternating per round; the
median over ``--rounds``.

Usage: python bench/bench_replay.py [--calls 2000] [--concurrency 16] [--cached-calls 100000] [--quick]
       python bench/bench_replay.py --per-call [--calls 1000] [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from bench_common import record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=None, help="calls per measure (default 2000; --per-call: 1000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cached-calls", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run (200 calls), not recorded")
    parser.add_argument("--per-call", action="store_true", help="CPU per call: litellm with and without prices")
    parser.add_argument("--rounds", type=int, default=3, help="--per-call: interleaved rounds (median reported)")
    args = parser.parse_args()
    if args.per_call:
        per_call(args)
        return
    args.calls = args.calls or 2000
    if args.quick:
        args.calls, args.cached_calls = min(args.calls, 200), min(args.cached_calls, 2000)
    os.environ.setdefault("ROUTEEVAL_BENCH_KEY", "sk-bench")

    from routeeval.cache import CachedResponse, ResponseCache
    from routeeval.config import ReplayConfig, Tier
    from routeeval.pricing import TierPrice, import_litellm
    from routeeval.replay import CallRequest, replay_calls
    from routeeval.testing.loopback import LoopbackServer

    litellm = import_litellm()
    with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
        tier = Tier(
            "t",
            "openai/plain",
            price_in_per_mtok=1.0,
            price_out_per_mtok=2.0,
            api_base=server.base_url,
            api_key_env="ROUTEEVAL_BENCH_KEY",
        )
        prices = {"t": TierPrice("t", tier.model, 1.0, 2.0, "config")}

        def requests(n: int, tag: str) -> list[CallRequest]:
            return [CallRequest(f"{tag}{i}", tier, [{"role": "user", "content": f"{tag} query {i}"}]) for i in range(n)]

        async def raw(n: int) -> None:
            semaphore = asyncio.Semaphore(args.concurrency)

            async def one(i: int) -> None:
                async with semaphore:
                    await litellm.acompletion(
                        model=tier.model,
                        api_base=server.base_url,
                        api_key="sk-bench",
                        messages=[{"role": "user", "content": f"raw query {i}"}],
                        num_retries=0,
                        max_retries=0,
                    )

            await asyncio.gather(*(one(i) for i in range(n)))

        asyncio.run(raw(50))  # warm up litellm's clients and lazy imports
        started = time.perf_counter()
        asyncio.run(raw(args.calls))
        raw_rate = args.calls / (time.perf_counter() - started)

        settings = ReplayConfig(concurrency=args.concurrency, cache=str(Path(tmp) / "c.sqlite"))
        with ResponseCache(settings.cache) as cache:
            replay_calls(requests(50, "warm"), prices, settings, cache)
            batch = requests(args.calls, "re")
            started = time.perf_counter()
            report = replay_calls(batch, prices, settings, cache)
            ours_rate = args.calls / (time.perf_counter() - started)
            assert report.errors == 0 and report.calls_made == args.calls

            # A fully cached rerun of --cached-calls requests: fill the cache directly, then replay.
            big = requests(args.cached_calls, "big")
            for request in big:
                cache.put(request.key, tier.model, CachedResponse("cached answer", 5, 3, 1.1e-5, 100.0))
            started = time.perf_counter()
            cached = replay_calls(big, prices, settings, cache)
            cached_s = time.perf_counter() - started
            assert cached.cache_hits == args.cached_calls and server.count() == 50 + args.calls + 50 + args.calls

    command = "python bench/bench_replay.py " + " ".join(sys.argv[1:])
    record(
        "replay",
        command,
        [
            ("raw litellm acompletion, calls/s", f"{raw_rate:.0f}"),
            ("routeeval replay_calls, calls/s", f"{ours_rate:.0f}"),
            ("routeeval / raw litellm", f"{ours_rate / raw_rate:.2f} (target ≥ 0.80)"),
            (f"fully cached rerun of {args.cached_calls:,} calls, s", f"{cached_s:.2f} (target ≤ 10)"),
        ],
        save=not args.quick,
    )


PER_CALL_TIERS = (  # name, model, price in/out per Mtok (bench_vs_promptfoo.py's tiers)
    ("small", "openai/slow-50-small", 0.15, 0.6),
    ("medium", "openai/slow-50-medium", 1.0, 5.0),
    ("large", "openai/slow-50-large", 2.5, 10.0),
)
KNOWN_TIER = ("mini", "openai/gpt-4o-mini", 0.15, 0.6)  # an id litellm's cost map holds (the server answers any)
SERVER_SCRIPT = (
    "import sys\n"
    "from routeeval.testing.loopback import LoopbackServer\n"
    "with LoopbackServer() as server:\n"
    "    print(server.base_url, flush=True)\n"
    "    sys.stdin.read()\n"
)


def per_call(args) -> None:
    """CPU milliseconds per call in this process: litellm with routeeval's arguments, with and without prices."""
    calls = args.calls or 1000
    calls, rounds = (min(calls, 200), 1) if args.quick else (calls, args.rounds)
    os.environ.setdefault("ROUTEEVAL_BENCH_KEY", "sk-bench")
    from routeeval.cache import ResponseCache
    from routeeval.cli import GC_THRESHOLDS
    from routeeval.config import ReplayConfig, Tier
    from routeeval.pricing import TierPrice, import_litellm
    from routeeval.replay import CallRequest, replay_calls

    gc.set_threshold(*GC_THRESHOLDS)  # as the routeeval console script runs
    litellm = import_litellm()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = server.stdout.readline().strip()
        if not base_url.startswith("http://"):
            raise SystemExit(f"the loopback server did not start (it printed {base_url!r})")

        def litellm_calls(tiers, priced: bool, tag: str, n: int) -> float:
            async def run() -> None:
                semaphore = asyncio.Semaphore(args.concurrency)

                async def one(i: int) -> None:
                    _name, model, price_in, price_out = tiers[i % len(tiers)]
                    kwargs = dict(temperature=0, timeout=60.0, num_retries=0, max_retries=0)
                    kwargs.update(api_base=base_url, api_key="sk-bench")
                    if priced:
                        kwargs.update(input_cost_per_token=price_in / 1e6, output_cost_per_token=price_out / 1e6)
                    messages = [{"role": "user", "content": f"{tag} query {i}"}]
                    async with semaphore:
                        response = await asyncio.wait_for(
                            litellm.acompletion(model=model, messages=messages, **kwargs), timeout=60.0
                        )
                    assert response.choices[0].message.content

                await asyncio.gather(*(one(i) for i in range(n)))

            started = time.process_time()
            asyncio.run(run())
            return (time.process_time() - started) / n * 1000

        def replay_cpu(tag: str, n: int) -> float:
            tiers = [
                Tier(
                    name,
                    model,
                    price_in_per_mtok=pin,
                    price_out_per_mtok=pout,
                    api_base=base_url,
                    api_key_env="ROUTEEVAL_BENCH_KEY",
                    params={"temperature": 0},
                )
                for name, model, pin, pout in PER_CALL_TIERS
            ]
            prices = {
                t.name: TierPrice(t.name, t.model, t.price_in_per_mtok, t.price_out_per_mtok, "config") for t in tiers
            }
            requests = [
                CallRequest(f"{tag}{i}", tiers[i % 3], [{"role": "user", "content": f"{tag} query {i}"}])
                for i in range(n)
            ]
            with tempfile.TemporaryDirectory() as tmp:
                settings = ReplayConfig(concurrency=args.concurrency, retries=0, cache=str(Path(tmp) / "c.sqlite"))
                with ResponseCache(settings.cache) as cache:
                    started = time.process_time()
                    report = replay_calls(requests, prices, settings, cache)
                    cpu_ms = (time.process_time() - started) / n * 1000
            assert report.errors == 0 and report.calls_made == n
            return cpu_ms

        slow, known = PER_CALL_TIERS, (KNOWN_TIER,)
        variants = {  # name -> fn(tag, n): CPU ms per call
            "litellm.acompletion, slow-50-* tiers, without prices": partial(litellm_calls, slow, False),
            "litellm.acompletion, slow-50-* tiers, with the tiers' prices": partial(litellm_calls, slow, True),
            "routeeval replay_calls, slow-50-* tiers (passes the prices)": replay_cpu,
            "litellm.acompletion, gpt-4o-mini, without prices": partial(litellm_calls, known, False),
            "litellm.acompletion, gpt-4o-mini, with its prices": partial(litellm_calls, known, True),
        }
        names = list(variants)
        for index, name in enumerate(names):  # warm up litellm's clients, lazy imports and caches for every model
            variants[name](f"warm{index}", 50)
        measured: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                measured[name].append(variants[name](f"r{round_}-{names.index(name)}", calls))
                print(f"round {round_ + 1}: {name}: {measured[name][-1]:.2f} ms CPU per call", flush=True)
    finally:
        server.communicate("", timeout=30)

    def cell(name: str) -> str:
        values = measured[name]
        return f"{statistics.median(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})"

    def ratio(after: str, before: str) -> str:
        return f"{statistics.median(measured[after]) / statistics.median(measured[before]):.2f}"

    rows = [(f"{name}: CPU ms per call, median (rounds)", cell(name)) for name in names]
    rows += [
        ("with / without prices, slow-50-* tiers", ratio(names[1], names[0])),
        ("with / without prices, gpt-4o-mini", ratio(names[4], names[3])),
    ]
    record(
        f"replay, CPU per call ({calls:,} calls, concurrency {args.concurrency})",
        "python bench/bench_replay.py " + " ".join(sys.argv[1:]),
        rows,
        save=not args.quick,
        notes=[
            "CPU of this process (all its threads) per call, warm, the loopback server in a child process, the "
            f"collector's thresholds as `routeeval` sets them; {rounds} interleaved rounds, the order alternating."
        ],
    )


if __name__ == "__main__":
    main()
