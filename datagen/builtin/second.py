"""The second scene generator: scenes that the rendered domain never sees (`--generator second`).

The demo's stand-in real domain at gap level 3 is rendered with it, so that its photos differ
from the renders in appearance, as the paper's real photos differ from its Unity renders, and
not only in how they were developed and composited. Against the main generator it changes:

- meshes: every foreground (and prop) is warped in its own frame by a seeded smooth map:
  per-axis scale, taper, bend and bulges along its height (`draw_restyle`, `apply_restyle`),
  so the category's shapes and proportions fall outside the renders' ranges;
- materials: flat colours become solid procedural textures (stripes, checks, mottling,
  speckle) with a second colour, written as vertex colours on subdivided meshes; patterned
  plastic becomes matte (metal keeps its finish, unpatterned);
- backgrounds: twice the props and more trees, props near the foreground, textured too;
- light: a continuous sun and sky per photo (elevation, azimuth, turbidity, cloud cover and
  brightness drawn from continuous ranges, `draw_continuous_light`) in place of the styles'
  weather table and the sun path of one day; the night style keeps its own drawing.

A plan records everything in its objects' params and style entries, so a scene renders again
from scene.json alone, like the main generator's.
"""
from __future__ import annotations

import numpy as np
import trimesh

from datagen.builtin.lighting import CLOUD_HEIGHT, CLOUD_TILE, StyleLight, SunPath, draw_style_light
from datagen.builtin.meshes import Part
from datagen.styles import Style, format_time

GENERATORS = ("main", "second")
MAX_SUBDIVIDED_VERTICES = 24000      # per part: a pattern's period spans a few vertices, within this


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def draw_restyle(rng: np.random.Generator, warp: float = 1.0) -> dict:
    """The shape warp and surface pattern of one object (JSON-ready); `warp` scales the shape change
    (1 for foregrounds, less for props)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis) + 1e-12
    return {
        "warp": {"sx": 1.0 + warp * _u(rng, -0.22, 0.25), "sy": 1.0 + warp * _u(rng, -0.22, 0.25),
                 "sz": 1.0 + warp * _u(rng, -0.12, 0.14), "taper": warp * _u(rng, -0.35, 0.35),
                 "bend": warp * _u(rng, -0.18, 0.18), "bulge": warp * _u(rng, 0.0, 0.14),
                 "waves": _u(rng, 1.0, 3.5), "phase": _u(rng, 0.0, 2 * np.pi)},
        "pattern": {"kind": str(rng.choice(["stripes", "checks", "mottle", "speckle", "plain"], p=[0.3, 0.2, 0.3, 0.1, 0.1])),
                    "period": _u(rng, 0.07, 0.3),            # of the object's size
                    "axis": [float(a) for a in axis], "contrast": _u(rng, 0.5, 0.9),
                    "tint": [_u(rng, 0.25, 1.8) for _ in range(3)], "seed": int(rng.integers(1 << 30))},
    }


def apply_restyle(parts: list[Part], restyle: dict) -> list[Part]:
    """Warp and texture an object's parts (object frame, standing on z = 0), in place."""
    v = np.concatenate([p.vertices for p in parts])
    lo, hi = v.min(0), v.max(0)
    size = float(max(hi - lo))
    w = restyle["warp"]
    center = (lo + hi) / 2
    height = max(float(hi[2] - lo[2]), 1e-6)
    pattern = restyle["pattern"]
    step = pattern["period"] * size / 3.0     # largest edge: three vertices a period
    for p in parts:
        patterned = pattern["kind"] != "plain" and p.uv is None and p.material.get("type") in ("diffuse", "plastic")
        if patterned:
            _subdivide(p, step)
        x = p.vertices - np.array([center[0], center[1], 0.0])
        t = np.clip((p.vertices[:, 2] - lo[2]) / height, 0.0, 1.0)
        radial = (1.0 + w["taper"] * (t - 0.5)) * (1.0 + w["bulge"] * np.sin(2 * np.pi * w["waves"] * t + w["phase"]))
        x[:, 0] *= w["sx"] * radial
        x[:, 1] *= w["sy"] * radial
        x[:, 2] *= w["sz"]
        x[:, 0] += w["bend"] * height * t ** 2
        x[:, :2] += center[:2]
        if patterned:
            _texture(p, pattern, size)         # on the unwarped positions: the pattern stretches with the shape
        p.vertices = x
    return parts


