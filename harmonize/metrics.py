"""Harmonization metrics: MSE, fMSE, PSNR (and SSIM), per image, on the 0-255 scale.

The default protocol (DESIGN.md, "Metrics"): prediction, target and mask are brought to the
evaluation size (256x256), the mask is binary, and per image

    MSE  = mean over pixels and channels of (pred - gt)^2
    fMSE = sum(M * (pred - gt)^2) / (3 * sum(M))
    PSNR = 10 log10(peak^2 / MSE), peak = 255

Published codebases differ in the PSNR peak, the mask and the resize filter; `Protocol`
names each choice so that a number can be matched to a paper (docs/metrics.md says which
code uses which). Numbers are means over images, per subset.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from manifests.errors import RdhError

PSNR_PEAKS = ("255", "target-max", "pred-range")
RESIZE_FILTERS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}
# Added to the MSE inside PSNR, as iDIH does, so that an exact prediction scores a finite
# ~108 dB instead of infinity; at an MSE of 1 it changes PSNR by 4e-6 dB.
PSNR_EPS = 1e-6
# SSIM constants of Wang et al. 2004 for 8-bit images: 11x11 Gaussian window, sigma 1.5.
SSIM_C1 = (0.01 * 255) ** 2
SSIM_C2 = (0.03 * 255) ** 2


@dataclass(frozen=True)
class Protocol:
    """How images are prepared and scored. The defaults are the protocol of DESIGN.md."""

    size: int | None = 256           # evaluation size (square); None scores at the target's own size
    psnr_peak: str = "255"           # 255 | target-max | pred-range
    soft_mask: bool = False          # weight fMSE by the resized mask in [0, 1] instead of binarizing it
    resize_filter: str = "bilinear"  # filter for the images (and for the mask with soft_mask)
    ssim: bool = False               # also compute SSIM (slower)

    def check(self) -> "Protocol":
        if self.psnr_peak not in PSNR_PEAKS:
            raise RdhError(f"--psnr-peak {self.psnr_peak!r}: use one of {', '.join(PSNR_PEAKS)}")
        if self.resize_filter not in RESIZE_FILTERS:
            raise RdhError(f"--resize-filter {self.resize_filter!r}: use one of {', '.join(RESIZE_FILTERS)}")
        if self.size is not None and not 8 <= self.size <= 8192:
            raise RdhError(f"--eval-size {self.size}: use 8..8192, or 0 to score at full resolution")
        return self

    def describe(self) -> str:
        """One line naming every choice, to print beside the numbers."""
        size = f"{self.size}x{self.size}" if self.size else "full resolution"
        mask = f"soft mask ({self.resize_filter})" if self.soft_mask else "binary mask (nearest)"
        return f"0-255 scale, {size}, images resized {self.resize_filter}, {mask}, PSNR peak {self.psnr_peak}"

    def to_dict(self) -> dict:
        return asdict(self)


# ---- the metrics, each on float arrays in 0..255: images HxWx3, masks HxW ----

def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean of (pred - target)^2 over pixels and channels."""
    diff = pred.astype(np.float64) - target.astype(np.float64)
    return float(np.mean(diff * diff))


