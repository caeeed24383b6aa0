"""One color transfer for the photo pair makers (`--from-photos`, the demo's stand-in): move a
foreground's Lab mean and spread toward a reference photo's (Reinhard et al.'s statistics
transfer, as iHarmony4's HCOCO composites were made)."""
from __future__ import annotations

import cv2
import numpy as np


def to_lab(img: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB -> float32 Lab (L in 0-100)."""
    return lab_of(img.astype(np.float32) / 255.0)


def lab_stats(lab: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of float Lab pixels (inside mask if given)."""
    pixels = lab[mask] if mask is not None else lab.reshape(-1, 3)
    return pixels.mean(axis=0), pixels.std(axis=0) + 1e-6


def moments(photo: np.ndarray, mask: np.ndarray, reference: np.ndarray):
    """(photo Lab, (fg mean, fg std), (reference mean, reference std))."""
    lab = to_lab(photo)
    return lab, lab_stats(lab, mask), lab_stats(to_lab(reference))


def transfer_foreground(photo: np.ndarray, mask: np.ndarray, reference: np.ndarray, strength: float) -> np.ndarray:
    """The photo with its foreground's Lab mean/std moved `strength` of the way to the reference's."""
    lab, (mu, sd), (ref_mu, ref_sd) = moments(photo, mask, reference)
    target_mu = mu + strength * (ref_mu - mu)
    target_sd = sd + strength * (ref_sd - sd)
    moved = (lab[mask] - mu) / sd * target_sd + target_mu
    moved[:, 0] = np.clip(moved[:, 0], 0, 100)
    out_lab = lab.copy()
    out_lab[mask] = moved
    rgb = cv2.cvtColor(out_lab, cv2.COLOR_LAB2RGB)
    result = photo.copy()
    result[mask] = np.clip(rgb[mask] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return result


def capped_strength(photo: np.ndarray, mask: np.ndarray, reference: np.ndarray, strength: float, max_gain: float) -> float:
    """`strength`, lowered so that no Lab channel's spread inside the mask grows more than `max_gain` times.

    A flat foreground (a plain couch) moved toward a busy reference would otherwise have its
    sensor noise and JPEG blocks stretched into speckle that no photo shows.
    """
    _, (_, sd), (_, ref_sd) = moments(photo, mask, reference)
    growing = ref_sd > sd * max_gain
    if not growing.any():
        return strength
    # sd + s * (ref_sd - sd) <= max_gain * sd  <=>  s <= (max_gain - 1) * sd / (ref_sd - sd)
    limit = float(np.min((max_gain - 1) * sd[growing] / (ref_sd[growing] - sd[growing])))
    return min(strength, limit)


# ---- transfers between two foregrounds, on clean float images (the stand-in's HCOCO/HFlickr-like
# composites): applied before sensor noise and JPEG, so no noise is ever stretched ----

def lab_of(x: np.ndarray) -> np.ndarray:
    """float32 HxWx3 RGB in [0, 1] -> Lab (L in 0-100)."""
    return cv2.cvtColor(np.clip(x, 0, 1).astype(np.float32, copy=False), cv2.COLOR_RGB2LAB)


def rgb_of(lab: np.ndarray) -> np.ndarray:
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0, 1)


def transfer_statistics(x: np.ndarray, mask: np.ndarray, ref: np.ndarray, ref_mask: np.ndarray, strength: float,
                        ratio: tuple[float, float] = (0.6, 1.6)) -> np.ndarray:
    """`x` with its foreground's Lab mean and spread moved `strength` of the way toward the reference
    foreground's (another instance of the category, HCOCO's process); each channel's spread
    changes by a ratio clamped to `ratio`, so a flat object never turns into speckle."""
    lab, ref_lab = lab_of(x), lab_of(ref)
    mu, sd = lab_stats(lab, mask)
    ref_mu, ref_sd = lab_stats(ref_lab, ref_mask)
    gain = np.clip(ref_sd / sd, *ratio) ** strength
    moved = (lab[mask] - mu) * gain + mu + strength * (ref_mu - mu)
    out = lab.copy()
    out[mask] = moved
    return np.where(mask[..., None], rgb_of(out), x).astype(np.float32)


def match_histograms(x: np.ndarray, mask: np.ndarray, ref: np.ndarray, ref_mask: np.ndarray,
                     strength: float) -> np.ndarray:
    """`x` with each Lab channel of its foreground mapped through its CDF onto the reference
    foreground's (HFlickr-like), blended `strength` of the way."""
    lab, ref_lab = lab_of(x), lab_of(ref)
    out = lab.copy()
    quantiles = np.linspace(0, 1, 257)
    for c in range(3):
        values = lab[..., c][mask]
        ours = np.quantile(values, quantiles)
        theirs = np.quantile(ref_lab[..., c][ref_mask], quantiles)
        mapped = np.interp(values, ours, theirs)   # ours is sorted: a monotone map, ties kept together
        out[..., c][mask] = values + strength * (mapped - values)
    return np.where(mask[..., None], rgb_of(out), x).astype(np.float32)
