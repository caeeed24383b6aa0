"""Benchmark of the built-in engine: seconds per image and quality of each sampling configuration,
per image size, in one run, against a high-spp reference of the same scenes (night included).

    .venv/bin/python bench/render.py                                   # 3 scenes x styles 1,2,5,10 at 256x256
    .venv/bin/python bench/render.py --resolutions 64,128,256 --styles 1,2,5,8,10 --ref-spp 1024 --ref-variant llvm
    .venv/bin/python bench/render.py --configs old,default,8:multijitter:oidn --ref-cache /tmp/rdh-ref

A configuration is `spp:sampler:denoiser` with denoiser none, oidn or oidn+guides; `old` (alias
`today`) is 64:independent:none (the images before issue 12) and `default` is what
BuiltinOptions() renders at that size. For each image it times what a run does per style (bake
the sky, update or build the scene, render, denoise, tone map) and scores PSNR (dB, 8-bit, after
the engine's tone map, exposure included) against the reference (--ref-spp, independent
sampler, no denoiser; --ref-variant llvm makes it much faster where libLLVM >= 16 is found). It
prints, per size and configuration, s/image and PSNR mean, worst and night, and checks issue
22's targets for the default against the old setting: mean >= +1 dB, worst and night no worse,
and at 128 px and above >= 3x faster; then the mask pass per scene, and with --ray-scenes N,
scenes/min on a local Ray with 2 workers against 1 (>= 1.7x).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datagen.render_config import BuiltinOptions, RenderConfig  # noqa: E402
from datagen.styles import parse_styles  # noqa: E402

OLD = BuiltinOptions(spp=64, sampler="independent", denoise=False)


def parse_config(text: str, resolution: int) -> tuple[str, BuiltinOptions]:
    if text in ("old", "today"):
        return "old", OLD
    if text == "default":
        return text, BuiltinOptions().for_size(resolution)
    spp, sampler, denoiser = text.split(":")
    if denoiser not in ("none", "oidn", "oidn+guides"):
        raise SystemExit(f"--configs {text!r}: the denoiser is none, oidn or oidn+guides")
    return text, BuiltinOptions(spp=int(spp), sampler=sampler, denoise=denoiser != "none", guides=denoiser == "oidn+guides")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


def render_image(renderer, light, opts: BuiltinOptions) -> np.ndarray:
    """One style as a run renders it: emitters, scene (llvm: updated), render, denoise, tone map."""
    from datagen.builtin import lighting
    from datagen.builtin.denoise import denoise

    r = renderer.render(light)
    return lighting.tonemap(r.hdr, (lambda h: denoise(h, r.albedo, r.normal)) if opts.denoise else None)[0]


def renderer_for(geo, resolution: int, opts: BuiltinOptions):
    """A scene's StyleRenderer, as render_plan makes one per scene (llvm reuses its day scene)."""
    from datagen.builtin.mitsuba_scene import StyleRenderer

    return StyleRenderer(geo, resolution, opts.spp, opts.sampler, opts.guides)


def layouts(args, opts, variant: str, res: int):
    """(index, plan, geometry) of each benchmark scene, in `variant`."""
    from datagen.builtin.scene_render import find_layout
    from datagen.builtin.variant import activate, choose_variant

    activate(choose_variant(variant))
    import mitsuba as mi

    mi.set_log_level(mi.LogLevel.Error)
    for index in range(args.scenes):
        plan, geo, _, _ = find_layout(index, args.seed, opts, res, 0.01, 0.6)
        yield index, plan, geo


