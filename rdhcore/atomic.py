"""Atomic writes: write into a temporary sibling, then rename over the target.

Every temporary file or folder is named `.<target name>.rdh-tmp-<random>[suffix]` (TEMP_MARK),
so a run killed mid-write leaves names that the next run of the same command sweeps (rdhcore.sweep:
only the names it writes, under the output folder's lock), and that input scanning skips (`is_temp`). Files are made
with the permissions the umask gives (0644 / 0755 under umask 022), not mkstemp's owner-only ones.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from rdhcore.errors import RdhError

TEMP_MARK = ".rdh-tmp-"


def umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask can only be read by
    setting it, which would race with other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~umask()


def dir_mode() -> int:
    return 0o777 & ~umask()


def remove_entry(entry: os.DirEntry) -> None:
    """Remove a temporary found by os.scandir: a folder with its contents, or a file (gone already is fine)."""
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)


def is_temp(name: str | Path) -> bool:
    """Whether a file or folder name is an rdh temporary (never an input, never a result)."""
    name = Path(name).name
    return name.startswith(".") and TEMP_MARK in name


def clean_temp(folder: str | Path, recursive: bool = True) -> int:
    """Remove every temporary under `folder`; returns how many were removed. Commands use
    rdhcore.sweep instead, which removes only the names they write and keeps out of folders that
    other live runs hold; this is for folders that only rdh writes (tests, throwaway folders).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if is_temp(e.name):
                remove_entry(e)
                removed += 1
            elif recursive and e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
    return removed


def clean_temp_of(target: str | Path) -> int:
    """Remove the temporaries of one output file (`.<name>.rdh-tmp-*` beside it), under its lock."""
    target = Path(target)
    removed = 0
    if target.parent.is_dir():
        for tmp in target.parent.glob(f".{glob.escape(target.name)}{TEMP_MARK}*"):
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def make_dirs(path: str | Path) -> Path:
    """mkdir -p (the umask gives the mode); returns the path."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it onto `target`.

    On any exception the temporary file is removed and `target` is left untouched.
    """
    target = Path(target)
    if target.is_dir():
        raise RdhError(f"{target}: is a folder, expected a file to write: give a file path")
    make_dirs(target.parent)
    mode = file_mode()  # read once per write: the umask comes from /proc
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{TEMP_MARK}", suffix=suffix or target.suffix, dir=target.parent)
    except OSError as exc:  # EMFILE, ENOSPC (no inode) ...: name the file being written
        _name_target(exc, target, target)
        raise
    os.close(fd)
    os.chmod(tmp, mode)  # mkstemp makes 0600; a shared dataset must be readable as the umask says
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with contextlib.suppress(FileNotFoundError):
            st = tmp_path.stat()
            if stat.S_IMODE(st.st_mode) != mode and st.st_nlink == 1:
                os.chmod(tmp_path, mode)  # a writer that replaced the file (torch.save, pyarrow) gets the mode back
        os.replace(tmp_path, target)
    except OSError as exc:
        _name_target(exc, target, tmp_path)
        raise
    finally:
        if tmp_path.exists() or tmp_path.is_symlink():
            tmp_path.unlink()


def _name_target(exc: OSError, target: Path, tmp: Path) -> None:
    """A write that failed without naming its file (os.write on a full disk) names the target, and
    one that names the temporary (or a file inside it) names its place in the target instead."""
    name = exc.filename
    if name is None:
        exc.filename = str(target)
    elif isinstance(name, str) and (name == str(tmp) or name.startswith(str(tmp) + os.sep)):
        exc.filename = str(target) + name[len(str(tmp)):]


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success rename it to `target` (replacing nothing).

    A folder that exists already is an error to the caller: finished work is skipped before this.
    """
    target = Path(target)
    make_dirs(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TEMP_MARK}", dir=target.parent))
    os.chmod(tmp, dir_mode())  # mkdtemp makes 0700
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except OSError as exc:
        _name_target(exc, target, tmp)
        raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
