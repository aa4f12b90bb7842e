"""Fixed per-run costs (issue 16): a cached rerun of the demo (target 3 s wall), `routeeval route` against
`routeeval --help` (target 1.5x), and the exact scorer's normaliser per string.

Each checkout measured (this one, and with ``--base DIR`` another checkout with its own ``.venv``, e.g. main)
gets a scratch folder with the demo's config and eval sets; `make run`'s command runs there once to fill the
response cache, then the cached reruns are timed, the checkouts interleaved, as their console script
``.venv/bin/routeeval`` (so the entry point runs as users run it): wall time and the child's user+system CPU,
medians of the repeats. `route` and `--help` are interleaved the same way; route uses the policy the rerun wrote.

    python bench/bench_fixed.py [--base /work/main] [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import timeit
from pathlib import Path

from bench_common import record

ROOT = Path(__file__).resolve().parent.parent
RUN_ARGS = [
    "run",
    "evalsets/support.jsonl",
    "--logs",
    "evalsets/support-logs.jsonl",
    "--out",
    "reports/demo",
    "--monthly-queries",
    "1000000",
]
QUERY = "I was charged twice for my subscription this month, can you refund one of the payments?"


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall s, user+system CPU s) of one child run; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def prepare(checkout: Path, scratch: Path) -> Path:
    """A folder with the demo's config and eval sets, its response cache filled by one run."""
    folder = scratch / checkout.name
    folder.mkdir()
    shutil.copy(checkout / "routeeval.toml", folder / "routeeval.toml")
    shutil.copytree(checkout / "evalsets", folder / "evalsets")
    timed([str(checkout / ".venv" / "bin" / "routeeval"), *RUN_ARGS], folder)
    return folder


def chosen_policy(folder: Path) -> dict:
    """The policy.json a rerun wrote, without its time of writing and its checksum (which covers that time)."""
    import json

    policy = json.loads((folder / "reports" / "demo" / "policy.json").read_text(encoding="utf-8"))
    for key in ("created_at", "checksum"):
        policy.pop(key, None)
    policy.get("provenance", {}).pop("created_at", None)
    return policy


def median_pair(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def normalizer_us(quick: bool) -> tuple[float, float, int]:
    """µs per string of the char-by-char normaliser (as it was) and of today's, uncached, on the demo's answers."""
    import json
    import string
    import unicodedata

    from routeeval.scoring import normalize_text

    def char_by_char(s: str) -> str:
        text = unicodedata.normalize("NFKC", s).casefold()
        chars = []
        for char in text:
            if char == "/" or unicodedata.category(char) == "Pd":
                chars.append(" ")
            elif not (char in string.punctuation or unicodedata.category(char).startswith("P")):
                chars.append(char)
        return " ".join(word for word in "".join(chars).split() if word not in {"a", "an", "the"})

    texts = []
    for name in ("support.jsonl", "support-logs.jsonl"):
        for line in (ROOT / "evalsets" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [v for v in (row.get("reference"), row.get("response"), row.get("input")) if isinstance(v, str)]
    uncached = normalize_text.__wrapped__
    assert [uncached(t) for t in texts] == [char_by_char(t) for t in texts]
    number = 1 if quick else 5
    old = min(timeit.repeat(lambda: [char_by_char(t) for t in texts], number=number, repeat=3)) / number
    new = min(timeit.repeat(lambda: [uncached(t) for t in texts], number=number, repeat=3)) / number
    return old / len(texts) * 1e6, new / len(texts) * 1e6, len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="another checkout with its own .venv to compare (e.g. main)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="two repeats; nothing is recorded")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    checkouts = {"this": ROOT}
    if args.base is not None:
        checkouts = {"base": args.base.resolve(), **checkouts}
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory() as scratch:
        folders = {}
        for label, checkout in checkouts.items():
            (Path(scratch) / label).mkdir()
            folders[label] = prepare(checkout, Path(scratch) / label)
        reruns: dict[str, list] = {label: [] for label in checkouts}
        helps: dict[str, list] = {label: [] for label in checkouts}
        routes: dict[str, list] = {label: [] for label in checkouts}
        for _ in range(repeats):
            for label, checkout in checkouts.items():
                cli = str(checkout / ".venv" / "bin" / "routeeval")
                folder = folders[label]
                reruns[label].append(timed([cli, *RUN_ARGS], folder))
                helps[label].append(timed([cli, "--help"], folder))
                routes[label].append(timed([cli, "route", "reports/demo/policy.json", QUERY], folder))
                helps[label].append(timed([cli, "--help"], folder))
        policies = {label: chosen_policy(folders[label]) for label in checkouts}
        same_policy = all(policy == policies["this"] for policy in policies.values())
    load_after = os.getloadavg()

    rows = []
    for label, checkout in checkouts.items():
        name = f"{label} ({checkout})"
        wall, cpu = median_pair(reruns[label])
        help_wall, help_cpu = median_pair(helps[label])
        route_wall, route_cpu = median_pair(routes[label])
        rows += [
            (f"{name}: cached demo rerun (`make run` again), wall / CPU s (target wall 3)", f"{wall:.2f} / {cpu:.2f}"),
            (f"{name}: `routeeval --help`, wall / CPU s", f"{help_wall:.3f} / {help_cpu:.3f}"),
            (f"{name}: `routeeval route POLICY TEXT`, wall / CPU s", f"{route_wall:.3f} / {route_cpu:.3f}"),
            (
                f"{name}: route / --help, wall / CPU (target 1.5)",
                f"{route_wall / help_wall:.2f} / {route_cpu / help_cpu:.2f}",
            ),
        ]
    if "base" in checkouts:
        base_wall, base_cpu = median_pair(reruns["base"])
        wall, cpu = median_pair(reruns["this"])
        rows.append(("cached demo rerun, this / base, wall / CPU", f"{wall / base_wall:.2f} / {cpu / base_cpu:.2f}"))
    if "base" in checkouts:
        rows.append(("the same policy.json from both (its time of writing and checksum aside)", same_policy))
    old_us, new_us, n_texts = normalizer_us(args.quick)
    rows.append(
        (
            f"exact scorer's normalize_text, µs per string, char-by-char / translate table "
            f"(uncached; {n_texts} demo texts)",
            f"{old_us:.1f} / {new_us:.1f}",
        )
    )
    notes = [
        f"Medians of {repeats} repeats, checkouts interleaved (each: rerun, --help, route, --help); the response "
        "cache filled by one run first. Wall is the child's elapsed time, CPU its user+system time (on this shared "
        "2-core machine the CPU time is the steadier figure).",
        f"Load average before {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}, after "
        f"{load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}.",
    ]
    command = "python bench/bench_fixed.py" + (f" --base {args.base}" if args.base else "")
    command += f" --repeats {repeats}" if not args.quick and repeats != 7 else ""
    name = "fixed per-run costs: cached rerun, route vs --help, normaliser"
    record(name, command, rows, save=not args.quick, notes=notes)


if __name__ == "__main__":
    main()
