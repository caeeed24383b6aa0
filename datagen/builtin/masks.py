"""Exact foreground masks from Mitsuba's shape-index AOV.

One sample per pixel, at the pixel center (stratified sampler without jitter, box filter), so
each pixel holds the index of the first shape its center ray hits: the visible surface, never
a blend, and an occluder in front of the foreground removes exactly the pixels it covers.

What number the AOV writes for a shape is Mitsuba's business (3.9 writes the 1-based position
in `scene.shapes()` in the scalar variant; JIT variants may differ), so the numbers are mapped
to shape ids here by casting the camera ray of a pixel holding each number and asking which
shape it hits. The foreground is the set of shapes of the plan's foreground object.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.builtin.mitsuba_scene import SceneGeometry, mask_scene
from manifests.errors import RdhError

PROBES_PER_INDEX = 3


@dataclass
class MaskResult:
    mask: np.ndarray                  # bool H x W
    index_image: np.ndarray           # int H x W, the AOV values (0: no hit)
    shape_of_index: dict[int, str]    # AOV value -> shape id

    @property
    def area_ratio(self) -> float:
        return float(self.mask.mean())


def render_mask(geo: SceneGeometry, resolution: int) -> MaskResult:
    """Render the shape-index pass of a scene and select the foreground's pixels."""
    import mitsuba as mi

    scene = mask_scene(geo, resolution)
    raw = np.array(mi.render(scene, spp=1), np.float64)[..., 0]
    index = np.rint(raw).astype(np.int64)
    if np.abs(raw - index).max() > 1e-3:
        raise RdhError("the shape-index pass returned fractional values: the mask pass needs a box filter "
                       "and one sample per pixel (report this as a bug)")
    mapping = map_indices(scene, index)
    fg_values = [v for v, sid in mapping.items() if sid in geo.foreground_ids]
    mask = np.isin(index, fg_values)
    return MaskResult(mask, index, mapping)


def map_indices(scene, index: np.ndarray) -> dict[int, str]:
    """AOV value -> shape id, by ray casting up to PROBES_PER_INDEX pixel centers per value."""
    h, w = index.shape
    probes_y, probes_x, values = [], [], []
    for v in np.unique(index):
        ys, xs = np.nonzero(index == v)
        pick = np.linspace(0, len(ys) - 1, min(PROBES_PER_INDEX, len(ys))).round().astype(int)
        probes_y.extend(ys[pick])
        probes_x.extend(xs[pick])
        values.extend([int(v)] * len(pick))
    hits = shapes_at(scene, np.array(probes_x), np.array(probes_y), w, h)
    mapping: dict[int, str] = {}
    for v in sorted(set(values)):
        names = [hits[i] for i in range(len(values)) if values[i] == v]
        best = max(set(names), key=names.count)
        if names.count(best) * 2 <= len(names) and len(names) > 1:
            raise RdhError(f"shape index {v} maps to several shapes {sorted(set(n for n in names if n))} "
                           "(report this as a bug)")
        if best is not None:
            mapping[v] = best
    return mapping


def shapes_at(scene, xs: np.ndarray, ys: np.ndarray, width: int, height: int) -> list[str | None]:
    """The id of the shape hit by the camera ray through each pixel center (None: sky)."""
    import drjit as dr
    import mitsuba as mi

    sensor = scene.sensors()[0]
    if mi.variant().startswith("scalar"):
        out = []
        for x, y in zip(xs.tolist(), ys.tolist()):
            ray, _ = sensor.sample_ray(0.0, 0.5, mi.Point2f((x + 0.5) / width, (y + 0.5) / height), mi.Point2f(0.5, 0.5))
            si = scene.ray_intersect(ray)
            out.append(si.shape.id() if si.is_valid() else None)
        return out
    n = len(xs)
    pos = mi.Point2f(mi.Float((xs + 0.5) / width), mi.Float((ys + 0.5) / height))
    ray, _ = sensor.sample_ray(mi.Float(np.zeros(n)), mi.Float(np.full(n, 0.5)), pos, mi.Point2f(0.5, 0.5))
    si = scene.ray_intersect(ray)
    out: list[str | None] = [None] * n
    for shape in scene.shapes():
        hit = np.array(si.shape == mi.ShapePtr(shape)) & np.array(si.is_valid())
        for i in np.nonzero(hit)[0]:
            out[i] = shape.id()
    dr.eval()
    return out
