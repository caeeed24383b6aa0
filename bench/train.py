"""Benchmark `rdh train`: training images/s and peak memory of iDIH and CharmNet, and the loader.

At 256x256 with batch 8 (per domain for CharmNet) prints, per model:
  - train images/s: optimizer steps on batches already in memory (compute only), images counted
    over both domains for CharmNet;
  - ms/step and peak memory (CUDA: max allocated; CPU: peak RSS of a fresh process per model);
then the ratio of one CharmNet step to one iDIH step (target <= 2.2: a CharmNet step sees two
batches) and the data loader's images/s (decode JPEG pairs of 512x384, random resized crop, flip,
collate) with --workers processes, which must exceed the training rate.

    python bench/train.py                      # CPU, or CUDA when present (bf16 + channels-last there)
    python bench/train.py --steps 20 --device cuda --compile
    python bench/train.py --no-amp --no-channels-last --workers 8
    python bench/train.py --busy --size 64 --depth 5 --width 32   # steps/s alone and beside a busy process

--busy measures iDIH training steps/s on the CPU alone and with one core taken by another
process (a Python busy loop), for torch's default threads, one thread, two threads with a
passive OpenMP wait, and what `rdh train` picks (--threads auto: the cores free at its start);
each busy figure as a fraction of the same setting alone (target >= 0.4).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_pairs(root: Path, n: int, width: int = 512, height: int = 384) -> Path:
    """n rendered + n real JPEG pairs (smooth shapes, a box foreground) and their manifest."""
    import pandas as pd

    from rdhcore.imageio import write_image, write_mask
    from manifests.schema import write_manifest

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rows = []
    for domain in ("rendered", "real"):
        for i in range(n):
            base = np.stack([xx / width, yy / height, 0.5 + 0.0 * xx], -1) * rng.uniform(0.4, 1.0, 3)
            target = np.clip(base * 255 + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
            mask = np.zeros((height, width), bool)
            y0, x0 = rng.integers(0, height // 2), rng.integers(0, width // 2)
            mask[y0:y0 + height // 3, x0:x0 + width // 4] = True
            comp = target.copy()
            comp[mask] = np.clip(comp[mask] * rng.uniform(0.6, 1.4, 3), 0, 255).astype(np.uint8)
            stem = f"{domain}_{i:04d}"
            write_image(root / f"{stem}_c.jpg", comp, quality=95)
            write_image(root / f"{stem}_t.jpg", target, quality=95)
            write_mask(root / f"{stem}_m.png", mask)
            label = np.eye(10, dtype=np.float32)[i % 10] if domain == "rendered" else None
            rows.append({"pair_id": stem, "domain": domain, "source": "bench", "category": "human", "split": "train",
                         "group_id": stem, "composite_path": f"{stem}_c.jpg", "target_path": f"{stem}_t.jpg",
                         "mask_path": f"{stem}_m.png", "width": width, "height": height,
                         "fg_ratio": float(mask.mean()), "fg_style": (i % 10) + 1 if label is not None else None,
                         "bg_style": (i % 10) + 1 if label is not None else None,
                         "composite_label": label, "target_label": label})
    return write_manifest(pd.DataFrame(rows), root / "bench.parquet")


def bench_model(args) -> dict:
    """Train steps of one model on in-memory batches; returns timings and peak memory."""
    import torch

    from harmonize.data import Augment, PairDataset, load_rows
    from harmonize.steps import to_batch
    from harmonize.train import TrainConfig, build_step

    device = torch.device(args.device)
    cfg = TrainConfig(model=args.only, manifest=Path(args.manifest), out=Path("."), max_steps=1,
                      batch_size=args.batch, image_size=args.size, amp=args.amp, channels_last=args.channels_last,
                      depth=args.depth, width=args.width, unshared=min(4, args.depth - 1))
    if args.threads != "default":
        from harmonize.dist import set_cpu_threads

        set_cpu_threads(None if args.threads == "auto" else int(args.threads))
    torch.manual_seed(0)
    step = build_step(cfg, device)
    if args.compile:
        step.trainable = torch.compile(step.trainable)
    rows = load_rows(args.manifest)
    batches = {}
    domains = ("rendered", "real") if args.only == "charmnet" else ("all",)
    for d in domains:
        sub = rows if d == "all" else rows[rows["domain"] == d]
        ds = PairDataset(sub.reset_index(drop=True), args.size, Augment(), seed=0)
        items = [ds[(i, 0, i)] for i in range(args.batch)]
        raw = {k: torch.stack([it[k] for it in items]) if torch.is_tensor(items[0][k]) else [it[k] for it in items]
               for k in items[0]}
        batches[d] = to_batch(raw, device, args.channels_last)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(args.warmup):
        step(batches)
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step(batches)
    sync()
    seconds = (time.perf_counter() - start) / args.steps
    images = args.batch * len(domains)
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"model": args.only, "ms_per_step": seconds * 1000, "images_per_s": images / seconds,
            "threads": torch.get_num_threads(),
            "peak_mb": peak / 2 ** 20, "peak_kind": "cuda max allocated" if device.type == "cuda" else "process peak RSS"}


def bench_loader(manifest: Path, size: int, batch: int, workers: int, batches: int) -> float:
    """Images/s of one domain stream: JPEG decode, random resized crop, flip, collate."""
    from harmonize.data import Augment, DomainStream, PairDataset, load_rows, make_train_loader

    rows = load_rows(manifest)
    ds = PairDataset(rows, size, Augment(), seed=0)
    loader, sampler = make_train_loader(ds, batch, workers, 1, 0, seed=0, pin_memory=False)
    stream = DomainStream(loader, sampler, batch)
    for _ in range(2):
        stream.next()  # workers started
    start = time.perf_counter()
    for _ in range(batches):
        stream.next()
    return batches * batch / (time.perf_counter() - start)


SHARE_SETTINGS = (("torch default", "default", None), ("1 thread", "1", None), ("2 threads, passive wait", "2", "PASSIVE"),
                  ("rdh train (auto)", "auto", None))


def model_cmd(args, model: str, manifest: Path, threads: str = "default") -> list[str]:
    return [sys.executable, __file__, "--only", model, "--manifest", str(manifest), "--device", args.device,
            "--size", str(args.size), "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup),
            "--depth", str(args.depth), "--width", str(args.width), "--threads", threads,
            "--amp" if args.amp else "--no-amp", "--channels-last" if args.channels_last else "--no-channels-last"] + (
        ["--compile"] if args.compile else [])


def run_model(cmd: list[str], env: dict | None = None) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"benchmark failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def share_table(args, manifest: Path) -> None:
    """iDIH steps/s alone and beside one busy process, per thread setting (CPU)."""
    import os

    print(f"training beside a busy process: iDIH {args.size}x{args.size}, depth {args.depth}, width {args.width}, "
          f"batch {args.batch}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start")
    print(f"  {'setting':26s} {'threads':>7s} {'alone':>9s} {'busy':>9s} {'busy/alone':>10s}")
    for label, threads, wait_policy in SHARE_SETTINGS:
        env = dict(os.environ, **({"OMP_WAIT_POLICY": wait_policy} if wait_policy else {}))
        alone = run_model(model_cmd(args, "idih", manifest, threads), env)
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            busy = run_model(model_cmd(args, "idih", manifest, threads), env)
        finally:
            hog.kill()
            hog.wait()
        a, b = 1000 / alone["ms_per_step"], 1000 / busy["ms_per_step"]
        print(f"  {label:26s} {alone['threads']:>3d}/{busy['threads']:<3d} {a:7.2f}/s {b:7.2f}/s {b / a:10.2f}", flush=True)
    print("  (steps/s; threads alone/busy; the machine may be shared: compare within a row)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=48, help="JPEG pairs generated per domain")
    ap.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None, help="bf16 (default: on CUDA)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None, help="(default: on CUDA)")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--depth", type=int, default=7)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--threads", default="default", help="CPU threads: default (torch's), N, or auto (rdh train's)")
    ap.add_argument("--busy", action="store_true", help="steps/s alone and beside a busy process (CPU)")
    ap.add_argument("--only", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--manifest", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    import torch

    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    cuda = args.device.startswith("cuda")
    args.amp = cuda if args.amp is None else args.amp
    args.channels_last = cuda if args.channels_last is None else args.channels_last
    if args.only:
        print(json.dumps(bench_model(args)))
        return

    root = Path(args.dir or tempfile.mkdtemp(prefix="rdh-bench-train-"))
    manifest = root / "bench.parquet"
    if not manifest.exists():
        t = time.perf_counter()
        make_pairs(root, args.pairs)
        print(f"made {2 * args.pairs} JPEG pairs (512x384) in {time.perf_counter() - t:.1f} s: {root}")
    where = torch.cuda.get_device_name(args.device) if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device {where}; {args.size}x{args.size}, batch {args.batch} per domain, amp={'bf16' if args.amp and cuda else 'off'}, "
          f"channels_last={args.channels_last}, compile={args.compile}, {args.steps} timed steps after {args.warmup}")
    if args.busy:
        share_table(args, manifest)
        return
    results = {}
    for model in ("idih", "charmnet"):
        r = run_model(model_cmd(args, model, manifest, args.threads))
        results[model] = r
        print(f"  {model:9s} train {r['images_per_s']:8.1f} images/s  {r['ms_per_step']:9.1f} ms/step  "
              f"peak {r['peak_mb']:8.0f} MiB ({r['peak_kind']})")
    ratio = results["charmnet"]["ms_per_step"] / results["idih"]["ms_per_step"]
    print(f"  CharmNet step / iDIH step = {ratio:.2f} (target <= 2.2)")
    loader = bench_loader(manifest, args.size, args.batch, args.workers, batches=max(8, args.pairs // args.batch))
    # Each domain has its own stream (and workers): one stream must feed iDIH, or half a CharmNet step.
    demand = max(results["idih"]["images_per_s"], results["charmnet"]["images_per_s"] / 2)
    print(f"  data loader {loader:8.1f} images/s per stream with {args.workers} workers vs training demand "
          f"{demand:.1f} images/s per stream: {'loader keeps up' if loader >= demand else 'LOADER IS THE BOTTLENECK: raise --workers'}")


if __name__ == "__main__":
    main()
