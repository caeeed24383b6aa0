"""Shared console helpers for the commands: one rich console for stdout and one for stderr, the
progress bar that draws the packages' progress (rdhcore.progress.Progress), and the two ways a
command prints results: `say` for lines (paths are never wrapped or read as markup) and
`show_table` for tables (never squeezed below their natural width when the output is a file or
a pipe)."""
from __future__ import annotations

import time
from typing import Callable

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, TaskProgressColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.progress import Progress as RichProgress  # drawn here; rdhcore.progress.Progress is what it shows

# soft_wrap: a printed line is never broken at the console width, so a path that rdh prints can
# be copied or read by a script whatever the terminal's width (a terminal folds it visually).
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def say(*lines: object, err: bool = False) -> None:
    """Print each line as it is: no markup, no highlighting, no wrapping (paths stay whole)."""
    target = console if err else out
    for line in lines:
        target.print(str(line), markup=False, highlight=False, soft_wrap=True)


def show_table(table, err: bool = False) -> None:
    """Print a rich Table: fitted to a terminal's width, at its natural width in a file or pipe
    (where rich would otherwise squeeze it into 80 columns and wrap its cells)."""
    from rich.measure import Measurement

    target = console if err else out
    if target.is_terminal:
        target.print(table)
        return
    natural = Measurement.get(target, target.options.update(width=10_000), table).maximum
    # print(width=) cannot exceed the console's width: a console of the table's width, same stream
    Console(file=target.file, width=max(target.width, natural), soft_wrap=True).print(table)


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
