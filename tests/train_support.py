"""Small two-domain pair datasets for the training tests (a support module: no tests).

Rendered pairs come from a synthetic capture store through the real make-composites code; real
pairs from synthetic photos through the real photo-pair code. `merged_manifest` puts both in one
manifest whose paths are relative to its own folder, as build-manifest would.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from datagen.compose import ComposeConfig, make_composites
from rdhcore.imageio import write_image, write_mask
from datagen.photos import PhotoConfig, make_photo_pairs
from manifests.schema import read_manifest, write_manifest
from tests.synth import box_mask, make_store, style_image


def make_rendered(root: Path, n_scenes: int = 2, size: int = 64, styles=(2, 5, 10), test_fraction: float = 0.0,
                  seed: int = 0) -> Path:
    captures = make_store(root / "captures", n_scenes=n_scenes, size=(size, size), styles=styles, seed=seed)
    out = root / "rendered"
    make_composites(ComposeConfig(captures=captures, out=out, test_fraction=test_fraction, seed=seed))
    return out / "pairs.parquet"


def make_real(root: Path, n_photos: int = 4, size: int = 64, test_fraction: float = 0.0, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed + 7)
    photos, masks = root / "photos", root / "photo_masks"
    for i in range(n_photos):
        write_image(photos / f"p{i}.png", style_image(rng, size, size, 1 + (3 * i) % 10))
        y0, x0 = int(rng.integers(2, size // 3)), int(rng.integers(2, size // 3))
        write_mask(masks / f"p{i}.png", box_mask(size, size, y0, y0 + size // 2, x0, x0 + size // 2))
    out = root / "real"
    make_photo_pairs(PhotoConfig(images=photos, masks=masks, out=out, format="png", test_fraction=test_fraction,
                                 seed=seed, strength=(0.9, 1.0)))
    return out / "pairs.parquet"


def merged_manifest(path: Path, *manifests: Path, extra: dict | None = None) -> Path:
    """One manifest at `path` holding the rows of `manifests`, paths made relative to path's folder."""
    frames = []
    for m in manifests:
        df = read_manifest(m)
        rel = Path(m).parent.relative_to(path.parent)
        for col in ("composite_path", "target_path", "mask_path"):
            df[col] = [str(rel / p) for p in df[col]]
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    for col, values in (extra or {}).items():
        df[col] = values(df) if callable(values) else values
    return write_manifest(df, path)


def two_domain_manifest(root: Path, size: int = 64, test: bool = False, **kw) -> Path:
    rd = make_rendered(root, size=size, test_fraction=0.5 if test else 0.0, **kw)
    rl = make_real(root, size=size, test_fraction=0.5 if test else 0.0)
    return merged_manifest(root / "all.parquet", rd, rl)
