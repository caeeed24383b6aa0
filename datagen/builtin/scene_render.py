"""One scene, start to finish: find a layout whose foreground fits, render its styles and mask,
and describe it in the capture store's scene.json (with the plan, so it can be rendered again).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from datagen.builtin import lighting
from datagen.builtin.plan import PlanOptions, ScenePlan, draw_plan
from datagen.render_config import BuiltinOptions
from rdhcore.errors import RdhError
from rdhcore.progress import Progress

MAX_ATTEMPTS = 12
ENGINE = "builtin"
GENERATOR = "rdh.builtin"


@dataclass
class RenderedScene:
    plan: ScenePlan
    images: dict[int, np.ndarray]             # style id -> RGB uint8
    mask: np.ndarray                          # bool, the foreground's visible pixels
    values: dict[int, dict] = field(default_factory=dict)   # style id -> derived lighting values
    spp: int | None = None                    # samples per pixel the sampler took
    redraws: int = 0


def find_layout(index: int, base_seed: int, opts: PlanOptions, resolution: int, min_ratio: float, max_ratio: float,
                max_attempts: int = MAX_ATTEMPTS):
    """Draw layouts of scene `index` until the foreground covers [min_ratio, max_ratio] of the image.

    Returns (plan, geometry, mask result, redraws)."""
    from datagen.builtin.masks import mask_objects, render_mask
    from datagen.builtin.mitsuba_scene import build_geometry, plan_parts

    seen = []
    for attempt in range(max_attempts):
        plan = draw_plan(index, base_seed, attempt, opts)
        parts = plan_parts(plan)
        # only what can cover the foreground, without materials: cheap to reject
        mask = render_mask(build_geometry(plan, materials=False, parts=parts, objects=mask_objects(plan, parts)), resolution)
        if min_ratio <= mask.area_ratio <= max_ratio and mask.mask.any():
            return plan, build_geometry(plan, parts=parts), mask, attempt
        seen.append(round(mask.area_ratio, 4))
    raise RdhError(f"scene {index}: no layout in {max_attempts} attempts puts the foreground's area ratio in "
                   f"[{min_ratio}, {max_ratio}] (got {seen}): widen --min-fg-ratio/--max-fg-ratio")


def render_plan(plan: ScenePlan, resolution: int, opts: BuiltinOptions, geo=None, mask=None,
                progress: Progress | None = None) -> RenderedScene:
    """Render every style of a plan (and its mask, unless given) with opts' sampler, spp and
    denoiser. Needs an active variant."""
    from datagen.builtin.denoise import denoise
    from datagen.builtin.masks import render_mask
    from datagen.builtin.mitsuba_scene import StyleRenderer, build_geometry

    opts = opts.for_size(resolution)
    geo = geo if geo is not None else build_geometry(plan)
    mask = mask if mask is not None else render_mask(geo, resolution)
    out = RenderedScene(plan, {}, mask.mask)
    renderer = StyleRenderer(geo, resolution, opts.spp, opts.sampler, opts.guides)
    for light in plan.styles:
        r = renderer.render(light)
        denoiser = (lambda hdr, r=r: denoise(hdr, r.albedo, r.normal)) if opts.denoise else None
        out.images[light.id], exposure = lighting.tonemap(r.hdr, denoiser)
        out.values[light.id] = {**r.values, **exposure}
        out.spp = r.spp
        if progress is not None:
            progress(1)
    return out


def sampling_record(opts: BuiltinOptions, spp_taken: int | None = None) -> dict:
    """How the styles were sampled and cleaned, as scene.json's source records it."""
    return {"spp": int(spp_taken or opts.spp), "sampler": opts.sampler,
            "denoiser": "oidn" if opts.denoise else "none", "denoiser_guides": bool(opts.denoise and opts.guides)}


def scene_meta(scene: RenderedScene, resolution: int, opts: BuiltinOptions, variant: str) -> dict:
    """The scene.json content (rdh.capture/1 plus the plan) for write_scene."""
    import mitsuba as mi

    from datagen.builtin.mitsuba_scene import MAX_DEPTH

    plan = scene.plan
    styles = []
    for light in plan.styles:
        entry = light.to_dict()
        entry.update(scene.values.get(light.id, {}))
        styles.append(entry)
    fg = plan.object(plan.foreground)
    foreground = {"id": 0, "category": plan.category, "object": fg.name, "asset": fg.kind}
    if fg.kind == "user_mesh":
        foreground["mesh"] = fg.params["path"]
    source = {"generator": GENERATOR, "renderer": f"mitsuba {mi.__version__}", "variant": variant,
              **sampling_record(opts, scene.spp), "resolution": resolution, "integrator": "path",
              "max_depth": MAX_DEPTH, "environment": plan.environment}
    if opts.denoise:
        source["denoiser_version"] = f"pyoidn {_dist_version('pyoidn')}"
    return {
        "scene_id": plan.scene_id, "engine": ENGINE, "seed": plan.base_seed, "scene_index": plan.index,
        "attempt": plan.attempt, "styles": styles, "foregrounds": [foreground],
        "camera": {**asdict(plan.camera), "fov_axis": "x", "resolution": resolution},
        "source": source, "plan": plan.to_dict(),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def plan_from_scene(scene_dir: str | Path) -> tuple[ScenePlan, int, BuiltinOptions]:
    """(plan, resolution, sampling options) recorded in a builtin scene's scene.json. Scenes
    written before the sampler and denoiser were recorded used independent, no denoiser."""
    path = Path(scene_dir) / "scene.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise RdhError(f"{path}: scene.json is missing: pass a scene folder of a capture store") from None
    except json.JSONDecodeError as exc:
        raise RdhError(f"{path}: invalid JSON ({exc})") from None
    if meta.get("engine") != ENGINE or "plan" not in meta:
        raise RdhError(f"{path}: not a scene of the builtin engine (no plan inside): only builtin scenes can be re-rendered")
    src = meta.get("source", {})
    opts = BuiltinOptions(spp=int(src.get("spp", 64)), sampler=str(src.get("sampler", "independent")),
                          denoise=src.get("denoiser", "none") == "oidn", guides=bool(src.get("denoiser_guides", False)))
    return ScenePlan.from_dict(meta["plan"]), int(src.get("resolution", meta["width"])), opts
