"""The second scene generator (render-scenes --generator second; the stand-in's scenes at demo --gap 3):
its warp, patterns and continuous light by content, its plans, stores and the demo's folders."""
from __future__ import annotations

import json

import numpy as np
import pytest

from datagen.builtin import assets
from datagen.builtin.meshes import Part
from datagen.builtin.plan import PlanOptions, ScenePlan, draw_plan
from datagen.builtin.second import apply_restyle, draw_continuous_light, draw_restyle, solid_pattern
from datagen.styles import style_by_id
from tests.cli import assert_refused

STYLES = (1, 2, 6, 8, 10)


def restyle(**warp) -> dict:
    base = {"sx": 1.0, "sy": 1.0, "sz": 1.0, "taper": 0.0, "bend": 0.0, "bulge": 0.0, "waves": 2.0, "phase": 0.0}
    pattern = {"kind": "stripes", "period": 0.2, "axis": [0.0, 0.0, 1.0], "contrast": 0.8, "tint": [0.3, 1.5, 0.5],
               "seed": 1}
    return {"warp": {**base, **warp}, "pattern": pattern}


def box_part(material: dict) -> Part:
    import trimesh

    mesh = trimesh.creation.box(extents=(0.4, 0.3, 1.0))
    v = np.asarray(mesh.vertices) + [0.0, 0.0, 0.5]           # standing on z = 0
    return Part("body", v, np.asarray(mesh.faces), material)


def test_the_warp_scales_tapers_and_keeps_the_object_on_the_ground():
    wide = apply_restyle([box_part({"type": "diffuse", "color": [0.5, 0.2, 0.1]})], restyle(sx=1.25, sz=0.9))[0]
    lo, hi = wide.vertices.min(0), wide.vertices.max(0)
    assert hi[0] - lo[0] == pytest.approx(0.5, abs=1e-9)       # 0.4 m x 1.25
    assert hi[1] - lo[1] == pytest.approx(0.3, abs=1e-9)
    assert (lo[2], hi[2]) == (pytest.approx(0.0, abs=1e-12), pytest.approx(0.9))
    tapered = apply_restyle([box_part({"type": "diffuse", "color": [0.5, 0.5, 0.5]})], restyle(taper=0.4))[0]
    top = tapered.vertices[tapered.vertices[:, 2] > 0.99]
    bottom = tapered.vertices[tapered.vertices[:, 2] < 0.01]
    assert np.ptp(top[:, 0]) == pytest.approx(0.4 * 1.2) and np.ptp(bottom[:, 0]) == pytest.approx(0.4 * 0.8)


def test_patterned_parts_get_two_colours_and_a_matte_vertex_colour_material():
    part = apply_restyle([box_part({"type": "plastic", "color": [0.5, 0.4, 0.3], "roughness": 0.2})], restyle())[0]
    assert part.material == {"type": "diffuse", "vertex_colors": True}
    assert len(part.vertices) > 8 and part.colors.shape == (len(part.vertices), 3)    # subdivided to hold the stripes
    assert part.colors.min() >= 0.0 and part.colors.max() <= 1.0
    # stripes along z: both the part's colour and the tinted second colour are there
    base, second = np.array([0.5, 0.4, 0.3]), np.array([0.5, 0.4, 0.3]) * [0.3, 1.5, 0.5]
    mixed = base * 0.2 + second * 0.8
    assert np.abs(part.colors - base).sum(1).min() < 0.02 and np.abs(part.colors - mixed).sum(1).min() < 0.02
    metal = apply_restyle([box_part({"type": "metal", "color": [0.7, 0.7, 0.7], "roughness": 0.2})], restyle())[0]
    assert metal.material["type"] == "metal" and metal.colors is None


def test_stripes_repeat_with_their_period_and_every_pattern_stays_in_0_1():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, (500, 3))
    p = restyle()["pattern"]
    shifted = points + np.array(p["axis"]) * p["period"]
    assert np.allclose(solid_pattern(points, p), solid_pattern(shifted, p))
    for kind in ("stripes", "checks", "mottle", "speckle", "plain"):
        values = solid_pattern(points, {**p, "kind": kind})
        assert values.min() >= 0.0 and values.max() <= 1.0, kind
        assert (values.std() > 0.1) == (kind != "plain"), kind


