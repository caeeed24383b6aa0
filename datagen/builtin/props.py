"""Background assets: buildings, trees, street furniture, cars, tables.

Same contract as `foregrounds`: `draw(rng) -> params`, `build(params) -> list[Part]` in the
object frame (z-up, meters, on z = 0). Lamp posts also report where their light sits
(`lamp_light`), and buildings their lit windows for the night style (`night_windows`).
"""
from __future__ import annotations

import numpy as np

from datagen.builtin.foregrounds import CHROME, diffuse, ground_parts, metal, pick, plastic, random_color, srgb
from datagen.builtin.meshes import (Part, box, box_with_uv, cone, cylinder, displaced_blob, ellipsoid, part, rot_x,
                                    rounded_box, torus)
from datagen.builtin.textures import lit_windows

WALLS = [srgb(*c) for c in ((200, 190, 170), (170, 90, 70), (140, 140, 135), (225, 215, 190), (110, 100, 95),
                            (190, 160, 120), (90, 110, 130), (235, 235, 230), (150, 120, 95))]
WOOD = [srgb(*c) for c in ((120, 80, 50), (150, 110, 70), (90, 60, 40), (170, 140, 100))]
LEAVES = [srgb(*c) for c in ((60, 100, 40), (80, 120, 50), (40, 80, 35), (110, 130, 50), (70, 95, 60))]


# --- buildings and walls -----------------------------------------------------------------------

def draw_building(rng: np.random.Generator) -> dict:
    w, h = float(rng.uniform(6, 20)), float(rng.uniform(5, 28))
    return {"width": w, "depth": float(rng.uniform(6, 14)), "height": h, "wall": pick(rng, WALLS),
            "glass": pick(rng, [srgb(40, 50, 60), srgb(60, 75, 90), srgb(30, 35, 40), srgb(80, 90, 85)]),
            "columns": max(2, int(round(w / float(rng.uniform(2.6, 4.0))))), "rows": max(1, int(round(h / 3.1))),
            "roof": pick(rng, [srgb(80, 80, 80), srgb(120, 60, 50), srgb(60, 60, 65)]),
            "seed": int(rng.integers(1 << 30)), "lit": float(rng.uniform(0.15, 0.6))}


def _facade_texture(p: dict) -> dict:
    return {"kind": "facade", "seed": p["seed"], "wall": p["wall"], "glass": p["glass"],
            "columns": p["columns"], "rows": p["rows"]}


def build_building(p: dict) -> list[Part]:
    v, f, uv = box_with_uv([p["width"], p["depth"], p["height"]], "unit")
    parts = [Part("facade", v, f, {"type": "diffuse", "texture": _facade_texture(p)}, smooth=False, uv=uv)]
    parts.append(part("roof", box([0, 0, p["height"] + 0.3], [p["width"] + 0.3, p["depth"] + 0.3, 0.6]),
                      diffuse(p["roof"]), smooth=False))
    return parts


def night_windows(p: dict) -> list[Part]:
    """The lit windows at night: per window, four emissive quads of uniform radiance, one on each
    facade, just in front of its glass. Uniform radiance, not an emission texture: Mitsuba 3.9's
    scalar variant returns NaN when it samples an area light's bitmap with unlit texels."""
    v, f, _ = box_with_uv([p["width"] + 0.04, p["depth"] + 0.04, p["height"]], "unit")
    faces = [(v[4 * i], v[4 * i + 1] - v[4 * i], v[4 * i + 3] - v[4 * i]) for i in range(4)]   # origin, u edge, v edge
    parts = []
    for (u0, v0, u1, v1), color in lit_windows(p["seed"] + 1, p["columns"], p["rows"], p["lit"]):
        quads = [o + a * np.array([[u0], [u1], [u1], [u0]]) + b * np.array([[v0], [v0], [v1], [v1]]) for o, a, b in faces]
        tris = np.array([[k, k + 1, k + 2] for k in range(0, 16, 4)] + [[k, k + 2, k + 3] for k in range(0, 16, 4)])
        parts.append(Part("windows", np.concatenate(quads), tris, {"type": "black"}, smooth=False,
                          emission={"radiance": [float(c) for c in color]}))
    return parts


