"""routeeval label: the keyboard labeler, driven through stdin (CliRunner and subprocesses) and through a
pseudo-terminal (stdlib pty): keys, undo, skip, quit, resume, kill -9, unknown keys, bad input, start-up and
redraw times, and --show/--assist on the demo config's simulated tiers."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from helpers import ROOT
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.config import Tier
from routeeval.errors import DataError
from routeeval.labeling.labels import SAMPLE_SCHEMA, LabelsWriter, read_labels, read_sample
from routeeval.labeling.session import (
    NO_KEYS,
    Answer,
    LabelSession,
    TierAnswers,
    render_plain,
    render_screen,
)
from routeeval.replay import CallRequest, CallResult, ReplayReport, SpendLedger

runner = CliRunner()

ROWS = [
    {"id": "q1", "input": "how do I reset my password?", "intent": "account", "label": "easy"},
    {
        "id": "q2",
        "input": [
            {"role": "system", "content": "You are the support bot."},
            {"role": "user", "content": "our SSO breaks after the IdP cert rotation"},
            {"role": "assistant", "content": "Which IdP do you use?"},
            {"role": "user", "content": "Okta, with SCIM provisioning on"},
        ],
        "intent": "sso",
        "metadata": {"user_plan": "enterprise", "channel": "email"},
        "label": "hard",
    },
    {"id": "q3", "input": "where are my invoices?", "intent": "billing", "label": "easy"},
    {"id": "q4", "input": "merge two workspaces keeping both audit logs", "intent": "account", "label": "hard"},
    {"id": "q5", "input": "hi", "intent": "greeting"},
]


def write_sample(path: Path, rows: list[dict] = ROWS) -> Path:
    header = {
        "routeeval_sample": SAMPLE_SCHEMA,
        "source": {"path": "logs.jsonl", "sha256": "0" * 64, "format": "jsonl"},
        "seed": 0,
        "n": len(rows),
        "stratify": "none",
        "dedupe": "exact",
        "population": {"rows": len(rows)},
        "strata": {},
    }
    lines = [json.dumps(header)] + [json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def generated_rows(n: int) -> list[dict]:
    return [
        {"id": f"r{i:04d}", "input": f"question number {i}: how do I change setting {i % 17}?", "intent": f"i{i % 5}"}
        for i in range(n)
    ]


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def current_labels(path: Path, labeler: str) -> dict[str, str]:
    return {row: event.label for (who, row), event in read_labels(path).current().items() if who == labeler}


def label(args, keys: str | None):
    return runner.invoke(app, ["label", *[str(a) for a in args]], input=keys)


@pytest.fixture()
def sample(tmp_path) -> Path:
    return write_sample(tmp_path / "sample.jsonl")


# -- through stdin, one key per line ---------------------------------------------------------------------
def test_stdin_keys_easy_hard_skip_undo_quit_then_resume(sample):
    result = label([sample, "--labeler", "ann"], "e\nh\ns\nu\nq\n")
    assert result.exit_code == 0, result.output
    out = sample.with_name("sample.labels.jsonl")  # the default: beside the sample
    kinds = [(e["id"], e.get("label") or "undo") for e in events(out)]
    assert kinds == [("q1", "easy"), ("q2", "hard"), ("q3", "skip"), ("q3", "undo")]
    assert all(e["labeler"] == "ann" and e["sample"] == read_sample(sample).sha256 for e in events(out))
    assert all(e["assist"] is None and e["seconds"] >= 0 for e in events(out) if "label" in e)
    screens = result.stdout
    assert "> undid skip on q3" in screens
    assert "2 of 5 labeled (1 easy, 1 hard, 0 skipped) · easy share 50% (95% CI 9%–91%)" in screens
    assert "\x1b" not in screens  # plain text: no control codes
    assert result.stdout.splitlines()[-1].startswith("saved (quit); rerun to resume at the first unlabeled row: 2 of 5")

    # resume at the first row without a decision (q3), in the sample's order
    again = label([sample, "--labeler", "ann"], "h\nq\n")
    assert again.exit_code == 0
    assert again.stdout.startswith("== sample.jsonl · row 3 of 5 · ann ==\nid q3\nuser: where are my invoices?\n")
    assert current_labels(out, "ann") == {"q1": "easy", "q2": "hard", "q3": "hard"}


def test_the_screen_renders_chat_turns_and_metadata_small(sample):
    result = label([sample, "--labeler", "ann"], "e\nq\n")
    screen = result.stdout.split("== sample.jsonl · row 2 of 5 · ann ==\n")[1]
    assert screen.startswith(
        "id q2\n"
        "system: You are the support bot.\n"
        "user: our SSO breaks after the IdP cert rotation\n"
        "assistant: Which IdP do you use?\n"
        "user: Okta, with SCIM provisioning on\n"
        "  (intent sso · user_plan=enterprise · channel=email)\n"
    )
    assert "hard" not in screen.split("\n[")[0]  # the row's own label (q2: hard) is never shown


def test_undo_reaches_back_into_an_earlier_session_and_returns_to_that_row(sample):
    out = sample.with_name("sample.labels.jsonl")
    label([sample, "--labeler", "ann"], "e\nh\nq\n")
    result = label([sample, "--labeler", "ann"], "u\nu\ns\nq\n")
    assert "> undid hard on q2" in result.stdout and "> undid easy on q1" in result.stdout
    assert result.stdout.split("> undid easy on q1")[0].split("\n== ")[-1].startswith("sample.jsonl · row 1 of 5 ·")
    assert current_labels(out, "ann") == {"q1": "skip"}
    nothing = label([sample, "--labeler", "ann"], "u\nu\nq\n")
    assert "> nothing to undo" in nothing.stdout


def test_labelers_are_kept_apart(sample):
    out = sample.with_name("sample.labels.jsonl")
    label([sample, "--labeler", "ann"], "e\ne\nq\n")
    result = label([sample, "--labeler", "bob"], "h\nq\n")
    assert "== sample.jsonl · row 1 of 5 · bob ==" in result.stdout
    assert current_labels(out, "bob") == {"q1": "hard"}
    assert current_labels(out, "ann") == {"q1": "easy", "q2": "easy"}


def test_an_unknown_key_shows_a_hint_and_changes_nothing(sample):
    out = sample.with_name("sample.labels.jsonl")
    result = label([sample, "--labeler", "ann", "--out", out], "x\neasy\n\nq\n")
    assert result.exit_code == 0
    assert "> unknown key 'x': e easy · h hard · s skip · u undo · ? help · q quit" in result.stdout
    assert "> unknown key 'easy': " in result.stdout  # one key per line: a word is not a key
    assert "> Enter accepts the assist's suggestion; run with --assist for one." in result.stdout
    assert events(out) == []


def test_help_lists_every_key(sample):
    result = label([sample], "?\nq\n")
    for line in (
        "  e      easy:",
        "  u      undo your latest decision",
        "  q      quit: every decision is already saved",
    ):
        assert line in result.stdout


def test_the_last_row_then_everything_labeled(sample):
    out = sample.with_name("sample.labels.jsonl")
    result = label([sample, "--labeler", "ann"], "e\nh\ne\ns\nh\n")  # the input ends: saved, exit 0
    assert result.exit_code == 0
    assert "Every row is labeled. 5 of 5 labeled (2 easy, 2 hard, 1 skipped)" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("done: every row is labeled by ann: 5 of 5 labeled")
    again = label([sample, "--labeler", "ann"], None)  # no keys needed: it says so and exits 0
    assert (again.exit_code, again.stdout) == (
        0,
        "every row is labeled by ann: 5 of 5 labeled (2 easy, 2 hard, 1 skipped) · easy share 50% "
        f"(95% CI 15%–85%) · {_mean_seconds(out):.1f} s per label. Labels: {out}\n",
    )


def _mean_seconds(out: Path) -> float:
    seconds = [e["seconds"] for e in events(out)]
    return sum(seconds) / len(seconds)


def test_no_terminal_and_no_keys_exits_2(sample):
    result = label([sample], "")
    assert (result.exit_code, result.stderr) == (2, f"error: {NO_KEYS}\n")
    assert events(sample.with_name("sample.labels.jsonl")) == []


# -- bad input: one line, exit 2 -------------------------------------------------------------------------
def test_a_file_that_is_not_a_sample_exits_2(tmp_path):
    logs = tmp_path / "logs.jsonl"
    logs.write_text('{"id": "a", "input": "hi"}\n', encoding="utf-8")
    result = label([logs], "q\n")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {logs} line 1: is not a sample file: its first line has no 'routeeval_sample' header "
        "(write one with routeeval sample LOGS)\n",
    )


def test_labels_for_rows_not_in_the_sample_exit_2(sample):
    out = sample.with_name("other.labels.jsonl")
    row = {"id": "zz", "label": "easy", "labeler": "ann", "at": "2026-01-01T00:00:00Z", "seconds": 1, "assist": None}
    out.write_text(json.dumps(row) + "\n", encoding="utf-8")
    result = label([sample, "--out", out], "q\n")
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {out} line 1: field 'id' labels row 'zz', which is not in the sample\n",
    )


def test_show_names_a_tier_the_config_does_not_have(sample, tmp_path):
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    result = label([sample, "--show", "small,huge", "--config", tmp_path / "routeeval.toml"], "q\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "unknown tier 'huge'; choose from: small, medium, large." in (
        result.stderr
    )


def test_a_torn_last_line_is_ignored_then_cut(sample):
    out = sample.with_name("sample.labels.jsonl")
    label([sample, "--labeler", "ann"], "e\nq\n")
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"id": "q2", "label": "ha')  # a kill in the middle of a write
    result = label([sample, "--labeler", "ann"], "h\nq\n")
    assert result.exit_code == 0
    assert [(e["id"], e["label"]) for e in events(out)] == [("q1", "easy"), ("q2", "hard")]


# -- the session without a terminal ----------------------------------------------------------------------
class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_seconds_are_timed_from_the_screen_drawn_to_the_key(tmp_path):
    sample = read_sample(write_sample(tmp_path / "s.jsonl"))
    clock = _Clock()
    with LabelsWriter(tmp_path / "s.labels.jsonl", sample.sha256, "ann") as writer:
        session = LabelSession(sample, read_labels(tmp_path / "s.labels.jsonl"), writer, clock=clock)
        clock.now += 50  # nothing drawn yet: not counted
        session.screen_drawn()
        clock.now += 4.5
        assert session.handle_key("e") is True
        session.screen_drawn()
        clock.now += 2.5
        session.handle_key("h")
        assert session.handle_key("q") is False
    assert [e["seconds"] for e in events(tmp_path / "s.labels.jsonl")] == [4.5, 2.5]
    assert session.tally().seconds_mean == pytest.approx(3.5)


class _FakePaid:
    """PaidCalls' surface: replay(requests, phase) -> ReplayReport, and the ledger."""

    def __init__(self, answers: dict[tuple[str, str], str | Exception]):
        self.answers = answers
        self.ledger = SpendLedger(budget_usd=1.0)
        self.calls: list[tuple[str, list[str]]] = []

    def replay(self, requests, phase):
        self.calls.append((phase, [r.row_id for r in requests]))
        results = []
        for request in requests:
            answer = self.answers[(request.row_id, request.tier.name)]
            if isinstance(answer, Exception):
                raise answer
            error = answer.removeprefix("ERROR ") if answer.startswith("ERROR ") else None
            text = None if error else answer
            results.append(CallResult(request.row_id, request.tier.name, text, 1, 1, 0.0, 1.0, error=error))
        return ReplayReport(results=results)


