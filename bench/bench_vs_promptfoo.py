"""A cold `routeeval run` side by side with promptfoo's `eval` on the same calls, against one loopback server.

The project's loopback OpenAI-compatible server (routeeval/testing/loopback.py) runs in this process and answers
every call after 50 ms (``slow-50-...`` model names). Both tools get the same work: the demo eval set's rows
(``--rows``, default its 350; more rows repeat them with a copy number in the text) × three tiers, one user
message per call, temperature 0, answers checked for an exact match with the reference. Each repetition runs,
interleaved (the order alternates):

  * routeeval: ``routeeval run EVALSET --config bench.toml --router static --router cascade --router classifier
    --router knn --out DIR`` with a fresh cache (a new file every time). The llm router is left out: it makes one
    more triage call per row, and promptfoo would have no counterpart. The terminal line and summary.json give the
    replay's own time and, apart, the time the litellm import took (``replay.import_s``).
  * promptfoo: ``promptfoo eval -c promptfooconfig.yaml --no-cache --max-concurrency N`` with a fresh config
    folder (its results database) every time, the same three providers pointed at the server; once at each N of
    ``--promptfoo-concurrency`` (default 4 and 16).

Concurrency: routeeval runs at its default, 16 (``[replay] concurrency``). promptfoo runs at its own default, 4
(``options.maxConcurrency || 4`` in its evaluator, 0.121.20): each tool as a user gets it, the comparison issue 16
states its target in; and at 16, routeeval's, so that neither waits on the server more than the other (the
like-for-like figure for the tools' own work). Both ratios are printed, each with the target. Both tools make their
own retries off (they are not needed: the server does not fail). The server counts requests: each tool must make
exactly rows × 3 calls.

``--base DIR`` adds another checkout with its own ``.venv`` (e.g. main, before a change): its ``routeeval run`` is
timed the same way in every repetition, interleaved with the others, and the table gives this checkout / base.

promptfoo comes from the npm registry: this script runs ``npm install promptfoo`` in a scratch folder
(``--promptfoo-dir``, default under the system's temp folder, reused between runs). Without npm, or when the
install fails, it prints why and times routeeval alone.

Usage: python bench/bench_vs_promptfoo.py [--rows 350] [--repeat 5] [--promptfoo-concurrency 4 16] [--base DIR]
       [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import record

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVALSET = ROOT / "evalsets" / "support.jsonl"
KEY = "sk-bench-promptfoo"
DELAY_MS = 50
CONCURRENCY = 16  # routeeval's default ([replay] concurrency)
PROMPTFOO_DEFAULT_CONCURRENCY = 4  # promptfoo eval's: `options.maxConcurrency || 4` in its evaluator (0.121.20)
TIERS = (  # name, model (the loopback server waits DELAY_MS, then answers), price in/out per Mtok, skill
    ("small", f"slow-{DELAY_MS}-small", 0.15, 0.6, 0.5),
    ("medium", f"slow-{DELAY_MS}-medium", 1.0, 5.0, 0.62),
    ("large", f"slow-{DELAY_MS}-large", 2.5, 10.0, 0.8),
)
ROUTERS = ("static", "cascade", "classifier", "knn")


def eval_rows(n: int) -> list[dict]:
    """The demo eval set's rows, repeated (with a copy number in input and id) up to ``n``."""
    base = [json.loads(line) for line in EVALSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for i in range(n):
        row = dict(base[i % len(base)])
        copy = i // len(base)
        if copy:
            row["id"] = f"{row['id']}-c{copy}"
            if isinstance(row["input"], str):
                row["input"] = f"{row['input']} (copy {copy})"
            else:
                *earlier, last = row["input"]
                row["input"] = [*earlier, {**last, "content": f"{last['content']} (copy {copy})"}]
        rows.append(row)
    return rows


def messages(row: dict) -> list[dict]:
    """The messages a row's input becomes (a text is one user message, as routeeval sends it)."""
    if isinstance(row["input"], str):
        return [{"role": "user", "content": row["input"]}]
    return [{"role": m["role"], "content": m["content"]} for m in row["input"]]


def _conversation(messages: list[dict]) -> str:
    return json.dumps([[m.get("role"), m.get("content")] for m in messages], ensure_ascii=False)


def answer_table(rows: list[dict]):
    """The server's answers: the reference when the tier gets the row right (by hash against its skill), else
    a wrong one. Both tools see the same answers, so they score the same."""
    references = {_conversation(messages(row)): row["reference"] for row in rows}
    skills = {model: skill for _name, model, _pin, _pout, skill in TIERS}

    def answer(model: str, sent: list[dict]) -> str | None:
        text = _conversation(sent)
        model = model.rsplit("/", 1)[-1]
        if text not in references or model not in skills:
            return None
        share = int(hashlib.sha1(f"{model}\x1f{text}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return references[text] if share < skills[model] else "I am not sure."

    return answer


def routeeval_config(base_url: str, cache: Path) -> str:
    tiers = "".join(
        f'[[tier]]\nname = "{name}"\nmodel = "openai/{model}"\napi_base = "{base_url}"\n'
        f'api_key_env = "ROUTEEVAL_BENCH_KEY"\nprice_in_per_mtok = {pin}\nprice_out_per_mtok = {pout}\n'
        "params = { temperature = 0 }\n\n"
        for name, model, pin, pout, _skill in TIERS
    )
    return (
        f"{tiers}[replay]\nconcurrency = {CONCURRENCY}\nretries = 0\nmax_cost_usd = 100.0\n"
        f'cache = "{cache}"\n\n[scoring]\nscorer = "exact"\n\n[optimize]\nmax_drop = 0.05\n'
    )


def promptfoo_config(base_url: str, rows: list[dict]) -> str:
    """promptfoo's config as JSON (which YAML reads as is): one prompt (the row's messages as a JSON chat, which
    promptfoo sends as they are), three providers, an equals test per row."""
    providers = [
        {
            "id": f"openai:chat:{model}",
            "label": name,
            "config": {"apiBaseUrl": base_url, "apiKey": KEY, "temperature": 0, "maxRetries": 0},
        }
        for name, model, _pin, _pout, _skill in TIERS
    ]
    tests = [
        {
            "description": row["id"],
            "vars": {"messages": messages(row), "expected": row["reference"]},
            "assert": [{"type": "equals", "value": "{{expected}}"}],
        }
        for row in rows
    ]
    prompts = ["{{ messages | dump }}"]
    config = {"description": "routeeval bench", "prompts": prompts, "providers": providers, "tests": tests}
    return json.dumps(config, indent=1, ensure_ascii=False)


def install_promptfoo(folder: Path) -> Path | None:
    """``npm install promptfoo`` in ``folder`` (kept between runs); its executable, or None with a message why."""
    executable = folder / "node_modules" / ".bin" / "promptfoo"
    if executable.exists():
        return executable
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not available: skipping promptfoo, timing routeeval alone.", flush=True)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "package.json").exists():
        (folder / "package.json").write_text('{"name": "routeeval-bench-promptfoo", "private": true}\n')
    print(f"+ npm install promptfoo (in {folder})", flush=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "promptfoo"], cwd=folder, capture_output=True, text=True
    )
    if done.returncode != 0 or not executable.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        print(f"npm install promptfoo failed (exit {done.returncode}): {' / '.join(tail)}; timing routeeval alone.")
        return None
    return executable


def time_routeeval(server, evalset: Path, scratch: Path, rep: int, python: str | None = None, tag: str = "") -> dict:
    """One cold ``routeeval run`` with ``python`` (default: this interpreter; another checkout's venv for --base)."""
    work = scratch / f"routeeval{tag}-{rep}"
    work.mkdir()
    config = work / "bench.toml"
    config.write_text(routeeval_config(server.base_url, work / "cache.sqlite"), encoding="utf-8")
    routers = [arg for router in ROUTERS for arg in ("--router", router)]
    command = [python or sys.executable, "-m", "routeeval.cli", "run", str(evalset), "--config", str(config)]
    command += [*routers, "--out", str(work / "out")]
    env = {**os.environ, "ROUTEEVAL_BENCH_KEY": KEY}
    before, cpu = server.count(), _children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = _children_cpu_s() - cpu
    if done.returncode not in (0, 1):  # 1: no policy met the target; the run itself completed
        raise SystemExit(f"routeeval run exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    replay = json.loads((work / "out" / "summary.json").read_text(encoding="utf-8"))["replay"]
    return {
        "wall": wall,
        "cpu": cpu,
        "calls": server.count() - before,
        "replay_s": replay["wall_s"],
        "import_s": replay.get("import_s"),
        "exit": done.returncode,
    }


def time_promptfoo(server, promptfoo: Path, config_text: str, scratch: Path, rep: str, concurrency: int) -> dict:
    work = scratch / f"promptfoo-{rep}"
    work.mkdir()
    (work / "promptfooconfig.yaml").write_text(config_text, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    env.update(
        PROMPTFOO_DISABLE_TELEMETRY="1",
        PROMPTFOO_DISABLE_UPDATE="1",
        PROMPTFOO_CACHE_ENABLED="false",
        PROMPTFOO_CONFIG_DIR=str(work / ".promptfoo"),
        PROMPTFOO_REQUEST_BACKOFF_MS="10",
    )
    command = [str(promptfoo), "eval", "-c", "promptfooconfig.yaml", "--no-cache"]
    command += ["--max-concurrency", str(concurrency), "--no-progress-bar"]
    before, cpu = server.count(), _children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = _children_cpu_s() - cpu
    if done.returncode not in (0, 100):  # 100: some tests failed, as they should
        raise SystemExit(f"promptfoo eval exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return {"wall": wall, "cpu": cpu, "calls": server.count() - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=350)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--promptfoo-dir", type=Path, default=Path(tempfile.gettempdir()) / "routeeval-bench-promptfoo")
    parser.add_argument("--no-promptfoo", action="store_true", help="time routeeval alone")
    parser.add_argument(
        "--promptfoo-concurrency",
        type=int,
        nargs="+",
        default=[PROMPTFOO_DEFAULT_CONCURRENCY, CONCURRENCY],
        help="promptfoo's --max-concurrency, one run per value each repetition (its default: 4)",
    )
    parser.add_argument("--base", type=Path, help="another checkout with its own .venv to time too (e.g. main)")
    parser.add_argument("--quick", action="store_true", help="a smoke-sized run (40 rows, once), not recorded")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = min(args.rows, 40), 1
    base_python = None
    if args.base is not None:
        base_python = args.base.resolve() / ".venv" / "bin" / "python"
        if not base_python.exists():
            raise SystemExit(f"--base {args.base}: no {base_python} (run `make .venv/.installed` there first)")

    from routeeval.testing.loopback import LoopbackServer

    promptfoo = None if args.no_promptfoo else install_promptfoo(args.promptfoo_dir)
    rows = eval_rows(args.rows)
    calls = len(rows) * len(TIERS)
    levels = list(dict.fromkeys(args.promptfoo_concurrency))
    ours: list[dict] = []
    base: list[dict] = []
    theirs: dict[int, list[dict]] = {level: [] for level in levels}
    with LoopbackServer(answers=answer_table(rows)) as server, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        evalset = scratch / "evalset.jsonl"
        evalset.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        pf_config = promptfoo_config(server.base_url, rows)
        for rep in range(args.repeat):
            tools = ["routeeval", *(["base"] if base_python else []), *(level for level in levels if promptfoo)]
            for tool in tools if rep % 2 == 0 else tools[::-1]:
                if tool == "routeeval":
                    ours.append(time_routeeval(server, evalset, scratch, rep))
                    print(f"rep {rep + 1}: routeeval {ours[-1]}", flush=True)
                elif tool == "base":
                    base.append(time_routeeval(server, evalset, scratch, rep, str(base_python), "-base"))
                    print(f"rep {rep + 1}: base routeeval {base[-1]}", flush=True)
                else:
                    run = time_promptfoo(server, promptfoo, pf_config, scratch, f"{rep}-{tool}", tool)
                    theirs[tool].append(run)
                    print(f"rep {rep + 1}: promptfoo at {tool} {run}", flush=True)

    def median(runs: list[dict], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    wrong_calls = [run["calls"] for run in ours + base + sum(theirs.values(), []) if run["calls"] != calls]
    if wrong_calls:
        raise SystemExit(f"expected {calls} calls per run, the server counted {wrong_calls}")
    table = [
        (
            f"routeeval run, cold, {len(rows)} rows × 3 tiers, concurrency {CONCURRENCY}: wall s, median (runs)",
            _runs(ours, "wall"),
        ),
        ("  its CPU s (user + system), median (runs)", _runs(ours, "cpu")),
        ("  of which the replay (summary.json replay.wall_s), s", _runs(ours, "replay_s")),
        ("  and the litellm import (replay.import_s), s", _runs(ours, "import_s")),
    ]
    if base:
        table += [
            (f"base routeeval run ({args.base}), cold: wall s, median (runs)", _runs(base, "wall")),
            ("  its CPU s (user + system), median (runs)", _runs(base, "cpu")),
            ("  of which the replay (summary.json replay.wall_s), s", _runs(base, "replay_s")),
            ("  and the litellm import (replay.import_s), s", _runs(base, "import_s")),
            (
                "this / base, ratio of medians: wall, CPU, replay",
                f"{median(ours, 'wall') / median(base, 'wall'):.2f}, {median(ours, 'cpu') / median(base, 'cpu'):.2f}, "
                f"{median(ours, 'replay_s') / median(base, 'replay_s'):.2f}",
            ),
        ]
    for level, runs in theirs.items():
        if not runs:
            continue
        which = (
            "its default"
            if level == PROMPTFOO_DEFAULT_CONCURRENCY
            else "routeeval's"
            if level == CONCURRENCY
            else "given"
        )
        ratios = sorted(a["wall"] / b["wall"] for a, b in zip(ours, runs, strict=False))
        table += [
            (
                f"promptfoo eval, {len(rows)} rows × 3 providers, concurrency {level} ({which}): wall s, median (runs)",
                _runs(runs, "wall"),
            ),
            ("  its CPU s (user + system), median (runs)", _runs(runs, "cpu")),
            (
                f"routeeval / promptfoo at {level}, ratio of medians (per repetition: min–max)",
                f"{median(ours, 'wall') / median(runs, 'wall'):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f}) (target ≤ 0.50)",
            ),
            (
                f"routeeval / promptfoo at {level}, CPU s, ratio of medians",
                f"{median(ours, 'cpu') / median(runs, 'cpu'):.2f}",
            ),
        ]
    table.append(("calls per run counted by the server (each tool)", f"{calls:,} (expected rows × 3 = {calls:,})"))
    notes = [
        f"Loopback server answering after {DELAY_MS} ms; concurrency {CONCURRENCY} for routeeval (its default), "
        f"{' and '.join(map(str, levels))} for promptfoo (its default is {PROMPTFOO_DEFAULT_CONCURRENCY}); "
        f"{args.repeat} repetitions, interleaved (order alternating); routeeval with a fresh cache each run, routers "
        f"{', '.join(ROUTERS)} (the llm router's triage calls left out); promptfoo with --no-cache and a fresh "
        "config folder each run."
    ]
    if promptfoo is None:
        notes.append("promptfoo was not run (see the message above).")
    record(
        f"cold run vs promptfoo, {len(rows)} × 3",
        "python bench/bench_vs_promptfoo.py " + " ".join(sys.argv[1:]),
        table,
        save=not args.quick,
        notes=notes,
    )


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (the tool just run, node's threads too)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _runs(runs: list[dict], key: str) -> str:
    values = [run[key] for run in runs if run.get(key) is not None]
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f} ({', '.join(f'{v:.2f}' for v in values)})"


if __name__ == "__main__":
    main()
