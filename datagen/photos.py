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
from pathlib import Path

import numpy as np
import pandas as pd

from datagen.color_transfer import transfer_foreground
from datagen.compose import (ComposeSummary, check_options_match, check_out_not_inside, pair_dataset_writes,
                             record_options_of)
from datagen.pair_options import PhotoConfig
from rdhcore.imageio import encode, read_mask, read_rgb, within_budget, write_mask
from rdhcore.atomic import is_temp, write_bytes_atomic
from rdhcore.sweep import sweep
from rdhcore.errors import RdhError
from rdhcore.resize import fit_max_side
from rdhcore.seeds import derive_seed
from manifests.rows import PairRow
from rdhcore.locks import output_lock
from manifests.schema import write_manifest
from manifests.splits import assign_group_split

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


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


@within_budget  # --max-pixels, for this call only
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
    check_out_not_inside(cfg.out, (cfg.images, "--from-photos"), (cfg.masks, "--masks"))
    items = find_photo_masks(Path(cfg.images), Path(cfg.masks))
    photos = sorted({p for p, _, _ in items})
    if len(photos) < 2:
        raise RdhError(f"--from-photos {cfg.images}: need at least 2 photos, one serves as the color reference of another")
    # Decode and check everything first, so bad input leaves nothing in OUT.
    decoded = {p: fit_max_side(read_rgb(p), cfg.max_side) for p in photos}
    loaded = []
    for photo, mask_id, mask_path in items:
        mask = read_mask(mask_path)
        full_h, full_w = read_rgb(photo).shape[:2] if cfg.max_side else decoded[photo].shape[:2]
        if mask.shape != (full_h, full_w):
            raise RdhError(f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]}, photo {photo.name} is {full_w}x{full_h}: make them the same size")
        if not mask.any():
            raise RdhError(f"{mask_path}: mask is empty: draw the foreground or remove the file")
        mask = fit_max_side(mask.astype(np.uint8), cfg.max_side, nearest=True) > 0
        loaded.append((photo, mask_id, mask))
    out = Path(cfg.out)
    with output_lock(out, "rdh make-composites --from-photos") as lock:
        sweep(out, pair_dataset_writes(), lock.path)
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
        rng = np.random.default_rng(derive_seed(cfg.seed, f"{name}_{mask_id}"))
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
            rows.append(PairRow(f"{name}_{mask_id}_{k}", "real", "photos", cfg.category, name, comp_rel, gt_rel,
                                mask_rel, mask, extra={"fg_delta": delta, "reference": ref.name, "strength": strength},
                                ).to_dict())
    if not rows:
        raise RdhError(f"{cfg.images}: every pair was filtered out ({dict(summary.skipped)}): relax the filters")
    df = pd.DataFrame(rows).sort_values("pair_id", kind="stable").reset_index(drop=True)
    df["split"] = assign_group_split(df["group_id"], cfg.test_fraction, cfg.seed)
    write_manifest(df, out / "pairs.parquet")
    summary.pairs = len(df)
    summary.seconds = time.perf_counter() - start
    return summary
