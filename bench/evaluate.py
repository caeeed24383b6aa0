"""Benchmark scoring and inference: `rdh evaluate --predictions` and `rdh harmonize` throughput.

Prints:
  - evaluate: images/s of harmonize.evaluate.evaluate on N pairs of SIZE x SIZE PNGs (prediction,
    composite, target, mask decoded; both prediction and composite scored at 256x256), with and
    without SSIM;
  - harmonize: images/s of harmonize.inference.harmonize_images on SIZE x SIZE composites with an
    untrained iDIH of the default shape (depth 7, width 64, 256x256) on the CPU, and the share of
    that time spent bringing the correction back to full resolution (extend, upsample, round).

    python bench/evaluate.py [--pairs 64] [--size 512] [--dir /tmp/rdh-bench-eval]
"""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rdhcore.imageio import write_image, write_mask
from harmonize.blocks import UNetSpec
from harmonize.inference import Harmonizer
from harmonize.evaluate import EvalConfig, evaluate
from harmonize.idih import IDIH
from harmonize.inference import harmonize_images, run_model, to_model_size
from harmonize.metrics import Protocol
from manifests.schema import K, write_manifest


def make_pairs(root: Path, n: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        target = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), bool)
        mask[size // 4: size // 2, size // 3: 2 * size // 3] = True
        composite = target.copy()
        composite[mask] = np.clip(composite[mask].astype(int) + 30, 0, 255)
        for folder, img in (("composite_images", composite), ("real_images", target), ("predictions", target)):
            write_image(root / folder / f"p{i}.png", img)
        write_mask(root / "masks" / f"p{i}.png", mask)
        rows.append({"pair_id": f"p{i}", "domain": "real", "source": "bench", "category": "unknown", "split": "test",
                     "group_id": f"p{i}", "composite_path": f"composite_images/p{i}.png",
                     "target_path": f"real_images/p{i}.png", "mask_path": f"masks/p{i}.png", "width": size,
                     "height": size, "fg_ratio": float(mask.mean()), "fg_style": None, "bg_style": None,
                     "composite_label": None, "target_label": None})
    return write_manifest(pd.DataFrame(rows), root / "pairs.parquet")


def bench_evaluate(manifest: Path, preds: Path, n: int) -> None:
    for ssim in (False, True):
        start = time.perf_counter()
        evaluate(EvalConfig(manifest=manifest, predictions=preds, protocol=Protocol(ssim=ssim)))
        sec = time.perf_counter() - start
        print(f"evaluate --predictions{' --ssim' if ssim else ''}: {n / sec:.1f} images/s ({sec:.2f} s for {n})")


def bench_harmonize(n: int, size: int) -> None:
    torch.manual_seed(0)
    model = Harmonizer(IDIH(UNetSpec()), "idih", 256, torch.device("cpu"))
    rng = np.random.default_rng(1)
    comps = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]
    mask = np.zeros((size, size), bool)
    mask[size // 4: size // 2, size // 3: 2 * size // 3] = True
    masks = [mask] * n
    start = time.perf_counter()
    list(harmonize_images(model, comps, masks, batch_size=8))
    total = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, n, 8):
        prepared = [to_model_size(c, m, 256) for c, m in zip(comps[i:i + 8], masks[i:i + 8])]
        run_model(model, np.stack([p[0] for p in prepared]), np.stack([p[1] for p in prepared]))
    network = time.perf_counter() - start
    print(f"harmonize {size}x{size} (iDIH 256, CPU, batch 8): {n / total:.1f} images/s; "
          f"bringing the correction back to {size}x{size}: {100 * max(total - network, 0) / total:.0f}% of the time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rdh-bench-eval"))
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    print(f"torch threads: {torch.get_num_threads()}; K = {K} styles")
    manifest = make_pairs(args.dir, args.pairs, args.size)
    bench_evaluate(manifest, args.dir / "predictions", args.pairs)
    bench_harmonize(min(args.pairs, 16), args.size)
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