def _answers(sample, paid, assist=True) -> TierAnswers:
    small, large = Tier("small", "routeeval-sim/gpt-4o-mini"), Tier("large", "routeeval-sim/gpt-4o")
    msg = [{"role": "user", "content": "x"}]
    show = {row_id: [CallRequest(row_id, small, msg), CallRequest(row_id, large, msg)] for row_id in sample.ids}
    triage = {row_id: CallRequest(row_id, small, msg) for row_id in sample.ids} if assist else None
    return TierAnswers(paid, show, triage, {"easy": "easy", "hard": "hard", "small": "easy", "large": "hard"})


def test_assist_enter_accepts_and_overrides_are_recorded_with_the_suggestion(tmp_path):
    sample = read_sample(write_sample(tmp_path / "s.jsonl"))
    answers = {(r, t): f"{t} says {r}" for r in sample.ids for t in ("small", "large")}
    answers.update({("q1", "small"): "Easy.", ("q2", "small"): "hard", ("q3", "small"): "ERROR Timeout: no answer"})
    answers.update({("q4", "small"): "I cannot tell", ("q5", "small"): "easy"})
    answers[("q2", "large")] = "ERROR RateLimitError: slow down"
    paid = _FakePaid(answers)
    out = tmp_path / "s.labels.jsonl"
    with LabelsWriter(out, sample.sha256, "ann") as writer:
        session = LabelSession(sample, read_labels(out), writer, _answers(sample, paid))
        session.fetch()
        assert paid.calls == [("replay", [r for r in sample.ids for _ in (1, 2)]), ("triage", sample.ids)]
        assert "assist (small): easy · Enter accepts" in render_plain(session)
        session.handle_key("enter")  # q1: accept easy
        screen = render_plain(session)
        assert "-- large:\nerror: RateLimitError: slow down\n" in screen  # a failed call shows its error
        session.handle_key("e")  # q2: override the assist's hard
        session.handle_key("\n")  # q3: the assist's call failed
        assert session.message == "no suggestion for this row (Timeout: no answer): press e or h"
        assert "assist (small): no suggestion: Timeout: no answer" in render_plain(session)
        session.handle_key("h")
        session.handle_key("\r")  # q4: an answer that is neither
        assert session.message == (
            "no suggestion for this row (its answer 'I cannot tell' is neither easy nor hard): press e or h"
        )
        session.handle_key("s")
        session.handle_key("enter")  # q5: accept easy
    assert [(e["id"], e["label"], e["assist"]) for e in events(out)] == [
        ("q1", "easy", "easy"),
        ("q2", "easy", "hard"),
        ("q3", "hard", None),
        ("q4", "skip", None),
        ("q5", "easy", "easy"),
    ]
    assert len(paid.calls) == 2  # everything was fetched once


