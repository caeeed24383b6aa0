import json

import numpy as np
import pandas as pd
import pytest

from datagen.capture_store import (list_scene_ids, read_scene, rebuild_index, validate_scene,
                                   validate_store, write_scene)
from rdhcore.imageio import read_rgb
from rdhcore.errors import RdhError
from tests.synth import make_store


def test_write_and_read_round_trip(tmp_path):
    make_store(tmp_path, n_scenes=2, size=(24, 30), styles=[1, 2, 10], n_fg=2)
    assert list_scene_ids(tmp_path) == ["s0000", "s0001"]
    scene = validate_scene(tmp_path, "s0000")
    assert scene.size == (30, 24)
    assert scene.style_ids == [1, 2, 10]
    assert [fg["mask"] for fg in scene.foregrounds] == ["fg_0.png", "fg_1.png"]
    mask = scene.load_mask(scene.foregrounds[0])
    assert mask.dtype == bool and 0 < mask.mean() < 1
    assert scene.foregrounds[0]["area_ratio"] == pytest.approx(mask.mean())
    assert read_rgb(scene.image_path(10)).shape == (24, 30, 3)
    assert not list(tmp_path.glob("scenes/.*"))  # no temporary folders left


def test_rebuild_index_counts_rows(tmp_path):
    make_store(tmp_path, n_scenes=3, styles=[1, 5], n_fg=2)
    df = rebuild_index(tmp_path)
    assert len(df) == 3 * 2 * 2
    back = pd.read_parquet(tmp_path / "captures.parquet")
    assert set(back["style_id"]) == {1, 5}
    assert back["image_path"].iloc[0].startswith("scenes/s0000/")


def test_write_scene_refuses_size_mismatch(tmp_path):
    meta = {"scene_id": "x1", "engine": "t", "seed": 0, "camera": {}, "source": {},
            "styles": [{"id": 1, "weather": "Clear", "time": "06:00"}, {"id": 2, "weather": "Clear", "time": "12:00"}],
            "foregrounds": [{"id": 0, "category": "cow"}]}
    images = {1: np.zeros((8, 8, 3), np.uint8), 2: np.zeros((8, 9, 3), np.uint8)}
    with pytest.raises(RdhError, match="differ in size"):
        write_scene(tmp_path, meta, images, {0: np.ones((8, 8), bool)})
    assert not (tmp_path / "scenes" / "x1").exists()


def test_validate_catches_bad_files(tmp_path):
    make_store(tmp_path, n_scenes=1, styles=[1, 2])
    scene_dir = tmp_path / "scenes" / "s0000"
    validate_store(tmp_path)
    (scene_dir / "02.png").write_bytes((scene_dir / "02.png").read_bytes()[:60])
    with pytest.raises(RdhError, match="02.png.*cannot decode"):
        validate_store(tmp_path)


def test_validate_refuses_bad_scene_json(tmp_path):
    make_store(tmp_path, n_scenes=1, styles=[1, 2])
    path = tmp_path / "scenes" / "s0000" / "scene.json"
    meta = json.loads(path.read_text())
    meta["styles"][0]["id"] = 11
    path.write_text(json.dumps(meta))
    with pytest.raises(RdhError, match="out of range"):
        read_scene(tmp_path, "s0000")
    path.write_text("{not json")
    with pytest.raises(RdhError, match="invalid JSON"):
        read_scene(tmp_path, "s0000")
