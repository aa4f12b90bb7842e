"""``routeeval label``: a keyboard labeler, one query per screen, each decision appended to the labels file at once.

:class:`LabelSession` holds the state and handles one key at a time, so it is tested without a terminal;
:func:`render_plain` and :func:`render_screen` draw it. :func:`run_label` opens the files and runs one of two loops:
on a terminal, single keys in cbreak mode and a full screen drawn with rich (the terminal is restored on every
exit); otherwise one key per line from stdin and plain text on stdout, so a session can be scripted.

``--show`` and ``--assist`` answers come from :class:`TierAnswers`, through the run's replay engine: the response
cache first, then calls within one ``--max-cost`` budget, for the current row and a few rows ahead.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from routeeval.errors import ConfigError, DataError, RouteEvalError
from routeeval.labeling.labels import LabelEvent, Labels, LabelsWriter, Sample, read_labels, read_sample

ENTER = "enter"
QUIT = "q"
DECISION_KEYS = {"e": "easy", "h": "hard", "s": "skip"}
KEY_LINE = "e easy · h hard · s skip · u undo · ? help · q quit"
ASSIST_KEY_LINE = "Enter accept · " + KEY_LINE
HELP_LINES = (
    ("e", "easy: a small, cheap model would answer it well"),
    ("h", "hard: it needs the strongest model"),
    ("s", "skip: cannot tell (counted as done, left out of the easy share)"),
    ("u", "undo your latest decision and go back to its row"),
    ("Enter", "accept the assist's suggestion (with --assist)"),
    ("?", "show or hide this help"),
    ("q", "quit: every decision is already saved; rerun to resume"),
)
PREFETCH = 4  # open rows after the current one whose --show/--assist answers are fetched with it
NO_KEYS = (
    "routeeval label needs keys: run it in a terminal, or pipe them one per line on stdin "
    "(printf 'e\\nh\\nq\\n' | routeeval label SAMPLE); stdin is not a terminal and gave none."
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # a query's own escape codes must not reach the terminal


# -- what the screen shows -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """One tier's answer to a row (or why there is none)."""

    tier: str
    text: str | None
    error: str | None = None
    cached: bool = False


@dataclass(frozen=True)
class Suggestion:
    """The assist's easy/hard for a row: ``label`` None when its answer names neither or the call failed."""

    label: str | None
    answer: Answer


@dataclass(frozen=True)
class LabelTally:
    """One labeler's progress over a sample."""

    n_rows: int
    easy: int
    hard: int
    skipped: int
    seconds_mean: float | None

    @property
    def done(self) -> int:
        return self.easy + self.hard + self.skipped

    def easy_share(self) -> tuple[float, float, float] | None:
        """(share, low, high): the easy share of easy + hard rows with its Wilson 95% interval; None before any."""
        judged = self.easy + self.hard
        if not judged:
            return None
        from routeeval.intervals import wilson_interval

        return wilson_interval(self.easy / judged, judged)

    def describe(self) -> str:
        parts = [f"{self.done} of {self.n_rows} labeled ({self.easy} easy, {self.hard} hard, {self.skipped} skipped)"]
        share = self.easy_share()
        if share is not None:
            mean, low, high = share
            parts.append(f"easy share {mean:.0%} (95% CI {low:.0%}–{high:.0%})")
        if self.seconds_mean is not None:
            parts.append(f"{self.seconds_mean:.1f} s per label")
        return " · ".join(parts)


@dataclass(frozen=True)
class LabelResult:
    """How a ``routeeval label`` session ended."""

    out: Path
    labeler: str
    tally: LabelTally
    ended: str  # "complete" (nothing left at start), "quit", "end of input", "interrupted"

    @property
    def exit_code(self) -> int:
        return 130 if self.ended == "interrupted" else 0

    def describe(self) -> str:
        if self.ended == "complete":
            head = f"every row is labeled by {self.labeler}"
        elif self.tally.done == self.tally.n_rows:
            head = f"done: every row is labeled by {self.labeler}"
        else:
            head = f"saved ({self.ended}); rerun to resume at the first unlabeled row"
        return f"{head}: {self.tally.describe()}. Labels: {self.out}"


