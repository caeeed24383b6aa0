import json
import shutil

import numpy as np
import pytest

from datagen.capture_store import read_scene
from datagen.compose import ComposeConfig, make_composites, rows_path
from rdhcore.imageio import read_mask, read_rgb
from rdhcore.errors import RdhError
from manifests.schema import read_manifest
from tests.cli import error_line, rdh_process
from tests.synth import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("captures"), n_scenes=3, size=(32, 40), n_fg=2)


@pytest.fixture(scope="module")
def pairs(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("pairs") / "out"
    make_composites(ComposeConfig(captures=store, out=out, charmnet_list="train"))
    return out


def test_all_ordered_pairs_with_exact_pixels(store, pairs):
    df = read_manifest(pairs / "pairs.parquet")
    assert len(df) == 3 * 2 * 10 * 9          # scenes x foregrounds x bg x (fg != bg)
    assert df["pair_id"].is_unique
    assert (df["fg_style"] != df["bg_style"]).all()
    assert set(df["domain"]) == {"rendered"} and set(df["source"]) == {"rdh-synthetic"}
    for _, row in df.sample(12, random_state=0).iterrows():
        scene = read_scene(store, row["group_id"])
        fg_meta = next(f for f in scene.foregrounds if str(f["id"]) == row["fg_id"])
        mask = scene.load_mask(fg_meta)
        fg_img, bg_img = scene.load_image(row["fg_style"]), scene.load_image(row["bg_style"])
        comp = read_rgb(pairs / row["composite_path"])
        target = read_rgb(pairs / row["target_path"])
        assert np.array_equal(comp[mask], fg_img[mask])      # foreground from style fg
        assert np.array_equal(comp[~mask], bg_img[~mask])    # background untouched
        assert np.array_equal(target, bg_img)
        assert np.array_equal(read_mask(pairs / row["mask_path"]), mask)
        assert row["fg_ratio"] == pytest.approx(mask.mean())
        assert row["width"] == 40 and row["height"] == 32


def test_soft_labels(pairs):
    df = read_manifest(pairs)
    labels = np.stack(df["composite_label"].to_numpy())
    np.testing.assert_allclose(labels.sum(1), 1.0, atol=1e-6)
    row = df.iloc[5]
    expected = np.zeros(10)
    expected[row["fg_style"] - 1] += row["fg_ratio"]
    expected[row["bg_style"] - 1] += 1 - row["fg_ratio"]
    np.testing.assert_allclose(row["composite_label"], expected, atol=1e-6)
    target = np.asarray(row["target_label"])
    assert target[row["bg_style"] - 1] == 1 and target.sum() == 1


def test_charmnet_list_format(pairs):
    lines = (pairs / "train_labeled.txt").read_text().splitlines()
    df = read_manifest(pairs)
    assert len(lines) == len(df)
    path, label, style = lines[0].split("\t")
    row = df.iloc[0]
    assert path == row["composite_path"] and int(style) == row["bg_style"]
    np.testing.assert_allclose([float(v) for v in label.split("_")], row["composite_label"], atol=1e-5)


def test_options_per_target_fg_ratio_and_jpg(store, tmp_path):
    cfg = ComposeConfig(captures=store, out=tmp_path / "o", per_target=3, seed=5, format="jpg",
                        max_side=20, min_fg_ratio=0.0, max_fg_ratio=0.115, test_fraction=0.34)
    summary = make_composites(cfg)
    df = read_manifest(tmp_path / "o")
    kept_fg = len(df.groupby(["group_id", "fg_id"]))
    assert summary.skipped["fg_ratio out of bounds"] == (6 - kept_fg) * 30
    assert len(df) == kept_fg * 10 * 3
    assert (df.groupby(["group_id", "fg_id", "bg_style"]).size() == 3).all()
    assert df["composite_path"].str.endswith(".jpg").all()
    assert (df["width"] == 20).all() and (df["height"] == 16).all()
    assert read_rgb(tmp_path / "o" / df["composite_path"].iloc[0]).shape == (16, 20, 3)
    assert df.groupby("group_id")["split"].nunique().max() == 1
    assert set(df["split"]) == {"train", "test"}
    again = ComposeConfig(**{**cfg.__dict__, "out": tmp_path / "o2"})
    make_composites(again)
    assert read_manifest(tmp_path / "o2")["pair_id"].tolist() == df["pair_id"].tolist()


def test_min_fg_change_filter(tmp_path):
    store = make_store(tmp_path / "c", n_scenes=1, styles=[1, 2, 3])
    scene_dir = store / "scenes" / "s0000"
    shutil.copy(scene_dir / "01.png", scene_dir / "02.png")  # style 2 looks exactly like style 1
    summary = make_composites(ComposeConfig(captures=store, out=tmp_path / "o", min_fg_change=1.0))
    df = read_manifest(tmp_path / "o")
    assert summary.skipped["foreground change below threshold"] == 2   # (1 on 2) and (2 on 1)
    assert len(df) == 4 and (df["fg_delta"] >= 1.0).all()


def files_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".rdh" not in p.parts}


