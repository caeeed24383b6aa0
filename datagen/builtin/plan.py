"""Scene plans: a seeded, serializable description of one 2D scene.

A plan holds the 3D layout (ground and placed objects with their drawn parameters), the
camera, which object is the foreground, the sun's path and each style's lighting values. It is
drawn from the scene's seed (base seed + scene index, `rdhcore.seeds.derive_seed`) and
an attempt number (a layout whose foreground covers too little or too much of the image is
re-drawn with the next attempt), stored in scene.json under "plan", and rendering it again
gives the same images.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from datagen.builtin import assets
from datagen.builtin.foregrounds import SMALL, pick, srgb
from datagen.builtin.lighting import StyleLight, SunPath, draw_style_light
from datagen.builtin.meshes import Part
from datagen.builtin.props import OCCLUDERS, STREET_PROPS
from datagen.builtin.second import draw_continuous_light, draw_restyle
from datagen.render_config import scene_id
from datagen.styles import StyleConfig, style_by_id
from rdhcore.errors import RdhError
from rdhcore.seeds import derive_seed

PLAN_SCHEMA = "rdh.builtin-plan/1"
ENVIRONMENTS = ("street", "avenue", "plaza", "park")   # avenue: looking along a street lined with buildings
GROUNDS = {
    "street": (("asphalt", [srgb(60, 60, 62), srgb(80, 78, 75)], 4.0), ("paving", [srgb(150, 145, 135), srgb(120, 110, 100)], 3.2)),
    "avenue": (("asphalt", [srgb(60, 60, 62), srgb(80, 78, 75)], 4.0), ("paving", [srgb(150, 145, 135)], 3.2)),
    "plaza": (("paving", [srgb(170, 165, 150), srgb(140, 120, 110), srgb(110, 110, 115)], 3.2),
              ("gravel", [srgb(170, 150, 120)], 2.0)),
    "park": (("grass", [srgb(70, 110, 45), srgb(90, 120, 55), srgb(60, 95, 50)], 3.0), ("gravel", [srgb(160, 145, 120)], 2.0)),
}


@dataclass
class Placed:
    """One object of the scene: an asset kind, its parameters and its pose."""

    name: str                   # unique in the plan; Mitsuba shape ids are f"{name}__{slot}"
    kind: str
    role: str                   # foreground | support | occluder | building | tree | prop | lamp
    params: dict
    position: list[float]
    yaw: float = 0.0
    scale: float = 1.0


@dataclass
class Camera:
    origin: list[float]
    target: list[float]
    fov: float                  # horizontal field of view, degrees (images are square)
    up: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])


@dataclass
class ScenePlan:
    scene_id: str
    index: int
    base_seed: int
    attempt: int
    category: str
    environment: str
    ground: dict
    objects: list[Placed]
    foreground: str             # name of the foreground object
    camera: Camera
    sun: SunPath
    styles: list[StyleLight]
    schema: str = PLAN_SCHEMA
    generator: str = "main"     # datagen.builtin.second.GENERATORS

    def object(self, name: str) -> Placed:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(name)

    def style(self, style_id: int) -> StyleLight:
        for s in self.styles:
            if s.id == int(style_id):
                return s
        raise KeyError(style_id)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["styles"] = [s.to_dict() for s in self.styles]
        if self.generator == "main":
            del d["generator"]    # the main generator's scene.json reads as it always has
        return d

    @staticmethod
    def from_dict(d: dict) -> "ScenePlan":
        if d.get("schema") != PLAN_SCHEMA:
            raise RdhError(f"scene plan schema is {d.get('schema')!r}, expected {PLAN_SCHEMA!r}: re-plan the scene with this version")
        try:
            return ScenePlan(
                scene_id=d["scene_id"], index=int(d["index"]), base_seed=int(d["base_seed"]), attempt=int(d["attempt"]),
                category=d["category"], environment=d["environment"], ground=dict(d["ground"]),
                objects=[Placed(**o) for o in d["objects"]], foreground=d["foreground"], camera=Camera(**d["camera"]),
                sun=SunPath(**d["sun"]), styles=[StyleLight.from_dict(s) for s in d["styles"]], schema=d["schema"],
                generator=str(d.get("generator", "main")))
        except (KeyError, TypeError) as exc:
            raise RdhError(f"scene plan is incomplete ({exc}): re-plan the scene") from None


_PARTS: dict[str, list[Part]] = {}     # recent placed parts: drawing a plan needs them, and so does its render


def placed_parts(obj: Placed) -> list[Part]:
    """The parts of a placed object in world coordinates (shared: read them, do not change them)."""
    key = json.dumps([obj.kind, obj.params, obj.position, obj.yaw, obj.scale], sort_keys=True, default=str)
    parts = _PARTS.get(key)
    if parts is None:
        if len(_PARTS) > 1024:
            _PARTS.clear()
        parts = _PARTS[key] = assets.to_world(assets.build(obj.kind, obj.params), obj.position, obj.yaw, obj.scale)
    return parts


def attempt_rng(base_seed: int, index: int, attempt: int) -> np.random.Generator:
    """The generator of one layout attempt: derived from (base seed, index) alone, then the attempt."""
    ss = derive_seed(base_seed, index)
    return np.random.default_rng(np.random.SeedSequence(entropy=ss.entropy, spawn_key=tuple(ss.spawn_key) + (attempt,)))


# --- drawing -------------------------------------------------------------------------------------

@dataclass
class PlanOptions:
    categories: tuple[str, ...]
    styles: tuple[int, ...]
    style_config: StyleConfig = field(default_factory=StyleConfig)
    user_meshes: assets.UserMeshes = field(default_factory=lambda: assets.UserMeshes(None, {}))
    user_mesh_share: float = 0.5       # chance to use a user mesh for a built-in category that has some
    generator: str = "main"            # main | second (datagen.builtin.second: the stand-in's appearance gap)


def draw_plan(index: int, base_seed: int, attempt: int, opts: PlanOptions) -> ScenePlan:
    """Draw the plan of scene `index` (layout attempt `attempt`) of a run."""
    rng = attempt_rng(base_seed, index, attempt)
    category = opts.categories[index % len(opts.categories)]
    layout = _Layout(rng)
    fg_kind, fg_params = _foreground(category, rng, opts)
    second = opts.generator == "second"
    if second:
        fg_params = {**fg_params, "restyle": draw_restyle(rng)}
    env = pick(rng, ENVIRONMENTS)
    kind, colors, tile = pick(rng, GROUNDS[env])
    ground = {"kind": kind, "seed": int(rng.integers(1 << 30)), "color": pick(rng, colors), "tile": tile}

    # the foreground, on a table when it is small
    small = category in SMALL or (fg_kind == assets.USER_MESH and fg_params["height"] < 0.5)
    base_z = 0.0
    if small:
        table = layout.add("support", "table", "support", [0.0, 0.0, 0.0], float(rng.uniform(0, 360)))
        base_z = table.params["height"] + 0.004
    fg = layout.add("fg0", fg_kind, "foreground", [0.0, 0.0, base_z], float(rng.uniform(0, 360)), params=fg_params)
    lo, hi = assets.bounds(placed_parts(fg))
    camera, forward, right = _camera(rng, lo, hi, small)
    layout.sight = (np.asarray(camera.origin[:2]), (lo[:2] + hi[:2]) / 2)
    layout.discs.append((np.asarray(camera.origin[:2]), 0.8))

    if small:
        _table_items(layout, rng, lo, hi, forward, right)
    _environment(layout, rng, env, forward, right, clutter=2.0 if second else 1.0)
    if rng.random() < (0.4 if small else 0.35):
        _occluder(layout, rng, camera, lo, hi, right, small)

    sun = SunPath.draw(rng)
    times = {sid: opts.style_config.draw_time(sid, rng) for sid in sorted(opts.styles)}
    if second:    # textured clutter, another ground colour, and a continuous sun and sky per photo
        _restyle_background(layout, rng)
        ground["color"] = [float(c) * float(rng.uniform(0.6, 1.5)) for c in ground["color"]]
        styles = [draw_continuous_light(style_by_id(sid), minutes, rng) for sid, minutes in times.items()]
    else:
        _face_low_sun(sun, times, camera, (lo + hi) / 2, rng, spread=12.0 if env == "avenue" else 45.0)
        styles = [draw_style_light(style_by_id(sid), minutes, sun, rng, opts.style_config.weathers)
                  for sid, minutes in times.items()]
    return ScenePlan(scene_id=scene_id(index), index=index, base_seed=int(base_seed), attempt=attempt, category=category,
                     environment=env, ground=ground, objects=layout.objects, foreground=fg.name, camera=camera,
                     sun=sun, styles=styles, generator=opts.generator)


RESTYLED_ROLES = ("prop", "occluder")      # not the table under a small foreground: its height holds it


def _restyle_background(layout: _Layout, rng: np.random.Generator) -> None:
    """The second generator's props: mildly warped, with patterned materials."""
    for obj in layout.objects:
        if obj.role in RESTYLED_ROLES and obj.kind != assets.USER_MESH:
            obj.params = {**obj.params, "restyle": draw_restyle(rng, warp=0.4)}