# -- the session ---------------------------------------------------------------------------------------
class LabelSession:
    """One labeler working through a sample: which row is on screen, and what each key does to it.

    ``labels`` is the labels file as read (every labeler's events); each decision or undo is written through
    ``writer`` (flushed and fsynced) and appended to ``labels.events``, so the file's rules (a row's label is its
    labeler's latest decision not undone) decide what is labeled here too. ``answers``: --show/--assist answers.
    """

    def __init__(
        self,
        sample: Sample,
        labels: Labels,
        writer: LabelsWriter,
        answers: TierAnswers | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sample = sample
        self.labels = labels
        self.writer = writer
        self.labeler = writer.labeler
        self.answers = answers
        self.clock = clock
        self.ids = sample.ids
        self.message = ""
        self.help_shown = False
        self._mine: tuple[int, dict[str, LabelEvent]] = (-1, {})
        self._next_line = max((event.line for event in labels.events), default=0) + 1
        self.position: int | None = self._open_from(0)
        self._shown_at = clock()
        self._clock_waits = True  # the row's clock starts when its screen is drawn

    def screen_drawn(self) -> None:
        """Start the current row's clock if its screen was just drawn for the first time (the loops call this)."""
        if self._clock_waits:
            self._shown_at = self.clock()
            self._clock_waits = False

    # -- state the renderers read
    @property
    def done(self) -> bool:
        return self.position is None

    @property
    def row(self) -> dict | None:
        return None if self.position is None else self.sample.rows[self.position]

    @property
    def row_id(self) -> str | None:
        return None if self.position is None else self.ids[self.position]

    def decisions(self) -> dict[str, LabelEvent]:
        """Row id -> this labeler's decision in force (skips included)."""
        count, mine = self._mine
        if count != len(self.labels.events):
            current = self.labels.current()
            mine = {row_id: event for (labeler, row_id), event in current.items() if labeler == self.labeler}
            self._mine = (len(self.labels.events), mine)
        return mine

    def tally(self) -> LabelTally:
        decided = self.decisions().values()
        counts = {label: sum(event.label == label for event in decided) for label in ("easy", "hard", "skip")}
        seconds = [event.seconds for event in decided if event.seconds is not None]
        return LabelTally(
            n_rows=len(self.ids),
            easy=counts["easy"],
            hard=counts["hard"],
            skipped=counts["skip"],
            seconds_mean=sum(seconds) / len(seconds) if seconds else None,
        )

    def suggestion(self) -> Suggestion | None:
        if self.answers is None or self.row_id is None:
            return None
        return self.answers.suggestion(self.row_id)

    def tier_answers(self) -> list[Answer]:
        if self.answers is None or self.row_id is None:
            return []
        return self.answers.answers(self.row_id)

    def key_line(self) -> str:
        return ASSIST_KEY_LINE if self.answers is not None and self.answers.assist else KEY_LINE

    # -- answers for --show and --assist
    def needs_fetch(self) -> bool:
        return self.answers is not None and self.row_id is not None and not self.answers.fetched(self.row_id)

    def fetch(self) -> None:
        """Fetch the current row's answers (and a few open rows' ahead); the row's clock starts after."""
        if not self.needs_fetch() or self.answers is None or self.position is None:
            return
        ahead = [self.ids[index] for index in self._open_rows(self.position, PREFETCH + 1)]
        self.answers.fetch(ahead)

    # -- keys
    def handle_key(self, key: str) -> bool:
        """Apply one key (a character, or ENTER); False when the session should end."""
        key = ENTER if key in ("\r", "\n", "") else key
        self.message = ""
        if key == QUIT:
            return False
        if key == "?":
            self.help_shown = not self.help_shown
            return True
        self.help_shown = False
        if key == "u":
            self._undo()
        elif key in DECISION_KEYS:
            self._decide(DECISION_KEYS[key])
        elif key == ENTER:
            self._accept()
        else:
            self.message = f"unknown key {_key_name(key)}: {self.key_line()}"
        return True

    def _decide(self, label: str) -> None:
        if self.position is None:
            self.message = "every row is labeled: u undoes the latest decision, q quits"
            return
        suggestion = self.suggestion()
        row_id = self.ids[self.position]
        seconds = max(0.0, self.clock() - self._shown_at)
        record = self.writer.decide(row_id, label, seconds, suggestion.label if suggestion else None)
        self._append(record)
        self.message = f"{row_id}: {label}"
        self._go(self._open_from(self.position + 1))

    def _accept(self) -> None:
        if self.answers is None or not self.answers.assist:
            self.message = f"Enter accepts the assist's suggestion; run with --assist for one. {KEY_LINE}"
            return
        if self.position is None:
            self.message = "every row is labeled: u undoes the latest decision, q quits"
            return
        suggestion = self.suggestion()
        if suggestion is None:
            self.message = "no suggestion for this row yet: press e or h"
        elif suggestion.label is None:
            why = suggestion.answer.error or f"its answer {suggestion.answer.text!r} is neither easy nor hard"
            self.message = f"no suggestion for this row ({why}): press e or h"
        else:
            self._decide(suggestion.label)

    def _undo(self) -> None:
        last = self.labels.last_decision(self.labeler)
        if last is None:
            self.message = "nothing to undo"
            return
        self._append(self.writer.undo(last.row_id))
        self.message = f"undid {last.label} on {last.row_id}"
        self._go(self.ids.index(last.row_id))

    def _append(self, record: dict) -> None:
        event = LabelEvent(
            row_id=record["id"],
            label=None if record.get("undo") else record["label"],
            labeler=record["labeler"],
            at=record["at"],
            seconds=record.get("seconds"),
            assist=record.get("assist"),
            sample=record.get("sample"),
            line=self._next_line,
        )
        self._next_line += 1
        self.labels.events.append(event)

    def _go(self, position: int | None) -> None:
        self.position = position
        self._shown_at = self.clock()
        self._clock_waits = True

    def _open_rows(self, start: int, limit: int) -> list[int]:
        """Up to ``limit`` rows without a decision, from ``start`` on, wrapping round to the first row."""
        decided = self.decisions()
        n = len(self.ids)
        found = []
        for offset in range(n):
            index = (start + offset) % n
            if self.ids[index] not in decided:
                found.append(index)
                if len(found) == limit:
                    break
        return found

    def _open_from(self, start: int) -> int | None:
        found = self._open_rows(start, 1)
        return found[0] if found else None


def _key_name(key: str) -> str:
    if key == "\x1b" or key.startswith("\x1b"):
        return "Esc"
    return repr(key)


# -- --show and --assist: answers through the replay engine ------------------------------------------
class TierAnswers:
    """Tier answers (--show) and the assist's easy/hard (--assist) for sample rows, fetched through
    ``pipeline.PaidCalls`` (the response cache, then paid calls under one budget) and kept for the session.

    ``show_requests``/``assist_requests``: the calls per row id, built by :func:`open_answers`."""

    def __init__(
        self,
        paid: Any,  # routeeval.pipeline.PaidCalls (imported only when answers are wanted)
        show_requests: dict[str, list],
        assist_requests: dict[str, Any] | None,
        assist_words: dict[str, str],
    ) -> None:
        self.paid = paid
        self.show_requests = show_requests
        self.assist_requests = assist_requests
        self.assist_words = assist_words
        self._answers: dict[str, list[Answer]] = {}
        self._suggestions: dict[str, Suggestion] = {}

    @property
    def assist(self) -> bool:
        return self.assist_requests is not None

    @property
    def spent_usd(self) -> float:
        return self.paid.ledger.spent_usd

    @property
    def budget_usd(self) -> float | None:
        return self.paid.ledger.budget_usd

    def fetched(self, row_id: str) -> bool:
        return row_id in self._answers

    def answers(self, row_id: str) -> list[Answer]:
        return self._answers.get(row_id, [])

    def suggestion(self, row_id: str) -> Suggestion | None:
        return self._suggestions.get(row_id)

    def fetch(self, row_ids: list[str]) -> None:
        """Fetch every row of ``row_ids`` not fetched yet; a failure becomes that answer's error, never a raise."""
        wanted = [row_id for row_id in row_ids if row_id not in self._answers]
        if not wanted:
            return
        show = [request for row_id in wanted for request in self.show_requests[row_id]]
        for request, answer in zip(show, self._replay(show, "replay"), strict=True):
            self._answers.setdefault(request.row_id, []).append(answer)
        for row_id in wanted:
            self._answers.setdefault(row_id, [])
        if self.assist_requests is not None:
            triage = [self.assist_requests[row_id] for row_id in wanted]
            for request, answer in zip(triage, self._replay(triage, "triage"), strict=True):
                self._suggestions[request.row_id] = Suggestion(self._read_suggestion(answer), answer)

    def _replay(self, requests: list, phase: str) -> list[Answer]:
        if not requests:
            return []
        try:
            report = self.paid.replay(requests, phase)
        except (RouteEvalError, OSError) as exc:  # the cache or litellm itself: shown per answer, the session goes on
            return [Answer(request.tier.name, None, f"{type(exc).__name__}: {exc}") for request in requests]
        return [Answer(result.tier, result.response, result.error, result.cached) for result in report.results]

    def _read_suggestion(self, answer: Answer) -> str | None:
        from routeeval.runtime import parse_llm_answer

        return parse_llm_answer(answer.text, self.assist_words) if answer.error is None else None


def open_answers(sample: Sample, config: Any, show_tiers: list[str], assist: bool, cache: Any) -> TierAnswers | None:
    """The calls --show and --assist make for each sample row, as ``routeeval run`` makes them (the same messages,
    the simulated tiers' answer keys, the llm router's prompt and tier), priced, with API keys checked now."""
    if not show_tiers and not assist:
        return None
    from routeeval.logs import load_logs
    from routeeval.pipeline import PaidCalls
    from routeeval.pricing import price_tiers
    from routeeval.replay import CallRequest, SpendLedger, resolve_api_keys
    from routeeval.routers import LLMRouter
    from routeeval.sim import log_sim_rows, triage_sim_row

    tiers = [config.tier(name) for name in show_tiers]
    records = load_logs(sample.path).records  # a sample file is a logs file: its rows' messages as run replays them
    if [record.query.row_id for record in records] != sample.ids:
        raise DataError(
            sample.path, "its rows read as logs do not keep their ids; expected a file from routeeval sample"
        )
    keys = log_sim_rows(records)
    show_requests = {
        record.query.row_id: [
            CallRequest(record.query.row_id, tier, list(record.query.messages), key) for tier in tiers
        ]
        for record, key in zip(records, keys, strict=True)
    }
    assist_requests, words, used = None, {}, list(tiers)
    if assist:
        names = [tier.name for tier in config.tiers]
        router = LLMRouter(tiers=tuple(names), classifier_tier=config.optimize.llm_router_tier or names[0])
        router.fit(intents=[record.query.intent for record in records])
        triage_tier = config.tier(router.classifier_tier_)
        assist_requests = {
            record.query.row_id: CallRequest(
                record.query.row_id,
                triage_tier,
                router.request(record.query.input_value),
                triage_sim_row(record.query.label) if triage_tier.simulated else None,
            )
            for record in records
        }
        # the router's words: easy sends a query to the cheapest tier; hard, or any stronger tier named, does not
        words = {word: "easy" if tier == names[0] else "hard" for word, tier in router.mapping_.items()}
        words.update(easy="easy", hard="hard")
        used.append(triage_tier)
    resolve_api_keys(
        {tier.name: tier for tier in used}.values(), config.path
    )  # a missing key: exit 2 before the first screen
    ledger = SpendLedger(budget_usd=config.replay.max_cost_usd)  # one budget over --show and --assist
    paid = PaidCalls(price_tiers(config.tiers, config.path), config.replay, cache, ledger, progress=lambda _label: None)
    return TierAnswers(paid, show_requests, assist_requests, words)


# -- drawing the screen --------------------------------------------------------------------------------
def message_turns(row: dict) -> list[tuple[str, str]]:
    """(role, text) per chat turn of a sample row; a string input is one user turn."""
    value = row.get("input", row.get("messages"))
    if isinstance(value, str):
        return [("user", value)]
    turns = []
    for message in value if isinstance(value, list) else [value]:
        if isinstance(message, dict):
            turns.append((str(message.get("role", "?")), _content_text(message.get("content"))))
        else:
            turns.append(("?", str(message)))
    return turns


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: their text, other parts named
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict):
                parts.append(f"[{part.get('type', 'part')}]")
            else:
                parts.append(str(part))
        return "\n".join(parts)
    return "" if content is None else str(content)


