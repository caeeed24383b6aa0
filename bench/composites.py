"""Benchmark `rdh make-composites` against a plain per-pair loop.

For a generated capture store of 20 scenes x 10 styles at 256x256 and at 1024x1024, in PNG and
JPEG, prints pairs/s of:
  - plain:   for each pair, cv2.imread fg image, bg image and mask, blend with numpy, cv2.imwrite;
  - rdh -j1: datagen.compose.make_composites with one worker (each style decoded once per scene);
  - rdh -j2: the same with two workers;
and the ratios rdh-j1 / plain (target >= 1.5) and rdh-j2 / rdh-j1 (target >= 1.7).

    python bench/composites.py [--scenes 20] [--sizes 256,1024] [--formats png,jpg] [--dir /tmp/rdh-bench]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from datagen.capture_store import list_scene_ids, read_scene, write_scene
from datagen.compose import ComposeConfig, make_composites
from datagen.styles import STYLES, StyleConfig, format_time


def render_like(rng: np.random.Generator, size: int, style: int) -> np.ndarray:
    """A smooth, render-like RGB image (gradients, shapes, mild noise) for one style."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    sky = np.stack([0.4 + 0.3 * yy, 0.5 + 0.2 * yy, 0.8 - 0.2 * yy], -1)
    img = sky * (0.3 + 0.07 * style)
    for _ in range(6):
        cy, cx, r = rng.uniform(0.2, 0.8, 2).tolist() + [rng.uniform(0.05, 0.2)]
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
        img[blob] = rng.uniform(0.1, 0.9, 3) * (0.4 + 0.06 * style)
    img += rng.normal(0, 0.01, img.shape).astype(np.float32)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def make_bench_store(root: Path, scenes: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    cfg = StyleConfig()
    for i in range(scenes):
        images = {s.id: render_like(rng, size, s.id) for s in STYLES}
        mask = np.zeros((size, size), bool)
        mask[size // 4: 3 * size // 4, size // 3: 2 * size // 3] = True
        meta = {"scene_id": f"b{i:04d}", "engine": "bench", "seed": i, "camera": {}, "source": {},
                "styles": [{"id": s.id, "weather": s.weather, "time": format_time(cfg.draw_time(s.id, rng))} for s in STYLES],
                "foregrounds": [{"id": 0, "category": "human"}]}
        write_scene(root, meta, images, {0: mask})
    return root


def plain_loop(captures: Path, out: Path, ext: str) -> int:
    """The straightforward way: decode both images and the mask for every pair."""
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for sid in list_scene_ids(captures):
        scene = read_scene(captures, sid)
        for fg_meta in scene.foregrounds:
            for bg in scene.style_ids:
                for fg in scene.style_ids:
                    if fg == bg:
                        continue
                    a = cv2.imread(str(scene.image_path(fg)))
                    b = cv2.imread(str(scene.image_path(bg)))
                    m = cv2.imread(str(scene.mask_path(fg_meta)), cv2.IMREAD_GRAYSCALE) > 127
                    comp = np.where(m[..., None], a, b)
                    cv2.imwrite(str(out / f"{sid}_{fg_meta['id']}-{bg}_{fg}.{ext}"), comp)
                    n += 1
    return n


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    n = fn()
    return time.perf_counter() - start, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=20)
    ap.add_argument("--sizes", default="256,1024")
    ap.add_argument("--formats", default="png,jpg")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="rdh-bench-composites-"))
    print(f"{'size':>5} {'fmt':>4} {'pairs':>6} {'plain p/s':>10} {'rdh-j1 p/s':>11} {'rdh-j2 p/s':>11} "
          f"{'j1/plain':>9} {'j2/j1':>6}")
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            captures = make_bench_store(work / f"cap{size}", args.scenes, size)
            for fmt in args.formats.split(","):
                t_plain, n = timed(lambda c=captures, s=size, f=fmt: plain_loop(c, work / f"plain{s}{f}", f))
                rates = []
                for workers in (1, 2):
                    out = work / f"rdh{size}{fmt}j{workers}"
                    cfg = ComposeConfig(captures=captures, out=out, format=fmt, workers=workers)
                    t, _ = timed(lambda c=cfg: make_composites(c).pairs)
                    rates.append(n / t)
                    shutil.rmtree(out)
                shutil.rmtree(work / f"plain{size}{fmt}")
                plain = n / t_plain
                print(f"{size:>5} {fmt:>4} {n:>6} {plain:>10.1f} {rates[0]:>11.1f} {rates[1]:>11.1f} "
                      f"{rates[0] / plain:>8.2f}x {rates[1] / rates[0]:>5.2f}x", flush=True)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
