"""One writer per output folder: a lock file holding the writer's pid, host and command.

`output_lock(folder)` takes `<folder>/.rdh-lock` atomically (the content is written to a
temporary file first and hard-linked into place, so a lock is never seen half-written). A
second writer gets one RdhError naming the folder and the holder. A lock left by a process that
is gone (same host, pid not running, or running but started at another time: a reused pid)
is taken over, with a warning line on stderr. The lock is released when the block ends.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

from rdhcore.atomic import TEMP_MARK, file_mode, make_dirs
from rdhcore.errors import RdhError

LOCK_NAME = ".rdh-lock"


class LockBusy(RdhError):
    """The lock is held by a run that still runs (here or on another host)."""


def lock_file_for(target: str | Path, is_file: bool = False, part: str = "") -> Path:
    """The lock of an output folder (`folder/.rdh-lock`), or of an output file (`.<name>.rdh-lock` beside it).

    `part` names a share of a folder that writers may fill side by side (a render shard)."""
    target = Path(target)
    tail = f"-{part}" if part else ""
    return target.parent / f".{target.name}{LOCK_NAME}{tail}" if is_file else target / f"{LOCK_NAME}{tail}"


def _proc_stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux /proc), or None where unknown."""
    fields = _proc_stat(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else None


def _alive(holder: dict) -> bool:
    try:
        pid = int(holder["pid"])
    except (KeyError, TypeError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    fields = _proc_stat(pid)
    if fields is not None and fields[0] in (b"Z", b"X"):
        return False  # killed, not yet reaped by its parent
    started = holder.get("started_ticks")
    now = _start_time(pid)
    return started is None or now is None or str(started) == now


def _read(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return holder if isinstance(holder, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def describe(holder: dict) -> str:
    """`command` (pid N on HOST since T): who holds a lock, for messages."""
    since = holder.get("since")
    when = f" since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}" if isinstance(since, (int, float)) else ""
    return f"`{holder.get('command', 'rdh')}` (pid {holder.get('pid', '?')} on {holder.get('host', '?')}{when})"


def live_holders(folder: str | Path, pattern: str = f"{LOCK_NAME}*") -> list[tuple[Path, dict]]:
    """Locks in `folder` matching `pattern` whose holders still run (this host), or run on another host."""
    found = []
    host = socket.gethostname()
    for path in sorted(Path(folder).glob(pattern)):
        if path.name.endswith(".takeover") or TEMP_MARK in path.name:
            continue
        holder = _read(path)
        if holder is not None and (holder.get("host", host) != host or _alive(holder)):
            found.append((path, holder))
    return found


class OutputLock:
    """A held lock; `release()` removes the file if it is still ours."""

    def __init__(self, path: Path, token: str, created: Path | None = None) -> None:
        self.path, self.token, self.created = path, token, created

    def release(self) -> None:
        holder = _read(self.path)
        if holder and holder.get("token") == self.token:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        if self.created is not None:  # a folder made for a run that wrote nothing goes again
            with contextlib.suppress(OSError):
                self.created.rmdir()


def acquire(target: str | Path, command: str = "rdh", is_file: bool = False, part: str = "") -> OutputLock:
    """Take the lock of an output folder (or file); RdhError if another live run holds it."""
    target = Path(target)
    folder = target.parent if is_file else target
    if not is_file and (target.exists() or target.is_symlink()) and not target.is_dir():
        raise RdhError(f"{target}: exists and is not a folder: give a folder to write into (or remove the file)")
    created = None if folder.is_dir() else folder
    make_dirs(folder)
    path = lock_file_for(target, is_file, part)
    host = socket.gethostname()
    token = f"{host}:{os.getpid()}:{time.time_ns()}"
    content = json.dumps({"pid": os.getpid(), "host": host, "command": command, "since": time.time(),
                          "started_ticks": _start_time(os.getpid()), "token": token})
    for _ in range(5):
        if _create(path, content):
            _remove_stale_temps(path)
            return OutputLock(path, token, created)
        holder = _read(path)
        if holder is None:
            continue  # released meanwhile: try again
        if holder.get("host", host) != host:
            raise LockBusy(f"{target}: in use by {describe(holder)}: wait for it, or if that run is gone, "
                           f"delete {path}")
        if _alive(holder):
            raise LockBusy(f"{target}: in use by {describe(holder)}: wait for it to finish, or write to another folder")
        if _take_over(path, holder):
            print(f"rdh: warning: {target}: took over the lock of {describe(holder)}, which is no longer running",
                  file=sys.stderr)
    raise RdhError(f"{target}: could not take its lock {path}: another run keeps taking it; wait and retry")


def _create(path: Path, content: str) -> bool:
    """Create the lock file whole, or return False if it exists."""
    tmp = path.parent / f".{path.name}{TEMP_MARK}{os.getpid()}-{time.time_ns()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
    try:
        os.write(fd, content.encode("utf-8"))
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic and exclusive: fails when the lock exists
        return True
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: exclusive create, content written right after
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


STALE_TEMP_SECONDS = 60  # a lock's temporary lives for microseconds; an older one is a killed taker's


def _remove_stale_temps(path: Path) -> None:
    """Remove the temporaries of this lock that a run killed while creating it left behind."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}{TEMP_MARK}*"):
        with contextlib.suppress(OSError):
            if now - tmp.lstat().st_mtime > STALE_TEMP_SECONDS:
                tmp.unlink()


def _take_over(path: Path, stale: dict) -> bool:
    """Remove a stale lock, once: a side lock makes two takers agree on who removes it."""
    side = path.parent / f"{path.name}.takeover"
    try:
        fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL, file_mode())
    except FileExistsError:
        with contextlib.suppress(OSError):
            if time.time() - side.stat().st_mtime > 30:  # a taker killed mid-takeover
                side.unlink()
        time.sleep(0.05)
        return False
    os.close(fd)
    try:
        if _read(path) == stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return True
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            side.unlink()


@contextlib.contextmanager
def brief_lock(target: str | Path, command: str, part: str, wait: float = 60.0) -> Iterator[OutputLock]:
    """Hold a lock that is only ever held for a moment (comparing a store's recorded options): a
    busy lock is waited for, up to `wait` seconds, instead of refused."""
    deadline = time.monotonic() + wait
    while True:
        try:
            lock = acquire(target, command, part=part)
            break
        except LockBusy:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
    try:
        yield lock
    finally:
        lock.release()


@contextlib.contextmanager
def output_lock(target: str | Path, command: str = "rdh", is_file: bool = False, part: str = "") -> Iterator[OutputLock]:
    """Hold the lock of an output folder (or file, or a part of a folder) for the block. An OSError
    that leaves the block without naming its file (a write() on a full disk) is tagged with this
    output (`rdh_output`), so its one line names where the write was going."""
    lock = acquire(target, command, is_file, part)
    try:
        yield lock
    except OSError as exc:
        if exc.filename is None and getattr(exc, "rdh_output", None) is None:
            exc.rdh_output = str(target)
        raise
    finally:
        lock.release()
