"""Locks, confined ids and paths, umask permissions, checkpoint pairs, ground-truth normalization,
0/1 masks, stale state and temporary files (issue 14), each on small real data."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from datagen.capture_store import read_scene
from datagen.compose import ComposeConfig, make_composites
from manifests.schema import read_manifest, resolve_paths
from rdhcore.atomic import atomic_path, clean_temp, is_temp, write_bytes_atomic
from rdhcore.errors import RdhError
from rdhcore.imageio import read_mask, read_rgb, truncation, write_image
from rdhcore.locks import LOCK_NAME, acquire, output_lock
from rdhcore.names import confined, id_path
from tests.synth import make_store


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------- locks

def test_second_writer_is_refused_naming_folder_and_holder(tmp_path):
    with output_lock(tmp_path / "out", "rdh train"):
        assert (tmp_path / "out" / LOCK_NAME).is_file()
        holder = json.loads((tmp_path / "out" / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(RdhError, match=rf"{tmp_path / 'out'}: in use by `rdh train` \(pid {os.getpid()} on "):
            acquire(tmp_path / "out", "rdh make-composites")
    assert not (tmp_path / "out" / LOCK_NAME).exists()    # released
    acquire(tmp_path / "out").release()                    # and free again


def test_stale_lock_of_a_dead_process_is_taken_over_and_reported(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    pid = dead_pid()
    (out / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "command": "rdh train"}))
    lock = acquire(out, "rdh train")
    err = capsys.readouterr().err
    assert f"rdh: warning: {out}: took over the lock of `rdh train` (pid {pid}" in err
    assert json.loads((out / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()


@pytest.mark.skipif(not hasattr(os, "waitid") or not Path("/proc/self/stat").exists(), reason="needs Linux /proc and waitid")
def test_a_killed_but_unreaped_holder_does_not_keep_a_lock(tmp_path, capsys):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)   # exited, not reaped: a zombie
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": proc.pid, "host": socket.gethostname()}))
    acquire(out).release()
    assert "took over" in capsys.readouterr().err
    proc.wait()


def test_a_reused_pid_does_not_keep_a_lock(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    # our own pid, but recorded with another start time: the process that wrote it is gone
    (out / LOCK_NAME).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started_ticks": "1"}))
    acquire(out).release()
    assert "took over" in capsys.readouterr().err


def test_two_make_composites_into_one_out(tmp_path):
    """The second run is refused while the first holds OUT; output and options stay one run's."""
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    with output_lock(tmp_path / "pairs", "rdh make-composites"):
        with pytest.raises(RdhError, match="in use by `rdh make-composites`"):
            make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs", format="jpg"))
    make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs"))
    assert {p.suffix for p in (tmp_path / "pairs" / "composite_images").iterdir()} == {".png"}


def test_stale_lock_is_taken_over_by_the_cli(tmp_path, rdh_main):
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    out = tmp_path / "pairs"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname(), "command": "rdh make-composites"}))
    code, _, err = rdh_main("make-composites", store, out)
    assert code == 0 and "took over the lock" in err
    assert len(read_manifest(out / "pairs.parquet")) == 2 and not (out / LOCK_NAME).exists()


def test_render_shards_share_a_store_but_not_with_an_unsharded_run(tmp_path):
    from datagen.render import render
    from datagen.render_config import BuiltinOptions, RenderConfig

    opts = dict(out=tmp_path / "store", scenes=2, resolution=16, styles=(2,),
                builtin=BuiltinOptions(spp=1, denoise=False, variant="scalar"))
    with output_lock(tmp_path / "store", "rdh render-scenes", part="shard-1-of-2"):
        assert render(RenderConfig(shard=(0, 2), **opts)).rendered == 1      # another shard: fine
        with pytest.raises(RdhError, match="unsharded render and shards"):
            render(RenderConfig(**opts))
    with output_lock(tmp_path / "store", "rdh render-scenes"):
        with pytest.raises(RdhError, match="unsharded render and shards"):
            render(RenderConfig(shard=(1, 2), **opts))


