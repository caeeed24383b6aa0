"""A generated corpus of bad inputs, one or more per defect class of issue 14.

Every case builds its bad input from small real data (a capture store, a pair dataset, a
checkpoint made here), runs the real `rdh` command line, and must end in exit status 2 with
exactly one `rdh: error:` line that names the file or option, no traceback, and not one file
written or changed anywhere (inside OUT or outside it).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from datagen.compose import ComposeConfig, make_composites
from manifests.schema import read_manifest, resolve_paths
from tests.cli import assert_refused
from tests.synth import make_store


@dataclass
class World:
    """Inputs the cases copy and damage: never changed themselves."""

    root: Path
    store: Path
    pairs: Path        # a png pair dataset with a test split
    jpg_pairs: Path    # the same scenes as jpg
    checkpoint: Path   # a tiny iDIH checkpoint that holds model weights only


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    from harmonize.blocks import UNetSpec
    from harmonize.checkpoint import model_payload, save_checkpoint
    from harmonize.idih import IDIH

    root = tmp_path_factory.mktemp("world")
    store = make_store(root / "captures", n_scenes=2, size=(32, 40), styles=[1, 2, 3], n_fg=1)
    make_composites(ComposeConfig(captures=store, out=root / "pairs", test_fraction=0.5, seed=1))
    make_composites(ComposeConfig(captures=store, out=root / "jpg_pairs", format="jpg"))
    ckpt = save_checkpoint(model_payload(IDIH(UNetSpec(depth=4, width=8)), "idih", 32), root / "weights.pt")
    return World(root, store, root / "pairs", root / "jpg_pairs", ckpt)


CASES: dict[str, Callable[[World, Path], tuple[list, str]]] = {}


def case(fn):
    """Register a case: fn(world, tmp) -> (argv, text the error line must hold)."""
    CASES[fn.__name__] = fn
    return fn


def copy_store(w: World, tmp: Path) -> Path:
    return Path(shutil.copytree(w.store, tmp / "captures", symlinks=True))


def scene_json(store: Path, scene: str = "s0000") -> Path:
    return store / "scenes" / scene / "scene.json"


def edit_scene(store: Path, change, scene: str = "s0000") -> None:
    path = scene_json(store, scene)
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def copy_pairs(w: World, tmp: Path, jpg: bool = False) -> Path:
    return Path(shutil.copytree(w.jpg_pairs if jpg else w.pairs, tmp / "pairs"))


def edit_manifest(folder: Path, change) -> Path:
    """Change pairs.parquet in place without validation (as a hand-edited file would be)."""
    import pyarrow.parquet as pq

    from manifests.schema import to_table

    path = folder / "pairs.parquet"
    df = change(read_manifest(path))
    metadata = pq.read_schema(path).metadata      # kept as it was, as a hand edit with pyarrow keeps it
    pq.write_table(to_table(df).replace_schema_metadata(metadata), path)
    return path


def csv_source(tmp: Path, w: World, rows: list[dict] | None = None, text: bytes | None = None) -> Path:
    """A --csv file whose rows point at the world's png pairs (absolute paths)."""
    path = tmp / "src" / "pairs.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        path.write_bytes(text)
        return path
    df = resolve_paths(read_manifest(w.pairs / "pairs.parquet"), w.pairs / "pairs.parquet").head(3)
    base = [{"composite": r.composite_path, "target": r.target_path, "mask": r.mask_path} for r in df.itertuples()]
    rows = [{**base[i % len(base)], **extra} for i, extra in enumerate(rows or [{}])]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    path.write_text(",".join(cols) + "\n" + "".join(",".join(str(r.get(c, "")) for c in cols) + "\n" for r in rows))
    return path


def train_args(manifest, out, *more) -> list:
    return ["train", "--model", "idih", "--manifest", manifest, "--out", out, "--max-steps", "1",
            "--image-size", "32", "--depth", "4", "--width", "8", "--batch-size", "2", "--workers", "0",
            "--val-fraction", "0", *more]


# ---------------------------------------------------------------- 1. paths escape their folder

@case
def c1_pair_id_empty_in_save_outputs(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = edit_manifest(pairs, lambda df: df.assign(pair_id=[""] + list(df["pair_id"][1:]), split=["test"] * len(df)))
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint, "--save-outputs", tmp / "out"], "pair_id is empty"


