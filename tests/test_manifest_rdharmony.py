"""build-manifest --rdharmony with the official list format, on a small fake release."""
from __future__ import annotations

import numpy as np
import pytest

from manifests.build import BuildConfig, build_manifest
from rdhcore.errors import RdhError
from manifests.rdharmony import name_parts, parse_list_line
from manifests.schema import read_manifest
from tests.test_manifest_trees import make_rdharmony


@pytest.fixture()
def release(tmp_path):
    root = tmp_path / "RdHarmony"
    return root, make_rdharmony(root)


def build(tmp_path, root, **kw):
    out = tmp_path / "m.parquet"
    kw.setdefault("rdharmony_lists", [root / "human_labeled.txt"])
    build_manifest(BuildConfig(out=out, rdharmony=[root], **kw))
    return read_manifest(out)


def test_exact_mapping_of_every_row(tmp_path, release):
    root, expected = release
    df = build(tmp_path, root, rdharmony_categories=["human"])
    assert len(df) == len(expected) == 18
    for row in df.itertuples():
        stem = row.pair_id.rpartition("/")[2]
        want = expected[stem]
        assert row.pair_id == f"RdHarmony/human/{stem}"
        assert (row.domain, row.source, row.category, row.split) == ("rendered", "RdHarmony", "human", "train")
        assert row.group_id == f"RdHarmony/human/{want['group']}"
        # X-Y_Z -> ground truth X-Y and mask X, relative to the manifest in tmp_path
        assert row.composite_path == f"RdHarmony/{want['composite']}"
        assert row.target_path == f"RdHarmony/{want['target']}"
        assert row.mask_path == f"RdHarmony/{want['mask']}"
        assert (row.fg_style, row.bg_style) == (want["fg"], want["bg"])
        assert (row.width, row.height) == (want["width"], want["height"])
        assert row.fg_ratio == pytest.approx(want["fg_ratio"], abs=1e-7)
        # the list's 4-decimal label, renormalized to sum to 1
        np.testing.assert_allclose(row.composite_label, want["label"], atol=1e-4)
        assert abs(float(np.sum(row.composite_label)) - 1) < 1e-6
        assert row.target_label.tolist() == np.eye(10)[want["bg"] - 1].tolist()


def test_zero_based_style_numbers_in_names(tmp_path):
    root = tmp_path / "zb"
    expected = make_rdharmony(root, n_groups=2, zero_based=True)
    df = build(tmp_path, root)
    for row in df.itertuples():
        want = expected[row.pair_id.rpartition("/")[2]]
        assert (row.fg_style, row.bg_style) == (want["fg"], want["bg"])
        assert row.target_path == f"zb/{want['target']}"


def test_group_split_is_disjoint_and_deterministic(tmp_path, release):
    root, _ = release
    splits = {}
    for seed in (0, 0, 1, 2, 3):
        df = build(tmp_path, root, test_fraction=0.34, seed=seed)
        assert df.groupby("group_id")["split"].nunique().max() == 1
        test_groups = frozenset(df.loc[df["split"] == "test", "group_id"])
        assert len(test_groups) == 2  # round(0.34 * 6 groups)
        assert (df["split"] == "test").sum() == 2 * 3
        splits.setdefault(seed, set()).add(test_groups)
    assert len(splits[0]) == 1                       # same seed, same split
    assert len({next(iter(s)) for s in splits.values()}) > 1  # seeds do change it


def test_list_line_parsing():
    line = parse_list_line("composite_images/a_1-3_7.jpg\t0_0_0.7_0_0_0_0.3_0_0_0\t3\n")
    assert line.path == "composite_images/a_1-3_7.jpg" and line.style == 3
    np.testing.assert_allclose(line.label, [0, 0, 0.7, 0, 0, 0, 0.3, 0, 0, 0])
    assert parse_list_line("  \n") is None
    assert name_parts(line.path) == ("a_1", 3, 7)
    for bad, reason in [("x.jpg\t0_1\t3", "has 2 values"), ("x.jpg\t" + "_".join(["0.5"] * 10) + "\t3", "sums to 5"),
                        ("x.jpg\t" + "_".join(["0.1"] * 10) + "\t11", "out of range"), ("x.jpg 3", "3 tab-separated")]:
        with pytest.raises(ValueError, match=reason):
            parse_list_line(bad)
    with pytest.raises(ValueError, match="not X-Y_Z"):
        name_parts("composite_images/scene.jpg")


def test_bad_lines_are_reported_with_line_numbers(tmp_path, release):
    root, _ = release
    lines = (root / "human_labeled.txt").read_text().splitlines()
    path, label, style = lines[4].split("\t")
    lines[4] = f"{path}\t{label}\t{(int(style) + 2) % 10 + 1}"  # style disagrees with the name
    lines[7] = lines[7].replace("composite_images/", "composite_images/missing")
    lines[9] = lines[9].split("\t")[0] + "\t1_2_3\t1"            # label of 3 values
    (root / "human_labeled.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(RdhError) as err:
        build(tmp_path, root)
    msg = str(err.value)
    assert "human_labeled.txt:5: name says background style" in msg
    assert "human_labeled.txt:10: label '1_2_3' has 3 values" in msg
    assert not (tmp_path / "m.parquet").exists()
    # once the format problems are fixed, the line naming no file is reported the same way
    lines[4] = f"{path}\t{label}\t{style}"
    del lines[9]
    (root / "human_labeled.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(RdhError, match=r"human_labeled.txt:8: composite .*missingscene2_0-7_1.jpg not found: the line names no file"):
        build(tmp_path, root)


def test_list_and_root_must_go_together(tmp_path, release):
    root, _ = release
    with pytest.raises(RdhError, match="needs --rdharmony-list"):
        build_manifest(BuildConfig(out=tmp_path / "m.parquet", rdharmony=[root]))
    with pytest.raises(RdhError, match="needs --rdharmony ROOT"):
        build_manifest(BuildConfig(out=tmp_path / "m.parquet", rdharmony_lists=[root / "human_labeled.txt"]))
    with pytest.raises(RdhError, match="no such file"):
        build(tmp_path, root, rdharmony_lists=[root / "nope.txt"])
    # a list name relative to ROOT is found there
    assert len(build(tmp_path, root, rdharmony_lists=["human_labeled.txt"])) == 18