def row_details(row: dict) -> str:
    """The row's intent, stratum, time, model and metadata on one line (its own label is never shown)."""
    parts = [f"{name} {row[name]}" for name in ("intent", "stratum", "timestamp", "model") if row.get(name)]
    metadata = row.get("metadata")
    if isinstance(metadata, dict):
        parts += [f"{key}={value}" for key, value in metadata.items() if key != "intent" or not row.get("intent")]
    return " · ".join(parts)


def clean(text: str) -> str:
    """Text safe to print: control characters (a query's own escape codes) shown as �, tabs as spaces."""
    return _CONTROL.sub("\ufffd", text.replace("\t", "    ").replace("\r\n", "\n"))


def _title(session: LabelSession) -> str:
    name = Path(session.sample.path).name
    where = "done" if session.position is None else f"row {session.position + 1} of {len(session.ids)}"
    return f"{name} · {where} · {session.labeler}"


def _spend_text(session: LabelSession) -> str:
    answers = session.answers
    if answers is None:
        return ""
    budget = "no budget" if answers.budget_usd is None else f"of ${answers.budget_usd:.2f}"
    return f"${answers.spent_usd:.4f} spent {budget}"


def _suggestion_text(session: LabelSession) -> str | None:
    if session.answers is None or not session.answers.assist or session.position is None:
        return None
    suggestion = session.suggestion()
    if suggestion is None:
        return "assist: fetching…"
    tier = suggestion.answer.tier
    if suggestion.label is not None:
        return f"assist ({tier}): {suggestion.label} · Enter accepts"
    if suggestion.answer.error is not None:
        return f"assist ({tier}): no suggestion: {clean(suggestion.answer.error)}"
    return f"assist ({tier}): no suggestion: its answer {clean(str(suggestion.answer.text))[:80]!r} is neither"


