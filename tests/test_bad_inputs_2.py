"""The second corpus of bad inputs (issue 21): damaged checkpoints, outputs over inputs, shard
races, confinement with relative roots, render exit status, the temporary sweep, damaged Parquet,
Ray, pixel budgets, failed writes, and the leftovers of issue 14.

Every case runs the real `rdh` command line on small real data and must end in exit status 2 with
exactly one `rdh: error:` line that names the file or option, no traceback, and not one file
written or changed anywhere (inside OUT or outside it): the runner of tests/test_bad_inputs.py.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable

import pytest
import torch

from tests import test_bad_inputs as corpus
from tests.cli import assert_refused
from tests.synth import make_store
from tests.test_bad_inputs import World, copy_pairs, snapshot, train_args

world = corpus.world  # the same module-scoped inputs: a store, pair datasets, a weights-only checkpoint

CASES: dict[str, Callable[[World, Path], tuple[list, str]]] = {}


def case(fn):
    """Register a case: fn(world, tmp) -> (argv, text the error line must hold)."""
    CASES[fn.__name__] = fn
    return fn


@pytest.fixture(scope="module")
def run_folder(world, tmp_path_factory) -> Path:
    """A tiny finished `rdh train` run (last.pt and best.pt with their training state)."""
    from harmonize.train import TrainConfig, train

    run = tmp_path_factory.mktemp("run") / "run"
    train(TrainConfig(model="idih", manifest=world.pairs / "pairs.parquet", out=run, max_steps=1, image_size=32,
                      depth=4, width=8, batch_size=2, workers=0, val_fraction=0.0))
    return run


CTX: dict[str, Path] = {}


@pytest.fixture(autouse=True)
def _context(run_folder):
    CTX["run"] = run_folder


def copy_run(tmp: Path) -> Path:
    return Path(shutil.copytree(CTX["run"], tmp / "run"))


def damage_records(path: Path, every: bool = True) -> None:
    """Zero 16 bytes inside each tensor record of a torch zip (the archive still opens)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        records = [i for i in z.infolist() if "/data/" in i.filename and i.file_size >= 32]
    for info in records if every else records[:1]:
        h = info.header_offset
        name_len, extra_len = struct.unpack("<HH", data[h + 26:h + 30])
        start = h + 30 + name_len + extra_len + 8
        data[start:start + 16] = bytes(16)
    path.write_bytes(bytes(data))


def tampered(w: World, tmp: Path, change, source: Path | None = None) -> Path:
    """A copy of a checkpoint with `change(ckpt)` applied, saved whole (its CRCs are right)."""
    ckpt = torch.load(source or w.checkpoint, weights_only=True)
    change(ckpt)
    path = tmp / "tampered.pt"
    torch.save(ckpt, path)
    return path


def one_image(w: World) -> tuple[Path, Path]:
    return w.pairs / "composite_images" / "s0000_0-1_2.png", w.pairs / "masks" / "s0000_0.png"


def harmonize_args(w: World, ckpt: Path, out: Path) -> list:
    comp, mask = one_image(w)
    return ["harmonize", "--checkpoint", ckpt, comp, mask, "-o", out, "--device", "cpu"]


# ---------------------------------------------------------------- 1. damaged checkpoints

@case
def d1_harmonize_with_damaged_weights(w, tmp):
    ckpt = Path(shutil.copy(w.checkpoint, tmp / "weights.pt"))
    damage_records(ckpt)
    return harmonize_args(w, ckpt, tmp / "out.png"), "weights.pt: damaged checkpoint"


@case
def d1_evaluate_with_one_damaged_record(w, tmp):
    ckpt = Path(shutil.copy(w.checkpoint, tmp / "weights.pt"))
    damage_records(ckpt, every=False)
    return ["evaluate", "--manifest", w.pairs, "--checkpoint", ckpt], "fails its CRC check"


@case
def d1_resume_from_a_damaged_last(w, tmp):
    run = copy_run(tmp)
    damage_records(run / "last.pt")
    return train_args(w.pairs, run, "--resume", "--max-steps", "2"), "last.pt: damaged checkpoint"


@case
def d1_init_from_a_damaged_checkpoint(w, tmp):
    ckpt = Path(shutil.copy(w.checkpoint, tmp / "weights.pt"))
    damage_records(ckpt)
    return train_args(w.pairs, tmp / "new", "--init-from", ckpt), "weights.pt: damaged checkpoint"


@case
def d1_init_from_a_checkpoint_without_weights(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c.pop("generator"))
    return train_args(w.pairs, tmp / "new", "--init-from", ckpt), "holds no generator weights"


@case
def d1_image_size_as_text(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c.update(image_size="sixty-four"))
    return harmonize_args(w, ckpt, tmp / "out.png"), "image_size 'sixty-four'"


@case
def d1_image_size_zero(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c.update(image_size=0))
    return harmonize_args(w, ckpt, tmp / "out.png"), "image_size 0"


@case
def d1_image_size_negative(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c.update(image_size=-32))
    return ["evaluate", "--manifest", w.pairs, "--checkpoint", ckpt], "image_size -32"


@case
def d1_image_size_that_does_not_fit_the_net(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c.update(image_size=33))
    return harmonize_args(w, ckpt, tmp / "out.png"), "image_size 33"


@case
def d1_normalization_without_std(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c["normalization"].pop("std"))
    return harmonize_args(w, ckpt, tmp / "out.png"), "normalization"


@case
def d1_normalization_std_zero(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c["normalization"].update(std=[0.0, 0.224, 0.225]))
    return harmonize_args(w, ckpt, tmp / "out.png"), "std [0.0, 0.224, 0.225]"


