"""Benchmark of the built-in engine: seconds per image and quality of each sampling configuration,
in one run, against a high-spp reference of the same scenes (night included).

    .venv/bin/python bench/render.py                                   # 3 scenes x styles 1,2,5,10 at 256x256
    .venv/bin/python bench/render.py --configs today,default,8:multijitter:oidn --ref-spp 512 --ref-cache /tmp/rdh-ref

A configuration is `spp:sampler:denoiser` with denoiser none, oidn or oidn+guides; `today` is
64:independent:none (the images before issue 12) and `default` is BuiltinOptions()'s. For each
image it times what a run does per style (bake the sky, build the scene, render, denoise, tone
map) and scores PSNR (dB, 8-bit, after the engine's tone map, exposure included) against the
reference (--ref-spp, independent sampler, no denoiser). It prints s/image and PSNR mean and
worst per configuration, the mask pass per scene, and checks issue 12's targets: default >= 3x
faster than today, PSNR mean >= today's + 1.5 dB and worst >= today's worst, mask < 0.3 s,
and with --ray-scenes N, scenes/min on a local Ray with 2 workers >= 1.7x that with 1.
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

TODAY = BuiltinOptions(spp=64, sampler="independent", denoise=False)


def parse_config(text: str) -> tuple[str, BuiltinOptions]:
    if text == "today":
        return text, TODAY
    if text == "default":
        return text, BuiltinOptions()
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


def layouts(args, opts, variant: str):
    """(index, plan, geometry) of each benchmark scene, in `variant`."""
    from datagen.builtin.scene_render import find_layout
    from datagen.builtin.variant import activate, choose_variant

    activate(choose_variant(variant))
    import mitsuba as mi

    mi.set_log_level(mi.LogLevel.Error)
    for index in range(args.scenes):
        plan, geo, _, _ = find_layout(index, args.seed, opts, args.resolution, 0.01, 0.6)
        yield index, plan, geo


def references(args, styles, opts) -> dict:
    """The reference image of each (scene, style): --ref-spp independent samples, not denoised;
    kept in --ref-cache between runs (they cost the most)."""
    res = args.resolution
    reference = {}
    ref_opts = BuiltinOptions(spp=args.ref_spp, sampler="independent", denoise=False)
    ref_dir = Path(args.ref_cache) if args.ref_cache else None
    ref_variant = args.ref_variant or args.variant

    def ref_path(index: int, style: int) -> Path | None:
        return ref_dir / f"ref-{args.seed}-{index}-{style}-{res}-{args.ref_spp}-{ref_variant}.npy" if ref_dir else None

    missing = [(i, s) for i in range(args.scenes) for s in styles if ref_path(i, s) is None or not ref_path(i, s).exists()]
    if missing:
        for index, plan, geo in layouts(args, opts, ref_variant):
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


def report(configs, times, scores, keys, mask_s) -> None:
    """Speed and PSNR against the reference of each configuration, and the mask pass."""
    print(f"\n{'configuration':28s} {'s/image':>8s} {'PSNR mean':>10s} {'worst':>7s}  (night)")
    for name, _ in configs:
        night = [s for s, (_, style) in zip(scores[name], keys) if style == 10]
        print(f"{name:28s} {np.mean(times[name]):8.2f} {np.mean(scores[name]):10.2f} {np.min(scores[name]):7.2f}  "
              + (f"({np.mean(night):.2f})" if night else ""))
    print(f"mask pass: {np.mean(mask_s):.3f} s/scene mean, {np.max(mask_s):.3f} max (target < 0.3)")
    if "today" in times and "default" in times:
        speed = np.mean(times["today"]) / np.mean(times["default"])
        gain = np.mean(scores["default"]) - np.mean(scores["today"])
        worst = np.min(scores["default"]) - np.min(scores["today"])
        better = sum(d > t for d, t in zip(scores["default"], scores["today"]))
        print(f"default vs today: {speed:.2f}x faster (target >= 3), PSNR mean {gain:+.2f} dB (target >= +1.5), "
              f"worst {worst:+.2f} dB (target >= 0), better on {better}/{len(scores['today'])} images")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", type=int, default=3)
    ap.add_argument("--styles", default="1,2,5,10")
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", default="today,default", help="comma-separated configurations, or none")
    ap.add_argument("--ref-spp", type=int, default=512)
    ap.add_argument("--variant", default="scalar", help="scalar or llvm, for the configurations")
    ap.add_argument("--ref-variant", default=None, help="variant of the reference (default: --variant)")
    ap.add_argument("--ray-scenes", type=int, default=0, help="also time N scenes on a local Ray, 1 vs 2 workers")
    ap.add_argument("--ref-cache", default=None, help="folder keeping reference images between runs (they cost the most)")
    args = ap.parse_args()

    from datagen.builtin.engine import plan_options
    from datagen.builtin.masks import render_mask
    from datagen.builtin.mitsuba_scene import build_geometry
    from datagen.builtin.plan import draw_plan
    styles = tuple(parse_styles(args.styles))
    if args.configs == "none":                          # only the Ray scaling
        ray_scaling(args, styles)
        return
    configs = [parse_config(c) for c in args.configs.split(",")]
    opts = plan_options(RenderConfig(out=Path("unused"), styles=styles))
    res = args.resolution
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench/render.py: {args.scenes} scenes x styles {args.styles} at {res}x{res}, {args.variant}; reference "
          f"{args.ref_spp} spp ({args.ref_variant or args.variant}); {os.cpu_count()} CPUs, load {load:.1f} at start",
          flush=True)

    from datagen.builtin.denoise import denoise

    denoise(np.ones((8, 8, 3), np.float32))               # OIDN's first call sets up its device: not a render cost
    reference = references(args, styles, opts)
    times = {name: [] for name, _ in configs}
    scores = {name: [] for name, _ in configs}
    mask_s, keys = [], []
    for index, plan, geo in layouts(args, opts, args.variant):
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
            print(f"  scene {index} style {light.id:2d}: {line}", flush=True)

    report(configs, times, scores, keys, mask_s)
    if args.ray_scenes:
        ray_scaling(args, styles)
    print("(timings on a shared machine; compare configurations within one run)")


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
