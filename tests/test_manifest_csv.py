"""build-manifest --csv: a generic table of composite, target and mask paths."""
from __future__ import annotations

import numpy as np
import pytest

from manifests.build import BuildConfig, build_manifest
from rdhcore.errors import RdhError
from manifests.schema import read_manifest
from tests.test_manifest_trees import soft_mask, write_jpg, write_png_mask


@pytest.fixture()
def table(tmp_path):
    data = tmp_path / "mine"
    for i in range(4):
        write_jpg(data / "imgs" / f"p{i}.jpg", 12, 14, 30 * i)
        write_jpg(data / "imgs" / f"p{i}_comp.jpg", 12, 14, 30 * i + 7)
        mask, _ = soft_mask(12, 14, i + 1, edge=i)
        write_png_mask(data / "masks" / f"p{i}.png", mask)
    csv = data / "pairs.csv"
    csv.write_text(
        "composite,target,mask,category,split,domain,fg_style,bg_style,composite_label\n"
        "imgs/p0_comp.jpg,imgs/p0.jpg,masks/p0.png,human,test,real,,,\n"
        "imgs/p1_comp.jpg,imgs/p1.jpg,masks/p1.png,,,,,,\n"
        "\n"
        "imgs/p2_comp.jpg,imgs/p2.jpg,masks/p2.png,dog,train,rendered,4,9,\n"
        f"{data}/imgs/p3_comp.jpg,imgs/p3.jpg,masks/p3.png,dog,,rendered,,2,0_0.25_0_0_0_0_0.75_0_0_0\n")
    return data, csv


def test_rows_from_a_csv(tmp_path, table):
    data, csv = table
    out = tmp_path / "m.parquet"
    build_manifest(BuildConfig(out=out, csv=[csv]))
    df = read_manifest(out).set_index("pair_id")
    assert list(df.index) == ["pairs/imgs/p0_comp", "pairs/imgs/p1_comp", "pairs/imgs/p2_comp", "pairs/imgs/p3_comp"]
    p0, p1, p2, p3 = (df.iloc[i] for i in range(4))
    assert (p0["domain"], p0["category"], p0["split"], p0["source"]) == ("real", "human", "test", "pairs")
    assert (p1["domain"], p1["category"], p1["split"]) == ("real", "unknown", "train")
    assert p0["composite_path"] == "mine/imgs/p0_comp.jpg" and p0["mask_path"] == "mine/masks/p0.png"
    assert p3["composite_path"] == "mine/imgs/p3_comp.jpg"  # absolute in the CSV, relative in the manifest
    assert p0["group_id"] == "pairs/imgs/p0"
    for i, row in enumerate((p0, p1, p2, p3)):
        _, count = soft_mask(12, 14, i + 1, edge=i)
        assert row["fg_ratio"] == pytest.approx(count / (12 * 14), abs=1e-7)
        assert (row["width"], row["height"]) == (14, 12)
    # styles only: the area-weighted label is computed from the mask
    r = p2["fg_ratio"]
    expected = np.zeros(10)
    expected[3] += r
    expected[8] += 1 - r
    np.testing.assert_allclose(p2["composite_label"], expected, atol=1e-6)
    assert (p2["fg_style"], p2["bg_style"]) == (4, 9)
    assert p2["target_label"].tolist() == np.eye(10)[8].tolist()
    np.testing.assert_allclose(p3["composite_label"], [0, 0.25, 0, 0, 0, 0, 0.75, 0, 0, 0])
    assert p3["target_label"].tolist() == np.eye(10)[1].tolist()
    assert p3["split"] == "train"


def test_csv_errors_name_file_and_line(tmp_path, table):
    data, csv = table
    lines = csv.read_text().splitlines()
    lines[2] = lines[2].replace(",,,,,,", ",,,photo,,,")            # line 3: bad domain
    lines[4] = lines[4].replace("rendered,4,9", "rendered,,9")       # line 5: rendered without fg style
    lines.append("imgs/p1_comp.jpg,imgs/p1.jpg,masks/p1.png,,dev,,,,")  # line 7: bad split
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(RdhError) as err:
        build_manifest(BuildConfig(out=tmp_path / "m.parquet", csv=[csv]))
    msg = str(err.value)
    assert "3 problem(s)" in msg
    assert "pairs.csv:3: domain 'photo'" in msg
    assert "pairs.csv:5: rendered pair needs composite_label, or fg_style and bg_style" in msg
    assert "pairs.csv:7: split 'dev'" in msg
    csv.write_text("image,target,mask\na,b,c\n")
    with pytest.raises(RdhError, match="header has no 'composite' column"):
        build_manifest(BuildConfig(out=tmp_path / "m.parquet", csv=[csv]))


def test_a_val_split_from_the_csv_is_kept_and_inspected(tmp_path, table, rdh_main):
    data, csv = table
    csv.write_text(csv.read_text().replace("masks/p1.png,,,,,,", "masks/p1.png,,val,,,,"))
    out = tmp_path / "m.parquet"
    build_manifest(BuildConfig(out=out, csv=[csv]))
    assert read_manifest(out)["split"].tolist() == ["test", "val", "train", "train"]
    code, text, _ = rdh_main("inspect", out)
    assert code == 0
    header = next(line for line in text.splitlines() if "domain" in line and "total" in line)
    assert [c.strip() for c in header.split("┃") if c.strip()] == ["domain", "total", "train", "val", "test"]


def test_undecodable_mask(tmp_path, table):
    data, csv = table
    (data / "masks" / "p1.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(RdhError, match=r"pairs.csv:3: mask .*p1.png cannot be decoded"):
        build_manifest(BuildConfig(out=tmp_path / "m.parquet", csv=[csv]))
