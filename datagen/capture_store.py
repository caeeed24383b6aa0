"""The capture store: one folder per 2D scene with its style renders and foreground masks.

Layout (docs/design.md)::

    <captures>/scenes/<scene_id>/scene.json
    <captures>/scenes/<scene_id>/<style_id:02d>.png
    <captures>/scenes/<scene_id>/fg_<fg_id>.png
    <captures>/captures.parquet      # index, rebuilt from the scene folders

Scenes are written whole (temporary sibling folder, then rename), so a rerun can skip any
scene folder that exists.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from rdhcore.imageio import read_mask, read_rgb, write_image, write_mask
from datagen.styles import K, style_by_id
from rdhcore.atomic import atomic_dir, atomic_path
from rdhcore.errors import RdhError, is_utf8, short_repr
from rdhcore.files import read_regular
from rdhcore.names import confined

CAPTURE_SCHEMA = "rdh.capture/1"
SCENE_ID_RE = re.compile(r"[a-z0-9]+")
FG_ID_RE = re.compile(r"[0-9]+")
TIME_RE = re.compile(r"\d{2}:\d{2}")
INDEX_NAME = "captures.parquet"


def scenes_dir(root: str | Path) -> Path:
    return Path(root) / "scenes"


def style_file(style_id: int) -> str:
    return f"{int(style_id):02d}.png"


def mask_file(fg_id: int | str) -> str:
    return f"fg_{fg_id}.png"


@dataclass
class Scene:
    """One scene folder and its parsed scene.json."""

    path: Path
    meta: dict

    @property
    def scene_id(self) -> str:
        return self.meta["scene_id"]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.meta["width"]), int(self.meta["height"])

    @property
    def style_ids(self) -> list[int]:
        return sorted(int(s["id"]) for s in self.meta["styles"])

    @property
    def foregrounds(self) -> list[dict]:
        return list(self.meta["foregrounds"])

    def style_entry(self, style_id: int) -> dict:
        for s in self.meta["styles"]:
            if int(s["id"]) == int(style_id):
                return s
        raise KeyError(style_id)

    def image_path(self, style_id: int) -> Path:
        return confined(self.style_entry(style_id)["file"], self.path, f"{self.path / 'scene.json'}: style {style_id} file")

    def mask_path(self, fg: dict) -> Path:
        return confined(fg["mask"], self.path, f"{self.path / 'scene.json'}: foreground {fg['id']} mask")

    def load_image(self, style_id: int) -> np.ndarray:
        return read_rgb(self.image_path(style_id))

    def load_mask(self, fg: dict) -> np.ndarray:
        return read_mask(self.mask_path(fg))


def list_scene_ids(root: str | Path) -> list[str]:
    """Ids of the finished scene folders (temporary folders are skipped), sorted."""
    d = scenes_dir(root)
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if SCENE_ID_RE.fullmatch(p.name) and p.is_dir())


def scene_exists(root: str | Path, scene_id: str) -> bool:
    return (scenes_dir(root) / scene_id / "scene.json").is_file()


def has_scenes(root: str | Path) -> bool:
    """Whether the store holds at least one scene."""
    return any(scenes_dir(root).glob("*/scene.json"))


def read_scene(root_or_dir: str | Path, scene_id: str | None = None) -> Scene:
    """Read and check one scene.json (not the images: see validate_scene)."""
    path = Path(root_or_dir) if scene_id is None else scenes_dir(root_or_dir) / scene_id
    meta_path = path / "scene.json"
    if not meta_path.exists() and not meta_path.is_symlink():
        raise RdhError(f"{meta_path}: scene.json is missing: re-render the scene or delete its folder")
    meta = load_json(meta_path, "re-render the scene or delete its folder")
    check_scene_meta(meta, meta_path)
    if meta["scene_id"] != path.name:
        raise RdhError(f"{meta_path}: scene_id {meta['scene_id']!r} differs from its folder name {path.name!r}")
    return Scene(path, meta)


def load_json(path: Path, fix: str) -> object:
    """A JSON file's value; RdhError naming the file when it is not a regular, valid UTF-8 JSON file."""
    data = read_regular(path, "JSON file")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise RdhError(f"{path}: not UTF-8 text: {fix}") from None
    except json.JSONDecodeError as exc:
        raise RdhError(f"{path}: invalid JSON ({exc}): {fix}") from None
    except RecursionError:
        raise RdhError(f"{path}: JSON nested too deeply to be a scene description: {fix}") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not an id or a size


