"""Turn a scene plan into Mitsuba scenes: the geometry once per plan, then one scene per style
(its emitters change) and one for the mask pass.

Shapes keep their identities (`optimize=False`): each is named `<object>__<slot>`, so the
foreground's shapes are those whose object is the plan's foreground. Call only after
`variant.activate`; Mitsuba is imported lazily.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from datagen.builtin import lighting, textures
from datagen.builtin.assets import to_world
from datagen.builtin.lighting import StyleLight
from datagen.builtin.meshes import Part, corner_normals
from datagen.builtin.plan import ScenePlan, placed_parts
from datagen.builtin.props import lamp_light, night_windows
from rdhcore.errors import RdhError

MAX_DEPTH = 3           # direct light and one bounce
SKY_MAP_WIDTH = 128     # sunsky is evaluated on 128 x 64 directions (it is smooth), then upsampled
SUN_APERTURE = 0.5338   # degrees, sunsky's default sun disc
LAMP_SAMPLING, GLOW_SAMPLING, WINDOW_SAMPLING = 4.0, 0.05, 0.02   # night: share of light samples per emitter
GROUND_HALF = 2000.0    # m
RENDER_FAR = 50000.0


def _mi():
    import mitsuba as mi

    return mi


# --- materials and textures --------------------------------------------------------------------

class TextureCache:
    """Bitmaps and BSDFs built once per plan, keyed by their description; BSDFs without a
    texture once per process (`roughplastic` tabulates its reflectance: 19 ms a material)."""

    shared: dict[str, object] = {}                   # untextured BSDFs, for every plan of the process

    def __init__(self):
        self._cache: dict[str, object] = {}

    def bitmap(self, tex: dict):
        key = json.dumps(tex, sort_keys=True)
        if key not in self._cache:
            self._cache[key] = _mi().Bitmap(_texture_array(tex))
        return self._cache[key]

    def bsdf(self, material: dict):
        """The loaded BSDF of a plan's material dict (one instance per distinct material)."""
        key = json.dumps(material, sort_keys=True)
        if "texture" in material:
            store = self._cache
        else:   # a process may switch variants (--variant auto: scalar below 192 px, llvm above): one set each
            store, key = TextureCache.shared, f"{_mi().variant()}:{key}"
            if key not in store and len(store) > 4096:
                store.clear()
        if key not in store:
            store[key] = _mi().load_dict(bsdf_dict(material, self))
        return store[key]


def _texture_array(tex: dict) -> np.ndarray:
    kind = tex["kind"]
    if kind in textures.GROUND_KINDS:
        return textures.ground(kind, tex["seed"], tex["color"])
    if kind == "facade":
        return textures.facade(tex["seed"], tex["wall"], tex["glass"], tex["columns"], tex["rows"])
    if kind == "window_lights":
        return textures.window_lights(tex["seed"], tex["columns"], tex["rows"], tex["lit"])
    raise RdhError(f"unknown texture kind {kind!r} in the scene plan: re-plan the scene")


def _rgb(color) -> dict:
    return {"type": "rgb", "value": [float(c) for c in color]}


def bsdf_dict(material: dict, cache: TextureCache) -> dict:
    """A Mitsuba BSDF description for one of the plan's material dicts."""
    mi = _mi()
    kind = material["type"]
    if material.get("vertex_colors"):
        albedo = {"type": "mesh_attribute", "name": "vertex_color"}
    elif "texture" in material:
        tex = material["texture"]
        tile = float(tex.get("tile", 1.0))
        albedo = {"type": "bitmap", "bitmap": cache.bitmap(tex), "raw": True,
                  "to_uv": mi.ScalarTransform4f().scale([1.0 / tile, 1.0 / tile, 1.0])}
    else:
        albedo = _rgb(material.get("color", [0.5, 0.5, 0.5]))
    if kind == "diffuse":
        return {"type": "diffuse", "reflectance": albedo}
    if kind == "plastic":
        return {"type": "roughplastic", "distribution": "ggx", "alpha": max(float(material.get("roughness", 0.2)), 0.02),
                "diffuse_reflectance": albedo, "int_ior": 1.5}
    if kind == "metal":
        return {"type": "roughconductor", "distribution": "ggx", "alpha": max(float(material.get("roughness", 0.2)), 0.02),
                "material": "none", "specular_reflectance": albedo}
    if kind == "black":
        return {"type": "diffuse", "reflectance": _rgb([0.0, 0.0, 0.0])}
    raise RdhError(f"unknown material type {kind!r} in the scene plan: use diffuse, plastic or metal")


