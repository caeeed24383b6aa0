"""Input normalization as both official codebases have it: ImageNet mean/std on RGB in [0, 1].

iDIH (`models/fixed256/improved_dih.py`) and CharmNet (`data/rendered_dataset.py`,
`data/real_dataset.py`) both apply transforms.Normalize((.485, .456, .406), (.229, .224, .225)) to
the composite and the target; the networks blend and the losses compare in that space. The mask is
not normalized (it enters as {0, 1}).
"""
from __future__ import annotations

import torch

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


_CACHE: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    key = (x.device, x.dtype)
    if key not in _CACHE:  # one host-to-device copy per device, not one per batch
        _CACHE[key] = (torch.tensor(MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1),
                       torch.tensor(STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1))
    return _CACHE[key]


def normalize(image01: torch.Tensor) -> torch.Tensor:
    """[B,3,H,W] RGB in [0, 1] -> the networks' input space."""
    mean, std = _stats(image01)
    return (image01 - mean) / std


def denormalize(image: torch.Tensor) -> torch.Tensor:
    """The networks' space -> RGB, not clamped (clamp to [0, 1] for display or metrics)."""
    mean, std = _stats(image)
    return image * std + mean


def from_uint8(image: torch.Tensor) -> torch.Tensor:
    """[B,3,H,W] uint8 -> normalized float32."""
    return normalize(image.float().div_(255.0))