def check_scene_meta(meta: dict, where: str | Path = "scene.json") -> None:
    """Check scene.json against the rdh.capture/1 schema; RdhError naming the fault."""
    def fail(msg: str) -> None:
        raise RdhError(f"{where}: {msg}: fix scene.json or re-render the scene")

    if not isinstance(meta, dict):
        fail("not a JSON object")
    if meta.get("schema") != CAPTURE_SCHEMA:
        fail(f"schema is {meta.get('schema')!r}, expected {CAPTURE_SCHEMA!r}")
    for key in ("scene_id", "engine", "seed", "width", "height", "styles", "foregrounds", "camera", "source"):
        if key not in meta:
            fail(f"missing key {key!r}")
    if not isinstance(meta["scene_id"], str) or not SCENE_ID_RE.fullmatch(meta["scene_id"]):
        fail(f"scene_id {meta['scene_id']!r} must match [a-z0-9]+")
    if not isinstance(meta["engine"], str) or not ENGINE_RE.fullmatch(meta["engine"]):
        fail(f"engine {short_repr(meta['engine'])} must be a name like builtin or unity ([a-z0-9_.-]+)")
    for key in ("width", "height"):
        if not _is_int(meta[key]) or meta[key] <= 0:
            fail(f"{key} must be a positive integer")
    if not isinstance(meta["styles"], list) or not meta["styles"]:
        fail("styles must be a non-empty list")
    seen = set()
    for s in meta["styles"]:
        if not isinstance(s, dict) or not {"id", "file", "weather", "time"} <= set(s):
            fail("each style needs id, file, weather and time")
        sid = s["id"]
        if not _is_int(sid) or not 1 <= sid <= K:
            fail(f"style id {sid!r} is out of range 1..{K}")
        if sid in seen:
            fail(f"style id {sid} appears twice")
        seen.add(sid)
        if not isinstance(s["weather"], str):
            fail(f"style {sid} weather {s['weather']!r} must be a string")
        if not isinstance(s["time"], str) or not TIME_RE.fullmatch(s["time"]):
            fail(f"style {sid} time {s['time']!r} is not HH:MM")
        _check_file_entry(s["file"], f"style {sid} file", fail)
    if not isinstance(meta["foregrounds"], list) or not meta["foregrounds"]:
        fail("foregrounds must be a non-empty list")
    fg_seen: set[str] = set()
    for fg in meta["foregrounds"]:
        if not isinstance(fg, dict) or not {"id", "category", "mask"} <= set(fg):
            fail("each foreground needs id, category and mask")
        if isinstance(fg["id"], bool) or not isinstance(fg["id"], (int, str)) or not FG_ID_RE.fullmatch(str(fg["id"])):
            fail(f"foreground id {fg['id']!r} must match [0-9]+")
        if str(fg["id"]) in fg_seen:
            fail(f"foreground id {fg['id']} appears twice")
        fg_seen.add(str(fg["id"]))
        if not isinstance(fg["category"], str) or not fg["category"]:
            fail(f"foreground {fg['id']} category {fg['category']!r} must be a non-empty string")
        if not is_utf8(fg["category"]):
            fail(f"foreground {fg['id']} category {fg['category']!r} holds a lone surrogate (not text): "
                 "write the category as UTF-8 text")
        ratio = fg.get("area_ratio", 0.0)
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
            fail(f"foreground {fg['id']} area_ratio {ratio!r} must be a number in [0, 1]")
        _check_file_entry(fg["mask"], f"foreground {fg['id']} mask", fail)


ENGINE_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def _check_file_entry(name: object, what: str, fail) -> None:
    """A scene.json file entry: a file name inside the scene folder (no folders, no '..')."""
    if not isinstance(name, str) or not name:
        fail(f"{what} {name!r} must be a file name (a string)")
    if "/" in name or "\\" in name or "\x00" in name or name in (".", ".."):
        fail(f"{what} {name!r} must be a plain file name inside the scene folder")


def validate_scene(root_or_dir: str | Path, scene_id: str | None = None) -> Scene:
    """Read a scene and check its files: images decode and share the scene's size, masks are
    binary, non-empty and of the same size. Returns the Scene."""
    scene = read_scene(root_or_dir, scene_id)
    w, h = scene.size
    for sid in scene.style_ids:
        path = scene.image_path(sid)
        img = read_rgb(path)
        if img.shape[:2] != (h, w):
            raise RdhError(f"{path}: image is {img.shape[1]}x{img.shape[0]}, the scene is {w}x{h}: all styles of a scene must share one size")
    for fg in scene.foregrounds:
        path = scene.mask_path(fg)
        mask = read_mask(path)
        if mask.shape != (h, w):
            raise RdhError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]}, the scene is {w}x{h}: re-render the mask at the scene size")
        if not mask.any():
            raise RdhError(f"{path}: mask is empty: the foreground is not visible, drop it from scene.json or re-render")
    return scene


def validate_store(root: str | Path) -> list[Scene]:
    """Validate every scene of a store; RdhError at the first fault."""
    ids = list_scene_ids(root)
    if not ids:
        raise RdhError(f"{root}: no scenes found under {scenes_dir(root)}: pass a capture store made by `rdh render-scenes`")
    return [validate_scene(root, sid) for sid in ids]