def make_mesh(name: str, p: Part, cache: TextureCache, emitter: dict | None = None, materials: bool = True):
    """A Mitsuba mesh from a Part (corner normals, UVs, vertex colors, BSDF, optional emitter).
    materials=False gives every mesh a plain diffuse BSDF (geometry-only passes, e.g. masks)."""
    mi = _mi()
    if "normals" in p.meta:                           # already split into corners (merged parts)
        v, f, n, corner = p.vertices, p.faces, p.meta["normals"], np.arange(len(p.vertices))
    else:
        v, f, n, corner = corner_normals(p.vertices, p.faces, p.smooth)
    props = mi.Properties()
    props["bsdf"] = cache.bsdf(p.material if materials else {"type": "diffuse"})
    if emitter is not None:
        props["emitter"] = mi.load_dict(emitter)
    has_uv = p.uv is not None
    mesh = mi.Mesh(name, len(v), len(f), props=props, has_vertex_normals=True, has_vertex_texcoords=has_uv)
    params = mi.traverse(mesh)
    floats, ints = type(params["vertex_positions"]), type(params["faces"])   # the variant's buffer types
    params["vertex_positions"] = floats(np.ascontiguousarray(v, np.float32).ravel())
    params["faces"] = ints(np.ascontiguousarray(f, np.uint32).ravel())
    params["vertex_normals"] = floats(np.ascontiguousarray(n, np.float32).ravel())
    if has_uv:
        params["vertex_texcoords"] = floats(np.ascontiguousarray(p.uv[corner], np.float32).ravel())
    params.update()
    if p.colors is not None:
        mesh.add_attribute("vertex_color", 3, floats(np.ascontiguousarray(p.colors[corner], np.float32).ravel()))
    return mesh


# --- the geometry of a plan --------------------------------------------------------------------

@dataclass
class SceneGeometry:
    """The plan's shapes as Mitsuba meshes, shared by every style of the scene."""

    plan: ScenePlan
    shapes: dict[str, object]                       # shape id -> mi.Mesh
    foreground_ids: frozenset[str]
    lamps: list[tuple[np.ndarray, float]]           # world position, warmth
    night_parts: list[tuple[str, Part]]
    cache: TextureCache = field(default_factory=TextureCache)


def build_geometry(plan: ScenePlan, only_foreground: bool = False, materials: bool = True,
                   parts: dict[str, list[Part]] | None = None, objects: set[str] | None = None) -> SceneGeometry:
    """Build every object of the plan as Mitsuba meshes; without materials (plain diffuse, no
    textures) for passes that only need the geometry.

    parts: the plan's placed parts (`plan_parts`), when already built; objects: only these
    object names ("ground" included), as the mask pass needs; only_foreground: the foreground alone."""
    cache = TextureCache()
    parts = parts if parts is not None else plan_parts(plan)
    if only_foreground:
        objects = {plan.foreground}
    shapes: dict[str, object] = {}
    fg_ids: set[str] = set()
    if objects is None or "ground" in objects:
        shapes["ground"] = make_mesh("ground", ground_part(plan), cache, materials=materials)
    for obj in plan.objects:
        if objects is not None and obj.name not in objects:
            continue
        slots: dict[str, list[Part]] = {}
        for p in parts[obj.name]:
            slots.setdefault(p.slot, []).append(p)
        for slot, group in slots.items():
            sid = f"{obj.name}__{slot}"
            shapes[sid] = make_mesh(sid, _merge_parts(group), cache, materials=materials)
            if obj.name == plan.foreground:
                fg_ids.add(sid)
    if not fg_ids:
        raise RdhError(f"scene {plan.scene_id}: the plan's foreground {plan.foreground!r} has no shapes: re-plan the scene")
    lamps, night = night_lights(plan) if objects is None else ([], [])
    return SceneGeometry(plan, shapes, frozenset(fg_ids), lamps, night, cache)


