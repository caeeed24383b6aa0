"""Reading the files a user names: regular files only, text as UTF-8, with errors that name the file."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from rdhcore.errors import RdhError


def check_regular(path: str | Path, what: str = "file") -> os.stat_result:
    """stat of a regular file (symlinks followed); RdhError when missing, a folder, a FIFO, a device
    or a symlink loop: nothing here ever opens a pipe, which would block."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise RdhError(f"{path}: file not found") from None
    except OSError as exc:
        raise RdhError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise RdhError(f"{path}: is a folder, expected a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise RdhError(f"{path}: not a regular file (a pipe, socket or device): pass a {what}")
    return st


def read_regular(path: str | Path, what: str = "file") -> bytes:
    """The bytes of a regular file (see check_regular)."""
    check_regular(path, what)
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise RdhError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_text(path: str | Path, what: str = "text file") -> str:
    """A regular file decoded as UTF-8 (a BOM is dropped); RdhError naming the file and the byte
    offset when it is another encoding."""
    data = read_regular(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RdhError(f"{path}: not UTF-8 text (byte {exc.start}): save the {what} as UTF-8") from None
