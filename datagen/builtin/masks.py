"""Exact foreground masks: the foreground made a unit emitter, seen by one ray per pixel.

One sample per pixel, at the pixel center (stratified sampler without jitter, box filter), and
an integrator that stops at the first hit (path, max_depth 1): a pixel is 1 exactly when its
center ray first hits a foreground shape, so an occluder in front of the foreground removes
exactly the pixels it covers. Every other shape is a black, non-emitting blocker.

Area emitters are one-sided (they emit toward their shading normal), so the foreground is
rendered twice, as is and with faces and normals flipped; the mask is the union. Mitsuba's
`aov` shape-index pass gave the same masks, 20-50x slower in scalar (3.9 copies the shape list
into a hash map on every sample).

Only shapes that can stand between the camera and the foreground decide its mask, so the layout
search traces the foreground with those alone (`mask_objects`): the same mask as the whole
scene's, without building every mesh of a layout that may be rejected.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datagen.builtin.assets import bounds
from datagen.builtin.meshes import Part
from datagen.builtin.mitsuba_scene import GROUND_HALF, SceneGeometry, sensor_dict
from datagen.builtin.plan import ScenePlan
from rdhcore.errors import RdhError


@dataclass
class MaskResult:
    mask: np.ndarray                  # bool H x W: the foreground's visible pixels

    @property
    def area_ratio(self) -> float:
        return float(self.mask.mean())


def render_mask(geo: SceneGeometry, resolution: int) -> MaskResult:
    """Render the foreground's visible pixels of a scene (front faces, then back faces)."""
    import mitsuba as mi

    mask = np.zeros((resolution, resolution), bool)
    for flipped in (False, True):
        raw = np.array(mi.render(mask_scene(geo, resolution, flipped), spp=1), np.float64)[..., 0]
        if np.any((raw > 1e-6) & (np.abs(raw - 1.0) > 1e-4)):
            raise RdhError("the mask pass returned fractional values: it needs a box filter and one sample "
                           "at each pixel center (report this as a bug)")
        mask |= raw > 0.5
    return MaskResult(mask)


def mask_objects(plan: ScenePlan, parts: dict[str, list[Part]]) -> set[str]:
    """The objects (and "ground") that may cover part of the foreground: the foreground, and
    every object whose bounding box reaches in front of the foreground's far side and overlaps
    its bounding box on screen. Conservative: a box that reaches behind the camera is kept."""
    cam = plan.camera
    origin = np.asarray(cam.origin, float)
    forward = np.asarray(cam.target, float) - origin
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(cam.up, float))
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)

    def screen_box(lo: np.ndarray, hi: np.ndarray):
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]) - origin
        depth = corners @ forward
        if depth.min() <= 1e-6:
            return depth, None                        # reaches the camera plane: no finite screen box
        sx, sy = corners @ right / depth, corners @ up / depth
        return depth, (sx.min(), sx.max(), sy.min(), sy.max())

    boxes = {name: bounds(p) for name, p in parts.items()}
    boxes["ground"] = (np.array([-GROUND_HALF, -GROUND_HALF, 0.0]), np.array([GROUND_HALF, GROUND_HALF, 0.0]))
    fg_depth, fg_box = screen_box(*boxes[plan.foreground])
    if fg_box is None:
        return set(boxes)
    eps = 1e-3
    keep = {plan.foreground}
    for name, box in boxes.items():
        depth, sb = screen_box(*box)
        if depth.max() <= 0:
            continue                                  # wholly behind the camera
        if sb is None or (depth.min() < fg_depth.max() * (1 + eps) and sb[0] <= fg_box[1] + eps
                          and sb[1] >= fg_box[0] - eps and sb[2] <= fg_box[3] + eps and sb[3] >= fg_box[2] - eps):
            keep.add(name)
    return keep


def mask_scene(geo: SceneGeometry, resolution: int, flipped: bool = False):
    """The mask pass's scene: foreground shapes emit radiance 1 (on their back faces if flipped)."""
    import mitsuba as mi

    scene = {"type": "scene", "integrator": {"type": "path", "max_depth": 1, "hide_emitters": False},
             "sensor": sensor_dict(geo.plan, resolution, {"type": "stratified", "sample_count": 1, "jitter": False})}
    for sid, mesh in geo.shapes.items():
        scene[sid] = emitting_copy(mesh, flipped) if sid in geo.foreground_ids else mesh
    return mi.load_dict(scene, optimize=False)


def emitting_copy(mesh, flipped: bool):
    """The same triangles as `mesh` with a unit area emitter (winding and normals reversed if flipped)."""
    import mitsuba as mi

    params = mi.traverse(mesh)
    v = np.array(params["vertex_positions"], np.float32)
    f = np.array(params["faces"], np.uint32).reshape(-1, 3)
    n = np.array(params["vertex_normals"], np.float32)
    if flipped:
        f, n = f[:, ::-1], -n
    props = mi.Properties()
    props["bsdf"] = mi.load_dict({"type": "diffuse", "reflectance": {"type": "rgb", "value": [0.0, 0.0, 0.0]}})
    props["emitter"] = mi.load_dict({"type": "area", "radiance": {"type": "rgb", "value": [1.0, 1.0, 1.0]}})
    copy = mi.Mesh(mesh.id(), len(v) // 3, len(f), props=props, has_vertex_normals=True)
    out = mi.traverse(copy)
    floats, ints = type(out["vertex_positions"]), type(out["faces"])
    out["vertex_positions"] = floats(v)
    out["faces"] = ints(np.ascontiguousarray(f).ravel())
    out["vertex_normals"] = floats(n)
    out.update()
    return copy


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
