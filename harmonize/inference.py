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

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
import torch

from harmonize.checkpoint import build_generator_from, checkpoint_file, load_checkpoint
from harmonize.dist import pick_device
from harmonize.normalization import MEAN, STD
from harmonize.options import HarmonizeConfig
from rdhcore.atomic import clean_temp_of
from rdhcore.errors import RdhError
from rdhcore.imageio import read_mask_gray, read_rgb, within_budget, write_image
from rdhcore.locks import output_lock
from rdhcore.outputs import Inputs
from rdhcore.sweep import sweep_beside
from rdhcore.progress import Progress, as_progress
from rdhcore.resize import to_square

# Gaussian reach (in model pixels) used to extend the foreground's correction past its edge.
EXTEND_SIGMA = 3.0


class Harmonizer:
    """An eval-mode generator ready for inference.

    __call__(composite, mask): composite float [B,3,S,S] RGB in [0, 1], mask float [B,1,S,S] in {0, 1};
    returns the harmonized image [B,3,S,S] in [0, 1] on the composite's device. Normalization is
    applied inside; every model answers `harmonize(image, mask, "real")`
    (CharmNet through its real-domain branch). Runs under torch.no_grad().
    """

    def __init__(self, model: torch.nn.Module, model_name: str, image_size: int, device: torch.device,
                 mean=MEAN, std=STD, step: int | None = None, path: Path | None = None):
        self.model = model.eval().to(device)
        self.path = path    # the checkpoint file it was loaded from
        self.model_name = model_name
        self.image_size = int(image_size)
        self.device = torch.device(device)
        self.step = step
        self._mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)

    def __call__(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if composite.dim() != 4 or composite.shape[1] != 3 or mask.dim() != 4 or mask.shape[1] != 1 \
                or mask.shape[0] != composite.shape[0] or mask.shape[2:] != composite.shape[2:]:
            raise ValueError(f"Harmonizer expects composite [B,3,S,S] and mask [B,1,S,S], "
                             f"got {tuple(composite.shape)} and {tuple(mask.shape)}")
        spec = getattr(self.model, "spec", None)
        for side in composite.shape[2:]:
            reason = spec.check_image_size(int(side)) if spec is not None else None
            if reason:
                raise RdhError(f"{reason}; resize inputs to the training size {self.image_size}")
        out_device = composite.device
        with torch.no_grad():
            x = (composite.to(self.device, torch.float32) - self._mean) / self._std
            m = mask.to(self.device, torch.float32)
            y = self.model.harmonize(x, m, "real")
            y = (y * self._std + self._mean).clamp_(0.0, 1.0)
        return y.to(out_device)


def load_harmonizer(path: str | Path, device="cpu", best: bool = False) -> Harmonizer:
    """load_checkpoint + the generator in eval mode on `device` ("auto", "cpu", "cuda[:N]" or a
    torch.device), wrapped as a Harmonizer."""
    device = device if isinstance(device, torch.device) else pick_device(device)
    path = checkpoint_file(path, best)
    ckpt = load_checkpoint(path, map_location="cpu")
    gen = build_generator_from(ckpt, path)
    norm = ckpt.get("normalization") or {"mean": MEAN, "std": STD}
    return Harmonizer(gen, ckpt["model_name"], ckpt["image_size"], device,
                      mean=norm["mean"], std=norm["std"], step=ckpt.get("step"), path=path)


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
    comp = to_square(composite.astype(np.float32) / 255.0, size)
    coverage = to_square(mask.astype(np.float32), size)  # the same filter as the image: one rule (rdhcore.resize)
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


def run_model(harmonizer: Harmonizer, composites: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Run the model on a batch: composites [B,S,S,3] float in [0, 1], masks [B,S,S] bool or float in [0, 1] -> [B,S,S,3]."""
    comp = torch.from_numpy(np.ascontiguousarray(composites.transpose(0, 3, 1, 2))).float().to(harmonizer.device)
    mask = torch.from_numpy(masks[:, None].astype(np.float32)).to(harmonizer.device)
    with torch.no_grad():
        out = harmonizer(comp, mask)
    return out.detach().float().clamp(0, 1).cpu().numpy().transpose(0, 2, 3, 1)


def harmonize_images(harmonizer: Harmonizer, composites: Sequence[np.ndarray], masks: Sequence[np.ndarray],
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


def harmonize_image(harmonizer: Harmonizer, composite: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Harmonize one composite (HxWx3 uint8) with its mask (HxW bool); returns HxWx3 uint8."""
    check_pair(composite, mask)
    return next(iter(harmonize_images(harmonizer, [composite], [mask], batch_size=1)))


# ---- files and folders: `rdh harmonize` ----

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class HarmonizeSummary:
    written: list[Path] = field(default_factory=list)
    skipped: int = 0                 # outputs that existed (folder mode, rerun)
    seconds: float = 0.0


def read_user_mask(path: Path) -> np.ndarray:
    """A user's mask as bool: pixels >= 128 are foreground (anti-aliased edges are thresholded)."""
    return read_mask_gray(path) >= 128  # a 0/1 mask is binary too, not empty


def find_mask(masks: Path, composite: Path) -> Path:
    """The mask of a composite: same stem, else the stem cut at its last '_' or '-' repeatedly.

    Matches iHarmony4 (a0001_1_3.jpg -> a0001_1.png) and rdh pair datasets (s1_0-1_5.png -> s1_0.png).
    """
    by_stem = {p.stem: p for p in input_images(masks)}
    stem = composite.stem
    while stem:
        if stem in by_stem:
            return by_stem[stem]
        cut = max(stem.rfind("_"), stem.rfind("-"))
        if cut <= 0:
            break
        stem = stem[:cut]
    raise RdhError(f"{composite}: no mask for it in {masks}: name the mask {composite.stem}.png "
                   "(or the composite's name without its last _N / -N parts)")


def input_images(folder: Path) -> list[Path]:
    """The image files of a folder, sorted: regular files with an image suffix, never an rdh
    temporary (a killed run's `.x.png.rdh-tmp-*`) nor another hidden file."""
    return [p for p in sorted(folder.iterdir())
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()]  # rdh temporaries start with '.'


OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg")
# suffixes that name an image file rdh does not write: refused rather than taken as a folder name
OTHER_IMAGE_SUFFIXES = (".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pbm", ".exr", ".hdr", ".heic",
                        ".heif", ".avif", ".jp2", ".jxl", ".ico", ".svg", ".psd")


def plan_jobs(cfg: HarmonizeConfig) -> list[tuple[Path, Path, Path]]:
    """(composite, mask, output) triples for a file or a folder; RdhError, before anything is
    written, when an output would be an input or lie inside an input folder."""
    comp, mask, out = Path(cfg.composite), Path(cfg.mask), Path(cfg.out)
    if not comp.exists():
        raise RdhError(f"COMPOSITE {comp}: not found")
    if not mask.exists():
        raise RdhError(f"MASK {mask}: not found")
    suffix = out.suffix.lower()
    if not out.is_dir() and suffix in OTHER_IMAGE_SUFFIXES:
        raise RdhError(f"-o {out}: rdh writes png or jpg images: name the output .png or .jpg (or give a folder)")
    inputs = Inputs().add_file(cfg.checkpoint, "--checkpoint")
    if comp.is_file():
        if not mask.is_file():
            raise RdhError(f"MASK {mask}: COMPOSITE is one image, so MASK must be one image too")
        target = out if suffix in OUTPUT_SUFFIXES else out / f"{comp.stem}.{cfg.format}"
        inputs.add_file(comp, "COMPOSITE").add_file(mask, "MASK").refuse([("-o", target)])
        return [(comp, mask, target)]
    if not mask.is_dir():
        raise RdhError(f"MASK {mask}: COMPOSITE is a folder, so MASK must be a folder of masks")
    if suffix in OUTPUT_SUFFIXES:
        raise RdhError(f"-o {out}: COMPOSITE is a folder, so the output must be a folder, not an image file")
    inputs.add_folder(comp, "COMPOSITE").add_folder(mask, "MASK").refuse([("-o", out)])
    images = input_images(comp)
    if not images:
        raise RdhError(f"COMPOSITE {comp}: no images ({', '.join(IMAGE_SUFFIXES)})")
    jobs = [(p, find_mask(mask, p), out / f"{p.stem}.{cfg.format}") for p in images]
    inputs.refuse(("-o", o) for _, _, o in jobs)
    return jobs


@within_budget  # --max-pixels, for this call only
def harmonize_files(cfg: HarmonizeConfig, progress: Progress | None = None) -> HarmonizeSummary:
    """Harmonize a composite file (or a folder of them) with a checkpoint; outputs at full resolution.
    `progress` counts the images to write."""
    start = time.perf_counter()
    if cfg.format not in ("png", "jpg"):
        raise RdhError(f"--format {cfg.format!r}: use png or jpg")
    if cfg.batch_size < 1:
        raise RdhError(f"--batch-size {cfg.batch_size}: use 1 or more")
    jobs = plan_jobs(cfg)
    folder_mode = Path(cfg.composite).is_dir()
    if len(jobs) > 1:  # all inputs are checked before the first output, not after earlier ones
        for comp_path, mask_path, out_path in jobs:
            if cfg.overwrite or not out_path.exists():
                check_pair(read_rgb(comp_path), read_user_mask(mask_path), str(comp_path), str(mask_path))
    with output_lock(cfg.out if folder_mode else jobs[0][2], "rdh harmonize", is_file=not folder_mode) as lock:
        if folder_mode:
            sweep_beside((o for _, _, o in jobs), cfg.out, lock.path)
        else:
            clean_temp_of(jobs[0][2])
        return _harmonize_jobs(cfg, jobs, start, progress)


def _harmonize_jobs(cfg: HarmonizeConfig, jobs: list[tuple[Path, Path, Path]], start: float,
                    progress: Progress | None) -> HarmonizeSummary:
    """harmonize_files under the output's lock."""
    summary = HarmonizeSummary()
    if len(jobs) > 1 and not cfg.overwrite:
        summary.skipped = sum(1 for _, _, o in jobs if o.exists())
        jobs = [j for j in jobs if not j[2].exists()]
    progress = as_progress(progress)
    progress.start(len(jobs))
    harmonizer = None
    for start_i in range(0, len(jobs), cfg.batch_size):
        chunk = []
        for comp_path, mask_path, out_path in jobs[start_i:start_i + cfg.batch_size]:
            composite, mask = read_rgb(comp_path), read_user_mask(mask_path)
            check_pair(composite, mask, str(comp_path), str(mask_path))  # before any model work
            chunk.append((composite, mask, out_path))
        if harmonizer is None:
            harmonizer = load_harmonizer(cfg.checkpoint, device=cfg.device)
        results = harmonize_images(harmonizer, [c for c, _, _ in chunk], [m for _, m, _ in chunk], cfg.batch_size)
        for (_, _, out_path), result in zip(chunk, results):
            write_image(out_path, result)  # atomic: a stopped run leaves whole images; a rerun skips them
            summary.written.append(out_path)
            progress(1)
    summary.seconds = time.perf_counter() - start
    return summary
