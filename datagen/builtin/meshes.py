"""Mesh primitives for the procedural assets: capsules, tapered cylinders, ellipsoids, rounded
boxes, lathes and tori placed between points, and the Part that carries a mesh and its material.

World and object frames are z-up, in meters. Functions return (vertices (n, 3) float64,
faces (m, 3) int64); `Part` adds the material slot, per-vertex colors and UVs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

Mesh = tuple[np.ndarray, np.ndarray]


@dataclass
class Part:
    """One mesh of an object with one material. `slot` names the material inside the object."""

    slot: str
    vertices: np.ndarray
    faces: np.ndarray
    material: dict
    smooth: bool = True                 # crease-aware vertex normals; False: flat faces
    uv: np.ndarray | None = None        # (n, 2), for textured materials
    colors: np.ndarray | None = None    # (n, 3) linear RGB, for materials with vertex_colors
    emission: dict | None = None        # area emitter: {"texture": ..., "scale": ...} (night windows)
    meta: dict = field(default_factory=dict)


# --- rotations ---------------------------------------------------------------------------------

def rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_z(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def align_z(direction: np.ndarray) -> np.ndarray:
    """The rotation taking +z onto `direction` (Rodrigues)."""
    d = np.asarray(direction, np.float64)
    d = d / (np.linalg.norm(d) + 1e-12)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(z, d)
    c = float(np.dot(z, d))
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k * (1.0 / (1.0 + c))


def place(mesh: Mesh, rotation: np.ndarray | None = None, translation=(0.0, 0.0, 0.0),
          scale=1.0) -> Mesh:
    v, f = mesh
    v = v * np.asarray(scale, np.float64)
    if rotation is not None:
        v = v @ np.asarray(rotation).T
    return v + np.asarray(translation, np.float64), f


def _tm(m: trimesh.Trimesh) -> Mesh:
    return np.asarray(m.vertices, np.float64), np.asarray(m.faces, np.int64)


# --- primitives --------------------------------------------------------------------------------

def capsule(p0, p1, radius: float, count: int = 12) -> Mesh:
    """A capsule whose hemisphere centers are p0 and p1."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    length = float(np.linalg.norm(p1 - p0))
    m = _tm(trimesh.creation.capsule(height=max(length, 1e-4), radius=radius, count=[count, count]))
    return place(m, align_z(p1 - p0 if length > 1e-6 else [0, 0, 1]), (p0 + p1) / 2)


def cylinder(p0, p1, r0: float, r1: float | None = None, sections: int = 16) -> Mesh:
    """A (tapered) closed cylinder from p0 (radius r0) to p1 (radius r1)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    r1 = r0 if r1 is None else r1
    v, f = _tm(trimesh.creation.cylinder(radius=1.0, height=1.0, sections=sections))
    t = v[:, 2] + 0.5                                     # 0 at p0, 1 at p1
    v = v.copy()
    v[:, :2] *= (r0 + (r1 - r0) * t)[:, None]
    v[:, 2] = t * np.linalg.norm(p1 - p0)
    return place((v, f), align_z(p1 - p0), p0)


def ellipsoid(center, radii, rotation: np.ndarray | None = None, subdivisions: int = 2) -> Mesh:
    m = _tm(trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0))
    return place(m, rotation, center, scale=np.asarray(radii, float))


def rounded_box(center, size, roundness: float = 0.25, rotation: np.ndarray | None = None,
                count: int = 14) -> Mesh:
    """A superellipsoid: a box with rounded edges (roundness 0 = sharp, 1 = ellipsoid)."""
    e = float(np.clip(roundness, 0.05, 1.0))
    m = trimesh.creation.uv_sphere(radius=1.0, count=[count, count])
    v = np.asarray(m.vertices, np.float64)
    v = np.sign(v) * np.abs(v) ** e
    return place((v, np.asarray(m.faces, np.int64)), rotation, center, scale=np.asarray(size, float) / 2)


def box(center, size, rotation: np.ndarray | None = None) -> Mesh:
    m = _tm(trimesh.creation.box(extents=np.asarray(size, float)))
    return place(m, rotation, center)


def box_with_uv(size, uv_per_face: str = "meters") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A box with base at z=0 centered on x, y; 24 vertices, UVs per face.

    uv_per_face='meters': u, v in meters along the face; 'unit': each side face spans [0, 1]^2.
    """
    sx, sy, sz = (float(s) for s in size)
    hx, hy = sx / 2, sy / 2
    faces_def = [  # (corner origin, u axis, v axis, u length, v length)
        ((-hx, -hy, 0), (1, 0, 0), (0, 0, 1), sx, sz),   # -y face
        ((hx, -hy, 0), (0, 1, 0), (0, 0, 1), sy, sz),    # +x face
        ((hx, hy, 0), (-1, 0, 0), (0, 0, 1), sx, sz),    # +y face
        ((-hx, hy, 0), (0, -1, 0), (0, 0, 1), sy, sz),   # -x face
        ((-hx, -hy, sz), (1, 0, 0), (0, 1, 0), sx, sy),  # top
        ((-hx, hy, 0), (1, 0, 0), (0, -1, 0), sx, sy),   # bottom
    ]
    verts, uvs, faces = [], [], []
    for i, (o, u, v, lu, lv) in enumerate(faces_def):
        o, u, v = np.array(o, float), np.array(u, float), np.array(v, float)
        quad = [o, o + u * lu, o + u * lu + v * lv, o + v * lv]
        verts.extend(quad)
        if uv_per_face == "unit":
            uvs.extend([(0, 0), (1, 0), (1, 1), (0, 1)] if i < 4 else [(0, 0)] * 4)
        else:
            uvs.extend([(0, 0), (lu, 0), (lu, lv), (0, lv)])
        b = 4 * i
        faces.extend([(b, b + 1, b + 2), (b, b + 2, b + 3)])
    return np.array(verts), np.array(faces, np.int64), np.array(uvs, float)


