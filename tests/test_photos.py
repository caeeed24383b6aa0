import numpy as np
import pytest

from rdhcore.imageio import read_mask, read_rgb, write_image, write_mask
from datagen.photos import PhotoConfig, make_photo_pairs, transfer_foreground
from manifests.schema import read_manifest
from tests.cli import error_line, rdh_process
from tests.synth import box_mask, style_image


def make_photos(root, n=3, size=(36, 48)):
    rng = np.random.default_rng(3)
    (root / "img").mkdir(parents=True)
    (root / "msk").mkdir()
    h, w = size
    for i in range(n):
        write_image(root / "img" / f"p{i}.png", style_image(rng, h, w, 1 + 4 * i))
        write_mask(root / "msk" / f"p{i}_1.png", box_mask(h, w, 5, 25, 10 + i, 30))
        write_mask(root / "msk" / f"p{i}_2.png", box_mask(h, w, 20, 34, 2, 12))
    return root / "img", root / "msk"


def test_transfer_moves_foreground_statistics_only():
    rng = np.random.default_rng(0)
    photo = style_image(rng, 40, 40, 2)
    ref = style_image(rng, 40, 40, 9)
    mask = box_mask(40, 40, 10, 30, 10, 30)
    out = transfer_foreground(photo, mask, ref, strength=1.0)
    assert np.array_equal(out[~mask], photo[~mask])
    assert abs(out[mask].mean() - ref.mean()) < abs(photo[mask].mean() - ref.mean()) / 3
    unchanged = transfer_foreground(photo, mask, ref, strength=0.0)
    assert np.abs(unchanged.astype(int) - photo).max() <= 1  # strength 0: only Lab round-trip rounding


def test_photo_pairs_layout_and_rows(tmp_path):
    images, masks = make_photos(tmp_path)
    out = tmp_path / "pairs"
    summary = make_photo_pairs(PhotoConfig(images=images, masks=masks, out=out, variants=2, format="png",
                                           category="cow", test_fraction=0.34))
    df = read_manifest(out)
    assert summary.pairs == len(df) == 3 * 2 * 2
    assert set(df["domain"]) == {"real"} and set(df["source"]) == {"photos"} and set(df["category"]) == {"cow"}
    assert df["composite_label"].isna().all() and df["fg_style"].isna().all()
    row = df[df["pair_id"] == "p1_2_2"].iloc[0]
    assert row["target_path"] == "real_images/p1.png" and row["mask_path"] == "masks/p1_2.png"
    comp, gt, mask = read_rgb(out / row["composite_path"]), read_rgb(out / row["target_path"]), read_mask(out / row["mask_path"])
    assert np.array_equal(gt, read_rgb(images / "p1.png"))
    assert np.array_equal(comp[~mask], gt[~mask])
    assert np.abs(comp[mask].astype(int) - gt[mask]).mean() > 3
    assert row["fg_ratio"] == pytest.approx(mask.mean())
    assert df.groupby("group_id")["split"].nunique().max() == 1


def test_photo_cli_refuses_size_mismatch(tmp_path):
    images, masks = make_photos(tmp_path)
    write_mask(masks / "p0_1.png", np.ones((10, 10), bool))
    line = error_line(rdh_process("make-composites", "--from-photos", images, "--masks", masks, tmp_path / "o"))
    assert "p0_1.png" in line and "same size" in line
    assert not (tmp_path / "o").exists()


def test_photo_cli_runs(tmp_path):
    images, masks = make_photos(tmp_path)
    proc = rdh_process("make-composites", "--from-photos", images, "--masks", masks, tmp_path / "o", check=True)
    assert "photo pairs in pairs.parquet" in proc.stdout
    assert len(list((tmp_path / "o" / "composite_images").glob("*.jpg"))) == 6
