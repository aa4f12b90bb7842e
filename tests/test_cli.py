"""The command line: exit codes and the exact one-line messages people see (no tracebacks)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from helpers import DATA, ROOT, hopeless_two_tiers, write_config
from typer.testing import CliRunner

from routeeval.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture()
def demo_config(in_tmp):
    shutil.copy(ROOT / "routeeval.toml", in_tmp / "routeeval.toml")
    return in_tmp / "routeeval.toml"


def _write(path, text: str | bytes):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD = '{"id": "a", "input": "hi", "reference": "Hello!"}\n'


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "missing.jsonl",
            GOOD + '{"id": "b", "reference": "x"}\n',
            "{p} line 2: field 'input' is missing; each line needs 'id' and 'input'.",
        ),
        (
            "badjson.jsonl",
            GOOD + '{"id": "b" "input": "x"}\n',
            "{p} line 2: not valid JSON (Expecting ',' delimiter at column 12)",
        ),
        (
            "type.jsonl",
            GOOD + '{"id": "b", "input": "x", "reference": {"a": 1}}\n',
            "{p} line 2: field 'reference' must be a string or a list of strings, got dict",
        ),
        (
            "dup.jsonl",
            GOOD + '{"id": "a", "input": "x"}\n',
            "{p} line 2: field 'id' duplicates 'a' first seen on line 1",
        ),
        ("empty.jsonl", "\n\n", "{p}: the file is empty; expected one JSON object per line"),
        (
            "bytes.jsonl",
            GOOD.encode() + b'{"id": "b", "input": "caf\xff"}\n',
            "{p} line 2: not valid UTF-8 (byte 0xff at column 26)",
        ),
        (
            "label.jsonl",
            '{"id": "a", "input": "hi", "label": "medium"}\n',
            "{p} line 1: field 'label' must be 'easy' or 'hard', got 'medium'",
        ),
        ("notes.txt", GOOD, "{p}: cannot read '.txt' files; expected .jsonl, .json (JSON Lines), .csv or .parquet"),
    ],
)
def test_bad_eval_set_is_one_line_exit_2(demo_config, name, content, message):
    path = _write(demo_config.parent / name, content)
    result = _run("run", path.name)
    assert result.exit_code == 2
    assert result.stderr == "error: " + message.format(p=path.name) + "\n"
    assert "Traceback" not in result.output


def test_missing_file_and_directory(demo_config):
    result = _run("run", "nope.jsonl")
    assert (result.exit_code, result.stderr) == (2, "error: nope.jsonl: no such file\n")
    (demo_config.parent / "adir").mkdir()
    result = _run("run", "adir")
    assert result.exit_code == 2
    assert result.stderr == "error: adir: is a directory; expected an eval set file (.jsonl, .csv or .parquet)\n"


def test_bad_logs_file_is_named(demo_config):
    _write(demo_config.parent / "logs.jsonl", '{"id": "l1", "input": "hi", "cost_usd": -1}\n')
    result = _run("run", DATA / "mini_eval.jsonl", "--logs", "logs.jsonl")
    assert result.exit_code == 2
    assert result.stderr == "error: logs.jsonl line 1: field 'cost_usd' must be a non-negative number, got -1\n"


def test_config_errors_exit_2(in_tmp):
    result = _run("run", DATA / "mini_eval.jsonl")
    assert result.exit_code == 2
    assert result.stderr == "error: routeeval.toml: no such config file; pass --config or create routeeval.toml.\n"
    _write(in_tmp / "routeeval.toml", '[[tier]]\nname = "x"\nmodel = "openai/not-a-real-model-zz"\n')
    result = _run("run", DATA / "mini_eval.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: tier 'x': model 'openai/not-a-real-model-zz' has no price in litellm's")


def test_reference_that_does_not_suit_its_scorer_is_named_before_any_call(demo_config):
    path = _write(
        demo_config.parent / "num.jsonl", '{"id": "a", "input": "2+2?", "reference": "four", "scorer": "numeric"}\n'
    )
    result = _run("run", path.name)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: num.jsonl line 1: ")
    assert not (demo_config.parent / ".routeeval").exists(), "no call may be made (or cache opened) first"
    assert "Traceback" not in result.output


def test_rows_without_a_reference_stop_before_any_call(demo_config):
    rows = (
        '{"id": "a", "input": "hi", "reference": "Hello!"}\n{"id": "b", "input": "2+2?"}\n{"id": "c", "input": "bye"}\n'
    )
    path = _write(demo_config.parent / "noref.jsonl", rows)
    result = _run("run", path.name, "--out", "out")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: noref.jsonl line 2: field 'reference' is missing; scorer 'exact' compares each answer with the "
        "row's reference, and 2 of 3 rows have none. Give every row a 'reference', or score them with an LLM "
        'judge ([scoring] scorer = "judge" and judge_tier).\n',
    )
    assert not (demo_config.parent / ".routeeval").exists(), "no call may be made (or cache opened) first"
    assert not (demo_config.parent / "out").exists(), "no policy from rows that cannot be scored"


@pytest.mark.slow
def test_run_writes_outcomes_and_summary_and_says_simulated(demo_config):
    result = _run("run", DATA / "mini_eval.jsonl", "--logs", DATA / "mini_logs.jsonl", "--out", "out", "--no-progress")
    # 12 rows cannot certify a 2-point drop: the check fails (exit 1), says how many rows it would take,
    # and everything computed is still written.
    assert result.exit_code == 1, result.output
    needed = re.search(r"Certifying 0.02 takes at least (\d+) rows", result.stderr)
    assert needed and int(needed.group(1)) > 200 and "Traceback" not in result.output
    assert "SIMULATED" in result.stdout
    summary = json.loads((demo_config.parent / "out" / "summary.json").read_text())
    assert summary["simulated"] is True
    assert [t["tier"] for t in summary["single_tiers"]] == ["small", "medium", "large"]
    assert summary["evalset"]["rows"] == 12 and summary["logs"]["rows"] == 4
    assert summary["cost_map_version"].startswith("litellm 1.110.")
    assert (demo_config.parent / "out" / "outcomes.parquet").exists()

    # --json prints the same summary for machines; the rerun is served from the cache.
    again = _run("run", DATA / "mini_eval.jsonl", "--out", "out2", "--json")
    assert again.exit_code == 1
    data = json.loads(again.stdout)
    assert data["replay"]["cache_hits"] == data["replay"]["calls"] == 36
    assert data["replay"]["calls_made"] == 0


@pytest.mark.slow
def test_cache_stats_and_clear(demo_config):
    _run("run", DATA / "mini_eval.jsonl", "--out", "out", "--no-progress")
    stats = _run("cache", "stats", "--json")
    assert stats.exit_code == 0
    # 12 rows x 3 tiers, plus the llm router's 12 triage calls
    assert json.loads(stats.stdout)["entries"] == 48
    # Without a terminal nothing is deleted without --yes, whatever is piped in.
    for answer in ("n\n", "y\n", ""):
        refused = runner.invoke(app, ["cache", "clear"], input=answer)
        assert (refused.exit_code, refused.stderr) == (
            2,
            "error: cache clear would delete every paid response in .routeeval/cache.sqlite; "
            "without a terminal to confirm, pass --yes.\n",
        )
        assert json.loads(_run("cache", "stats", "--json").stdout)["entries"] == 48
    cleared = _run("cache", "clear", "--yes")
    assert cleared.stdout == "cleared 48 cached responses from .routeeval/cache.sqlite\n"
    assert json.loads(_run("cache", "stats", "--json").stdout)["entries"] == 0


def test_every_command_has_help():
    for args in (["--help"], ["run", "--help"], ["cache", "--help"], ["cache", "stats", "--help"]):
        result = _run(*args)
        assert result.exit_code == 0 and "Usage" in result.stdout
    for name, command in _commands(app):
        assert command.help or command.callback.__doc__, f"command {name} has no help"


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    import routeeval

    result = _run("--version")
    assert (result.exit_code, result.stdout) == (0, f"routeeval {version('routeeval')}\n")
    assert routeeval.__version__ == version("routeeval")


@pytest.mark.slow
def test_version_loads_no_heavy_library():
    code = (
        "import sys\n"
        "from routeeval.cli import app\n"
        "try:\n    app(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('litellm', 'pandas', 'sklearn', 'pyarrow', 'numpy', 'rich')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "LOADED []" and out.startswith("routeeval ")


def _commands(typer_app):
    import typer.main

    group = typer.main.get_command(typer_app)

    def walk(command, prefix=""):
        for name, sub in getattr(command, "commands", {}).items():
            yield prefix + name, sub
            yield from walk(sub, prefix + name + " ")

    return list(walk(group))


def test_optimize_route_and_import_commands(demo_config, demo_outcomes, tmp_path):
    from routeeval.outcomes import write_outcomes

    outcomes = write_outcomes(demo_outcomes, demo_config.parent / "sim.parquet")
    result = _run(
        "optimize", outcomes, "--out", "opt", "--router", "static", "--router", "cascade", "--max-drop", "0.02"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((demo_config.parent / "opt" / "summary.json").read_text())
    assert summary["chosen"]["router"] in ("static", "cascade", "tier")
    assert summary["routers"] == ["cascade", "static"]
    assert "Chosen policy" in result.stdout and "saves" in result.stdout

    policy = demo_config.parent / "opt" / "policy.json"
    routed = _run("route", policy, "hi", "--json")
    assert routed.exit_code == 0
    decision = json.loads(routed.stdout)
    assert decision["tier"] in ("small", "medium", "large") and decision["reason"]

    tampered = json.loads(policy.read_text())
    tampered["guards"]["fallback_tier"] = "small"
    (demo_config.parent / "bad.json").write_text(json.dumps(tampered))
    bad = _run("route", demo_config.parent / "bad.json", "hi")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: ") and "modified" in bad.stderr

    unknown = _run("optimize", outcomes, "--router", "clasifier")
    assert (unknown.exit_code, unknown.stderr) == (
        2,
        "error: unknown router 'clasifier'; choose from: cascade, classifier, knn, llm, static.\n",
    )
    missing = _run("import", "routellm", tmp_path / "nope", "--out", "x.parquet")
    assert (missing.exit_code, missing.stderr) == (2, f"error: {tmp_path / 'nope'}: no such file or folder\n")


def test_optimize_exits_1_when_no_cheaper_policy_qualifies(demo_config):
    from routeeval.outcomes import outcomes_frame, write_outcomes

    frame = outcomes_frame(hopeless_two_tiers().to_dict("records"))
    path = write_outcomes(frame, demo_config.parent / "hopeless.parquet")
    result = _run("optimize", path, "--out", "o", "--max-drop", "0.001", "--router", "static")
    assert result.exit_code == 1
    assert result.stderr.startswith("check failed: nothing qualifies: no point up to the baseline's cost")
    assert "baseline tier 'strong'" in result.stderr
    assert (demo_config.parent / "o" / "policy.json").exists(), "the baseline policy is still written"


def test_option_values_are_checked_before_any_call(demo_config):
    result = _run("run", DATA / "mini_eval.jsonl", "--out", "out", "--max-drop", "2")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --max-drop must be at least 0 and below 1 (a fraction: 0.02 is 2 points), got 2; "
        "2 is 200 points: did you mean 0.02?\n",
    )
    assert not (demo_config.parent / ".routeeval").exists() and not (demo_config.parent / "out").exists()
    confidence = _run("optimize", "nothing.parquet", "--confidence", "95")
    assert confidence.exit_code == 2 and "95 is 9,500%: did you mean 0.95?" in confidence.stderr


def test_help_shows_the_defaults_in_force(demo_config):
    def option_help(*args):
        text = " ".join(_run(*args).stdout.split())  # help wraps lines
        return text

    # The demo config sets max_drop = 0.02 and max_cost_usd = 5: help says so, and where it comes from.
    shown = option_help("run", "--help")
    assert "[default: 0.02, from routeeval.toml]" in shown and "[default: 5, from routeeval.toml]" in shown
    assert "[default: 0.95]" in shown  # not set in the file: the built-in
    other = write_config(demo_config.parent / "other.toml", [{"name": "a", "model": "m"}], optimize={"max_drop": 0.03})
    assert "[default: 0.03, from other.toml]" in option_help("run", "--config", other.name, "--help")
    assert "[default: 0.01]" in option_help("optimize", "--help")  # optimize reads a config only when given one


def test_route_takes_chat_messages_and_metadata(tmp_path):
    from routeeval.policy import build_policy, write_policy
    from routeeval.routers import StaticRouter

    tiers = [{"name": "small", "model": "m-small"}, {"name": "large", "model": "m-large"}]
    router = StaticRouter(tiers=("small", "large"), rules=({"metadata": {"intent": "billing"}, "tier": "large"},))
    policy = write_policy(
        build_policy(router.fit(), "static", {"length_cutoff_chars": None}, tiers, guards={"fallback_tier": "large"}),
        tmp_path / "policy.json",
    )
    assert _run("route", policy, "refund me").stdout.startswith("small ")
    billed = _run("route", policy, "refund me", "--metadata", '{"intent": "billing"}')
    assert billed.stdout.startswith("large ") and "static rule #1" in billed.stdout
    messages = json.dumps([{"role": "system", "content": "be brief"}, {"role": "user", "content": "refund me"}])
    chat = _run("route", policy, "--messages", messages, "--metadata", '{"intent": "billing"}', "--json")
    assert json.loads(chat.stdout)["tier"] == "large"
    for args, message in (
        (["--metadata", "[1]", "hi"], "error: --metadata must be a JSON object, got list.\n"),
        (["--metadata", "{oops", "hi"], "error: --metadata is not valid JSON"),
        ([], "error: give the query as TEXT or as --messages, not both and not neither.\n"),
        (["hi", "--messages", messages], "error: give the query as TEXT or as --messages, not both and not neither.\n"),
        (["--messages", '[{"content": "x"}]'], "error: --messages must be a JSON list of chat messages, each"),
        (["--metadata", "[" * 100_000, "hi"], "error: --metadata is nested too deeply to read"),
    ):
        result = _run("route", policy, *args)
        assert result.exit_code == 2 and result.stderr.startswith(message), (args, result.stderr)


def test_a_damaged_cache_stops_the_run_with_the_way_out(demo_config):
    cache = demo_config.parent / ".routeeval" / "cache.sqlite"
    cache.parent.mkdir()
    cache.write_bytes(b"this is not a database, it is a text file that was copied over the cache" * 100)
    result = _run("run", DATA / "mini_eval.jsonl", "--out", "out", "--no-progress")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"error: {cache.relative_to(demo_config.parent)}: the response cache ")
    assert "routeeval cache clear --path .routeeval/cache.sqlite --yes" in result.stderr
    cleared = _run("cache", "clear", "--yes")
    assert cleared.exit_code == 0 and "removed the damaged response cache" in cleared.stdout
    assert _run("cache", "stats", "--json").exit_code == 0


def test_router_names_come_from_the_registry_and_are_checked_before_any_call(demo_config):
    from routeeval.routers.registry import router_names

    assert router_names() == ("cascade", "classifier", "knn", "llm", "static")
    text = demo_config.read_text() + '\nrouters = ["static", "clasifier"]\n'  # under [optimize], the file's last table
    demo_config.write_text(text)
    result = _run("run", DATA / "mini_eval.jsonl", "--out", "out")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: routeeval.toml: unknown router 'clasifier'; choose from: cascade, classifier, knn, llm, static.\n",
    )
    assert not (demo_config.parent / ".routeeval").exists(), "no call may be made (or cache opened) first"
