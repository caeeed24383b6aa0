"""Ids as file names, and paths that must stay inside their folder.

`id_path` is the one way an id (a pair id, a list name) becomes a path under an output folder.
An id may hold '/' as a sub-folder separator (`--prefix-pairs` ids do), and everything that could
leave the folder is encoded, so every id has its own file inside the folder: '%' becomes '%25',
a part that is '.' or '..' becomes '%2E' or '%2E%2E', an empty part (a leading '/', '//', a
trailing '/') becomes '%2F', and a backslash or control character becomes '%XX'. So
'../../x' is written as '%2E%2E/%2E%2E/x.png' inside the folder (CSV ids of images that lie
beside the CSV's folder hold such parts), an ordinary id is its own name, and an empty id is
refused. `confined` checks a path read from a file (a scene.json entry) against the folder it must
stay in.
"""
from __future__ import annotations

import os
from pathlib import Path

from rdhcore.errors import RdhError

MAX_PART = 200  # bytes of one path component, below every common filesystem's 255


def check_id(ident: object, what: str = "id") -> str:
    """`ident` as a non-empty str; RdhError naming it otherwise."""
    if not isinstance(ident, str):
        raise RdhError(f"{what} {ident!r} is not a string: ids are text")
    if not ident:
        raise RdhError(f"{what} is empty: every id needs a name")
    return ident


def encode_id(ident: object, what: str = "id") -> str:
    """The relative path an id is stored under (see the module docstring): injective, never leaving its folder."""
    parts = []
    for part in check_id(ident, what).replace("%", "%25").split("/"):
        if part in ("", ".", ".."):
            part = {"": "%2F", ".": "%2E", "..": "%2E%2E"}[part]
        part = "".join(f"%{ord(c):02X}" if ord(c) < 32 or c in "\\\x7f" else c for c in part)
        if len(part.encode("utf-8")) > MAX_PART:
            raise RdhError(f"{what} {ident[:40]!r}...: a part is longer than {MAX_PART} bytes: shorten the id")
        parts.append(part)
    return "/".join(parts)


def id_path(root: str | Path, ident: object, suffix: str = "", what: str = "id") -> Path:
    """root / (encoded ident + suffix), confined to root (a symlink inside root that points out is refused).
    `confined` gets the path relative to root, which it joins on root itself (root may be relative)."""
    return confined(encode_id(ident, what) + suffix, root, what=f"{what} {ident!r}")


def is_inside(path: str | Path, root: str | Path) -> bool:
    """Whether `path`, relative to root (or absolute), lies inside `root`, symlinks resolved. Give a
    relative path relative to root, never one already joined onto a relative root."""
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
