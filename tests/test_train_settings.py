"""Training settings: the learning-rate schedule, the identity blending start, their CLI options and
checks, and the learning curves read from log.jsonl."""
from __future__ import annotations

import json
import math

import cv2
import pytest
import torch

from harmonize.blocks import BlendingHead
from harmonize.curves import plot_runs, read_curves
from harmonize.train import TrainConfig, build_step
from harmonize.train_config import check_config, lr_factor
from rdhcore.errors import RdhError
from tests.train_support import make_real

SMALL = dict(image_size=32, depth=4, width=8, unshared=2, batch_size=2)


def test_lr_factor_warms_up_linearly_then_decays_to_zero():
    cosine = TrainConfig(model="idih", manifest="m", out="o", schedule="cosine", warmup_steps=4)
    factors = [lr_factor(cosine, s, 10) for s in range(1, 11)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[6] == pytest.approx(0.5)            # step 7: halfway through the decay
    assert factors[-1] == pytest.approx(0.0, abs=1e-12)  # the last step
    assert all(a > b for a, b in zip(factors[3:], factors[4:]))
    no_warmup = TrainConfig(model="idih", manifest="m", out="o", schedule="cosine")
    assert lr_factor(no_warmup, 1, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi / 100)))
    constant = TrainConfig(model="idih", manifest="m", out="o")
    assert {lr_factor(constant, s, 10) for s in range(1, 11)} == {1.0}


@pytest.mark.parametrize("model", ["idih", "charmnet"])
def test_identity_blend_init_starts_at_the_input(model):
    torch.manual_seed(0)
    step = build_step(TrainConfig(model=model, manifest="m", out="o", blend_init="identity", **SMALL), torch.device("cpu"))
    gen = step.generator.eval()
    heads = [m for m in gen.modules() if isinstance(m, BlendingHead)]
    assert len(heads) == (1 if model == "idih" else 2)
    seen = {}
    for head in heads:
        head.to_rgb.register_forward_hook(lambda mod, args, out: seen.__setitem__("to_rgb", out))
    image, mask = torch.randn(2, 3, 32, 32), (torch.rand(2, 1, 32, 32) > 0.5).float()
    with torch.no_grad():
        for domain in (["real"] if model == "idih" else ["rendered", "real"]):
            out = gen(image, mask) if model == "idih" else gen(image, mask, domain)
            alpha = out.attention if model == "idih" else out[-1]
            torch.testing.assert_close(alpha, torch.full_like(alpha, 0.95))
            torch.testing.assert_close(out.image, 0.95 * image + 0.05 * seen["to_rgb"])
    # The published start is random: its blending map is spread around 0.5.
    official = build_step(TrainConfig(model="idih", manifest="m", out="o", **SMALL), torch.device("cpu"))
    with torch.no_grad():
        alpha = official.generator.eval()(image, mask).attention
    assert alpha.std() > 0.01 and abs(alpha.mean() - 0.95) > 0.1


@pytest.mark.parametrize("change, option", [
    (dict(schedule="linear"), "--schedule 'linear'"), (dict(warmup_steps=-1), "--warmup-steps"),
    (dict(warmup_steps=5), "--warmup-steps 5 needs --schedule cosine"), (dict(blend_init="zero"), "--blend-init 'zero'"),
    (dict(val_fraction=1.0), "--val-fraction 1.0"), (dict(val_fraction=-0.1), "--val-fraction -0.1"),
])
def test_bad_settings_name_the_option(change, option):
    with pytest.raises(RdhError, match=option):
        check_config(TrainConfig(model="idih", manifest="m", out="o", max_steps=1, **{**SMALL, **change}))


def test_cli_options_reach_the_run(tmp_path, rdh_main):
    m = make_real(tmp_path / "data", n_photos=6, size=32)
    run = tmp_path / "run"
    code, out, err = rdh_main("train", "--model", "idih", "--manifest", m, "--out", run, "--max-steps", "6",
                         "--image-size", "32", "--depth", "4", "--width", "8", "--batch-size", "2", "--workers", "0",
                         "--lr", "0.01", "--schedule", "cosine", "--warmup-steps", "2", "--blend-init", "identity",
                         "--val-fraction", "0.34", "--val-every", "3", "--log-every", "1")
    assert code == 0, err
    assert "curves:" in out and f"{run / 'curves.png'}" in out.replace("\n", "")  # rich wraps long paths
    config = torch.load(run / "last.pt", weights_only=True)["config"]
    assert (config["schedule"], config["warmup_steps"], config["blend_init"], config["val_fraction"]) == \
        ("cosine", 2, "identity", 0.34)
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in records if r["kind"] == "train"]
    assert lrs == pytest.approx([0.005, 0.01] + [0.01 * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in (1, 2, 3, 4)])
    start = records[0]
    assert start["val_source"] == "val-fraction" and start["val_rows"] == 2 and start["train_rows"] == {"all": 4}
    for args, option in ((["--schedule", "step"], "--schedule 'step'"), (["--val-fraction", "2"], "--val-fraction 2.0")):
        code, _, err = rdh_main("train", "--model", "idih", "--manifest", m, "--out", tmp_path / "bad", "--max-steps", "1", *args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and len(lines) == 1 and option in lines[0], err
    assert not (tmp_path / "bad").exists()


def write_log(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"kind": "tra')  # a line cut by a crash


def test_curves_read_the_log_and_plot_one_panel_per_run(tmp_path):
    idih = tmp_path / "idih" / "log.jsonl"
    write_log(idih, [{"kind": "event", "event": "start", "step": 0},
                     {"kind": "train", "step": 10, "fmse": 900.0, "rec": 1.0},
                     {"kind": "train", "step": 20, "fmse": float("nan")},  # no foreground in the interval
                     {"kind": "train", "step": 30, "fmse": 300.0},
                     {"kind": "val", "step": 30, "fmse": 400.0, "composite_fmse": 1000.0},
                     {"kind": "train", "step": 40, "fmse": 200.0},
                     {"kind": "val", "step": 40, "fmse": 350.0, "composite_fmse": 1000.0}])
    charm = tmp_path / "charm" / "log.jsonl"
    write_log(charm, [{"kind": "train", "step": 5, "fmse_rd": 50.0, "fmse_rl": 700.0},
                      {"kind": "val", "step": 5, "fmse": 650.0, "composite_fmse": 800.0}])
    c = read_curves(idih)
    assert (c.train_steps, c.train_fmse) == ([10, 30, 40], [900.0, 300.0, 200.0])
    assert (c.val_steps, c.val_fmse, c.composite_reference) == ([30, 40], [400.0, 350.0], 1000.0)
    assert read_curves(tmp_path / "charm").train_fmse == [700.0]  # CharmNet: the real batch
    one = plot_runs({"idih": tmp_path / "idih"}, tmp_path / "one.png")
    two = plot_runs({"idih": idih, "charmnet": tmp_path / "charm"}, tmp_path / "two.png", title="two runs")
    a, b = cv2.imread(str(one)), cv2.imread(str(two))
    assert a is not None and b is not None and b.shape[1] > 1.6 * a.shape[1]  # panels side by side
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["one.png", "two.png"]
    assert not list(tmp_path.glob(".*"))  # written atomically: no temporary file is left
    with pytest.raises(RdhError, match="no training log"):
        read_curves(tmp_path / "nowhere")