def _face_low_sun(sun: SunPath, times: dict[int, int], camera: Camera, center: np.ndarray,
                  rng: np.random.Generator, spread: float) -> None:
    """Turn the scene against north so that the low sun of the (first) sunrise/sunset style
    shines from behind the camera, within `spread` degrees: golden-hour pictures are taken with
    the light on the subject (down the street in an avenue, whose buildings would shade it).
    Every other style keeps the same, consistently rotated, sun path."""
    low = [sid for sid in times if style_by_id(sid).phase == "sunrise_sunset"]
    if not low:
        return
    back = np.asarray(camera.origin[:2]) - center[:2]
    want = float(np.degrees(np.arctan2(back[0], back[1]))) + float(rng.uniform(-spread, spread))
    _, azimuth = sun.position(times[low[0]])
    sun.azimuth_offset = float((sun.azimuth_offset + want - azimuth + 180.0) % 360.0 - 180.0)


def _foreground(category: str, rng: np.random.Generator, opts: PlanOptions) -> tuple[str, dict]:
    users = opts.user_meshes.get(category)
    builtin = category in assets.FOREGROUNDS
    if users and (not builtin or rng.random() < opts.user_mesh_share):
        return assets.USER_MESH, assets.draw_user_mesh(pick(rng, users), category, rng)
    if not builtin:
        raise RdhError(f"category {category!r} has no built-in asset and no meshes under --assets: "
                       f"use {', '.join(assets.FOREGROUNDS)} or add <assets>/{category}/*.obj")
    return category, assets.draw_params(category, rng)