# ---------------------------------------------------------------- ids and confined paths

@pytest.mark.parametrize("ident, name", [
    ("s0001_0-1_2", "s0001_0-1_2.png"),
    ("pairs_a/s0001_0-1_2", "pairs_a/s0001_0-1_2.png"),          # '/' names a sub-folder (--prefix-pairs)
    ("../../x", "%2E%2E/%2E%2E/x.png"),
    ("csv/../../img/a", "csv/%2E%2E/%2E%2E/img/a.png"),         # a CSV's default id for images beside its folder
    ("/abs/x", "%2F/abs/x.png"),
    ("a//b/", "a/%2F/b/%2F.png"),
    ("./a", "%2E/a.png"),
    ("a\\b", "a%5Cb.png"),
    ("a\nb", "a%0Ab.png"),
    ("100%", "100%25.png"),
    ("%2E%2E", "%252E%252E.png"),                              # encoded-looking ids stay distinct
])
def test_every_id_gets_its_own_file_inside_the_folder(ident, name, tmp_path):
    path = id_path(tmp_path / "out", ident, ".png")
    assert path == tmp_path / "out" / name
    assert os.path.realpath(path).startswith(str(tmp_path / "out") + os.sep)


@pytest.mark.parametrize("bad", ["", None, 7, "x" * 300])
def test_ids_that_cannot_be_a_name_are_refused(bad, tmp_path):
    with pytest.raises(RdhError):
        id_path(tmp_path, bad, ".png")


def test_a_symlink_inside_the_folder_cannot_lead_an_id_out(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "sub").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RdhError, match="leaves its folder"):
        id_path(tmp_path / "out", "sub/x", ".png")


def test_save_outputs_with_escaping_ids_writes_inside_and_reads_back(tmp_path, rdh_main):
    import pyarrow.parquet as pq

    from harmonize.blocks import UNetSpec
    from harmonize.checkpoint import model_payload, save_checkpoint
    from harmonize.idih import IDIH
    from manifests.schema import to_table

    store = make_store(tmp_path / "captures", n_scenes=1, size=(32, 32), styles=[1, 2])
    make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs"))
    path = tmp_path / "pairs" / "pairs.parquet"
    df = read_manifest(path)
    df["split"] = "test"
    df["pair_id"] = ["../../escaped", "/abs/x"] + list(df["pair_id"][2:])
    pq.write_table(to_table(df).replace_schema_metadata(pq.read_schema(path).metadata), path)
    ckpt = save_checkpoint(model_payload(IDIH(UNetSpec(depth=4, width=8)), "idih", 32), tmp_path / "w.pt")
    out = tmp_path / "a" / "b" / "saved"
    code, _, err = rdh_main("evaluate", "--manifest", path, "--checkpoint", ckpt, "--save-outputs", out,
                       "--json", tmp_path / "s1.json")
    assert code == 0, err
    assert (out / "%2E%2E" / "%2E%2E" / "escaped.png").is_file() and (out / "%2F" / "abs" / "x.png").is_file()
    assert not (tmp_path / "a" / "escaped.png").exists() and not list(tmp_path.glob("escaped*"))
    code, _, err = rdh_main("evaluate", "--manifest", path, "--predictions", out, "--json", tmp_path / "s2.json")
    assert code == 0, err
    first, second = (json.loads((tmp_path / f"s{i}.json").read_text())["overall"] for i in (1, 2))
    assert first["count"] == second["count"] == len(df) and first["fmse"] == pytest.approx(second["fmse"])