def test_two_workers_give_identical_output(store, pairs, tmp_path):
    make_composites(ComposeConfig(captures=store, out=tmp_path / "w2", workers=2, charmnet_list="train"))
    assert files_of(tmp_path / "w2") == files_of(pairs)


def test_resume_after_interrupted_run(store, pairs, tmp_path):
    out = tmp_path / "r"
    calls = []

    def interrupt(n):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_composites(ComposeConfig(captures=store, out=out, charmnet_list="train"), progress=interrupt)
    assert not (out / "pairs.parquet").exists()
    # a scene interrupted midway: its rows file is gone and some of its pairs are on disk
    rows_path(out, "s0001").unlink()
    for p in list((out / "composite_images").glob("s0001_1-*"))[:20]:
        p.unlink()
    summary = make_composites(ComposeConfig(captures=store, out=out, charmnet_list="train"))
    assert summary.scenes_resumed == 1 and summary.written == 20 + 180 and summary.existing == 160
    assert files_of(out) == files_of(pairs)


def test_rerun_with_other_options_is_refused(store, pairs):
    with pytest.raises(RdhError, match="other options.*format"):
        make_composites(ComposeConfig(captures=store, out=pairs, format="jpg"))


def test_cli_summary_and_resume(store, tmp_path):
    proc = rdh_process("make-composites", store, tmp_path / "o", "--per-target", "2", check=True)
    assert "pairs in pairs.parquet" in proc.stdout and "120" in proc.stdout
    again = rdh_process("make-composites", store, tmp_path / "o", "--per-target", "2", check=True)
    assert "scenes finished earlier" in again.stdout


# --- bad input: one line naming the file, non-zero exit, nothing half-written -------------------

def broken_store(tmp_path, damage):
    store = make_store(tmp_path / "cap", n_scenes=1, styles=[1, 2, 3])
    scene = store / "scenes" / "s0000"
    damage(scene)
    return store


def truncate(scene):
    data = (scene / "02.png").read_bytes()
    (scene / "02.png").write_bytes(data[: len(data) // 2])


def garbage(scene):
    (scene / "03.png").write_bytes(b"this is not an image")


def resize_style(scene):
    img = read_rgb(scene / "02.png")
    from rdhcore.imageio import write_image
    write_image(scene / "02.png", img[:-2])


def soft_mask(scene):
    from rdhcore.imageio import write_image
    m = read_mask(scene / "fg_0.png").astype(np.uint8) * 200
    write_image(scene / "fg_0.png", m)


def empty_mask(scene):
    from rdhcore.imageio import write_mask
    write_mask(scene / "fg_0.png", np.zeros_like(read_mask(scene / "fg_0.png")))


def drop_json(scene):
    (scene / "scene.json").unlink()


def bad_json(scene):
    (scene / "scene.json").write_text('{"schema": "rdh.capture/1", ')


def style_out_of_range(scene):
    meta = json.loads((scene / "scene.json").read_text())
    meta["styles"][2]["id"] = 12
    (scene / "scene.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, needle", [
    (truncate, "02.png"), (garbage, "03.png"), (resize_style, "02.png"), (soft_mask, "fg_0.png"),
    (empty_mask, "fg_0.png"), (drop_json, "scene.json"), (bad_json, "scene.json"),
    (style_out_of_range, "scene.json"),
])
def test_bad_capture_input_is_refused(tmp_path, damage, needle):
    store = broken_store(tmp_path, damage)
    out = tmp_path / "out"
    line = error_line(rdh_process("make-composites", store, out))
    assert needle in line and line.startswith("rdh: error:")
    assert not out.exists()


def test_out_inside_input_is_refused(tmp_path):
    store = make_store(tmp_path / "cap", n_scenes=1, styles=[1, 2])
    line = error_line(rdh_process("make-composites", store, store / "pairs"))
    assert "inside the input" in line
    assert not (store / "pairs").exists()
