"""Small capture stores and photo folders drawn with numpy, for the tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from datagen.capture_store import write_scene
from datagen.styles import STYLES, StyleConfig, format_time


def style_image(rng: np.random.Generator, h: int, w: int, style_id: int) -> np.ndarray:
    """A textured RGB image whose brightness and tint depend on the style."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 60, size=(h, w, 3)).astype(np.float64)
    gain = 40 + 18 * style_id
    tint = np.array([1.0 + 0.05 * (style_id % 3), 1.0, 1.0 - 0.04 * (style_id % 4)])
    img = base + gain * tint + 20 * np.sin(xx / 5.0)[..., None] + 10 * np.cos(yy / 7.0)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def box_mask(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def make_store(root: Path, n_scenes: int = 2, size: tuple[int, int] = (32, 40), styles=None, seed: int = 0,
               n_fg: int = 1, category: str = "human") -> Path:
    """Write a capture store of n_scenes scenes with the given styles (default all 10)."""
    rng = np.random.default_rng(seed)
    h, w = size
    styles = [s.id for s in STYLES] if styles is None else list(styles)
    cfg = StyleConfig()
    for i in range(n_scenes):
        images = {sid: style_image(rng, h, w, sid) for sid in styles}
        masks = {}
        fgs = []
        for f in range(n_fg):
            y0 = int(rng.integers(0, h // 2))
            x0 = int(rng.integers(0, w // 2))
            masks[f] = box_mask(h, w, y0, y0 + h // 3 + f, x0, x0 + w // 3)
            fgs.append({"id": f, "category": category})
        meta = {
            "scene_id": f"s{i:04d}", "engine": "synthetic", "seed": seed * 1000 + i,
            "styles": [{"id": sid, "weather": STYLES[sid - 1].weather,
                        "time": format_time(cfg.draw_time(sid, rng))} for sid in styles],
            "foregrounds": fgs, "camera": {"fov": 45.0}, "source": {"generator": "tests.synth"},
        }
        write_scene(root, meta, images, masks)
    return root