def plan_parts(plan: ScenePlan) -> dict[str, list[Part]]:
    """Object name -> its parts in world coordinates (built once per layout, shared by passes)."""
    return {obj.name: placed_parts(obj) for obj in plan.objects}


def ground_part(plan: ScenePlan) -> Part:
    """The ground: one textured quad of 2 x GROUND_HALF a side."""
    g, half = plan.ground, GROUND_HALF
    return Part("ground", np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]], float),
                np.array([[0, 1, 2], [0, 2, 3]]), {"type": "diffuse", "texture": dict(g, tile=g["tile"])}, smooth=False,
                uv=np.array([[-half, -half], [half, -half], [half, half], [-half, half]], float))


def night_lights(plan: ScenePlan) -> tuple[list[tuple[np.ndarray, float]], list[tuple[str, Part]]]:
    """(street lamps as (world position, warmth), lit windows as (shape id, part)) of a plan."""
    lamps, night = [], []
    for obj in plan.objects:
        if obj.kind == "lamp_post":
            r = np.radians(obj.yaw)
            local = lamp_light(obj.params) * obj.scale
            world = np.array([local[0] * np.cos(r) - local[1] * np.sin(r), local[0] * np.sin(r) + local[1] * np.cos(r), local[2]])
            lamps.append((world + np.asarray(obj.position), float(obj.params["warmth"])))
        if obj.kind == "building":
            for k, p in enumerate(to_world(night_windows(obj.params), obj.position, obj.yaw, obj.scale)):
                night.append((f"{obj.name}__windows{k}", p))
    return lamps, night


def _merge_parts(parts: list[Part]) -> Part:
    """Parts of one slot share one material; join them into one mesh (normals stay per part)."""
    if len(parts) == 1:
        return parts[0]
    vs, fs, ns, uvs, cs = [], [], [], [], []
    offset = 0
    any_uv = any(p.uv is not None for p in parts)
    any_c = any(p.colors is not None for p in parts)
    for p in parts:
        v, f, n, corner = corner_normals(p.vertices, p.faces, p.smooth)
        vs.append(v)
        fs.append(f + offset)
        ns.append(n)
        if any_uv:
            uvs.append(p.uv[corner] if p.uv is not None else np.zeros((len(v), 2)))
        if any_c:
            base = p.colors[corner] if p.colors is not None else np.tile(p.material.get("color", [0.5] * 3), (len(v), 1))
            cs.append(base)
        offset += len(v)
    merged = Part(parts[0].slot, np.concatenate(vs), np.concatenate(fs), parts[0].material, smooth=False,
                  uv=np.concatenate(uvs) if any_uv else None, colors=np.concatenate(cs) if any_c else None)
    merged.meta["normals"] = np.concatenate(ns)
    return merged


# --- camera, emitters, scenes ------------------------------------------------------------------

def sensor_dict(plan: ScenePlan, resolution: int, sampler: dict) -> dict:
    mi = _mi()
    cam = plan.camera
    return {
        "type": "perspective", "fov": float(cam.fov), "fov_axis": "x", "near_clip": 0.01, "far_clip": RENDER_FAR,
        "to_world": mi.ScalarTransform4f().look_at(origin=cam.origin, target=cam.target, up=cam.up),
        "film": {"type": "hdrfilm", "width": int(resolution), "height": int(resolution), "rfilter": {"type": "box"},
                 "pixel_format": "rgb", "component_format": "float32"},
        "sampler": sampler,
    }


def sunsky_dict(light: StyleLight, sun: bool = True, sky: bool = True) -> dict:
    return {"type": "sunsky", "sun_direction": lighting.direction(light.sun_elevation, light.sun_azimuth),
            "turbidity": float(light.turbidity), "sun_scale": float(light.sun_scale) if sun else 0.0,
            "sky_scale": float(light.sky_scale) if sky else 0.0, "albedo": 0.2}


@contextmanager
def scalar_variant():
    """The scalar variant for a while (a no-op when it is active): leaving another variant
    reloads Mitsuba's modules (~0.25 s), so callers bake a whole scene's skies in one go."""
    mi = _mi()
    if mi.variant().startswith("scalar"):
        yield
        return
    with mi.variant_context("scalar_rgb"):
        yield


