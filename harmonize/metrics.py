"""Harmonization metrics: MSE, fMSE, PSNR (and SSIM), per image, on the 0-255 scale.

The default protocol (docs/design.md, "Metrics"): prediction, target and mask are brought to the
evaluation size (256x256), the mask is binary, and per image

    MSE  = mean over pixels and channels of (pred - gt)^2
    fMSE = sum(M * (pred - gt)^2) / (3 * sum(M))
    PSNR = 10 log10(peak^2 / MSE), peak = 255

Published codebases differ in what they score (the network's own output or the full-resolution
result), the resize filter, rounding, the mask and the PSNR peak. `Protocol` names each choice,
and PROTOCOLS holds one preset per published evaluation script (docs/metrics.md cites the file
each reproduces). Numbers are means over images, per subset.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np

from rdhcore.errors import RdhError
from rdhcore.options import opt

PSNR_PEAKS = ("255", "target-max", "pred-range")
RESIZE_FILTERS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
    # PIL's filters widen their kernel when shrinking (antialiased), OpenCV's do not
    "pil-bilinear": "BILINEAR",
    "pil-bicubic": "BICUBIC",
}
MASKS = ("binary", "soft", "pil-1bit")
QUANTIZE = ("none", "round", "truncate")
# The normalization a script's loader applies before its tensor2im turns images back into 8 bits.
ROUNDTRIPS = {"none": None, "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)), "half": ((0.5,) * 3, (0.5,) * 3)}
# Added to the MSE inside PSNR, as iDIH does, so that an exact prediction scores a finite
# ~108 dB instead of infinity; at an MSE of 1 it changes PSNR by 4e-6 dB.
PSNR_EPS = 1e-6
# SSIM constants of Wang et al. 2004 for 8-bit images: 11x11 Gaussian window, sigma 1.5.
SSIM_C1 = (0.01 * 255) ** 2
SSIM_C2 = (0.03 * 255) ** 2


@dataclass(frozen=True)
class Protocol:
    """How images are prepared and scored. The defaults are the protocol of docs/design.md (preset "rdh")."""

    size: int | None = opt(256, "Score at this square size (presets: 256); 0 scores at the target's own size.")
    raw_output: bool = opt(False, "With --checkpoint: score the network's own output at its training size, or "
                                  "the full-resolution result with the background kept.")
    resize_filter: str = opt("bilinear", "nearest, bilinear, bicubic, area, lanczos (OpenCV) or pil-bilinear, "
                                         "pil-bicubic (PIL, antialiased).")
    resize_8bit: bool = opt(False, "Resize 8-bit images as 8-bit (rounded), as published scripts do, or in "
                                   "floating point.")
    mask: str = opt("binary", "binary (>= 0.5, nearest), soft (in [0, 1], image filter) or pil-1bit "
                              "(PIL convert('1'), nearest).")
    quantize: str = opt("none", "Raw output to 8 bits before scoring: none, round or truncate.")
    roundtrip: str = opt("none", "Read target and composite back as the script's loader and tensor2im do (float32 "
                                 "normalize, truncate): none, imagenet (CharmNet) or half (DoveNet).")
    psnr_peak: str = opt("255", "PSNR peak: 255, target-max (iDIH) or pred-range (CharmNet, DoveNet).")
    ssim: bool = opt(False, "Also compute SSIM.")

    def check(self) -> "Protocol":
        if self.psnr_peak not in PSNR_PEAKS:
            raise RdhError(f"--psnr-peak {self.psnr_peak!r}: use one of {', '.join(PSNR_PEAKS)}")
        if self.resize_filter not in RESIZE_FILTERS:
            raise RdhError(f"--resize-filter {self.resize_filter!r}: use one of {', '.join(RESIZE_FILTERS)}")
        if self.mask not in MASKS:
            raise RdhError(f"--mask {self.mask!r}: use one of {', '.join(MASKS)}")
        if self.quantize not in QUANTIZE:
            raise RdhError(f"--quantize {self.quantize!r}: use one of {', '.join(QUANTIZE)}")
        if self.roundtrip not in ROUNDTRIPS:
            raise RdhError(f"--roundtrip {self.roundtrip!r}: use one of {', '.join(ROUNDTRIPS)}")
        if self.size is not None and not 8 <= self.size <= 8192:
            raise RdhError(f"--eval-size {self.size}: use 8..8192, or 0 to score at full resolution")
        return self

    def describe(self) -> str:
        """One line naming every choice, to print beside the numbers."""
        size = f"{self.size}x{self.size}" if self.size else "full resolution"
        what = "raw network output" if self.raw_output else "full-resolution result"
        filt = f"{self.resize_filter}{' (8-bit)' if self.resize_8bit else ''}"
        mask = {"binary": "binary mask (nearest)", "soft": f"soft mask ({self.resize_filter})",
                "pil-1bit": "PIL 1-bit mask (nearest)"}[self.mask]
        quant = "" if self.quantize == "none" else f", output {'truncated' if self.quantize == 'truncate' else 'rounded'} to 8 bits"
        quant += "" if self.roundtrip == "none" else f", target read back through {self.roundtrip} normalization"
        name = preset_of(self)
        return (f"{name + ': ' if name else ''}0-255 scale, {size}, {what}, images resized {filt}, {mask}{quant}, "
                f"PSNR peak {self.psnr_peak}")

    def to_dict(self) -> dict:
        return {**asdict(self), "preset": preset_of(self)}


# One preset per published protocol; docs/metrics.md cites the file each one reproduces.
PROTOCOLS = {
    # docs/design.md: what `rdh harmonize` delivers, scored at 256 with a binary mask and peak 255
    "rdh": Protocol(),
    # CharmNet test.py (bcmi/Rendered-Image-Harmonization-Dataset-RdHarmony, CharmNet/test.py)
    "charmnet": Protocol(raw_output=True, resize_filter="bilinear", resize_8bit=True, mask="pil-1bit",
                         quantize="truncate", roundtrip="imagenet", psnr_peak="pred-range"),
    # iDIH scripts/evaluate_model.py + iharm/inference/metrics.py (saic-vul/image_harmonization)
    "iharm": Protocol(raw_output=True, resize_filter="bilinear", resize_8bit=True, mask="soft",
                      quantize="none", psnr_peak="target-max"),
    # DoveNet test.py + data/iharmony4_dataset.py (bcmi/Image-Harmonization-Dataset-iHarmony4, DoveNet/)
    "dovenet": Protocol(raw_output=True, resize_filter="pil-bilinear", resize_8bit=True, mask="pil-1bit",
                        quantize="truncate", roundtrip="half", psnr_peak="pred-range"),
}


def preset_of(protocol: Protocol) -> str | None:
    """The name of the preset `protocol` equals (SSIM aside), or None for a mix of choices."""
    for name, preset in PROTOCOLS.items():
        if all(getattr(protocol, f.name) == getattr(preset, f.name) for f in fields(Protocol) if f.name != "ssim"):
            return name
    return None


def protocol_from(preset: str = "rdh", overrides: dict | None = None) -> Protocol:
    """The named preset with the fields in `overrides` replaced (size None: full resolution)."""
    if preset not in PROTOCOLS:
        raise RdhError(f"--protocol {preset!r}: use one of {', '.join(PROTOCOLS)}")
    overrides = overrides or {}
    unknown = set(overrides) - {f.name for f in fields(Protocol)}
    if unknown:
        raise ValueError(f"not protocol fields: {sorted(unknown)}")
    return Protocol(**{**asdict(PROTOCOLS[preset]), **overrides}).check()


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

def _pil_resize(img: np.ndarray, size: int, filter_name: str) -> np.ndarray:
    from PIL import Image

    resample = getattr(Image.Resampling, filter_name)
    if img.dtype == np.uint8:
        return np.asarray(Image.fromarray(img).resize((size, size), resample))
    # float: one 32-bit plane per channel (PIL has no float RGB mode), nothing rounded
    planes = img[..., None] if img.ndim == 2 else img
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., c], np.float32), mode="F").resize((size, size), resample))
           for c in range(planes.shape[-1])]
    return np.stack(out, -1) if img.ndim == 3 else out[0]


def resize_image(img: np.ndarray, size: int | None, filter: str, eight_bit: bool = False) -> np.ndarray:
    """An HxWx3 (or HxW) array as float64 at size x size (unchanged when size is None or equal).

    eight_bit: a uint8 image is resized as uint8, so the result is rounded to whole levels (what
    OpenCV, albumentations and PIL do to 8-bit images); otherwise the resize runs in floating point.
    """
    img = np.asarray(img)
    if size is None or img.shape[:2] == (size, size):
        return img.astype(np.float64)
    keep_8bit = eight_bit and img.dtype == np.uint8
    if isinstance(RESIZE_FILTERS[filter], str):
        return _pil_resize(img if keep_8bit else img.astype(np.float32), size, RESIZE_FILTERS[filter]).astype(np.float64)
    # float32 in and out: cv2 keeps the filter's overshoot instead of clipping and rounding to uint8
    src = img if keep_8bit else img.astype(np.float32)
    return cv2.resize(src, (size, size), interpolation=RESIZE_FILTERS[filter]).astype(np.float64)


def mask_weights(mask: np.ndarray) -> np.ndarray:
    """A mask as float64 in [0, 1]: bool as 0/1, 8-bit (0-255) divided by 255, floats kept."""
    m = np.asarray(mask)
    if m.dtype == bool:
        return m.astype(np.float64)
    m = m.astype(np.float64)
    return m / 255.0 if m.max() > 1 else m


def resize_mask(mask: np.ndarray, size: int | None, protocol: Protocol) -> np.ndarray:
    """The mask at the evaluation size as float64 in [0, 1], by protocol.mask:

    binary:   >= 0.5, then nearest neighbour (OpenCV);
    soft:     the values in [0, 1], resized with the image filter (in floating point);
    pil-1bit: PIL's convert("1") of the 8-bit mask (threshold 128, Floyd-Steinberg dithering of
              the values in between), then PIL's resize, which is nearest for 1-bit images.
    """
    weights = mask_weights(mask)
    if protocol.mask == "soft":
        return np.clip(resize_image(weights, size, protocol.resize_filter), 0.0, 1.0)
    if protocol.mask == "pil-1bit":
        from PIL import Image

        one_bit = Image.fromarray(np.rint(weights * 255).astype(np.uint8)).convert("1")
        if size is not None and weights.shape != (size, size):
            one_bit = one_bit.resize((size, size), Image.Resampling.NEAREST)
        return np.asarray(one_bit, dtype=np.float64)
    binary = (weights >= 0.5).astype(np.uint8)
    if size is not None and binary.shape != (size, size):
        binary = cv2.resize(binary, (size, size), interpolation=cv2.INTER_NEAREST)
    return binary.astype(np.float64)


def quantize(pred: np.ndarray, how: str) -> np.ndarray:
    """A raw float output (0..255) to whole levels: as is, rounded, or truncated (numpy astype(uint8))."""
    if how == "none":
        return pred
    clipped = np.clip(pred, 0, 255)
    return np.rint(clipped) if how == "round" else np.floor(clipped)


def roundtrip(img: np.ndarray, how: str) -> np.ndarray:
    """An 8-bit image (0..255) as a script scores it after reading it through its loader: float32
    x / 255, normalized by (mean, std), then its tensor2im's (x * std + mean) * 255, truncated to
    uint8. The float32 rounding lowers some levels by one (docs/metrics.md)."""
    if how == "none":
        return img
    mean, std = (np.array(v, np.float32) for v in ROUNDTRIPS[how])
    x = (np.asarray(img, np.float32) / np.float32(255) - mean) / std
    if how == "half":   # pix2pix's tensor2im: (x + 1) / 2 * 255, no clip
        back = (x + np.float32(1)) / np.float32(2) * np.float32(255)
    else:               # CharmNet's tensor2im: (x * std + mean) * 255, clipped
        back = np.clip((x * std + mean) * np.float32(255), 0, 255)
    return np.floor(back).astype(np.float64)


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


def check_mask(target: np.ndarray, mask: np.ndarray, name: str = "prediction") -> None:
    if mask.shape != target.shape[:2]:
        raise RdhError(f"{name}: mask is {mask.shape[1]}x{mask.shape[0]}, target is {target.shape[1]}x{target.shape[0]}")


def check_triple(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, name: str = "prediction") -> None:
    if pred.shape != target.shape:
        raise RdhError(f"{name}: is {pred.shape[1]}x{pred.shape[0]}, its target is {target.shape[1]}x{target.shape[0]}: "
                       "write predictions at the target's size")
    check_mask(target, mask, name)


def prepare(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, protocol: Protocol,
            name: str = "prediction") -> tuple[np.ndarray, ...]:
    """(pred, target, mask) at the evaluation size, ready for score_prepared.

    With protocol.raw_output the prediction is the network's own output at the evaluation size,
    quantized by protocol.quantize; otherwise it is at the target's size and resized like it.
    """
    size, filt, eight = protocol.size, protocol.resize_filter, protocol.resize_8bit
    if protocol.raw_output:
        if size is not None and pred.shape[:2] != (size, size):
            raise RdhError(f"{name}: raw output is {pred.shape[1]}x{pred.shape[0]}: it must be the evaluation size "
                           f"{size}x{size} (--eval-size)")
        check_mask(target, mask, name)
        scored = quantize(np.asarray(pred, np.float64), protocol.quantize)
    else:
        check_triple(pred, target, mask, name)
        scored = resize_image(pred, size, filt, eight)
    return scored, roundtrip(resize_image(target, size, filt, eight), protocol.roundtrip), resize_mask(mask, size, protocol)


def score_image(pred: np.ndarray, target: np.ndarray, mask: np.ndarray, protocol: Protocol = Protocol()) -> ImageScores:
    """Score one prediction (uint8 or float, 0..255, HxWx3) against its target with the mask (HxW)."""
    return score_prepared(*prepare(pred, target, mask, protocol), protocol)
