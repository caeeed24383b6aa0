"""Intel Open Image Denoise (PyPI `pyoidn`) on the linear beauty pass, before exposure.

The RT filter in HDR mode, quality "high", on the CPU: deterministic for the same input on the
same machine, so a scene rendered twice (or on a Ray worker) gives the same bytes.

pyoidn imports torch at import time only to accept torch tensors (4 s cold, per render worker);
we pass numpy arrays, so torch is hidden while pyoidn loads unless this process already has it.
"""
from __future__ import annotations

import sys

import numpy as np

from rdhcore.errors import RdhError


def _pyoidn():
    """The pyoidn module, imported without torch where torch is not loaded yet."""
    if "pyoidn" in sys.modules or "torch" in sys.modules:
        import pyoidn

        return pyoidn
    sys.modules["torch"] = None              # `import torch` raises ImportError while pyoidn loads
    try:
        import pyoidn
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return pyoidn


def check_denoiser() -> None:
    """RdhError when pyoidn cannot be imported (checked before any scene renders)."""
    try:
        _pyoidn()
    except ImportError as exc:
        raise RdhError(f"--denoise needs the pyoidn package ({exc}): pip install pyoidn, or pass --no-denoise") from None


def denoise(hdr: np.ndarray, albedo: np.ndarray | None = None, normal: np.ndarray | None = None) -> np.ndarray:
    """Denoised copy of a linear RGB render (H x W x 3), optionally guided by albedo and normals."""
    pyoidn = _pyoidn()
    color = np.ascontiguousarray(hdr, np.float32)
    guides = {}
    if albedo is not None and normal is not None:
        guides = {"albedo": np.ascontiguousarray(np.clip(albedo, 0, 1), np.float32),
                  "normal": np.ascontiguousarray(np.clip(normal, -1, 1), np.float32)}
    out = pyoidn.denoise(color, hdr=True, quality="high", **guides)
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=0.0), 0.0, None)
