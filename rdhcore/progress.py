"""The one progress protocol of rdh: long work says how many items it has, then how many more
finished. The packages report through it; the CLI draws it (rdh.commands.console.ProgressBar).

    progress.start(total, done=0, stage=None)   the work (or its next stage) has `total` items
    progress(n, **stats)                         n more items finished; stats are figures to show
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable


@runtime_checkable
class Progress(Protocol):
    def start(self, total: int | None, done: int = 0, stage: str | None = None) -> None:
        """The work, or its next `stage`, has `total` items (None: not known yet), `done` of them already."""

    def __call__(self, n: int = 1, **stats: float) -> None:
        """`n` more items finished; `stats` (e.g. losses) are shown beside the count."""


class Quiet:
    """A Progress that shows nothing."""

    def start(self, total: int | None, done: int = 0, stage: str | None = None) -> None:
        pass

    def __call__(self, n: int = 1, **stats: float) -> None:
        pass


class _Counter:
    """A plain `advance(n)` callable seen as a Progress (its start is not needed)."""

    def __init__(self, advance: Callable[[int], None]):
        self.advance = advance

    def start(self, total: int | None, done: int = 0, stage: str | None = None) -> None:
        pass

    def __call__(self, n: int = 1, **stats: float) -> None:
        self.advance(n)


def as_progress(progress: Progress | Callable[[int], None] | None) -> Progress:
    """A Progress for `progress`: itself, Quiet for None, or a plain advance(n) callable wrapped."""
    if progress is None:
        return Quiet()
    if isinstance(progress, Progress):
        return progress
    return _Counter(progress)