def write_scene(root: str | Path, meta: dict, images: Mapping[int, np.ndarray | str | Path],
                masks: Mapping[int | str, np.ndarray | str | Path], *, move_files: bool = False) -> Scene:
    """Write one scene atomically and return it.

    `meta` holds at least schema-free keys scene_id, engine, seed, camera, source, and
    `styles` (list of dicts with id, weather, time, ...) and `foregrounds` (id, category);
    file names, width, height, mask names and area ratios are filled in here.
    `images` maps style id -> RGB uint8 array or an image file to copy (or move); `masks`
    maps fg id -> bool/uint8 array or a mask file. Every file given is decoded and checked.
    """
    root = Path(root)
    meta = json.loads(json.dumps(meta))  # a deep copy that is JSON-clean
    meta.setdefault("schema", CAPTURE_SCHEMA)
    scene_id = meta["scene_id"]
    if not SCENE_ID_RE.fullmatch(str(scene_id)):
        raise RdhError(f"scene_id {scene_id!r} must match [a-z0-9]+")
    target = scenes_dir(root) / scene_id
    arrays = {int(k): (v if isinstance(v, np.ndarray) else read_rgb(v)) for k, v in images.items()}
    mask_arrays = {str(k): (np.asarray(v) > 0 if isinstance(v, np.ndarray) else read_mask(v)) for k, v in masks.items()}
    if not arrays:
        raise RdhError(f"scene {scene_id}: no style images to write")
    shapes = {a.shape[:2] for a in arrays.values()} | {m.shape for m in mask_arrays.values()}
    if len(shapes) != 1:
        raise RdhError(f"scene {scene_id}: images and masks differ in size ({sorted(shapes)}): all must share one size")
    h, w = shapes.pop()
    meta["width"], meta["height"] = int(w), int(h)
    styles = {int(s["id"]): dict(s) for s in meta["styles"]}
    for sid in arrays:
        style_by_id(sid)
        if sid not in styles:
            raise RdhError(f"scene {scene_id}: image for style {sid} has no entry in meta['styles']")
        styles[sid]["file"] = style_file(sid)
    meta["styles"] = [styles[sid] for sid in sorted(arrays)]
    fgs = {str(f["id"]): dict(f) for f in meta["foregrounds"]}
    for fid, m in mask_arrays.items():
        if fid not in fgs:
            raise RdhError(f"scene {scene_id}: mask for foreground {fid} has no entry in meta['foregrounds']")
        fgs[fid]["mask"] = mask_file(fid)
        fgs[fid]["area_ratio"] = float(m.mean())
    meta["foregrounds"] = [fgs[fid] for fid in sorted(mask_arrays, key=int)]
    check_scene_meta(meta, f"scene {scene_id}")
    with atomic_dir(target) as tmp:
        for sid, img in arrays.items():
            src = images[sid]
            if move_files and not isinstance(src, np.ndarray) and Path(src).suffix.lower() == ".png":
                shutil.move(str(src), tmp / style_file(sid))
            else:
                write_image(tmp / style_file(sid), img)
        for fid, m in mask_arrays.items():
            write_mask(tmp / mask_file(fid), m)
        (tmp / "scene.json").write_text(json.dumps(meta, indent=2))
    return Scene(target, meta)


def index_rows(scene: Scene) -> list[dict]:
    """Rows of captures.parquet for one scene: one per (style, foreground)."""
    rows = []
    for s in scene.meta["styles"]:
        for fg in scene.foregrounds:
            rows.append({
                "scene_id": scene.scene_id, "engine": scene.meta["engine"], "seed": scene.meta["seed"],
                "style_id": int(s["id"]), "image_path": f"scenes/{scene.scene_id}/{s['file']}",
                "weather": s["weather"], "time": s["time"],
                "fg_id": str(fg["id"]), "category": fg["category"],
                "mask_path": f"scenes/{scene.scene_id}/{fg['mask']}",
                "area_ratio": float(fg.get("area_ratio", np.nan)),
                "width": scene.size[0], "height": scene.size[1],
            })
    return rows


def rebuild_index(root: str | Path) -> pd.DataFrame:
    """Rebuild captures.parquet from the scene folders (reads only scene.json) and return it."""
    rows = [r for sid in list_scene_ids(root) for r in index_rows(read_scene(root, sid))]
    columns = ["scene_id", "engine", "seed", "style_id", "image_path", "weather", "time", "fg_id",
               "category", "mask_path", "area_ratio", "width", "height"]
    df = pd.DataFrame(rows, columns=columns)
    with atomic_path(Path(root) / INDEX_NAME) as tmp:
        df.to_parquet(tmp, index=False)
    return df
