"""How a stand-in photo is developed from a render, in two steps, so that composites can be made
in between (the stand-in of iHarmony4, `datagen.standin`):

- `develop`: the render -> a clean display-referred image (float32 in [0, 1]). Gap level 1: the
  per-photo look of `datagen.photo_look` (lens softness, white balance and exposure error,
  vignetting, tone curve, saturation). Gap level 2 adds a camera pipeline run per photo on linear
  light: auto exposure and auto white balance (each with its own error), highlight clipping, and
  a Bayer mosaic demosaiced again.
- `finish`: a clean image -> the 8-bit photo before JPEG: sensor noise (amplified by the
  exposure gain), and at level 2 chroma noise. The noise field is drawn once per photo and reused
  for its composites, so a composite and its target share it and no noise is ever stretched by a
  retouch or a color transfer.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from datagen.photo_look import (Look, linear_to_srgb, srgb_to_linear, through_lens, to_display, vignette,
                                white_balance_and_exposure)

LUMA_LINEAR = np.array([0.2126, 0.7152, 0.0722])
MIDDLE_GRAY = 0.18


@dataclass(frozen=True)
class Camera:
    """A photo's camera pipeline draw (gap level 2)."""

    exposure_error: float          # stops off the auto-exposure target
    awb_strength: float            # share of the gray-world correction applied (1 = full)


def draw_camera(rng: np.random.Generator) -> Camera:
    return Camera(exposure_error=float(rng.uniform(-0.5, 0.5)), awb_strength=float(rng.uniform(0.6, 1.0)))


@dataclass
class Noise:
    """One photo's noise fields, reused by everything made from the photo."""

    luma: np.ndarray               # HxWx3 standard normal, slightly blurred (demosaicing)
    chroma: np.ndarray | None      # HxWx2 low-frequency chroma noise (level 2), display units


def draw_noise(rng: np.random.Generator, shape: tuple[int, int], chroma: bool) -> Noise:
    luma = cv2.GaussianBlur(rng.standard_normal((*shape, 3)).astype(np.float32), (0, 0), 0.5)
    fields = None
    if chroma:
        fields = cv2.GaussianBlur(rng.standard_normal((*shape, 2)).astype(np.float32), (0, 0), 1.5) * 0.02
    return Noise(luma, fields)


def auto_white_balance(linear: np.ndarray, strength: float) -> np.ndarray:
    """Gray-world white balance: channel gains toward equal means, `strength` of the way."""
    means = linear.reshape(-1, 3).mean(axis=0) + 1e-6
    return linear * (means[1] / means) ** strength


def auto_exposure(linear: np.ndarray, error_stops: float) -> tuple[np.ndarray, float]:
    """Scale so the log-average luminance lands on middle gray (times 2^error); returns (image, gain)."""
    key = float(np.exp(np.log(linear @ LUMA_LINEAR + 1e-3).mean()))
    gain = float(np.clip(MIDDLE_GRAY / key * 2.0 ** error_stops, 0.25, 16.0))
    return linear * gain, gain


def mosaic_demosaic(linear: np.ndarray) -> np.ndarray:
    """Sample an RGGB Bayer mosaic from linear light in [0, 1] and demosaic it back (bilinear)."""
    full = np.rint(np.clip(linear, 0, 1) * 65535).astype(np.uint16)
    bayer = np.empty(full.shape[:2], np.uint16)
    bayer[0::2, 0::2] = full[0::2, 0::2, 0]
    bayer[0::2, 1::2] = full[0::2, 1::2, 1]
    bayer[1::2, 0::2] = full[1::2, 0::2, 1]
    bayer[1::2, 1::2] = full[1::2, 1::2, 2]
    return cv2.cvtColor(bayer, cv2.COLOR_BayerBG2RGB).astype(np.float64) / 65535.0   # OpenCV's name of RGGB


def develop(render: np.ndarray, look: Look, camera: Camera | None) -> tuple[np.ndarray, float]:
    """A render (HxWx3 uint8) -> (clean display image, float32 in [0, 1]; the exposure gain applied)."""
    linear = through_lens(render, look)
    if camera is None:
        linear, gain = white_balance_and_exposure(linear, look), 2.0 ** look.exposure_stops
    else:
        linear = auto_white_balance(linear, camera.awb_strength) * np.array([look.gain_r, 1.0, look.gain_b])
        linear, gain = auto_exposure(linear, camera.exposure_error)
        linear = mosaic_demosaic(linear)                         # highlights clip at the sensor (in mosaic_demosaic)
    y = to_display(vignette(linear, look.vignette), look)
    return np.clip(y, 0, 1).astype(np.float32), gain


def finish(clean: np.ndarray, look: Look, noise: Noise, gain: float) -> np.ndarray:
    """A clean display image -> the 8-bit photo (before JPEG): Poisson-Gaussian sensor noise whose
    variance grows with the exposure gain, then chroma noise where the photo has it."""
    linear = srgb_to_linear(clean.astype(np.float64))
    amplify = float(np.clip(gain, 1.0, 16.0))
    std = np.sqrt(look.shot_noise * np.clip(linear, 0, None) * amplify + look.read_noise ** 2 * amplify)
    y = linear_to_srgb(linear + noise.luma * std).astype(np.float32)
    if noise.chroma is not None:
        ycc = cv2.cvtColor(y, cv2.COLOR_RGB2YCrCb)
        ycc[..., 1:] += noise.chroma
        y = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    return np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)