@case
def d1_model_config_huge(w, tmp):
    ckpt = tampered(w, tmp, lambda c: c["model_config"]["spec"].update(width=10**9))
    return harmonize_args(w, ckpt, tmp / "out.png"), "model_config"


def resume_with_saved(w, tmp, key: str, value) -> list:
    """`rdh train --resume` of a copied run whose last.pt saved `value` for the setting `key`."""
    run = copy_run(tmp)
    ckpt = torch.load(run / "last.pt", weights_only=True)
    ckpt["config"][key] = value
    torch.save(ckpt, run / "last.pt")
    return train_args(w.pairs, run, "--resume", "--max-steps", "2")


@case
def d1_resume_with_a_saved_setting_as_text(w, tmp):
    return resume_with_saved(w, tmp, "image_size", "sixty-four"), "saved setting image_size 'sixty-four'"


@case
def d1_resume_with_a_saved_setting_out_of_range(w, tmp):
    return resume_with_saved(w, tmp, "lr", -1.0), "last.pt: the run's saved settings do not check out"


# ---------------------------------------------------------------- 2. outputs over inputs

@case
def d2_save_outputs_into_the_composites_folder(w, tmp):
    pairs = copy_pairs(w, tmp)                # pair ids equal the composites' stems
    return ["evaluate", "--manifest", pairs, "--checkpoint", w.checkpoint, "--split", "all",
            "--save-outputs", pairs / "composite_images"], "is the input composite image"


@case
def d2_save_outputs_through_a_relative_path(w, tmp):
    pairs = copy_pairs(w, tmp)
    os.chdir(pairs)
    return ["evaluate", "--manifest", "pairs.parquet", "--checkpoint", w.checkpoint, "--split", "all",
            "--save-outputs", "real_images/../composite_images"], "is the input composite image"


