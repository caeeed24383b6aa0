"""Benchmark of `rdh build-manifest` on an iHarmony4-layout tree of 73,146 pairs (tiny images).

The tree has the real subset sizes (train/test per subset, 65,742 + 7,404 composites), 4
composites per real image (2 masks x 2 composites), masks with varied foregrounds. It is
generated once into --root (default: a temporary folder) and reused when it is there.

Prints: tree generation time, build seconds (the real `rdh build-manifest` command in a
child process, imports included), the child's peak memory, and the time to read the manifest
back into pandas. Targets: build under 60 s without --verify-images on 2 cores; read-back under 1 s.

    .venv/bin/python bench/manifest.py
    .venv/bin/python bench/manifest.py --root /tmp/ih4 --verify-images --workers 4
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

# (subset, prefix, train composites, test composites), as in the iHarmony4 release
SUBSETS = (("HCOCO", "c", 38545, 4283), ("HAdobe5k", "a", 19437, 2160),
           ("HFlickr", "f", 7449, 828), ("Hday2night", "d", 311, 133))
PER_MASK = 2
MASKS_PER_REAL = 2
SIZE = (24, 32)  # height, width
MARKER = ".bench-tree-complete"


def encoded_masks(n: int = 16) -> list[bytes]:
    """PNG masks whose foreground covers 1%..60% of the image, with soft (non 0/255) edges."""
    h, w = SIZE
    masks = []
    for i in range(n):
        m = np.zeros((h, w), np.uint8)
        rows = max(1, int(h * (0.1 + 0.9 * i / n)))
        cols = max(1, int(w * (0.1 + 0.6 * i / n)))
        m[:rows, :cols] = 255
        m[rows:rows + 1, :cols] = 128  # an anti-aliased edge: counts as foreground (> 127)
        masks.append(cv2.imencode(".png", m)[1].tobytes())
    return masks


def generate(root: Path) -> int:
    """Write the tree; returns the number of composites. Same bytes for every image: it is the
    layout and the file count that the build's speed depends on."""
    h, w = SIZE
    rng = np.random.default_rng(0)
    image = cv2.imencode(".jpg", rng.integers(0, 255, (h, w, 3), dtype=np.uint8))[1].tobytes()
    masks = encoded_masks()
    total = 0
    for subset, prefix, n_train, n_test in SUBSETS:
        base = root / subset
        for d in ("composite_images", "masks", "real_images"):
            (base / d).mkdir(parents=True, exist_ok=True)
        real_index = 0
        for split, n in (("train", n_train), ("test", n_test)):
            names = []
            while len(names) < n:
                real = f"{prefix}{real_index:06d}"
                real_index += 1
                (base / "real_images" / f"{real}.jpg").write_bytes(image)
                for m in range(1, MASKS_PER_REAL + 1):
                    if len(names) >= n:
                        break
                    (base / "masks" / f"{real}_{m}.png").write_bytes(masks[(real_index * 3 + m) % len(masks)])
                    for k in range(1, PER_MASK + 1):
                        if len(names) >= n:
                            break
                        name = f"{real}_{m}_{k}.jpg"
                        (base / "composite_images" / name).write_bytes(image)
                        names.append(name)
            (base / f"{subset}_{split}.txt").write_text("".join(f"{n}\n" for n in names))
            total += len(names)
    (root / MARKER).write_text(str(total))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="where to generate (or reuse) the tree; default: a temporary folder, removed after")
    parser.add_argument("--verify-images", action="store_true", help="also time --verify-images")
    parser.add_argument("--workers", type=int, help="pass --workers to build-manifest")
    args = parser.parse_args()

    root = args.root or Path(tempfile.mkdtemp(prefix="rdh-bench-manifest-"))
    try:
        if (root / MARKER).exists():
            pairs = int((root / MARKER).read_text())
            print(f"tree: reusing {root} ({pairs} composites)")
        else:
            t = time.perf_counter()
            pairs = generate(root)
            print(f"tree: generated {pairs} composites in {root} in {time.perf_counter() - t:.1f} s")
        rdh = Path(sys.executable).with_name("rdh")
        runs = [("build", [])] + ([("build --verify-images", ["--verify-images"])] if args.verify_images else [])
        for label, extra in runs:
            out = root / "out" / "manifest.parquet"
            cmd = [str(rdh), "build-manifest", str(out), "--iharmony4", str(root), *extra]
            if args.workers:
                cmd += ["--workers", str(args.workers)]
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            seconds = time.perf_counter() - t
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, sep="\n")
                raise SystemExit(f"{label}: rdh build-manifest failed with status {proc.returncode}")
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
            print(f"{label}: {seconds:.2f} s for {pairs} pairs ({pairs / seconds:.0f} pairs/s), "
                  f"peak memory {peak:.0f} MiB (child process, largest so far) [target: < 60 s]")

        from manifests.schema import read_manifest

        t = time.perf_counter()
        df = read_manifest(out)
        seconds = time.perf_counter() - t
        assert len(df) == pairs, (len(df), pairs)
        print(f"read back: {seconds:.3f} s for {len(df)} rows into pandas [target: < 1 s]; "
              f"file {out.stat().st_size / 2**20:.2f} MiB")
        print(f"machine: {os.cpu_count()} CPU(s) visible")
    finally:
        if args.root is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
