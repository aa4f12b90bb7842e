"""A rich progress bar for replays: calls done/total, cache hits, dollars spent and ETA."""

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