@case
def d2_json_report_onto_the_manifest(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["evaluate", "--manifest", pairs, "--checkpoint", w.checkpoint, "--json", pairs / "pairs.parquet"], \
        "--json"


@case
def d2_harmonize_folder_into_the_masks(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["harmonize", "--checkpoint", w.checkpoint, pairs / "composite_images", pairs / "masks",
            "-o", pairs / "masks"], "is the input MASK folder"


@case
def d2_harmonize_folder_into_the_masks_with_overwrite(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["harmonize", "--checkpoint", w.checkpoint, pairs / "composite_images", pairs / "masks",
            "-o", pairs / "masks", "--overwrite"], "is the input MASK folder"


@case
def d2_harmonize_folder_inside_the_composites(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["harmonize", "--checkpoint", w.checkpoint, pairs / "composite_images", pairs / "masks",
            "-o", pairs / "composite_images" / "out"], "lies inside the input COMPOSITE folder"


@case
def d2_harmonize_one_image_onto_its_mask(w, tmp):
    pairs = copy_pairs(w, tmp)
    comp, mask = pairs / "composite_images" / "s0000_0-1_2.png", pairs / "masks" / "s0000_0.png"
    return ["harmonize", "--checkpoint", w.checkpoint, comp, mask, "-o", mask], "is the input MASK"


@case
def d2_harmonize_one_image_into_its_own_folder(w, tmp):
    pairs = copy_pairs(w, tmp)
    comp, mask = pairs / "composite_images" / "s0000_0-1_2.png", pairs / "masks" / "s0000_0.png"
    return ["harmonize", "--checkpoint", w.checkpoint, comp, mask, "-o", comp.parent], "is the input COMPOSITE"


@case
def d2_build_manifest_onto_its_pairs_manifest(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["build-manifest", "--pairs", pairs, pairs / "pairs.parquet"], "is the input --pairs manifest"


@case
def d2_build_manifest_onto_a_listed_mask(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["build-manifest", "--pairs", pairs, pairs / "masks" / "s0000_0.png"], "is the input mask image"


@case
def d2_build_manifest_onto_its_csv(w, tmp):
    src = corpus.csv_source(tmp, w)
    return ["build-manifest", "--csv", src, src], "is the input --csv file"


@case
def d2_train_out_holding_its_init_checkpoint(w, tmp):
    run = tmp / "run"
    run.mkdir()
    shutil.copy(w.checkpoint, run / "best.pt")
    return train_args(w.pairs, run, "--init-from", run / "best.pt"), "is the input --init-from"


@case
def d2_make_composites_from_photos_into_the_masks(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["make-composites", "--from-photos", pairs / "real_images", "--masks", pairs / "masks", pairs / "masks"], \
        "is the input --masks folder"


@case
def d2_render_into_the_assets_folder(w, tmp):
    (tmp / "assets" / "human").mkdir(parents=True)
    return ["render-scenes", tmp / "assets" / "store", "--assets", tmp / "assets", "--scenes", "1"], \
        "lies inside the input --assets folder"


# ---------------------------------------------------------------- 3. shards of one store with other options

RENDER = ["--styles", "2", "--spp", "1", "--no-denoise", "--variant", "scalar"]


def render_cfg(out: Path, **kw):
    from datagen.render_config import BuiltinOptions, RenderConfig

    return RenderConfig(out=out, styles=(2,), builtin=BuiltinOptions(spp=1, denoise=False, variant="scalar"), **kw)


def live_lock(path: Path, command: str) -> None:
    """A lock file held by this (live) process, as a run in progress holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command}))


@case
def d3_shard_with_other_options_while_a_shard_runs(w, tmp):
    from datagen.render import render_options, render_options_path

    store = tmp / "store"
    live_lock(store / ".rdh-lock-shard-0-of-2", "rdh render-scenes --shard 0/2")   # started, nothing written yet
    render_options_path(store).parent.mkdir(parents=True)
    render_options_path(store).write_text(json.dumps(render_options(render_cfg(store, scenes=2, resolution=48))))
    return ["render-scenes", store, "--scenes", "2", "--shard", "1/2", "--resolution", "32", *RENDER], \
        "renders into this store with other options (resolution 48 -> 32)"


# ---------------------------------------------------------------- 4. confinement with relative roots and links

def nested_ids(w: World, tmp: Path) -> Path:
    """A pair dataset whose pair ids name a sub-folder: 'sub/<id>'."""
    pairs = copy_pairs(w, tmp)
    return corpus.edit_manifest(pairs, lambda df: df.assign(pair_id=["sub/" + p for p in df["pair_id"]]))


@case
def d4_save_outputs_relative_root_through_a_symlinked_subfolder(w, tmp):
    m = nested_ids(w, tmp)
    (tmp / "outside").mkdir()
    (tmp / "saved").mkdir()
    (tmp / "saved" / "sub").symlink_to("../outside")
    os.chdir(tmp)
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint, "--split", "all", "--save-outputs", "saved"], \
        "leaves its folder saved"


@case
def d4_save_outputs_absolute_root_through_a_symlinked_subfolder(w, tmp):
    m = nested_ids(w, tmp)
    (tmp / "outside").mkdir()
    (tmp / "saved").mkdir()
    (tmp / "saved" / "sub").symlink_to("../outside")
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint, "--split", "all", "--save-outputs",
            tmp / "saved"], "leaves its folder"


def predictions_of(m: Path, folder: Path) -> None:
    from manifests.schema import read_manifest, resolve_paths

    for row in resolve_paths(read_manifest(m), m).itertuples():
        out = folder / f"{row.pair_id.split('/')[-1]}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(row.target_path, out)


@case
def d4_predictions_relative_root_through_a_symlinked_subfolder(w, tmp):
    m = nested_ids(w, tmp)
    predictions_of(m, tmp / "outside")
    (tmp / "preds").mkdir()
    (tmp / "preds" / "sub").symlink_to("../outside")
    os.chdir(tmp)
    return ["evaluate", "--manifest", m, "--predictions", "preds", "--split", "all"], "leaves its folder preds"


@case
def d4_prediction_file_symlinked_out_of_its_folder(w, tmp):
    m = nested_ids(w, tmp)
    predictions_of(m, tmp / "preds" / "sub")
    first = sorted((tmp / "preds" / "sub").iterdir())[0]
    shutil.move(first, tmp / first.name)
    first.symlink_to(tmp / first.name)
    os.chdir(tmp)
    return ["evaluate", "--manifest", m, "--predictions", "preds", "--split", "all"], "leaves its folder preds"


# ---------------------------------------------------------------- 5. render-scenes: the exit status tells

@case
def d5_render_where_no_scene_can_be_made(w, tmp):
    return ["render-scenes", tmp / "store", "--scenes", "2", "--resolution", "16", "--min-fg-ratio", "0.995",
            "--max-fg-ratio", "1", *RENDER], "no scene could be rendered: scene000000: scene 0: no layout"


# ---------------------------------------------------------------- 7. damaged or odd Parquet manifests

def flip_column(path: Path, column: str) -> Path:
    """Invert 4 bytes in the middle of a column's data (as a bad disk sector would)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata.row_group(0)
    chunk = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == column)
    data = bytearray(path.read_bytes())
    mid = chunk.data_page_offset + chunk.total_compressed_size // 2
    data[mid:mid + 4] = bytes(b ^ 0xFF for b in data[mid:mid + 4])
    path.write_bytes(bytes(data))
    return path


@case
def d7_train_on_a_flipped_data_page(w, tmp):
    m = flip_column(copy_pairs(w, tmp) / "pairs.parquet", "domain")
    return train_args(m, tmp / "run"), "pairs.parquet: damaged Parquet data (ZSTD decompression failed"


@case
def d7_evaluate_on_a_flipped_page_header(w, tmp):
    m = flip_column(copy_pairs(w, tmp) / "pairs.parquet", "pair_id")
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint], "pairs.parquet: damaged Parquet data"


@case
def d7_build_manifest_from_a_flipped_manifest(w, tmp):
    pairs = copy_pairs(w, tmp)
    flip_column(pairs / "pairs.parquet", "fg_style")
    return ["build-manifest", "--pairs", pairs, tmp / "out" / "m.parquet"], "pairs.parquet: damaged Parquet data"


@case
def d7_inspect_a_flipped_manifest(w, tmp):
    m = flip_column(copy_pairs(w, tmp) / "pairs.parquet", "target_path")
    return ["inspect", m], "pairs.parquet: damaged Parquet data"


@case
def d7_train_on_a_width_of_two_to_the_forty(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = corpus.write_raw_manifest(pairs, "width", [2**40] * 12)
    return train_args(m, tmp / "run"), "column width holds 1099511627776, more than the schema's int32"


@case
def d7_build_manifest_with_a_height_of_two_to_the_forty(w, tmp):
    pairs = copy_pairs(w, tmp)
    corpus.write_raw_manifest(pairs, "height", [2**40] * 12)
    return ["build-manifest", "--pairs", pairs, tmp / "out" / "m.parquet"], "column height holds 1099511627776"


@case
def d7_evaluate_integer_paths(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = corpus.write_raw_manifest(pairs, "composite_path", list(range(12)))
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint], "column composite_path holds int64 values, not text"


@case
def d7_inspect_integer_pair_ids(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = corpus.write_raw_manifest(pairs, "pair_id", [float(i) for i in range(12)])
    return ["inspect", m], "column pair_id holds double values, not text"


@case
def d7_make_composites_with_a_damaged_scene_record(w, tmp):
    pairs = copy_pairs(w, tmp)
    rows = pairs / ".rdh" / "rows" / "s0000.parquet"
    rows.write_bytes(rows.read_bytes()[:40] + bytes(64) + rows.read_bytes()[104:])
    return ["make-composites", w.store, pairs, "--seed", "1", "--test-fraction", "0.5"], \
        "s0000.parquet: damaged record of scene s0000"


# ---------------------------------------------------------------- 8. Ray: a deadline that releases OUT

@case
def d8_render_with_nothing_at_the_ray_address(w, tmp):
    pytest.importorskip("ray")
    return ["render-scenes", tmp / "store", "--scenes", "1", "--resolution", "16", *RENDER, "--executor", "ray",
            "--ray-address", f"127.0.0.1:{closed_port()}", "--ray-timeout", "5"], "--ray-address 127.0.0.1:"


@case
def d8_make_composites_with_nothing_at_the_ray_address(w, tmp):
    pytest.importorskip("ray")
    return ["make-composites", w.store, tmp / "pairs", "--executor", "ray", "--ray-address",
            f"ray://127.0.0.1:{closed_port()}", "--ray-timeout", "5"], "nothing answers there within --ray-timeout 5 s"


@case
def d8_ray_timeout_zero(w, tmp):
    return ["make-composites", w.store, tmp / "pairs", "--executor", "ray", "--ray-timeout", "0"], "--ray-timeout 0"


# ---------------------------------------------------------------- 9. a pixel budget, read from the header

def png_claiming(path: Path, width: int, height: int) -> Path:
    """A ~60-byte PNG whose header claims width x height (RGB), with an empty image stream."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def jpeg_claiming(path: Path, width: int, height: int) -> Path:
    """A JPEG start of image and frame header claiming width x height, and an end of image."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    path.write_bytes(b"\xff\xd8" + sof + b"\xff\xd9")
    return path


@case
def d9_harmonize_a_header_claiming_40000_squared(w, tmp):
    comp = png_claiming(tmp / "bomb.png", 40000, 40000)
    return ["harmonize", "--checkpoint", w.checkpoint, comp, one_image(w)[1], "-o", tmp / "out.png"], \
        "bomb.png: image is 40000x40000 (1,600,000,000 pixels), over the pixel budget"


@case
def d9_evaluate_with_a_budget_below_its_images(w, tmp):
    return ["evaluate", "--manifest", w.pairs, "--checkpoint", w.checkpoint, "--max-pixels", "1000"], \
        "over the pixel budget of 1,000 (--max-pixels)"


@case
def d9_train_on_a_jpeg_header_claiming_60000_squared(w, tmp):
    pairs = copy_pairs(w, tmp, jpg=True)
    for comp in (pairs / "composite_images").iterdir():
        jpeg_claiming(comp, 60000, 60000)
    return train_args(pairs / "pairs.parquet", tmp / "run"), "image is 60000x60000"


@case
def d9_verify_images_refuses_a_bomb_for_its_size(w, tmp):
    pairs = copy_pairs(w, tmp)
    png_claiming(pairs / "composite_images" / "s0000_0-1_2.png", 40000, 40000)
    return ["build-manifest", "--pairs", pairs, tmp / "out" / "m.parquet", "--verify-images"], \
        "image is 40000x40000 (1,600,000,000 pixels), over the pixel budget"


@case
def d9_decoder_limit_past_a_raised_budget(w, tmp):
    comp = png_claiming(tmp / "bomb.png", 40000, 40000)
    return ["harmonize", "--checkpoint", w.checkpoint, comp, one_image(w)[1], "-o", tmp / "out.png",
            "--max-pixels", "4000000000"], "bomb.png: cannot decode image"


@case
def d9_max_pixels_zero(w, tmp):
    return harmonize_args(w, w.checkpoint, tmp / "out.png") + ["--max-pixels", "0"], "--max-pixels 0"


# ---------------------------------------------------------------- 11. leftovers of issue 14

@case
def d11_build_manifest_fg_style_equal_to_bg_style(w, tmp):
    src = corpus.csv_source(tmp, w, [{"domain": "rendered", "fg_style": "3", "bg_style": "3"}])
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet", "--verify-images"], "has fg_style == bg_style (3)"


@case
def d11_verify_images_wrong_fg_ratio(w, tmp):
    pairs = copy_pairs(w, tmp)
    corpus.edit_manifest(pairs, lambda df: df.assign(fg_ratio=[0.9] * len(df)))
    return ["build-manifest", "--pairs", pairs, tmp / "out" / "m.parquet", "--verify-images"], \
        "recorded fg_ratio 0.9 but the mask covers 0."


@case
def d11_build_manifest_empty_pair_id(w, tmp):
    pairs = copy_pairs(w, tmp)
    corpus.edit_manifest(pairs, lambda df: df.assign(pair_id=[""] + list(df["pair_id"][1:])))
    return ["build-manifest", "--pairs", pairs, tmp / "out" / "m.parquet"], "pair_id is empty"


@case
def d11_scene_engine_not_a_name(w, tmp):
    store = corpus.copy_store(w, tmp)
    corpus.edit_scene(store, lambda m: m.update(engine={"name": "builtin", "version": 3}))
    return ["make-composites", store, tmp / "out"], "engine {'name': 'builtin', 'version': 3} must be a name"


@case
def d11_scene_category_with_a_lone_surrogate(w, tmp):
    store = corpus.copy_store(w, tmp)
    path = corpus.scene_json(store, "s0001")
    path.write_text(path.read_text().replace('"category": "human"', '"category": "hu\\udc80man"'))
    return ["make-composites", store, tmp / "out"], "holds a lone surrogate"


@case
def d11_harmonize_output_gif(w, tmp):
    return harmonize_args(w, w.checkpoint, tmp / "result.gif"), "-o"


@case
def d11_harmonize_output_bmp_before_inference(w, tmp):
    return harmonize_args(w, w.checkpoint, tmp / "x.bmp"), "name the output .png or .jpg"


# ---------------------------------------------------------------- the runner

@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_ends_in_one_line_and_writes_nothing(name, world, tmp_path, rdh_main, monkeypatch):
    monkeypatch.chdir(tmp_path)            # a case may chdir to give relative paths
    work = tmp_path / "case"
    work.mkdir()
    argv, needle = CASES[name](world, work)
    before_world, before_run, before = snapshot(world.root), snapshot(CTX["run"]), snapshot(tmp_path)
    assert_refused(*rdh_main(*argv), needle)
    assert snapshot(tmp_path) == before, "files were written or changed"
    assert snapshot(world.root) == before_world
    assert snapshot(CTX["run"]) == before_run


def test_the_corpus_covers_every_class():
    classes = {name.split("_")[0] for name in CASES}
    assert {"d1", "d2", "d3", "d4", "d5", "d7", "d8", "d9", "d11"} <= classes


# ---------------------------------------------------------------- checkpoints: writes that fail or read back damaged

def test_a_checkpoint_that_reads_back_damaged_never_replaces_a_good_one(tmp_path, monkeypatch):
    import harmonize.checkpoint as ck
    from rdhcore.errors import RdhError

    good = ck.save_checkpoint({"format": ck.FORMAT, "w": torch.arange(64.0)}, tmp_path / "last.pt")
    before = good.read_bytes()
    real_save = torch.save

    def save_then_damage(payload, f):  # as a disk that returns other bytes than were written
        real_save(payload, f)
        f.flush()
        damage_records(Path(f.name))

    monkeypatch.setattr(ck.torch, "save", save_then_damage)
    with pytest.raises(RdhError, match=r"last\.pt: the checkpoint read back damaged .*the previous last\.pt is kept"):
        ck.save_checkpoint({"format": ck.FORMAT, "w": torch.ones(64)}, tmp_path / "last.pt")
    assert good.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_the_damage_check_reads_every_record(tmp_path):
    from harmonize.checkpoint import damaged_record, load_checkpoint

    path = Path(shutil.copy(Path(CTX["run"]) / "last.pt", tmp_path / "last.pt"))
    assert damaged_record(path) is None and load_checkpoint(path)["step"] == 1
    damage_records(path, every=False)
    assert "fails its CRC check" in damaged_record(path)


# ---------------------------------------------------------------- the two false refusals of issue 21

def test_resume_takes_the_manifest_as_its_folder_or_its_file(world, tmp_path, rdh_main):
    run = copy_run(tmp_path)               # started with PAIRS/pairs.parquet
    code, _, err = rdh_main("train", "--model", "idih", "--manifest", world.pairs, "--out", run, "--resume",
                            "--max-steps", "2", "--workers", "0")
    assert code == 0, err
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 2


def test_resume_accepts_the_runs_own_image_size(world, tmp_path, rdh_main):
    run = copy_run(tmp_path)               # --image-size 32 --depth 4: 32 does not fit the default depth 7
    code, _, err = rdh_main("train", "--model", "idih", "--manifest", world.pairs / "pairs.parquet", "--out", run,
                            "--resume", "--image-size", "32", "--max-steps", "2", "--workers", "0")
    assert code == 0, err
    assert torch.load(run / "last.pt", weights_only=True)["step"] == 2
    code, _, err = rdh_main("train", "--model", "idih", "--manifest", world.pairs / "pairs.parquet", "--out", run,
                            "--resume", "--image-size", "64", "--max-steps", "3", "--workers", "0")
    assert code == 2 and "--image-size 64 (run: 32)" in err      # another value is still refused


@pytest.mark.slow
def test_shards_started_together_with_other_options_do_not_mix_a_store(tmp_path):
    """Two shards at 48 and 32 px started at once into one store: one renders, the other is refused."""
    from datagen.render import render_options_path

    store = tmp_path / "store"
    procs = [subprocess.Popen([sys.executable, "-m", "rdh.cli", "render-scenes", str(store), "--scenes", "2",
                               "--shard", f"{i}/2", "--resolution", size, *RENDER], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i, size in ((0, "48"), (1, "32"))]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "other options" in refused and "Traceback" not in refused
    sizes = {json.loads(p.read_text())["width"] for p in (store / "scenes").glob("*/scene.json")}
    won = 48 if results[0][0] == 0 else 32
    assert sizes == {won}
    assert json.loads(render_options_path(store).read_text())["resolution"] == won


# ---------------------------------------------------------------- confinement: what stays allowed

@pytest.mark.parametrize("relative", [True, False])
def test_ids_through_links_that_stay_inside_are_written_and_read(world, tmp_path, monkeypatch, rdh_main, relative):
    import json as _json

    m = nested_ids(world, tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "saved" / "real").mkdir(parents=True)
    (tmp_path / "saved" / "sub").symlink_to("real")                # a link that stays inside the folder
    saved = Path("saved") if relative else tmp_path / "saved"
    code, _, err = rdh_main("evaluate", "--manifest", m, "--checkpoint", world.checkpoint, "--split", "all",
                            "--save-outputs", saved, "--json", "a.json")
    assert code == 0, err
    assert len(list((tmp_path / "saved" / "real").glob("*.png"))) == 12
    shutil.copytree(tmp_path / "saved" / "real", tmp_path / "preds" / "store")
    (tmp_path / "preds" / "sub").mkdir()
    for png in (tmp_path / "preds" / "store").glob("*.png"):        # prediction files that are links inside
        (tmp_path / "preds" / "sub" / png.name).symlink_to(Path("..") / "store" / png.name)
    preds = Path("preds") if relative else tmp_path / "preds"
    code, _, err = rdh_main("evaluate", "--manifest", m, "--predictions", preds, "--split", "all", "--json", "b.json")
    assert code == 0, err
    a, b = (_json.loads((tmp_path / f"{n}.json").read_text())["overall"] for n in "ab")
    assert a["count"] == b["count"] == 12 and a["fmse"] == pytest.approx(b["fmse"])


def test_id_path_is_the_same_check_for_relative_and_absolute_roots(tmp_path, monkeypatch):
    from rdhcore.errors import RdhError
    from rdhcore.names import id_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "sub").symlink_to("../elsewhere")
    for root in ("out", "./out", tmp_path / "out", "../" + tmp_path.name + "/out"):
        with pytest.raises(RdhError, match="leaves its folder"):
            id_path(root, "sub/x", ".png")
        assert id_path(root, "ok/x", ".png") == Path(root) / "ok" / "x.png"


# ---------------------------------------------------------------- render-scenes: environment faults and bugs

def limited_rdh(*args, fsize: int) -> subprocess.CompletedProcess:
    """`rdh` in a process whose files may not grow past `fsize` bytes (writes beyond fail with EFBIG,
    as on a filesystem that is full or cannot hold the file)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "rdh.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600, preexec_fn=limit)


def one_error_line(proc, code: int = 2) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(lines) == 1 and lines[0].startswith("rdh: error: "), proc.stderr
    return lines[0]


@pytest.mark.slow
def test_render_that_cannot_write_its_scenes_fails_with_one_line(tmp_path):
    store = tmp_path / "store"
    proc = limited_rdh("render-scenes", store, "--scenes", "2", "--resolution", "48", *RENDER, fsize=2000)
    line = one_error_line(proc)
    assert f"scene scene000000: {store}/scenes/scene000000/" in line and "file too large" in line, line
    assert not store.exists()                              # nothing half-written, no record, no empty store
    ok = limited_rdh("render-scenes", store, "--scenes", "2", "--resolution", "48", *RENDER, fsize=10**9)
    assert ok.returncode == 0, ok.stderr                   # the rerun, with room, renders all
    assert len(list((store / "scenes").glob("*/scene.json"))) == 2


def test_a_bug_in_one_scene_keeps_the_others_and_the_status_says_so(tmp_path, rdh_main, monkeypatch):
    import datagen.builtin.scene_render as scene_render
    import pandas as pd

    real = scene_render.scene_meta

    def meta_with_a_bug(scene, *args):
        if scene.plan.index == 1:
            raise TypeError("an unexpected None in scene 1")
        return real(scene, *args)

    monkeypatch.setattr(scene_render, "scene_meta", meta_with_a_bug)
    store = tmp_path / "store"
    code, stdout, err = rdh_main("render-scenes", store, "--scenes", "2", "--resolution", "16", *RENDER)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1, (code, stdout, err)
    assert len(lines) == 1 and lines[0].startswith("rdh: error: 1 scene(s) not rendered (first: scene000001")
    assert "scene000001: TypeError: an unexpected None in scene 1" in lines[0]
    assert [p.parent.name for p in (store / "scenes").glob("*/scene.json")] == ["scene000000"]
    assert pd.read_parquet(store / "captures.parquet")["scene_id"].unique().tolist() == ["scene000000"]


# ---------------------------------------------------------------- 6. the temporary sweep: only our own names

def evaluate_into(w: World, out: Path, rdh_main) -> None:
    code, _, err = rdh_main("evaluate", "--manifest", w.pairs, "--checkpoint", w.checkpoint, "--split", "all",
                            "--save-outputs", out)
    assert code == 0, err


def test_evaluate_never_sweeps_a_live_train_runs_temporary(world, tmp_path, rdh_main):
    out = tmp_path / "X"
    live_lock(out / "run" / ".rdh-lock", "rdh train")                   # `train --out X/run`, saving now
    ckpt_tmp = out / "run" / ".last.pt.rdh-tmp-k2j3abcd.pt"
    ckpt_tmp.write_bytes(b"half a checkpoint")
    evaluate_into(world, out, rdh_main)
    assert ckpt_tmp.read_bytes() == b"half a checkpoint"
    assert len(list(out.glob("*.png"))) == 12


def test_evaluate_sweeps_its_own_leftovers_and_keeps_a_users_lookalike(world, tmp_path, rdh_main):
    clean, out = tmp_path / "clean", tmp_path / "X"
    evaluate_into(world, clean, rdh_main)
    out.mkdir()
    mine = out / ".s0000_0-1_2.png.rdh-tmp-x1y2z3ab.png"                # a killed run's half-written output
    mine.write_bytes(b"half")
    users = [out / ".notes.txt.rdh-tmp-keep", out / "sub" / ".s0000_0-1_2.png.rdh-tmp-x1y2z3ab.png"]
    for path in users:                                                   # not a name evaluate writes there
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"the user's")
    evaluate_into(world, out, rdh_main)
    assert not mine.exists() and all(p.read_bytes() == b"the user's" for p in users)
    assert {p.name: p.read_bytes() for p in clean.glob("*.png")} == {p.name: p.read_bytes() for p in out.glob("*.png")}


def test_make_composites_sweeps_only_pair_dataset_names(world, tmp_path):
    from datagen.compose import ComposeConfig, make_composites

    out = tmp_path / "pairs"
    make_composites(ComposeConfig(captures=world.store, out=out))
    left = [out / "composite_images" / ".s0000_0-1_2.png.rdh-tmp-abcdefgh.png",
            out / ".rdh" / "rows" / ".s0000.parquet.rdh-tmp-abcdefgh.parquet", out / ".pairs.parquet.rdh-tmp-x.parquet"]
    kept = [out / ".thesis.tex.rdh-tmp-draft", out / "notes" / ".a.png.rdh-tmp-b.png"]
    for path in left + kept:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
    make_composites(ComposeConfig(captures=world.store, out=out))
    assert not any(p.exists() for p in left) and all(p.exists() for p in kept)


def test_train_resume_sweeps_its_checkpoint_temporary_only(world, tmp_path, rdh_main):
    run = copy_run(tmp_path)
    left = [run / ".last.pt.rdh-tmp-abcdefgh.pt", run / "samples" / ".step_0000002.png.rdh-tmp-abcdefgh.png"]
    kept = [run / ".my-notes.md.rdh-tmp-1", run / "samples" / ".grid.png.rdh-tmp-2.png"]
    for path in left + kept:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
    code, _, err = rdh_main(*train_args(world.pairs, run, "--resume"))
    assert code == 0, err
    assert not any(p.exists() for p in left) and all(p.exists() for p in kept)


def test_a_lock_temporary_left_by_a_kill_is_removed_by_the_next_run(tmp_path):
    import time

    from rdhcore.locks import LOCK_NAME, output_lock

    out = tmp_path / "out"
    out.mkdir()
    old = out / f".{LOCK_NAME}.rdh-tmp-4242-1"                          # killed between create and link
    fresh = out / f".{LOCK_NAME}.rdh-tmp-4343-2"                        # another run creating its lock now
    old.write_text("{}")
    fresh.write_text("{}")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    with output_lock(out, "rdh test"):
        pass
    assert not old.exists() and fresh.exists()


# ---------------------------------------------------------------- 8. Ray: a deadline, and no record of a run that made nothing

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]                 # nothing listens there once the socket is closed



def test_a_silent_ray_head_times_out_releases_out_and_leaves_no_options(world, tmp_path):
    """Something accepts connections at --ray-address but is not a Ray head: the run stops after
    --ray-timeout with one line, OUT's lock is released, and no options record binds the next run."""
    pytest.importorskip("ray")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)                              # the kernel completes connections; nothing answers
    out = tmp_path / "pairs"
    try:
        proc = subprocess.run([sys.executable, "-m", "rdh.cli", "make-composites", str(world.store), str(out),
                               "--executor", "ray", "--ray-address", f"127.0.0.1:{silent.getsockname()[1]}",
                               "--ray-timeout", "3"], capture_output=True, text=True, timeout=120)
    finally:
        silent.close()
    lines = [line for line in proc.stderr.splitlines() if line.strip() and line.startswith("rdh")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and "Ray did not connect within --ray-timeout 3 s" in lines[0], proc.stderr
    assert not out.exists()                       # no lock, no options.json, no empty folder
    from datagen.compose import ComposeConfig, make_composites

    assert make_composites(ComposeConfig(captures=world.store, out=out, format="jpg")).pairs == 12



# ---------------------------------------------------------------- the pixel budget: headers and threads

@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tiff", ".ppm", ".pgm"])
def test_image_size_reads_each_format_from_its_header(ext):
    import cv2
    import numpy as np

    from rdhcore.image_header import image_size

    img = np.random.default_rng(0).integers(0, 255, (37, 53, 3 if ext != ".pgm" else 1), np.uint8)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    assert image_size(buf.tobytes()) == (53, 37)


def test_decodes_in_threads_share_one_budget(monkeypatch):
    import threading
    import time

    from rdhcore import imageio

    budget = imageio.PixelBudget(100)
    peak, lock = [], threading.Lock()

    def decode(pixels):
        with budget.share(pixels):
            with lock:
                peak.append(budget.used)
            time.sleep(0.05)

    threads = [threading.Thread(target=decode, args=(60,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(peak) == 60 and budget.used == 0          # never two 60-pixel decodes at once


# ---------------------------------------------------------------- 10. failed writes: one line naming the file

def same(a, b) -> bool:
    """Whether two checkpoint payloads hold the same values, tensors compared exactly."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.shape == b.shape and torch.equal(a, b)
    return a == b


def sha256s(folder: Path, pattern: str = "*") -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob(pattern)) if p.is_file()}


@pytest.mark.slow
def test_a_checkpoint_too_large_to_write_is_one_line_and_the_rerun_matches(world, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--model", "idih", "--manifest", world.pairs, "--out", run, "--max-steps", "2", "--image-size",
            "32", "--depth", "4", "--width", "8", "--batch-size", "2", "--workers", "0", "--val-fraction", "0"]
    assert limited_rdh(*args, fsize=10**9).returncode == 0
    uninterrupted = torch.load(run / "last.pt", weights_only=True)
    shutil.rmtree(run)
    line = one_error_line(limited_rdh(*args, fsize=100_000))     # the 250 KB checkpoint cannot be written
    assert f"{run}/best.pt: file too large" in line, line
    assert not run.exists()                                      # no log or samples of a run that saved nothing
    assert limited_rdh(*args, fsize=10**9).returncode == 0
    rerun = torch.load(run / "last.pt", weights_only=True)
    # the unseeded Python and numpy global RNGs are only recorded by a run; everything else is the same
    for ckpt in (uninterrupted, rerun):
        del ckpt["rng"]["python"], ckpt["rng"]["numpy"]
    assert same(uninterrupted, rerun) and rerun["step"] == 2


@pytest.mark.parametrize("errno_name, hint", [("EMFILE", "too many open files"), ("EIO", "input/output error"),
                                              ("ENOSPC", "no space left on the device"), ("EFBIG", "file too large")])
def test_a_write_that_fails_without_a_file_name_names_it(world, tmp_path, rdh_main, monkeypatch, errno_name, hint):
    import errno

    import rdhcore.atomic as atomic

    def refuse(*args, **kwargs):
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    out = tmp_path / "out.png"
    code, _, err = rdh_main(*harmonize_args(world, world.checkpoint, out))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0] == f"rdh: error: {out}: {hint}" + lines[0].split(hint, 1)[1]
    assert not out.exists()


def test_a_disk_full_append_names_the_output_folder(world, tmp_path, rdh_main, monkeypatch):
    import errno

    from harmonize.runlog import RunLog

    def full(self, record):
        raise OSError(errno.ENOSPC, "No space left on device")   # a write() on an open file names no file

    monkeypatch.setattr(RunLog, "write", full)
    run = tmp_path / "run"
    code, _, err = rdh_main(*train_args(world.pairs, run))
    assert code == 2 and "Traceback" not in err, err
    assert err.strip() == f"rdh: error: writing into {run}: no space left on the device: free some space, then rerun " \
                          "(finished work is kept)"


@pytest.fixture
def small_disk(tmp_path):
    """A 400 KB tmpfs (root only; skipped where mounting is not allowed); remount(size) grows it."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)")
    try:
        yield mnt, lambda size: subprocess.run(["mount", "-o", f"remount,size={size}", str(mnt)], check=True)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_make_composites_on_a_full_disk_names_the_file_and_the_rerun_matches(world, tmp_path, small_disk, rdh_main):
    mnt, remount = small_disk
    clean = tmp_path / "clean"
    big = make_store(tmp_path / "big", n_scenes=6, size=(96, 128), styles=[1, 2, 3, 4])
    assert rdh_main("make-composites", big, clean)[0] == 0
    out = mnt / "pairs"
    code, _, err = rdh_main("make-composites", big, out)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"rdh: error: {out}/") and "no space left on the device" in lines[0], lines[0]
    assert not [p for p in out.rglob("*") if ".rdh-tmp-" in p.name]     # nothing half-written
    remount("64m")
    assert rdh_main("make-composites", big, out)[0] == 0
    assert sha256s(out, "*.png") == sha256s(clean, "*.png") and len(sha256s(clean, "*.png")) == 6 * (12 + 4 + 1)


# ---------------------------------------------------------------- 11. leftovers: a replaced input with the same size and time

def test_a_render_replaced_with_the_same_size_and_time_is_noticed(world, tmp_path):
    import zlib

    import numpy as np

    from datagen.capture_store import read_scene
    from datagen.compose import ComposeConfig, make_composites
    from rdhcore.imageio import encode, read_rgb

    store = Path(shutil.copytree(world.store, tmp_path / "captures"))
    out = tmp_path / "pairs"
    make_composites(ComposeConfig(captures=store, out=out))
    render = store / "scenes" / "s0000" / "02.png"
    old, st = render.read_bytes(), render.stat()
    new = encode(np.full((32, 40, 3), 77, np.uint8), "png")                  # a flat image: fewer bytes
    pad = len(old) - len(new) - 12 - len(b"Comment\x00")
    assert pad >= 0
    body = b"Comment\x00" + b"x" * pad
    text = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    replaced = new[:-12] + text + new[-12:]                                  # padded before IEND to the old size
    assert len(replaced) == len(old)
    render.write_bytes(replaced)
    os.utime(render, ns=(st.st_atime_ns, st.st_mtime_ns))                  # and the old modification time
    assert make_composites(ComposeConfig(captures=store, out=out)).scenes_resumed == 1   # s0000 is redone
    scene = read_scene(store, "s0000")
    mask = scene.load_mask(scene.foregrounds[0])
    assert (read_rgb(out / "composite_images" / "s0000_0-1_2.png")[mask] == 77).all()


@pytest.mark.slow
def test_a_train_killed_before_its_first_checkpoint_reruns_as_if_never_stopped(world, tmp_path):
    import time

    from harmonize.runlog import read_records

    def args(run):
        return [sys.executable, "-m", "rdh.cli", "train", "--model", "idih", "--manifest", str(world.pairs), "--out",
                str(run), "--max-steps", "20", "--image-size", "32", "--depth", "4", "--width", "8", "--batch-size",
                "2", "--workers", "0", "--val-fraction", "0"]

    clean = tmp_path / "clean" / "run"
    subprocess.run(args(clean), check=True, capture_output=True, timeout=600)
    run = tmp_path / "killed" / "run"
    proc = subprocess.Popen(args(run), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (run / "log.jsonl").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()                                                  # kill -9, somewhere in the steps
    proc.wait()
    again = args(run) + (["--resume"] if (run / "last.pt").exists() else [])
    subprocess.run(again, check=True, capture_output=True, timeout=600)
    a, b = (torch.load(p / "last.pt", weights_only=True) for p in (clean, run))
    for ckpt in (a, b):
        del ckpt["rng"]["python"], ckpt["rng"]["numpy"], ckpt["config"]["out"]
    assert same(a, b) and b["step"] == 20
    events = [r["event"] for r in read_records(run / "log.jsonl") if r["kind"] == "event"]
    assert events in (["start", "end"], ["start", "end", "resume", "end"])   # no record of the killed run's steps


def test_a_commands_pixel_budget_ends_with_the_command(world, rdh_main):
    from rdhcore.imageio import BUDGET, default_max_pixels

    code, _, err = rdh_main("evaluate", "--manifest", world.pairs, "--checkpoint", world.checkpoint, "--max-pixels", "1000")
    assert code == 2 and "over the pixel budget of 1,000" in err
    assert BUDGET.limit == default_max_pixels() and BUDGET.used == 0
