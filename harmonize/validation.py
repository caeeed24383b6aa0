"""Validation during training: metrics of the validation rows, and sample grids for a look."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from harmonize.batch_metrics import image_errors, to_255
from harmonize.steps import to_batch
from rdhcore.atomic import write_bytes_atomic
from rdhcore.errors import RdhError


def branch(domain: str) -> str:
    """The generator branch that harmonizes rows of a validation domain ("all": iDIH, whose only one)."""
    return "real" if domain == "all" else domain


@torch.no_grad()
def validate(step, loader, device: torch.device, domain: str, channels_last: bool) -> dict:
    """Mean MSE, fMSE, PSNR (0-255 scale, at the training size) of the outputs and of the composites."""
    gen = step.generator
    was_training = gen.training
    gen.eval()
    sums = {"mse": 0.0, "fmse": 0.0, "psnr": 0.0, "composite_mse": 0.0, "composite_fmse": 0.0, "composite_psnr": 0.0}
    n = n_fg = 0
    try:
        for raw in loader:
            b = to_batch(raw, device, channels_last)
            with step.autocast():
                pred = step.harmonize(b, branch(domain))
            for name, image in (("", pred), ("composite_", b.composite)):
                e = image_errors(image, b.target, b.mask)
                sums[name + "mse"] += e["mse"].sum().item()
                sums[name + "psnr"] += (10 * torch.log10(255.0 ** 2 / e["mse"].clamp_min(1e-10))).sum().item()
                sums[name + "fmse"] += e["fmse"][e["area"] > 0].sum().item()
            n += b.target.shape[0]
            n_fg += int((e["area"] > 0).sum().item())
    finally:
        gen.train(was_training)
    out = {k: v / max(n if "fmse" not in k else n_fg, 1) for k, v in sums.items()}
    out["images"] = n
    return out


@torch.no_grad()
def sample_grid(step, raw: dict, device: torch.device, domain: str, channels_last: bool, count: int = 4) -> np.ndarray:
    """An RGB uint8 grid, one row per image: composite | output | target."""
    gen = step.generator
    was_training = gen.training
    gen.eval()
    try:
        raw = {k: v[:count] if torch.is_tensor(v) else v for k, v in raw.items()}
        b = to_batch(raw, device, channels_last)
        with step.autocast():
            pred = step.harmonize(b, branch(domain))
    finally:
        gen.train(was_training)
    out = to_255(pred).round().byte().cpu()
    rows = [torch.cat([raw["composite"][i], out[i], raw["target"][i]], dim=2) for i in range(out.shape[0])]
    return torch.cat(rows, dim=1).permute(1, 2, 0).numpy()


def write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise RdhError(f"{path}: could not encode the sample grid")
    write_bytes_atomic(path, buf.tobytes())
