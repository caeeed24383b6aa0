"""iDIH learns a harmonization it can see: the foreground's colour follows the background's.

Each target has a flat background of a random colour and a textured foreground whose colour is a
fixed function of the background's (the "harmonious" image); the composite's foreground has a
random per-channel gain and offset. A short CPU run must bring the validation fMSE well below the
composites' own, and draw the curves.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

from harmonize.train import TrainConfig, train
from manifests.schema import write_manifest

SIZE = 32


def harmonious_colour(background: np.ndarray) -> np.ndarray:
    """The foreground colour that goes with a background colour (RGB, 0-255): a fixed affine map."""
    return 20.0 + 0.8 * background


def write_pair(root, i: int, rng: np.random.Generator) -> dict:
    bg = rng.uniform(20, 235, 3)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    h, w = rng.integers(10, 16, 2)
    y0, x0 = rng.integers(2, SIZE - h - 2), rng.integers(2, SIZE - w - 2)
    mask = (yy >= y0) & (yy < y0 + h) & (xx >= x0) & (xx < x0 + w)
    texture = 0.9 + 0.1 * np.sin(xx / rng.uniform(1.5, 3.0) + rng.uniform(0, 6))[..., None]  # stripes
    target = np.broadcast_to(bg, (SIZE, SIZE, 3)) + rng.normal(0, 3, (SIZE, SIZE, 3))
    target = np.where(mask[..., None], harmonious_colour(bg) * texture, target)
    gain, offset = rng.uniform(0.55, 1.45, 3), rng.uniform(-45, 45, 3)
    composite = np.where(mask[..., None], target * gain + offset, target)
    for kind, image in (("target", target), ("composite", composite)):
        cv2.imwrite(str(root / f"{kind}_{i}.png"), cv2.cvtColor(np.clip(image, 0, 255).round().astype(np.uint8),
                                                                 cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(root / f"mask_{i}.png"), mask.astype(np.uint8) * 255)
    return {"pair_id": f"p{i:02d}", "domain": "real", "source": "learnable", "category": "box", "split": "train",
            "group_id": f"photo{i:02d}", "composite_path": f"composite_{i}.png", "target_path": f"target_{i}.png",
            "mask_path": f"mask_{i}.png", "width": SIZE, "height": SIZE, "fg_ratio": float(mask.mean()),
            "fg_style": None, "bg_style": None, "composite_label": None, "target_label": None}


def learnable_manifest(root, n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    return write_manifest(pd.DataFrame([write_pair(root, i, rng) for i in range(n)]), root / "pairs.parquet")


@pytest.fixture
def one_thread():
    """Convolutions this small run several times faster on one thread, more so on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_idih_learns_a_visible_harmonization(tmp_path, one_thread):
    manifest = learnable_manifest(tmp_path)
    res = train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "run", max_steps=450, batch_size=8,
                            lr=2e-3, image_size=SIZE, depth=4, width=16, blend_init="identity", schedule="cosine",
                            warmup_steps=20, val_fraction=0.2, val_every=150, log_every=25, workers=0, device="cpu"))
    records = [json.loads(line) for line in res.log_path.read_text().splitlines()]
    start = next(r for r in records if r.get("event") == "start")
    assert start["val_source"] == "val-fraction" and start["val_rows"] == 12 and start["train_rows"] == {"all": 48}
    val = [r for r in records if r["kind"] == "val"]
    assert [r["step"] for r in val] == [150, 300, 450]
    assert len({r["composite_fmse"] for r in val}) == 1  # the same validation rows each time
    final = val[-1]
    assert final["fmse"] < 0.5 * final["composite_fmse"], final
    # The training batches' fMSE falls too, from about the composites' own.
    train_fmse = [r["fmse"] for r in records if r["kind"] == "train"]
    assert train_fmse[-1] < 0.5 * train_fmse[0]
    assert res.curves_path == tmp_path / "run" / "curves.png"
    curves = cv2.imread(str(res.curves_path))
    assert curves is not None and curves.shape[0] > 100 and curves.shape[1] > 100
    assert curves.std() > 10  # lines drawn, not a blank canvas
