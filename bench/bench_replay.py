"""Replay throughput against the loopback server, and a fully cached rerun.

Prints, in one run on the same server:
  * raw litellm: ``litellm.acompletion`` under a semaphore, nothing of routeeval around it;
  * routeeval: ``replay_calls`` (cache writes, retries, budget, progress hooks) on fresh keys;
  * cached rerun: the same ``replay_calls`` again, answered wholly from the SQLite cache.

Usage: python bench/bench_replay.py [--calls 2000] [--concurrency 16] [--cached-calls 100000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_common import record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cached-calls", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run (200 calls), not recorded")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
