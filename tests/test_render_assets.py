"""Scene plans, procedural assets and the lighting/tone-mapping math, without rendering."""
from __future__ import annotations

import json

import numpy as np
import pytest

from datagen.builtin import assets, lighting
from datagen.builtin.foregrounds import FOREGROUNDS, TYPICAL_HEIGHT
from datagen.builtin.meshes import corner_normals, cylinder
from datagen.builtin.plan import PlanOptions, ScenePlan, draw_plan, placed_parts
from datagen.builtin.props import PROPS
from datagen.render_config import CATEGORIES
from datagen.styles import StyleConfig, style_by_id
from rdhcore.errors import RdhError

ALL = PlanOptions(categories=CATEGORIES, styles=tuple(range(1, 11)))


@pytest.mark.parametrize("kind", sorted(FOREGROUNDS) + sorted(PROPS))
def test_every_asset_builds_finite_meshes_on_the_ground(kind):
    for seed in range(3):
        parts = assets.build(kind, assets.draw_params(kind, np.random.default_rng(seed)))
        assert parts and all(len(p.faces) and np.isfinite(p.vertices).all() for p in parts)
        for p in parts:
            assert p.faces.max() < len(p.vertices)
            assert p.material["type"] in ("diffuse", "plastic", "metal")
            if p.material.get("vertex_colors"):
                assert p.colors.shape == p.vertices.shape
        lo, hi = assets.bounds(parts)
        assert lo[2] == pytest.approx(0.0, abs=0.02) and hi[2] > 0.02


@pytest.mark.parametrize("category", CATEGORIES)
def test_foregrounds_vary_in_shape_and_size(category):
    sizes = set()
    for seed in range(6):
        lo, hi = assets.bounds(assets.build(category, assets.draw_params(category, np.random.default_rng(seed))))
        sizes.add(tuple(np.round(hi - lo, 2)))
        assert 0.25 * TYPICAL_HEIGHT[category] < hi[2] - lo[2] < 2.5 * TYPICAL_HEIGHT[category]
    assert len(sizes) == 6


def test_human_height_pose_and_clothes_come_from_params():
    p = assets.draw_params("human", np.random.default_rng(1))
    p["pose"] = dict(p["pose"], hip_l=0, hip_r=0, knee_l=0, knee_r=0, lean=0, head_pitch=0,
                     shoulder_r=0, abduct_r=8, elbow_r=10, elbow_abd_r=0)          # standing, arms down
    p.update(height=1.8, hat=None, hair_style="short")
    lo, hi = assets.bounds(assets.build("human", p))
    assert hi[2] - lo[2] == pytest.approx(1.8, rel=0.06)
    raised = dict(p, pose=dict(p["pose"], abduct_r=90, elbow_abd_r=80))
    lo2, hi2 = assets.bounds(assets.build("human", raised))
    assert (hi2[0] - lo2[0]) > (hi[0] - lo[0]) + 0.15               # the waving arm reaches out sideways
    hand = max(float(part.vertices[:, 2].max()) for part in assets.build("human", raised)
               if part.slot == "skin" and part.vertices[:, 0].min() > 0.3)
    assert hand > 0.8 * 1.8                                          # ... and up, about head high
    slots = {part.slot: part.material["color"] for part in assets.build("human", p) if "color" in part.material}
    assert slots["shirt"] == p["shirt"] and slots["pants"] == p["pants"]


def test_corner_normals_keep_rims_sharp_and_sides_smooth():
    v, f = cylinder([0, 0, 0], [0, 0, 1], 1.0, 1.0, 32)
    cv, cf, n, _ = corner_normals(v, f, smooth=True)
    top = cv[:, 2] > 0.999
    on_rim = top & (np.linalg.norm(cv[:, :2], axis=1) > 0.99)
    cap_faces = np.all(cv[cf][:, :, 2] > 0.999, axis=1)
    cap_corners = cf[cap_faces].ravel()
    assert np.allclose(n[cap_corners], [0, 0, 1], atol=1e-6)          # the cap stays flat
    side = on_rim.copy()
    side[cap_corners] = False
    assert np.allclose(n[side][:, 2], 0, atol=1e-6)                   # the side stays round
    assert np.allclose(np.linalg.norm(n[side][:, :2], axis=1), 1, atol=1e-3)


