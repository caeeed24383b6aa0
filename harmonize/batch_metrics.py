"""MSE and fMSE of torch batches on the 0-255 scale, for training logs and validation.

The protocol of docs/design.md ("Metrics") at the training size: images in the networks' space are
denormalized, clamped to [0, 1] and scaled by 255; fMSE = sum(M (pred - gt)^2) / (3 sum M) per
image with the binary mask M. `rdh evaluate` (harmonize.metrics) scores full-size images instead.
"""
from __future__ import annotations

import torch

from harmonize.normalization import denormalize


def to_255(image: torch.Tensor) -> torch.Tensor:
    """[B,3,S,S] in the networks' space -> float RGB on the 0-255 scale."""
    return denormalize(image.float()).clamp(0, 1) * 255.0


@torch.no_grad()
def image_errors(image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per image [B]: "mse", "fmse" (0 without foreground) and the foreground "area" in pixels.

    image, target: [B,3,S,S] in the networks' space; mask: [B,1,S,S] in {0, 1}.
    """
    se = (to_255(image) - to_255(target)) ** 2
    mask = mask.float()
    area = mask.flatten(1).sum(1)
    return {"mse": se.flatten(1).mean(1), "fmse": (se * mask).flatten(1).sum(1) / (3 * area).clamp_min(1),
            "area": area}


@torch.no_grad()
def batch_fmse(image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean fMSE over the images of a batch that have a foreground; NaN when none has one."""
    e = image_errors(image, target, mask)
    has_fg = (e["area"] > 0).float()
    return (e["fmse"] * has_fg).sum() / has_fg.sum()  # 0/0 = NaN, and no host sync on a GPU
