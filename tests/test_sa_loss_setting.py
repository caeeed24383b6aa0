"""`--sa-loss official|fixed-input`: the option, its check, how it reaches the step, and how runs
saved before it (with `sa_fixed_input`) resume."""
from __future__ import annotations

import re

import pytest
import torch

from harmonize.train import TrainConfig, build_step
from harmonize.train_config import check_config, config_from_saved
from rdhcore.errors import RdhError

SMALL = dict(image_size=32, depth=4, width=8, unshared=2, batch_size=2)


def test_train_help_shows_sa_loss_with_official_as_the_default(rdh_main):
    code, out, _ = rdh_main("train", "--help")
    text = re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", out))
    assert code == 0 and "--sa-loss" in text
    # the default shown is this option's own: no other "[default" between the name and it
    assert re.search(r"--sa-loss <str> [^\[]*official[^\[]*fixed-input[^\[]*\[default: official\]", text), text


def test_the_setting_reaches_the_charmnet_step_and_bad_values_name_the_option():
    assert TrainConfig(model="charmnet", manifest="m", out="o").sa_loss == "official"
    for value in ("official", "fixed-input"):
        step = build_step(TrainConfig(model="charmnet", manifest="m", out="o", sa_loss=value, **SMALL), torch.device("cpu"))
        assert step.settings.sa_loss == value
    with pytest.raises(RdhError, match="--sa-loss 'detached'"):
        check_config(TrainConfig(model="charmnet", manifest="m", out="o", max_steps=1, sa_loss="detached", **SMALL))


@pytest.mark.parametrize("saved, expected", [
    ({"sa_fixed_input": True}, "fixed-input"),     # the old default: P_in detached, per-image hinge
    ({"sa_fixed_input": False}, "official"),       # old --sa-input-grad: the gradient reached P_in
    ({"sa_loss": "fixed-input"}, "fixed-input"),
    ({"sa_loss": "official", "sa_fixed_input": True}, "official"),
])
def test_old_checkpoints_resume_with_the_loss_they_trained_with(saved, expected):
    cfg = TrainConfig(model="charmnet", manifest="m", out="o", resume=True)
    resumed, changed = config_from_saved(cfg, {"model": "charmnet", **saved})
    assert resumed.sa_loss == expected
    assert ("sa_loss" in changed) == (expected != "official")
    assert not hasattr(resumed, "sa_fixed_input")
