"""Ids as file names, and paths that must stay inside their folder.

`id_path` is the one way an id (a pair id, a list name) becomes a path under an output folder:
an id may hold '/' as a sub-folder separator (`--prefix-pairs` and CSV ids do), but no part may
be empty, '.', '..', hold a backslash, NUL or another control character. `confined` checks a
path read from a file (a scene.json entry, a manifest row) against the folder it must stay in.
"""
from __future__ import annotations

import os
from pathlib import Path

from rdhcore.errors import RdhError

MAX_PART = 200  # bytes of one path component, below every common filesystem's 255


def check_id(ident: object, what: str = "id") -> str:
    """`ident` as a str that is safe as a relative path; RdhError naming it otherwise."""
    if not isinstance(ident, str):
        raise RdhError(f"{what} {ident!r} is not a string: ids are text")
    if not ident:
        raise RdhError(f"{what} is empty: every id needs a name")
    bad = next((c for c in ident if ord(c) < 32 or c in "\\\x7f"), None)
    if bad is not None:
        raise RdhError(f"{what} {ident!r} holds the character {bad!r}: ids may not hold backslashes or control characters")
    for part in ident.split("/"):
        if part in ("", ".", ".."):
            raise RdhError(f"{what} {ident!r} would leave its folder ('/' at an end, '//', '.' or '..'): "
                           "rename it to letters, digits, '_', '-' and single inner '/'")
        if len(part.encode("utf-8")) > MAX_PART:
            raise RdhError(f"{what} {ident[:40]!r}...: a part is longer than {MAX_PART} bytes: shorten the id")
    return ident


def id_path(root: str | Path, ident: object, suffix: str = "", what: str = "id") -> Path:
    """root / (ident + suffix), with ident checked by check_id and the result confined to root."""
    name = check_id(ident, what) + suffix
    path = Path(root) / name
    confined(path, root, what=f"{what} {ident!r}")
    return path


def is_inside(path: str | Path, root: str | Path) -> bool:
    """Whether `path` (relative paths taken against root) lies inside `root`, symlinks resolved."""
    root_real = os.path.realpath(root)
    full = os.path.realpath(os.path.join(root, path))
    return full == root_real or full.startswith(root_real.rstrip(os.sep) + os.sep)


def confined(path: str | Path, root: str | Path, what: str = "path", allow_outside: bool = False) -> Path:
    """`path` joined onto `root`; RdhError when it leaves root (by '..', an absolute path or a
    symlink) unless allow_outside. Returns the joined (not resolved) path."""
    if isinstance(path, str) and "\x00" in path:
        raise RdhError(f"{what}: path holds a NUL character")
    full = Path(root) / path
    if not allow_outside and not is_inside(path, root):
        raise RdhError(f"{what}: {path} leaves its folder {root}: "
                       "paths there must stay inside it (no '..', no absolute path, no symlink out)")
    return full