def test_a_replay_that_raises_becomes_each_answers_error(tmp_path):
    sample = read_sample(write_sample(tmp_path / "s.jsonl"))
    paid = _FakePaid({(r, t): DataError("cache.sqlite", "is damaged") for r in sample.ids for t in ("small", "large")})
    with LabelsWriter(tmp_path / "s.labels.jsonl", sample.sha256, "ann") as writer:
        session = LabelSession(sample, read_labels(tmp_path / "s.labels.jsonl"), writer, _answers(sample, paid))
        session.fetch()
        assert session.tier_answers() == [
            Answer("small", None, "DataError: cache.sqlite: is damaged"),
            Answer("large", None, "DataError: cache.sqlite: is damaged"),
        ]
        assert session.handle_key("e") is True  # the session goes on


def test_prefetch_fetches_the_current_row_and_a_few_open_rows_ahead(tmp_path):
    sample = read_sample(write_sample(tmp_path / "s.jsonl", generated_rows(12)))
    paid = _FakePaid({(r, t): "easy" for r in sample.ids for t in ("small", "large")})
    with LabelsWriter(tmp_path / "s.labels.jsonl", sample.sha256, "ann") as writer:
        session = LabelSession(sample, read_labels(tmp_path / "s.labels.jsonl"), writer, _answers(sample, paid, False))
        session.fetch()
        for _ in range(5):
            assert not session.needs_fetch()
            session.handle_key("e")
        assert session.needs_fetch()
        session.fetch()
    assert [sorted(set(ids)) for _, ids in paid.calls] == [sample.ids[:5], sample.ids[5:10]]


