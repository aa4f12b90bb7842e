"""`routeeval drift` (issue 13): false alarms on stationary months, detection of the shifted one, and the free
layer's speed and memory on 1,000,000 log rows.

1. False alarms. The demo run (``make run``'s command, written to a scratch folder so a stale or concurrently
   rewritten reports/demo cannot leak in) gives a cascade policy whose ``reference`` profile comes from the October
   logs (evalsets/support-logs.jsonl, 400 rows). Each resample draws 400 rows with replacement (seeded; the same
   draws for every variant of a month) from a month's logs, gives every drawn row a fresh unique id (everything
   else kept) and runs ``routeeval.drift.run_drift`` in this process with the default ``--sample 200`` (the paid
   layer replays on the simulated tiers; the response cache makes repeats cheap). Months: October itself (the
   policy's own reference rows) and November (evalsets/drift/support-logs-2026-11.jsonl, a fresh month from the
   same generator), each against the policy's profile alone and with ``--reference`` (the run folder: the domain
   classifier check runs). Also, against October and November: a classifier policy (below), whose profile
   exercises the tier-share, routing-score and vocabulary checks that a cascade skips.
2. Detection. The shifted December month (evalsets/drift/support-logs-2026-12.jsonl) with its config
   (evalsets/drift/routeeval-2026-12.toml, the large tier's price raised), resampled the same way.
3. Scale. 1,000,000 generated log rows (a folder of 10 Parquet files of 100,000; generated in a child process,
   not timed, under a scratch folder in /tmp): the demo's October and November log inputs and its eval inputs,
   each row varied (numbers redrawn, typos, greetings, sign-offs with names, ticket numbers, case), so inputs are
   mostly distinct, with November timestamps, metadata (plan, channel), model, response, token counts, cost and
   latency as in the demo logs, and the intent where the source row has one. Two more policies from the demo's
   outcomes: ``routeeval optimize outcomes.parquet --router static|classifier --max-drop 0.05`` (at the default
   --max-drop 0.01 nothing qualifies with 350 rows: both then write a static all-'large' policy, exit 1, which
   routes nothing). Then ``routeeval drift POLICY FOLDER --sample 0 --config routeeval.toml --out DIR`` for each
   in a child under ``/usr/bin/time`` (wall, CPU and peak RSS of the drift process itself: a child forked from
   this bench would report this process's size as its own peak), and the same for 100,000 rows as one JSONL
   file and as one Parquet file (the same rows). A streaming breakdown in a child (the loop of
   ``read_fresh_logs``, each phase timed: reading raw batches, parsing rows, routing) says where the time goes;
   when a 1M run takes over 60 s, a cProfile of ``run_drift`` on 100,000 rows lists the top costs.

Numbers only, no assertions (STYLE.md). ``--quick``: 20 resamples and 100,000 rows, nothing recorded.

Usage: python bench/bench_drift.py [--resamples 100] [--rows 1000000] [--files 10] [--jsonl-rows 100000]
                                   [--keep DIR] [--no-record] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_common import RESULTS, record

ROOT = Path(__file__).resolve().parent.parent
EVALSET = ROOT / "evalsets" / "support.jsonl"
OCTOBER = ROOT / "evalsets" / "support-logs.jsonl"
NOVEMBER = ROOT / "evalsets" / "drift" / "support-logs-2026-11.jsonl"
DECEMBER = ROOT / "evalsets" / "drift" / "support-logs-2026-12.jsonl"
CONFIG = ROOT / "routeeval.toml"
DECEMBER_CONFIG = ROOT / "evalsets" / "drift" / "routeeval-2026-12.toml"
TIME = Path("/usr/bin/time")
MAX_DROP = "0.05"  # for the static and classifier policies: see the module docstring
TARGET_S, TARGET_MB = 60.0, 2048.0
CHECKS = (
    "tier_share",
    "routing_score",
    "intent_mix",
    "input_length",
    "vocabulary",
    "domain_classifier",
    "observed_tiers",
    "cost",
    "accuracy",
)

# -- generating 1,000,000 log rows ------------------------------------------------------------------
NAMES = [
    "jonas",
    "omar",
    "priya",
    "li",
    "wei",
    "sofia",
    "mateo",
    "aisha",
    "lucas",
    "emma",
    "noah",
    "olivia",
    "liam",
    "ava",
    "ethan",
    "mia",
    "hana",
    "kenji",
    "yuki",
    "lars",
    "ingrid",
    "pierre",
    "camille",
    "diego",
    "lucia",
    "marco",
    "giulia",
    "ahmed",
    "fatima",
    "ivan",
    "olga",
    "tom",
    "sarah",
    "raj",
    "ananya",
    "chen",
    "mei",
    "kofi",
    "amara",
    "jan",
    "eva",
    "piotr",
    "zofia",
    "nina",
    "felix",
    "oscar",
    "clara",
    "hugo",
    "lea",
    "sam",
    "alex",
    "jo",
    "kim",
    "max",
    "ben",
]
PREFIXES = (
    "hi, ",
    "hello team, ",
    "hey - ",
    "quick question: ",
    "urgent: ",
    "good morning, ",
    "sorry to bother you, ",
    "hi there! ",
    "question - ",
    "help: ",
    "following up: ",
    "dear support, ",
)
SUFFIXES = (
    " thanks",
    " pls help",
    " asap please",
    " ty",
    " thx!",
    " cheers, {name}",
    " - {name}",
    " (ticket #{n})",
    " ref {n}",
    " order {n}",
    " account id {n}",
    " thanks in advance, {name} from the {team} team",
    " this is blocking us",
    " any update?",
    " merci",
    " danke",
)
TEAMS = ["finance", "ops", "sales", "support", "marketing", "legal", "it", "engineering", "design", "hr"]
_DIGITS = re.compile(r"\d+")


def _vary(text: str, rng: random.Random) -> str:
    """The same question asked again, a little differently: numbers redrawn, maybe a typo, a greeting, a
    sign-off with a name or a ticket number, lower case."""
    text = _DIGITS.sub(lambda m: str(rng.randrange(10 ** len(m.group()))).zfill(len(m.group())), text)
    draw = rng.random()
    if draw < 0.5 and len(text) > 4:
        at = rng.randrange(1, len(text) - 2)
        kind = rng.randrange(3)
        if kind == 0:
            text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]  # swapped letters
        elif kind == 1:
            text = text[:at] + text[at + 1 :]  # a dropped letter
        else:
            text = text[:at] + text[at] + text[at:]  # a doubled letter
    if rng.random() < 0.35:
        text = rng.choice(PREFIXES) + text
    if rng.random() < 0.7:
        text += rng.choice(SUFFIXES).format(
            name=rng.choice(NAMES), n=rng.randrange(10_000, 999_999), team=rng.choice(TEAMS)
        )
    if rng.random() < 0.1:
        text = text.lower()
    return text


def _sources() -> list[dict]:
    """The demo's log rows (October, November) and eval rows, as generator templates."""
    sources = []
    for path in (OCTOBER, NOVEMBER):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            prompt = row.get("messages") if row.get("messages") is not None else row["input"]
            sources.append(
                {
                    "prompt": prompt,
                    "response": row.get("response"),
                    "prompt_tokens": row.get("prompt_tokens"),
                    "completion_tokens": row.get("completion_tokens"),
                    "latency_ms": row.get("latency_ms"),
                    "metadata": row.get("metadata"),
                    "intent": row.get("intent"),
                }
            )
    plans = [s["metadata"] for s in sources if s["metadata"]]
    for index, line in enumerate(EVALSET.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        chars = len(row["input"]) if isinstance(row["input"], str) else sum(len(m["content"]) for m in row["input"])
        sources.append(
            {
                "prompt": row["input"],
                "response": row.get("reference") if isinstance(row.get("reference"), str) else None,
                "prompt_tokens": 110 + chars // 4,
                "completion_tokens": 40 + index % 40,
                "latency_ms": 900 + 13 * (index % 97),
                "metadata": plans[index % len(plans)],
                "intent": row.get("intent"),
            }
        )
    return sources


def generate_logs(folder: Path, n_rows: int, n_files: int, jsonl: Path | None, jsonl_rows: int, seed: int) -> dict:
    """Write ``n_rows`` varied log rows as ``n_files`` Parquet files in ``folder`` (and the first ``jsonl_rows``
    of them as one JSONL file); returns counts, including how many inputs are distinct."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    sources = _sources()
    start = np.datetime64("2026-11-01T00:00:00")
    offsets = np.sort(np.random.default_rng(seed).integers(0, 30 * 86_400, n_rows))
    stamps = np.char.add(np.datetime_as_string(start + offsets.astype("timedelta64[s]"), unit="s"), "Z").tolist()
    message_type = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    metadata_type = pa.struct([("user_plan", pa.string()), ("channel", pa.string())])
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-n_rows // n_files)
    distinct: set[str] = set()
    jsonl_handle = jsonl.open("w", encoding="utf-8") if jsonl is not None else None
    written = 0
    try:
        for file_index in range(n_files):
            lo, hi = file_index * per_file, min(n_rows, (file_index + 1) * per_file)
            if lo >= hi:
                break
            columns: dict[str, list] = {
                k: []
                for k in (
                    "id",
                    "timestamp",
                    "input",
                    "messages",
                    "model",
                    "response",
                    "prompt_tokens",
                    "completion_tokens",
                    "cost_usd",
                    "latency_ms",
                    "metadata",
                    "intent",
                )
            }
            for row in range(lo, hi):
                source = sources[rng.randrange(len(sources))]
                prompt = source["prompt"]
                if isinstance(prompt, str):
                    text = _vary(prompt, rng)
                    columns["input"].append(text)
                    columns["messages"].append(None)
                    grew = len(text) - len(prompt)
                else:
                    turns = [dict(m) for m in prompt]
                    last = max(i for i, m in enumerate(turns) if m["role"] == "user")
                    text = _vary(turns[last]["content"], rng)
                    grew = len(text) - len(turns[last]["content"])
                    turns[last]["content"] = text
                    columns["input"].append(None)
                    columns["messages"].append(turns)
                distinct.add(text)
                prompt_tokens = max(1, int(source["prompt_tokens"] or 100) + grew // 4)
                completion_tokens = int(source["completion_tokens"] or 50)
                columns["id"].append(f"gen-{row:07d}")
                columns["timestamp"].append(stamps[row])
                columns["model"].append("openai/gpt-4o")
                columns["response"].append(source["response"])
                columns["prompt_tokens"].append(prompt_tokens)
                columns["completion_tokens"].append(completion_tokens)
                columns["cost_usd"].append((2.5 * prompt_tokens + 10.0 * completion_tokens) / 1e6)
                columns["latency_ms"].append(float(source["latency_ms"] or 1000) * rng.uniform(0.8, 1.25))
                columns["metadata"].append(source["metadata"])
                columns["intent"].append(source["intent"])
            table = pa.table(
                {
                    "id": pa.array(columns["id"], pa.string()),
                    "timestamp": pa.array(columns["timestamp"], pa.string()),
                    "input": pa.array(columns["input"], pa.string()),
                    "messages": pa.array(columns["messages"], message_type),
                    "model": pc.cast(pa.array(columns["model"], pa.string()), pa.string()),
                    "response": pa.array(columns["response"], pa.string()),
                    "prompt_tokens": pa.array(columns["prompt_tokens"], pa.int64()),
                    "completion_tokens": pa.array(columns["completion_tokens"], pa.int64()),
                    "cost_usd": pa.array(columns["cost_usd"], pa.float64()),
                    "latency_ms": pa.array(columns["latency_ms"], pa.float64()),
                    "metadata": pa.array(columns["metadata"], metadata_type),
                    "intent": pa.array(columns["intent"], pa.string()),
                }
            )
            pq.write_table(table, folder / f"logs-{file_index:02d}.parquet")
            if jsonl_handle is not None and written < jsonl_rows:
                for values in table.slice(0, jsonl_rows - written).to_pylist():
                    jsonl_handle.write(json.dumps({k: v for k, v in values.items() if v is not None}) + "\n")
                written = min(jsonl_rows, written + table.num_rows)
    finally:
        if jsonl_handle is not None:
            jsonl_handle.close()
    return {"rows": n_rows, "files": n_files, "distinct_inputs": len(distinct), "jsonl_rows": written}


# -- where the free layer's time goes ---------------------------------------------------------------
def breakdown(policy: Path, logs: Path, chunk: int = 5_000) -> dict:
    """``read_fresh_logs``'s loop with each phase timed (no sampling: every row is kept, as with the default
    --max-rows up to 1,000,000): reading raw batches (JSON decoding, or Parquet decoding and ``to_pylist``),
    parsing each row into a ``LogRecord`` with its timestamp, and routing through the runtime router."""
    from routeeval.logs import open_log_stream, utc_time
    from routeeval.policy import load_router
    from routeeval.profile import query_metadata, route_queries, vocabulary

    started = time.perf_counter()
    router = load_router(policy)
    words = vocabulary(router)
    load_s = time.perf_counter() - started
    stream = open_log_stream(logs)
    read_s = parse_s = route_s = 0.0
    rows = 0
    batches = iter(stream.batches())
    while True:
        t0 = time.perf_counter()
        batch = next(batches, None)
        t1 = time.perf_counter()
        read_s += t1 - t0
        if batch is None:
            break
        records = []
        for where, values in batch:
            record = stream.parse(where, values)
            if record.timestamp:
                utc_time(record.timestamp)
            records.append(record)
        t2 = time.perf_counter()
        parse_s += t2 - t1
        for lo in range(0, len(records), chunk):
            part = records[lo : lo + chunk]
            metadata = [query_metadata(r.query.intent, r.query.metadata) for r in part]
            route_queries(router, [r.query.input_value for r in part], metadata, words=words)
        route_s += time.perf_counter() - t2
        rows += len(records)
    return {"rows": rows, "load_s": load_s, "read_s": read_s, "parse_s": parse_s, "route_s": route_s}


def profile_drift(policy: Path, logs: Path, out_dir: Path, top: int = 15) -> list[str]:
    """cProfile of ``run_drift`` (--sample 0, the demo config) on ``logs``: the top functions by own time, then
    the cumulative time of the free layer's main steps."""
    import cProfile
    import pstats

    from routeeval.drift import DriftOptions, run_drift

    options = DriftOptions(policy=policy, logs=logs, config_path=CONFIG, sample=0, out_dir=out_dir)
    profiler = cProfile.Profile()
    profiler.enable()
    run_drift(options)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    lines = [f"run_drift {total:.2f} s under the profiler. Own time"]
    entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    for (file_name, line, function), (_cc, calls, tottime, _cumtime, _callers) in entries:
        where = f"{Path(file_name).name}:{line}" if line else file_name
        lines.append(f"{function} ({where}) {tottime:.2f} s ({tottime / total:.0%}), {calls:,} calls")
    steps = (
        "read_fresh_logs",
        "_parquet_batches",
        "_jsonl_batches",
        "_parse_log_row",
        "utc_time",
        "route_queries",
        "route",
        "query_text",
        "findall",
        "tier_share_check",
        "routing_score_check",
        "intent_check",
        "length_check",
        "vocabulary_check",
        "observed_tiers_check",
        "cost_check",
    )
    cumulative = []
    for (file_name, _line, function), (_cc, calls, _tottime, cumtime, _callers) in stats.stats.items():
        if function in steps or function.endswith(".findall'>") or "findall" in function:
            if function == "route" and "runtime" not in file_name:
                continue
            cumulative.append((cumtime, f"{function} {cumtime:.2f} s ({calls:,} calls)"))
    lines.append("Cumulative")
    lines += [text for _cum, text in sorted(cumulative, reverse=True)]
    return lines


