"""Recorded options: the JSON file in which a resumable command keeps the options that decide its
output, so that a rerun with other options is refused instead of mixing two kinds of output."""
from __future__ import annotations

import json
from pathlib import Path

from rdhcore.atomic import write_text_atomic
from rdhcore.errors import RdhError


def read_options(path: str | Path) -> dict | None:
    """The recorded options at `path`, None when there is no record; RdhError when it is damaged."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        recorded = None
    if not isinstance(recorded, dict):
        raise RdhError(f"{path}: damaged options record: use a new OUT, or delete the file if you know the options it held")
    return recorded


def changed_options(recorded: dict, wanted: dict) -> list[str]:
    """The option names whose values differ between a record and this run, sorted."""
    return sorted(k for k in set(wanted) | set(recorded) if recorded.get(k) != wanted.get(k))


def write_options(path: str | Path, wanted: dict, sort_keys: bool = False) -> None:
    """Record `wanted` at `path` (atomic)."""
    write_text_atomic(path, json.dumps(wanted, indent=2, sort_keys=sort_keys))