def test_confined_follows_symlinks(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "secret.png").write_bytes(b"x")
    (tmp_path / "root" / "link.png").symlink_to(tmp_path / "secret.png")
    (tmp_path / "root" / "ok.png").write_bytes(b"x")
    assert confined("ok.png", tmp_path / "root") == tmp_path / "root" / "ok.png"
    with pytest.raises(RdhError, match="leaves its folder"):
        confined("link.png", tmp_path / "root")
    with pytest.raises(RdhError, match="leaves its folder"):
        confined("../secret.png", tmp_path / "root")
    assert confined("../secret.png", tmp_path / "root", allow_outside=True).exists()


def test_save_outputs_with_nested_ids_stays_inside(tmp_path):
    from harmonize.evaluate import prediction_path

    assert prediction_path(tmp_path, "a/b") == tmp_path / "a" / "b.png"
    assert prediction_path(tmp_path, "../b") == tmp_path / "%2E%2E" / "b.png"
    with pytest.raises(RdhError, match="pair_id is empty"):
        prediction_path(tmp_path, "")


# ---------------------------------------------------------------- umask

@pytest.mark.parametrize("mask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750), (0o002, 0o664, 0o775)])
def test_outputs_follow_the_umask(tmp_path, mask, file_mode, dir_mode):
    from harmonize.checkpoint import save_checkpoint

    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    old = os.umask(mask)
    try:
        make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs", format="jpg"))
        save_checkpoint({"x": torch.zeros(2)}, tmp_path / "run" / "last.pt")
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "pairs").rglob("*") if p.is_file()] + [tmp_path / "run" / "last.pt"]
    dirs = [p for p in (tmp_path / "pairs").rglob("*") if p.is_dir()] + [tmp_path / "pairs"]
    assert len(files) > 5 and len(dirs) >= 4
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(file_mode)}
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in dirs} == {oct(dir_mode)}


def test_render_store_follows_the_umask(tmp_path):
    from datagen.capture_store import write_scene

    old = os.umask(0o022)
    try:
        meta = {"scene_id": "x1", "engine": "t", "seed": 0, "camera": {}, "source": {},
                "styles": [{"id": 1, "weather": "Clear", "time": "06:00"}], "foregrounds": [{"id": 0, "category": "cow"}]}
        write_scene(tmp_path, meta, {1: np.zeros((8, 8, 3), np.uint8)}, {0: np.ones((8, 8), bool)})
    finally:
        os.umask(old)
    scene = tmp_path / "scenes" / "x1"
    assert stat.S_IMODE(scene.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in scene.iterdir()} == {0o644}


# ---------------------------------------------------------------- temporary files

