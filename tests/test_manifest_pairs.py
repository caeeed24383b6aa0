"""build-manifest --pairs (datasets made by the real make-composites) and the paper's protocol:
categories, novel, rendered-category filter, group splits, sampling."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from datagen.compose import ComposeConfig, make_composites
from rdhcore.imageio import read_mask
from manifests.build import BuildConfig, build_manifest
from rdhcore.errors import RdhError
from manifests.schema import read_manifest, resolve_paths
from tests.synth import make_store
from tests.test_manifest_trees import make_iharmony4, make_rdharmony


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Two rendered pair datasets (human, bottle; separate runs, so the same scene ids),
    an iHarmony4 tree and an RdHarmony release."""
    base = tmp_path_factory.mktemp("sources")
    for category, n in (("human", 3), ("bottle", 2)):
        store = make_store(base / f"captures_{category}", n_scenes=n, size=(16, 20), styles=[1, 2, 5, 10],
                           category=category, seed=n)
        make_composites(ComposeConfig(captures=store, out=base / f"{category}_pairs", test_fraction=0.34))
    make_iharmony4(base / "iHarmony4")
    make_rdharmony(base / "RdHarmony", n_groups=4)
    return base


def build(out, data, **kw):
    kw.setdefault("pairs", [data / "human_pairs", data / "bottle_pairs" / "pairs.parquet"])
    kw.setdefault("prefix_pairs", True)
    summary = build_manifest(BuildConfig(out=out, **kw))
    return read_manifest(out), summary


def test_pairs_are_rebased_onto_the_new_folder(tmp_path, data):
    source = read_manifest(data / "human_pairs")
    out = tmp_path / "deep" / "er" / "m.parquet"
    df, _ = build(out, data, pairs=[data / "human_pairs"], prefix_pairs=False)
    assert len(df) == len(source) == 3 * 4 * 3
    assert df["pair_id"].tolist() == source["pair_id"].tolist()
    rel = df.set_index("pair_id")
    for row in source.itertuples():
        for col in ("composite_path", "target_path", "mask_path"):
            new = rel.at[row.pair_id, col]
            assert not new.startswith("/")
            assert (out.parent / new).resolve() == (data / "human_pairs" / getattr(row, col)).resolve()
    # everything else is carried over unchanged, extra columns included
    for col in ("group_id", "split", "category", "fg_ratio", "fg_style", "bg_style", "fg_delta", "width"):
        assert df[col].tolist() == source[col].tolist(), col
    np.testing.assert_array_equal(np.stack(df["composite_label"]), np.stack(source["composite_label"]))
    # re-import the new manifest from yet another folder: paths follow again
    df2, _ = build(tmp_path / "m2.parquet", data, pairs=[out], prefix_pairs=False)
    a = resolve_paths(df, out)["mask_path"].map(lambda p: Path(p).resolve())
    b = resolve_paths(df2, tmp_path / "m2.parquet")["mask_path"].map(lambda p: Path(p).resolve())
    assert df2["mask_path"].iloc[0] == os.path.relpath(data / "human_pairs" / source["mask_path"].iloc[0], tmp_path)
    assert a.tolist() == b.tolist()
    assert np.array_equal(read_mask(tmp_path / df2["mask_path"].iloc[0]), read_mask(out.parent / df["mask_path"].iloc[0]))


def test_separate_runs_collide_without_prefix(tmp_path, data):
    with pytest.raises(RdhError, match=r"1 problem.*pair 's0000_0-1_2' again \(first from .*human_pairs/pairs.parquet pair s0000_0-1_2\) and 23 more .* add --prefix-pairs"):
        build(tmp_path / "m.parquet", data, prefix_pairs=False)
    df, _ = build(tmp_path / "m.parquet", data)
    assert df["pair_id"].str.startswith(("human_pairs/", "bottle_pairs/")).all()
    assert set(df["group_id"]) == {f"human_pairs/s{i:04d}" for i in range(3)} | {f"bottle_pairs/s{i:04d}" for i in range(2)}


