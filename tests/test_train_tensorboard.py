"""`rdh train --tensorboard`: the event files hold the same numbers as log.jsonl, and the grids."""
from __future__ import annotations

import json

import pytest

from harmonize.train import TrainConfig, train
from tests.train_support import make_real, make_rendered, merged_manifest

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the tensorboard package (rdh[tensorboard]) is not installed")


def test_event_files_hold_the_losses_validation_metrics_and_sample_grids(tmp_path):
    rd = make_rendered(tmp_path, n_scenes=2, styles=(2, 5, 10))
    rl = make_real(tmp_path, n_photos=4, test_fraction=0.5)
    manifest = merged_manifest(tmp_path / "all.parquet", rd, rl,
                               extra={"split": lambda df: df["split"].replace("test", "val")})
    res = train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "run", max_steps=4, val_every=2, log_every=1,
                            image_size=64, depth=5, width=8, batch_size=2, workers=0, tensorboard=True))
    assert res.tensorboard_dir == tmp_path / "run" / "tensorboard"
    events = event_accumulator.EventAccumulator(str(res.tensorboard_dir), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    tags = events.Tags()
    assert {"train/loss_G", "train/rec", "train/fmse", "train/lr", "val/fmse", "val/mse", "val/psnr"} <= set(tags["scalars"])
    assert "train/step" not in tags["scalars"] and "train/epoch" not in tags["scalars"]
    log = [json.loads(line) for line in res.log_path.read_text().splitlines()]
    for kind, tag, key in (("train", "train/loss_G", "loss_G"), ("val", "val/fmse", "fmse")):
        expected = [(r["step"], r[key]) for r in log if r["kind"] == kind]
        got = [(e.step, e.value) for e in events.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in expected]
        assert all(abs(a - b) <= 1e-5 * max(1.0, abs(b)) for (_, a), (_, b) in zip(got, expected))
    assert [s for s, _ in ((e.step, e) for e in events.Scalars("val/fmse"))] == [2, 4]
    grids = events.Images("samples")
    assert [g.step for g in grids] == [2, 4] and grids[0].width == 3 * 64 and grids[0].height > 0


def test_without_the_flag_there_are_no_event_files(tmp_path):
    rd = make_rendered(tmp_path, n_scenes=1, styles=(2, 5))
    res = train(TrainConfig(model="idih", manifest=rd, out=tmp_path / "run", max_steps=1, image_size=64, depth=5,
                            width=8, batch_size=2, workers=0, val_fraction=0.0))
    assert res.tensorboard_dir is None and not (tmp_path / "run" / "tensorboard").exists()
