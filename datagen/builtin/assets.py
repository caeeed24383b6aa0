"""The asset registry: every kind of object a plan can place, and the user's own meshes.

`draw_params(kind, rng)` draws an object's parameters; `build(kind, params)` makes its parts in
the object frame; `placed_parts(obj)` puts them in the world. Built-in kinds live in
`foregrounds` (the six categories) and `props` (the background). A user's meshes come from
`<assets>/<category>/*.obj|*.ply` (y-up, as most exporters write them) and are scaled to a
height typical of the category.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.builtin.foregrounds import FOREGROUNDS, TYPICAL_HEIGHT, ground_parts, random_color
from datagen.builtin.meshes import Part, rot_x, rot_z
from datagen.builtin.props import PROPS
from datagen.builtin.second import apply_restyle
from rdhcore.errors import RdhError

USER_MESH = "user_mesh"
MESH_SUFFIXES = (".obj", ".ply")
KINDS = {**FOREGROUNDS, **PROPS}


def draw_params(kind: str, rng: np.random.Generator) -> dict:
    try:
        draw = KINDS[kind][0]
    except KeyError:
        raise RdhError(f"unknown asset kind {kind!r}: use one of {sorted(KINDS)}") from None
    return draw(rng)


def build(kind: str, params: dict) -> list[Part]:
    """The parts of one object in its own frame (z-up, on z = 0)."""
    if kind == USER_MESH:
        parts = build_user_mesh(params)
    else:
        try:
            builder = KINDS[kind][1]
        except KeyError:
            raise RdhError(f"unknown asset kind {kind!r} in the scene plan: use one of {sorted(KINDS)} or {USER_MESH}") from None
        parts = builder(params)
    if "restyle" in params:             # the second generator's warp and pattern (datagen.builtin.second)
        parts = apply_restyle(parts, params["restyle"])
    return parts


def to_world(parts: list[Part], position, yaw: float, scale: float = 1.0) -> list[Part]:
    r = rot_z(yaw)
    t = np.asarray(position, np.float64)
    for p in parts:
        p.vertices = (p.vertices * scale) @ r.T + t
    return parts


def bounds(parts: list[Part]) -> tuple[np.ndarray, np.ndarray]:
    v = np.concatenate([p.vertices for p in parts])
    return v.min(0), v.max(0)


# --- user meshes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserMeshes:
    """The user's meshes by category (absolute paths, sorted)."""

    root: Path | None
    by_category: dict[str, tuple[str, ...]]

    def get(self, category: str) -> tuple[str, ...]:
        return self.by_category.get(category, ())


def scan_user_meshes(root: str | Path | None) -> UserMeshes:
    """Index <root>/<category>/*.obj|*.ply; RdhError when the folder holds none."""
    if root is None:
        return UserMeshes(None, {})
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise RdhError(f"--assets {root}: not a folder: pass a folder with <category>/*.obj or *.ply files")
    found: dict[str, tuple[str, ...]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(str(f) for f in sub.iterdir() if f.suffix.lower() in MESH_SUFFIXES and f.is_file())
        if files:
            found[sub.name] = tuple(files)
    if not found:
        raise RdhError(f"--assets {root}: no meshes found: put .obj or .ply files in subfolders named by category, "
                       "e.g. human/person.obj")
    return UserMeshes(root, found)


def _sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def draw_user_mesh(path: str, category: str, rng: np.random.Generator) -> dict:
    height = TYPICAL_HEIGHT.get(category, 1.0) * float(rng.uniform(0.85, 1.15))
    return {"path": str(path), "sha256": _sha(path), "category": category, "height": height,
            "color": random_color(rng), "roughness": float(rng.uniform(0.2, 0.6))}


def load_user_mesh(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(vertices z-up, faces, linear vertex colors or None); RdhError naming the file."""
    import trimesh

    try:
        mesh = trimesh.load(path, force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for a bad file
        raise RdhError(f"{path}: cannot read mesh ({exc}): export it as .obj or .ply") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise RdhError(f"{path}: no triangles in this mesh: export it as a triangle mesh (.obj or .ply)")
    v = np.asarray(mesh.vertices, np.float64) @ rot_x(90).T          # y-up -> z-up
    colors = None
    try:
        if mesh.visual.kind == "vertex":
            c = np.asarray(mesh.visual.vertex_colors, np.float64)[:, :3] / 255.0
            colors = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    except Exception:  # colors are optional; a mesh without usable ones gets a drawn color
        colors = None
    if not np.isfinite(v).all():
        raise RdhError(f"{path}: mesh has non-finite vertex positions: repair and re-export it")
    return v, np.asarray(mesh.faces, np.int64), colors


def build_user_mesh(p: dict) -> list[Part]:
    path = p["path"]
    if not Path(path).is_file():
        raise RdhError(f"{path}: the user mesh named in the scene plan is missing: restore it or re-plan the scene")
    if _sha(path) != p["sha256"]:
        raise RdhError(f"{path}: the user mesh changed since the scene was planned: restore it or re-plan the scene")
    v, f, colors = load_user_mesh(path)
    lo, hi = v.min(0), v.max(0)
    size = float(hi[2] - lo[2])
    if size <= 0:
        raise RdhError(f"{path}: the mesh is flat (zero height): export it with z or y up")
    v = (v - [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]]) * (p["height"] / size)
    if colors is not None:
        mat = {"type": "diffuse", "vertex_colors": True}
    else:
        mat = {"type": "plastic", "color": p["color"], "roughness": p["roughness"]}
    return ground_parts([Part("surface", v, f, mat, True, colors=colors)])
