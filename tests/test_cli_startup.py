"""The command line's fixed costs: values converted without pydantic, and main() leaving without a teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routeeval import cli
from routeeval.cli import app
from routeeval.policy import write_policy

typer_coercion = pytest.importorskip("typer._coercion")
runner = CliRunner()


def _typer_param(annotation):
    """A typer parameter of ``annotation`` inside a command, with a context, as typer builds them."""
    import typer
    import typer.main

    probe = typer.Typer()

    def command(value=typer.Option(None, "--value")):
        """A probe."""

    command.__annotations__["value"] = annotation
    probe.command()(command)
    click_command = typer.main.get_command(probe)
    param = next(p for p in click_command.params if p.name == "value")
    return param, click_command.context_class(click_command, info_name="probe")


def _typer_converts(annotation, value):
    param, ctx = _typer_param(annotation)
    try:
        return typer_coercion.build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)
    except Exception as exc:  # typer's BadParameter: compared by its message
        return ("error", str(exc))


def _plain_converts(annotation, value):
    param, ctx = _typer_param(annotation)
    cli._plain_values([param])
    assert isinstance(param._runtime_param, cli._PlainRuntimeParam)
    try:
        return param._runtime_param._coerce_value(value, param=param, ctx=ctx)
    except Exception as exc:
        return ("error", str(exc))


VALUES = [
    "",
    "0",
    "7",
    "-3",
    "007",
    "+5",
    " 7",
    "1_000",
    "12.5",
    "-0.25",
    ".5",
    "5.",
    "1e3",
    "1e400",
    "nan",
    "inf",
    "-",
    "abc",
    "١٢",
    "12.50",
    "99999999999999999999999",
    "-0",
    "x.jsonl",
    "reports/demo",
    "/",
    "~/x",
    "a b",
]


@pytest.mark.parametrize("annotation", [str, int, float, Path])
def test_plain_values_convert_exactly_as_typer_does(annotation, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.jsonl").write_text("{}\n")
    (tmp_path / "reports" / "demo").mkdir(parents=True)
    for value in VALUES:
        plain, typer_value = _plain_converts(annotation, value), _typer_converts(annotation, value)
        assert repr(plain) == repr(typer_value) and type(plain) is type(typer_value), (annotation, value)


def test_a_default_path_converts_as_typer_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "routeeval.toml").write_text("")
    for value in (Path("routeeval.toml"), Path("missing.toml"), tmp_path):
        param, ctx = _typer_param(Path)
        cli._plain_values([param])
        plain = param._runtime_param._coerce_value(value, param=param, ctx=ctx)
        assert plain == _typer_converts(Path, value) and isinstance(plain, Path)


@pytest.mark.parametrize("annotation", [list[str], list[Path], list[int]])
def test_lists_convert_exactly_as_typer_does(annotation, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.jsonl").write_text("{}\n")
    for value in [("a",), ("x.jsonl", "y.csv"), ("1", "", "2.5"), ["7"], ("nan", "-3")]:
        plain, typer_value = _plain_converts(annotation, value), _typer_converts(annotation, value)
        assert repr(plain) == repr(typer_value) and type(plain) is type(typer_value), (annotation, value)


def test_a_bool_flag_keeps_its_value():
    param, ctx = _typer_param(bool)
    cli._plain_values([param])
    assert param._runtime_param._coerce_value(True, param=param, ctx=ctx) is True
    assert param._runtime_param._coerce_value(False, param=param, ctx=ctx) is False


@pytest.fixture()
def policy_path(demo_report, tmp_path):
    return write_policy(demo_report[3].policy, tmp_path / "policy.json")


@pytest.mark.slow
def test_route_through_main_loads_no_pydantic_and_prints_what_cliRunner_prints(policy_path):
    args = ["route", str(policy_path), "where is my refund?"]
    expected = runner.invoke(app, args)
    assert expected.exit_code == 0
    code = f"import sys; sys.argv = ['routeeval', *{args!r}]; from routeeval.cli import main; main()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
    # main() leaves through os._exit: what it printed is flushed first, and the exit code kept
    assert (done.returncode, done.stdout) == (0, expected.stdout)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "routeeval.runtime" in imported and not any(name.startswith("pydantic") for name in imported)


@pytest.mark.slow
def test_main_keeps_the_exit_code_and_message_of_an_error(tmp_path):
    code = (
        f"import sys; sys.argv = ['routeeval', 'route', {str(tmp_path / 'nope.json')!r}, 'x']\n"
        "from routeeval.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: {tmp_path / 'nope.json'}: no such file.\n"
    usage = subprocess.run([sys.executable, "-m", "routeeval.cli", "route"], capture_output=True, text=True)
    assert usage.returncode == 2 and usage.stderr.endswith("Error: Missing argument 'policy'.\n")


@pytest.mark.slow
def test_main_waits_for_threads_and_exit_handlers_before_leaving():
    code = (
        "import atexit, threading, time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "import routeeval.cli as cli\n"
        "pool = ThreadPoolExecutor(1)\n"
        "def command():\n"
        "    threading.Thread(target=lambda: (time.sleep(0.2), print('thread done', flush=True))).start()\n"
        "    pool.submit(lambda: (time.sleep(0.3), print('pool done', flush=True)))\n"
        "    atexit.register(lambda: print('exit handler'))\n"
        "    print('command done', end='')\n"  # no newline: only a flush writes it
        "    raise SystemExit(4)\n"
        "cli.app = command\n"
        "cli.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 4, done.stderr
    assert done.stdout == "command donethread done\npool done\nexit handler\n"
