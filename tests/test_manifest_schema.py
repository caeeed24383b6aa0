"""The rdh.manifest/1 schema: version refusal, extra columns, atomic writes, validation; inspect's stats."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from rdhcore.errors import RdhError
from manifests.schema import read_manifest, validate_manifest, write_manifest
from manifests.stats import manifest_stats


def frame(n: int = 6) -> pd.DataFrame:
    """n pairs: the first half rendered (styles 1..), the rest real."""
    rows = []
    for i in range(n):
        rendered = i < n // 2
        fg, bg = (i % 10) + 1, ((i + 3) % 10) + 1
        r = [0.01, 0.05, 0.10, 0.15, 0.5, 1.0][i % 6]
        label = np.zeros(10, np.float32)
        label[fg - 1] += r
        label[bg - 1] += 1 - r
        rows.append({
            "pair_id": f"p{i}", "domain": "rendered" if rendered else "real", "source": "rdh-builtin" if rendered else "HCOCO",
            "category": "human" if i % 2 else "bottle", "split": "test" if i == n - 1 else "train", "group_id": f"g{i}",
            "composite_path": f"c/{i}.png", "target_path": f"t/{i}.png", "mask_path": f"m/{i}.png",
            "width": 8, "height": 6, "fg_ratio": r,
            "fg_style": fg if rendered else None, "bg_style": bg if rendered else None,
            "composite_label": label if rendered else None,
            "target_label": np.eye(10, dtype=np.float32)[bg - 1] if rendered else None,
        })
    return pd.DataFrame(rows)


def test_roundtrip_and_extra_columns(tmp_path):
    df = frame()
    df["novel"] = df["category"] == "human"
    df["fg_delta"] = np.arange(len(df), dtype=np.float32)
    path = write_manifest(df, tmp_path / "m.parquet")
    meta = pq.read_schema(path).metadata
    assert meta[b"rdh.schema"] == b"rdh.manifest/1"
    assert len(json.loads(meta[b"rdh.styles"])) == 10
    back = read_manifest(path)
    assert back["pair_id"].tolist() == df["pair_id"].tolist()
    assert back["novel"].tolist() == df["novel"].tolist()
    np.testing.assert_allclose(np.stack(back["composite_label"][:3]), np.stack(df["composite_label"][:3]))
    assert back["fg_style"].iloc[3] is pd.NA or np.isnan(back["fg_style"].iloc[3])


@pytest.mark.parametrize("version", [b"rdh.manifest/2", None])
def test_other_or_unknown_version_is_refused(tmp_path, version):
    table = pq.read_table(write_manifest(frame(), tmp_path / "m.parquet"))
    meta = {b"rdh.schema": version} if version else {}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "other.parquet")
    want = "rdh.manifest/2" if version else "unknown"
    with pytest.raises(RdhError, match=f"schema is {want}.*rebuild it with `rdh build-manifest`"):
        read_manifest(tmp_path / "other.parquet")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns=["mask_path"]), "missing column"),
    (lambda d: d.assign(pair_id=["a", "a", "b", "c", "d", "e"]), "pair_id 'a' appears more than once"),
    (lambda d: d.assign(split=["train", "dev", "train", "train", "train", "test"]), "split 'dev' in pair 'p1': use one of train, val, test"),
    (lambda d: d.assign(group_id=["g"] * 6), "group 'g' appears in both train and test"),
    (lambda d: d.assign(group_id=["g"] * 5 + ["h"], split=["train", "val", "train", "test", "train", "test"]),
     "group 'g' appears in train, val and test"),
    (lambda d: d.assign(composite_label=[np.ones(9, np.float32) / 9, *d["composite_label"][1:]]), "has length 9, expected 10"),
    (lambda d: d.assign(composite_label=[np.full(10, 0.2, np.float32), *d["composite_label"][1:]]), "sums to 2.000000"),
    (lambda d: d.assign(target_label=[None, *d["target_label"][1:]]), "rendered pair 'p0' has no target_label"),
    (lambda d: d.assign(width=[8.5] * 6), "width must hold positive integers"),
    (lambda d: d.assign(fg_ratio=[1.5] * 6), "fg_ratio must be a number in"),
    (lambda d: d.assign(novel=["yes"] * 6), "novel must be boolean"),
])
def test_validation_and_atomic_write(tmp_path, change, message):
    path = tmp_path / "m.parquet"
    write_manifest(frame(), path)
    before = path.read_bytes()
    with pytest.raises(RdhError, match=message):
        write_manifest(change(frame()), path)
    assert path.read_bytes() == before  # the old file is untouched, no temporary file is left
    assert [p.name for p in tmp_path.iterdir()] == ["m.parquet"]


def test_label_sum_tolerance():
    df = frame()
    label = df.at[0, "composite_label"].copy()
    label[0] += 5e-6
    validate_manifest(df.assign(composite_label=[label, *df["composite_label"][1:]]))


def test_inspect_stats_counts_and_bins():
    df = frame(6)
    df["novel"] = df["category"] == "human"
    stats = manifest_stats(df)
    assert stats["pairs"] == 6
    assert stats["counts"]["domain"] == {"rendered": {"total": 3, "train": 3, "test": 0},
                                         "real": {"total": 3, "train": 2, "test": 1}}
    assert stats["counts"]["novel"]["true"] == {"total": 3, "train": 2, "test": 1}
    assert stats["counts"]["source"]["HCOCO"]["total"] == 3
    # fg ratios 0.01, 0.05, 0.10, 0.15, 0.5, 1.0: lower edges belong to the upper bin, 100% to the last
    assert [b["count"] for b in stats["fg_ratio"]["bins"]] == [1, 2, 3]
    assert [b["count"] for b in stats["fg_ratio"]["by_domain"]["rendered"]] == [1, 2, 0]
    by_style = {s["id"]: (s["fg"], s["bg"]) for s in stats["styles"]["by_style"]}
    assert by_style[1] == (1, 0) and by_style[4] == (0, 1) and by_style[6] == (0, 1)
    assert sum(fg for fg, _ in by_style.values()) == stats["styles"]["rendered_pairs"] == 3
    json.dumps(stats)  # plain JSON values only


def test_val_split_is_kept_and_counted(tmp_path):
    df = frame(6).assign(split=["train", "val", "train", "train", "val", "test"])
    back = read_manifest(write_manifest(df, tmp_path / "m.parquet"))
    assert back["split"].tolist() == df["split"].tolist()
    stats = manifest_stats(back)
    assert stats["splits"] == ["train", "val", "test"]
    assert stats["counts"]["domain"] == {"rendered": {"total": 3, "train": 2, "val": 1, "test": 0},
                                         "real": {"total": 3, "train": 1, "val": 1, "test": 1}}
    assert stats["counts"]["split"]["val"]["total"] == 2
    # Without val rows the tables keep their train / test columns only.
    assert manifest_stats(frame(6))["splits"] == ["train", "test"]