def fmse(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """sum(M * (pred - target)^2) / (3 * sum(M)); NaN when the mask is empty."""
    weight = mask.astype(np.float64)
    area = weight.sum()
    if area <= 0:
        return math.nan
    diff = pred.astype(np.float64) - target.astype(np.float64)
    return float((weight[..., None] * diff * diff).sum() / (diff.shape[-1] * area))


def psnr_peak(pred: np.ndarray, target: np.ndarray, how: str) -> float:
    """The peak signal of PSNR: 255, the target's maximum, or the prediction's max - min."""
    if how == "255":
        return 255.0
    if how == "target-max":
        return float(target.max())
    if how == "pred-range":
        return float(pred.max()) - float(pred.min())
    raise RdhError(f"--psnr-peak {how!r}: use one of {', '.join(PSNR_PEAKS)}")


def psnr(pred: np.ndarray, target: np.ndarray, peak: float = 255.0) -> float:
    """10 log10(peak^2 / (MSE + PSNR_EPS)) in dB."""
    return 10.0 * math.log10(peak * peak / (mse(pred, target) + PSNR_EPS)) if peak > 0 else -math.inf


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) over pixels and channels, 11x11 Gaussian window, sigma 1.5."""
    x = pred.astype(np.float64)
    y = target.astype(np.float64)

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    num = (2 * mx * my + SSIM_C1) * (2 * cxy + SSIM_C2)
    den = (mx * mx + my * my + SSIM_C1) * (vx + vy + SSIM_C2)
    return float(np.mean(num / den))


# ---- preparing an image triple for scoring ----

def resize_image(img: np.ndarray, size: int | None, filter: str) -> np.ndarray:
    """An HxWx3 (or HxW) array as float64 at size x size (unchanged when size is None or equal)."""
    img = np.asarray(img)
    if size is None or img.shape[:2] == (size, size):
        return img.astype(np.float64)
    # float32 in and out: cv2 keeps the filter's overshoot instead of clipping and rounding to uint8
    return cv2.resize(img.astype(np.float32), (size, size), interpolation=RESIZE_FILTERS[filter]).astype(np.float64)


def mask_weights(mask: np.ndarray) -> np.ndarray:
    """A mask as float64 in [0, 1]: bool as 0/1, 8-bit (0-255) divided by 255, floats kept."""
    m = np.asarray(mask)
    if m.dtype == bool:
        return m.astype(np.float64)
    m = m.astype(np.float64)
    return m / 255.0 if m.max() > 1 else m


def resize_mask(mask: np.ndarray, size: int | None, protocol: Protocol) -> np.ndarray:
    """The mask at the evaluation size: binary (>= 0.5, nearest), or soft in [0, 1] via the image filter."""
    weights = mask_weights(mask)
    if protocol.soft_mask:
        return np.clip(resize_image(weights, size, protocol.resize_filter), 0.0, 1.0)
    binary = (weights >= 0.5).astype(np.uint8)
    if size is not None and binary.shape != (size, size):
        binary = cv2.resize(binary, (size, size), interpolation=cv2.INTER_NEAREST)
    return binary.astype(np.float64)


@dataclass
class ImageScores:
    mse: float
    fmse: float
    psnr: float
    ssim: float | None = None


def score_prepared(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, protocol: Protocol) -> ImageScores:
    """Scores of arrays already at the evaluation size (float, 0..255; mask HxW in [0, 1])."""
    return ImageScores(
        mse=mse(pred, target),
        fmse=fmse(pred, target, mask),
        psnr=psnr(pred, target, psnr_peak(pred, target, protocol.psnr_peak)),
        ssim=ssim(pred, target) if protocol.ssim else None,
    )


def check_triple(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, name: str = "prediction") -> None:
    if pred.shape != target.shape:
        raise RdhError(f"{name}: is {pred.shape[1]}x{pred.shape[0]}, its target is {target.shape[1]}x{target.shape[0]}: "
                       "write predictions at the target's size")
    if mask.shape != target.shape[:2]:
        raise RdhError(f"{name}: mask is {mask.shape[1]}x{mask.shape[0]}, target is {target.shape[1]}x{target.shape[0]}")


def score_image(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, protocol: Protocol = Protocol()) -> ImageScores:
    """Score one prediction (uint8 or float, 0..255, HxWx3) against its target with the mask (HxW)."""
    check_triple(pred, target, mask)
    m = resize_mask(mask, protocol.size, protocol)
    return score_prepared(resize_image(pred, protocol.size, protocol.resize_filter),
                          resize_image(target, protocol.size, protocol.resize_filter), m, protocol)