@case
def c1_manifest_path_edited_to_leave_its_folder(w, tmp):
    pairs = copy_pairs(w, tmp)
    shutil.copy(pairs / "real_images" / "s0000_0-1.png", tmp / "outside.png")
    m = edit_manifest(pairs, lambda df: df.assign(target_path=["../../outside.png"] * len(df)))
    return train_args(m, tmp / "run"), "leaves the manifest's folder"


@case
def c1_manifest_absolute_path_in_evaluate(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = edit_manifest(pairs, lambda df: df.assign(mask_path=["/etc/hostname"] * len(df)))
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint], "'/etc/hostname'"


@case
def c1_manifest_path_outside_in_build(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = edit_manifest(pairs, lambda df: df.assign(composite_path=["../x/../../y.png"] * len(df)))
    return ["build-manifest", "--pairs", m, tmp / "out" / "m.parquet"], "leaves the manifest's folder"


@case
def c1_scene_file_with_dotdot(w, tmp):
    store = copy_store(w, tmp)
    shutil.copy(store / "scenes" / "s0000" / "01.png", tmp / "outside.png")
    edit_scene(store, lambda m: m["styles"][0].update(file="../../../outside.png"))
    return ["make-composites", store, tmp / "out"], "plain file name"


@case
def c1_scene_mask_absolute(w, tmp):
    store = copy_store(w, tmp)
    shutil.copy(store / "scenes" / "s0000" / "fg_0.png", tmp / "outside_mask.png")
    edit_scene(store, lambda m: m["foregrounds"][0].update(mask=str(tmp / "outside_mask.png")))
    return ["make-composites", store, tmp / "out"], "mask"


@case
def c1_scene_file_symlinked_outside(w, tmp):
    store = copy_store(w, tmp)
    image = store / "scenes" / "s0000" / "02.png"
    shutil.move(image, tmp / "elsewhere.png")
    image.symlink_to(tmp / "elsewhere.png")
    return ["make-composites", store, tmp / "out"], "leaves its folder"


@case
def c1_charmnet_list_name_with_dotdot(w, tmp):
    return ["make-composites", w.store, tmp / "out", "--charmnet-list", "../evil"], "--charmnet-list"


# ---------------------------------------------------------------- 2. two writers, one folder

@case
def c2_out_locked_by_a_live_run(w, tmp):
    out = tmp / "out"
    out.mkdir()
    (out / ".rdh-lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                               "command": "rdh make-composites"}))
    return ["make-composites", w.store, out], "in use by `rdh make-composites`"


@case
def c2_train_out_locked_on_another_host(w, tmp):
    out = tmp / "run"
    out.mkdir()
    (out / ".rdh-lock").write_text(json.dumps({"pid": 1, "host": "another-host", "command": "rdh train"}))
    return train_args(w.pairs, out), "another-host"


# ---------------------------------------------------------------- 4. bad values

@case
def c4_csv_style_id_inf(w, tmp):
    src = csv_source(tmp, w, [{"domain": "rendered", "fg_style": "inf", "bg_style": "1"}])
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet"], "style id 'inf'"


@case
def c4_csv_style_id_nan(w, tmp):
    src = csv_source(tmp, w, [{"domain": "rendered", "fg_style": "nan", "bg_style": "1"}])
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet"], "style id 'nan'"


@case
def c4_csv_style_id_true(w, tmp):
    src = csv_source(tmp, w, [{"domain": "rendered", "fg_style": "true", "bg_style": "1"}])
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet"], "style id 'true'"


@case
def c4_csv_style_id_fraction(w, tmp):
    src = csv_source(tmp, w, [{"domain": "rendered", "fg_style": "1.5", "bg_style": "1"}])
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet"], "style id '1.5'"


@case
def c4_csv_label_inf(w, tmp):
    label = "_".join(["inf"] + ["0"] * 9)
    src = csv_source(tmp, w, [{"domain": "rendered", "composite_label": label, "bg_style": "1"}])
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet"], "label"


def _nan_label(df):
    labels = [np.asarray(v, np.float32).copy() for v in df["composite_label"]]
    labels[0][0] = np.nan
    return df.assign(composite_label=labels)


@case
def c4_manifest_nan_label_in_train(w, tmp):
    m = edit_manifest(copy_pairs(w, tmp), _nan_label)
    return train_args(m, tmp / "run"), "composite_label"


@case
def c4_manifest_nan_label_in_build(w, tmp):
    m = edit_manifest(copy_pairs(w, tmp), _nan_label)
    return ["build-manifest", "--pairs", m, tmp / "out" / "m.parquet"], "composite_label"


@case
def c4_manifest_inf_label_in_evaluate(w, tmp):
    def inf_label(df):
        labels = [np.asarray(v, np.float32).copy() for v in df["target_label"]]
        labels[1][3] = np.inf
        return df.assign(target_label=labels)
    m = edit_manifest(copy_pairs(w, tmp), inf_label)
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint], "target_label"


def write_raw_manifest(folder: Path, column: str, values) -> Path:
    """pairs.parquet with one column replaced as is (bool, float), the rdh metadata kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "pairs.parquet"
    table = pq.read_table(path)
    i = table.schema.get_field_index(column)
    table = table.set_column(i, column, pa.array(values))
    pq.write_table(table.replace_schema_metadata(pq.read_schema(path).metadata), path)
    return path


@case
def c4_manifest_style_id_true(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = write_raw_manifest(pairs, "fg_style", [True] * len(read_manifest(pairs)))
    return train_args(m, tmp / "run"), "fg_style holds true/false"


@case
def c4_manifest_style_id_inf(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = write_raw_manifest(pairs, "bg_style", [np.inf] + [1.0] * (len(read_manifest(pairs)) - 1))
    return ["build-manifest", "--pairs", m, tmp / "out" / "m.parquet"], "bg_style inf"


@case
def c4_manifest_style_id_fraction_in_evaluate(w, tmp):
    pairs = copy_pairs(w, tmp)
    m = write_raw_manifest(pairs, "fg_style", [1.5] * len(read_manifest(pairs)))
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint], "fg_style 1.5"


@case
def c4_scene_style_id_true(w, tmp):
    store = copy_store(w, tmp)
    edit_scene(store, lambda m: m["styles"][0].update(id=True))
    return ["make-composites", store, tmp / "out"], "style id True"


@case
def c4_scene_width_true(w, tmp):
    store = copy_store(w, tmp)
    edit_scene(store, lambda m: m.update(width=True))
    return ["make-composites", store, tmp / "out"], "width must be a positive integer"


@case
def c4_scene_area_ratio_nan(w, tmp):
    store = copy_store(w, tmp)
    edit_scene(store, lambda m: m["foregrounds"][0].update(area_ratio=float("nan")))
    return ["make-composites", store, tmp / "out"], "area_ratio nan"


@case
def c4_scene_category_not_a_string(w, tmp):
    store = copy_store(w, tmp)
    edit_scene(store, lambda m: m["foregrounds"][0].update(category=None))
    return ["make-composites", store, tmp / "out"], "category None"


@case
def c4_verify_composite_given_as_mask(w, tmp):
    df = resolve_paths(read_manifest(w.pairs / "pairs.parquet"), w.pairs / "pairs.parquet").head(2)
    src = tmp / "src" / "pairs.csv"
    src.parent.mkdir()
    src.write_text("composite,target,mask\n" + "".join(f"{r.composite_path},{r.target_path},{r.composite_path}\n"
                                                        for r in df.itertuples()))
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet", "--verify-images"], "mask is a color image"


@case
def c4_verify_mask_given_as_target(w, tmp):
    df = resolve_paths(read_manifest(w.pairs / "pairs.parquet"), w.pairs / "pairs.parquet").head(2)
    src = tmp / "src" / "pairs.csv"
    src.parent.mkdir()
    src.write_text("composite,target,mask\n" + "".join(f"{r.composite_path},{r.mask_path},{r.mask_path}\n"
                                                        for r in df.itertuples()))
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet", "--verify-images"], "target is a black-and-white mask"


def _truncate(path: Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@case
def c4_verify_truncated_jpeg(w, tmp):
    pairs = copy_pairs(w, tmp, jpg=True)
    _truncate(next((pairs / "composite_images").iterdir()))
    return ["build-manifest", "--pairs", pairs, tmp / "out" / "m.parquet", "--verify-images"], "truncated"


@case
def c4_train_on_truncated_jpegs(w, tmp):
    pairs = copy_pairs(w, tmp, jpg=True)
    for p in (pairs / "composite_images").iterdir():
        _truncate(p)
    return train_args(pairs / "pairs.parquet", tmp / "run"), "truncated"


@case
def c4_evaluate_truncated_target(w, tmp):
    pairs = copy_pairs(w, tmp, jpg=True)
    m = edit_manifest(pairs, lambda df: df.assign(split=["test"] * len(df)))
    for p in (pairs / "real_images").iterdir():
        _truncate(p)
    return ["evaluate", "--manifest", m, "--checkpoint", w.checkpoint], "truncated"


# ---------------------------------------------------------------- 5. tracebacks instead of one line

@case
def c5_out_is_an_existing_file(w, tmp):
    (tmp / "out").write_text("not a folder")
    return ["make-composites", w.store, tmp / "out"], "is not a folder"


@case
def c5_train_out_is_an_existing_file(w, tmp):
    (tmp / "run").write_text("not a folder")
    return train_args(w.pairs, tmp / "run"), "is not a folder"


@case
def c5_out_under_a_file(w, tmp):
    (tmp / "file").write_text("x")
    return ["make-composites", w.store, tmp / "file" / "out"], "file"


@case
def c5_out_where_writing_is_not_permitted(w, tmp):
    return ["make-composites", w.store, "/sys/rdh-no-such-out"], "/sys/rdh-no-such-out"


@case
def c5_out_in_a_read_only_folder(w, tmp):
    if os.geteuid() == 0:
        return ["make-composites", w.store, "/proc/rdh-no-such/out"], "/proc/rdh-no-such"  # root passes chmod
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return ["make-composites", w.store, locked / "out"], "permission denied"


@case
def c5_scene_file_not_a_string(w, tmp):
    store = copy_store(w, tmp)
    edit_scene(store, lambda m: m["styles"][0].update(file=5))
    return ["make-composites", store, tmp / "out"], "style 1 file 5"


@case
def c5_scene_mask_not_a_string(w, tmp):
    store = copy_store(w, tmp)
    edit_scene(store, lambda m: m["foregrounds"][0].update(mask=["fg_0.png"]))
    return ["make-composites", store, tmp / "out"], "mask ['fg_0.png']"


@case
def c5_scene_json_nested_deeply(w, tmp):
    store = copy_store(w, tmp)
    scene_json(store).write_text("[" * 200_000 + "]" * 200_000)
    return ["make-composites", store, tmp / "out"], "nested too deeply"


@case
def c5_scene_json_symlink_loop(w, tmp):
    store = copy_store(w, tmp)
    path = scene_json(store)
    path.unlink()
    path.symlink_to(path)
    return ["make-composites", store, tmp / "out"], "scene.json"


@case
def c5_scene_json_not_utf8(w, tmp):
    store = copy_store(w, tmp)
    scene_json(store).write_bytes(b'{"schema": "rdh.capture/1", "x": "\xff\xfe"}')
    return ["make-composites", store, tmp / "out"], "not UTF-8"


@case
def c5_csv_not_utf8(w, tmp):
    src = csv_source(tmp, w, text="composite,target,mask\ncaf\xe9.jpg,t.jpg,m.png\n".encode("latin-1"))
    return ["build-manifest", "--csv", src, tmp / "out" / "m.parquet"], "not UTF-8"


@case
def c5_iharmony4_list_not_utf8(w, tmp):
    from tests.test_manifest_trees import make_iharmony4

    root = tmp / "iHarmony4"
    make_iharmony4(root)
    (root / "HCOCO" / "HCOCO_train.txt").write_bytes("c1_1_1.jpg\nd\xe9j\xe0.jpg\n".encode("latin-1"))
    return ["build-manifest", "--iharmony4", root, tmp / "out" / "m.parquet"], "HCOCO_train.txt: not UTF-8"


@case
def c5_rdharmony_list_not_utf8(w, tmp):
    from tests.test_manifest_trees import make_rdharmony

    root = tmp / "RdHarmony"
    make_rdharmony(root)
    lst = next(root.glob("*.txt"))
    lst.write_bytes(b"composite_images/\xff.jpg\t0.1_0.9_0_0_0_0_0_0_0_0\t2\n")
    return ["build-manifest", "--rdharmony", root, "--rdharmony-list", lst, tmp / "out" / "m.parquet"], "not UTF-8"


@case
def c5_styles_file_not_utf8(w, tmp):
    (tmp / "styles.toml").write_bytes(b"weathers = [\"\xff\"]\n")
    return ["render-scenes", tmp / "out", "--scenes", "1", "--styles-file", tmp / "styles.toml"], "styles.toml: not UTF-8"


@case
def c5_batch_size_one_with_batchnorm(w, tmp):
    args = train_args(w.pairs, tmp / "run")
    args[args.index("--batch-size") + 1] = "1"
    return args, "--batch-size 1"


@case
def c5_resume_from_weights_only(w, tmp):
    run = tmp / "run"
    run.mkdir()
    shutil.copy(w.checkpoint, run / "last.pt")
    return train_args(w.pairs, run, "--resume"), "holds model weights only"


@case
def c5_manifest_symlink_loop(w, tmp):
    loop = tmp / "loop.parquet"
    loop.symlink_to(loop)
    return train_args(loop, tmp / "run"), "loop.parquet"


@case
def c5_checkpoint_is_a_fifo(w, tmp):
    os.mkfifo(tmp / "ckpt.pt")
    return ["evaluate", "--manifest", w.pairs, "--checkpoint", tmp / "ckpt.pt"], "ckpt.pt"


# ---------------------------------------------------------------- 7. stale state

@case
def c7_render_rerun_with_another_resolution(w, tmp):
    from datagen.render import render
    from datagen.render_config import BuiltinOptions, RenderConfig

    store = tmp / "renders"
    render(RenderConfig(out=store, scenes=1, resolution=32, styles=(2,),
                        builtin=BuiltinOptions(spp=1, denoise=False, variant="scalar")))
    return ["render-scenes", store, "--scenes", "2", "--resolution", "48", "--styles", "2", "--spp", "1",
            "--no-denoise", "--variant", "scalar"], "resolution 32 -> 48"


@case
def c7_composites_rerun_with_another_format(w, tmp):
    pairs = copy_pairs(w, tmp)
    return ["make-composites", w.store, pairs, "--format", "jpg"], "other options (format"


# ---------------------------------------------------------------- 9. only regular files; checks before writes

@case
def c9_fifo_in_the_capture_store(w, tmp):
    store = copy_store(w, tmp)
    image = store / "scenes" / "s0001" / "02.png"
    image.unlink()
    os.mkfifo(image)
    return ["make-composites", store, tmp / "out"], "not a regular file"


@case
def c9_corrupt_image_in_a_later_scene(w, tmp):
    store = copy_store(w, tmp)
    image = store / "scenes" / "s0001" / "03.png"
    data = bytearray(image.read_bytes())
    data[40:-12] = bytes(len(data) - 52)  # header and IEND intact, pixels gone
    image.write_bytes(bytes(data))
    return ["make-composites", store, tmp / "out"], "03.png"


# ---------------------------------------------------------------- the runner

def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: kind, size and mtime (symlinks and FIFOs are not followed; a folder's
    mtime is left out: a refused lock attempt touches its folder and leaves nothing in it)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            is_dir = p.is_dir() and not p.is_symlink()
            found[str(p.relative_to(root))] = (st.st_mode, 0 if is_dir else st.st_size, 0 if is_dir else st.st_mtime_ns)
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_ends_in_one_line_and_writes_nothing(name, world, tmp_path, rdh_main):
    work = tmp_path / "case"
    work.mkdir()
    argv, needle = CASES[name](world, work)
    before_world, before = snapshot(world.root), snapshot(tmp_path)
    assert_refused(*rdh_main(*argv), needle)
    assert snapshot(tmp_path) == before, "files were written or changed"
    assert snapshot(world.root) == before_world
    assert not list(tmp_path.parent.glob("escaped*")) and not (tmp_path / "abs.png").exists()


def test_the_corpus_covers_every_class():
    classes = {name.split("_")[0] for name in CASES}
    assert {"c1", "c2", "c4", "c5", "c7", "c9"} <= classes
    assert len(CASES) >= 40
