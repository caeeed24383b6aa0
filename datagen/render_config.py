"""Options of `rdh render-scenes`, split into what every engine shares (`RenderConfig`), the
built-in engine's (`BuiltinOptions`) and Unity's (`UnityOptions`), and the scene-index
bookkeeping. The CLI reads each option's default and help from these dataclasses.

Scene `i` of a run gets the id `scene_id(i)` and the seed `derive_seed(cfg.seed, i)`, so any
scene can be rendered alone, on any machine, and shards never overlap. `datagen.render` holds
the engine protocol and the one run loop; the engines import
this module and `SceneOutcome` from here, never `datagen.render`.
"""
from __future__ import annotations

import re
from dataclasses import InitVar, dataclass, field, replace
from pathlib import Path

from rdhcore.errors import RdhError
from rdhcore.options import default_of, help_of, opt  # noqa: F401  (help_of, default_of: for the CLI)

CATEGORIES = ("human", "bottle", "cake", "motorcycle", "cow", "couch")
SAMPLERS = ("independent", "stratified", "multijitter", "orthogonal", "ldsampler")
EXECUTORS = ("local", "ray")


# The built-in engine's sampling per image size, from bench/render.py --resolutions (docs/scale.md):
# (largest size it applies to, spp, sampler, denoise, denoiser guides). At 64 px 24 spp is the least
# that beats 64 spp independent without a denoiser by 1 dB (worst image and night no worse); from
# 128 px 12 spp does, at 3.9x (128) and 5x (256) its speed.
SIZE_DEFAULTS = ((96, 24, "multijitter", True, False), (4096, 12, "multijitter", True, False))


@dataclass
class BuiltinOptions:
    """The built-in engine (Mitsuba 3). spp, sampler, denoise and guides left at None take the
    defaults of the image size (SIZE_DEFAULTS, chosen from bench/render.py's table): `for_size`."""

    APPLIES = ("engine", "builtin")    # the CLI refuses these options with another engine
    spp: int | None = opt(None, "Samples per pixel of the beauty pass (default: by image size, see docs/scale.md).")
    sampler: str | None = opt(None, f"Mitsuba sampler: {', '.join(SAMPLERS)} (default: by image size).")
    denoise: bool | None = opt(None, "Denoise each style with Intel Open Image Denoise (pyoidn) (default: by image size).")
    guides: bool | None = opt(None, "Give the denoiser albedo and normal guides from the same pass (default: by "
                                    "image size; ~10x slower in scalar with Mitsuba 3.9).")
    variant: str = opt("auto", "Mitsuba variant: auto (llvm from 192 px if libLLVM >= 16 loads, else scalar), "
                               "scalar or llvm.")
    assets_dir: Path | None = opt(None, "Folder of your meshes: <category>/*.obj|*.ply.")
    generator: str = opt("main", "Scene generator: main, or second: warped meshes, patterned materials, more clutter and "
                                 "a continuous sun and sky (the demo's stand-in photos at --gap 3; datagen/builtin/second.py).")

    def for_size(self, resolution: int) -> "BuiltinOptions":
        """A copy with every unset sampling option at the default of this image size."""
        _, spp, sampler, denoise, guides = next((row for row in SIZE_DEFAULTS if resolution <= row[0]), SIZE_DEFAULTS[-1])
        return replace(self, spp=spp if self.spp is None else self.spp,
                       sampler=sampler if self.sampler is None else self.sampler,
                       denoise=denoise if self.denoise is None else self.denoise,
                       guides=guides if self.guides is None else self.guides)


@dataclass
class UnityOptions:
    """How to reach Unity: a player build to launch, or the Editor to attach to."""

    APPLIES = ("engine", "unity")
    build: Path | None = opt(None, "Unity player executable to launch.")
    editor: bool = opt(False, "Attach to a Unity Editor in Play mode on port 5004.")
    player_args: list[str] = opt([], "Extra player argument; repeat for several.")
    log_dir: Path | None = opt(None, "Folder for player logs (default OUT/.unity/logs).")
    base_port: int = opt(5005, "Worker w listens on base port + w (the Editor uses 5004).")
    bind_address: str = opt("127.0.0.1", "Address the bridge listens on; change only for a remote player.")
    connect_timeout: float = opt(60.0, "Seconds to wait for a player to connect.")
    reply_timeout: float = opt(60.0, "Seconds to wait for each reply.")
    max_restarts: int = opt(3, "Restarts of a crashed player before giving up.")
    settle_frames: int = opt(48, "Frames the sky settles after a style change, at least (UniStorm: 25 warm-up + 16 per cloud refresh).")
    settle_seconds: float = opt(1.0, "Seconds (real time) the sky settles after a style change, at least.")
    mask_tolerance: float = opt(0.01, "Largest share of the foreground's pixels its mask may change between styles, or its two "
                                      "id passes may disagree on; more refuses the scene.")


@dataclass
class RayOptions:
    """--executor ray: each scene a Ray task on a cluster (or a local Ray started for the run)."""

    APPLIES = ("executor", "ray")
    address: str | None = opt(None, "Ray cluster to join (e.g. ray://head:10001 or auto); default: start a local one.")
    cpus_per_scene: float = opt(1.0, "CPUs Ray reserves for each scene task.")
    max_retries: int = opt(3, "Times a scene is retried after its worker died.")
    timeout: float = opt(30.0, "Seconds to wait for --ray-address to answer and Ray to connect; then the run "
                               "stops (releasing OUT) instead of retrying for minutes.")


