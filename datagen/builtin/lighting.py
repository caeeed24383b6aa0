"""Lighting of the 10 styles, and the exposure and tone mapping that turn a render into an image.

Day styles use Mitsuba's `sunsky` (Hosek-Wilkie sun and sky): the sun position follows the
style's sampled clock time along the scene's sun path, and the weather sets turbidity, sun
scale, sky scale and a cloud layer. Night uses a dim sky map, the moon (a directional light)
and artificial lights (street lamps, lit windows). docs/lighting.md holds the table.

Exposure adapts only partly to the scene's brightness (out = key * (L / L_ref) ** gamma with
gamma < 1), so noon stays brighter than sunset, which stays brighter than night, and every
style stays visible. Tone mapping is a filmic curve on linear RGB followed by the sRGB curve;
it never white-balances, so a warm sunset stays warm.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np

from datagen.builtin.textures import cloud_opacity
from datagen.styles import WEATHERS, Style, format_time

# --- the mapping (weather -> sunsky values and clouds; night constants) -------------------------

WEATHER_TABLE = {
    # turbidity, sun_scale, sky_scale, cloud coverage, cloud brightness (ranges drawn uniformly)
    "Clear": {"turbidity": (2.0, 3.5), "sun_scale": (1.0, 1.0), "sky_scale": (1.0, 1.0),
              "coverage": (0.0, 0.0), "cloud_brightness": (0.0, 0.0)},
    "Partly Cloudy": {"turbidity": (3.0, 5.0), "sun_scale": (0.85, 1.0), "sky_scale": (0.9, 1.0),
                      "coverage": (0.3, 0.6), "cloud_brightness": (0.75, 1.05)},
    "Cloudy": {"turbidity": (5.0, 8.0), "sun_scale": (0.15, 0.35), "sky_scale": (0.6, 0.85),
               "coverage": (0.88, 0.97), "cloud_brightness": (0.3, 0.5)},
}
CLOUD_HEIGHT = (600.0, 1500.0)     # m; a plane of cloud at this height, textured with noise
CLOUD_TILE = (2000.0, 5000.0)      # m covered by one tile of the cloud texture
CLOUD_SUPERSAMPLE = 2              # cloud opacity samples per sky texel and axis (the horizon aliases)
SILVER_LINING = 2.5                # thin cloud edges near the sun glow up to this much brighter
SKY_WIDTH = 512                    # the sky map handed to Mitsuba: 512 x 256 texels (0.7 degrees)
SUN_PATH_POWER = 1.5               # elevation = max_elevation * sin(pi * day_fraction) ** power
MIN_SUN_ELEVATION = 1.0            # degrees; a day style never puts the sun at or under the horizon

# Night, in the same radiometric units as sunsky (clear noon: ~1.3 W/m^2/nm of sun on the ground).
NIGHT_SKY_ZENITH = np.array([0.6, 0.8, 1.6]) * 1.0e-4   # radiance, deep blue
NIGHT_SKY_GLOW = np.array([1.6, 1.1, 0.7]) * 2.0e-4     # radiance at the horizon: city glow
NIGHT_TWILIGHT_GAIN = 2.5           # extra sky at dusk/dawn, decaying over NIGHT_TWILIGHT_MIN
NIGHT_TWILIGHT_MIN = 25.0
MOON_IRRADIANCE = np.array([0.85, 0.92, 1.0]) * 2.0e-3  # full moon, bluish white
LAMP_INTENSITY = 0.18               # W/sr-like: a street lamp 4 m up lights the ground ~4x the moon
LAMP_WARM = np.array([1.0, 0.72, 0.42])                  # sodium/warm LED
LAMP_COOL = np.array([1.0, 0.93, 0.82])
LAMP_GLOW = 0.05                     # radiance of the lamp glass per unit of lamp intensity
WINDOW_RADIANCE = 5e-4
NIGHT_CLOUD = np.array([1.0, 0.75, 0.55]) * 2.5e-4      # clouds lit from below by the city

# Exposure: out_key = KEY * (L / L_REF) ** GAMMA, L the log-average luminance of the render.
KEY = 0.18
L_REF = 0.08                        # log-average luminance of a typical clear-noon render
GAMMA = 0.3                         # 0: full auto-exposure (all styles alike), 1: fixed exposure
KEY_RANGE = (0.02, 0.26)
FIREFLY_RATIO = 8.0


@dataclass
class SunPath:
    """The sun's course over one scene's day: times in minutes, angles in degrees."""

    sunrise: int
    sunset: int
    max_elevation: float
    azimuth_offset: float

    @staticmethod
    def draw(rng: np.random.Generator) -> "SunPath":
        return SunPath(sunrise=int(rng.integers(305, 326)), sunset=int(rng.integers(1145, 1166)),
                       max_elevation=float(rng.uniform(48.0, 68.0)), azimuth_offset=float(rng.uniform(-20.0, 20.0)))

    def position(self, minutes: int) -> tuple[float, float]:
        """(elevation, azimuth) at a clock time; azimuth clockwise from north (+y), east = +x."""
        u = (minutes - self.sunrise) / (self.sunset - self.sunrise)
        # the power keeps the sun low through the sunrise/sunset phases (about 1-12 degrees)
        elevation = self.max_elevation * np.sin(np.pi * np.clip(u, 0.0, 1.0)) ** SUN_PATH_POWER
        azimuth = 90.0 + self.azimuth_offset + 180.0 * u
        return max(float(elevation), MIN_SUN_ELEVATION), float(azimuth % 360.0)


def direction(elevation: float, azimuth: float) -> list[float]:
    """Unit vector toward a sky position (z-up, north = +y, east = +x)."""
    e, a = np.radians(elevation), np.radians(azimuth)
    return [float(np.sin(a) * np.cos(e)), float(np.cos(a) * np.cos(e)), float(np.sin(e))]


@dataclass
class StyleLight:
    """Everything that lights one style of one scene. Stored in scene.json as the style entry."""

    id: int
    name: str
    weather: str
    time: str
    minutes: int
    model: str                          # sunsky | night
    render_seed: int
    turbidity: float | None = None
    sun_elevation: float | None = None
    sun_azimuth: float | None = None
    sun_scale: float | None = None
    sky_scale: float | None = None
    cloud_coverage: float = 0.0
    cloud_brightness: float = 0.0
    cloud_height: float = 200.0
    cloud_tile: float = 800.0
    cloud_seed: int = 0
    cloud_offset: tuple[float, float] = (0.0, 0.0)
    moon_elevation: float | None = None
    moon_azimuth: float | None = None
    moon_scale: float = 0.0
    night_sky_scale: float = 0.0
    twilight: float = 0.0
    lamp_scale: float = 0.0
    window_scale: float = 0.0

    def to_dict(self) -> dict:
        """The values that light this style (those of the other model, or of an absent cloud
        layer, are left out: they do not change the image)."""
        d = asdict(self)
        d["cloud_offset"] = list(self.cloud_offset)
        drop = set(NIGHT_FIELDS if self.model == "sunsky" else SUN_FIELDS)
        if self.cloud_coverage <= 0:
            drop |= set(CLOUD_FIELDS)
        return {k: v for k, v in d.items() if v is not None and k not in drop}

    @staticmethod
    def from_dict(d: dict) -> "StyleLight":
        known = {f.name for f in fields(StyleLight)}
        kw = {k: v for k, v in d.items() if k in known}
        if "cloud_offset" in kw:
            kw["cloud_offset"] = tuple(kw["cloud_offset"])
        return StyleLight(**kw)


SUN_FIELDS = ("turbidity", "sun_elevation", "sun_azimuth", "sun_scale", "sky_scale")
NIGHT_FIELDS = ("moon_elevation", "moon_azimuth", "moon_scale", "night_sky_scale", "twilight", "lamp_scale", "window_scale")
CLOUD_FIELDS = ("cloud_brightness", "cloud_height", "cloud_tile", "cloud_seed", "cloud_offset")


def draw_style_light(style: Style, minutes: int, sun: SunPath, rng: np.random.Generator,
                     weathers: tuple[str, ...] = WEATHERS) -> StyleLight:
    """Draw the lighting values of one style at a sampled clock time."""
    u = lambda lo_hi: float(rng.uniform(*lo_hi))  # noqa: E731
    night = style.phase == "night"
    weather = style.weather if not night else str(weathers[int(rng.integers(len(weathers)))])
    table = WEATHER_TABLE[weather]
    light = StyleLight(id=style.id, name=style.name, weather=weather, time=format_time(minutes), minutes=minutes,
                       model="night" if night else "sunsky", render_seed=int(rng.integers(1 << 31)),
                       cloud_coverage=u(table["coverage"]), cloud_height=u(CLOUD_HEIGHT), cloud_tile=u(CLOUD_TILE),
                       cloud_seed=int(rng.integers(1 << 30)), cloud_offset=(u((0, 1)), u((0, 1))))
    if not night:
        light.sun_elevation, light.sun_azimuth = sun.position(minutes)
        light.turbidity, light.sun_scale, light.sky_scale = u(table["turbidity"]), u(table["sun_scale"]), u(table["sky_scale"])
        light.cloud_brightness = u(table["cloud_brightness"])
    else:
        to_event = min(abs(minutes - sun.sunset), abs(minutes - sun.sunrise))
        light.twilight = float(np.exp(-to_event / NIGHT_TWILIGHT_MIN))
        has_moon = weather != "Cloudy" and rng.random() < 0.85
        light.moon_elevation, light.moon_azimuth = u((15, 60)), u((0, 360))
        light.moon_scale = u((0.5, 1.0)) * (0.5 if weather == "Partly Cloudy" else 1.0) if has_moon else 0.0
        light.night_sky_scale = u((0.7, 1.3)) * (0.6 if weather == "Cloudy" else 1.0)
        light.lamp_scale = u((0.7, 1.4))
        light.window_scale = u((0.6, 1.4))
        light.cloud_brightness = u((0.7, 1.3)) if light.cloud_coverage > 0 else 0.0
    return light


# --- emitter values derived from a StyleLight ----------------------------------------------------

SUN_SOLID_ANGLE = 2 * np.pi * (1 - np.cos(np.radians(0.5338 / 2)))


def cloud_radiance(light: StyleLight, sun_irradiance, zenith_radiance) -> np.ndarray:
    """RGB radiance of the cloud layer's underside: the light it receives, scattered down.

    sun_irradiance: the sun's RGB irradiance at normal incidence; zenith_radiance: the sky's.
    """
    if light.model == "night":
        return NIGHT_CLOUD * light.cloud_brightness * (1.0 + NIGHT_TWILIGHT_GAIN * light.twilight)
    e_sun = np.asarray(sun_irradiance) * np.sin(np.radians(light.sun_elevation))
    e_sky = np.pi * np.asarray(zenith_radiance) * 1.3
    return light.cloud_brightness * (e_sun + e_sky) / np.pi


def night_sky(light: StyleLight, width: int = SKY_WIDTH) -> np.ndarray:
    """A lat-long sky map for night: zenith blue fading to a warm horizon glow (rows top->bottom)."""
    height = width // 2
    theta = (np.arange(height) + 0.5) / height * np.pi        # 0 at the zenith
    elev = np.pi / 2 - theta
    up = np.clip(np.sin(elev), 0, 1)[:, None]
    glow = np.exp(-np.clip(elev, 0, None) / 0.15)[:, None]
    sky = NIGHT_SKY_ZENITH[None] * (0.4 + 0.6 * up) + NIGHT_SKY_GLOW[None] * glow
    sky = sky * light.night_sky_scale * (1.0 + NIGHT_TWILIGHT_GAIN * light.twilight)
    sky[elev < 0] = NIGHT_SKY_GLOW * 0.2 * light.night_sky_scale
    return np.repeat(sky[:, None, :], width, 1).astype(np.float32)


def upsample_sky(sky: np.ndarray, width: int = SKY_WIDTH) -> np.ndarray:
    """Bilinear resize of a smooth sky map to the map size handed to Mitsuba."""
    if sky.shape[1] == width:
        return sky
    return cv2.resize(sky, (width, width // 2), interpolation=cv2.INTER_LINEAR)


@functools.lru_cache(maxsize=4)
def sky_directions(width: int, height: int, supersample: int = 1) -> np.ndarray:
    """World directions (z-up) of the texels of a lat-long map (rows from the zenith down).
    Read-only (cached)."""
    t = (np.arange(height * supersample) + 0.5) / (height * supersample) * np.pi
    p = (np.arange(width * supersample) + 0.5) / (width * supersample) * 2 * np.pi
    t, p = np.meshgrid(t, p, indexing="ij")
    dirs = np.stack([np.sin(t) * np.sin(p), np.sin(t) * np.cos(p), np.cos(t)], -1).astype(np.float32)
    dirs.flags.writeable = False
    return dirs


def cloud_alpha(light: StyleLight, dirs: np.ndarray) -> np.ndarray:
    """Opacity of the cloud layer seen along each direction: the layer is a plane at
    cloud_height above the scene, textured with one tile per cloud_tile meters."""
    tex = cloud_opacity(light.cloud_seed, light.cloud_coverage)
    n = tex.shape[0]
    dz = dirs[..., 2]
    t = light.cloud_height / np.maximum(dz, 1e-3)
    u = (dirs[..., 0] * t / light.cloud_tile + light.cloud_offset[0]) * n
    v = (dirs[..., 1] * t / light.cloud_tile + light.cloud_offset[1]) * n
    u0, v0 = np.floor(u), np.floor(v)
    fu, fv = u - u0, v - v0
    u0, v0 = u0.astype(np.int64) % n, v0.astype(np.int64) % n
    u1, v1 = (u0 + 1) % n, (v0 + 1) % n
    a = (tex[v0, u0] * (1 - fu) * (1 - fv) + tex[v0, u1] * fu * (1 - fv)
         + tex[v1, u0] * (1 - fu) * fv + tex[v1, u1] * fu * fv)
    return np.where(dz > 0, a, 0.0).astype(np.float32)


def composite_clouds(sky: np.ndarray, light: StyleLight, radiance: np.ndarray, sun_dir: np.ndarray) -> np.ndarray:
    """The sky map with the cloud layer over it (averaged over sub-texel directions)."""
    h, w = sky.shape[:2]
    ss = CLOUD_SUPERSAMPLE
    dirs = sky_directions(w, h, ss)
    up = int(np.count_nonzero(dirs[:, 0, 2] > 0))         # rows above the horizon: the layer is only there
    dirs = dirs[:up]
    a = cloud_alpha(light, dirs)[..., None]
    near_sun = np.exp((dirs @ np.asarray(sun_dir, np.float32) - 1.0) / 0.03)[..., None]
    cloud = np.asarray(radiance, np.float32) * (1.15 - 0.3 * a) * (1.0 + SILVER_LINING * (1.0 - a) * near_sun)
    out = np.repeat(np.repeat(sky, ss, 0), ss, 1)
    out[:up] = a * cloud + (1.0 - a) * out[:up]
    return out.reshape(h, ss, w, ss, 3).mean((1, 3)).astype(np.float32)


def cloud_transmittance(light: StyleLight, direction_to_light) -> float:
    """How much of a sun or moon disc shows through the cloud layer (1: clear, 0: hidden)."""
    d = np.asarray(direction_to_light, np.float64)
    u = np.cross(d, [0.0, 0.0, 1.0] if abs(d[2]) < 0.99 else [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(d, u)
    k = np.arange(16) + 0.5
    r, ang = np.radians(0.5) * np.sqrt(k / 16), k * np.pi * (3 - np.sqrt(5))
    dirs = d + np.tan(r)[:, None] * (np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    return float(1.0 - cloud_alpha(light, dirs.astype(np.float32)).mean())


def moon_irradiance(light: StyleLight) -> np.ndarray:
    return MOON_IRRADIANCE * light.moon_scale


def lamp_color(warmth: float) -> np.ndarray:
    return LAMP_WARM * warmth + LAMP_COOL * (1 - warmth)


# --- exposure and tone mapping -------------------------------------------------------------------

def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722


def remove_fireflies(hdr: np.ndarray) -> np.ndarray:
    """Replace isolated pixels far brighter than their 3x3 median (rare sun paths at low spp)."""
    hdr = np.ascontiguousarray(np.nan_to_num(np.clip(hdr, 0, None), posinf=0.0), np.float32)
    med = cv2.medianBlur(hdr, 3)
    y, ym = luminance(hdr), luminance(med)
    bad = y > FIREFLY_RATIO * ym + 1e-3 * max(float(y.mean()), 1e-6)
    out = hdr.copy()
    out[bad] = med[bad]
    return out


def log_average(hdr: np.ndarray) -> float:
    return float(np.exp(np.mean(np.log(1e-6 + luminance(hdr)))))


def exposure_for(hdr: np.ndarray) -> tuple[float, float]:
    """(exposure multiplier, log-average luminance) with partial adaptation."""
    lavg = log_average(hdr)
    key = float(np.clip(KEY * (lavg / L_REF) ** GAMMA, *KEY_RANGE))
    return key / lavg, lavg


def filmic(x: np.ndarray) -> np.ndarray:
    """A filmic curve (the common ACES fit): soft toe, highlights roll off toward white."""
    return np.clip((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0)


def srgb_encode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.clip(x, 0.0031308, None), 1 / 2.4) - 0.055)


def tonemap(hdr: np.ndarray, denoiser=None) -> tuple[np.ndarray, dict]:
    """Linear RGB render -> 8-bit sRGB image, and the exposure values used. A denoiser (linear RGB
    -> linear RGB) runs after firefly removal: it would smear a firefly into a blotch."""
    clean = remove_fireflies(hdr)
    if denoiser is not None:
        clean = denoiser(clean)
    exposure, lavg = exposure_for(clean)
    img = srgb_encode(filmic(clean * exposure))
    return np.round(img * 255.0).astype(np.uint8), {"exposure": round(exposure, 6), "scene_log_luminance": round(lavg, 8)}