def _done_text(session: LabelSession) -> str:
    return f"Every row is labeled. {session.tally().describe()}. u undoes the latest decision, q quits."


def render_plain(session: LabelSession) -> str:
    """The screen as plain text (the stdin loop): no control codes."""
    lines = [f"== {_title(session)} =="]
    if session.help_shown:
        lines += [f"  {key:<6} {what}" for key, what in HELP_LINES]
    elif session.row is None:
        lines.append(_done_text(session))
    else:
        lines.append(f"id {clean(str(session.row_id))}")
        lines += [f"{role}: {clean(text)}" for role, text in message_turns(session.row)]
        details = row_details(session.row)
        if details:
            lines.append(f"  ({clean(details)})")
        for answer in session.tier_answers():
            lines.append(f"-- {answer.tier}{' (cached)' if answer.cached else ''}:")
            lines.append(clean(answer.text or "") if answer.error is None else f"error: {clean(answer.error)}")
        suggestion = _suggestion_text(session)
        if suggestion:
            lines.append(suggestion)
    status = session.tally().describe()
    spend = _spend_text(session)
    lines.append(f"[{status}{' · ' + spend if spend else ''}]")
    if session.message:
        lines.append(f"> {clean(session.message)}")
    lines.append(f"keys: {session.key_line()}")
    return "\n".join(lines) + "\n"