def bake_sunsky(lights: list[StyleLight]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Style id -> (sky map, sun irradiance) of each day style, in one visit to the scalar variant."""
    with scalar_variant():
        return {light.id: (sky_map(light), sun_irradiance(light)) for light in lights if light.model == "sunsky"}


def _eval_directions(emitter: dict, dirs: np.ndarray) -> np.ndarray:
    """RGB radiance an environment emitter (a dict) sends from each world direction (n, 3).

    Always in the scalar variant: the same numbers whichever variant renders, and no JIT
    compile per style in llvm (sunsky's values would be baked into each kernel)."""
    import drjit as dr
    mi = _mi()

    out = np.empty((len(dirs), 3))
    with scalar_variant():
        emitter = mi.load_dict(emitter)
        si = dr.zeros(mi.SurfaceInteraction3f)
        vector, evaluate = mi.Vector3f, emitter.eval        # bound once: attribute lookups switch variants
        for k, (x, y, z) in enumerate((-dirs).tolist()):
            si.wi = vector(x, y, z)
            c = evaluate(si)
            out[k] = (c[0], c[1], c[2])
    return out


def sky_map(light: StyleLight, width: int = SKY_MAP_WIDTH) -> np.ndarray:
    """sunsky's sky (without the sun) as a lat-long map for the `envmap` emitter rotated z-up.

    Row r, column c look toward theta = (r + .5) / H * pi from the zenith and
    phi = (c + .5) / W * 2 pi, i.e. world (sin t sin p, sin t cos p, cos t) (envmap's own
    y-up convention turned by +90 degrees about x)."""
    height = width // 2
    dirs = lighting.sky_directions(width, height).reshape(-1, 3).astype(np.float64)
    sky = _eval_directions(sunsky_dict(light, sun=False), dirs)
    return np.clip(sky, 0.0, None).reshape(height, width, 3).astype(np.float32)


def sun_irradiance(light: StyleLight, samples: int = 64) -> np.ndarray:
    """RGB irradiance of sunsky's sun disc at normal incidence (its radiance integrated over the disc)."""
    axis = np.asarray(lighting.direction(light.sun_elevation, light.sun_azimuth))
    half = np.radians(SUN_APERTURE / 2) * 0.999
    k = np.arange(samples) + 0.5
    r = half * np.sqrt(k / samples)
    a = k * np.pi * (3 - np.sqrt(5))                              # golden-angle spiral over the disc
    u = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.99 else [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    dirs = (np.cos(r)[:, None] * axis + np.sin(r)[:, None] * (np.cos(a)[:, None] * u + np.sin(a)[:, None] * v))
    radiance = _eval_directions(sunsky_dict(light, sky=False), dirs)
    return np.clip(radiance, 0.0, None).mean(0) * lighting.SUN_SOLID_ANGLE


def _envmap(sky: np.ndarray) -> dict:
    mi = _mi()
    return {"type": "envmap", "bitmap": mi.Bitmap(np.ascontiguousarray(sky, np.float32)),
            "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], 90)}


def emitters(geo: SceneGeometry, light: StyleLight, baked: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[dict, dict]:
    """(Mitsuba scene entries that light the style, derived values to record in scene.json).

    Day: sunsky's sky baked into an environment map with the cloud layer composited over it,
    and sunsky's sun as a directional light dimmed by the cloud in front of it. Night: a dim
    sky map (with clouds), the moon, street lamps and lit windows."""
    entries: dict[str, object] = {}
    values: dict[str, object] = {}
    if light.model == "sunsky":
        sun_dir = np.asarray(lighting.direction(light.sun_elevation, light.sun_azimuth))
        sky_raw, sun = baked if baked is not None else bake_sunsky([light])[light.id]
        sky = lighting.upsample_sky(sky_raw)
        values["sun_irradiance"] = [round(float(x), 6) for x in sun]
        values["sky_zenith"] = [round(float(x), 6) for x in sky[0].mean(0)]
        transmittance = 1.0
        if light.cloud_coverage > 0:
            radiance = lighting.cloud_radiance(light, sun, sky[0].mean(0))
            sky = lighting.composite_clouds(sky, light, radiance, sun_dir)
            transmittance = lighting.cloud_transmittance(light, sun_dir)
            values["cloud_radiance"] = [round(float(x), 6) for x in radiance]
        values["sun_transmittance"] = round(float(transmittance), 6)
        entries["sky"] = _envmap(sky)
        if transmittance * float(np.max(sun)) > 0:
            entries["sun"] = {"type": "directional", "direction": [float(-x) for x in sun_dir],
                              "irradiance": _rgb(sun * transmittance)}
        return entries, values
    sky = lighting.night_sky(light)
    moon_dir = np.asarray(lighting.direction(light.moon_elevation, light.moon_azimuth))
    transmittance = 1.0
    if light.cloud_coverage > 0:
        radiance = lighting.cloud_radiance(light, None, None)
        sky = lighting.composite_clouds(sky, light, radiance, moon_dir)
        transmittance = lighting.cloud_transmittance(light, moon_dir)
        values["cloud_radiance"] = [round(float(x), 8) for x in radiance]
    entries["sky"] = _envmap(sky)
    if light.moon_scale > 0 and transmittance > 0:
        entries["moon"] = {"type": "directional", "direction": [float(-x) for x in moon_dir],
                           "irradiance": _rgb(lighting.moon_irradiance(light) * transmittance)}
        values["moon_transmittance"] = round(float(transmittance), 6)
    for k, (pos, warmth) in enumerate(geo.lamps):
        color = lighting.lamp_color(warmth) * lighting.LAMP_INTENSITY * light.lamp_scale
        entries[f"lamp{k}"] = {"type": "point", "position": [float(x) for x in pos], "intensity": _rgb(color),
                               "sampling_weight": LAMP_SAMPLING}
        glass = Part("glow", *_disc(pos + [0, 0, 0.065], 0.1), {"type": "black"}, smooth=False)
        entries[f"lamp{k}__glow"] = make_mesh(f"lamp{k}__glow", glass, geo.cache,
                                              emitter={"type": "area", "radiance": _rgb(color * lighting.LAMP_GLOW),
                                                       "sampling_weight": GLOW_SAMPLING})
    per_building: dict[str, int] = {}
    for name, _ in geo.night_parts:
        per_building[name.rsplit("__", 1)[0]] = per_building.get(name.rsplit("__", 1)[0], 0) + 1
    for name, p in geo.night_parts:
        radiance = np.asarray(p.emission["radiance"]) * lighting.WINDOW_RADIANCE * light.window_scale
        share = WINDOW_SAMPLING / per_building[name.rsplit("__", 1)[0]]     # a building's windows share its light samples
        entries[name] = make_mesh(name, p, geo.cache, emitter={"type": "area", "radiance": _rgb(radiance),
                                                               "sampling_weight": share})
    return entries, values


def _disc(center, radius: float, sections: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A horizontal disc facing down (-z)."""
    a = np.linspace(0, 2 * np.pi, sections, endpoint=False)
    v = np.c_[radius * np.cos(a), radius * np.sin(a), np.zeros(sections)]
    v = np.vstack([[0, 0, 0], v]) + np.asarray(center, float)
    f = np.array([[0, (i + 1) % sections + 1, i + 1] for i in range(sections)])
    return v, f


GUIDE_AOVS = "albedo:albedo,nn:sh_normal"   # the denoiser's guides, rendered with the beauty pass


@dataclass
class StyleRender:
    hdr: np.ndarray                       # linear RGB, H x W x 3 float32
    values: dict                          # derived lighting values to record in scene.json
    spp: int                              # samples per pixel the sampler took (some round up to a square)
    albedo: np.ndarray | None = None      # H x W x 3 in [0, 1], with guides
    normal: np.ndarray | None = None      # H x W x 3 in [-1, 1], with guides


def beauty_scene(geo: SceneGeometry, light: StyleLight, resolution: int, spp: int, sampler: str = "independent",
                 guides: bool = False):
    """The Mitsuba scene of one style, and the derived lighting values to record."""
    entries, values = emitters(geo, light)
    return _load_scene(geo, entries, resolution, spp, sampler, guides), values


def _load_scene(geo: SceneGeometry, entries: dict, resolution: int, spp: int, sampler: str, guides: bool):
    mi = _mi()
    integrator = {"type": "path", "max_depth": MAX_DEPTH}
    if guides:
        integrator = {"type": "aov", "aovs": GUIDE_AOVS, "integrator": integrator}
    scene = {"type": "scene", "integrator": integrator,
             "sensor": sensor_dict(geo.plan, resolution, {"type": sampler, "sample_count": int(spp)})}
    scene.update(geo.shapes)
    scene.update(entries)
    return mi.load_dict(scene, optimize=False)


class StyleRenderer:
    """Renders the styles of one scene.

    The day scene (geometry, sky, sun) is loaded once and each day style only updates its
    emitters (sky texels, sun irradiance and direction): in llvm Dr.Jit then traces and compiles
    the render kernel once per scene instead of once per style, and in scalar the scene is not
    rebuilt per style. Night, with its lamps and windows, loads its own. Scalar gives a sunless
    day style (a sky alone) its own scene too, so every image is the one a scene per style gives
    (one emitter fewer changes how light samples are shared); llvm gives it a black sun instead."""

    def __init__(self, geo: SceneGeometry, resolution: int, spp: int, sampler: str = "independent",
                 guides: bool = False) -> None:
        self.geo, self.resolution, self.spp, self.sampler, self.guides = geo, resolution, spp, sampler, guides
        self.day = None                                    # (scene, its parameters)
        self.baked = None                                  # the plan's skies, baked at once

    def scene(self, light: StyleLight):
        mi = _mi()
        if light.model != "sunsky":
            return beauty_scene(self.geo, light, self.resolution, self.spp, self.sampler, self.guides)
        if self.baked is None:
            self.baked = bake_sunsky(self.geo.plan.styles)
        entries, values = emitters(self.geo, light, self.baked.get(light.id))
        if "sun" not in entries and mi.variant().startswith("scalar"):
            return _load_scene(self.geo, entries, self.resolution, self.spp, self.sampler, self.guides), values
        sun = entries.get("sun") or {"type": "directional", "direction": [0.0, 0.0, -1.0], "irradiance": _rgb([0, 0, 0])}
        if self.day is None:
            scene = _load_scene(self.geo, {"sky": entries["sky"], "sun": sun}, self.resolution, self.spp,
                                self.sampler, self.guides)
            self.day = scene, mi.traverse(scene)
            return scene, values
        scene, params = self.day
        sky = np.asarray(entries["sky"]["bitmap"], np.float32)
        params["sky.data"] = mi.TensorXf(np.concatenate([sky[:, -1:], sky, sky[:, :1]], 1))   # envmap wraps a column each side
        params["sun.irradiance.value"] = mi.Color3f(*sun["irradiance"]["value"])
        params["sun.to_world"] = sun_to_world(sun["direction"])
        params.update()
        return scene, values

    def render(self, light: StyleLight) -> StyleRender:
        """One style: linear RGB (and the denoiser's guides if asked), its lighting values."""
        mi = _mi()
        scene, values = self.scene(light)
        taken = int(scene.sensors()[0].sampler().sample_count())
        img = np.array(mi.render(scene, seed=int(light.render_seed) & 0xFFFFFFFF, spp=taken), np.float32)
        out = StyleRender(img[..., :3], values, taken)
        if self.guides:                                    # the AOVs come last, in GUIDE_AOVS order
            out.albedo, out.normal = img[..., -6:-3], img[..., -3:]
        return out


def sun_to_world(direction) -> object:
    """The to_world of a `directional` emitter built from `direction`, read back from Mitsuba
    (recomputing it in Python differs in the last bit)."""
    mi = _mi()

    return mi.traverse(mi.load_dict({"type": "directional", "direction": list(direction)}))["to_world"]


def render_style(geo: SceneGeometry, light: StyleLight, resolution: int, spp: int, sampler: str = "independent",
                 guides: bool = False) -> StyleRender:
    """Render one style on its own (StyleRenderer renders a scene's styles in turn)."""
    return StyleRenderer(geo, resolution, spp, sampler, guides).render(light)
