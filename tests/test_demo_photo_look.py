"""The demo's stand-in real domain: photographic look + color-transfer composites."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from rdhcore.imageio import read_mask, read_rgb
from datagen.photo_look import (NOTICE, SOURCE, Look, PhotoLookConfig, apply_look, draw_look, make_photo_look_pairs,
                                tone_curve)
from manifests.schema import read_manifest, resolve_paths, validate_manifest
from tests.synth import make_store


def flat_look(**changes) -> Look:
    base = dict(exposure_stops=0.0, gain_r=1.0, gain_b=1.0, contrast=0.0, gamma=1.0, black_lift=0.0, saturation=1.0,
                blur_sigma=0.3, vignette=0.0, shot_noise=0.0, read_noise=0.0, jpeg_quality=100)
    return Look(**{**base, **changes})


def decode(data: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_tone_curve_is_monotone_with_lifted_blacks():
    look = flat_look(contrast=0.5, gamma=1.1, black_lift=0.02)
    x = np.linspace(0, 1, 101)
    y = tone_curve(x, look)
    assert y[0] == pytest.approx(0.02) and y[-1] == pytest.approx(1.0)
    assert (np.diff(y) > 0).all()
    assert y[20] < x[20] and y[80] > x[80]       # an S: darker shadows, brighter highlights


def test_each_step_of_the_look_changes_the_image_the_way_it_says():
    flat = np.full((48, 64, 3), 128, np.uint8)
    rng = lambda: np.random.default_rng(0)  # noqa: E731
    neutral = decode(apply_look(flat, flat_look(), rng())).astype(float)
    assert np.abs(neutral - 128).max() <= 1                              # neutral look: the render back
    brighter = decode(apply_look(flat, flat_look(exposure_stops=0.5), rng())).astype(float)
    assert brighter.mean() > neutral.mean() + 15
    warm = decode(apply_look(flat, flat_look(gain_r=1.1, gain_b=0.9), rng())).astype(float)
    assert warm[..., 0].mean() > warm[..., 1].mean() > warm[..., 2].mean()
    dark_corners = decode(apply_look(flat, flat_look(vignette=0.3), rng())).astype(float)
    assert dark_corners[0, 0].mean() < dark_corners[24, 32].mean() - 15   # 0.7x light: 128 -> 109
    noisy = decode(apply_look(flat, flat_look(shot_noise=0.003, read_noise=0.008), rng())).astype(float)
    assert 1.0 < noisy.std() < 10.0


def test_looks_are_drawn_from_the_seed():
    a, b = draw_look(np.random.default_rng(5)), draw_look(np.random.default_rng(5))
    assert a == b and draw_look(np.random.default_rng(6)) != a
    assert 75 <= a.jpeg_quality <= 92


@pytest.fixture
def captures(tmp_path):
    make_store(tmp_path / "captures", n_scenes=5, size=(40, 48), styles=[1, 2, 5, 10], seed=4, category="cow")
    return tmp_path / "captures"


def test_stand_in_pairs_are_real_domain_with_exact_backgrounds(captures, tmp_path):
    out = tmp_path / "real"
    summary = make_photo_look_pairs(PhotoLookConfig(captures=captures, out=out, variants=2, test_fraction=0.4, seed=1))
    df = read_manifest(out)
    validate_manifest(df)
    assert summary.pairs == len(df) == summary.written > 0
    assert summary.pairs + sum(summary.skipped.values()) == 10      # 5 photos x 2 variants
    assert (df["domain"] == "real").all() and (df["source"] == SOURCE).all() and df["stand_in"].all()
    assert set(df["category"]) == {"cow"} and set(df["split"]) == {"train", "test"}
    assert (out / "STAND_IN.txt").read_text() == NOTICE and "not real photographs" in NOTICE
    for row in resolve_paths(df, out / "pairs.parquet").itertuples():
        comp, photo, mask = read_rgb(row.composite_path), read_rgb(row.target_path), read_mask(row.mask_path)
        np.testing.assert_array_equal(comp[~mask], photo[~mask])     # only the foreground moved
        assert np.abs(comp[mask].astype(int) - photo[mask]).mean() == pytest.approx(row.fg_delta)
        assert row.fg_delta >= 3.0
        # the photo is the render with a look: close to it, never equal
        render = read_rgb(captures / "scenes" / row.group_id / f"{row.render_style:02d}.png")
        assert 0.5 < np.abs(photo.astype(int) - render).mean() < 60


def test_rerun_keeps_files_and_all_test_marks_a_held_out_set(captures, tmp_path):
    out = tmp_path / "real"
    cfg = PhotoLookConfig(captures=captures, out=out, seed=2)
    make_photo_look_pairs(cfg)
    first = read_manifest(out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    again = make_photo_look_pairs(cfg)
    assert again.written == 0 and again.existing == len(first)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps
    pd.testing.assert_frame_equal(read_manifest(out), first)

    held = make_photo_look_pairs(PhotoLookConfig(captures=captures, out=tmp_path / "held", seed=2, all_test=True,
                                                 scenes=("s0000", "s0001", "s0002")))
    df = read_manifest(tmp_path / "held")
    assert (df["split"] == "test").all() and set(df["group_id"]) == {"s0000", "s0001", "s0002"} and held.pairs == 3


def test_transfer_strength_is_capped_for_flat_foregrounds():
    from datagen.photo_look import capped_strength
    from datagen.photos import transfer_foreground

    rng = np.random.default_rng(0)
    photo = np.full((40, 40, 3), 120, np.uint8)
    photo += rng.integers(0, 3, photo.shape, dtype=np.uint8)          # a flat foreground with faint noise
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    busy = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)          # a reference with a huge spread
    strength = capped_strength(photo, mask, busy, 1.0, max_gain=2.5)
    assert 0 < strength < 0.05
    lab = lambda img: cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[mask]  # noqa: E731
    gain = lab(transfer_foreground(photo, mask, busy, strength)).std(0) / lab(photo).std(0)
    assert gain.max() < 2.5 + 0.6                                      # rounding to 8 bits adds a little
    assert lab(transfer_foreground(photo, mask, busy, 1.0)).std(0).max() > 20 * lab(photo).std(0).max()
    # a reference with a similar spread leaves the drawn strength alone
    assert capped_strength(photo, mask, photo, 0.8, max_gain=2.5) == 0.8


def test_split_is_drawn_per_category():
    from datagen.photo_look import split_by_category

    df = pd.DataFrame({"group_id": [f"s{i}" for i in range(9) for _ in range(2)],
                       "category": [c for c in ("cow", "couch", "cake") for _ in range(6)]})
    split = split_by_category(df, 0.34, seed=0)
    for cat in ("cow", "couch", "cake"):
        assert set(split[df["category"] == cat]) == {"train", "test"}     # 3 scenes each: 1 test, 2 train
        assert (split[df["category"] == cat] == "test").sum() == 2
    assert (df.assign(split=split).groupby("group_id")["split"].nunique() == 1).all()


def test_single_scene_categories_are_split_as_one_pool():
    from datagen.photo_look import split_by_category

    df = pd.DataFrame({"group_id": ["a", "b", "c", "d"], "category": ["cow", "couch", "cake", "bottle"]})
    split = split_by_category(df, 0.3, seed=0)
    assert (split == "test").sum() == 1 and (split == "train").sum() == 3


def test_relight_pairs_paste_one_style_photo_onto_another_of_the_same_scene(captures, tmp_path):
    from datagen.photo_look import RELIGHT_SOURCE

    out = tmp_path / "relit"
    summary = make_photo_look_pairs(PhotoLookConfig(captures=captures, out=out, composites="relight",
                                                    photos_per_scene=None, test_fraction=0.2, val_fraction=0.2,
                                                    seed=3, min_fg_change=0.0))
    df = resolve_paths(read_manifest(out / "pairs.parquet"), out / "pairs.parquet")
    validate_manifest(df, "relit")
    assert summary.pairs == len(df) == 5 * 4 * 3                       # every ordered pair of 4 styles, 5 scenes
    assert (df["source"] == RELIGHT_SOURCE).all() and (df["domain"] == "real").all() and df["stand_in"].all()
    assert df["composite_label"].isna().all()                         # real pairs carry no style labels
    assert set(df["split"]) == {"train", "val", "test"}
    assert df.groupby("group_id")["split"].nunique().max() == 1       # a scene sits in one split
    for _, row in df.sample(6, random_state=0).iterrows():
        comp, target, mask = read_rgb(row["composite_path"]), read_rgb(row["target_path"]), read_mask(row["mask_path"])
        source = read_rgb(out / "real_images" / f"{row['group_id']}_{row['render_fg_style']}.jpg")
        assert (comp[~mask] == target[~mask]).all()                   # background: the target photo, bit-exact
        assert (comp[mask] == source[mask]).all()                     # foreground: the other style's photo
        assert row["render_fg_style"] != row["render_style"]
    # one camera look per scene: every photo of a scene was made with the same look
    looks = df.groupby("group_id")[["look_exposure_stops", "look_gain_r", "look_jpeg_quality"]].nunique()
    assert (looks == 1).all().all()
    assert df.groupby("group_id")["look_gain_r"].first().nunique() == 5


def test_stand_in_refuses_an_unknown_composite_kind(captures, tmp_path):
    from rdhcore.errors import RdhError

    with pytest.raises(RdhError, match="relight or transfer"):
        make_photo_look_pairs(PhotoLookConfig(captures=captures, out=tmp_path / "x", composites="poisson"))
    assert not (tmp_path / "x").exists()
