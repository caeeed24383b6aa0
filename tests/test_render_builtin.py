"""The built-in engine end to end: tiny renders (64x64, 4 spp, scalar variant), checked by content.

One module-scoped store of 3 scenes x 10 styles is shared by most tests; the shard test renders
the same run again in two shards (one with 2 worker processes) and compares bytes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datagen.builtin import plan_from_scene, render_plan
from datagen.builtin.masks import mask_scene, render_mask, shapes_at
from datagen.builtin.mitsuba_scene import build_geometry
from datagen.builtin.assets import bounds
from datagen.builtin.plan import Placed, placed_parts
from datagen.builtin.variant import activate, choose_variant
from datagen.capture_store import list_scene_ids, read_scene, scenes_dir, validate_store
from datagen.contact_sheet import OUTLINE, write_contact_sheet
from rdhcore.imageio import read_gray, read_rgb
from datagen.render import render
from datagen.render_config import BuiltinOptions, RenderConfig
from rdhcore.errors import RdhError

pytestmark = pytest.mark.slow  # Mitsuba renders

RES, SPP, SCENES, SEED = 64, 4, 3, 7


def luminance(img: np.ndarray) -> float:
    img = img.astype(np.float64)
    return float((0.2126 * img[..., 0] + 0.7152 * img[..., 1] + 0.0722 * img[..., 2]).mean())


def scalar() -> None:
    activate(choose_variant("scalar"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("captures")
    cfg = RenderConfig(out=out, scenes=SCENES, seed=SEED, resolution=RES, builtin=BuiltinOptions(spp=SPP, variant="scalar"))
    reported: list[int] = []
    summary = render(cfg, reported.append)
    return out, cfg, summary, reported


def test_store_validates_and_records_the_plan(store):
    out, _, summary, reported = store
    scenes = validate_store(out)
    assert [s.scene_id for s in scenes] == ["scene000000", "scene000001", "scene000002"]
    assert (summary.rendered, summary.skipped, summary.images, summary.failed) == (3, 0, 30, [])
    assert sum(reported) == 30 and summary.variant == "scalar_rgb"
    index = pd.read_parquet(out / "captures.parquet")
    assert len(index) == 30 and set(index["style_id"]) == set(range(1, 11))
    for scene in scenes:
        meta = scene.meta
        assert meta["engine"] == "builtin" and meta["width"] == meta["height"] == RES
        assert meta["source"]["spp"] == SPP and meta["source"]["variant"] == "scalar_rgb"
        assert (meta["source"]["sampler"], meta["source"]["denoiser"]) == ("multijitter", "oidn")
        assert meta["plan"]["scene_id"] == scene.scene_id and meta["plan"]["foreground"] == "fg0"
        assert meta["camera"]["fov"] > 0 and len(meta["camera"]["origin"]) == 3
        for entry in meta["styles"]:
            if entry["id"] == 10:
                assert entry["model"] == "night" and entry["lamp_scale"] > 0 and "turbidity" not in entry
            else:
                assert entry["model"] == "sunsky" and 1 <= entry["turbidity"] <= 10 and entry["sun_elevation"] >= 1
                assert len(entry["sun_irradiance"]) == 3 and entry["exposure"] > 0
        ratio = scene.foregrounds[0]["area_ratio"]
        assert 0.01 <= ratio <= 0.6


def test_masks_are_binary_and_exactly_the_visible_foreground(store):
    out = store[0]
    scalar()
    for sid in list_scene_ids(out):
        scene = read_scene(out, sid)
        raw = read_gray(scene.mask_path(scene.foregrounds[0]))
        assert set(np.unique(raw)) == {0, 255}
        mask = raw > 127
        plan, res, _ = plan_from_scene(scene.path)
        geo = build_geometry(plan)
        ys, xs = np.mgrid[0:res, 0:res]
        hits = shapes_at(mask_scene(geo, res), xs.ravel(), ys.ravel(), res, res)   # every pixel center, ray cast
        truth = np.array([h in geo.foreground_ids for h in hits]).reshape(res, res)
        assert np.array_equal(mask, truth)
        alone = render_mask(build_geometry(plan, only_foreground=True), res).mask
        assert np.all(alone[mask])                       # the foreground alone covers every mask pixel
        if not any(o.role == "occluder" for o in plan.objects):
            assert np.array_equal(mask, alone)


def test_an_occluder_removes_exactly_the_pixels_it_covers(store):
    out = store[0]
    scalar()
    plan, res, _ = plan_from_scene(scenes_dir(out) / "scene000000")
    plan.objects = [o for o in plan.objects if o.role != "occluder"]
    lo, hi = bounds(placed_parts(plan.object(plan.foreground)))
    center, origin = (lo + hi) / 2, np.array(plan.camera.origin)
    spot = center + 0.35 * (origin - center)               # on the sight line, nearer the foreground
    alone = render_mask(build_geometry(plan, only_foreground=True), res)
    size = [0.25, 0.25, 0.5 * float(hi[2] - lo[2]) + float(lo[2])]
    plan.objects.append(Placed("blocker0", "crate", "occluder", {"size": size, "color": [0.5, 0.4, 0.3]},
                               [float(spot[0]), float(spot[1]), 0.0], 0.0))
    geo = build_geometry(plan)
    full = render_mask(geo, res)
    from datagen.builtin.masks import mask_objects
    from datagen.builtin.mitsuba_scene import plan_parts

    assert "blocker0" in mask_objects(plan, plan_parts(plan))  # the layout search traces it
    ys, xs = np.mgrid[0:res, 0:res]
    hits = shapes_at(mask_scene(geo, res), xs.ravel(), ys.ravel(), res, res)
    blocker = np.array([bool(h) and h.startswith("blocker0__") for h in hits]).reshape(res, res)
    removed = alone.mask & ~full.mask
    assert removed.any() and full.mask.any()             # partly hidden, partly visible
    assert not np.any(full.mask & ~alone.mask)
    assert np.array_equal(removed, alone.mask & blocker)


def test_the_layout_search_traces_only_what_can_cover_the_foreground():
    from datagen.builtin.engine import plan_options
    from datagen.builtin.masks import mask_objects
    from datagen.builtin.mitsuba_scene import plan_parts
    from datagen.builtin.plan import draw_plan

    scalar()
    opts = plan_options(RenderConfig(out=Path("unused"), styles=(2,)))
    kept = total = 0
    for index in range(8):
        plan = draw_plan(index, SEED, 0, opts)
        parts = plan_parts(plan)
        objects = mask_objects(plan, parts)
        whole = render_mask(build_geometry(plan, materials=False, parts=parts), RES).mask
        culled = render_mask(build_geometry(plan, materials=False, parts=parts, objects=objects), RES).mask
        assert np.array_equal(whole, culled), plan.scene_id
        assert plan.foreground in objects
        kept, total = kept + len(objects), total + len(parts) + 1
    assert kept < 0.5 * total                              # most of a scene cannot hide the foreground


def test_the_ten_styles_differ_inside_the_mask(store):
    out = store[0]
    for sid in list_scene_ids(out):
        scene = read_scene(out, sid)
        mask = scene.load_mask(scene.foregrounds[0])
        fg = {s: scene.load_image(s)[mask].astype(np.float64) for s in scene.style_ids}
        assert len(fg) == 10
        for a in fg:
            for b in fg:
                if a < b:
                    assert np.abs(fg[a] - fg[b]).mean() > 1.0, (sid, a, b)
        means = np.array([luminance(v[None]) for v in fg.values()])
        assert means.max() - means.min() > 20               # lighting, not noise, sets them apart


def test_noon_is_brighter_than_sunset_brighter_than_night_and_sunset_is_warmer(store):
    out = store[0]
    for sid in list_scene_ids(out):
        scene = read_scene(out, sid)
        sunset, noon, night = (scene.load_image(s) for s in (1, 2, 10))
        assert luminance(noon) > luminance(sunset) > luminance(night), sid
        rb = lambda img: img[..., 0].astype(float).mean() / max(img[..., 2].astype(float).mean(), 1.0)  # noqa: E731
        assert rb(sunset) > rb(noon), sid
        for img in (sunset, noon, night):                   # every style stays visible
            assert 20 < luminance(img) < 235


def test_same_seed_gives_identical_images_and_shards_add_up(store, tmp_path):
    out, cfg, _, _ = store
    other = tmp_path / "sharded"
    for shard, workers in (((0, 2), 2), ((1, 2), 1)):       # shard 0/2 holds scenes 0 and 2: two processes
        summary = render(RenderConfig(out=other, scenes=SCENES, seed=SEED, resolution=RES, builtin=BuiltinOptions(spp=SPP, variant="scalar"),
                                      shard=shard, workers=workers), lambda n: None)
        assert summary.failed == []
    assert list_scene_ids(other) == list_scene_ids(out)
    for sid in list_scene_ids(out):
        a, b = scenes_dir(out) / sid, scenes_dir(other) / sid
        assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
        for f in a.glob("*.png"):
            assert f.read_bytes() == (b / f.name).read_bytes(), (sid, f.name)
        assert json.loads((a / "scene.json").read_text())["plan"] == json.loads((b / "scene.json").read_text())["plan"]


def test_worker_processes_serve_the_next_run_of_the_process(tmp_path):
    from datagen.builtin import engine

    def run(out):
        return render(RenderConfig(out=out, scenes=2, seed=SEED, resolution=32, styles=(2,),
                                   builtin=BuiltinOptions(spp=1, denoise=False, variant="scalar"), workers=2))

    engine.close_workers()
    assert run(tmp_path / "a").images == 2
    pool = engine._POOL["pool"][1]
    pids = {p.pid for p in pool._processes.values()}
    assert run(tmp_path / "b").images == 2
    assert engine._POOL["pool"][1] is pool and {p.pid for p in pool._processes.values()} == pids   # no new spawn
    for sid in list_scene_ids(tmp_path / "a"):
        assert (scenes_dir(tmp_path / "a") / sid / "02.png").read_bytes() == (scenes_dir(tmp_path / "b") / sid / "02.png").read_bytes()
    engine.close_workers()
    assert "pool" not in engine._POOL


def test_rendering_the_stored_plan_again_gives_the_same_scene(store):
    out = store[0]
    scalar()
    scene_dir = scenes_dir(out) / "scene000001"
    plan, res, opts = plan_from_scene(scene_dir)
    assert (opts.spp, opts.sampler, opts.denoise) == (SPP, "multijitter", True)
    again = render_plan(plan, res, opts)
    scene = read_scene(scene_dir)
    assert np.array_equal(again.mask, scene.load_mask(scene.foregrounds[0]))
    for sid in scene.style_ids:
        assert np.array_equal(again.images[sid], read_rgb(scene.image_path(sid))), sid


def test_a_rerun_skips_finished_scenes(store):
    out, cfg, _, _ = store
    stamps = {p: p.stat().st_mtime_ns for p in scenes_dir(out).rglob("*.png")}
    reported: list[int] = []
    summary = render(cfg, reported.append)
    assert (summary.rendered, summary.skipped, summary.images) == (0, SCENES, 0)
    assert sum(reported) == SCENES * 10                        # finished scenes count: the bar reaches 100 %
    assert stamps == {p: p.stat().st_mtime_ns for p in scenes_dir(out).rglob("*.png")}


def test_make_composites_accepts_the_output(store, tmp_path):
    from datagen.compose import ComposeConfig, make_composites
    from manifests.schema import read_manifest

    out = store[0]
    summary = make_composites(ComposeConfig(captures=out, out=tmp_path / "pairs"))
    df = read_manifest(tmp_path / "pairs")
    assert summary.pairs == len(df) == SCENES * 10 * 9
    row = df.iloc[0]
    comp = read_rgb(tmp_path / "pairs" / row["composite_path"])
    real = read_rgb(tmp_path / "pairs" / row["target_path"])
    mask = read_gray(tmp_path / "pairs" / row["mask_path"]) > 127
    scene = read_scene(out, row["group_id"])                # rendered pairs are grouped by scene
    assert np.array_equal(comp[~mask], real[~mask])
    assert np.array_equal(comp[mask], scene.load_image(int(row["fg_style"]))[mask])
    assert mask.mean() == pytest.approx(scene.foregrounds[0]["area_ratio"])


def test_contact_sheet_shows_styles_and_outlines_masks(store, tmp_path):
    out = store[0]
    path = write_contact_sheet(out, tmp_path / "sheet.png", max_scenes=2, tile=64)
    sheet = read_rgb(path)
    assert sheet.shape == (22 + 2 * (64 + 4), 118 + 10 * (64 + 4), 3)
    outline = np.all(sheet == np.array(OUTLINE, np.uint8), axis=2)
    for row in range(2):
        band = outline[22 + row * 68: 22 + row * 68 + 64, 118:]
        assert band.sum() > 10 * 8                            # an outline in every style tile
    with pytest.raises(RdhError, match="png"):
        write_contact_sheet(out, tmp_path / "sheet.jpg")
    with pytest.raises(RdhError, match="no scenes"):
        write_contact_sheet(tmp_path / "empty", tmp_path / "e.png")


def write_obj(path: Path) -> Path:
    """A y-up tapered box (a 'dog' of sorts), 2 units tall."""
    path.parent.mkdir(parents=True, exist_ok=True)
    v = [(-1, 0, -0.6), (1, 0, -0.6), (1, 0, 0.6), (-1, 0, 0.6), (-0.6, 2, -0.4), (0.6, 2, -0.4), (0.6, 2, 0.4), (-0.6, 2, 0.4)]
    f = [(1, 3, 2), (1, 4, 3), (5, 6, 7), (5, 7, 8), (1, 2, 6), (1, 6, 5), (2, 3, 7), (2, 7, 6), (3, 4, 8), (3, 8, 7),
         (4, 1, 5), (4, 5, 8)]
    path.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in v) + "".join(f"f {a} {b} {c}\n" for a, b, c in f))
    return path


def test_cli_renders_user_meshes_and_refuses_bad_input(tmp_path):
    from typer.testing import CliRunner

    from rdh.cli import app

    assets = tmp_path / "assets"
    write_obj(assets / "dog" / "box.obj")
    out = tmp_path / "dogs"
    runner = CliRunner()
    args = ["render-scenes", str(out), "--scenes", "1", "--styles", "2,10", "--resolution", "32", "--spp", "2",
            "--variant", "scalar", "--categories", "dog", "--assets", str(assets), "--seed", "3"]
    result = runner.invoke(app, args + ["--sampler", "stratified", "--no-denoise"])
    assert result.exit_code == 0, result.output
    scene = validate_store(out)[0]
    assert scene.style_ids == [2, 10]
    src = scene.meta["source"]                                 # what was used: stratified rounds 2 spp up to 4
    assert (src["sampler"], src["spp"], src["denoiser"]) == ("stratified", 4, "none")
    fg = scene.foregrounds[0]
    assert fg["category"] == "dog" and fg["asset"] == "user_mesh" and fg["area_ratio"] > 0.01
    height = scene.meta["plan"]["objects"][[o["name"] for o in scene.meta["plan"]["objects"]].index("fg0")]["params"]["height"]
    assert 0.8 <= height <= 1.2                                # scaled to the category's size, not the file's

    no_assets = runner.invoke(app, ["render-scenes", str(tmp_path / "x"), "--categories", "dog", "--variant", "scalar"])
    assert isinstance(no_assets.exception, RdhError) and "dog" in str(no_assets.exception)
    (assets / "dog" / "broken.ply").write_text("ply\nthis is not a mesh\n")
    broken = runner.invoke(app, args[:2] + ["--variant", "scalar", "--categories", "dog", "--assets", str(assets)])
    assert isinstance(broken.exception, RdhError) and "broken.ply" in str(broken.exception)
    assert not (tmp_path / "x").exists()
    assert os.listdir(out / "scenes") == ["scene000000"]         # nothing half-written by the failed runs


def test_layouts_are_redrawn_until_the_foreground_fits(tmp_path):
    from datagen.builtin.engine import plan_options
    from datagen.builtin.scene_render import find_layout

    cfg = RenderConfig(out=tmp_path / "big", scenes=2, seed=5, resolution=32, styles=(2,), builtin=BuiltinOptions(spp=1, variant="scalar"),
                       min_fg_ratio=0.08, max_fg_ratio=0.6)
    summary = render(cfg, lambda n: None)
    assert summary.failed == [] and summary.redraws >= 1
    for scene in validate_store(cfg.out):
        assert 0.08 <= scene.foregrounds[0]["area_ratio"] <= 0.6
        assert scene.meta["attempt"] == scene.meta["plan"]["attempt"]
    assert sum(s.meta["attempt"] for s in validate_store(cfg.out)) == summary.redraws
    with pytest.raises(RdhError, match="no layout in 2 attempts"):
        find_layout(0, 5, plan_options(cfg), 32, 0.97, 1.0, max_attempts=2)


NIGHT_SCRIPT = """
import sys, numpy as np
from datagen.builtin.variant import activate, choose_variant
activate(choose_variant(sys.argv[1]))
from datagen.builtin.engine import plan_options
from datagen.builtin.mitsuba_scene import render_style
from datagen.builtin.scene_render import find_layout
from datagen.render_config import RenderConfig
opts = plan_options(RenderConfig(out=sys.argv[2], styles=(10,)))
plan, geo, _, _ = find_layout(0, 0, opts, 48, 0.01, 0.6)
np.save(sys.argv[2], render_style(geo, plan.styles[0], 48, int(sys.argv[3])).hdr)
"""


def night_hdr(variant: str, spp: int, tmp_path: Path) -> np.ndarray:
    """Scene 0 of seed 0 (21 buildings, ~185 lit windows) at night, rendered in a fresh process."""
    import subprocess
    import sys

    out = tmp_path / f"night-{variant}.npy"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", NIGHT_SCRIPT, variant, str(out), str(spp)], check=True, env=env)
    return np.load(out)


def test_every_style_renders_finite_hdr():
    from datagen.builtin.engine import plan_options
    from datagen.builtin.mitsuba_scene import render_style
    from datagen.builtin.scene_render import find_layout

    scalar()
    plan, geo, _, _ = find_layout(0, 0, plan_options(RenderConfig(out=Path("unused"))), 48, 0.01, 0.6)
    assert sum(o.kind == "building" for o in plan.objects) > 10   # lit windows everywhere: the case that gave NaN
    for light in plan.styles:
        hdr = render_style(geo, light, 48, 4, "multijitter").hdr
        assert np.isfinite(hdr).all(), light.name
        assert hdr.min() >= 0 and hdr.mean() > 0, light.name


def test_scalar_and_llvm_nights_agree_within_noise(tmp_path):
    from datagen.builtin.variant import find_llvm

    if find_llvm() is None:
        pytest.skip("no libLLVM >= 16 here (apt-get install libllvm19): the llvm variant cannot run")
    a, b = night_hdr("scalar", 64, tmp_path), night_hdr("llvm", 64, tmp_path)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    assert abs(a.mean() - b.mean()) < 0.05 * b.mean()
    blur = lambda x: x.reshape(12, 4, 12, 4, 3).mean((1, 3))  # noqa: E731  (4x4 blocks average the noise)
    assert np.abs(blur(a) - blur(b)).mean() < 0.1 * b.mean()


def test_denoising_brings_a_low_spp_render_closer_to_the_reference():
    from datagen.builtin import lighting
    from datagen.builtin.denoise import denoise
    from datagen.builtin.engine import plan_options
    from datagen.builtin.mitsuba_scene import render_style
    from datagen.builtin.scene_render import find_layout

    scalar()
    plan, geo, _, _ = find_layout(1, 0, plan_options(RenderConfig(out=Path("unused"), styles=(5, 10))), 48, 0.01, 0.6)
    for light in plan.styles:
        ref = lighting.tonemap(render_style(geo, light, 48, 256).hdr)[0].astype(float)
        noisy = render_style(geo, light, 48, 4, "multijitter").hdr
        plain = lighting.tonemap(noisy)[0].astype(float)
        clean = lighting.tonemap(noisy, denoise)[0].astype(float)
        assert ((clean - ref) ** 2).mean() < 0.6 * ((plain - ref) ** 2).mean(), light.name


def test_denoise_without_pyoidn_is_a_user_error(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "pyoidn", None)            # import pyoidn now raises ImportError
    with pytest.raises(RdhError, match="--no-denoise"):
        render(RenderConfig(out=tmp_path / "o", scenes=1, resolution=32, builtin=BuiltinOptions(variant="scalar")))
    assert not (tmp_path / "o").exists()
    with pytest.raises(RdhError, match="--sampler"):
        render(RenderConfig(out=tmp_path / "o", builtin=BuiltinOptions(sampler="sobol")))


LLVM_SCRIPT = """
import sys, numpy as np
from datagen.builtin.variant import activate, choose_variant
activate(choose_variant("llvm"))
from datagen.builtin.engine import plan_options
from datagen.builtin.mitsuba_scene import StyleRenderer, render_style
from datagen.builtin.scene_render import find_layout
from datagen.render_config import RenderConfig
plan, geo, _, _ = find_layout(0, 0, plan_options(RenderConfig(out=sys.argv[1], styles=(1, 2, 7, 10))), 32, 0.01, 0.6)
renderer = StyleRenderer(geo, 32, 4, "multijitter")
once = [renderer.render(light).hdr for light in plan.styles]
fresh = [render_style(geo, light, 32, 4, "multijitter").hdr for light in plan.styles]
np.save(sys.argv[1], np.stack([once, fresh]))
"""


def test_llvm_updating_one_day_scene_per_style_gives_the_images_of_a_scene_per_style(tmp_path):
    import subprocess
    import sys

    from datagen.builtin.variant import find_llvm

    if find_llvm() is None:
        pytest.skip("no libLLVM >= 16 here (apt-get install libllvm19): the llvm variant cannot run")
    out = tmp_path / "llvm.npy"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", LLVM_SCRIPT, str(out)], check=True, env=env)
    once, fresh = np.load(out)
    assert np.isfinite(once).all() and once.mean() > 0
    np.testing.assert_allclose(once, fresh, rtol=1e-4, atol=1e-7)
