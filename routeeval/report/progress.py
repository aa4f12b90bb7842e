"""Progress on rich: the replay's bar (calls done/total, cache hits, dollars spent, ETA), and the stages of long
work without calls (``optimize``, ``import``: stage names with row counts, each with its elapsed time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class RichReplayProgress:
    """Implements the replay's progress protocol on a rich Progress written to stderr."""

    def __init__(self, label: str, *, simulated: bool = False, console=None) -> None:
        self.label = label + (" (simulated)" if simulated else "")
        self.console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._hits = 0

    def start(self, total: int, cache_hits: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = self.console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cached {task.fields[hits]} · errors {task.fields[errors]} · ${task.fields[spent]:.4f}"),
            TextColumn("ETA"),
            TimeRemainingColumn(compact=True),
            console=console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=total, hits=0, errors=0, spent=0.0)
        self._errors = 0

    def advance(self, result, spent_usd: float) -> None:
        if self._progress is None or self._task is None:  # not started, or finished
            return
        self._hits += int(bool(result.cached))
        self._errors += int(result.error is not None)
        self._progress.update(self._task, advance=1, hits=self._hits, errors=self._errors, spent=spent_usd)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class RichStageProgress:
    """Implements the library's stage callback (``stage(name)`` as each stage starts) on rich, on stderr: one line
    per stage with its own elapsed time and a spinner on the stage running.

    Use as a context manager; calling it starts the next stage and stops the clock of the one before. Nothing is
    drawn before the first stage starts, so another live display (the replay's bars) may come first.
    """

    def __init__(self, label: str, *, console=None) -> None:
        self.label = label
        self.console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RichStageProgress:
        return self

    def __call__(self, stage: str) -> None:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓"),
                TimeElapsedColumn(),  # before the text: a narrow terminal cuts the stage's name, never its time
                TextColumn(f"{self.label}: " + "{task.description}"),
                console=self.console or Console(stderr=True),
                transient=False,
            )
            self._progress.start()
        self._stop_current()
        self._task = self._progress.add_task(stage, total=1)

    def _stop_current(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=1)
            self._progress.stop_task(self._task)
            self._task = None

    def __exit__(self, *exc_info) -> None:
        if self._progress is None:
            return
        self._stop_current()
        self._progress.stop()
        self._progress = None


def stage_progress(label: str, *, show: bool = True):
    """A :class:`RichStageProgress` on stderr when ``show`` and stderr is a terminal; else a context whose stage
    callback is None (a pipe, a CI log, ``--json``: nothing is drawn)."""
    import contextlib
    import sys

    if show and sys.stderr.isatty():
        return RichStageProgress(label)
    return contextlib.nullcontext(None)