def render_screen(session: LabelSession, fetching: bool = False):
    """The full screen as a rich renderable (the terminal loop): the status line, the query (and the tiers' answers
    beside it), then the assist's suggestion, the last key's message and the keys, always in view at the bottom."""
    from rich.layout import Layout
    from rich.panel import Panel
    from rich.text import Text

    spend = _spend_text(session)
    status = Text(no_wrap=True, overflow="ellipsis")
    status.append(f" routeeval label · {_title(session)}{' · ' + spend if spend else ''}\n", style="reverse")
    status.append(f" {session.tally().describe()}", style="bold")

    footer = Text(no_wrap=True, overflow="ellipsis")
    suggestion = None if session.help_shown else _suggestion_text(session)
    if fetching:
        footer.append("fetching answers…\n", style="italic")
    elif suggestion:
        footer.append(suggestion + "\n", style="bold green")
    footer.append(clean(session.message) or " ", style="bold yellow")
    footer.append("\n" + session.key_line(), style="dim")

    layout = Layout()
    footer_size = 3 if fetching or suggestion else 2
    layout.split_column(Layout(status, size=2), Layout(name="body"), Layout(footer, size=footer_size))
    body = layout["body"]
    if session.help_shown:
        text = Text()
        for key, what in HELP_LINES:
            text.append(f"{key:<7}", style="bold")
            text.append(what + "\n")
        body.update(Panel(text, title="keys", border_style="cyan"))
        return layout
    if session.row is None:
        body.update(Panel(Text(_done_text(session)), title="done", border_style="green"))
        return layout

    query = Text()
    details = row_details(session.row)
    if details:
        query.append(clean(details) + "\n\n", style="dim")
    for role, content in message_turns(session.row):
        query.append(f"{role}\n", style="bold magenta" if role == "user" else "bold blue")
        query.append(clean(content) + "\n\n")
    query.rstrip()
    query_panel = Panel(query, title=clean(str(session.row_id)), title_align="left", border_style="cyan")
    if session.answers is None or not session.answers.show_requests.get(session.row_id or ""):
        body.update(query_panel)
        return layout
    answers = session.tier_answers()
    shown = Text()
    for answer in answers:
        shown.append(f"{answer.tier}{' (cached)' if answer.cached else ''}\n", style="bold")
        if answer.error is None:
            shown.append(clean(answer.text or "") + "\n\n")
        else:
            shown.append(f"error: {clean(answer.error)}\n\n", style="red")
    if not answers:
        shown.append("fetching…", style="italic")
    shown.rstrip()
    body.split_row(Layout(query_panel), Layout(Panel(shown, title="answers", title_align="left")))
    return layout


