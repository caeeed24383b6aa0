"""A few CharmNet steps on a GPU with every speed option: bf16 autocast, channels-last, torch.compile."""
from __future__ import annotations

import json

import pytest
import torch

from tests.train_support import make_real, make_rendered, merged_manifest

pytestmark = [pytest.mark.gpu, pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch sees none)")]


def test_charmnet_trains_with_amp_channels_last_and_compile(tmp_path, rdh_main):
    rd = make_rendered(tmp_path, n_scenes=2, styles=(2, 5, 10))
    rl = make_real(tmp_path, n_photos=4)
    manifest = merged_manifest(tmp_path / "all.parquet", rd, rl)
    run = tmp_path / "run"
    code, out, err = rdh_main("train", "--model", "charmnet", "--manifest", manifest, "--out", run, "--max-steps", 4,
                              "--val-every", 2, "--log-every", 1, "--batch-size", 2, "--image-size", 64, "--depth", 5,
                              "--width", 8, "--unshared", 3, "--workers", 0, "--device", "cuda",
                              "--amp", "--channels-last", "--compile")
    assert code == 0, err
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    train = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train] == [1, 2, 3, 4]
    assert all(0 < r["loss_G"] < 1e4 for r in train)            # finite under bf16
    start = next(r for r in records if r.get("event") == "start")
    assert start["device"].startswith("cuda")
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["step"] == 4 and ckpt["config"]["amp"] and ckpt["config"]["compile"]
    assert all(v.dtype == torch.float32 for v in ckpt["generator"].values() if v.is_floating_point())
