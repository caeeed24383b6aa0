"""Real-photo pairs (iHarmony4 style) from a user's photos and foreground masks.

The ground truth is the photo itself. The composite keeps the background and replaces the
foreground by a color-transferred copy: its Lab mean and standard deviation are moved to those
of a reference photo (Reinhard et al. 2001, the transfer iHarmony4's HCOCO subset used), with a
random strength so that the shifts vary. Only pixels inside the binary mask change.

Layout written (like iHarmony4)::

    composite_images/<name>_<maskid>_<k>.<ext>
    masks/<name>_<maskid>.png
    real_images/<name>.<ext>
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from datagen.compose import (ComposeSummary, check_options_match, check_out_not_inside, record_options_of,
                             resize_to_max_side, scene_seed)
from rdhcore.imageio import encode, read_mask, read_rgb, write_mask
from rdhcore.atomic import clean_temp, is_temp, write_bytes_atomic
from rdhcore.errors import RdhError
from rdhcore.locks import output_lock
from manifests.schema import write_manifest
from manifests.splits import assign_group_split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class PhotoConfig:
    """Options of `rdh make-composites --from-photos`."""

    images: Path
    masks: Path
    out: Path
    variants: int = 1               # composites per mask, each toward another reference photo
    strength: tuple[float, float] = (0.6, 1.0)  # fraction of the full statistics transfer
    format: str = "jpg"
    quality: int = 95
    max_side: int | None = None
    min_fg_ratio: float = 0.0
    max_fg_ratio: float = 1.0
    min_fg_change: float = 0.0
    category: str = "unknown"
    test_fraction: float = 0.0
    seed: int = 0

    def output_options(self) -> dict:
        """The options that decide the files written; a rerun into the same OUT must match them."""
        keys = ("variants", "strength", "format", "quality", "max_side", "min_fg_ratio", "max_fg_ratio",
                "min_fg_change", "category", "seed")
        return {k: (list(v) if isinstance(v := getattr(self, k), tuple) else v) for k in keys}


def lab_stats(lab: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of float Lab pixels (inside mask if given)."""
    pixels = lab[mask] if mask is not None else lab.reshape(-1, 3)
    return pixels.mean(axis=0), pixels.std(axis=0) + 1e-6


