"""The stand-in player's sky: where its controller lives, when it is ready, and what it draws by itself.

It models the layouts of docs/unity.md and the UniStorm behaviour the C# controller works around:

- `bootstrap`: the controller and its sky live in the bootstrap scene; ready `ready_frames`
  frames after the player connected.
- `scene-sky`: the controller is on the bootstrap object, the sky system (UniStorm) comes with
  each content scene: `hello` reports the controller with the sky `pending`; the sky is ready
  `ready_frames` frames after each scene load.
- `scene-controller`: the controller comes with each content scene too: `hello` reports no
  controller (`none`) until a scene is loaded.

With `reseeds` the sky draws its cloud coverage from the clock whenever a weather is set (as
UniStorm re-seeds UnityEngine.Random from DateTime.Now) and advances its moon phase whenever its
clock is set to noon (so with the order of the styles). A `seeded` controller (the package's
UniStormSkyController) then sets both from the style's seed with SkySeeds (`sky_unit`); an
unseeded one (fault `unseeded-sky`) leaves them as drawn.
"""
from __future__ import annotations

import time

from unity_bridge.testing.frames import COVERAGE_SALT, MOON_SALT, WEATHERS, sky_unit

LAYOUTS = ("bootstrap", "scene-sky", "scene-controller")
MOON_PHASES = 8


def coverage_range(weather: str) -> tuple[float, float]:
    """The cloud coverage a weather draws from (around its nominal cloud cover)."""
    cover = WEATHERS[weather][1]
    return max(0.0, cover - 0.05), min(1.0, cover + 0.05)


class StandInSky:
    def __init__(self, controller: str, layout: str = "bootstrap", ready_frames: int = 0, reseeds: bool = False) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"sky layout {layout!r} is not one of {', '.join(LAYOUTS)}")
        self.controller = controller
        self.layout = layout
        self.ready_frames = ready_frames
        self.reseeds = reseeds
        self.seeded = True                      # the player sets False for its unseeded-sky fault
        self.ready_at: int | None = ready_frames if layout == "bootstrap" else None   # None: no sky yet
        self.coverage: float | None = None      # None: the weather's nominal cloud cover
        self.moon = 5                           # UniStorm's default MoonPhaseIndex

    def controller_name(self) -> str:
        return "none" if self.layout == "scene-controller" and self.ready_at is None else self.controller

    def state(self, frame: int) -> str:
        if self.controller_name() == "none":
            return "none"
        return "ready" if self.ready(frame) else "pending"

    def ready(self, frame: int) -> bool:
        return self.ready_at is not None and frame >= self.ready_at

    def scene_loaded(self, frame: int) -> None:
        """A content scene was loaded at `frame`: a sky that comes with it starts over."""
        if self.layout != "bootstrap":
            self.ready_at = frame + self.ready_frames

    def apply(self, weather: str, minutes: int, seed: int) -> dict[str, float]:
        """Set a style; returns the values the sky reports for it besides its lighting."""
        if not self.reseeds:
            self.coverage = None
            return {}
        low, high = coverage_range(weather)
        clock = (time.time_ns() // 1_000_000) % 1000           # DateTime.Now.Millisecond
        self.coverage = low + (high - low) * sky_unit(clock, COVERAGE_SALT)
        if minutes // 60 == 12:
            self.moon = (self.moon + 1) % MOON_PHASES           # the clock passed noon
        if self.seeded:
            self.coverage = low + (high - low) * sky_unit(seed, COVERAGE_SALT)
            self.moon = min(int(sky_unit(seed, MOON_SALT) * MOON_PHASES), MOON_PHASES - 1)
        return {"cloud_coverage": round(self.coverage, 6), "moon_phase": float(self.moon)}
