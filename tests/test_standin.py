"""The iHarmony4-like stand-in real domain (gap levels 1-2): retouches, transfers, the camera
pipeline, the pair dataset, and the colour-map measure that tells it from relit composites."""
from __future__ import annotations

import numpy as np
import pytest

from datagen.camera import auto_exposure, auto_white_balance, draw_noise, finish, mosaic_demosaic
from datagen.color_transfer import lab_of, match_histograms, transfer_statistics
from datagen.photo_look import Look
from datagen.retouch import Retouch, apply_retouch, draw_retouch
from datagen.standin import PROCESSES, StandInConfig, make_standin_pairs
from manifests.schema import read_manifest, resolve_paths, validate_manifest
from rdhcore.errors import RdhError
from rdhcore.imageio import read_mask, read_rgb
from reality_gap.colour_map import pair_errors, removed_share
from tests.synth import make_store


def smooth_image(seed: int = 0, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack([0.3 + 0.4 * xx, 0.2 + 0.5 * yy, 0.5 - 0.3 * xx * yy], axis=-1)
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1).astype(np.float32)


def luma(x):
    return float((x @ np.array([0.299, 0.587, 0.114])).mean())


# ---------------------------------------------------------------- retouches

def test_identity_retouch_changes_nothing():
    x = smooth_image()
    assert apply_retouch(x, Retouch()) is x


@pytest.mark.parametrize("change, check", [
    (dict(exposure=0.5), lambda x, y: luma(y) > luma(x) + 0.03),
    (dict(exposure=-0.5), lambda x, y: luma(y) < luma(x) - 0.03),
    (dict(temperature=0.1), lambda x, y: (y[..., 0] / (y[..., 2] + 1e-3)).mean() > (x[..., 0] / (x[..., 2] + 1e-3)).mean()),
    (dict(saturation=0.5), lambda x, y: np.abs(y - y.mean(-1, keepdims=True)).mean() < np.abs(x - x.mean(-1, keepdims=True)).mean() * 0.7),
    (dict(shadows=0.4), lambda x, y: y[x.mean(-1) < 0.4].mean() > x[x.mean(-1) < 0.4].mean() + 0.01),
    (dict(curve=(0.3, 0.55, 0.8)), lambda x, y: luma(y) > luma(x)),
])
def test_each_retouch_control_moves_the_image_its_way(change, check):
    x = smooth_image()
    y = apply_retouch(x, Retouch(**change))
    assert y.shape == x.shape and y.dtype == np.float32 and 0 <= y.min() and y.max() <= 1
    assert check(x, y)


def test_retouches_are_global_maps_of_the_pixel_values():
    """A retouch is pixel-wise: two pixels of one colour stay one colour (the pair stays well posed)."""
    x = smooth_image()
    x[5, 5] = x[30, 40]
    y = apply_retouch(x, draw_retouch(np.random.default_rng(3), presence=1.0))
    np.testing.assert_allclose(y[5, 5], y[30, 40], atol=1e-6)


# ---------------------------------------------------------------- transfers

def test_statistics_transfer_moves_the_foreground_toward_the_reference_only():
    x, ref = smooth_image(0), np.clip(smooth_image(1)[..., ::-1] * 0.6, 0, 1).copy()
    mask = np.zeros(x.shape[:2], bool)
    mask[10:30, 10:30] = True
    y = transfer_statistics(x, mask, ref, mask, strength=1.0)
    assert np.array_equal(y[~mask], x[~mask])
    before = np.abs(lab_of(x)[mask].mean(0) - lab_of(ref)[mask].mean(0)).sum()
    after = np.abs(lab_of(y)[mask].mean(0) - lab_of(ref)[mask].mean(0)).sum()
    assert after < 0.2 * before
    # the spread grows at most 1.6x, however busy the reference
    busy = np.random.default_rng(0).uniform(0, 1, x.shape).astype(np.float32)
    z = transfer_statistics(x, mask, busy, mask, strength=1.0)
    assert (lab_of(z)[mask].std(0) <= 1.6 * lab_of(x)[mask].std(0) + 0.5).all()


def test_histogram_matching_gives_the_reference_quantiles():
    x, ref = smooth_image(0), np.clip(smooth_image(2) ** 2, 0, 1)
    mask = np.ones(x.shape[:2], bool)
    y = match_histograms(x, mask, ref, mask, strength=1.0)
    for c in range(3):
        np.testing.assert_allclose(np.quantile(lab_of(y)[..., c], [0.1, 0.5, 0.9]),
                                   np.quantile(lab_of(ref)[..., c], [0.1, 0.5, 0.9]), atol=2.5)


# ---------------------------------------------------------------- camera

def test_auto_exposure_lands_on_middle_gray_and_white_balance_on_gray():
    dark = smooth_image() * np.array([0.02, 0.03, 0.05], dtype=np.float32)
    exposed, gain = auto_exposure(dark.astype(np.float64), 0.0)
    key = np.exp(np.log(exposed @ np.array([0.2126, 0.7152, 0.0722]) + 1e-3).mean())
    assert gain > 4 and key == pytest.approx(0.18, rel=0.15)
    balanced = auto_white_balance(dark.astype(np.float64), 1.0)
    means = balanced.reshape(-1, 3).mean(0)
    assert np.ptp(means) < 1e-3 * means.mean() + 1e-6