def draw_wall(rng: np.random.Generator) -> dict:
    return {"length": float(rng.uniform(4, 12)), "height": float(rng.uniform(1.0, 2.6)),
            "thickness": float(rng.uniform(0.2, 0.4)), "color": pick(rng, WALLS), "seed": int(rng.integers(1 << 30)),
            "brick": float(rng.uniform(0.25, 0.6))}


def build_wall(p: dict) -> list[Part]:
    v, f, uv = box_with_uv([p["length"], p["thickness"], p["height"]])
    tex = {"kind": "paving", "seed": p["seed"], "color": p["color"], "tile": p["brick"] * 8}
    return [Part("wall", v, f, {"type": "diffuse", "texture": tex}, smooth=False, uv=uv)]


# --- vegetation --------------------------------------------------------------------------------

def draw_tree(rng: np.random.Generator) -> dict:
    return {"kind": pick(rng, ("broadleaf", "broadleaf", "conifer")), "trunk": float(rng.uniform(1.2, 3.5)),
            "trunk_radius": float(rng.uniform(0.08, 0.25)), "crown": float(rng.uniform(1.0, 3.0)),
            "blobs": int(rng.integers(1, 5)), "leaves": pick(rng, LEAVES), "bark": pick(rng, WOOD),
            "seed": int(rng.integers(1 << 30))}


def build_tree(p: dict) -> list[Part]:
    rng = np.random.default_rng(p["seed"])
    t, r, c = p["trunk"], p["trunk_radius"], p["crown"]
    parts = [part("bark", cylinder([0, 0, 0], [0, 0, t + c], r, r * 0.4, 12), diffuse(p["bark"]))]
    crowns = []
    if p["kind"] == "conifer":
        for i in range(4):
            z0 = t * 0.6 + i * c * 0.55
            crowns.append(cone([0, 0, z0], [0, 0, z0 + c * 1.1], c * (1.0 - 0.2 * i), 14))
    else:
        for i in range(p["blobs"]):
            off = rng.normal(0, 0.35 * c, 3) * [1, 1, 0.5] if i else np.zeros(3)
            crowns.append(displaced_blob(np.array([0, 0, t + 0.8 * c]) + off, c * rng.uniform(0.7, 1.0), rng,
                                         squash=(1, 1, rng.uniform(0.75, 1.0))))
    v = np.concatenate([m[0] for m in crowns])
    n = 0
    faces = []
    for m in crowns:
        faces.append(m[1] + n)
        n += len(m[0])
    shade = 0.75 + 0.5 * rng.random(len(v))
    colors = np.clip(np.asarray(p["leaves"])[None] * shade[:, None], 0, 1)
    parts.append(Part("leaves", v, np.concatenate(faces), {"type": "diffuse", "vertex_colors": True}, True, colors=colors))
    return parts


def draw_hedge(rng: np.random.Generator) -> dict:
    return {"length": float(rng.uniform(1.5, 6)), "depth": float(rng.uniform(0.5, 1.0)),
            "height": float(rng.uniform(0.6, 1.5)), "leaves": pick(rng, LEAVES), "seed": int(rng.integers(1 << 30))}


def build_hedge(p: dict) -> list[Part]:
    rng = np.random.default_rng(p["seed"])
    v, f = rounded_box([0, 0, p["height"] / 2], [p["length"], p["depth"], p["height"]], 0.35, count=24)
    v = v + rng.normal(0, 0.025, v.shape)
    colors = np.clip(np.asarray(p["leaves"])[None] * (0.7 + 0.6 * rng.random(len(v)))[:, None], 0, 1)
    return ground_parts([Part("leaves", v, f, {"type": "diffuse", "vertex_colors": True}, True, colors=colors)])


