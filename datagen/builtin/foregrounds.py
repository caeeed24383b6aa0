"""Foreground assets for the paper's six categories, built procedurally.

Each category has `draw(rng) -> params` (JSON-ready numbers, colors and choices) and
`build(params) -> list[Part]` (object frame: z-up, meters, standing on z=0, facing +y).
Shape, proportion, pose and material all come from params, so a plan rebuilds the same object.
"""
from __future__ import annotations

import numpy as np

from datagen.builtin.meshes import (Part, capsule, cone, cylinder, ellipsoid, lathe, part,
                                    rot_x, rot_y, rot_z, rounded_box, torus)


def srgb(r: float, g: float, b: float) -> list[float]:
    """8-bit sRGB -> linear reflectance."""
    c = np.array([r, g, b], np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return [round(float(x), 5) for x in lin]


def random_color(rng: np.random.Generator, sat=(0.2, 0.9), val=(0.25, 0.95)) -> list[float]:
    """A random fabric/paint color in linear RGB, drawn in HSV."""
    h, s, v = rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return srgb(*(255 * np.array(rgb)))


def pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def diffuse(color) -> dict:
    return {"type": "diffuse", "color": [float(c) for c in color]}


def plastic(color, roughness: float = 0.15) -> dict:
    return {"type": "plastic", "color": [float(c) for c in color], "roughness": float(roughness)}


def metal(color, roughness: float = 0.2) -> dict:
    return {"type": "metal", "color": [float(c) for c in color], "roughness": float(roughness)}


SKIN = [srgb(*c) for c in ((255, 224, 196), (241, 194, 167), (224, 172, 130), (198, 134, 96),
                           (161, 102, 70), (120, 76, 52), (88, 57, 40), (62, 40, 30))]
HAIR = [srgb(*c) for c in ((20, 16, 14), (45, 30, 22), (80, 55, 35), (140, 100, 60), (200, 170, 110),
                           (120, 50, 30), (160, 160, 160), (230, 225, 215))]
CHROME = [0.75, 0.75, 0.77]


# --- human -------------------------------------------------------------------------------------

POSES = ("stand", "walk", "wave", "point", "phone")


def draw_human(rng: np.random.Generator) -> dict:
    pose = pick(rng, POSES)
    j = lambda a, b: float(rng.uniform(a, b))  # noqa: E731
    p = {"hip_l": j(-4, 4), "hip_r": j(-4, 4), "knee_l": j(0, 8), "knee_r": j(0, 8),
         "shoulder_l": j(-8, 8), "shoulder_r": j(-8, 8), "abduct_l": j(5, 14), "abduct_r": j(5, 14),
         "elbow_l": j(5, 25), "elbow_r": j(5, 25), "elbow_abd_l": 0.0, "elbow_abd_r": 0.0,
         "lean": j(-4, 6), "head_yaw": j(-35, 35), "head_pitch": j(-10, 12), "spread": j(2, 7)}
    if pose == "walk":
        a = j(14, 30)
        p.update(hip_l=a, hip_r=-0.8 * a, knee_l=j(3, 12), knee_r=j(20, 45),
                 shoulder_l=-0.8 * a, shoulder_r=0.8 * a, elbow_l=j(10, 35), elbow_r=j(10, 35))
    elif pose == "wave":
        p.update(abduct_r=j(75, 105), elbow_abd_r=j(55, 85), elbow_r=j(0, 15), shoulder_r=j(-10, 10))
    elif pose == "point":
        p.update(shoulder_r=j(65, 95), abduct_r=j(5, 30), elbow_r=j(0, 15))
    elif pose == "phone":
        p.update(shoulder_r=j(20, 40), elbow_r=j(95, 125), abduct_r=j(5, 15), head_pitch=j(15, 30))
    legwear = pick(rng, ("long", "long", "long", "shorts", "skirt"))
    return {
        "height": j(1.52, 1.95), "build": j(0.85, 1.3), "shoulders": j(0.88, 1.12),
        "skin": pick(rng, SKIN), "hair": pick(rng, HAIR),
        "hair_style": pick(rng, ("short", "short", "long", "bun", "none")),
        "shirt": random_color(rng), "pants": random_color(rng, sat=(0.05, 0.7), val=(0.1, 0.7)),
        "shoes": random_color(rng, sat=(0.0, 0.5), val=(0.05, 0.6)),
        "sleeves": pick(rng, ("long", "short")), "legwear": legwear,
        "hat": random_color(rng) if rng.random() < 0.18 else None,
        "bag": random_color(rng, val=(0.1, 0.6)) if rng.random() < 0.2 else None,
        "pose_name": pose, "pose": p,
    }


def _limb_dir(side: float, abduct: float, flex: float) -> np.ndarray:
    """Direction of a limb hanging down, abducted sideways then flexed forward (+y)."""
    a, t = np.radians(abduct), np.radians(flex)
    v = np.array([side * np.sin(a), 0.0, -np.cos(a)])
    return rot_x(np.degrees(t)) @ v


def _human_head(p: dict, H: float, head_c: float, skin) -> list:
    """Head, nose, hair and hat as (slot, mesh, material), before the head turns."""
    head = []
    head.append(("skin", ellipsoid([0, 0.004 * H, head_c], np.array([0.05, 0.058, 0.066]) * H), skin))
    head.append(("skin", ellipsoid([0, 0.057 * H, head_c - 0.008 * H], np.array([0.009, 0.012, 0.016]) * H), skin))
    hair = diffuse(p["hair"])
    if p["hair_style"] != "none":
        cap_v, cap_f = ellipsoid([0, -0.004 * H, head_c + 0.008 * H], np.array([0.054, 0.062, 0.066]) * H)
        rel = cap_v - np.array([0, 0, head_c])
        keep_v = (rel[:, 2] > 0.005 * H) | (rel[:, 1] < -0.02 * H)
        keep_f = keep_v[cap_f].all(1)
        head.append(("hair", (cap_v, cap_f[keep_f]), hair))
        if p["hair_style"] == "long":
            head.append(("hair", rounded_box([0, -0.035 * H, head_c - 0.07 * H], np.array([0.1, 0.05, 0.17]) * H, 0.5), hair))
        elif p["hair_style"] == "bun":
            head.append(("hair", ellipsoid([0, -0.05 * H, head_c + 0.045 * H], np.array([0.03, 0.03, 0.028]) * H), hair))
    if p["hat"] is not None:
        hat = diffuse(p["hat"])
        top = head_c + 0.045 * H
        head.append(("hat", cylinder([0, 0, top], [0, 0, top + 0.045 * H], 0.057 * H, 0.05 * H, 20), hat))
        head.append(("hat", cylinder([0, 0.02 * H, top], [0, 0.02 * H, top + 0.006 * H], 0.075 * H, 0.075 * H, 20), hat))
    return head


def build_human(p: dict) -> list[Part]:
    H, b, sh = p["height"], p["build"], p["shoulders"]
    q = p["pose"]
    k = H / 1.75
    hip_z, waist_z, chest_z, shoulder_z = 0.52 * H, 0.61 * H, 0.71 * H, 0.815 * H
    neck_top, head_c = 0.865 * H, 0.925 * H
    hw = 0.052 * H * np.sqrt(b)
    sw = 0.118 * H * sh * (0.92 + 0.08 * b)
    skin, shirt, pants = diffuse(p["skin"]), diffuse(p["shirt"]), diffuse(p["pants"])
    shoes = plastic(p["shoes"], 0.35)
    lower, upper = [], []     # (slot, mesh, material, smooth)

    # legs
    for side, name in ((-1.0, "l"), (1.0, "r")):
        hip = np.array([side * hw, 0.0, hip_z])
        thigh = _limb_dir(side, q["spread"], q[f"hip_{name}"])
        knee = hip + 0.245 * H * thigh
        shin = _limb_dir(side, q["spread"], q[f"hip_{name}"] - q[f"knee_{name}"])
        ankle = knee + 0.235 * H * shin
        thigh_mat = pants if p["legwear"] in ("long", "shorts") else skin
        lower.append(("pants" if thigh_mat is pants else "skin", capsule(hip, knee, 0.068 * k * b, 12), thigh_mat))
        shin_mat = pants if p["legwear"] == "long" else skin
        lower.append(("pants" if shin_mat is pants else "skin", capsule(knee, ankle, 0.05 * k * b ** 0.7, 12), shin_mat))
        foot_c = ankle + np.array([0.0, 0.055 * k, -0.02 * k])
        lower.append(("shoes", ellipsoid(foot_c, np.array([0.048, 0.13, 0.045]) * k), shoes))
    # pelvis and (optional) skirt
    pelvis = lathe([(0, hip_z - 0.05 * H), (hw * 1.55, hip_z - 0.02 * H), (hw * 1.75, hip_z + 0.03 * H),
                    (0.095 * H * b ** 0.8, waist_z), (0, waist_z)], 20)
    pelvis = (pelvis[0] * np.array([1.0, 0.72, 1.0]), pelvis[1])
    lower.append(("pants", pelvis, pants))
    if p["legwear"] == "skirt":
        skirt = lathe([(0, 0.33 * H), (0.2 * H * b ** 0.5, 0.33 * H), (0.1 * H * b ** 0.8, waist_z), (0, waist_z)], 24)
        lower.append(("pants", (skirt[0] * np.array([1.0, 0.8, 1.0]), skirt[1]), pants))

    # torso, neck, arms (leaned about the waist)
    torso = lathe([(0, waist_z - 0.01 * H), (0.095 * H * b ** 0.8, waist_z - 0.01 * H),
                   (0.105 * H * b, chest_z), (sw * 0.82, shoulder_z - 0.035 * H),
                   (sw * 0.45, shoulder_z + 0.01 * H), (0, shoulder_z + 0.02 * H)], 24)
    upper.append(("shirt", (torso[0] * np.array([1.0, 0.62 + 0.05 * b, 1.0]), torso[1]), shirt))
    upper.append(("skin", cylinder([0, 0, shoulder_z - 0.01 * H], [0, 0, neck_top + 0.01 * H], 0.028 * k * b ** 0.4), skin))
    for side, name in ((-1.0, "l"), (1.0, "r")):
        shoulder = np.array([side * sw * 0.9, 0.0, shoulder_z - 0.025 * H])
        arm = _limb_dir(side, q[f"abduct_{name}"], q[f"shoulder_{name}"])
        elbow = shoulder + 0.17 * H * arm
        fore = _limb_dir(side, q[f"abduct_{name}"] + q[f"elbow_abd_{name}"], q[f"shoulder_{name}"] + q[f"elbow_{name}"])
        wrist = elbow + 0.145 * H * fore
        upper.append(("shirt", capsule(shoulder, elbow, 0.043 * k * b ** 0.8, 10), shirt))
        fore_mat = shirt if p["sleeves"] == "long" else skin
        upper.append(("shirt" if fore_mat is shirt else "skin", capsule(elbow, wrist, 0.034 * k * b ** 0.7, 10), fore_mat))
        upper.append(("skin", ellipsoid(wrist + 0.04 * k * fore, np.array([0.028, 0.022, 0.045]) * k,
                                        rotation=rot_x(q[f"shoulder_{name}"])), skin))
    if p["bag"] is not None:
        upper.append(("bag", rounded_box([0, -0.11 * H * b ** 0.5, chest_z - 0.02 * H],
                                         np.array([0.3, 0.14, 0.4]) * k, 0.3), diffuse(p["bag"])))

    head = _human_head(p, H, head_c, skin)  # turned about the neck below

    parts = []
    pivot_head = np.array([0, 0, neck_top])
    r_head = rot_z(q["head_yaw"]) @ rot_x(-q["head_pitch"])
    pivot_waist = np.array([0, 0, waist_z])
    r_lean = rot_x(q["lean"])
    for slot, (v, f), mat in head:
        v = (v - pivot_head) @ r_head.T + pivot_head
        upper.append((slot, (v, f), mat))
    for slot, (v, f), mat in upper:
        parts.append(part(slot, ((v - pivot_waist) @ r_lean.T + pivot_waist, f), mat))
    for slot, mesh, mat in lower:
        parts.append(part(slot, mesh, mat))
    return ground_parts(parts)


# --- bottle ------------------------------------------------------------------------------------

GLASS = [srgb(*c) for c in ((30, 90, 40), (90, 50, 20), (200, 210, 205), (30, 60, 120), (140, 30, 30))]


def draw_bottle(rng: np.random.Generator) -> dict:
    kind = pick(rng, ("wine", "beer", "water", "soda"))
    radius = {"wine": (0.036, 0.042), "beer": (0.028, 0.034), "water": (0.03, 0.045), "soda": (0.032, 0.05)}[kind]
    body = {"wine": (0.16, 0.2), "beer": (0.1, 0.14), "water": (0.14, 0.22), "soda": (0.13, 0.2)}[kind]
    return {
        "kind": kind, "radius": float(rng.uniform(*radius)), "body": float(rng.uniform(*body)),
        "shoulder": float(rng.uniform(0.03, 0.07)), "neck_radius": float(rng.uniform(0.011, 0.016)),
        "neck": float(rng.uniform(0.03, 0.09)), "glass": pick(rng, GLASS) if kind != "water" else [0.5, 0.62, 0.7],
        "roughness": float(rng.uniform(0.03, 0.15)), "cap": random_color(rng),
        "label": random_color(rng, val=(0.4, 0.95)) if rng.random() < 0.8 else None,
        "label_band": [float(rng.uniform(0.2, 0.35)), float(rng.uniform(0.55, 0.8))],
    }


def build_bottle(p: dict) -> list[Part]:
    r, hb, hs, rn, ln = p["radius"], p["body"], p["shoulder"], p["neck_radius"], p["neck"]
    t = np.linspace(0, 1, 8)[1:-1]
    shoulder = [(rn + (r - rn) * (0.5 + 0.5 * np.cos(np.pi * s)), hb + hs * s) for s in t]
    top = hb + hs + ln
    profile = [(0, 0), (r * 0.93, 0), (r, 0.008), (r, hb)] + shoulder + [(rn, hb + hs), (rn, top), (0, top)]
    parts = [part("glass", lathe(profile, 40), plastic(p["glass"], p["roughness"]))]
    parts.append(part("cap", cylinder([0, 0, top - 0.004], [0, 0, top + 0.012], rn * 1.18, rn * 1.15, 24),
                      plastic(p["cap"], 0.3)))
    if p["label"] is not None:
        z0, z1 = (hb * f for f in p["label_band"])
        parts.append(part("label", cylinder([0, 0, z0], [0, 0, z1], r * 1.012, r * 1.012, 40), diffuse(p["label"])))
    return parts


# --- cake --------------------------------------------------------------------------------------

FROSTING = [srgb(*c) for c in ((250, 245, 235), (250, 200, 210), (120, 70, 40), (255, 230, 150),
                               (200, 230, 200), (210, 190, 240), (60, 35, 20))]


def draw_cake(rng: np.random.Generator) -> dict:
    return {
        "tiers": int(rng.integers(1, 4)), "radius": float(rng.uniform(0.09, 0.17)),
        "tier_height": float(rng.uniform(0.05, 0.09)), "square": bool(rng.random() < 0.25),
        "frosting": pick(rng, FROSTING), "trim": pick(rng, FROSTING),
        "berries": int(rng.integers(0, 13)), "berry": pick(rng, [srgb(190, 20, 30), srgb(70, 20, 90), srgb(240, 240, 240)]),
        "candles": int(rng.integers(0, 7)), "candle": random_color(rng), "plate": pick(rng, [[0.8, 0.8, 0.8], [0.6, 0.6, 0.65]]),
        "seed": int(rng.integers(1 << 30)),
    }


def build_cake(p: dict) -> list[Part]:
    rng = np.random.default_rng(p["seed"])
    r, h = p["radius"], p["tier_height"]
    frost, trim = plastic(p["frosting"], 0.45), diffuse(p["trim"])
    parts = [part("plate", cylinder([0, 0, 0], [0, 0, 0.012], r * 1.3, r * 1.25, 40), plastic(p["plate"], 0.1))]
    z = 0.012
    for t in range(p["tiers"]):
        rt = r * (1.0 - 0.28 * t)
        if p["square"]:
            mesh = rounded_box([0, 0, z + h / 2], [2 * rt, 2 * rt, h], 0.12)
        else:
            mesh = cylinder([0, 0, z], [0, 0, z + h], rt, rt, 40)
        parts.append(part("frosting", mesh, frost))
        parts.append(part("trim", torus([0, 0, z + h], [0, 0, 1], rt * 0.98, 0.008 + 0.04 * h, 40, 8), trim))
        z += h
    top_r = r * (1.0 - 0.28 * (p["tiers"] - 1))
    berries = []
    for i in range(p["berries"]):
        a = 2 * np.pi * i / max(p["berries"], 1)
        berries.append(ellipsoid([0.75 * top_r * np.cos(a), 0.75 * top_r * np.sin(a), z + 0.01], [0.012] * 3, subdivisions=1))
    if berries:
        parts.append(part("berry", berries, plastic(p["berry"], 0.1)))
    candles = []
    for i in range(p["candles"]):
        a = 2 * np.pi * (i + 0.5) / p["candles"] + rng.uniform(-0.2, 0.2)
        c = np.array([0.4 * top_r * np.cos(a), 0.4 * top_r * np.sin(a), z])
        candles.append(cylinder(c, c + [0, 0, 0.06], 0.0045, 0.0045, 10))
    if candles:
        parts.append(part("candle", candles, diffuse(p["candle"])))
    return parts


# --- motorcycle --------------------------------------------------------------------------------

def draw_motorcycle(rng: np.random.Generator) -> dict:
    return {
        "wheelbase": float(rng.uniform(1.3, 1.6)), "wheel": float(rng.uniform(0.28, 0.34)),
        "tire": float(rng.uniform(0.05, 0.085)), "style": pick(rng, ("sport", "naked", "cruiser")),
        "paint": random_color(rng, sat=(0.5, 1.0), val=(0.3, 0.95)), "paint_roughness": float(rng.uniform(0.05, 0.25)),
        "frame": pick(rng, [[0.03, 0.03, 0.03], CHROME, [0.25, 0.25, 0.27]]),
        "seat": pick(rng, [[0.02, 0.02, 0.02], srgb(90, 50, 30), srgb(60, 60, 60)]),
        "lean": float(rng.uniform(-6, 6)),
    }


def build_motorcycle(p: dict) -> list[Part]:
    W, R, t = p["wheelbase"], p["wheel"], p["tire"]
    paint, frame, chrome = plastic(p["paint"], p["paint_roughness"]), metal(p["frame"], 0.25), metal(CHROME, 0.15)
    rubber = diffuse([0.025, 0.025, 0.025])
    rear, front = np.array([-W / 2, 0, R]), np.array([W / 2, 0, R])
    head = np.array([W / 2 - 0.27, 0, R + 0.58])
    pivot = np.array([-W / 2 + 0.5, 0, R + 0.12])
    parts = [part("tire", [torus(c, [0, 1, 0], R - t / 2, t / 2, 36, 10) for c in (rear, front)], rubber)]
    parts.append(part("rim", [cylinder(c - [0, 0.025, 0], c + [0, 0.025, 0], R - t, R - t, 28) for c in (rear, front)],
                      metal([0.5, 0.5, 0.52], 0.3)))
    tubes = [capsule(rear + [0, s, 0], pivot + [0, s, 0], 0.025, 8) for s in (-0.08, 0.08)]
    tubes += [capsule(head, pivot + [0.1, 0, 0.15], 0.03, 8), capsule(head, [0.12, 0, R + 0.05], 0.03, 8)]
    parts.append(part("frame", tubes, frame))
    fork = [capsule(head + [0, s, 0.05], front + [0, s, 0], 0.024, 8) for s in (-0.085, 0.085)]
    fork.append(capsule(head + [0.02, -0.36, 0.17], head + [0.02, 0.36, 0.17], 0.014, 6))
    parts.append(part("chrome", fork + [cylinder([-0.1, 0.15, R - 0.05], [-W / 2 - 0.05, 0.15, R + 0.1], 0.04, 0.05, 12)], chrome))
    parts.append(part("engine", [rounded_box([-0.02, 0, R + 0.06], [0.42, 0.3, 0.34], 0.2),
                                 cylinder([0.12, 0, R + 0.1], [0.2, 0, R + 0.36], 0.07, 0.07, 12)], metal([0.35, 0.35, 0.37], 0.35)))
    tank_len = 0.34 if p["style"] != "cruiser" else 0.4
    body = [ellipsoid([0.12, 0, R + 0.57], [tank_len, 0.16, 0.13]), ellipsoid([-W / 2 + 0.15, 0, R + 0.52], [0.28, 0.1, 0.07]),
            ellipsoid([W / 2 - 0.05, 0, R + 0.05], [0.22, 0.07, 0.05], rotation=rot_y(20))]  # tail, front fender
    if p["style"] == "sport":
        body.append(ellipsoid([W / 2 - 0.18, 0, R + 0.52], [0.22, 0.2, 0.2], rotation=rot_y(-35)))
    parts.append(part("paint", body, paint))
    parts.append(part("seat", rounded_box([-0.28, 0, R + 0.56], [0.46, 0.26, 0.1], 0.35), plastic(p["seat"], 0.5)))
    parts.append(part("grip", [capsule(head + [0.02, s * 0.3, 0.17], head + [0.02, s * 0.38, 0.17], 0.018, 6) for s in (-1, 1)], rubber))
    parts.append(part("lamp", ellipsoid(head + [0.14, 0, 0.02], [0.05, 0.075, 0.075]), plastic([0.85, 0.85, 0.8], 0.05)))
    lean = rot_x(p["lean"])
    out = []
    for pt in parts:
        pt.vertices = pt.vertices @ lean.T
        out.append(pt)
    return ground_parts(out)


# --- cow ---------------------------------------------------------------------------------------

COAT = [srgb(*c) for c in ((245, 240, 230), (48, 40, 36), (125, 72, 38), (175, 115, 62), (215, 185, 145), (95, 58, 38))]
HOLSTEIN = (srgb(245, 242, 236), srgb(40, 34, 32))


def draw_cow(rng: np.random.Generator) -> dict:
    pattern = pick(rng, ("solid", "spotted", "spotted", "holstein", "holstein", "belted"))
    base, spot = (pick(rng, COAT), None)
    if pattern == "holstein":
        base, spot = HOLSTEIN if rng.random() < 0.8 else (HOLSTEIN[0], srgb(120, 60, 35))
    else:
        spot = pick(rng, [c for c in COAT if c != base])
    return {
        "length": float(rng.uniform(1.9, 2.4)), "girth": float(rng.uniform(0.32, 0.4)),
        "leg": float(rng.uniform(0.6, 0.75)), "coat": base, "spot": spot, "pattern": pattern,
        "horns": bool(rng.random() < 0.5), "head_yaw": float(rng.uniform(-35, 35)), "head_pitch": float(rng.uniform(-20, 25)),
        "stride": float(rng.uniform(0, 14)), "seed": int(rng.integers(1 << 30)),
    }


def _coat_colors(v: np.ndarray, p: dict, spots: np.ndarray, radii: np.ndarray, belt: tuple[float, float]) -> np.ndarray:
    base, spot = np.asarray(p["coat"]), np.asarray(p["spot"])
    colors = np.repeat(base[None], len(v), 0)
    if p["pattern"] in ("spotted", "holstein") and len(spots):
        d = np.linalg.norm(v[:, None, :] - spots[None], axis=2) / radii[None]
        colors[(d < 1.0).any(1)] = spot
    elif p["pattern"] == "belted":
        colors[(v[:, 0] > belt[0]) & (v[:, 0] < belt[1])] = spot
    return colors


def build_cow(p: dict) -> list[Part]:
    rng = np.random.default_rng(p["seed"])
    L, r, leg = p["length"], p["girth"], p["leg"]
    zb = leg + 0.85 * r
    body = capsule([-L / 2 + r, 0, zb], [L / 2 - r, 0, zb], r, 20)
    body = (body[0] * [1.0, 0.82, 1.0], body[1])
    withers = np.array([L / 2 - 0.5 * r, 0, zb + 0.45 * r])
    head_c = np.array([L / 2 + 0.38, 0, zb + 0.75 * r])
    neck = capsule(withers, head_c - [0.2, 0, 0.02], 0.6 * r, 12)
    r_head = rot_z(p["head_yaw"]) @ rot_y(p["head_pitch"])
    pivot = withers + [0.15, 0, 0]
    turn = lambda m: ((m[0] - pivot) @ r_head.T + pivot, m[1])  # noqa: E731
    head = turn(ellipsoid(head_c, [0.3, 0.15, 0.16], rotation=rot_y(25)))
    muzzle = turn(ellipsoid(head_c + [0.24, 0, -0.1], [0.11, 0.12, 0.095]))
    ears = [turn(ellipsoid(head_c + [-0.12, s * 0.2, 0.1], [0.05, 0.11, 0.03], rotation=rot_x(s * 20))) for s in (-1, 1)]
    horns = [turn(cone(head_c + [-0.14, s * 0.1, 0.13], head_c + [-0.1, s * 0.26, 0.28], 0.03, 10)) for s in (-1, 1)]
    n_spots = 40 if p["pattern"] == "holstein" else 26
    spots = np.c_[rng.uniform(-L / 2 - 0.2, L / 2 + 0.7, n_spots), rng.uniform(-0.5, 0.5, n_spots),
                  rng.uniform(0.2, zb + 1.2 * r, n_spots)]
    radii = rng.uniform(0.12, 0.32, n_spots) if p["pattern"] == "holstein" else rng.uniform(0.08, 0.22, n_spots)
    belt = (-0.2 * L, 0.15 * L)
    legs, hooves = [], []
    for i, (x, y) in enumerate(((L / 2 - 0.9 * r, 0.55 * r), (L / 2 - 0.9 * r, -0.55 * r),
                                (-L / 2 + 0.9 * r, 0.55 * r), (-L / 2 + 0.9 * r, -0.55 * r))):
        swing = p["stride"] * (1 if i in (0, 3) else -1)
        top = np.array([x, y * 0.82, zb - 0.3 * r])
        foot = top + rot_y(swing) @ np.array([0, 0, -(zb - 0.3 * r - 0.06)])
        legs.append(cylinder(top, foot, 0.28 * r, 0.06, 12))
        hooves.append(cylinder(foot + [0, 0, -0.06], foot + [0, 0, 0.005], 0.06, 0.058, 12))
    tail = [cylinder([-L / 2 + 0.1, 0, zb + 0.5 * r], [-L / 2 - 0.05, 0, zb - 0.9 * r], 0.02, 0.015, 8),
            ellipsoid([-L / 2 - 0.05, 0, zb - 0.95 * r], [0.04, 0.04, 0.08])]
    parts = []
    for slot, mesh in (("coat", body), ("coat", neck), ("coat", head), ("coat", legs[0]), ("coat", legs[1]),
                       ("coat", legs[2]), ("coat", legs[3]), ("coat", ears[0]), ("coat", ears[1])):
        colors = _coat_colors(mesh[0], p, spots, radii, belt)
        parts.append(Part(slot, mesh[0], mesh[1], {"type": "diffuse", "vertex_colors": True}, True, colors=colors))
    parts.append(part("muzzle", muzzle, diffuse(srgb(185, 135, 125))))
    parts.append(part("hoof", hooves + [tail[1]], diffuse([0.03, 0.025, 0.02])))
    parts.append(part("tail", tail[0], diffuse(p["coat"])))
    parts.append(part("udder", ellipsoid([-L / 2 + 0.6 * r + 0.1, 0, zb - 0.85 * r], [0.12, 0.1, 0.08]), diffuse(srgb(220, 160, 150))))
    if p["horns"]:
        parts.append(part("horn", horns, plastic(srgb(220, 210, 180), 0.4)))
    return ground_parts(parts)


# --- couch -------------------------------------------------------------------------------------

def draw_couch(rng: np.random.Generator) -> dict:
    return {
        "width": float(rng.uniform(1.4, 2.4)), "depth": float(rng.uniform(0.8, 1.0)),
        "seat": float(rng.uniform(0.38, 0.48)), "back": float(rng.uniform(0.75, 0.95)),
        "arm": float(rng.uniform(0.52, 0.68)), "arm_width": float(rng.uniform(0.1, 0.24)),
        "cushions": int(rng.integers(1, 4)), "legs": float(rng.uniform(0.04, 0.15)),
        "roundness": float(rng.uniform(0.12, 0.35)), "fabric": random_color(rng, sat=(0.05, 0.8), val=(0.08, 0.8)),
        "leg_color": pick(rng, [[0.02, 0.02, 0.02], srgb(120, 80, 50), CHROME]),
        "pillows": [random_color(rng) for _ in range(int(rng.integers(0, 3)))],
    }


def build_couch(p: dict) -> list[Part]:
    W, D, S, B, A, aw, lh, rd = (p[k] for k in ("width", "depth", "seat", "back", "arm", "arm_width", "legs", "roundness"))
    fabric = diffuse(p["fabric"])
    cush_t = 0.14
    base_top = S - cush_t
    meshes = [rounded_box([0, 0, (lh + base_top) / 2], [W, D, base_top - lh], rd * 0.5)]
    back_d = 0.2
    meshes.append(rounded_box([0, -D / 2 + back_d / 2, (lh + B) / 2], [W, back_d, B - lh], rd))
    for s in (-1, 1):
        meshes.append(rounded_box([s * (W / 2 - aw / 2), 0, (lh + A) / 2], [aw, D, A - lh], rd))
    inner = W - 2 * aw
    n = p["cushions"]
    for i in range(n):
        cx = -inner / 2 + inner * (i + 0.5) / n
        meshes.append(rounded_box([cx, back_d / 2, base_top + cush_t / 2], [inner / n - 0.01, D - back_d, cush_t], rd + 0.15))
        meshes.append(rounded_box([cx, -D / 2 + back_d + 0.07, base_top + cush_t + 0.2], [inner / n - 0.02, 0.14, 0.4],
                                  rd + 0.2, rotation=rot_x(-12)))
    parts = [part("fabric", meshes, fabric)]
    legs = [cylinder([sx * (W / 2 - 0.06), sy * (D / 2 - 0.06), 0], [sx * (W / 2 - 0.06), sy * (D / 2 - 0.06), lh + 0.01],
                     0.025, 0.02, 10) for sx in (-1, 1) for sy in (-1, 1)]
    parts.append(part("legs", legs, plastic(p["leg_color"], 0.3)))
    for i, color in enumerate(p["pillows"]):
        x = (-1 if i == 0 else 1) * (inner / 2 - 0.2)
        parts.append(part(f"pillow{i}", rounded_box([x, -D / 2 + back_d + 0.14, S + 0.18], [0.4, 0.13, 0.36], 0.5,
                                                    rotation=rot_x(-15) @ rot_z(10 * (1 if i else -1))), diffuse(color)))
    return parts


# --- registry ----------------------------------------------------------------------------------

def ground_parts(parts: list[Part]) -> list[Part]:
    """Shift the parts so that the lowest point stands on z = 0."""
    zmin = min(float(p.vertices[:, 2].min()) for p in parts)
    for p in parts:
        p.vertices = p.vertices - np.array([0.0, 0.0, zmin])
    return parts


FOREGROUNDS = {
    "human": (draw_human, build_human),
    "bottle": (draw_bottle, build_bottle),
    "cake": (draw_cake, build_cake),
    "motorcycle": (draw_motorcycle, build_motorcycle),
    "cow": (draw_cow, build_cow),
    "couch": (draw_couch, build_couch),
}
SMALL = ("bottle", "cake")                 # placed on a table, framed from close by
TYPICAL_HEIGHT = {"human": 1.75, "bottle": 0.3, "cake": 0.2, "motorcycle": 1.1, "cow": 1.4, "couch": 0.85}