class _Layout:
    """Objects placed so far, with a free-space check on the ground plane."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.objects: list[Placed] = []
        self.discs: list[tuple[np.ndarray, float]] = []     # (xy, radius) footprints
        self.sight: tuple[np.ndarray, np.ndarray] | None = None
        self.counts: dict[str, int] = {}

    def add(self, prefix: str, kind: str, role: str, position, yaw: float, params: dict | None = None,
            radius: float | None = None) -> Placed:
        """Place an object named after `prefix` (numbered unless it is "support" or "fg0")."""
        params = assets.draw_params(kind, self.rng) if params is None else params
        n = self.counts.get(prefix, 0)
        self.counts[prefix] = n + 1
        name = prefix if prefix in ("support", "fg0") else f"{prefix}{n}"
        obj = Placed(name, kind, role, params, [float(x) for x in position], float(yaw))
        self.objects.append(obj)
        if radius is None:
            lo, hi = assets.bounds(placed_parts(obj))
            radius = float(np.linalg.norm(hi[:2] - lo[:2]) / 2)
        self.discs.append((np.asarray(position[:2], float), radius))
        return obj

    def free(self, xy: np.ndarray, radius: float, sight_margin: float = 0.8) -> bool:
        for c, r in self.discs:
            if np.linalg.norm(xy - c) < r + radius:
                return False
        if self.sight is not None and sight_margin > 0:
            a, b = self.sight
            ab = b - a
            t = np.clip(np.dot(xy - a, ab) / (np.dot(ab, ab) + 1e-9), 0.0, 1.0)
            if np.linalg.norm(xy - (a + t * ab)) < radius + sight_margin:
                return False
        return True

    def scatter(self, role: str, kind: str, center: np.ndarray, forward: np.ndarray, right: np.ndarray,
                depth: tuple[float, float], lateral: tuple[float, float], tries: int = 20, yaw: float | None = None,
                approx_radius: float = 1.0) -> Placed | None:
        """Place a `kind` at a free random spot given in (forward, right) coordinates around center."""
        for _ in range(tries):
            xy = center + forward * self.rng.uniform(*depth) + right * self.rng.uniform(*lateral)
            if self.free(xy, approx_radius):
                return self.add(role, kind, role, [xy[0], xy[1], 0.0],
                                float(self.rng.uniform(0, 360)) if yaw is None else yaw)
        return None


def _camera(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, small: bool) -> tuple[Camera, np.ndarray, np.ndarray]:
    """A camera that frames the foreground box [lo, hi]; also the view's forward and right axes."""
    fov = float(rng.uniform(35.0, 60.0))
    center = (lo + hi) / 2
    extent = max(float(hi[2] - lo[2]), 0.8 * float(np.linalg.norm(hi[:2] - lo[:2])))
    fill = float(rng.uniform(0.45, 0.9))                   # fraction of the view the foreground spans
    half = np.tan(np.radians(fov) / 2)
    dist = extent / (2 * half * fill) + 0.5 * float(np.linalg.norm(hi[:2] - lo[:2]) / 2)
    azimuth = float(rng.uniform(0, 2 * np.pi))
    horizontal = np.array([np.cos(azimuth), np.sin(azimuth)])
    if small:   # about level with the object, a little above: the background shows behind it
        height = float(lo[2] + (hi[2] - lo[2]) * rng.uniform(0.5, 1.6) + rng.uniform(0.0, 0.15) * dist)
    else:
        height = float(rng.uniform(max(0.6, 0.3 * hi[2]), max(1.9, 0.9 * hi[2])))
    origin = np.array([center[0] + dist * horizontal[0], center[1] + dist * horizontal[1], height])
    forward = -horizontal
    right = np.array([forward[1], -forward[0]])              # forward x up, in the ground plane
    shift = dist * half
    target = center + np.r_[right * rng.uniform(-0.3, 0.3) * shift, rng.uniform(-0.15, 0.35) * shift]
    return Camera([float(x) for x in origin], [float(x) for x in target], fov), forward, right


