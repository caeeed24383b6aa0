"""The project's one exception type for errors a user can cause and fix, and the one line an
OSError of the environment (permissions, a full disk, too many open files) is told in."""
from __future__ import annotations

import errno


class RdhError(Exception):
    """A bad input, path, option or file. The message names it and says what to do.

    The CLI prints it on one line and exits with status 2; tracebacks are for bugs.
    """


OS_ERROR_HINTS = {
    errno.EACCES: "permission denied: fix the permissions or choose another path",
    errno.EPERM: "operation not permitted: fix the permissions or choose another path",
    errno.EROFS: "read-only filesystem: choose a writable output path",
    errno.ENOSPC: "no space left on the device: free some space, then rerun (finished work is kept)",
    errno.EDQUOT: "disk quota exceeded: free some space, then rerun (finished work is kept)",
    errno.EFBIG: "file too large for its filesystem or the file-size limit (ulimit -f): write to another "
                 "filesystem or raise the limit, then rerun (finished work is kept)",
    errno.EMFILE: "too many open files in this process: raise the limit (ulimit -n) or use fewer --workers, "
                  "then rerun (finished work is kept)",
    errno.ENFILE: "too many open files on this machine: close other programs or raise the system limit, "
                  "then rerun (finished work is kept)",
    errno.EIO: "input/output error: the disk or network filesystem failed; check it (dmesg), then rerun "
               "(finished work is kept)",
    errno.EISDIR: "is a folder where a file is needed: pass a file path",
    errno.ENOTDIR: "a part of this path is a file where a folder is needed: choose another path",
    errno.EEXIST: "exists already and is in the way: remove it or choose another path",
    errno.ELOOP: "symlink loop: fix or remove the link",
    errno.ENAMETOOLONG: "file name too long: shorten the path or the ids",
    errno.ENOENT: "no such file or folder: check the path",
}


def os_error_message(exc: OSError, where: str | None = None) -> str | None:
    """One line for an OSError of the environment, naming its file (else `where`, e.g. the output
    folder being written); None for an errno that is not the user's to fix (a bug keeps its traceback)."""
    hint = OS_ERROR_HINTS.get(exc.errno)
    if hint is None:
        return None
    place = exc.filename if exc.filename is not None else (f"writing into {where}" if where else "a path")
    other = f" -> {exc.filename2}" if getattr(exc, "filename2", None) else ""
    return f"{place}{other}: {hint}"


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """An exception told in one line for a user's message: its first line (cut at `limit` characters),
    else the exception's type name."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def short_repr(value: object, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters with "..." (a bad value quoted in a message)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def is_utf8(text: str) -> bool:
    """Whether text can be written as UTF-8 (JSON's \\udc80 escapes and undecodable file names give lone
    surrogates that cannot)."""
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