@dataclass
class RenderConfig:
    """Options of `rdh render-scenes` that every engine shares, and each engine's own."""

    out: Path
    engine: str = opt("builtin", "builtin (Mitsuba 3, no Unity needed) or unity.")
    scenes: int = opt(10, "Number of 2D scenes in the whole run (all shards).")
    seed: int = opt(0, "Base seed; scene i uses a seed derived from (seed, i).")
    resolution: int = opt(256, "Image width and height in pixels.")
    categories: tuple[str, ...] = opt(CATEGORIES, "Foreground categories, e.g. human,cow (default: all six).")
    styles: tuple[int, ...] = opt(tuple(range(1, 11)), "Style ids or names, e.g. 1,2,10 (default: all 10).")
    styles_file: Path | None = opt(None, "TOML file overriding the phase time ranges.")
    workers: int = opt(1, "Parallel workers on this machine (builtin processes, or Unity players).")
    shard: tuple[int, int] = opt((0, 1), "i/N: render only scene indices congruent to i mod N.")
    min_fg_ratio: float = opt(0.01, "Re-draw scenes whose foreground covers less than this.")
    max_fg_ratio: float = opt(0.6, "Re-draw scenes whose foreground covers more than this.")
    executor: str = opt("local", "local (this machine, --workers processes) or ray (a Ray task per scene).")
    builtin: BuiltinOptions = field(default_factory=BuiltinOptions)
    unity: UnityOptions = field(default_factory=UnityOptions)
    ray: RayOptions = field(default_factory=RayOptions)
    spp: InitVar[int | None] = None        # shorthand for builtin.spp, kept for RenderConfig(..., spp=8) callers

    def __post_init__(self, spp: int | None) -> None:
        self.out = Path(self.out)
        if spp is not None:
            self.builtin.spp = int(spp)


@dataclass
class RenderSummary:
    rendered: int = 0                  # scenes rendered now
    skipped: int = 0                   # scenes finished before (resumed)
    images: int = 0                    # style images rendered now
    redraws: int = 0                   # layouts re-drawn for fg-ratio bounds
    failed: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # the failures of kind "crash" or "bug" (also in failed)
    seconds: float = 0.0
    variant: str = ""


@dataclass
class SceneOutcome:
    """What rendering one scene gave: its images, or why there are none and what kind of fault it was:
    "input" (the scene cannot be made as asked: the run goes on), "environment" (an OSError such as
    a full disk or a read-only store: the run stops), "crash" (its worker process died, out of memory
    or in native code) or "bug" (an unexpected exception in one scene): after a crash or a bug the
    run goes on, and its exit status says so."""

    scene_id: str
    images: int = 0
    redraws: int = 0
    error: str = ""
    kind: str = "input"


def scene_id(index: int) -> str:
    """The capture-store id of scene `index` of a run."""
    return f"scene{index:06d}"


def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise RdhError(f"--shard {text!r}: write i/N with 0 <= i < N, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def parse_categories(text: str | None) -> tuple[str, ...]:
    if not text or text.strip().lower() == "all":
        return CATEGORIES
    cats = tuple(c.strip() for c in text.split(",") if c.strip())
    if not cats:
        raise RdhError("--categories is empty: list categories like human,cow")
    return cats


def shard_indices(cfg: RenderConfig) -> list[int]:
    """The scene indices this shard renders."""
    i, n = cfg.shard
    return [k for k in range(cfg.scenes) if k % n == i]


def check_ray(opts: RayOptions) -> None:
    if not opts.cpus_per_scene > 0 or opts.max_retries < 0:
        raise RdhError("--ray-cpus-per-scene must be > 0 and --ray-max-retries >= 0")
    if not 0 < opts.timeout <= 3600:
        raise RdhError(f"--ray-timeout {opts.timeout}: use seconds in (0, 3600], e.g. 30")


def check_config(cfg: RenderConfig) -> None:
    if cfg.engine not in ("builtin", "unity"):
        raise RdhError(f"--engine {cfg.engine!r}: use builtin or unity")
    if cfg.scenes < 1:
        raise RdhError(f"--scenes {cfg.scenes}: use 1 or more")
    if not 16 <= cfg.resolution <= 4096:
        raise RdhError(f"--resolution {cfg.resolution}: use 16..4096")
    if cfg.workers < 1:
        raise RdhError(f"--workers {cfg.workers}: use 1 or more")
    if not cfg.styles:
        raise RdhError("--styles selects no style")
    if not 0 <= cfg.min_fg_ratio < cfg.max_fg_ratio <= 1:
        raise RdhError("--min-fg-ratio/--max-fg-ratio: need 0 <= min < max <= 1")
    if cfg.executor not in EXECUTORS:
        raise RdhError(f"--executor {cfg.executor!r}: use {' or '.join(EXECUTORS)}")
    check_ray(cfg.ray)
    b = cfg.builtin.for_size(cfg.resolution)
    if b.spp < 1:
        raise RdhError(f"--spp {b.spp}: use 1 or more")
    if b.sampler not in SAMPLERS:
        raise RdhError(f"--sampler {b.sampler!r}: use one of {', '.join(SAMPLERS)}")
    if b.variant not in ("auto", "scalar", "llvm"):
        raise RdhError(f"--variant {b.variant!r}: use auto, scalar or llvm")