def _buildings_row(layout: _Layout, rng: np.random.Generator, center, forward, right, depth: float,
                   span: tuple[float, float], face_yaw: float, along: np.ndarray, across: np.ndarray) -> None:
    """A row of buildings whose fronts line up `depth` m from center along `across`."""
    x = span[0]
    while x < span[1]:
        params = assets.draw_params("building", rng)
        w, d = params["width"], params["depth"]
        if rng.random() < 0.15:                           # a gap in the row
            x += w * 0.6
            continue
        xy = center + across * (depth + d / 2) + along * (x + w / 2)
        layout.add("building", "building", "building", [xy[0], xy[1], 0.0], face_yaw, params=params,
                   radius=0.5 * min(w, d))
        for s in np.arange(-w / 2 + d / 2, w / 2, d / 2):  # the rest of the footprint
            layout.discs.append((xy + along * s, d / 2))
        x += w + float(rng.uniform(0.0, 1.5))


def _yaw_facing(direction_xy: np.ndarray) -> float:
    """The yaw that turns an object's -y face toward `direction_xy`."""
    return float(np.degrees(np.arctan2(direction_xy[0], -direction_xy[1])))


def _environment(layout: _Layout, rng: np.random.Generator, env: str, forward: np.ndarray, right: np.ndarray,
                 clutter: float = 1.0) -> None:
    center = np.zeros(2)
    back_yaw = _yaw_facing(-forward)
    if env == "street":          # looking across the street at a row of facades
        _buildings_row(layout, rng, center, forward, right, float(rng.uniform(6, 25)), (-70, 70), back_yaw, right, forward)
        n_trees, n_props = int(rng.integers(0, 5)), int(rng.integers(3, 9))
    elif env == "avenue":        # looking along a street lined on both sides
        lateral = float(rng.uniform(5, 12))
        for side in (-1.0, 1.0):
            _buildings_row(layout, rng, center, forward, right, lateral, (-25, 140), _yaw_facing(-side * right),
                           forward, side * right)
        n_trees, n_props = int(rng.integers(0, 5)), int(rng.integers(3, 9))
    elif env == "plaza":
        _buildings_row(layout, rng, center, forward, right, float(rng.uniform(10, 35)), (-80, 80), back_yaw, right, forward)
        side = pick(rng, (-1.0, 1.0))
        _buildings_row(layout, rng, center, forward, right, float(rng.uniform(12, 30)), (-20, 60), _yaw_facing(-side * right),
                       forward, side * right)
        for _ in range(int(rng.integers(0, 3))):
            layout.scatter("wall", "wall", center, forward, right, (3, 15), (-15, 15), yaw=back_yaw + float(rng.uniform(-20, 20)),
                           approx_radius=2.0)
        n_trees, n_props = int(rng.integers(1, 6)), int(rng.integers(3, 8))
    else:                        # park
        if rng.random() < 0.7:
            _buildings_row(layout, rng, center, forward, right, float(rng.uniform(45, 110)), (-150, 150), back_yaw, right, forward)
        n_trees, n_props = int(rng.integers(5, 14)), int(rng.integers(2, 6))
        for _ in range(int(rng.integers(0, 3))):
            layout.scatter("hedge", "hedge", center, forward, right, (2, 20), (-15, 15), approx_radius=1.5)
    for _ in range(int(round(n_trees * (1 + (clutter - 1) / 2)))):
        layout.scatter("tree", "tree", center, forward, right, (2, 40), (-25, 25), approx_radius=1.5)
    for _ in range(int(rng.integers(1, 4))):
        layout.scatter("lamp", "lamp_post", center, forward, right, (-4, 12), (-8, 8), approx_radius=0.4)
    for _ in range(int(round(n_props * clutter))):
        layout.scatter("prop", pick(rng, STREET_PROPS), center, forward, right, (-3, 18), (-12, 12), approx_radius=1.2)
    if clutter > 1:              # clutter near the foreground, behind it and beside it
        for _ in range(int(rng.integers(2, 6))):
            layout.scatter("prop", pick(rng, STREET_PROPS), center, forward, right, (1.0, 6.0), (-4, 4),
                           approx_radius=0.8)