def transfer_foreground(photo: np.ndarray, mask: np.ndarray, reference: np.ndarray, strength: float) -> np.ndarray:
    """The photo with its foreground's Lab mean/std moved `strength` of the way to the reference's."""
    lab = cv2.cvtColor(photo.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    ref_lab = cv2.cvtColor(reference.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    mu, sd = lab_stats(lab, mask)
    ref_mu, ref_sd = lab_stats(ref_lab)
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


def find_photo_masks(images: Path, masks: Path) -> list[tuple[Path, str, Path]]:
    """(photo, mask id, mask file) for every mask named <photo stem>.png or <stem>_<id>.png."""
    if not images.is_dir():
        raise RdhError(f"--from-photos {images}: not a folder of images")
    if not masks.is_dir():
        raise RdhError(f"--masks {masks}: not a folder of masks")
    photos = {p.stem: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES and not is_temp(p)}
    if not photos:
        raise RdhError(f"--from-photos {images}: no images ({', '.join(IMAGE_SUFFIXES)})")
    found = []
    for m in sorted(masks.iterdir()):
        if m.suffix.lower() not in IMAGE_SUFFIXES or is_temp(m):
            continue
        if m.stem in photos:
            found.append((photos[m.stem], "1", m))
            continue
        stem, _, mask_id = m.stem.rpartition("_")
        if stem in photos and mask_id:
            found.append((photos[stem], mask_id, m))
        else:
            raise RdhError(f"{m}: mask names no photo in {images}: name it <photo>.png or <photo>_<id>.png")
    if not found:
        raise RdhError(f"--masks {masks}: no mask files found: name them <photo>.png or <photo>_<id>.png")
    for photo, _, _ in found:
        if not NAME_RE.fullmatch(photo.stem):
            raise RdhError(f"{photo}: file name must use letters, digits, '.', '_' or '-': rename it")
    return found


def make_photo_pairs(cfg: PhotoConfig) -> ComposeSummary:
    """Write color-transfer composites for each (photo, mask); returns the summary."""
    start = time.perf_counter()
    if cfg.variants < 1:
        raise RdhError(f"--variants {cfg.variants}: use 1 or more")
    if cfg.format not in ("png", "jpg"):
        raise RdhError(f"--format {cfg.format!r}: use png or jpg")
    if not 1 <= cfg.quality <= 100:
        raise RdhError(f"--quality {cfg.quality}: use 1..100")
    if not 0 <= cfg.min_fg_ratio <= cfg.max_fg_ratio <= 1:
        raise RdhError("--min-fg-ratio/--max-fg-ratio: need 0 <= min <= max <= 1")
    if not (cfg.min_fg_change >= 0 and cfg.min_fg_change != float("inf")):
        raise RdhError(f"--min-fg-change {cfg.min_fg_change}: use a number >= 0 (0-255 scale)")
    if not 0 <= cfg.test_fraction < 1:
        raise RdhError(f"--test-fraction {cfg.test_fraction}: use a value in [0, 1)")
    check_out_not_inside(cfg.images, cfg.out, "IMAGES")
    items = find_photo_masks(Path(cfg.images), Path(cfg.masks))
    photos = sorted({p for p, _, _ in items})
    if len(photos) < 2:
        raise RdhError(f"--from-photos {cfg.images}: need at least 2 photos, one serves as the color reference of another")
    # Decode and check everything first, so bad input leaves nothing in OUT.
    decoded = {p: resize_to_max_side(read_rgb(p), cfg.max_side) for p in photos}
    loaded = []
    for photo, mask_id, mask_path in items:
        mask = read_mask(mask_path)
        full_h, full_w = read_rgb(photo).shape[:2] if cfg.max_side else decoded[photo].shape[:2]
        if mask.shape != (full_h, full_w):
            raise RdhError(f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]}, photo {photo.name} is {full_w}x{full_h}: make them the same size")
        if not mask.any():
            raise RdhError(f"{mask_path}: mask is empty: draw the foreground or remove the file")
        mask = resize_to_max_side(mask.astype(np.uint8), cfg.max_side, nearest=True) > 0
        loaded.append((photo, mask_id, mask))
    out = Path(cfg.out)
    with output_lock(out, "rdh make-composites --from-photos"):
        clean_temp(out)
        check_options_match(out, cfg.output_options())
        record_options_of(out, cfg.output_options())
        return _write_pairs(cfg, photos, decoded, loaded, out, start)


def _write_pairs(cfg: PhotoConfig, photos: list[Path], decoded: dict, loaded: list, out: Path,
                 start: float) -> ComposeSummary:
    """The pairs of checked, decoded photos and masks, under OUT's lock."""
    summary = ComposeSummary(scenes=len(photos), out=out)
    rows = []
    for photo, mask_id, mask in loaded:
        name = photo.stem
        img = decoded[photo]
        ratio = float(mask.mean())
        if not cfg.min_fg_ratio <= ratio <= cfg.max_fg_ratio:
            summary.skipped["fg_ratio out of bounds"] += cfg.variants
            continue
        rng = np.random.default_rng(scene_seed(cfg.seed, f"{name}_{mask_id}"))
        gt_rel = f"real_images/{name}.{cfg.format}"
        mask_rel = f"masks/{name}_{mask_id}.png"
        others = [p for p in photos if p != photo]
        for k in range(1, cfg.variants + 1):
            ref = others[int(rng.integers(len(others)))]
            strength = float(rng.uniform(*cfg.strength))
            comp_rel = f"composite_images/{name}_{mask_id}_{k}.{cfg.format}"
            composite = transfer_foreground(img, mask, decoded[ref], strength)
            delta = float(np.abs(composite[mask].astype(np.int16) - img[mask]).mean())
            if delta < cfg.min_fg_change:
                summary.skipped["foreground change below threshold"] += 1
                continue
            if (out / comp_rel).exists():
                summary.existing += 1
            else:
                write_bytes_atomic(out / comp_rel, encode(composite, cfg.format, cfg.quality))
                summary.written += 1
            if not (out / gt_rel).exists():
                write_bytes_atomic(out / gt_rel, encode(img, cfg.format, cfg.quality))
            if not (out / mask_rel).exists():
                write_mask(out / mask_rel, mask)
            h, w = mask.shape
            rows.append({
                "pair_id": f"{name}_{mask_id}_{k}", "domain": "real", "source": "photos",
                "category": cfg.category, "split": "train", "group_id": name,
                "composite_path": comp_rel, "target_path": gt_rel, "mask_path": mask_rel,
                "width": w, "height": h, "fg_ratio": ratio, "fg_style": None, "bg_style": None,
                "composite_label": None, "target_label": None, "fg_delta": delta,
                "reference": ref.name, "strength": strength,
            })
    if not rows:
        raise RdhError(f"{cfg.images}: every pair was filtered out ({dict(summary.skipped)}): relax the filters")
    df = pd.DataFrame(rows).sort_values("pair_id", kind="stable").reset_index(drop=True)
    df["split"] = assign_group_split(df["group_id"], cfg.test_fraction, cfg.seed)
    write_manifest(df, out / "pairs.parquet")
    summary.pairs = len(df)
    summary.seconds = time.perf_counter() - start
    return summary
