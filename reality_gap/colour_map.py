"""How much of a composite's foreground error a global colour map removes.

For one pair, fit the best global map from the composite's foreground colours to the target's
(least squares, a second-order polynomial in R, G, B: 10 terms per output channel) and compare
the foreground error left after it with the error before. iHarmony4's composites are colour
transfers and retouches, so a global map removes nearly all of their error; relit renders keep a
large share that no global map removes (shading that moved). The share is pooled over pairs:
1 - sum(error after) / sum(error before).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from manifests.schema import read_manifest, resolve_paths
from rdhcore.imageio import read_mask, read_rgb


def features(rgb: np.ndarray) -> np.ndarray:
    """N x 10 design matrix of N RGB rows in [0, 1]: 1, r, g, b, r^2, g^2, b^2, rg, rb, gb."""
    r, g, b = rgb.T
    return np.stack([np.ones_like(r), r, g, b, r * r, g * g, b * b, r * g, r * b, g * b], axis=1)


def pair_errors(composite: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(foreground SSE before, after the best global polynomial colour map), on the 0-255 scale."""
    x = composite[mask].astype(np.float64) / 255.0
    y = target[mask].astype(np.float64) / 255.0
    before = float(((x - y) ** 2).sum()) * 255.0 ** 2
    design = features(x)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    after = float(((design @ coef - y) ** 2).sum()) * 255.0 ** 2
    return before, min(after, before)


def removed_share(manifest_path, group_by: tuple[str, ...] = ("domain", "source"), limit: int | None = 400,
                  seed: int = 0) -> pd.DataFrame:
    """Per group: pairs, the share of foreground error a global colour map removes, and the composite's fMSE.
    At most `limit` pairs a group (drawn with `seed`)."""
    df = resolve_paths(read_manifest(manifest_path), manifest_path)
    rows = []
    for key, group in df.groupby(list(group_by), sort=True):
        if limit is not None and len(group) > limit:
            group = group.sample(limit, random_state=seed)
        before = after = pixels = 0.0
        for row in group.itertuples():
            mask = read_mask(row.mask_path)
            b, a = pair_errors(read_rgb(row.composite_path), read_rgb(row.target_path), mask)
            before, after, pixels = before + b, after + a, pixels + 3 * mask.sum()
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(group_by, key)), "pairs": len(group),
                     "removed_share": 1.0 - after / before if before else float("nan"),
                     "composite_fmse": before / pixels if pixels else float("nan")})
    return pd.DataFrame(rows)
