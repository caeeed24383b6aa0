"""Harmonize composites of any resolution with a model trained at one square size.

The model sees the composite and mask resized to its training size S. Only its *change* to
the foreground comes back to full resolution, not its pixels:

    delta = model(composite_S, mask_S) - composite_S          (at S x S, inside the model's mask)
    delta is extended smoothly past the mask edge (normalized convolution), upsampled,
    result = composite + M * delta                               (at full resolution)

so the full-resolution detail of the foreground is kept (harmonization is a low-frequency
color change), background pixels are exactly the composite's, and the foreground rim gets
the same correction as its interior: no halo or seam where the mask was resized.
"""
from __future__ import annotations

from typing import Iterable, Protocol as TypingProtocol, Sequence

import cv2
import numpy as np
import torch

from manifests.errors import RdhError

# Gaussian reach (in model pixels) used to extend the foreground's correction past its edge.
EXTEND_SIGMA = 3.0


class HarmonizerLike(TypingProtocol):
    """What inference needs from a model: harmonize.checkpoint.Harmonizer has this shape."""

    image_size: int
    device: torch.device

    def __call__(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...


def check_pair(composite: np.ndarray, mask: np.ndarray, name: str = "composite", mask_name: str = "mask") -> None:
    """RdhError when the mask does not match the image size or selects no pixel."""
    if composite.ndim != 3 or composite.shape[2] != 3:
        raise RdhError(f"{name}: expected an RGB image, got an array of shape {composite.shape}")
    if mask.shape != composite.shape[:2]:
        raise RdhError(f"{mask_name}: mask is {mask.shape[1]}x{mask.shape[0]} but {name} is "
                       f"{composite.shape[1]}x{composite.shape[0]}: give a mask of the image's size")
    if not mask.any():
        raise RdhError(f"{mask_name}: mask is empty (no foreground pixel): paint the foreground white (255)")


def to_model_size(composite: np.ndarray, mask: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(composite SxSx3 float in [0, 1], binary model mask SxS, area coverage SxS in [0, 1])."""
    h, w = mask.shape
    shrink = size < max(h, w)
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    comp = composite.astype(np.float32) / 255.0
    if (h, w) != (size, size):
        comp = cv2.resize(comp, (size, size), interpolation=interp)
        coverage = cv2.resize(mask.astype(np.float32), (size, size), interpolation=interp)
    else:
        coverage = mask.astype(np.float32)
    binary = coverage >= 0.5
    if not binary.any():  # a foreground thinner than one model pixel: keep every touched pixel
        binary = coverage > 0
    return np.clip(comp, 0.0, 1.0), binary, np.clip(coverage, 0.0, 1.0)


def extend_delta(delta: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """The SxSx3 correction `delta`, kept inside `inside` and filled smoothly outside it.

    Outside the mask each pixel gets the Gaussian-weighted mean of nearby foreground
    corrections (normalized convolution); far away, the mean foreground correction.
    """
    weight = inside.astype(np.float32)
    num = cv2.GaussianBlur(delta * weight[..., None], (0, 0), EXTEND_SIGMA, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(weight, (0, 0), EXTEND_SIGMA, borderType=cv2.BORDER_REFLECT)
    mean = delta[inside].mean(axis=0) if inside.any() else np.zeros(3, np.float32)
    filled = np.where(den[..., None] > 1e-3, num / np.maximum(den, 1e-3)[..., None], mean)
    return np.where(inside[..., None], delta, filled).astype(np.float32)


def restore_full_resolution(composite: np.ndarray, mask: np.ndarray, small_composite: np.ndarray,
                            small_output: np.ndarray, small_mask: np.ndarray) -> np.ndarray:
    """Apply the model's SxS correction to the full-resolution composite inside the mask; uint8."""
    h, w = mask.shape
    delta = extend_delta(small_output - small_composite, small_mask)
    if delta.shape[:2] != (h, w):
        delta = cv2.resize(delta, (w, h), interpolation=cv2.INTER_LINEAR)
    result = composite.astype(np.float32) + 255.0 * delta * mask[..., None]
    out = np.clip(np.rint(result), 0, 255).astype(np.uint8)
    out[~mask] = composite[~mask]  # bit-exact background, whatever rounding did
    return out


def run_model(harmonizer: HarmonizerLike, composites: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Run the model on a batch: composites [B,S,S,3] float in [0, 1], masks [B,S,S] bool -> [B,S,S,3]."""
    comp = torch.from_numpy(np.ascontiguousarray(composites.transpose(0, 3, 1, 2))).float().to(harmonizer.device)
    mask = torch.from_numpy(masks[:, None].astype(np.float32)).to(harmonizer.device)
    with torch.no_grad():
        out = harmonizer(comp, mask)
    return out.detach().float().clamp(0, 1).cpu().numpy().transpose(0, 2, 3, 1)


def harmonize_images(harmonizer: HarmonizerLike, composites: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                     batch_size: int = 8) -> Iterable[np.ndarray]:
    """Yield the harmonized full-resolution uint8 image of each (composite, mask), in order.

    composites: HxWx3 uint8 RGB of any size; masks: HxW bool of the same size, not empty.
    """
    size = int(harmonizer.image_size)
    for start in range(0, len(composites), batch_size):
        chunk = range(start, min(start + batch_size, len(composites)))
        prepared = [to_model_size(composites[i], masks[i], size) for i in chunk]
        outputs = run_model(harmonizer, np.stack([p[0] for p in prepared]), np.stack([p[1] for p in prepared]))
        for i, (small_comp, small_mask, _), small_out in zip(chunk, prepared, outputs):
            yield restore_full_resolution(composites[i], masks[i], small_comp, small_out, small_mask)


def harmonize_image(harmonizer: HarmonizerLike, composite: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Harmonize one composite (HxWx3 uint8) with its mask (HxW bool); returns HxWx3 uint8."""
    check_pair(composite, mask)
    return next(iter(harmonize_images(harmonizer, [composite], [mask], batch_size=1)))
