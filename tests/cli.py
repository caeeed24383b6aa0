"""Run the real `rdh` command line in a subprocess, as a user would: `rdh_process(...)`.

(The `rdh_main` fixture of conftest.py runs the same entry point inside the test process,
which is faster when torch is already imported.)"""
from __future__ import annotations

import re
import subprocess
import sys


def rdh_process(*args, check: bool = False, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "rdh.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"rdh {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


NOTE = re.compile(r"^rdh( [a-z-]+)?: note: ")   # what a run says of itself when it starts, before any error


def assert_refused(code: int, stdout: str, err: str, needle: str) -> None:
    """An in-process run (the rdh_main fixture's result) refused with exit 2 and exactly one
    `rdh: error:` line holding `needle`, without a traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, stdout, err)
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("rdh: error: "), err
    assert needle in lines[0], lines[0]


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The single error line a user sees; fails if there is a traceback or several lines (a run's
    start-up notes aside)."""
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip() and not NOTE.match(l)]
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    return lines[0]