def test_every_key_redraws_the_whole_screen_on_a_200_row_sample(tmp_path):
    """Each key's work and a full-screen redraw (rich, 120x40); their time is measured in bench/bench_label.py."""
    from rich.console import Console

    sample = read_sample(write_sample(tmp_path / "s.jsonl", generated_rows(200)))
    out = tmp_path / "s.labels.jsonl"
    with LabelsWriter(out, sample.sha256, "ann") as writer:
        for row_id in sample.ids[:150]:
            writer.decide(row_id, "easy" if hash(row_id) % 4 else "hard", 3.0)
    with LabelsWriter(out, sample.sha256, "ann") as writer:
        session = LabelSession(sample, read_labels(out, sample.ids), writer)
        console = Console(file=io.StringIO(), width=120, height=40, force_terminal=True)
        console.print(render_screen(session))  # rich's first render imports what it needs
        for key in "ehsuexeh?e":
            session.handle_key(key)
            console.print(render_screen(session))
    screen = console.file.getvalue()
    assert "of 200" in screen and "easy share" in screen  # every key redrew the whole screen (timed in bench/)


# -- subprocesses: start-up, kill -9, a pseudo-terminal ----------------------------------------------------
def _label_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "routeeval.cli", "label", *[str(a) for a in args]]


@pytest.mark.slow
def test_start_up_on_a_200_row_sample_imports_no_litellm(tmp_path):
    sample = write_sample(tmp_path / "s.jsonl", generated_rows(200))
    with LabelsWriter(tmp_path / "s.labels.jsonl", read_sample(sample).sha256, "ann") as writer:
        for row_id in read_sample(sample).ids[:100]:  # resuming half-way: the status line has an interval
            writer.decide(row_id, "easy", 2.0)

    def start(*python_options: str) -> subprocess.CompletedProcess:
        command = [sys.executable, *python_options, *_label_cmd(sample, "--labeler", "ann")[1:]]
        done = subprocess.run(command, input="q\n", capture_output=True, text=True, cwd=tmp_path, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    done = start()  # its time is measured by bench/bench_label.py, not asserted here
    assert "row 101 of 200" in done.stdout
    traced = start("-X", "importtime").stderr.splitlines()
    imported = {line.split("|")[-1].strip() for line in traced if line.startswith("import time:")}
    assert "routeeval.labeling.session" in imported
    assert not {name for name in imported if name.split(".")[0] in ("litellm", "pandas", "sklearn", "rich")}


@pytest.mark.slow
def test_kill_9_mid_session_through_stdin_loses_and_duplicates_nothing(tmp_path):
    sample = write_sample(tmp_path / "sample.jsonl")
    out = tmp_path / "sample.labels.jsonl"
    proc = subprocess.Popen(
        _label_cmd(sample, "--labeler", "ann"),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    proc.stdin.write(b"e\nh\nu\ns\n")
    proc.stdin.flush()
    _wait_for(lambda: out.exists() and len(events(out)) == 4)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait(10)
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"id": "q3", "label": "ea')  # as if killed in the middle of the next write
    done = subprocess.run(
        _label_cmd(sample, "--labeler", "ann"), input="e\nq\n", capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "== sample.jsonl · row 3 of 5 · ann ==" in done.stdout.splitlines()[0]
    kinds = [(e["id"], e.get("label") or "undo") for e in events(out)]
    assert kinds == [("q1", "easy"), ("q2", "hard"), ("q2", "undo"), ("q2", "skip"), ("q3", "easy")]
    assert current_labels(out, "ann") == {"q1": "easy", "q2": "skip", "q3": "easy"}


def _wait_for(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


class Terminal:
    """``routeeval label`` in a pseudo-terminal (100x30): send single keys, read the screen as it is drawn."""

    def __init__(self, args, cwd: Path):
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.settings = termios.tcgetattr(self.slave)
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            _label_cmd(*args), stdin=self.slave, stdout=self.slave, stderr=self.slave, cwd=cwd, env=env
        )
        self.output = b""

    def read_until(self, text: str, timeout_s: float = 20.0, end: str | None = "q quit") -> str:
        """What was drawn since the last read, once ``text`` appears in it followed by ``end`` (the keys line at
        the bottom of a screen: the whole screen is in)."""
        start = len(self.output)
        deadline = time.monotonic() + timeout_s

        def drawn() -> bool:
            found = self.output.find(text.encode(), start)
            return found >= 0 and (end is None or self.output.find(end.encode(), found) >= 0)

        while not drawn():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not drawn; got {self.output[start:][-1500:]!r}")
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        return self.output[start:].decode("utf-8", errors="replace")

    def press(self, key: bytes, then: str) -> str:
        os.write(self.master, key)
        return self.read_until(then, end=None if then.startswith("saved") else "q quit")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture()
def terminal(tmp_path):
    opened = []

    def start(*args) -> Terminal:
        opened.append(Terminal(args, tmp_path))
        return opened[-1]

    yield start
    for term in opened:
        term.close()


@pytest.mark.slow
def test_a_terminal_takes_single_keys_and_is_restored(sample, terminal):
    term = terminal(sample, "--labeler", "ann")
    first = term.read_until("0 of 5 labeled")
    print(f"first screen in the pty after {time.perf_counter() - term.started:.2f} s")
    assert "how do I reset my password?" in first and "\x1b[?1049h" in term.output.decode()  # the full screen
    term.press(b"e", "1 of 5 labeled (1 easy")
    screen = term.press(b"h", "2 of 5 labeled (1 easy, 1 hard")
    assert "where are my invoices?" in screen
    assert "unknown key 'x'" in term.press(b"x", "unknown key")
    screen = term.press(b"u", "undid hard on q2")
    assert "Okta, with SCIM provisioning on" in screen  # back on q2
    term.press(b"s", "q2: skip")
    term.press(b"?", "undo your latest decision")
    term.press(b"q", "saved (quit)")
    assert term.proc.wait(10) == 0
    assert termios.tcgetattr(term.slave) == term.settings  # cbreak and no-echo undone
    kinds = [(e["id"], e.get("label") or "undo") for e in events(sample.with_name("sample.labels.jsonl"))]
    assert kinds == [("q1", "easy"), ("q2", "hard"), ("q2", "undo"), ("q2", "skip")]


@pytest.mark.slow
def test_ctrl_c_and_sigterm_in_a_terminal_restore_it(sample, terminal):
    term = terminal(sample, "--labeler", "ann")
    term.read_until("0 of 5 labeled")
    term.press(b"e", "1 of 5 labeled")
    term.press(b"\x03", "saved (quit)")  # Ctrl-C quits
    assert term.proc.wait(10) == 0
    assert termios.tcgetattr(term.slave) == term.settings

    term = terminal(sample, "--labeler", "ann")
    term.read_until("1 of 5 labeled")
    term.proc.send_signal(signal.SIGTERM)
    assert term.proc.wait(10) == 143
    assert termios.tcgetattr(term.slave) == term.settings


@pytest.mark.slow
def test_kill_9_in_a_terminal_then_resume_loses_and_duplicates_nothing(sample, terminal):
    out = sample.with_name("sample.labels.jsonl")
    term = terminal(sample, "--labeler", "ann")
    term.read_until("0 of 5 labeled")
    term.press(b"e", "1 of 5 labeled")
    term.press(b"h", "2 of 5 labeled")
    term.press(b"e", "3 of 5 labeled")
    term.proc.kill()
    term.proc.wait(10)
    term = terminal(sample, "--labeler", "ann")
    assert "merge two workspaces" in term.read_until("3 of 5 labeled")  # resumed at q4
    term.press(b"h", "4 of 5 labeled")
    term.press(b"q", "saved (quit)")
    assert term.proc.wait(10) == 0
    assert [(e["id"], e["label"]) for e in events(out)] == [
        ("q1", "easy"),
        ("q2", "hard"),
        ("q3", "easy"),
        ("q4", "hard"),
    ]


# -- --show and --assist with the demo config's simulated tiers (offline) -----------------------------------
@pytest.mark.slow
def test_show_and_assist_on_simulated_tiers(sample, in_tmp):
    shutil.copy(ROOT / "routeeval.toml", in_tmp / "routeeval.toml")
    result = label([sample, "--labeler", "ann", "--show", "small,large", "--assist"], "\n\n\n\ne\nq\n")
    assert result.exit_code == 0, result.output
    screens = result.stdout.split("== sample.jsonl · ")[1:]
    assert "-- small:\n" in screens[0] and "-- large:\n" in screens[0]
    assert "assist (small): easy · Enter accepts" in screens[0]  # the simulated triage reads the row's label
    assert "keys: Enter accept · e easy" in screens[0]
    assert "spent of $5.00" in screens[0]
    assert "assist (small): no suggestion" in screens[4]  # q5 has no label: the simulator names neither
    recorded = [(e["id"], e["label"], e["assist"]) for e in events(sample.with_name("sample.labels.jsonl"))]
    assert recorded[4] == ("q5", "easy", None)
    suggested = [s.split("assist (small): ")[1].split(" ")[0] for s in screens[:4]]
    assert recorded[:4] == [(row["id"], word, word) for row, word in zip(ROWS[:4], suggested, strict=True)]

    # the answers are in the response cache now: a second session reads them from there
    again = label([sample, "--labeler", "bob", "--show", "small,large"], "q\n")
    assert "-- small (cached):" in again.stdout and "-- large (cached):" in again.stdout


@pytest.mark.slow
def test_show_within_a_zero_budget_shows_why_and_labels_on(sample, in_tmp):
    shutil.copy(ROOT / "routeeval.toml", in_tmp / "routeeval.toml")
    result = label([sample, "--labeler", "ann", "--show", "large", "--max-cost", "0"], "h\nq\n")
    assert result.exit_code == 0, result.output
    assert "-- large:\nerror: not called: the --max-cost budget was reached\n" in result.stdout
    assert current_labels(sample.with_name("sample.labels.jsonl"), "ann") == {"q1": "hard"}


@pytest.mark.slow
def test_assist_in_a_terminal_enter_accepts(sample, terminal, tmp_path):
    shutil.copy(ROOT / "routeeval.toml", tmp_path / "routeeval.toml")
    term = terminal(sample, "--labeler", "ann", "--show", "large", "--assist")
    term.read_until("assist (small): easy · Enter accepts", timeout_s=60)  # q1 is labeled easy: the sim says so
    screen = term.press(b"\r", "1 of 5 labeled (1 easy")
    assert "Okta, with SCIM provisioning on" in screen and "answers" in screen
    term.press(b"e", "2 of 5 labeled (2 easy")  # overrides whatever the assist said on q2
    term.press(b"q", "saved (quit)")
    assert term.proc.wait(10) == 0
    recorded = [(e["id"], e["label"], e["assist"]) for e in events(sample.with_name("sample.labels.jsonl"))]
    assert recorded[0] == ("q1", "easy", "easy") and recorded[1][:2] == ("q2", "easy")
    assert recorded[1][2] in ("easy", "hard")
