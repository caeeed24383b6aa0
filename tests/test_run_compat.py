"""Runs saved by earlier rdh versions still load and resume."""
from __future__ import annotations

import torch

from harmonize.checkpoint import save_checkpoint
from harmonize.train import TrainConfig, train
from tests.train_support import make_rendered

TINY = dict(image_size=64, depth=5, width=8, batch_size=2, workers=0, val_fraction=0.0)


def test_a_checkpoint_with_the_old_disabled_grad_scaler_resumes(tmp_path):
    manifest = make_rendered(tmp_path, n_scenes=1, styles=(2, 5))
    run = tmp_path / "run"
    first = train(TrainConfig(model="idih", manifest=manifest, out=run, max_steps=1, **TINY))
    ckpt = torch.load(first.last_path, weights_only=True)
    assert "scaler" not in ckpt
    ckpt["scaler"] = torch.amp.GradScaler("cuda", enabled=False).state_dict()  # what every checkpoint held before
    save_checkpoint(ckpt, first.last_path)
    resumed = train(TrainConfig(model="idih", manifest=manifest, out=run, max_steps=2, resume=True, **TINY))
    assert resumed.steps == 2 and torch.load(resumed.last_path, weights_only=True)["step"] == 2