def _subdivide(p: Part, step: float) -> None:
    attrs = {} if p.colors is None else {"colors": p.colors}
    while len(p.vertices) * 4 <= MAX_SUBDIVIDED_VERTICES:
        edges = p.vertices[p.faces[:, [1, 2, 0]]] - p.vertices[p.faces]
        if float(np.linalg.norm(edges, axis=-1).max()) <= step:
            break
        out = trimesh.remesh.subdivide(p.vertices, p.faces, vertex_attributes=attrs or None)
        p.vertices, p.faces = out[0], out[1]
        if attrs:
            attrs = {"colors": out[2]["colors"]}
    if attrs:
        p.colors = np.asarray(attrs["colors"], np.float64)


def _texture(p: Part, pattern: dict, size: float) -> None:
    """Vertex colours: the part's colour mixed toward a tinted second colour by a solid pattern."""
    base = p.colors if p.colors is not None else np.tile(np.asarray(p.material.get("color", [0.5, 0.5, 0.5]), np.float64),
                                                        (len(p.vertices), 1))
    m = solid_pattern(p.vertices / size, pattern)
    second = base * np.asarray(pattern["tint"])[None, :]
    p.colors = np.clip(base * (1 - pattern["contrast"] * m[:, None]) + second * pattern["contrast"] * m[:, None], 0.0, 1.0)
    p.material = {"type": "diffuse", "vertex_colors": True}    # Mitsuba's rough plastic takes no per-vertex albedo


def solid_pattern(points: np.ndarray, pattern: dict) -> np.ndarray:
    """A pattern in [0, 1] at `points` (in units of the object's size), smooth enough not to alias."""
    kind, period = pattern["kind"], pattern["period"]
    axis = np.asarray(pattern["axis"])
    rng = np.random.default_rng(pattern["seed"])
    s = points @ axis / period
    if kind == "stripes":
        return 0.5 + 0.5 * np.tanh(4.0 * np.sin(2 * np.pi * s))
    if kind == "checks":
        other = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
        other /= np.linalg.norm(other)
        s2 = points @ other / period
        return 0.5 + 0.5 * np.tanh(4.0 * np.sin(2 * np.pi * s) * np.sin(2 * np.pi * s2))
    if kind in ("mottle", "speckle"):
        waves, total = (6, 1.0) if kind == "mottle" else (12, 0.35)
        acc = np.zeros(len(points))
        for i in range(waves):
            d = rng.normal(size=3)
            d /= np.linalg.norm(d)
            f = (1.0 + i * 0.6) / (period * (1.0 if kind == "mottle" else 0.4))
            acc += np.sin(2 * np.pi * f * (points @ d) + rng.uniform(0, 2 * np.pi)) / (1.0 + 0.5 * i)
        acc /= np.abs(acc).max() + 1e-9
        return np.clip(0.5 + 0.5 * acc / total, 0.0, 1.0) if kind == "mottle" else (acc > 0.3).astype(np.float64)
    return np.zeros(len(points))


def draw_continuous_light(style: Style, minutes: int, rng: np.random.Generator) -> StyleLight:
    """A day style's light from continuous ranges (any sun position, any cloud cover); the night
    style is drawn as the main generator draws it."""
    if style.phase == "night":
        return draw_style_light(style, minutes, SunPath.draw(rng), rng)
    cover = float(rng.beta(0.9, 1.1)) * 0.97
    weather = "Clear" if cover < 0.15 else "Partly Cloudy" if cover < 0.7 else "Cloudy"
    light = StyleLight(id=style.id, name=style.name, weather=weather, time=format_time(minutes),
                       minutes=minutes, model="sunsky", render_seed=int(rng.integers(1 << 31)),
                       cloud_coverage=cover if cover >= 0.05 else 0.0, cloud_height=_u(rng, *CLOUD_HEIGHT),
                       cloud_tile=_u(rng, *CLOUD_TILE), cloud_seed=int(rng.integers(1 << 30)),
                       cloud_offset=(_u(rng, 0, 1), _u(rng, 0, 1)))
    light.sun_elevation = float(3.0 + 72.0 * rng.beta(1.2, 1.6))
    light.sun_azimuth = _u(rng, 0.0, 360.0)
    light.turbidity = float(np.clip(2.0 + 6.0 * cover + rng.normal(0, 0.7), 1.8, 9.0))
    light.sun_scale = float(np.clip(1.0 - 0.9 * cover ** 1.5 + rng.normal(0, 0.05), 0.1, 1.0))
    light.sky_scale = float(np.clip(1.0 - 0.4 * cover + rng.normal(0, 0.05), 0.55, 1.1))
    light.cloud_brightness = float(np.clip(1.05 - 0.7 * cover + rng.normal(0, 0.08), 0.25, 1.1)) if light.cloud_coverage else 0.0
    return light
