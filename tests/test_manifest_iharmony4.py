"""build-manifest --iharmony4 on a small fake iHarmony4 tree with real JPEG/PNG files."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from manifests.build import BuildConfig, build_manifest
from rdhcore.errors import RdhError
from manifests.schema import read_manifest, resolve_paths
from tests.test_manifest_trees import make_iharmony4, write_jpg


@pytest.fixture()
def tree(tmp_path):
    root = tmp_path / "iHarmony4"
    return root, make_iharmony4(root)


def build(tmp_path, **kw):
    out = tmp_path / "manifests" / "real.parquet"
    summary = build_manifest(BuildConfig(out=out, **kw))
    return out, summary


def test_exact_mapping_of_every_row(tmp_path, tree):
    root, expected = tree
    out, summary = build(tmp_path, iharmony4=[root])
    df = read_manifest(out)
    assert summary.pairs == len(df) == len(expected) == 9
    assert sorted(df["pair_id"]) == sorted(expected)
    for row in df.itertuples():
        want = expected[row.pair_id]
        assert row.domain == "real" and row.category == "unknown"
        assert (row.source, row.split, row.group_id) == (want["source"], want["split"], want["group_id"])
        # relative to the manifest's folder (tmp/manifests), so ../iHarmony4/...
        assert row.composite_path == "../iHarmony4/" + want["composite"]
        assert row.target_path == "../iHarmony4/" + want["target"]
        assert row.mask_path == "../iHarmony4/" + want["mask"]
        assert (row.width, row.height) == (want["width"], want["height"])
        # exact: 128 counts as foreground, 127 does not
        assert row.fg_ratio == pytest.approx(want["fg_ratio"], abs=1e-7)
        assert row.composite_label is None and row.target_label is None
        assert np.isnan(row.fg_style) and np.isnan(row.bg_style)
    resolved = resolve_paths(df, out)
    assert all((tmp_path / "manifests" / p).resolve().is_file() for p in df["composite_path"])
    assert resolved["target_path"].map(lambda p: (tmp_path / "manifests" / p).exists()).all()


def test_split_comes_from_the_lists_and_is_group_disjoint(tmp_path, tree):
    root, _ = tree
    out, _ = build(tmp_path, iharmony4=[root], test_fraction=0.5, seed=3)
    df = read_manifest(out)
    # the lists decide: --test-fraction only applies to pairs that come without a split
    assert set(df.loc[df["split"] == "test", "group_id"]) == {"HCOCO/c3", "Hday2night/d9_0002"}
    assert df.groupby("group_id")["split"].nunique().max() == 1


def test_one_subset_folder_and_subset_filter(tmp_path, tree):
    root, expected = tree
    out, _ = build(tmp_path, iharmony4=[root / "Hday2night"])
    assert set(read_manifest(out)["source"]) == {"Hday2night"}
    out, _ = build(tmp_path, iharmony4=[root], iharmony4_subsets=["HCOCO"])
    df = read_manifest(out)
    assert set(df["source"]) == {"HCOCO"} and len(df) == sum(v["source"] == "HCOCO" for v in expected.values())
    with pytest.raises(RdhError, match="HFlickr not under"):
        build(tmp_path, iharmony4=[root], iharmony4_subsets=["HFlickr"])


def test_missing_composite_is_reported_with_list_and_line(tmp_path, tree):
    root, _ = tree
    (root / "HCOCO" / "composite_images" / "c3_1_2.jpg").unlink()
    out = tmp_path / "manifests" / "real.parquet"
    with pytest.raises(RdhError) as err:
        build_manifest(BuildConfig(out=out, iharmony4=[root]))
    # HCOCO_test.txt: c3_1_1 on line 1, a blank line 2, c3_1_2 on line 3
    assert "HCOCO_test.txt:3: composite" in str(err.value) and "c3_1_2.jpg not found" in str(err.value)
    assert "1 problem(s)" in str(err.value)
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())  # no temporary file left either


def test_missing_mask_and_real_image(tmp_path, tree):
    root, _ = tree
    (root / "HCOCO" / "masks" / "c1_2.png").unlink()
    (root / "HCOCO" / "real_images" / "c2.jpg").unlink()
    with pytest.raises(RdhError) as err:
        build(tmp_path, iharmony4=[root])
    msg = str(err.value)
    assert "2 problem(s)" in msg
    assert "HCOCO_train.txt" in msg and "mask" in msg and "c1_2.png not found" in msg
    assert "target" in msg and "c2.jpg not found" in msg


def test_line_that_is_not_a_composite_name(tmp_path, tree):
    root, _ = tree
    with open(root / "HCOCO" / "HCOCO_train.txt", "a") as f:
        f.write("readme\n")
    with pytest.raises(RdhError, match=r"HCOCO_train.txt:\d+: 'readme' is not a composite name"):
        build(tmp_path, iharmony4=[root])


def test_group_in_both_lists_is_refused(tmp_path, tree):
    root, _ = tree
    # a second composite of real image c1 listed for test: c1 would straddle the split
    write_jpg(root / "HCOCO" / "composite_images" / "c1_1_9.jpg", 20, 30, 9)
    with open(root / "HCOCO" / "HCOCO_test.txt", "a") as f:
        f.write("c1_1_9.jpg\n")
    with pytest.raises(RdhError, match=r"group 'HCOCO/c1' is in test here and in train at .*HCOCO_train.txt:1"):
        build(tmp_path, iharmony4=[root])


def test_lists_missing(tmp_path, tree):
    root, _ = tree
    for f in (root / "Hday2night").glob("*.txt"):
        f.unlink()
    with pytest.raises(RdhError, match="neither Hday2night_train.txt nor Hday2night_test.txt"):
        build(tmp_path, iharmony4=[root])
    shutil.rmtree(root)
    with pytest.raises(RdhError, match="not a folder"):
        build(tmp_path, iharmony4=[root])


def test_verify_images_reports_size_mismatch(tmp_path, tree):
    root, _ = tree
    out, summary = build(tmp_path, iharmony4=[root], verify_images=True)
    assert summary.images_decoded == 9 + 5 + 6  # composites + real images + masks
    write_jpg(root / "HCOCO" / "composite_images" / "c2_1_1.jpg", 21, 30, 5)
    (root / "HCOCO" / "real_images" / "c3.jpg").write_bytes(b"not a jpeg")
    out.unlink()
    # without decoding, neither problem is visible
    build(tmp_path, iharmony4=[root])
    out.unlink()
    with pytest.raises(RdhError) as err:
        build(tmp_path, iharmony4=[root], verify_images=True)
    msg = str(err.value)
    assert "image sizes differ (composite 30x21, target 30x20, mask 30x20)" in msg
    assert "target" in msg and "c3.jpg cannot be decoded" in msg
    assert not out.exists()
