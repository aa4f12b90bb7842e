"""Produce the real promptfoo and inspect_ai result files under tests/data/imports/ (see SOURCE.md there).

Both tools run a tiny arithmetic eval (8 questions) against the project's loopback OpenAI-compatible
server, started here in-process with an answer table per model: ``gpt-4o`` answers every question
right, ``gpt-4o-mini`` gets three wrong, and (promptfoo only) ``flaky-40-gpt-4o-mini`` fails some
calls with HTTP 500 so the results hold real error rows. Nothing leaves the machine.

The tools are not routeeval dependencies; install them in scratch folders first:

    mkdir -p /tmp/pf && (cd /tmp/pf && npm init -y && npm install promptfoo)
    python3 -m venv /tmp/ivenv && /tmp/ivenv/bin/pip install inspect_ai openai

then run ``python scripts/make_import_fixtures.py --promptfoo /tmp/pf/node_modules/.bin/promptfoo
--inspect /tmp/ivenv/bin/inspect``. The tests read only the committed outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routeeval.testing.loopback import LoopbackServer  # noqa: E402

OUT = ROOT / "tests" / "data" / "imports"
KEY = "sk-loopback-fixture"
QUESTIONS = [  # (id, a, b); the answer is a + b
    ("q1", 2, 3),
    ("q2", 17, 25),
    ("q3", 108, 97),
    ("q4", 1234, 4321),
    ("q5", 9, 9),
    ("q6", 350, 651),
    ("q7", 46, 57),
    ("q8", 7, 8),
]
MINI_WRONG = {"q3", "q4", "q7"}  # where gpt-4o-mini answers off by one


def question_text(a: int, b: int) -> str:
    return f"What is {a} + {b}? Reply with the number only."


def answer(model: str, messages: list[dict]) -> str | None:
    """The loopback server's answer table: the sum, off by one for gpt-4o-mini on MINI_WRONG."""
    text = " ".join(str(m.get("content")) for m in messages if m.get("role") == "user")
    match = re.search(r"What is (\d+) \+ (\d+)\?", text)
    if match is None:
        return None
    a, b = int(match.group(1)), int(match.group(2))
    qid = next(q for q, qa, qb in QUESTIONS if (qa, qb) == (a, b))
    wrong = model.rsplit("/", 1)[-1].endswith("gpt-4o-mini") and qid in MINI_WRONG
    return str(a + b + (1 if wrong else 0))


def promptfoo_config(base_url: str) -> str:
    tests = "\n".join(
        f"  - description: {qid}\n    vars: {{a: {a}, b: {b}, expected: '{a + b}'}}\n"
        "    assert:\n      - type: equals\n        value: '{{expected}}'"
        for qid, a, b in QUESTIONS
    )
    providers = "\n".join(
        f"  - id: openai:chat:{model}\n    label: {label}\n"
        f"    config: {{apiBaseUrl: '{base_url}', apiKey: '{KEY}', temperature: 0, maxRetries: 0}}"
        for model, label in (
            ("gpt-4o-mini", "mini"),
            ("gpt-4o", "4o"),
            ("flaky-40-gpt-4o-mini", "flaky-mini"),
        )
    )
    return (
        "description: routeeval import fixture (arithmetic, loopback server)\n"
        "prompts:\n  - 'What is {{a}} + {{b}}? Reply with the number only.'\n"
        f"providers:\n{providers}\n"
        f"tests:\n{tests}\n"
    )


INSPECT_TASK = """
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import includes, match
from inspect_ai.solver import generate

QUESTIONS = {questions!r}


@task
def arithmetic():
    samples = [
        Sample(id=qid, input=f"What is {{a}} + {{b}}? Reply with the number only.", target=str(a + b))
        for qid, a, b in QUESTIONS
    ]
    return Task(dataset=samples, solver=generate(), scorer=[match(numeric=True), includes()])
"""


def run(command: list[str], cwd: Path, env: dict) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, env=env, check=True)


def make_promptfoo(promptfoo: str, server: LoopbackServer, work: Path, env: dict) -> None:
    (work / "promptfooconfig.yaml").write_text(promptfoo_config(server.base_url), encoding="utf-8")
    env = {
        **env,
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_CACHE_ENABLED": "false",
    }
    env["PROMPTFOO_CONFIG_DIR"] = str(work / ".promptfoo")
    env["PROMPTFOO_REQUEST_BACKOFF_MS"] = "10"
    # promptfoo exits 100 when some tests fail; that is the point of the fixture.
    command = [promptfoo, "eval", "-c", "promptfooconfig.yaml", "-o", "promptfoo-results.json", "--no-cache"]
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command, cwd=work, env=env)
    if done.returncode not in (0, 100):
        raise SystemExit(f"promptfoo eval exited {done.returncode}")
    shutil.copy(work / "promptfooconfig.yaml", OUT / "promptfooconfig.yaml")
    shutil.copy(work / "promptfoo-results.json", OUT / "promptfoo-results.json")


def make_inspect(inspect: str, server: LoopbackServer, work: Path, env: dict) -> None:
    task = work / "arithmetic.py"
    task.write_text(INSPECT_TASK.format(questions=QUESTIONS), encoding="utf-8")
    env = {**env, "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": server.base_url, "INSPECT_LOG_DIR": str(work / "logs")}
    runs = [("gpt-4o-mini", "eval", []), ("gpt-4o", "eval", []), ("gpt-4o", "json", [])]
    runs.append(("flaky-40-gpt-4o-mini", "eval", ["--max-retries", "0", "--no-fail-on-error"]))  # errored samples
    for model, log_format, extra in runs:
        logs = work / f"logs-{model}-{log_format}"
        run(
            [
                inspect,
                "eval",
                task.name,
                "--model",
                f"openai/{model}",
                "--log-format",
                log_format,
                "--log-dir",
                str(logs),
                "--temperature",
                "0",
                "--display",
                "plain",
                "--no-log-images",
                *extra,
            ],
            work,
            env,
        )
        (log,) = logs.glob(f"*.{log_format}")
        shutil.copy(log, OUT / f"inspect-{model}.{log_format}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promptfoo", help="the promptfoo executable (npm install promptfoo)")
    parser.add_argument("--inspect", help="the inspect executable (pip install inspect_ai openai)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    with LoopbackServer(answers=answer) as server, tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if args.promptfoo:
            make_promptfoo(args.promptfoo, server, work, env)
        if args.inspect:
            make_inspect(args.inspect, server, work, env)
        print(json.dumps({"requests": len(server.requests)}))


if __name__ == "__main__":
    main()