def test_mixed_sources_protocol(tmp_path, data):
    cats = tmp_path / "cats.csv"
    # by image id, by a path suffix, by pair id; one key matches nothing
    cats.write_text("key,category\nc1,human\nHday2night/real_images/d9_0001.jpg,dog\nHCOCO/c3_1_2,cake\nzzz,cow\n")
    df, summary = build(
        tmp_path / "m.parquet", data, iharmony4=[data / "iHarmony4"], rdharmony=[data / "RdHarmony"],
        rdharmony_lists=[data / "RdHarmony" / "human_labeled.txt"], rdharmony_categories=["car"],
        categories=cats, novel_categories=["human"], rendered_categories=["human", "car"], rdharmony_style_map="same")
    real = df[df["domain"] == "real"].set_index("pair_id")["category"]
    assert real[["HCOCO/c1_1_1", "HCOCO/c1_1_2", "HCOCO/c1_2_1"]].eq("human").all()
    assert real[["Hday2night/d9_0001_1_1", "Hday2night/d9_0001_1_3"]].eq("dog").all()
    assert real["HCOCO/c3_1_2"] == "cake" and real["HCOCO/c3_1_1"] == "unknown"
    assert summary.category_keys_unmatched == 1
    # bottle pairs were rendered but not kept; human and car (RdHarmony) are
    rendered = df[df["domain"] == "rendered"]
    assert set(rendered["category"]) == {"human", "car"}
    assert summary.dropped_by_category == 2 * 4 * 3
    assert len(rendered) == 3 * 4 * 3 + 4 * 3
    assert df["novel"].dtype == bool
    assert df["novel"].tolist() == (df["category"] == "human").tolist()
    assert df.groupby("group_id")["split"].nunique().max() == 1
    # RdHarmony came without a split: all train at --test-fraction 0
    assert (df.loc[df["source"] == "RdHarmony", "split"] == "train").all()


def test_sampling_is_deterministic_and_order_free(tmp_path, data):
    def sample(seed, order):
        df, summary = build(tmp_path / f"s{seed}.parquet", data, pairs=order, iharmony4=[data / "iHarmony4"],
                            sample_rendered=20, seed=seed)
        return df, summary

    a, summary = sample(1, [data / "human_pairs", data / "bottle_pairs"])
    b, _ = sample(1, [data / "bottle_pairs", data / "human_pairs"])
    c, _ = sample(2, [data / "human_pairs", data / "bottle_pairs"])
    train = lambda df: set(df.loc[(df["domain"] == "rendered") & (df["split"] == "train"), "pair_id"])
    assert len(train(a)) == 20
    assert train(a) == train(b)
    assert train(a) != train(c)
    full, _ = build(tmp_path / "full.parquet", data, iharmony4=[data / "iHarmony4"])
    # test pairs and real pairs are all kept; only rendered training pairs are sampled
    keep = lambda df: set(df.loc[(df["domain"] == "real") | (df["split"] == "test"), "pair_id"])
    assert keep(a) == keep(full)
    assert summary.dropped_by_sampling == len(train(full)) - 20
    with pytest.raises(RdhError, match=f"--sample-rendered 999: only {len(train(full))} rendered training pairs"):
        sample_n = BuildConfig(out=tmp_path / "x.parquet", pairs=[data / "human_pairs", data / "bottle_pairs"],
                               prefix_pairs=True, sample_rendered=999)
        build_manifest(sample_n)


def test_version_refusal_of_a_pairs_source(tmp_path, data):
    import pyarrow.parquet as pq

    table = pq.read_table(data / "human_pairs" / "pairs.parquet")
    old = tmp_path / "old.parquet"
    pq.write_table(table.replace_schema_metadata({b"rdh.schema": b"rdh.manifest/0"}), old)
    with pytest.raises(RdhError, match=r"old.parquet: manifest schema is rdh.manifest/0, this rdh reads rdh.manifest/1"):
        build(tmp_path / "m.parquet", data, pairs=[old])
    with pytest.raises(RdhError, match="folder has no pairs.parquet"):
        build(tmp_path / "m.parquet", data, pairs=[tmp_path])


def test_verify_images_on_pairs(tmp_path, data):
    df, summary = build(tmp_path / "m.parquet", data, verify_images=True)
    assert summary.images_decoded == len(set(resolve_paths(df, tmp_path / "m.parquet")[
        ["composite_path", "target_path", "mask_path"]].to_numpy().ravel()))
    assert summary.masks_read == 0  # pair datasets carry fg_ratio and size already