def lathe(profile, sections: int = 32) -> Mesh:
    """Revolve a (radius, z) polyline around +z (closed when it starts and ends on the axis)."""
    return _tm(trimesh.creation.revolve(np.asarray(profile, float), sections=sections))


def torus(center, axis, major: float, minor: float, sections: int = 32, minor_sections: int = 12) -> Mesh:
    m = _tm(trimesh.creation.torus(major_radius=major, minor_radius=minor, major_sections=sections,
                                   minor_sections=minor_sections))
    return place(m, align_z(axis), center)


def cone(base_center, apex, radius: float, sections: int = 16) -> Mesh:
    return cylinder(base_center, apex, radius, 1e-4, sections)


def displaced_blob(center, radius: float, rng: np.random.Generator, roughness: float = 0.25,
                   subdivisions: int = 2, squash=(1.0, 1.0, 1.0)) -> Mesh:
    """A lumpy sphere (tree crowns, bushes): radial displacement by a few random harmonics."""
    v, f = _tm(trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0))
    bump = np.zeros(len(v))
    for _ in range(6):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        bump += np.cos(rng.uniform(2, 6) * (v @ d) + rng.uniform(0, 2 * np.pi))
    bump = 1.0 + roughness * bump / 6.0
    return place((v * bump[:, None], f), None, center, scale=radius * np.asarray(squash, float))


def merge(meshes: list[Mesh]) -> Mesh:
    vs, fs, n = [], [], 0
    for v, f in meshes:
        vs.append(v)
        fs.append(f + n)
        n += len(v)
    return np.concatenate(vs), np.concatenate(fs)


def part(slot: str, meshes: Mesh | list[Mesh], material: dict, smooth: bool = True, **kw) -> Part:
    v, f = merge(meshes if isinstance(meshes, list) else [meshes])
    return Part(slot, v, f, material, smooth, **kw)


# --- normals -----------------------------------------------------------------------------------

def corner_normals(vertices: np.ndarray, faces: np.ndarray, smooth: bool,
                   crease_deg: float = 50.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a mesh into face corners and give each corner a normal.

    Smooth parts average the area-weighted normals of the faces around a vertex that lie within
    `crease_deg` of the corner's face (so cylinder rims and box edges stay sharp); flat parts
    use the face normal. Returns (vertices, faces, normals, corner_to_input_vertex).
    """
    faces = np.asarray(faces, np.int64)
    v = np.asarray(vertices, np.float64)
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    unit = fn / (np.linalg.norm(fn, axis=1, keepdims=True) + 1e-20)
    corner_v = faces.ravel()
    corner_f = np.repeat(np.arange(len(faces)), 3)
    if not smooth:
        normals = unit[corner_f]
    else:
        order = np.argsort(corner_v, kind="stable")
        sv, sf = corner_v[order], corner_f[order]
        starts = np.flatnonzero(np.r_[True, sv[1:] != sv[:-1]])
        counts = np.diff(np.r_[starts, len(sv)])
        group = np.repeat(np.arange(len(starts)), counts)
        rep = counts[group]
        pi = np.repeat(np.arange(len(sv)), rep)
        offs = np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
        pj = starts[group[pi]] + offs
        keep = (unit[sf[pi]] * unit[sf[pj]]).sum(1) >= np.cos(np.radians(crease_deg))
        acc = np.zeros((len(sv), 3))
        np.add.at(acc, pi[keep], fn[sf[pj[keep]]])
        acc /= np.linalg.norm(acc, axis=1, keepdims=True) + 1e-20
        normals = np.empty_like(acc)
        normals[order] = acc
    out_faces = np.arange(len(corner_v), dtype=np.int64).reshape(-1, 3)
    return v[corner_v], out_faces, normals, corner_v