def draw_planter(rng: np.random.Generator) -> dict:
    return {"size": float(rng.uniform(0.5, 1.2)), "height": float(rng.uniform(0.4, 0.8)),
            "color": pick(rng, WALLS), "leaves": pick(rng, LEAVES), "seed": int(rng.integers(1 << 30))}


def build_planter(p: dict) -> list[Part]:
    rng = np.random.default_rng(p["seed"])
    s, h = p["size"], p["height"]
    return [part("pot", box([0, 0, h / 2], [s, s, h]), diffuse(p["color"]), smooth=False),
            part("leaves", displaced_blob([0, 0, h + 0.3 * s], 0.55 * s, rng, squash=(1, 1, 0.8)), diffuse(p["leaves"]))]


# --- street furniture --------------------------------------------------------------------------

def draw_lamp_post(rng: np.random.Generator) -> dict:
    return {"height": float(rng.uniform(3.5, 5.5)), "arm": float(rng.uniform(0.3, 1.0)),
            "color": pick(rng, [[0.03, 0.03, 0.03], [0.15, 0.2, 0.15], [0.3, 0.3, 0.32]]),
            "warmth": float(rng.uniform(0.0, 1.0))}


def build_lamp_post(p: dict) -> list[Part]:
    h, a = p["height"], p["arm"]
    pole = metal(p["color"], 0.4)
    meshes = [cylinder([0, 0, 0], [0, 0, h], 0.07, 0.05, 12), cylinder([0, 0, 0], [0, 0, 0.3], 0.11, 0.09, 12),
              cylinder([0, 0, h - 0.05], [a, 0, h], 0.03, 0.03, 8)]
    return [part("pole", meshes, pole),
            part("head", rounded_box([a, 0, h - 0.06], [0.45, 0.25, 0.14], 0.4), metal(p["color"], 0.4)),
            part("glass", cylinder([a, 0, h - 0.15], [a, 0, h - 0.12], 0.1, 0.1, 16), plastic([0.8, 0.78, 0.7], 0.1))]


def lamp_light(p: dict) -> np.ndarray:
    """Where the lamp's light sits in the object frame (just under the glass)."""
    return np.array([p["arm"], 0.0, p["height"] - 0.22])


def draw_bench(rng: np.random.Generator) -> dict:
    return {"length": float(rng.uniform(1.2, 2.2)), "wood": pick(rng, WOOD), "frame": pick(rng, [[0.03] * 3, CHROME, [0.2, 0.25, 0.2]]),
            "back": bool(rng.random() < 0.7)}


def build_bench(p: dict) -> list[Part]:
    L = p["length"]
    slats = [box([0, y, 0.45], [L, 0.12, 0.04]) for y in (-0.16, 0.0, 0.16)]
    if p["back"]:
        slats += [box([0, -0.25, z], [L, 0.04, 0.1], rot_x(-10)) for z in (0.65, 0.82)]
    legs = [box([x, 0, 0.22], [0.06, 0.45, 0.44]) for x in (-L / 2 + 0.1, L / 2 - 0.1)]
    if p["back"]:
        legs += [box([x, -0.25, 0.65], [0.05, 0.05, 0.45]) for x in (-L / 2 + 0.1, L / 2 - 0.1)]
    return [part("wood", slats, diffuse(p["wood"]), smooth=False), part("frame", legs, metal(p["frame"], 0.4), smooth=False)]


def draw_bollard(rng: np.random.Generator) -> dict:
    return {"height": float(rng.uniform(0.7, 1.1)), "radius": float(rng.uniform(0.06, 0.14)),
            "color": pick(rng, [[0.03] * 3, CHROME, srgb(200, 170, 40), [0.5, 0.5, 0.5]])}


def build_bollard(p: dict) -> list[Part]:
    h, r = p["height"], p["radius"]
    return [part("post", [cylinder([0, 0, 0], [0, 0, h], r, r, 16), ellipsoid([0, 0, h], [r, r, 0.6 * r])],
                 metal(p["color"], 0.35))]