def test_release_and_rdh_style_tables_are_not_mixed_unless_mapped(tmp_path, data):
    release = dict(rdharmony=[data / "RdHarmony"], rdharmony_lists=[data / "RdHarmony" / "human_labeled.txt"])
    with pytest.raises(RdhError, match=r"two tables \(12 pairs in the RdHarmony table, 60 pairs in the rdh table\).*--rdharmony-style-map"):
        build(tmp_path / "mixed.parquet", data, **release)
    assert not (tmp_path / "mixed.parquet").exists()
    # Each table alone is fine, and the manifest says which one its rendered rows use.
    alone, _ = build(tmp_path / "release.parquet", data, pairs=[], **release)
    assert set(alone["style_table"]) == {"RdHarmony"}
    ours, _ = build(tmp_path / "ours.parquet", data, iharmony4=[data / "iHarmony4"])
    assert set(ours.loc[ours["domain"] == "rendered", "style_table"]) == {"rdh"}
    assert ours.loc[ours["domain"] == "real", "style_table"].isna().all()
    # A map moves the release's ids and label entries onto rdh's numbering: here release style r is rdh style 11 - r.
    reverse = ",".join(f"{r}={11 - r}" for r in range(1, 11))
    mapped, _ = build(tmp_path / "mapped.parquet", data, rdharmony_style_map=reverse, **release)
    assert set(mapped.loc[mapped["domain"] == "rendered", "style_table"]) == {"rdh"}
    got = mapped[mapped["source"] == "RdHarmony"].set_index("pair_id")
    was = alone.set_index("pair_id")
    for pid, row in was.iterrows():
        assert (got.at[pid, "fg_style"], got.at[pid, "bg_style"]) == (11 - row["fg_style"], 11 - row["bg_style"])
        np.testing.assert_array_equal(got.at[pid, "composite_label"], row["composite_label"][::-1])
        np.testing.assert_array_equal(got.at[pid, "target_label"], row["target_label"][::-1])
        assert got.at[pid, "target_label"][11 - row["bg_style"] - 1] == 1.0
    # the rdh rows are left as they were
    rdh_rows = mapped[mapped["source"] != "RdHarmony"].set_index("pair_id")["bg_style"]
    assert rdh_rows.equals(build(tmp_path / "plain.parquet", data)[0].set_index("pair_id")["bg_style"])
    # --pairs of a mapped manifest keeps its table; one of the unmapped release is refused beside rdh pairs
    again, _ = build(tmp_path / "again.parquet", data, pairs=[tmp_path / "mapped.parquet"], prefix_pairs=False)
    assert set(again.loc[again["domain"] == "rendered", "style_table"]) == {"rdh"}
    with pytest.raises(RdhError, match="two tables"):
        build(tmp_path / "again2.parquet", data, pairs=[tmp_path / "release.parquet", data / "human_pairs"])


@pytest.mark.parametrize("text, message", [
    ("1=1,2=2", "a permutation"), ("1=2,2=1,3=3,4=4,5=5,6=6,7=7,8=8,9=9,10=9", "a permutation"),
    ("1:1", "RELEASE_ID=RDH_ID"), ("1=1,1=2", "mapped twice"),
])
def test_bad_style_maps_name_the_option(tmp_path, data, text, message):
    with pytest.raises(RdhError, match=f"--rdharmony-style-map .*{message}"):
        build(tmp_path / "m.parquet", data, rdharmony_style_map=text)


def test_build_manifest_cli_takes_the_style_map(tmp_path, data, rdh_main):
    args = ("build-manifest", tmp_path / "m.parquet", "--pairs", data / "human_pairs", "--rdharmony", data / "RdHarmony",
            "--rdharmony-list", data / "RdHarmony" / "human_labeled.txt")
    code, _, err = rdh_main(*args)
    assert code == 2 and "--rdharmony-style-map" in err and len([l for l in err.splitlines() if l.strip()]) == 1, err
    code, _, err = rdh_main(*args, "--rdharmony-style-map", "same")
    assert code == 0, err
    assert set(read_manifest(tmp_path / "m.parquet").dropna(subset=["style_table"])["style_table"]) == {"rdh"}
