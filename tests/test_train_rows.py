"""Which rows `rdh train` validates on: split=val rows, else a group-disjoint --val-fraction of the
train groups; never split=test rows."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from harmonize.train import TrainConfig, train
from harmonize.train_config import config_from_saved
from harmonize.train_rows import select_rows
from rdhcore.errors import RdhError
from manifests.schema import write_manifest
from tests.train_support import make_real

TINY = dict(image_size=64, depth=5, width=8, unshared=3, batch_size=2, workers=0)


def write_rows(root, groups: dict[str, tuple[str, str, int]]) -> str:
    """A manifest of `n` pairs per group, from {group: (domain, split, n)}; every row points at one
    tiny image (select_rows only checks that the files exist)."""
    (root / "img.png").write_bytes(b"png")
    label = np.eye(10, dtype=np.float32)[0]
    rows = []
    for group, (domain, split, n) in groups.items():
        for k in range(n):
            rendered = domain == "rendered"
            rows.append({"pair_id": f"{group}_{k}", "domain": domain, "source": "test", "category": "box",
                         "split": split, "group_id": group, "composite_path": "img.png", "target_path": "img.png",
                         "mask_path": "img.png", "width": 8, "height": 8, "fg_ratio": 0.5,
                         "fg_style": 2 if rendered else None, "bg_style": 1 if rendered else None,
                         "composite_label": label if rendered else None, "target_label": label if rendered else None})
    return write_manifest(pd.DataFrame(rows), root / "m.parquet")


def groups_of(df) -> set[str]:
    return set(df["group_id"])


def cfg(manifest, model="idih", **kw) -> TrainConfig:
    return TrainConfig(model=model, manifest=manifest, out="unused", max_steps=1, **kw)


def test_val_fraction_carves_whole_groups_out_of_training_and_never_reads_test(tmp_path):
    m = write_rows(tmp_path, {**{f"s{i:02d}": ("real", "train", 3) for i in range(20)},
                              "t0": ("real", "test", 3), "t1": ("real", "test", 2)})
    rows = select_rows(cfg(m, val_fraction=0.2))
    train_rows = rows.train["all"]
    assert rows.val_source == "val-fraction" and rows.val_domain == "all"
    assert len(groups_of(rows.val)) == rows.val_groups == 4 and len(rows.val) == 12
    assert groups_of(rows.val).isdisjoint(groups_of(train_rows))
    assert groups_of(rows.val) | groups_of(train_rows) == {f"s{i:02d}" for i in range(20)}  # no test group anywhere
    assert len(train_rows) == 48
    # The same seed and fraction choose the same rows; another seed other ones.
    assert select_rows(cfg(m, val_fraction=0.2)).val["pair_id"].tolist() == rows.val["pair_id"].tolist()
    assert groups_of(select_rows(cfg(m, val_fraction=0.2, seed=5)).val) != groups_of(rows.val)
    # --val-max limits the validation images, not what is kept out of training.
    few = select_rows(cfg(m, val_fraction=0.2, val_max=5))
    assert len(few.val) == 5 and len(few.train["all"]) == 48


def test_split_val_rows_are_preferred_and_never_trained_on(tmp_path):
    m = write_rows(tmp_path, {**{f"s{i}": ("real", "train", 2) for i in range(6)},
                              "v0": ("real", "val", 2), "v1": ("rendered", "val", 1), "t0": ("real", "test", 4)})
    rows = select_rows(cfg(m, val_fraction=0.5))
    assert rows.val_source == "split=val" and groups_of(rows.val) == {"v0", "v1"}
    assert groups_of(rows.train["all"]) == {f"s{i}" for i in range(6)}  # nothing carved
    # --filter applies first: once it drops the val rows, the fraction carves from the train rows.
    rows = select_rows(cfg(m, val_fraction=0.5, filter="domain=real,split!=val"))
    assert rows.val_source == "val-fraction" and groups_of(rows.val) <= {f"s{i}" for i in range(6)}


def test_at_least_one_group_and_never_all(tmp_path):
    m = write_rows(tmp_path, {"a": ("real", "train", 2), "b": ("real", "train", 2)})
    rows = select_rows(cfg(m, val_fraction=0.05))  # round(0.05 * 2) = 0 groups, raised to 1
    assert rows.val_groups == 1 and len(rows.train["all"]) == 2
    assert select_rows(cfg(m, val_fraction=0.9)).val_groups == 1  # one group always trains
    none = select_rows(cfg(m, val_fraction=0.0))
    assert none.val_source == "none" and len(none.val) == 0 and len(none.train["all"]) == 4 and none.note is None


def test_a_single_group_cannot_be_split(tmp_path):
    m = write_rows(tmp_path, {"a": ("real", "train", 4), "t": ("real", "test", 2)})
    rows = select_rows(cfg(m))
    assert rows.val_source == "none" and len(rows.train["all"]) == 4
    assert "single group" in rows.note and "best.pt is the final weights" in rows.note


def test_too_few_rows_left_names_the_option(tmp_path):
    m = write_rows(tmp_path, {"a": ("real", "train", 1), "b": ("real", "train", 1)})
    with pytest.raises(RdhError, match=r"only 1 split=train row\(s\) for all once --val-fraction 0.05 set aside 1"):
        select_rows(cfg(m))


def test_charmnet_validates_on_real_groups_else_rendered(tmp_path):
    rendered = {f"r{i}": ("rendered", "train", 2) for i in range(4)}
    m = write_rows(tmp_path, {**rendered, **{f"p{i}": ("real", "train", 2) for i in range(4)}})
    rows = select_rows(cfg(m, "charmnet", val_fraction=0.25))
    assert rows.val_domain == "real" and groups_of(rows.val) < {f"p{i}" for i in range(4)}
    assert len(rows.train["rendered"]) == 8 and len(rows.train["real"]) == 6
    # A single real photo cannot be split: the rendered scenes give the validation rows.
    m = write_rows(tmp_path, {**rendered, "p0": ("real", "train", 3)})
    rows = select_rows(cfg(m, "charmnet", val_fraction=0.25))
    assert rows.val_domain == "rendered" and rows.val_groups == 1 and len(rows.train["real"]) == 3
    # split=val rows of the rendered domain only still beat carving.
    m = write_rows(tmp_path, {**rendered, "p0": ("real", "train", 3), "p1": ("real", "train", 3),
                              "v": ("rendered", "val", 2)})
    rows = select_rows(cfg(m, "charmnet"))
    assert (rows.val_source, rows.val_domain, groups_of(rows.val)) == ("split=val", "rendered", {"v"})


def test_a_resumed_run_validates_on_the_same_rows(tmp_path):
    m = make_real(tmp_path / "data", n_photos=8)
    first = TrainConfig(model="idih", manifest=m, out=tmp_path / "run", max_steps=2, val_every=2, val_fraction=0.3,
                        seed=3, **TINY)
    train(first)
    resumed = TrainConfig(model="idih", manifest=m, out=tmp_path / "run", max_steps=3, val_every=2, resume=True, **TINY)
    train(resumed)
    events = [r for r in map(json.loads, (tmp_path / "run" / "log.jsonl").read_text().splitlines())
              if r["kind"] == "event" and r["event"] in ("start", "resume")]
    assert [e["event"] for e in events] == ["start", "resume"]
    assert events[0]["val_rows"] == events[1]["val_rows"] == 2 and events[1]["val_source"] == "val-fraction"
    assert events[0]["train_rows"] == events[1]["train_rows"] == {"all": 6}
    # The seed and fraction come from the run, not from the resuming command's defaults.
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["config"]
    again, changed = config_from_saved(resumed, saved)
    assert {"seed", "val_fraction"} <= set(changed)
    assert select_rows(again).val["pair_id"].tolist() == select_rows(first).val["pair_id"].tolist()
    # A run saved before --val-fraction existed trained on every train row, and so does its resume.
    legacy = {k: v for k, v in saved.items() if k != "val_fraction"}
    assert config_from_saved(resumed, legacy)[0].val_fraction == 0.0


def test_charmnet_refuses_rendered_rows_in_two_style_tables(tmp_path):
    m = write_rows(tmp_path, {"s1": ("rendered", "train", 2), "s2": ("rendered", "train", 2), "p1": ("real", "train", 2),
                              "p2": ("real", "train", 2)})
    df = pd.read_parquet(m)
    df.loc[df["group_id"] == "s2", "source"] = "RdHarmony"   # release pairs, as an older manifest would hold them
    write_manifest(df, m)
    cfg = TrainConfig(model="charmnet", manifest=m, out=tmp_path / "run", max_steps=1, **TINY)
    with pytest.raises(RdhError, match="two tables .2 pairs in the RdHarmony table, 2 pairs in the rdh table"):
        select_rows(cfg)
    # iDIH does not read the labels
    assert len(select_rows(TrainConfig(model="idih", manifest=m, out=tmp_path / "r2", max_steps=1, **TINY)).train["all"]) >= 6
    df["style_table"] = np.where(df["domain"] == "rendered", "rdh", None)   # mapped onto rdh's table
    write_manifest(df, m)
    assert len(select_rows(cfg).train["rendered"]) == 4
