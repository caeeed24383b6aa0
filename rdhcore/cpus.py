"""How many CPU cores this process may use, and how many of them other processes leave free.

Torch on CPU runs each operation on a fixed team of threads that meet at a barrier: with a
core taken by another program, the team waits for its slowest thread every operation and
training falls far below the share of the machine it could have. A team sized to the free
cores keeps its speed (bench/train.py --busy measures it).
"""
from __future__ import annotations

import os
import time


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    idle = fields[3] + fields[4]                                   # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def busy_cores(interval: float = 0.3) -> float | None:
    """Cores' worth of work the whole machine did over the next `interval` seconds (None: unknown)."""
    first = _cpu_times()
    if first is None:
        return None
    time.sleep(interval)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return None
    return (second[0] - first[0]) / (second[1] - first[1]) * (os.cpu_count() or 1)


def free_cores(busy: float | None = None) -> int:
    """Usable cores that other processes leave free now (measured), at least 1; all usable
    cores when the load cannot be read."""
    usable = usable_cores()
    busy = busy_cores() if busy is None else busy
    if busy is None:
        return usable
    return max(1, min(usable, int(usable - busy + 0.5)))
