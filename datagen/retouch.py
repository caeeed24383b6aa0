"""Parametric photo retouches, as an expert's edit in a raw developer (the HAdobe5k-like stand-in
composites): exposure, temperature and tint, contrast, highlights and shadows, vibrance and
saturation, a tone curve, and hue-band shifts.

Images are float32 HxWx3 display-referred RGB in [0, 1]. A retouch is a global, pixel-wise map
(no spatial filter), so a composite made from two retouches of one photo is well posed: the
foreground's appearance under the target's retouch is a function of what the composite shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from datagen.photo_look import REC601, linear_to_srgb, srgb_to_linear

LUMA = REC601.astype(np.float32)
HUE_BANDS = 6                      # red, yellow, green, cyan, blue, magenta: a band every 60 degrees


@dataclass(frozen=True)
class Retouch:
    """One expert's edit; the identity is Retouch()."""

    exposure: float = 0.0          # stops, on linear light
    temperature: float = 0.0       # > 0 warmer: R gain 1 + t, B gain 1 - t (linear light)
    tint: float = 0.0              # > 0 more magenta: G gain 1 - tint
    contrast: float = 0.0          # display-space slope around mid-gray: 1 + contrast
    highlights: float = 0.0        # > 0 brightens the bright end, < 0 recovers it
    shadows: float = 0.0           # > 0 lifts the dark end
    vibrance: float = 0.0          # saturation change, weighted toward the less saturated pixels
    saturation: float = 1.0
    curve: tuple[float, float, float] = (0.25, 0.5, 0.75)   # tone curve values at 0.25, 0.5, 0.75
    hue_shifts: tuple[float, ...] = (0.0,) * HUE_BANDS       # degrees, one per band

    @property
    def is_identity(self) -> bool:
        return self == Retouch()


def draw_retouch(rng: np.random.Generator, presence: float = 0.8) -> Retouch:
    """A random expert edit: each control is used with probability `presence`, at a moderate amount
    (an edit that stays a plausible photograph, not a stylization)."""
    def maybe(lo: float, hi: float, off: float = 0.0) -> float:
        return float(rng.uniform(lo, hi)) if rng.random() < presence else off

    curve = (0.25, 0.5, 0.75)
    if rng.random() < presence:
        curve = tuple(float(c + rng.uniform(-0.08, 0.08)) for c in curve)
    shifts = tuple(float(rng.uniform(-15, 15)) if rng.random() < presence / 2 else 0.0 for _ in range(HUE_BANDS))
    return Retouch(exposure=maybe(-2.0, 2.0), temperature=maybe(-0.4, 0.4), tint=maybe(-0.12, 0.12),
                   contrast=maybe(-0.3, 0.4), highlights=maybe(-0.5, 0.4), shadows=maybe(-0.4, 0.5),
                   vibrance=maybe(-0.4, 0.5), saturation=maybe(0.5, 1.5, 1.0), curve=curve, hue_shifts=shifts)


def apply_retouch(x: np.ndarray, r: Retouch) -> np.ndarray:
    """`x` (float32 HxWx3 in [0, 1]) developed with retouch `r`; the identity returns `x` unchanged."""
    if r.is_identity:
        return x
    lin = srgb_to_linear(x) * np.array([1 + r.temperature, 1 - r.tint, 1 - r.temperature]) * 2.0 ** r.exposure
    y = linear_to_srgb(lin).astype(np.float32)
    y = np.clip(0.5 + (y - 0.5) * (1 + r.contrast), 0, 1)
    luma = (y @ LUMA)[..., None]
    y = y * (1 + r.shadows * (1 - luma) ** 2)                       # lift (or deepen) the dark end
    y = 1 - (1 - np.clip(y, 0, 1)) * (1 - r.highlights * luma ** 2)  # brighten (or recover) the bright end
    y = tone_curve(np.clip(y, 0, 1), r.curve)
    y = vibrance_saturation(y, r.vibrance, r.saturation)
    if any(r.hue_shifts):
        y = shift_hue_bands(y, r.hue_shifts)
    return np.clip(y, 0, 1).astype(np.float32)


def tone_curve(y: np.ndarray, points: tuple[float, float, float]) -> np.ndarray:
    """A monotone curve through (0, 0), the three points at 0.25/0.5/0.75, and (1, 1)."""
    ys = np.maximum.accumulate(np.clip(np.array([0.0, *points, 1.0]), 0, 1))
    return np.interp(y, [0.0, 0.25, 0.5, 0.75, 1.0], ys).astype(np.float32)


def vibrance_saturation(y: np.ndarray, vibrance: float, saturation: float) -> np.ndarray:
    gray = (y @ LUMA)[..., None]
    chroma = np.abs(y - gray).max(axis=-1, keepdims=True)             # 0 for gray, up to ~0.7
    scale = saturation * (1 + vibrance * np.clip(1 - 2 * chroma, 0, 1))
    return gray + scale * (y - gray)


def shift_hue_bands(y: np.ndarray, shifts: tuple[float, ...]) -> np.ndarray:
    """Rotate hues by a shift per 60-degree band, blended linearly between band centers."""
    hsv = cv2.cvtColor(y.astype(np.float32), cv2.COLOR_RGB2HSV)      # H in [0, 360)
    pos = hsv[..., 0] / 60.0
    lo = np.floor(pos).astype(int) % HUE_BANDS
    frac = pos - np.floor(pos)
    table = np.asarray(shifts, dtype=np.float32)
    hsv[..., 0] = (hsv[..., 0] + (1 - frac) * table[lo] + frac * table[(lo + 1) % HUE_BANDS]) % 360.0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