def references(args, styles, opts, res: int) -> dict:
    """The reference image of each (scene, style): --ref-spp independent samples, not denoised;
    kept in --ref-cache between runs (they cost the most)."""
    reference = {}
    ref_opts = BuiltinOptions(spp=args.ref_spp, sampler="independent", denoise=False)
    ref_dir = Path(args.ref_cache) if args.ref_cache else None
    ref_variant = args.ref_variant or args.variant

    def ref_path(index: int, style: int) -> Path | None:
        return ref_dir / f"ref-{args.seed}-{index}-{style}-{res}-{args.ref_spp}-{ref_variant}.npy" if ref_dir else None

    missing = [(i, s) for i in range(args.scenes) for s in styles if ref_path(i, s) is None or not ref_path(i, s).exists()]
    if missing:
        for index, plan, geo in layouts(args, opts, ref_variant, res):
            renderer = renderer_for(geo, res, ref_opts)
            for light in plan.styles:
                if (index, light.id) in missing:
                    img = render_image(renderer, light, ref_opts)
                    if ref_dir is not None:
                        ref_dir.mkdir(parents=True, exist_ok=True)
                        np.save(ref_path(index, light.id), img)
                    reference[index, light.id] = img
    for i in range(args.scenes):
        for s in styles:
            if (i, s) not in reference:
                reference[i, s] = np.load(ref_path(i, s))
    return reference


def summary(times: list[float], scores: list[float], keys: list[tuple[int, int]]) -> dict:
    night = [v for v, (_, style) in zip(scores, keys) if style == 10]
    return {"s_image": float(np.mean(times)), "mean": float(np.mean(scores)), "worst": float(np.min(scores)),
            "night": float(np.mean(night)) if night else float("nan")}


def report(results: dict) -> None:
    """The table of every size and configuration, and issue 22's targets for the default."""
    print(f"\n{'size':>5s}  {'configuration':24s} {'spp':>4s} {'s/image':>8s} {'PSNR mean':>10s} {'worst':>7s} {'night':>7s}")
    for res, rows in results.items():
        for name, r in rows.items():
            print(f"{res:5d}  {name:24s} {r['spp']:4d} {r['s_image']:8.3f} {r['mean']:10.2f} {r['worst']:7.2f} {r['night']:7.2f}")
    for res, rows in results.items():
        if "old" not in rows or "default" not in rows:
            continue
        d, o = rows["default"], rows["old"]
        speed = o["s_image"] / d["s_image"]
        need = 3.0 if res >= 128 else None
        ok = (d["mean"] - o["mean"] >= 1.0 and d["worst"] >= o["worst"] and not d["night"] < o["night"]
              and (need is None or speed >= need))
        print(f"{res} px: default ({d['config']}) vs old: {speed:.2f}x faster" + (f" (target >= {need:g})" if need else "")
              + f", mean {d['mean'] - o['mean']:+.2f} dB (>= +1), worst {d['worst'] - o['worst']:+.2f} dB (>= 0), "
              f"night {d['night'] - o['night']:+.2f} dB (>= 0): {'MET' if ok else 'NOT MET'}")