def test_temporaries_have_one_pattern_and_are_cleaned(tmp_path):
    seen = []
    with atomic_path(tmp_path / "a.png") as tmp:
        seen.append(tmp.name)
        tmp.write_bytes(b"x")
    assert is_temp(seen[0]) and seen[0].startswith(".a.png.rdh-tmp-")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".b.png.rdh-tmp-k2j3.png").write_bytes(b"left by a kill")
    (tmp_path / ".c.rdh-tmp-dir").mkdir()
    assert clean_temp(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.png", "sub"]


def test_make_composites_rerun_cleans_a_killed_runs_temporaries(tmp_path):
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    out = tmp_path / "pairs"
    make_composites(ComposeConfig(captures=store, out=out))
    left = out / "composite_images" / ".s0000_0-1_2.png.rdh-tmp-abc123.png"
    left.write_bytes(b"half")
    make_composites(ComposeConfig(captures=store, out=out))
    assert not left.exists()


def test_harmonize_folder_never_takes_a_temporary_or_a_fifo_as_input(tmp_path):
    from harmonize.inference import input_images

    for name in ("a.png", ".a.png.rdh-tmp-x1.png", ".hidden.png", "b.jpg"):
        (tmp_path / name).write_bytes(b"x")
    os.mkfifo(tmp_path / "pipe.png")
    assert [p.name for p in input_images(tmp_path)] == ["a.png", "b.jpg"]


# ---------------------------------------------------------------- images: regular files, truncation, 0/1 masks

def test_truncated_png_and_jpeg_are_detected(tmp_path):
    img = np.random.default_rng(0).integers(0, 255, (40, 50, 3), np.uint8)
    for ext in ("png", "jpg"):
        write_image(tmp_path / f"a.{ext}", img)
        data = (tmp_path / f"a.{ext}").read_bytes()
        assert truncation(data) is None
        assert truncation(data[:len(data) // 2]) is not None
        (tmp_path / f"t.{ext}").write_bytes(data[:len(data) // 2])
        with pytest.raises(RdhError, match="truncated"):
            read_rgb(tmp_path / f"t.{ext}")


def test_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "x.png")
    with pytest.raises(RdhError, match="not a regular file"):
        read_rgb(tmp_path / "x.png")


def test_mask_stored_as_zero_one_is_binary_not_empty(tmp_path):
    from harmonize.data import read_mask_file
    from manifests.checks import read_mask_stats

    m = np.zeros((10, 20), np.uint8)
    m[2:6, 3:9] = 1
    assert cv2.imwrite(str(tmp_path / "m.png"), m)
    assert read_mask(tmp_path / "m.png").sum() == 24
    assert read_mask_file(str(tmp_path / "m.png"), "p").sum() == 24
    assert read_mask_stats(str(tmp_path / "m.png")).fg_ratio == pytest.approx(24 / 200)


def test_zero_one_masks_in_a_capture_store_give_the_same_pairs(tmp_path):
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    make_composites(ComposeConfig(captures=store, out=tmp_path / "a"))
    mask = store / "scenes" / "s0000" / "fg_0.png"
    cv2.imwrite(str(mask), (cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8))
    make_composites(ComposeConfig(captures=store, out=tmp_path / "b"))
    a, b = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    assert (b["fg_ratio"] > 0).all() and np.allclose(a["fg_ratio"], b["fg_ratio"])
    for name in a["composite_path"]:
        assert np.array_equal(read_rgb(tmp_path / "a" / name), read_rgb(tmp_path / "b" / name))


def test_evaluate_scores_zero_one_masks_as_foreground(tmp_path):
    from harmonize.evaluate import EvalConfig, evaluate

    store = make_store(tmp_path / "captures", n_scenes=2, size=(16, 20), styles=[1, 2])
    make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs", test_fraction=0.5, seed=1))
    manifest = tmp_path / "pairs" / "pairs.parquet"
    for mask in (tmp_path / "pairs" / "masks").iterdir():
        cv2.imwrite(str(mask), (cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8))
    preds = tmp_path / "preds"
    df = resolve_paths(read_manifest(manifest), manifest)
    for row in df[df["split"] == "test"].itertuples():
        write_image(preds / f"{row.pair_id}.png", read_rgb(row.target_path))
    result = evaluate(EvalConfig(manifest=manifest, predictions=preds))
    assert result.overall["fmse"] == 0
    assert result.overall["composite_fmse"] > 0      # the foreground is seen: the composite differs there


# ---------------------------------------------------------------- ground truths

@pytest.mark.parametrize("kind", ["16bit", "rgba", "gray"])
def test_ground_truth_is_the_8bit_rgb_the_composite_was_made_from(tmp_path, kind):
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    render = store / "scenes" / "s0000" / "01.png"
    bgr = cv2.imread(str(render), cv2.IMREAD_COLOR)
    if kind == "16bit":
        odd = bgr.astype(np.uint16) * 257
    elif kind == "rgba":
        odd = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    else:
        odd = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    assert cv2.imwrite(str(render), odd)
    out = tmp_path / "pairs"
    make_composites(ComposeConfig(captures=store, out=out))
    gt = out / "real_images" / "s0000_0-1.png"
    raw = cv2.imread(str(gt), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and raw.ndim == 3 and raw.shape[2] == 3
    assert gt.stat().st_ino != render.stat().st_ino           # not a hard link to the odd render
    scene = read_scene(store, "s0000")
    mask = scene.load_mask(scene.foregrounds[0])
    comp = read_rgb(out / "composite_images" / "s0000_0-1_2.png")
    assert np.array_equal(comp[~mask], read_rgb(gt)[~mask])  # the background the composite holds


def test_plain_rgb_render_is_still_hard_linked(tmp_path):
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs"))
    gt = tmp_path / "pairs" / "real_images" / "s0000_0-1.png"
    assert gt.stat().st_ino == (store / "scenes" / "s0000" / "01.png").stat().st_ino


# ---------------------------------------------------------------- stale state

def test_a_fixed_input_is_redone_not_reused(tmp_path):
    store = make_store(tmp_path / "captures", n_scenes=2, size=(16, 20), styles=[1, 2])
    out = tmp_path / "pairs"
    make_composites(ComposeConfig(captures=store, out=out))
    render = store / "scenes" / "s0000" / "02.png"
    new = np.full((16, 20, 3), 77, np.uint8)
    write_image(render, new)                                  # the input is re-rendered / fixed
    summary = make_composites(ComposeConfig(captures=store, out=out))
    assert summary.scenes_resumed == 1                        # s0001 kept, s0000 redone
    scene = read_scene(store, "s0000")
    mask = scene.load_mask(scene.foregrounds[0])
    comp = read_rgb(out / "composite_images" / "s0000_0-1_2.png")
    assert (comp[mask] == 77).all()
    assert np.array_equal(read_rgb(out / "real_images" / "s0000_0-2.png"), new)


def test_partial_scene_of_an_older_input_is_removed(tmp_path):
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    out = tmp_path / "pairs"
    make_composites(ComposeConfig(captures=store, out=out))
    (out / ".rdh" / "rows" / "s0000.parquet").unlink()          # as if killed inside the scene
    stale = out / "composite_images" / "s0000_0-2_1.png"
    write_bytes_atomic(stale, (out / "composite_images" / "s0000_0-1_2.png").read_bytes())
    write_image(store / "scenes" / "s0000" / "01.png", np.full((16, 20, 3), 9, np.uint8))
    make_composites(ComposeConfig(captures=store, out=out))
    scene = read_scene(store, "s0000")
    mask = scene.load_mask(scene.foregrounds[0])
    assert (read_rgb(stale)[mask] == 9).all()                 # remade from the new input


def test_all_filtered_first_run_does_not_bind_the_next(tmp_path):
    store = make_store(tmp_path / "captures", n_scenes=1, size=(16, 20), styles=[1, 2])
    with pytest.raises(RdhError, match="every pair was filtered out"):
        make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs", min_fg_ratio=0.9))
    assert make_composites(ComposeConfig(captures=store, out=tmp_path / "pairs")).pairs == 2


# ---------------------------------------------------------------- checkpoint pairs

@pytest.fixture(scope="module")
def small_pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpairs")
    store = make_store(root / "captures", n_scenes=4, size=(32, 32), styles=[1, 2])
    make_composites(ComposeConfig(captures=store, out=root / "pairs"))
    return root / "pairs" / "pairs.parquet"


TINY = dict(model="idih", image_size=32, depth=4, width=8, batch_size=2, workers=0, val_every=1, val_fraction=0.5)


def test_best_is_saved_before_last(small_pairs, tmp_path, monkeypatch):
    import harmonize.train as train_mod

    order = []
    real = train_mod.save_checkpoint
    monkeypatch.setattr(train_mod, "save_checkpoint", lambda p, path: (order.append(Path(path).name), real(p, path))[1])
    train_mod.train(train_mod.TrainConfig(manifest=small_pairs, out=tmp_path / "run", max_steps=1, **TINY))
    assert order == ["best.pt", "last.pt"]


def test_resume_repairs_a_best_pt_lost_between_the_two_saves(small_pairs, tmp_path, capsys):
    from harmonize.train import TrainConfig, train

    run = tmp_path / "run"
    first = train(TrainConfig(manifest=small_pairs, out=run, max_steps=2, **TINY))
    last = torch.load(run / "last.pt", weights_only=True)
    assert last["best"]["step"] is not None
    best_step = last["best"]["step"]
    if best_step != 2:
        pytest.skip("validation did not improve at the last step on this platform")
    (run / "best.pt").unlink()                                # killed after last.pt, before best.pt
    result = train(TrainConfig(manifest=small_pairs, out=run, max_steps=3, resume=True, **TINY))
    assert "was missing or older than the best step 2: restored" in capsys.readouterr().err
    assert result.best_path is not None and result.best_path.is_file()
    assert torch.load(result.best_path, weights_only=True)["step"] >= 2
    assert first.best_path.is_file()


def test_a_refused_run_keeps_the_run_folder_as_it_was(small_pairs, tmp_path, rdh_main):
    from harmonize.train import TrainConfig, train

    run = tmp_path / "run"
    train(TrainConfig(manifest=small_pairs, out=run, max_steps=1, **TINY))
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    code, _, err = rdh_main("train", "--model", "idih", "--manifest", small_pairs, "--out", run, "--max-steps", "1",
                       "--image-size", "32", "--depth", "4", "--width", "8", "--workers", "0")
    assert code == 2 and "already holds a run" in err
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before    # log.jsonl, curves.png kept


def test_resumed_run_never_prints_a_missing_best(small_pairs, tmp_path, rdh_main):
    run = tmp_path / "run"
    args = ["train", "--model", "idih", "--manifest", small_pairs, "--out", run, "--image-size", "32", "--depth", "4",
            "--width", "8", "--batch-size", "2", "--workers", "0", "--val-every", "1", "--val-fraction", "0.5"]
    assert rdh_main(*args, "--max-steps", "2")[0] == 0
    (run / "best.pt").unlink()
    code, stdout, err = rdh_main(*args, "--max-steps", "2", "--resume", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["best"] is None or Path(summary["best"]).is_file(), stdout
    assert Path(summary["last"]).is_file() and summary["steps"] == 2


def test_resume_refuses_a_typed_setting_that_differs_from_the_run(small_pairs, tmp_path, rdh_main):
    run = tmp_path / "run"
    args = ["train", "--model", "idih", "--manifest", small_pairs, "--out", run, "--image-size", "32", "--depth", "4",
            "--width", "8", "--batch-size", "2", "--workers", "0", "--lr", "0.001"]
    assert rdh_main(*args, "--max-steps", "1")[0] == 0
    saved = torch.load(run / "last.pt", weights_only=True)["step"]
    code, _, err = rdh_main(*[a if a != "0.001" else "0.002" for a in args], "--max-steps", "2", "--resume")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("rdh: error:")
    assert "--lr 0.002 (run: 0.001)" in lines[0]
    assert torch.load(run / "last.pt", weights_only=True)["step"] == saved       # the run is untouched
    code, _, err = rdh_main(*args, "--max-steps", "2", "--resume")             # the run's own value resumes
    assert code == 0, err
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 2


# ---------------------------------------------------------------- the CLI's safety net

def test_os_errors_become_one_line():
    import errno

    from rdh.cli import os_error_message

    assert os_error_message(PermissionError(errno.EACCES, "Permission denied", "/x/y")) == \
        "/x/y: permission denied: fix the permissions or choose another path"
    assert "symlink loop" in os_error_message(OSError(errno.ELOOP, "loop", "/l"))
    assert os_error_message(OSError(errno.EIO, "I/O error", "/d")).startswith("/d: input/output error")   # issue 21
    assert os_error_message(OSError(errno.EMFILE, "Too many open files")).startswith("a path: too many open files")
    assert os_error_message(OSError(errno.EBADF, "Bad file descriptor", "/d")) is None   # a bug: keeps its traceback