# -- children ---------------------------------------------------------------------------------------
def _child(args: list[str]) -> dict:
    """Run this script in a fresh child (``--child ...``) and return the JSON it prints last."""
    done = subprocess.run([sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"child {' '.join(args[:2])} exited {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_drift(policy: Path, logs: Path, out_dir: Path) -> dict:
    """Wall s, CPU s and peak RSS MB of ``routeeval drift POLICY LOGS --sample 0`` in a child of its own."""
    command = [
        sys.executable,
        "-m",
        "routeeval.cli",
        "drift",
        str(policy),
        str(logs),
        "--sample",
        "0",
        "--config",
        str(CONFIG.relative_to(ROOT)),
        "--out",
        str(out_dir),
    ]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        usage_file = Path(scratch) / "usage"
        wrapped = [str(TIME), "-f", "%e %U %S %M", "-o", str(usage_file), *command] if TIME.exists() else command
        started = time.perf_counter()
        child = subprocess.Popen(wrapped, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
        if TIME.exists():
            fields = usage_file.read_text().split()[-4:]
            cpu_s, peak_mb = float(fields[1]) + float(fields[2]), float(fields[3]) / 1024
        else:  # the child's own usage; includes this process's size at fork (see the module docstring)
            cpu_s, peak_mb = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    if code not in (0, 1):  # 1: a check failed, still a full run
        print(stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"routeeval drift exited {code}")
    result = json.loads((out_dir / "drift.json").read_text(encoding="utf-8"))
    return {
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "peak_mb": peak_mb,
        "exit": code,
        "load": load,
        "rows_checked": result["logs"]["rows_checked"],
        "rows_read": result["logs"]["rows_read"],
        "sampled": result["logs"]["sampled"],
        "verdict": result["verdict"],
        "fired": [f"{c['id']}:{c['status']}" for c in result["checks"] if c["status"] in ("warn", "fail")],
    }


def startup_s() -> float:
    """Wall time of ``routeeval drift --help``: the CLI's imports, part of every timed run."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "routeeval.cli", "drift", "--help"], cwd=ROOT, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def build_demo(folder: Path) -> Path:
    """``make run``'s demo run, written to ``folder``: the cascade policy with its October reference profile."""
    command = [sys.executable, "-m", "routeeval.cli", "run", str(EVALSET.relative_to(ROOT))]
    command += ["--logs", str(OCTOBER.relative_to(ROOT)), "--out", str(folder), "--monthly-queries", "1000000"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0 or not (folder / "policy.json").is_file():
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"routeeval run exited {done.returncode}")
    return folder


def build_policy(outcomes: Path, router: str, folder: Path) -> dict:
    command = [sys.executable, "-m", "routeeval.cli", "optimize", str(outcomes), "--router", router]
    command += ["--max-drop", MAX_DROP, "--out", str(folder)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    path = folder / "policy.json"
    if not path.is_file():
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"routeeval optimize --router {router} wrote no policy (exit {done.returncode})")
    policy = json.loads(path.read_text(encoding="utf-8"))
    expected = policy.get("expected") or {}
    return {
        "path": path,
        "exit": done.returncode,
        "kind": policy["kind"],
        "variant": expected.get("variant"),
        "knob": policy.get("knob"),
        "tier_share": expected.get("tier_share"),
        "has_reference": isinstance(policy.get("reference"), dict),
        "size_kb": path.stat().st_size / 1024,
    }


# -- false alarms and detection ---------------------------------------------------------------------
def resample_study(
    name: str,
    month: Path,
    policy: Path,
    config: Path,
    reference_dir: Path | None,
    n: int,
    seed: int,
    scratch: Path,
) -> dict:
    """``n`` seeded resamples of ``month`` (400 rows with replacement, fresh ids) through ``run_drift``."""
    from routeeval.drift import DriftOptions, run_drift

    rows = [json.loads(line) for line in month.read_text(encoding="utf-8").splitlines() if line.strip()]
    logs = scratch / f"{name}.jsonl"
    runs = []
    started = time.perf_counter()
    for index in range(n):
        rng = random.Random(f"{seed}:{month.name}:{index}")  # the same draws for every variant of a month
        lines = []
        for position in range(len(rows)):
            row = dict(rows[rng.randrange(len(rows))])
            row["id"] = f"rs{index:03d}-{position:03d}-{row.get('id', 'row')}"
            lines.append(json.dumps(row, ensure_ascii=False))
        logs.write_text("\n".join(lines) + "\n", encoding="utf-8")
        options = DriftOptions(
            policy=policy, logs=logs, config_path=config, reference_dir=reference_dir, out_dir=scratch / f"{name}-out"
        )
        result = run_drift(options)
        runs.append(
            {
                "verdict": result.record["verdict"],
                "checks": {
                    c["id"]: {
                        "status": c["status"],
                        "statistic": (c.get("statistic") or {}).get("value"),
                        "statistic_name": (c.get("statistic") or {}).get("name"),
                        "p": c.get("p_value"),
                        "ci": c.get("ci"),
                        "thresholds": c.get("thresholds"),
                    }
                    for c in result.record["checks"]
                },
            }
        )
    return {"name": name, "runs": runs, "seconds": time.perf_counter() - started}


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _fired(study: dict) -> str:
    counts: Counter[tuple[str, str]] = Counter()
    for run in study["runs"]:
        for check_id, check in run["checks"].items():
            if check["status"] in ("fail", "warn"):
                counts[(check_id, check["status"])] += 1
    if not counts:
        return "none"
    return ", ".join(f"{cid} {status} {k}" for (cid, status), k in sorted(counts.items(), key=lambda kv: -kv[1]))


def _check_rows(study: dict) -> list[tuple]:
    """Per check: how often it failed / warned / was skipped, and its statistic's median, 95th percentile and
    largest value over the resamples (with the p-value or interval at the largest)."""
    import numpy as np

    rows = []
    n = len(study["runs"])
    for check_id in CHECKS:
        entries = [run["checks"].get(check_id) for run in study["runs"]]
        entries = [e for e in entries if e is not None]
        if not entries:
            continue
        status = Counter(e["status"] for e in entries)
        if status.get("skipped", 0) == n:
            continue
        values = [(e["statistic"], e) for e in entries if e["statistic"] is not None]
        if values:
            stats = np.array([v for v, _ in values], dtype=float)
            top_value, top = max(values, key=lambda ve: ve[0])
            # for the observed-tier agreement a low value is the alarm; every other statistic alarms high
            if check_id == "observed_tiers":
                top_value, top = min(values, key=lambda ve: ve[0])
            at_top = f"p {top['p']:.3g}" if top["p"] is not None else ""
            if top["ci"] and top["ci"][0] is not None:
                at_top = f"CI {top['ci'][0]:.3f} to {top['ci'][1]:.3f}"
            thresholds = top["thresholds"] or {}
            gate = f"warn {thresholds.get('warn')}, fail {thresholds.get('fail')}" if thresholds else ""
            described = (
                f"{top['statistic_name']}: median {np.median(stats):.3f}, p95 {np.quantile(stats, 0.95):.3f}, "
                f"{'min' if check_id == 'observed_tiers' else 'max'} {top_value:.3f} ({at_top}); {gate}"
            )
        else:
            described = "no statistic"
        rows.append(
            (
                study["label"],
                check_id,
                status.get("fail", 0),
                status.get("warn", 0),
                status.get("skipped", 0),
                described,
            )
        )
    return rows


def _code_version() -> str:
    """HEAD, and a digest of the drift modules as they are in the working tree (others may be editing them)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "routeeval"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split("\n")
    digest = hashlib.sha256()
    for name in ("drift.py", "drift_replay.py", "profile.py", "logs.py", "runtime.py", "stats.py"):
        digest.update((ROOT / "routeeval" / name).read_bytes())
    changed = [line[3:] for line in dirty if line.strip()]
    return (
        f"HEAD {head.stdout.strip()}"
        + (f", uncommitted changes in {', '.join(changed)}" if changed else ", routeeval/ clean")
        + f"; sha256 of drift/drift_replay/profile/logs/runtime/stats.py {digest.hexdigest()[:12]}"
    )


# -- the bench --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resamples", type=int, default=100, help="resamples per month and variant")
    parser.add_argument("--rows", type=int, default=1_000_000, help="generated log rows for the scale runs")
    parser.add_argument("--files", type=int, default=10, help="Parquet files they are split over")
    parser.add_argument("--jsonl-rows", type=int, default=100_000, help="rows of the JSONL (and one-file) run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo", type=Path, help="use this demo run folder instead of writing one")
    parser.add_argument("--keep", type=Path, help="scratch folder to keep (under /tmp), instead of a temporary one")
    parser.add_argument("--skip-scale", action="store_true", help="only the false-alarm and detection runs")
    parser.add_argument("--skip-resamples", action="store_true", help="only the scale runs")
    parser.add_argument("--profile", action="store_true", help="cProfile run_drift on 100k rows even when fast")
    parser.add_argument("--no-record", action="store_true", help="print only; do not append to bench/RESULTS.md")
    parser.add_argument("--quick", action="store_true", help="20 resamples and 100,000 rows; not recorded")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _run_child(args.child, args.seed)
        return
    if args.quick:
        args.resamples, args.rows, args.files, args.no_record = min(args.resamples, 20), 100_000, 1, True
        args.jsonl_rows = min(args.jsonl_rows, args.rows)
    save = not args.no_record
    command = f"python bench/bench_drift.py {' '.join(a for a in sys.argv[1:] if not a.startswith('--child'))}"
    command = command.rstrip()
    version = _code_version()
    print(f"code: {version}", flush=True)

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        scratch_ctx = None
        scratch = args.keep
    else:
        scratch_ctx = tempfile.TemporaryDirectory(prefix="bench-drift-")
        scratch = Path(scratch_ctx.name)
    try:
        demo = args.demo or build_demo(scratch / "demo")
        demo_policy = demo / "policy.json"
        policies = {}
        for router in ("static", "classifier"):
            policies[router] = build_policy(demo / "outcomes.parquet", router, scratch / f"policy-{router}")
            p = policies[router]
            print(
                f"{router} policy: {p['kind']}/{p['variant']} knob {json.dumps(p['knob'])[:80]}, tier shares "
                f"{p['tier_share']}, exit {p['exit']}, reference {p['has_reference']}, {p['size_kb']:.0f} KB",
                flush=True,
            )

        header_written = False

        def write_header() -> None:
            nonlocal header_written
            if save and not header_written:
                stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                with RESULTS.open("a", encoding="utf-8") as handle:
                    handle.write(
                        f"\n## routeeval drift (issue 13) — {stamp}\n\n`{command}`; code: {version}. "
                        "The tables below are this one run's.\n"
                    )
                header_written = True

        if not args.skip_scale:
            write_header()
            scale_rows, scale_notes = _scale(args, scratch, policies)
            record(
                "drift: free layer at scale (--sample 0)",
                command,
                scale_rows,
                save=save,
                notes=scale_notes,
            )
        if not args.skip_resamples:
            write_header()
            _resamples(args, scratch, demo, demo_policy, policies, command, save)
    finally:
        if scratch_ctx is not None:
            scratch_ctx.cleanup()


def _run_child(child: list[str], seed: int) -> None:
    what = child[0]
    if what == "generate":
        folder, n_rows, n_files, jsonl, jsonl_rows = Path(child[1]), int(child[2]), int(child[3]), child[4], child[5]
        result = generate_logs(folder, n_rows, n_files, Path(jsonl) if jsonl != "-" else None, int(jsonl_rows), seed)
    elif what == "breakdown":
        result = breakdown(Path(child[1]), Path(child[2]))
    elif what == "profile":
        result = {"lines": profile_drift(Path(child[1]), Path(child[2]), Path(child[3]))}
    else:
        raise SystemExit(f"unknown child {what}")
    print(json.dumps(result))


def _scale(args, scratch: Path, policies: dict) -> tuple[list[tuple], list[str]]:
    folder = scratch / f"logs-{args.rows}"
    jsonl = scratch / f"logs-{args.jsonl_rows}.jsonl"
    started = time.perf_counter()
    generated = _child(
        ["--child", "generate", str(folder), str(args.rows), str(args.files), str(jsonl), str(args.jsonl_rows)]
    )
    size_mb = sum(p.stat().st_size for p in folder.glob("*.parquet")) / 1e6
    print(
        f"generated {generated['rows']:,} rows in {generated['files']} Parquet files ({size_mb:.0f} MB) and "
        f"{generated['jsonl_rows']:,} as JSONL ({jsonl.stat().st_size / 1e6:.0f} MB) in "
        f"{time.perf_counter() - started:.0f} s (not timed); distinct inputs {generated['distinct_inputs']:,}",
        flush=True,
    )
    one_file = sorted(folder.glob("*.parquet"))[0]
    inputs = [(f"{args.rows:,} rows, folder of {args.files} Parquet files", folder)]
    if args.files > 1:
        inputs.append((f"{args.jsonl_rows:,} rows, one Parquet file (the JSONL's rows)", one_file))
    inputs.append((f"{args.jsonl_rows:,} rows, one JSONL file", jsonl))
    start_s = startup_s()
    rows: list[tuple] = []
    timings: dict[tuple[str, str], dict] = {}
    for router in ("static", "classifier"):
        policy = policies[router]
        for label, logs in inputs:
            run = time_drift(policy["path"], logs, scratch / f"drift-{router}-{logs.stem}")
            timings[(router, label)] = run
            target = f" (target ≤ {TARGET_S:.0f} s, ≤ {TARGET_MB:,.0f} MB)" if logs == folder else ""
            print(
                f"{router} {label}: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU, peak {run['peak_mb']:.0f} "
                f"MB, {run['rows_checked']:,} rows checked, verdict {run['verdict']} (load {_load(run)})",
                flush=True,
            )
            rows.append(
                (
                    f"{router} ({policy['kind']}/{policy['variant']}), {label}: wall s / CPU s / peak RSS MB",
                    f"{run['wall_s']:.1f} / {run['cpu_s']:.1f} / {run['peak_mb']:.0f}{target}; load average before "
                    f"{_load(run)}",
                )
            )
            rows.append(
                (
                    f"{router}, {label}: rows read / checked, verdict",
                    f"{run['rows_read']:,} / {run['rows_checked']:,} (sampled: {run['sampled']}), "
                    f"{run['verdict']}, exit {run['exit']}; warn/fail checks: {', '.join(run['fired']) or 'none'}",
                )
            )
    for router in ("static", "classifier"):
        big = timings[(router, inputs[0][0])]
        small = timings[(router, inputs[-1][0])]
        rows.append(
            (
                f"{router}: wall 1 file JSONL {args.jsonl_rows:,} / Parquet folder {args.rows:,}",
                f"{small['wall_s'] / big['wall_s']:.2f}",
            )
        )
        if len(inputs) == 3:
            mid = timings[(router, inputs[1][0])]
            rows.append(
                (
                    f"{router}: wall JSONL / Parquet, same {args.jsonl_rows:,} rows",
                    f"{small['wall_s'] / mid['wall_s']:.2f} ({small['wall_s']:.1f} s / {mid['wall_s']:.1f} s)",
                )
            )
    rows.append(("CLI start-up: `routeeval drift --help`, best of 3, s", f"{start_s:.2f}"))

    # the breakdown: each phase of the free layer's loop, in a child of its own per policy and input
    for router in ("static", "classifier"):
        for label, logs in inputs:
            parts = _child(["--child", "breakdown", str(policies[router]["path"]), str(logs)])
            total = parts["read_s"] + parts["parse_s"] + parts["route_s"]
            per_row = 1e6 * total / max(parts["rows"], 1)
            rows.append(
                (
                    f"breakdown, {router}, {label}: read raw batches / parse rows / route, s",
                    f"{parts['read_s']:.1f} / {parts['parse_s']:.1f} / {parts['route_s']:.1f} (sum {total:.1f}; "
                    f"{per_row:.0f} µs a row; {parts['rows']:,} rows; policy load {parts['load_s']:.2f} s)",
                )
            )
            print(rows[-1][0], rows[-1][1], flush=True)
    notes = [
        f"Generated logs: {generated['rows']:,} rows, {generated['distinct_inputs']:,} distinct inputs "
        f"({generated['distinct_inputs'] / generated['rows']:.1%}), {size_mb:.0f} MB of Parquet; the JSONL file is "
        f"the first {generated['jsonl_rows']:,} of them ({jsonl.stat().st_size / 1e6:.0f} MB).",
        "Policies: `routeeval optimize DEMO/outcomes.parquet --router static|classifier --max-drop "
        f"{MAX_DROP}`, DEMO being the demo run (make run's command, written to a scratch folder). static: "
        f"{_policy_text(policies['static'])}; classifier: "
        f"{_policy_text(policies['classifier'])}. At the default --max-drop 0.01 both exit 1 (nothing qualifies "
        "with 350 rows) and write a static policy sending everything to 'large': a policy without routing.",
        "Timed: `routeeval drift POLICY LOGS --sample 0 --config routeeval.toml --out DIR` as `python -m "
        "routeeval.cli` under /usr/bin/time (its own wall, user+system CPU and peak RSS), one after another on the "
        "same machine in this run. Breakdown: read_fresh_logs's loop in a child, each phase timed: reading "
        "raw batches (JSONL: json.loads per line; Parquet: decode and to_pylist), parsing rows (LogRecord and "
        "timestamp), routing (route_queries through runtime.Router); the checks after the loop are the rest.",
    ]
    slow = [
        router
        for router in ("static", "classifier")
        if timings[(router, inputs[0][0])]["wall_s"] > TARGET_S and args.rows >= 1_000_000
    ]
    if slow or args.profile:
        sample = inputs[-1][1] if args.files == 1 else one_file
        for router in slow or ["classifier"]:
            out = scratch / f"profile-{router}"
            profiled = _child(["--child", "profile", str(policies[router]["path"]), str(sample), str(out)])
            notes.append(
                f"cProfile of run_drift (--sample 0), {router} policy, {sample.name} ({args.jsonl_rows:,} rows): "
                + "; ".join(profiled["lines"])
            )
            print(notes[-1], flush=True)
    return rows, notes


def _policy_text(policy: dict) -> str:
    shares = ", ".join(f"{k} {v:.1%}" for k, v in (policy["tier_share"] or {}).items())
    return f"{policy['kind']}/{policy['variant']} (exit {policy['exit']}; expected tier shares {shares})"


def _load(run: dict) -> str:
    return " / ".join(f"{value:.2f}" for value in run["load"])


def _resamples(args, scratch: Path, demo: Path, demo_policy: Path, policies: dict, command: str, save: bool) -> None:
    classifier = policies["classifier"]["path"]
    variants = [
        ("october", "October (the reference's own rows)", OCTOBER, demo_policy, CONFIG, None),
        ("october-ref", "October, --reference", OCTOBER, demo_policy, CONFIG, demo),
        ("november", "November (stationary)", NOVEMBER, demo_policy, CONFIG, None),
        ("november-ref", "November, --reference", NOVEMBER, demo_policy, CONFIG, demo),
        ("october-classifier", "October, classifier policy", OCTOBER, classifier, CONFIG, None),
        ("november-classifier", "November, classifier policy", NOVEMBER, classifier, CONFIG, None),
        ("december", "December (shifted), its config", DECEMBER, demo_policy, DECEMBER_CONFIG, None),
        ("december-ref", "December, its config, --reference", DECEMBER, demo_policy, DECEMBER_CONFIG, demo),
    ]
    studies = []
    for name, label, month, policy, config, reference_dir in variants:
        study = resample_study(name, month, policy, config, reference_dir, args.resamples, args.seed, scratch)
        study["label"] = label
        study["month"] = month
        studies.append(study)
        verdicts = Counter(run["verdict"] for run in study["runs"])
        print(
            f"{label}: {dict(verdicts)} in {study['seconds']:.0f} s; fired: {_fired(study)}",
            flush=True,
        )
    rows = []
    for study in studies:
        n = len(study["runs"])
        verdicts = Counter(run["verdict"] for run in study["runs"])
        fail, warn = verdicts.get("fail", 0), verdicts.get("warn", 0)
        low, high = _wilson(fail, n)
        policy_name = "classifier" if "classifier" in study["name"] else "cascade (demo)"
        rows.append(
            (
                study["label"],
                policy_name,
                n,
                f"{fail / n:.1%} [{low:.1%}, {high:.1%}]",
                f"{warn / n:.1%}",
                f"{verdicts.get('ok', 0) / n:.1%}",
                _fired(study),
                f"{study['seconds'] / n:.2f}",
            )
        )
    policy_note = _policy_text(policies["classifier"])
    record(
        "drift: false alarms (October, November) and detection (December), resampled months",
        command,
        rows,
        save=save,
        header=(
            "logs resampled",
            "policy",
            "resamples",
            "verdict fail [95% CI]",
            "warn",
            "ok",
            "checks at warn/fail (count of resamples)",
            "s per check run",
        ),
        notes=[
            "Each resample: 400 rows drawn with replacement from the month's 400 (seeded; the same draws for each "
            "variant of a month), fresh unique ids, everything else kept; routeeval.drift.run_drift in-process "
            "with --sample 200 (default) on the simulated tiers, config routeeval.toml (December: "
            "evalsets/drift/routeeval-2026-12.toml). Policy: the demo run's cascade (make run's command, written "
            "to a scratch folder), reference profile from October's 400 log rows; --reference: that run folder "
            "(enables the domain classifier). Classifier policy: " + policy_note + ", reference profile from "
            "the same outcomes. The simulator answers a given text the same way every time, so the paid layer's "
            "spread across resamples is the rows' spread, not the simulator's. October's logs name no intent (the "
            "intent check is skipped); November's and December's do, and are compared with the eval set's curated "
            "mix (the reference logs name none): capped at warn unless an intent is new.",
        ],
    )
    check_rows = []
    for study in studies:
        check_rows += _check_rows(study)
    record(
        "drift: each check over the resamples",
        command,
        check_rows,
        save=save,
        header=("logs resampled", "check", "fail", "warn", "skipped", "statistic over the resamples; gates"),
        notes=[
            "Gates (routeeval/drift.py): tier shares and intent mix by total variation distance (warn 0.05 with "
            "p < 0.01, fail 0.10 with p < 0.001; an intent absent from the reference with ≥ 10 rows: warn at 2%, "
            "fail at 5% of queries); routing score and input length by PSI (warn 0.10 / fail 0.25, with the KS "
            "p-value < 0.01 / 0.001); vocabulary by the fall in coverage (0.05 / 0.10); the domain classifier by "
            "the low end of its AUC interval (0.65 / 0.80); cost by the rise over the promise (warn 10%, fail when "
            "the interval's low end is 25% up); accuracy by the drop against max_drop. 'max' is the resample "
            "whose statistic was largest, with its p-value or interval.",
        ],
    )


if __name__ == "__main__":
    main()