def _table_items(layout: _Layout, rng: np.random.Generator, lo, hi, forward, right) -> None:
    table = layout.objects[0].params
    top = table["height"] + 0.004
    for _ in range(int(rng.integers(0, 3))):
        for _ in range(10):
            xy = forward * rng.uniform(-0.25, 0.25) * table["depth"] + right * rng.uniform(-0.45, 0.45) * table["width"]
            clear_of_fg = np.linalg.norm(xy - (lo[:2] + hi[:2]) / 2) > 0.5 * np.linalg.norm(hi[:2] - lo[:2]) + 0.08
            a, b = layout.sight
            t = np.clip(np.dot(xy - a, b - a) / (np.dot(b - a, b - a) + 1e-9), 0.0, 1.0)
            clear_of_sight = np.linalg.norm(xy - (a + t * (b - a))) > 0.1
            if clear_of_fg and clear_of_sight:
                layout.objects.append(Placed(f"item{len(layout.objects)}", "cup", "prop", assets.draw_params("cup", rng),
                                             [float(xy[0]), float(xy[1]), top], float(rng.uniform(0, 360))))
                break


def _occluder(layout: _Layout, rng: np.random.Generator, camera: Camera, lo, hi, right, small: bool) -> None:
    """Something between the camera and the foreground that hides a part of it."""
    origin = np.asarray(camera.origin)
    center = (lo + hi) / 2
    half_width = 0.5 * float(np.linalg.norm(hi[:2] - lo[:2]))
    t = float(rng.uniform(0.25, 0.6))
    xy = center[:2] + (origin[:2] - center[:2]) * t + right * rng.uniform(0.4, 1.1) * half_width * pick(rng, (-1.0, 1.0))
    if small:
        top = layout.objects[0].params["height"] + 0.004
        if np.linalg.norm(xy) > 0.45 * layout.objects[0].params["width"]:
            return
        layout.objects.append(Placed("occluder0", "cup", "occluder", assets.draw_params("cup", rng),
                                     [float(xy[0]), float(xy[1]), top], float(rng.uniform(0, 360))))
        return
    if np.linalg.norm(xy - origin[:2]) < 1.0:
        return
    kind = pick(rng, OCCLUDERS)
    layout.objects.append(Placed("occluder0", kind, "occluder", assets.draw_params(kind, rng),
                                 [float(xy[0]), float(xy[1]), 0.0], _yaw_facing(origin[:2] - xy)))

