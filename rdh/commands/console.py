"""Shared console helpers for the commands: one rich console, and the progress bar that draws
the packages' progress (rdhcore.progress.Progress)."""
from __future__ import annotations

import time
from typing import Callable

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, TaskProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.progress import Progress as RichProgress  # drawn here; rdhcore.progress.Progress is what it shows

console = Console(stderr=True)
out = Console()


class ProgressBar:
    """rdhcore.progress.Progress on a rich bar on stderr: count, rate, elapsed and remaining time.

    Each new `stage` passed to start() gets its own row. `show(stats)` turns the figures a step
    reports (e.g. losses) into the text beside the bar; without it the text is the rate in `unit`/s.
    Use it as a context manager; off a terminal it draws nothing (logs get the summary only).
    """

    def __init__(self, description: str, unit: str = "items", total: int | None = None,
                 show: Callable[[dict], str] | None = None):
        self.description, self.unit, self.show = description, unit, show
        self.bar = RichProgress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=False, disable=not console.is_terminal,
        )
        self.task, self.stage, self.started = None, None, time.perf_counter()
        if total is not None:
            self.start(total)

    def __enter__(self) -> "ProgressBar":
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def start(self, total: int | None, done: int = 0, stage: str | None = None) -> None:
        if self.task is None or (stage is not None and stage != self.stage):
            self.task = self.bar.add_task(stage or self.description, total=total, completed=done, rate="")
            self.stage, self.started = stage, time.perf_counter()
        else:
            self.bar.update(self.task, total=total, completed=done)

    def __call__(self, n: int = 1, **stats: float) -> None:
        if self.task is None:
            self.start(None)
        self.bar.advance(self.task, n)
        if self.show is not None and stats:
            text = self.show(stats)
        else:
            done, seconds = self.bar.tasks[self.task].completed, time.perf_counter() - self.started
            text = f"{done / seconds:.1f} {self.unit}/s" if seconds > 0 else ""
        self.bar.update(self.task, rate=text)