def bench_size(args, styles, opts, res: int) -> dict:
    """Every configuration at one size: {name: summary + config}."""
    from datagen.builtin.masks import render_mask
    from datagen.builtin.mitsuba_scene import build_geometry
    from datagen.builtin.plan import draw_plan

    configs = [parse_config(c, res) for c in args.configs.split(",")]
    reference = references(args, styles, opts, res)
    times = {name: [] for name, _ in configs}
    scores = {name: [] for name, _ in configs}
    mask_s, keys = [], []
    for index, plan, geo in layouts(args, opts, args.variant, res):
        bare = build_geometry(draw_plan(index, args.seed, plan.attempt, opts), materials=False)
        t = time.perf_counter()
        render_mask(bare, res)
        mask_s.append(time.perf_counter() - t)
        renderers = {name: renderer_for(geo, res, cfg) for name, cfg in configs}
        for light in plan.styles:
            keys.append((index, light.id))
            for name, cfg in configs:
                t = time.perf_counter()
                img = render_image(renderers[name], light, cfg)
                times[name].append(time.perf_counter() - t)
                scores[name].append(psnr(img, reference[index, light.id]))
            line = "  ".join(f"{n} {scores[n][-1]:5.1f} dB {times[n][-1]:5.2f} s" for n, _ in configs)
            print(f"  {res} px scene {index} style {light.id:2d}: {line}", flush=True)
    print(f"  {res} px mask pass: {np.mean(mask_s):.3f} s/scene mean, {np.max(mask_s):.3f} max", flush=True)
    return {name: {**summary(times[name], scores[name], keys), "spp": cfg.spp,
                   "config": f"{cfg.spp}:{cfg.sampler}:{'oidn+guides' if cfg.denoise and cfg.guides else 'oidn' if cfg.denoise else 'none'}"}
            for name, cfg in configs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=3)
    ap.add_argument("--styles", default="1,2,5,10")
    ap.add_argument("--resolutions", "--resolution", default="256", help="image sizes, e.g. 64,128,256")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", default="old,default", help="comma-separated configurations, or none")
    ap.add_argument("--ref-spp", type=int, default=512)
    ap.add_argument("--variant", default="scalar", help="scalar or llvm, for the configurations")
    ap.add_argument("--ref-variant", default=None, help="variant of the reference (default: --variant)")
    ap.add_argument("--ray-scenes", type=int, default=0, help="also time N scenes on a local Ray, 1 vs 2 workers")
    ap.add_argument("--ref-cache", default=None, help="folder keeping reference images between runs (they cost the most)")
    args = ap.parse_args()
    args.resolution = int(args.resolutions.split(",")[0])           # ray_scaling's size

    from datagen.builtin.engine import plan_options
    styles = tuple(parse_styles(args.styles))
    if args.configs == "none":                          # only the Ray scaling
        ray_scaling(args, styles)
        return
    opts = plan_options(RenderConfig(out=Path("unused"), styles=styles))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench/render.py: {args.scenes} scenes x styles {args.styles} at {args.resolutions} px, {args.variant}; "
          f"reference {args.ref_spp} spp ({args.ref_variant or args.variant}); {os.cpu_count()} CPUs, load {load:.1f} "
          "at start", flush=True)
    from datagen.builtin.denoise import denoise

    denoise(np.ones((8, 8, 3), np.float32))               # OIDN's first call sets up its device: not a render cost
    results = {res: bench_size(args, styles, opts, res) for res in map(int, args.resolutions.split(","))}
    report(results)
    if args.ray_scenes:
        ray_scaling(args, styles)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(timings on a shared machine, load {load:.1f} at the end; compare configurations within one size)")


def ray_scaling(args, styles: tuple[int, ...]) -> None:
    """Scenes per minute of --executor ray with 1 and 2 local workers (Ray's start not counted)."""
    import tempfile

    from datagen.ray_executor import ray_session
    from datagen.render import render
    from datagen.render_config import RayOptions

    rates = {}
    with tempfile.TemporaryDirectory(prefix="rdh-bench-ray-") as tmp:
        for workers in (1, 2):
            cfg = RenderConfig(out=Path(tmp) / f"w{workers}", scenes=args.ray_scenes, seed=args.seed,
                               resolution=args.resolution, styles=styles, executor="ray", workers=workers,
                               builtin=BuiltinOptions(variant=args.variant))
            with ray_session(RayOptions(), local_cpus=workers):
                t = time.perf_counter()
                summary = render(cfg)
                seconds = time.perf_counter() - t
            if summary.failed:
                raise SystemExit(f"bench: scenes failed on Ray: {summary.failed}")
            rates[workers] = 60 * summary.rendered / seconds
            print(f"ray, {workers} worker(s): {rates[workers]:.2f} scenes/min ({summary.rendered} scenes of "
                  f"{len(styles)} styles in {seconds:.1f} s)", flush=True)
    print(f"ray speed-up of 2 workers over 1: {rates[2] / rates[1]:.2f}x (target >= 1.7)")


if __name__ == "__main__":
    main()
