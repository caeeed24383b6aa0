"""What keeps the built-in renderer's cost near its pixels: no torch in a render process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys, numpy as np
from datagen.builtin.denoise import check_denoiser, denoise
check_denoiser()
rng = np.random.default_rng(0)
flat = np.full((32, 32, 3), 0.5, np.float32)
noisy = np.clip(flat + rng.normal(0, 0.1, flat.shape).astype(np.float32), 0, None)
out = denoise(noisy)
print(float(np.abs(noisy - flat).mean()), float(np.abs(out - flat).mean()), "torch" in sys.modules)
import torch  # still importable afterwards
print(torch.__name__)
"""


def test_the_denoiser_runs_without_importing_torch():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("\n")[:2]
    noisy_err, clean_err, torch_loaded = first.split()
    assert torch_loaded == "False"
    assert float(clean_err) < 0.5 * float(noisy_err)      # it really denoised
    assert second == "torch"