def draw_bin(rng: np.random.Generator) -> dict:
    return {"radius": float(rng.uniform(0.2, 0.32)), "height": float(rng.uniform(0.7, 1.0)),
            "color": random_color(rng, val=(0.1, 0.6))}


def build_bin(p: dict) -> list[Part]:
    r, h = p["radius"], p["height"]
    return [part("body", cylinder([0, 0, 0], [0, 0, h], r * 0.92, r, 20), plastic(p["color"], 0.4)),
            part("lid", cylinder([0, 0, h], [0, 0, h + 0.05], r * 1.04, r * 0.95, 20), plastic([0.05] * 3, 0.4))]


def draw_crate(rng: np.random.Generator) -> dict:
    return {"size": [float(rng.uniform(0.4, 1.2)) for _ in range(3)], "color": pick(rng, WOOD + [random_color(rng)])}


def build_crate(p: dict) -> list[Part]:
    sx, sy, sz = p["size"]
    return [part("crate", rounded_box([0, 0, sz / 2], [sx, sy, sz], 0.08), diffuse(p["color"]))]


def draw_cone(rng: np.random.Generator) -> dict:
    return {"height": float(rng.uniform(0.45, 0.75))}


def build_cone(p: dict) -> list[Part]:
    h = p["height"]
    return [part("cone", [cone([0, 0, 0.03], [0, 0, h], 0.16 * h / 0.6, 14), box([0, 0, 0.015], [0.4 * h, 0.4 * h, 0.03])],
                 plastic(srgb(240, 90, 20), 0.4)),
            part("band", cylinder([0, 0, 0.45 * h], [0, 0, 0.6 * h], 0.085 * h / 0.6 + 0.004, 0.065 * h / 0.6 + 0.004, 14),
                 plastic([0.9, 0.9, 0.9], 0.3))]


def draw_fence(rng: np.random.Generator) -> dict:
    return {"length": float(rng.uniform(3, 9)), "height": float(rng.uniform(0.8, 1.4)),
            "color": pick(rng, WOOD + [[0.05] * 3, [0.6, 0.6, 0.6]])}


def build_fence(p: dict) -> list[Part]:
    L, h = p["length"], p["height"]
    n = max(2, int(L / 1.2) + 1)
    meshes = [box([x, 0, h / 2], [0.08, 0.08, h]) for x in np.linspace(-L / 2, L / 2, n)]
    meshes += [box([0, 0, z], [L, 0.04, 0.09]) for z in (0.35 * h, 0.85 * h)]
    return [part("fence", meshes, diffuse(p["color"]), smooth=False)]


def draw_car(rng: np.random.Generator) -> dict:
    return {"length": float(rng.uniform(3.7, 4.8)), "width": float(rng.uniform(1.65, 1.9)),
            "height": float(rng.uniform(1.35, 1.6)), "paint": random_color(rng, sat=(0.0, 0.9), val=(0.05, 0.9)),
            "roughness": float(rng.uniform(0.05, 0.2))}


def build_car(p: dict) -> list[Part]:
    L, W, H = p["length"], p["width"], p["height"]
    wheel_r = 0.32
    body = rounded_box([0, 0, wheel_r + 0.3], [L, W, 0.62], 0.3)
    cabin = rounded_box([-0.1 * L, 0, wheel_r + 0.55 + (H - wheel_r - 0.55) / 2], [0.55 * L, 0.92 * W, H - wheel_r - 0.5], 0.45)
    wheels = [torus([x, y, wheel_r], [0, 1, 0], wheel_r - 0.09, 0.09, 24, 8)
              for x in (-0.33 * L, 0.33 * L) for y in (-W / 2 + 0.12, W / 2 - 0.12)]
    hubs = [cylinder([x, y - 0.05, wheel_r], [x, y + 0.05, wheel_r], 0.2, 0.2, 16)
            for x in (-0.33 * L, 0.33 * L) for y in (-W / 2 + 0.12, W / 2 - 0.12)]
    lights = [ellipsoid([L / 2 - 0.03, y, wheel_r + 0.38], [0.04, 0.15, 0.07]) for y in (-W / 2 + 0.25, W / 2 - 0.25)]
    return [part("paint", body, plastic(p["paint"], p["roughness"])),
            part("glass", cabin, plastic([0.02, 0.025, 0.03], 0.05)),
            part("tire", wheels, diffuse([0.025] * 3)), part("hub", hubs, metal([0.6, 0.6, 0.62], 0.3)),
            part("lights", lights, plastic([0.9, 0.9, 0.85], 0.05))]


