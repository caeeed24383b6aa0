"""The manifest Dataset: one crop and flip for composite, target and mask; binary masks; labels; filters; streams."""
import numpy as np
import pandas as pd
import pytest
import torch

from rdhcore.imageio import write_image, write_mask
from harmonize.data import (Augment, DomainStream, PairDataset, apply_filter, load_rows, make_train_loader,
                            random_resized_crop)
from rdhcore.errors import RdhError
from manifests.schema import write_manifest


def write_pairs(root, n=4, size=(48, 64)):
    """Pairs whose composite == target, a bright box on a dark ramp, and the box as mask."""
    h, w = size
    rows = []
    for i in range(n):
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([xx * 3 % 256, yy * 5 % 256, (xx + yy + 40 * i) % 128], -1).astype(np.uint8)
        mask = np.zeros((h, w), bool)
        mask[10 + i: 30 + i, 20: 44] = True
        img[mask] = 250
        write_image(root / f"c{i}.png", img)
        write_image(root / f"t{i}.png", img)
        write_mask(root / f"m{i}.png", mask)
        label = np.zeros(10, np.float32)
        label[i] = 1
        rows.append({"pair_id": f"p{i}", "domain": "rendered" if i % 2 == 0 else "real", "source": "test",
                     "category": "human" if i < 2 else "cow", "split": "train", "group_id": f"g{i}",
                     "composite_path": f"c{i}.png", "target_path": f"t{i}.png", "mask_path": f"m{i}.png",
                     "width": w, "height": h, "fg_ratio": float(mask.mean()),
                     "fg_style": i + 2 if i % 2 == 0 else None, "bg_style": i + 1 if i % 2 == 0 else None,
                     "composite_label": label if i % 2 == 0 else None,
                     "target_label": label if i % 2 == 0 else None, "novel": i == 3})
    return write_manifest(pd.DataFrame(rows), root / "m.parquet")


def test_augmentation_is_one_crop_and_flip_for_all_three(tmp_path):
    rows = load_rows(write_pairs(tmp_path))
    ds = PairDataset(rows, 32, Augment(), seed=5)
    flips = set()
    for position in range(12):
        item = ds[(position % 4, 0, position)]
        comp, target, mask = item["composite"], item["target"], item["mask"]
        assert comp.shape == (3, 32, 32) and comp.dtype == torch.uint8 and mask.shape == (1, 32, 32)
        assert torch.equal(comp, target)  # composite == target on disk, so one transform for both
        assert set(mask.unique().tolist()) <= {0, 1} and mask.sum() > 0
        # The mask follows the bright box of the image through the same crop and flip.
        bright = (comp.int().min(0).values >= 200)
        agree = (bright == mask[0].bool()).float().mean().item()
        assert agree > 0.93, agree
        flips.add(bool(comp[0, 0, 0] < comp[0, 0, -1]))  # the red ramp grows to the right unless flipped
    assert flips == {True, False}
    # The same (row, epoch, position) gives the same item; another position another crop.
    assert torch.equal(ds[(1, 3, 7)]["composite"], ds[(1, 3, 7)]["composite"])
    assert not torch.equal(ds[(1, 3, 7)]["composite"], ds[(1, 3, 8)]["composite"])


def test_validation_items_are_whole_images_and_labels_follow_the_rows(tmp_path):
    rows = load_rows(write_pairs(tmp_path))
    ds = PairDataset(rows, 32)
    item = ds[0]
    assert item["has_label"] and item["label_in"].tolist() == [1.0] + [0.0] * 9
    assert not ds[1]["has_label"] and ds[1]["label_in"].sum() == 0
    # Whole image resized: the box covers its share of the frame (20x24 of 48x64).
    assert item["mask"].float().mean().item() == pytest.approx(20 * 24 / (48 * 64), abs=0.03)


def test_random_resized_crop_covers_half_to_all_of_the_area():
    rng = np.random.default_rng(0)
    for _ in range(200):
        top, left, h, w = random_resized_crop(rng, 48, 64)
        assert 0 <= top and top + h <= 48 and 0 <= left and left + w <= 64
        assert 0.45 * 48 * 64 <= h * w <= 48 * 64 + 64


def test_filter_chooses_rows(tmp_path):
    m = write_pairs(tmp_path)
    assert list(load_rows(m, "domain=real")["pair_id"]) == ["p1", "p3"]
    assert list(load_rows(m, "domain=real,novel=false")["pair_id"]) == ["p1"]
    assert list(load_rows(m, "category!=human")["pair_id"]) == ["p2", "p3"]
    assert list(load_rows(m, "pair_id=p0|p3")["pair_id"]) == ["p0", "p3"]
    with pytest.raises(RdhError, match="no column 'colour'"):
        apply_filter(load_rows(m), "colour=red")
    with pytest.raises(RdhError, match="COLUMN=VALUE"):
        apply_filter(load_rows(m), "domain")


def test_filter_groups_are_or_ed(tmp_path):
    m = write_pairs(tmp_path)  # p0 rendered, p1 real, p2 rendered, p3 real and novel
    # The dataset-fusion set: every rendered row, plus the real rows that are not novel.
    assert list(load_rows(m, "domain=rendered;domain=real,novel=false")["pair_id"]) == ["p0", "p1", "p2"]
    assert list(load_rows(m, "category=cow ; pair_id=p0")["pair_id"]) == ["p0", "p2", "p3"]
    assert list(load_rows(m, "pair_id=p1;pair_id=p1|p2,domain!=rendered")["pair_id"]) == ["p1"]
    rows = load_rows(m)
    for expr, message in (("domain=real;", "group 2 .*is empty"), (";", "group 1 .*is empty"),
                          ("domain=real;novel", "term 'novel'"), ("domain=real|", "term 'domain=real|'"),
                          ("domain=real;colour=red", "no column 'colour'")):
        with pytest.raises(RdhError, match=message) as err:
            apply_filter(rows, expr)
        assert "\n" not in str(err.value)


def test_missing_or_corrupt_image_names_the_file(tmp_path):
    rows = load_rows(write_pairs(tmp_path))
    (tmp_path / "c2.png").write_bytes(b"broken")
    with pytest.raises(RdhError, match="c2.png: cannot read the composite of pair 'p2'"):
        PairDataset(rows, 32)[2]


def test_domain_streams_restart_independently_and_resume_in_place(tmp_path):
    rows = load_rows(write_pairs(tmp_path, n=4))
    ds = PairDataset(rows, 16, Augment(), seed=1)

    def stream():
        loader, sampler = make_train_loader(ds, 2, 0, 1, 0, seed=3, pin_memory=False)
        return DomainStream(loader, sampler, 2)

    a = stream()
    seen = [a.next()["row"].tolist() for _ in range(5)]
    assert a.batches_per_epoch == 2 and a.state()["epoch"] == 2 and a.state()["batches"] == 1
    assert sorted(sum(seen[:2], [])) == [0, 1, 2, 3]  # an epoch is a permutation of the rows
    b = stream()
    for _ in range(3):
        b.next()
    c = stream()
    c.restore(b.state())
    assert [c.next()["composite"].sum().item() for _ in range(2)] == \
        [b.next()["composite"].sum().item() for _ in range(2)]