def test_the_light_is_drawn_from_continuous_ranges():
    rng = np.random.default_rng(3)
    lights = [draw_continuous_light(style_by_id(2), 720, rng) for _ in range(400)]
    elevation = np.array([light.sun_elevation for light in lights])
    azimuth = np.array([light.sun_azimuth for light in lights])
    cover = np.array([light.cloud_coverage for light in lights])
    assert 3.0 <= elevation.min() < 10.0 and 60.0 < elevation.max() <= 75.0
    assert np.histogram(azimuth, bins=4, range=(0, 360))[0].min() > 60          # from every side
    assert len(np.unique(np.round(cover[cover > 0], 4))) > 250 and cover.max() > 0.85   # not three weathers
    assert {light.weather for light in lights} == {"Clear", "Partly Cloudy", "Cloudy"}
    assert all(light.model == "sunsky" for light in lights)
    assert draw_continuous_light(style_by_id(10), 1320, rng).model == "night"


def test_second_plans_differ_from_main_plans_and_record_everything():
    opts = PlanOptions(categories=("human",), styles=STYLES)
    main = draw_plan(0, 11, 0, opts)
    second = draw_plan(0, 11, 0, PlanOptions(categories=("human",), styles=STYLES, generator="second"))
    assert "generator" not in main.to_dict() and second.to_dict()["generator"] == "second"
    fg = second.object(second.foreground)
    assert "restyle" in fg.params and "restyle" not in main.object(main.foreground).params
    props = [o for o in second.objects if o.role == "prop"]
    assert props and all("restyle" in o.params for o in props)
    assert len(props) > len([o for o in main.objects if o.role == "prop"])
    again = ScenePlan.from_dict(json.loads(json.dumps(second.to_dict())))
    assert again.generator == "second" and again.to_dict() == second.to_dict()
    # every scene of the main generator draws what it drew before the second one existed
    assert draw_plan(0, 11, 0, opts).to_dict() == main.to_dict()


def test_the_second_generators_foreground_is_another_shape():
    rng = np.random.default_rng(5)
    params = assets.draw_params("cow", rng)
    lo, hi = assets.bounds(assets.build("cow", params))
    warped = {**params, "restyle": draw_restyle(np.random.default_rng(1))}
    wlo, whi = assets.bounds(assets.build("cow", warped))
    assert not np.allclose(hi - lo, whi - wlo, rtol=0.02)
    assert wlo[2] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.slow
def test_a_second_generator_store_renders_again_from_its_scene_json_and_refuses_mixing(tmp_path, rdh_main):
    from datagen.builtin import plan_from_scene, render_plan
    from datagen.builtin.variant import activate, choose_variant
    from datagen.capture_store import read_scene, scenes_dir, validate_store
    from rdhcore.imageio import read_rgb

    out = tmp_path / "second"
    args = ["render-scenes", out, "--scenes", 2, "--resolution", 32, "--spp", 2, "--styles", "2,10",
            "--categories", "cake", "--variant", "scalar"]
    code, stdout, err = rdh_main(*args, "--generator", "second")
    assert code == 0, err
    assert len(validate_store(out)) == 2
    activate(choose_variant("scalar"))
    scene_dir = scenes_dir(out) / "scene000001"
    plan, res, opts = plan_from_scene(scene_dir)
    assert plan.generator == "second"
    again = render_plan(plan, res, opts)
    scene = read_scene(scene_dir)
    assert np.array_equal(again.mask, scene.load_mask(scene.foregrounds[0])) and again.mask.any()
    for sid in scene.style_ids:
        assert np.array_equal(again.images[sid], read_rgb(scene.image_path(sid))), sid
    assert_refused(*rdh_main(*args), "other options")                        # the main generator into the same store
    assert_refused(*rdh_main(args[0], tmp_path / "third", *args[2:], "--generator", "third"), "--generator")


def test_gap_3_keeps_its_stand_in_scenes_apart_and_shares_only_the_renders(tmp_path):
    from reality_gap.presets import DemoConfig
    from reality_gap.stages import layout_of, share_renders

    source = tmp_path / "gap0"
    src = layout_of(DemoConfig(out=source, gap=0))
    for folder in (src.captures_novel_train, src.captures_novel_test, src.captures_base):
        folder.mkdir(parents=True)
        (folder / "marker").write_text(folder.name)
    cfg = DemoConfig(out=tmp_path / "gap3", gap=3)
    paths = layout_of(cfg)
    assert paths.captures_novel_test.parent == cfg.out / "captures" / "second"
    assert paths.captures_novel_train == cfg.out / "captures" / "human_rendered"
    assert share_renders(source, cfg)
    linked = sorted(p.relative_to(cfg.out).as_posix() for p in cfg.out.rglob("marker"))
    assert linked == ["captures/human_rendered/marker"]                      # the stand-in's scenes are its own
    assert (paths.captures_novel_train / "marker").stat().st_ino == (src.captures_novel_train / "marker").stat().st_ino
    gap1 = DemoConfig(out=tmp_path / "gap1", gap=1)
    assert share_renders(source, gap1)
    assert len(list(gap1.out.rglob("marker"))) == 3