def draw_table(rng: np.random.Generator) -> dict:
    return {"width": float(rng.uniform(0.7, 1.3)), "depth": float(rng.uniform(0.6, 0.9)),
            "height": float(rng.uniform(0.7, 0.78)), "top": pick(rng, WOOD + [[0.8, 0.8, 0.78], [0.05] * 3]),
            "legs": pick(rng, [[0.03] * 3, CHROME] + WOOD), "pedestal": bool(rng.random() < 0.3),
            "cloth": random_color(rng) if rng.random() < 0.3 else None}


def build_table(p: dict) -> list[Part]:
    W, D, H = p["width"], p["depth"], p["height"]
    parts = [part("top", rounded_box([0, 0, H - 0.02], [W, D, 0.04], 0.15), plastic(p["top"], 0.3))]
    if p["pedestal"]:
        legs = [cylinder([0, 0, 0], [0, 0, H - 0.04], 0.05, 0.04, 12), cylinder([0, 0, 0], [0, 0, 0.03], 0.3, 0.28, 20)]
    else:
        legs = [cylinder([sx * (W / 2 - 0.06), sy * (D / 2 - 0.06), 0], [sx * (W / 2 - 0.06), sy * (D / 2 - 0.06), H - 0.04],
                         0.025, 0.025, 10) for sx in (-1, 1) for sy in (-1, 1)]
    parts.append(part("legs", legs, metal(p["legs"], 0.35)))
    if p["cloth"] is not None:
        parts.append(part("cloth", box([0, 0, H + 0.001], [W * 0.6, D * 0.6, 0.004]), diffuse(p["cloth"]), smooth=False))
    return parts


def draw_cup(rng: np.random.Generator) -> dict:
    return {"radius": float(rng.uniform(0.03, 0.05)), "height": float(rng.uniform(0.07, 0.14)),
            "color": random_color(rng), "box": bool(rng.random() < 0.4)}


def build_cup(p: dict) -> list[Part]:
    r, h = p["radius"], p["height"]
    if p["box"]:
        return [part("item", box([0, 0, h / 2], [2.4 * r, 1.6 * r, h]), diffuse(p["color"]), smooth=False)]
    return [part("item", cylinder([0, 0, 0], [0, 0, h], r * 0.85, r, 20), plastic(p["color"], 0.2))]


PROPS = {
    "building": (draw_building, build_building), "wall": (draw_wall, build_wall),
    "tree": (draw_tree, build_tree), "hedge": (draw_hedge, build_hedge), "planter": (draw_planter, build_planter),
    "lamp_post": (draw_lamp_post, build_lamp_post), "bench": (draw_bench, build_bench),
    "bollard": (draw_bollard, build_bollard), "bin": (draw_bin, build_bin), "crate": (draw_crate, build_crate),
    "cone": (draw_cone, build_cone), "fence": (draw_fence, build_fence), "car": (draw_car, build_car),
    "table": (draw_table, build_table), "cup": (draw_cup, build_cup),
}
STREET_PROPS = ("bench", "bollard", "bin", "planter", "crate", "cone", "fence", "car", "hedge")
OCCLUDERS = ("bollard", "bin", "planter", "crate", "cone", "fence", "hedge", "bench")
