"""Frames of the stand-in player, drawn with numpy: fast, deterministic, masks exact.

A scene is a textured backdrop; a viewpoint moves and zooms the camera on it; a foreground
is an ellipse whose shape and albedo depend on its name and category. Weather and time of
day set the light: the sun's elevation follows the clock (up 05:30-18:30, highest at noon),
clouds dim and grey it, sunrise and sunset warm it, and the night is dark blue.
"""
from __future__ import annotations

import math
import zlib

import numpy as np

# weather -> (direct light factor, cloud cover); the stand-in's list of weather types.
WEATHERS: dict[str, tuple[float, float]] = {
    "Clear": (1.0, 0.0),
    "Partly Cloudy": (0.8, 0.35),
    "Cloudy": (0.55, 0.75),
    "Rain": (0.4, 0.9),
}

DEFAULT_CATALOG: dict = {
    "scenes": [
        {"name": "Street",
         "viewpoints": [{"name": "corner", "zoom": 1.0}, {"name": "crossing", "zoom": 1.3},
                        {"name": "rooftop", "zoom": 0.0}],            # zoom 0: the foreground is out of view
         "foregrounds": [{"name": "Walker", "category": "human"}, {"name": "Rider", "category": "motorcycle"},
                         {"name": "Milk", "category": "bottle"}]},
        {"name": "Pasture",
         "viewpoints": [{"name": "fence", "zoom": 0.9}, {"name": "closeup", "zoom": 3.2}],  # 3.2: too large
         "foregrounds": [{"name": "Bessie", "category": "cow"}, {"name": "Hiker", "category": "human"}]},
    ]
}


def _unit(name: str, salt: str = "") -> float:
    """A stable number in [0, 1) from a name."""
    return (zlib.crc32(f"{salt}:{name}".encode()) & 0xFFFFFF) / float(0x1000000)


COVERAGE_SALT, MOON_SALT = 1, 2   # SkySeeds.CoverageSalt, SkySeeds.MoonSalt


def sky_unit(seed: int, salt: int) -> float:
    """A number in [0, 1) from a style's sky seed: SkySeeds.Unit of the C# package, bit for bit
    (murmur3's 32-bit finalizer), so that the stand-in's sky draws what a Unity sky would."""
    h = (seed & 0xFFFFFFFF) ^ ((salt * 0x9E3779B9) & 0xFFFFFFFF)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return (h >> 8) / float(1 << 24)


def lighting(weather: str, minutes: int, coverage: float | None = None) -> dict[str, float]:
    """Light of a (weather, time): sun elevation, intensity, cloud cover, warmth. Unknown weather: KeyError.
    `coverage` replaces the weather's cloud cover (a sky that draws its own, testing/sky.py)."""
    direct, cloud = WEATHERS[weather]
    cloud = cloud if coverage is None else round(float(coverage), 6)
    elevation = math.sin(math.pi * (minutes - 330) / 780)             # sunrise 05:30, noon 12:00, sunset 18:30
    sun = max(elevation, 0.0)
    warmth = (1.0 - sun) ** 2 if sun > 0 else 0.0                      # low sun: orange light
    intensity = 0.08 + 0.92 * math.sqrt(sun) * direct
    return {"sun_elevation": round(elevation, 6), "sun_intensity": round(intensity, 6),
            "cloud_cover": cloud, "warmth": round(warmth * (1 - cloud), 6)}


def foreground_mask(viewpoint: dict, foreground: str, width: int, height: int) -> np.ndarray:
    """The exact HxW bool mask of the foreground seen from the viewpoint (empty when out of view)."""
    zoom = float(viewpoint.get("zoom", 1.0))
    if zoom <= 0:
        return np.zeros((height, width), bool)
    aspect = 0.45 + 1.2 * _unit(foreground, "aspect")                   # width / height of the ellipse
    cx = 0.5 + 0.2 * (_unit(viewpoint["name"], "cx") - 0.5) + float(viewpoint.get("shift", 0.0))
    cy = 0.55 + 0.1 * (_unit(viewpoint["name"], "cy") - 0.5)
    ry = 0.2 * zoom
    rx = ry * aspect
    yy, xx = np.mgrid[0:height, 0:width]
    u = ((xx + 0.5) / width - cx) / rx
    v = ((yy + 0.5) / height - cy) / ry
    return u * u + v * v <= 1.0


def draw(scene: str, viewpoint: dict, foreground: dict, weather: str, minutes: int,
         width: int, height: int, coverage: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 HxWx3 frame, bool HxW mask) of one capture."""
    light = lighting(weather, minutes, coverage)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = 6.28 * _unit(scene + viewpoint["name"], "texture")
    horizon = 0.45 + 0.1 * _unit(viewpoint["name"], "horizon")
    ground = (yy / height) > horizon
    sky = np.array([0.45, 0.62, 0.95], np.float32)
    soil = np.array([0.35 + 0.3 * _unit(scene, "r"), 0.4 + 0.2 * _unit(scene, "g"), 0.25], np.float32)
    texture = 0.85 + 0.15 * np.sin(xx / (3.0 + 5 * _unit(scene, "f")) + phase) * np.cos(yy / 7.0)
    albedo = np.where(ground[..., None], soil * texture[..., None], sky)
    mask = foreground_mask(viewpoint, foreground["name"], width, height)
    body = np.array([_unit(foreground["category"], c) for c in "rgb"], np.float32) * 0.7 + 0.2
    shade = 0.8 + 0.2 * np.cos(xx / 4.0)
    albedo = np.where(mask[..., None], body * shade[..., None], albedo)
    # Light colour: white sun, orange at a low sun, grey under clouds, blue at night.
    sun_rgb = np.array([1.0, 1.0 - 0.35 * light["warmth"], 1.0 - 0.7 * light["warmth"]], np.float32)
    grey = np.array([0.8, 0.82, 0.85], np.float32)
    night = np.array([0.25, 0.3, 0.55], np.float32)
    colour = (1 - light["cloud_cover"]) * sun_rgb + light["cloud_cover"] * grey
    if light["sun_elevation"] <= 0:
        colour = night
    rgb = albedo * colour * light["sun_intensity"] * 1.1 + 0.02
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8), mask
