"""`rdh train` end to end on small two-domain datasets (64x64, batch 2, CPU)."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from harmonize import losses
from harmonize.inference import load_harmonizer
from harmonize.data import PairDataset, load_rows
from harmonize.train import TrainConfig, train
from rdhcore.errors import RdhError
from tests.cli import error_line, rdh_process
from tests.train_support import make_real, make_rendered, merged_manifest

TINY = dict(image_size=64, depth=5, width=8, unshared=3, batch_size=2, workers=0)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """6 rendered + 4 real train pairs, 2 real val pairs, 6 rendered test pairs, 64x64."""
    root = tmp_path_factory.mktemp("pairs")
    rd = make_rendered(root, n_scenes=2, styles=(2, 5, 10), test_fraction=0.5)
    rl = make_real(root, n_photos=6, test_fraction=0.34)
    real_test = lambda df: (df["domain"] == "real") & (df["split"] == "test")
    return merged_manifest(root / "all.parquet", rd, rl, extra={"split": lambda df: df["split"].mask(real_test(df), "val")})


def records(log, kind):
    return [r for r in map(json.loads, open(log).read().splitlines()) if r["kind"] == kind]


def fmse(a, b, mask):
    se = ((a - b) * 255) ** 2
    return float((se * mask).sum() / (3 * mask.sum()))


def test_idih_overfits_four_pairs(tmp_path):
    m = make_real(tmp_path / "data", n_photos=4)
    res = train(TrainConfig(model="idih", manifest=m, out=tmp_path / "run", max_steps=150, lr=2e-3,
                            val_every=150, log_every=25, val_fraction=0.0, **{**TINY, "width": 16}))
    h = load_harmonizer(res.best_path)
    ds = PairDataset(load_rows(m), 64)
    got, before = [], []
    for i in range(len(ds)):
        item = ds[i]
        comp, target = item["composite"][None] / 255.0, item["target"][None] / 255.0
        mask = item["mask"][None].float()
        got.append(fmse(h(comp, mask), target, mask))
        before.append(fmse(comp, target, mask))
    assert len(got) == 4
    assert np.mean(got) < 0.25 * np.mean(before), (got, before)
    rec = [r["rec"] for r in records(res.log_path, "train")]
    assert len(rec) == 6 and rec[-1] < rec[0] / 3
    # No validation rows: best.pt is the final weights; the sample grid shows training images.
    assert res.best.get("step") == 150
    grid = res.samples[-1]
    assert cv2.imread(str(grid)).shape == (2 * 64, 3 * 64, 3)


def state(ckpt):
    return {f"{k}.{n}": t for k in ("generator", "discriminator", "style_in", "style_out") for n, t in ckpt[k].items()}


def test_ten_steps_equal_five_plus_resume_plus_five(manifest, tmp_path):
    # one thread each: the default follows the machine's load, and the bits follow the thread count
    common = dict(model="charmnet", manifest=manifest, val_every=4, log_every=1, threads=1, **TINY)
    a = train(TrainConfig(out=tmp_path / "a", max_steps=10, **{**common, "workers": 2}))
    train(TrainConfig(out=tmp_path / "b", max_steps=5, **common))
    b = train(TrainConfig(out=tmp_path / "b", max_steps=10, resume=True, **common))
    assert [r["cpu_threads"] for r in records(b.log_path, "event") if r["event"] in ("start", "resume")] == [1, 1]
    ca = torch.load(a.last_path, weights_only=True)
    cb = torch.load(b.last_path, weights_only=True)
    sa, sb = state(ca), state(cb)
    assert sa.keys() == sb.keys() and len(sa) > 100
    assert [k for k in sa if not torch.equal(sa[k], sb[k])] == []
    for name in ("G", "D"):
        oa, ob = ca["optimizers"][name]["state"], cb["optimizers"][name]["state"]
        assert all(torch.equal(oa[i]["exp_avg_sq"], ob[i]["exp_avg_sq"]) for i in oa)
    assert ca["step"] == cb["step"] == 10 and ca["streams"] == cb["streams"]
    # The real stream (4 rows) restarts twice as often as the rendered one (6 rows, 3 batches).
    assert ca["streams"]["real"]["epoch"] == 4 and ca["streams"]["rendered"]["epoch"] == 3
    steps = [r["step"] for r in records(b.log_path, "train")]
    assert steps == list(range(1, 11))
    events = [r["event"] for r in records(b.log_path, "event")]
    assert events == ["start", "end", "resume", "end"]
    # Every loss term is logged; validations at 4, 8 and the end.
    assert {"rec_rd", "rec_rl", "adv", "sty_in_rd", "sty_out_rd", "w_rl", "er_rl", "loss_D", "loss_G"} <= set(records(b.log_path, "train")[0])
    # ... with the batches' fMSE (0-255) of the outputs and of the composites, per domain.
    first = records(b.log_path, "train")[0]
    assert {"fmse_rd", "fmse_rl", "composite_fmse_rd", "composite_fmse_rl"} <= set(first)
    assert 0 < first["fmse_rl"] < 255 ** 2 and 0 < first["composite_fmse_rl"] < 255 ** 2
    # Validation reads the split=val rows; the split=test rows are never read.
    assert all(e["val_source"] == "split=val" for e in records(b.log_path, "event") if e["event"] in ("start", "resume"))
    assert cv2.imread(str(b.log_path.parent / "curves.png")) is not None
    assert [r["step"] for r in records(b.log_path, "val")] == [4, 5, 8, 10]
    assert all(r["domain"] == "real" and r["images"] == 2 for r in records(b.log_path, "val"))
    # The checkpoint holds everything a resume needs, loadable with weights_only.
    assert {"optimizers", "step", "rng", "config", "streams", "best"} <= set(cb)
    assert cb["config"]["model"] == "charmnet" and cb["best"]["metric"] == "fmse"


def test_two_process_gloo_ddp(manifest, tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "rdh.cli", "train", "--model", "charmnet", "--manifest", str(manifest), "--out", str(run),
           "--max-steps", "4", "--batch-size", "2", "--image-size", "64", "--depth", "5", "--width", "8",
           "--unshared", "3", "--workers", "0", "--device", "cpu", "--val-every", "2", "--log-every", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = run / "log.jsonl"
    starts = records(log, "event")
    assert [e["event"] for e in starts] == ["start", "end"] and starts[0]["world_size"] == 2  # rank 0 writes alone
    assert [r["step"] for r in records(log, "train")] == [1, 2, 3, 4]
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["step"] == 4 and ckpt["world_size"] == 2
    assert ckpt["streams"]["real"]["world_size"] == 2
    assert all(torch.isfinite(t).all() for t in ckpt["generator"].values() if t.is_floating_point())
    assert "module." not in next(iter(ckpt["generator"]))  # saved unwrapped: loads without DDP
    assert load_harmonizer(run / "best.pt").model_name == "charmnet"


def test_two_stage_training_starts_from_the_first_stage(manifest, tmp_path):
    first = train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "rd", max_steps=3, filter="domain=rendered",
                              val_every=3, **TINY))
    start = records(first.log_path, "event")[0]
    assert start["train_rows"] == {"all": 6} and start["val_domain"] == "all"
    second = train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "rl", max_steps=1, lr=1e-12,
                               filter="domain=real", init_from=first.last_path, val_every=3, **TINY))
    assert records(second.log_path, "event")[0]["train_rows"] == {"all": 4}
    w1 = torch.load(first.last_path, weights_only=True)["generator"]
    w2 = torch.load(second.last_path, weights_only=True)["generator"]
    convs = [k for k in w1 if k.endswith("weight") and w1[k].dim() == 4]
    assert all(torch.allclose(w1[k], w2[k], atol=1e-9) for k in convs)
    with pytest.raises(RdhError, match="holds a idih model, not charmnet"):
        train(TrainConfig(model="charmnet", manifest=manifest, out=tmp_path / "x", max_steps=1,
                          init_from=first.last_path, **TINY))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(manifest, tmp_path, monkeypatch):
    real_loss = losses.reconstruction_loss
    calls = {"n": 0}

    def poisoned(pred, target, mask, kind="fmse", min_area=100.0):
        calls["n"] += 1
        value = real_loss(pred, target, mask, kind, min_area)
        return value * float("nan") if calls["n"] > 6 else value  # 2 calls a step: NaN from step 4

    monkeypatch.setattr(losses, "reconstruction_loss", poisoned)
    run = tmp_path / "run"
    with pytest.raises(RdhError, match=r"NaN or infinite by step 4 .*step 2\) is kept"):
        train(TrainConfig(model="charmnet", manifest=manifest, out=run, max_steps=10, val_every=2, log_every=1, **TINY))
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["step"] == 2
    assert all(torch.isfinite(t).all() for t in ckpt["generator"].values() if t.is_floating_point())
    assert records(run / "log.jsonl", "event")[-2]["event"] == "nan"


SMALL = ["--image-size", "64", "--depth", "5", "--width", "8", "--unshared", "3", "--workers", "0"]
SMALL_IDIH = [a for a in SMALL if a not in ("--unshared", "3")]  # --unshared is refused with --model idih


def test_bad_input_stops_with_one_line(manifest, tmp_path):
    # A manifest without rows of a needed domain (here after --filter).
    line = error_line(rdh_process("train", "--model", "charmnet", "--manifest", manifest, "--out", tmp_path / "r1",
                          "--max-steps", "1", "--filter", "domain=rendered", *SMALL))
    assert "no domain=real rows" in line and "--filter domain=rendered" in line
    # A missing image: named, nothing written.
    m = make_real(tmp_path / "data", n_photos=4)
    victim = sorted((tmp_path / "data" / "real" / "composite_images").iterdir())[1]
    victim.unlink()
    line = error_line(rdh_process("train", "--model", "idih", "--manifest", m, "--out", tmp_path / "r2", "--max-steps", "1",
                          *SMALL_IDIH))
    assert victim.name in line and "not found" in line
    assert not (tmp_path / "r2" / "last.pt").exists()
    # An unreadable image, met by a loader worker: the worker's message, on one line.
    victim.write_bytes(b"not a png")
    line = error_line(rdh_process("train", "--model", "idih", "--manifest", m, "--out", tmp_path / "r2", "--max-steps", "2",
                          *SMALL_IDIH, "--workers", "1"))
    assert f"{victim.name}: cannot read the composite" in line and "Traceback" not in line
    assert not (tmp_path / "r2" / "last.pt").exists()
    # A checkpoint of another kind of file.
    (tmp_path / "junk.pt").write_bytes(b"junk")
    line = error_line(rdh_process("train", "--model", "idih", "--manifest", manifest, "--out", tmp_path / "r3",
                          "--max-steps", "1", *SMALL_IDIH, "--init-from", tmp_path / "junk.pt"))
    assert "junk.pt: not a torch checkpoint" in line


def test_run_folder_rules_and_settings_checks(manifest, tmp_path):
    with pytest.raises(RdhError, match="nothing to resume"):
        train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "empty", max_steps=1, resume=True, **TINY))
    done = train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "run", max_steps=1, **TINY))
    start = next(r for r in records(done.log_path, "event") if r["event"] == "start")
    assert 1 <= start["cpu_threads"] <= (os.cpu_count() or 1)           # the cores free at the start
    with pytest.raises(RdhError, match="already holds a run"):
        train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "run", max_steps=1, **TINY))
    with pytest.raises(RdhError, match="holds a idih model, not charmnet"):
        train(TrainConfig(model="charmnet", manifest=manifest, out=done.last_path.parent, max_steps=2, resume=True, **TINY))
    with pytest.raises(RdhError, match="--image-size"):
        train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "x", max_steps=1, **{**TINY, "image_size": 40}))
    with pytest.raises(RdhError, match="--epochs N or --max-steps N"):
        train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "x", **TINY))
    with pytest.raises(RdhError, match="--threads 0"):
        train(TrainConfig(model="idih", manifest=manifest, out=tmp_path / "x", max_steps=1, threads=0, **TINY))
