"""Removing what a killed run left behind, and nothing else.

A command that resumes first sweeps the temporaries (`.<name>.rdh-tmp-*`, rdhcore.atomic) that a
killed run of the same command left in its output, under the output's lock. It names the folders
it writes into and, for each, which names it writes there; only temporaries of those names are
removed, only in those folders (no descent below them), and a folder that holds another run's live
lock (a `train --out X/run` inside an `evaluate --save-outputs X`) is not touched at all. So a
user's file that merely looks like a temporary, or another live run's temporary, stays.
"""
from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Mapping

from rdhcore.atomic import TEMP_MARK, is_temp, remove_entry
from rdhcore.locks import LOCK_NAME, live_holders

Names = Callable[[str], bool]   # whether the command writes a file or folder of this name


def target_of(name: str) -> str | None:
    """The name a temporary stands for (`.a.png.rdh-tmp-x1.png` -> `a.png`), or None for other names."""
    return name[1:name.index(TEMP_MARK)] if is_temp(name) else None


def held_by_another(folder: Path, own: Path | None) -> bool:
    """Whether a live run other than the one holding `own` holds a lock in `folder` (folder or file lock)."""
    return any(path != own for path, _ in live_holders(folder, f"*{LOCK_NAME}*"))


def sweep(root: str | Path, writes: Mapping[str, Names], own: Path | None = None) -> int:
    """Remove the temporaries of the names `writes` allows, in each folder it names (relative to
    root, "" for root itself); returns how many were removed. Call it holding root's lock (`own`)."""
    removed = 0
    for rel, names in writes.items():
        folder = Path(root) / rel
        if not folder.is_dir() or held_by_another(folder, own):
            continue
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in list(entries):
                target = target_of(entry.name)
                if target is None or not names(target):
                    continue
                remove_entry(entry)
                removed += 1
    return removed


def sweep_beside(outputs: Iterable[str | Path], root: str | Path, own: Path | None = None) -> int:
    """Remove the temporaries of these exact output files (each beside its file, inside root)."""
    by_folder: dict[str, set[str]] = defaultdict(set)
    for path in outputs:
        path = Path(path)
        by_folder[os.path.relpath(path.parent, root)].add(path.name)
    return sweep(root, {("" if rel == "." else rel): names.__contains__ for rel, names in by_folder.items()}, own)


def named(*names: str) -> Names:
    """Names: exactly these."""
    return frozenset(names).__contains__


def suffixed(*suffixes: str) -> Names:
    """Names: those with one of these endings."""
    return lambda name: name.lower().endswith(suffixes)
