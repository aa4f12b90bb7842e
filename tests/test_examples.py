"""The examples a team copies (examples/github/routeeval-drift.yml) still fit the real command line: every option the
workflow passes to ``routeeval drift`` is an option of the real ``drift`` command, and the workflow keeps the parts
that make it safe to run monthly (cache, summary, artifact even on failure, keys only from secrets)."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml
from helpers import ROOT

WORKFLOW = ROOT / "examples" / "github" / "routeeval-drift.yml"
SECRET_EXPRESSION = re.compile(r"^\$\{\{\s*secrets\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")
SHELL_OPERATORS = {"||", "&&", "|", ";", "&", ">", ">>", "<"}


@pytest.fixture(scope="module")
def text() -> str:
    return WORKFLOW.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def workflow(text) -> dict:
    return yaml.safe_load(text)


def _triggers(workflow: dict) -> dict:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _step_using(workflow: dict, action: str) -> list[dict]:
    return [step for step in _steps(workflow) if step.get("uses", "").split("@")[0] == action]


def _drift_step(workflow: dict) -> dict:
    (step,) = [step for step in _steps(workflow) if re.search(r"^\s*routeeval drift\b", step.get("run", ""), re.M)]
    return step


def drift_invocation(script: str) -> list[str]:
    """The words of the ``routeeval drift ...`` command in a shell script: continuation lines joined, split as
    the shell splits words, up to the first shell operator (``|| code=$?``)."""
    joined = re.sub(r"\\\n", " ", script)
    (line,) = [line for line in joined.splitlines() if re.match(r"\s*routeeval drift\b", line)]
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    for word in lexer:
        if word in SHELL_OPERATORS:
            break
        words.append(word)
    return words


def split_invocation(words: list[str], takes_value: dict[str, bool]) -> tuple[list[str], list[str], list[str]]:
    """(options used, positional arguments, options unknown to ``takes_value``) of ``routeeval drift ...``.

    ``takes_value`` maps each option name of the command to whether it takes a value (a flag does not).
    """
    assert words[:2] == ["routeeval", "drift"], words
    used, positional, unknown = [], [], []
    rest = iter(words[2:])
    for word in rest:
        if not word.startswith("-"):
            positional.append(word)
            continue
        name, has_inline_value = word.split("=", 1)[0], "=" in word
        used.append(name)
        if name not in takes_value:
            unknown.append(name)
        elif takes_value[name] and not has_inline_value:
            value = next(rest, None)
            assert value is not None and not value.startswith("--"), f"{name} has no value"
    return used, positional, unknown


def test_runs_monthly_on_a_schedule_and_by_hand(workflow):
    triggers = _triggers(workflow)
    (schedule,) = triggers["schedule"]
    minute, hour, day_of_month, month, day_of_week = schedule["cron"].split()
    assert (day_of_month, month, day_of_week) == ("1", "*", "*"), "once a month, on the 1st"
    assert "workflow_dispatch" in triggers
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert inputs["fail_on"]["options"] == ["fail", "warn"]
    assert "sample" in inputs


def test_reads_the_repository_only_and_uses_current_action_majors(workflow):
    assert workflow["permissions"] == {"contents": "read"}
    majors = {step["uses"].split("@")[0]: step["uses"].split("@")[1] for step in _steps(workflow) if "uses" in step}
    assert majors == {
        "actions/checkout": "v4",
        "actions/setup-python": "v5",
        "actions/cache/restore": "v4",
        "actions/cache/save": "v4",
        "actions/upload-artifact": "v4",
    }
    (setup,) = _step_using(workflow, "actions/setup-python")
    assert setup["with"]["python-version"] == "3.12"


def test_the_response_cache_is_restored_and_saved_even_when_a_check_fails(workflow):
    (restore,) = _step_using(workflow, "actions/cache/restore")
    (save,) = _step_using(workflow, "actions/cache/save")
    for step in (restore, save):
        assert step["with"]["path"] == ".routeeval/cache.sqlite"
        assert "steps.month.outputs.month" in step["with"]["key"], "the key names the month"
    assert restore["with"]["key"] == save["with"]["key"]
    assert restore["with"]["restore-keys"].splitlines() == [
        "routeeval-cache-${{ steps.month.outputs.month }}-",
        "routeeval-cache-",
    ], "the newest cache of the month, else of an older month"
    assert save["if"] == "always()"


def test_the_months_dates_come_from_gnu_date(workflow):
    (step,) = [step for step in _steps(workflow) if step.get("id") == "month"]
    assert 'date -u -d "$first_of_this_month -1 month"' in step["run"]
    assert 'date -u -d "$first_of_this_month -1 day"' in step["run"]


def test_the_fetch_step_fails_until_it_is_filled_in(workflow):
    (step,) = [step for step in _steps(workflow) if step.get("name") == "Fetch last month's production logs"]
    commands = [line.strip() for line in step["run"].splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands[-1].startswith("exit 1"), "the placeholder ends the step with an error"
    assert any(line.startswith('echo "::error') and "Fill in" in line for line in commands)
    assert "aws s3 cp" in step["run"] and "/spend/logs" in step["run"] and "$LITELLM_MASTER_KEY" in step["run"]


def test_the_exit_code_is_captured_then_raised_after_the_report_is_published(workflow):
    steps = _steps(workflow)
    drift = _drift_step(workflow)
    assert not any("continue-on-error" in step for step in steps)
    assert "|| code=$?" in re.sub(r"\\\n", " ", drift["run"])
    assert 'echo "exit_code=$code" >> "$GITHUB_OUTPUT"' in drift["run"]
    names = [step.get("name") for step in steps]
    summary, upload = names.index("Job summary"), names.index("Upload the drift report")
    (verdict,) = [step for step in steps if "steps.drift.outputs.exit_code" in str(step.get("env", {}))]
    assert names.index(drift["name"]) < summary < names.index(verdict["name"])
    assert upload < names.index(verdict["name"])
    assert 'exit "$CODE"' in verdict["run"]
    for code in ("0)", "1)", "2)", "3)", "*)"):
        assert code in verdict["run"]


def test_the_summary_appends_drift_md_to_the_step_summary(workflow):
    (step,) = [step for step in _steps(workflow) if step.get("name") == "Job summary"]
    assert step["if"] == "always()"
    assert 'cat drift/drift.md >> "$GITHUB_STEP_SUMMARY"' in step["run"]


def test_the_report_is_uploaded_always(workflow):
    (upload,) = _step_using(workflow, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == "drift"


def test_secrets_are_only_referenced_as_expressions(workflow, text):
    provider_env = _drift_step(workflow)["env"]
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        assert provider_env[name] == f"${{{{ secrets.{name} }}}}"

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{where}[{index}]")
        else:
            yield where, node

    for where, value in walk(workflow, "workflow"):
        name = where.rsplit(".", 1)[-1]
        if ".env." in where + "." and re.search(r"KEY|TOKEN|SECRET|PASSWORD", name):
            assert isinstance(value, str) and SECRET_EXPRESSION.match(value), f"{where} is not ${{{{ secrets.X }}}}"
    # In comments too: every secrets.X sits in ${{ }}, and nothing looks like a key.
    assert len(re.findall(r"\bsecrets\.\w+", text)) == len(re.findall(r"\$\{\{\s*secrets\.\w+\s*\}\}", text))
    assert not re.search(r"\bsk-[A-Za-z0-9_-]{12,}", text)


def test_the_drift_command_line_is_found_and_split(workflow):
    words = drift_invocation(_drift_step(workflow)["run"])
    assert words[:4] == ["routeeval", "drift", "policy.json", "$LOGS_FILE"]
    assert words[-2:] == ["--out", "drift"], "the continuation lines are joined, the shell operator left off"
    pairs = dict(zip(words[4::2], words[5::2], strict=True))
    assert pairs == {
        "--config": "routeeval.toml",
        "--sample": "$SAMPLE",
        "--max-cost": "5",
        "--since": "$SINCE",
        "--until": "$UNTIL",
        "--fail-on": "$FAIL_ON",
        "--out": "drift",
    }


def test_the_splitter_tells_flags_values_and_unknown_options_apart():
    script = "x=1\nrouteeval drift a.json 'b c.jsonl' --json \\\n  --sample=5 --out d --bogus && echo\n"
    used, positional, unknown = split_invocation(
        drift_invocation(script), {"--json": False, "--sample": True, "--out": True}
    )
    assert used == ["--json", "--sample", "--out", "--bogus"]
    assert positional == ["a.json", "b c.jsonl"]
    assert unknown == ["--bogus"]


def test_the_workflow_uses_only_options_of_the_real_drift_command(workflow):
    import typer.main  # typer builds the click command (its own copy of click: no isinstance on click's classes)

    from routeeval.cli import app

    group = typer.main.get_command(app)
    assert "drift" in group.commands, (
        "routeeval has no `drift` command, but examples/github/routeeval-drift.yml runs `routeeval drift`"
    )
    command = group.commands["drift"]
    takes_value = {
        opt: not (param.is_flag or param.count)
        for param in command.params
        if param.param_type_name == "option"
        for opt in param.opts + param.secondary_opts
    }
    arguments = [param for param in command.params if param.param_type_name == "argument"]
    used, positional, unknown = split_invocation(drift_invocation(_drift_step(workflow)["run"]), takes_value)
    assert not unknown, f"the workflow passes options `routeeval drift` does not have: {unknown}"
    assert len(positional) == len(arguments) == 2, (positional, [argument.name for argument in arguments])