# -- the loops -----------------------------------------------------------------------------------------
def run_label(
    sample_path: str | Path,
    out: str | Path | None = None,
    labeler: str | None = None,
    show: str | None = None,
    assist: bool = False,
    config_path: str | Path | None = None,
    max_cost_usd: float | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> LabelResult:
    """``routeeval label``: read the sample and its labels, then label on the terminal or from stdin's lines."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    sample = read_sample(sample_path)
    if not sample.rows:
        raise DataError(sample.path, "is a sample file without rows; nothing to label")
    out_path = Path(out) if out is not None else Path(sample_path).with_name(f"{Path(sample_path).stem}.labels.jsonl")
    name = labeler or os.environ.get("USER") or "labeler"
    labels = read_labels(out_path, sample.ids)
    show_tiers = [part.strip() for part in (show or "").split(",") if part.strip()]
    if show is not None and not show_tiers:
        raise ConfigError("--show needs tier names, comma-separated (e.g. --show small,large).")
    with LabelsWriter(out_path, sample.sha256, name) as writer:
        session = LabelSession(sample, labels, writer)
        if session.done:
            return LabelResult(out_path, name, session.tally(), "complete")
        if not show_tiers and not assist:
            ended = _run_loop(session, stdin, stdout)
            return LabelResult(out_path, name, session.tally(), ended)
        from routeeval.cache import ResponseCache
        from routeeval.config import load_config, with_options

        config = with_options(load_config(config_path), max_cost_usd=max_cost_usd)
        with ResponseCache(config.replay.cache) as cache:
            session.answers = open_answers(sample, config, show_tiers, assist, cache)
            ended = _run_loop(session, stdin, stdout)
        return LabelResult(out_path, name, session.tally(), ended)


def _run_loop(session: LabelSession, stdin: TextIO | None, stdout: TextIO) -> str:
    if stdin is None or getattr(stdin, "closed", False):
        raise ConfigError(NO_KEYS)
    if _is_terminal(stdin) and _is_terminal(stdout):
        return run_terminal(session, stdin.fileno())
    return run_lines(session, stdin, stdout)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def run_lines(session: LabelSession, stdin: TextIO, stdout: TextIO) -> str:
    """One key per line from ``stdin`` (an empty line is Enter), the plain screen on ``stdout`` after each."""
    first = True
    try:
        while True:
            session.fetch()
            stdout.write(render_plain(session))
            stdout.flush()
            session.screen_drawn()
            line = stdin.readline()
            if line == "":
                if first:
                    raise ConfigError(NO_KEYS)
                return "end of input"
            first = False
            if not session.handle_key(line.strip()):
                return "quit"
    except KeyboardInterrupt:
        return "interrupted"


def run_terminal(session: LabelSession, fd: int) -> str:
    """Single keys without Enter (cbreak, no echo, Ctrl-C read as quit), the screen redrawn with rich after each.
    The terminal's settings are restored on every way out: quit, an exception, Ctrl-C or SIGTERM."""
    import signal
    import termios

    from rich.console import Console
    from rich.live import Live

    console = Console()
    saved = termios.tcgetattr(fd)
    previous_term = signal.getsignal(signal.SIGTERM)

    def terminate(_signum, _frame):
        raise SystemExit(143)

    try:
        signal.signal(signal.SIGTERM, terminate)
        mode = termios.tcgetattr(fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG)  # lflag
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, mode)
        with Live(
            console=console, screen=True, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
        ) as live:
            while True:
                if session.needs_fetch():
                    live.update(render_screen(session, fetching=True), refresh=True)
                    session.fetch()
                live.update(render_screen(session), refresh=True)
                session.screen_drawn()
                for key in read_keys(fd):
                    if not session.handle_key(key):
                        return "quit"
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGTERM, previous_term)


def read_keys(fd: int) -> list[str]:
    """The keys of one read from the terminal: Enter, Ctrl-C/Ctrl-D (as quit), an escape sequence (one key), or
    each character typed or pasted."""
    data = os.read(fd, 64)
    if not data:  # the terminal hung up
        return [QUIT]
    if data.startswith(b"\x1b"):
        return ["\x1b"]
    keys = []
    for char in data.decode("utf-8", errors="replace"):
        if char in "\r\n":
            keys.append(ENTER)
        elif char in "\x03\x04":
            keys.append(QUIT)
        else:
            keys.append(char)
    return keys
