"""Training threads sized to the cores other programs leave free (rdhcore.cpus, harmonize.dist)."""
from __future__ import annotations

import subprocess
import sys
import time

import torch

from harmonize.dist import set_cpu_threads
from rdhcore import cpus


def test_free_cores_subtracts_the_busy_ones():
    usable = cpus.usable_cores()
    assert cpus.free_cores(busy=0.0) == usable
    assert cpus.free_cores(busy=float(usable)) == 1                 # never 0
    assert cpus.free_cores(busy=100.0) == 1
    if usable >= 2:
        assert cpus.free_cores(busy=1.0) == usable - 1
        assert cpus.free_cores(busy=0.3) == usable                  # a little noise takes no core


def test_busy_cores_sees_a_busy_loop():
    idle = cpus.busy_cores(0.3)
    assert idle is not None and 0.0 <= idle <= (cpus.usable_cores() + 0.5)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        busy = cpus.busy_cores(0.5)
    finally:
        hog.kill()
        hog.wait()
    assert busy >= 0.7                                               # the loop's core, whatever else runs


def test_set_cpu_threads_takes_the_option_or_the_free_cores():
    before = torch.get_num_threads()
    try:
        assert set_cpu_threads(1) == 1 and torch.get_num_threads() == 1
        n = set_cpu_threads(None)
        assert 1 <= n <= cpus.usable_cores() and torch.get_num_threads() == n
        assert set_cpu_threads(None, processes=64) == 1             # shared among processes, at least 1
    finally:
        torch.set_num_threads(before)
