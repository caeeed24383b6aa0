"""Benchmark of the built-in render engine: seconds per image at 256x256 and 64 spp for each
Mitsuba variant available here, and the speed-up of 2 worker processes over 1.

    .venv/bin/python bench/render.py                      # both variants if libLLVM >= 16 is present
    .venv/bin/python bench/render.py --scenes 2 --styles 1,2,10 --variants scalar

Targets (issue 4): <= 0.6 s/image with LLVM, <= 2.5 s/image with scalar. The numbers include
everything a run does per image (plan, meshes, mask pass, sky baking, tone mapping, PNG writing).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datagen.builtin.variant import find_llvm  # noqa: E402
from datagen.render_config import RenderConfig, render  # noqa: E402
from datagen.styles import parse_styles  # noqa: E402


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(out: Path, variant: str, workers: int, args) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, images) of one render-scenes run."""
    cfg = RenderConfig(out=out, scenes=args.scenes, seed=args.seed, resolution=args.resolution, spp=args.spp,
                       styles=tuple(parse_styles(args.styles)), variant=variant, workers=workers)
    start, cpu = time.perf_counter(), cpu_seconds()
    summary = render(cfg, lambda n: None)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if summary.failed:
        raise SystemExit(f"bench: scenes failed: {summary.failed}")
    return seconds, cpu, summary.images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=2)
    ap.add_argument("--styles", default="all")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--spp", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default="auto", help="auto (scalar, and llvm when libLLVM >= 16 is found) or a list")
    ap.add_argument("--no-workers", action="store_true", help="skip the 2-worker run")
    args = ap.parse_args()
    variants = ["scalar"] + (["llvm"] if find_llvm() else []) if args.variants == "auto" else args.variants.split(",")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench/render.py: {args.scenes} scenes x styles {args.styles} at {args.resolution}x{args.resolution}, "
          f"{args.spp} spp; {os.cpu_count()} CPUs, load average {load:.1f} at start")
    results = {}
    with tempfile.TemporaryDirectory(prefix="rdh-bench-") as tmp:
        for variant in variants:
            seconds, cpu, images = run(Path(tmp) / f"{variant}-1", variant, 1, args)
            results[variant] = seconds / images
            print(f"  {variant:6s} 1 worker : {seconds / images:6.2f} s/image  ({images} images in {seconds:.1f} s; "
                  f"{cpu / images:.2f} CPU-s/image)")
        if not args.no_workers and args.scenes >= 2:
            variant = "llvm" if "llvm" in results else variants[0]
            seconds, cpu, images = run(Path(tmp) / f"{variant}-2", variant, 2, args)
            print(f"  {variant:6s} 2 workers: {seconds / images:6.2f} s/image  ({images} images in {seconds:.1f} s; "
                  f"{cpu / images:.2f} CPU-s/image); speed-up {results[variant] / (seconds / images):.2f}x")
    print("  targets: llvm <= 0.6 s/image, scalar <= 2.5 s/image")


if __name__ == "__main__":
    main()
