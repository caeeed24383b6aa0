"""One typed row of the manifest schema: what every pair maker (make-composites, `--from-photos`,
the demo's stand-in) writes, so no maker spells the schema's columns by hand."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from manifests.schema import COLUMNS


@dataclass
class PairRow:
    """The schema's columns of one pair (docs/design.md, "Manifest"), plus a maker's own columns in
    `extra` (e.g. fg_delta), which readers ignore when they do not know them."""

    pair_id: str
    domain: str                        # "rendered" | "real"
    source: str
    category: str
    group_id: str                      # what must not straddle splits: the scene, or the photo
    composite_path: str                # relative to the dataset folder
    target_path: str
    mask_path: str
    mask: np.ndarray = field(repr=False)   # HxW bool: gives width, height and fg_ratio
    split: str = "train"               # the makers assign splits per group afterwards
    fg_style: int | None = None        # style ids, None for real pairs
    bg_style: int | None = None
    composite_label: np.ndarray | None = None   # [K] soft label of the composite, None for real pairs
    target_label: np.ndarray | None = None      # [K] one-hot of the target
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The row as manifest columns (schema order), then the extra columns."""
        h, w = self.mask.shape
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("mask", "extra")}
        values.update(width=w, height=h, fg_ratio=float(self.mask.mean()))
        return {**{c: values[c] for c in COLUMNS}, **self.extra}