def test_plans_are_seeded_serializable_and_independent_per_scene():
    a = draw_plan(4, 11, 0, ALL)
    assert draw_plan(4, 11, 0, ALL).to_dict() == a.to_dict()
    text = json.dumps(a.to_dict())
    assert ScenePlan.from_dict(json.loads(text)).to_dict() == a.to_dict()
    assert draw_plan(4, 11, 1, ALL).to_dict() != a.to_dict()            # a redraw is a new layout
    assert draw_plan(5, 11, 0, ALL).to_dict() != a.to_dict()
    assert a.category == CATEGORIES[4 % 6] and a.scene_id == "scene000004"
    assert [s.id for s in a.styles] == list(range(1, 11))
    config = StyleConfig()
    for s in a.styles:
        assert (s.minutes % 5 == 0) and config.phase_of(s.minutes) == style_by_id(s.id).phase
        assert s.weather in ("Clear", "Partly Cloudy", "Cloudy")
    names = [o.name for o in a.objects]
    assert len(names) == len(set(names)) and "fg0" in names
    with pytest.raises(RdhError, match="schema"):
        ScenePlan.from_dict(dict(a.to_dict(), schema="other/9"))


def test_camera_looks_at_the_foreground_and_styles_follow_the_sun():
    for index in range(6):
        plan = draw_plan(index, 3, 0, ALL)
        lo, hi = assets.bounds(placed_parts(plan.object(plan.foreground)))
        cam, target = np.array(plan.camera.origin), np.array(plan.camera.target)
        view = (target - cam) / np.linalg.norm(target - cam)
        to_fg = (lo + hi) / 2 - cam
        angle = np.degrees(np.arccos(np.dot(view, to_fg) / np.linalg.norm(to_fg)))
        assert angle < plan.camera.fov / 2                              # the foreground is in view
        elev = {s.id: s.sun_elevation for s in plan.styles if s.model == "sunsky"}
        assert max(elev[1], elev[4], elev[7]) < min(elev[2], elev[5], elev[8])   # sunrise/sunset is lower than noon
        assert plan.style(10).model == "night" and plan.style(10).lamp_scale > 0
        cloudy, clear = plan.style(8), plan.style(2)
        assert cloudy.cloud_coverage > 0.8 and clear.cloud_coverage == 0 and cloudy.turbidity > clear.turbidity
        assert cloudy.sun_scale < clear.sun_scale


def test_sun_path_rises_and_sets():
    sun = lighting.SunPath(sunrise=315, sunset=1155, max_elevation=60, azimuth_offset=0)
    times = range(330, 1141, 30)
    elev = [sun.position(t)[0] for t in times]
    noon = int(np.argmax(elev))
    assert all(np.diff(elev[:noon + 1]) >= 0) and all(np.diff(elev[noon:]) <= 0) and elev[noon] > 50
    assert sun.position(330)[1] == pytest.approx(90 + 180 * 15 / 840) and sun.position(735)[1] == pytest.approx(180)
    assert min(elev) >= lighting.MIN_SUN_ELEVATION


def test_exposure_keeps_order_and_color():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 1.0, (32, 32, 3)).astype(np.float32)
    noon, dusk, night = base * 0.1, base * 0.01, base * 1e-4
    out = {k: lighting.tonemap(v)[0] for k, v in (("noon", noon), ("dusk", dusk), ("night", night))}
    means = {k: v.mean() for k, v in out.items()}
    assert means["noon"] > means["dusk"] > means["night"] > 25          # ordered, and night stays visible
    assert means["noon"] - means["night"] < 0.8 * 255                   # partly adapted, not fixed
    warm = base * np.array([1.0, 0.6, 0.3], np.float32) * 0.05
    img = lighting.tonemap(warm)[0].astype(float)
    assert img[..., 0].mean() > 1.3 * img[..., 2].mean()                # no white balance
    firefly = noon.copy()
    firefly[5, 5] = 1e4
    cleaned = lighting.remove_fireflies(firefly)
    assert cleaned[5, 5].max() < 2 and np.array_equal(cleaned[10:, 10:], noon[10:, 10:])


def test_cloud_layer_covers_the_sky_by_its_coverage():
    light = draw_plan(0, 0, 0, ALL).style(8)
    dirs = lighting.sky_directions(256, 128)
    up = dirs[..., 2] > 0.2
    for coverage in (0.0, 0.4, 0.93):
        light.cloud_coverage = coverage
        alpha = lighting.cloud_alpha(light, dirs)
        assert alpha[up].mean() == pytest.approx(coverage, abs=0.15)
        assert np.all(alpha[dirs[..., 2] < 0] == 0)
    light.cloud_coverage = 0.95
    sky = np.full((128, 256, 3), 0.1, np.float32)
    clouds = lighting.composite_clouds(sky, light, np.array([0.5, 0.5, 0.5]), np.array([0, 0, 1.0]))
    assert clouds[10].mean() > 0.3 and np.allclose(clouds[-10], 0.1)    # overhead cloud, ground untouched