def test_demosaicing_keeps_a_smooth_image_and_the_noise_is_shared():
    x = smooth_image().astype(np.float64)
    assert np.abs(mosaic_demosaic(x) - x).mean() < 0.02
    look = Look(exposure_stops=0.0, gain_r=1.0, gain_b=1.0, contrast=0.0, gamma=1.0, black_lift=0.0, saturation=1.0,
                blur_sigma=0.3, vignette=0.0, shot_noise=0.002, read_noise=0.006, jpeg_quality=90)
    noise = draw_noise(np.random.default_rng(0), x.shape[:2], chroma=True)
    a, b = finish(x, look, noise, 1.0), finish(x, look, noise, 1.0)
    assert np.array_equal(a, b) and np.abs(a.astype(int) - np.rint(x * 255)).mean() > 0.3


# ---------------------------------------------------------------- the pair dataset

@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    root = tmp_path_factory.mktemp("standin")
    make_store(root / "a", n_scenes=8, size=(40, 40), styles=[1, 2, 5, 10], category="human")
    return root / "a"


@pytest.mark.parametrize("gap", [1, 2])
def test_pairs_are_real_domain_with_exact_backgrounds_and_recorded_processes(captures, tmp_path, gap):
    out = tmp_path / f"g{gap}"
    summary = make_standin_pairs(StandInConfig(captures=captures, out=out, gap=gap, test_fraction=0.25, seed=1))
    df = read_manifest(out / "pairs.parquet")
    validate_manifest(df)
    assert summary.pairs == len(df) > 100 and (df["domain"] == "real").all() and df["stand_in"].all()
    assert set(df["source"]) <= set(PROCESSES) and (df["source"] == df["process"]).all()
    assert {"HCOCO_like", "HAdobe5k_like"} <= set(df["source"])
    assert (df["gap"] == gap).all() and set(df["split"]) == {"train", "test"}
    paths = resolve_paths(df, out / "pairs.parquet")
    for row in paths.sample(40, random_state=0).itertuples():
        comp, target, mask = read_rgb(row.composite_path), read_rgb(row.target_path), read_mask(row.mask_path)
        assert np.array_equal(comp[~mask], target[~mask])                 # the background is the target's
        assert np.abs(comp[mask].astype(int) - target[mask]).mean() >= 2.0
    coco = df[df["source"] == "HCOCO_like"]
    assert (coco["reference"].str.split("_").str[0] != coco["group_id"]).all()   # another photo's instance
    adobe = df[df["source"] == "HAdobe5k_like"]
    assert adobe["target_path"].str.endswith("_target.jpg").any()              # targets that are retouches


def test_default_mix_follows_iharmony4_and_a_custom_mix_is_kept(captures, tmp_path):
    df = read_manifest(make_standin_pairs(StandInConfig(captures=captures, out=tmp_path / "d")).out / "pairs.parquet")
    shares = df["source"].value_counts(normalize=True)
    assert shares["HCOCO_like"] == pytest.approx(0.59, abs=0.1) and shares["HAdobe5k_like"] == pytest.approx(0.30, abs=0.1)
    assert "Hday2night_like" not in shares
    only = StandInConfig(captures=captures, out=tmp_path / "r", mix=(("Hday2night_like", 1.0),))
    relit = read_manifest(make_standin_pairs(only).out / "pairs.parquet")
    assert set(relit["source"]) == {"Hday2night_like"} and relit["fg_render_style"].notna().all()


def test_a_rerun_gives_the_same_files(captures, tmp_path):
    cfg = StandInConfig(captures=captures, out=tmp_path / "s", gap=2, seed=3)
    make_standin_pairs(cfg)
    first = {p.name: p.read_bytes() for p in (tmp_path / "s").rglob("*.png")}
    import shutil
    shutil.rmtree(tmp_path / "s")
    make_standin_pairs(StandInConfig(captures=captures, out=tmp_path / "s", gap=2, seed=3))
    assert first == {p.name: p.read_bytes() for p in (tmp_path / "s").rglob("*.png")}


@pytest.mark.parametrize("bad", [dict(gap=3), dict(gap=4), dict(mix=(("HCOCO_like", -1.0),)), dict(mix=(("COCO", 1.0),)),
                                 dict(variants=0)])
def test_wrong_options_are_refused_before_writing(captures, tmp_path, bad):
    with pytest.raises(RdhError):
        make_standin_pairs(StandInConfig(captures=captures, out=tmp_path / "x", **bad))
    assert not (tmp_path / "x").exists()


def test_a_global_colour_map_removes_nearly_all_of_the_stand_ins_error_but_not_moved_shading(captures, tmp_path):
    make_standin_pairs(StandInConfig(captures=captures, out=tmp_path / "s", mix=(("HCOCO_like", 1.0),)))
    standin = removed_share(tmp_path / "s" / "pairs.parquet")
    assert standin["removed_share"].iloc[0] > 0.9 and standin["pairs"].iloc[0] > 10
    # a relit foreground whose light came from the other side: shading moved, no global map undoes it
    yy, xx = np.mgrid[0:40, 0:40] / 40.0
    target = np.clip(np.stack([60 + 150 * xx] * 3, -1), 0, 255).astype(np.uint8)     # lit from the right
    relit = np.clip(np.stack([60 + 150 * yy] * 3, -1), 0, 255).astype(np.uint8)      # lit from below
    before, after = pair_errors(relit, target, np.ones((40, 40), bool))
    assert before > 0 and 1 - after / before < 0.6     # the mean level is all a global map can match
