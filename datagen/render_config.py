"""Options of `rdh render-scenes`, shared by both engines, and the scene-index bookkeeping.

An engine is a module with `render_scenes(cfg: RenderConfig, progress) -> RenderSummary`
(`datagen.builtin` on Mitsuba 3, `datagen.unity_engine` through unity_bridge). Both write the
capture store of DESIGN.md; scene `i` of a run gets the id `scene_id(i)` and the seed
`scene_seed(cfg.seed, i)`, so any scene can be rendered alone and shards never overlap.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from manifests.errors import RdhError

CATEGORIES = ("human", "bottle", "cake", "motorcycle", "cow", "couch")


@dataclass
class UnityOptions:
    """How to reach Unity: a player build to launch, or the Editor to attach to."""

    build: Path | None = None          # --unity-build: player executable
    editor: bool = False               # --unity-editor: attach to a running Editor (port 5004)
    player_args: list[str] = field(default_factory=list)
    log_dir: Path | None = None
    base_port: int = 5005              # worker w listens on base_port + w (the Editor uses 5004)
    bind_address: str = "127.0.0.1"    # loopback by default; another address only for a remote player
    connect_timeout: float = 60.0
    reply_timeout: float = 60.0
    max_restarts: int = 3
    settle_frames: int = 5


@dataclass
class RenderConfig:
    """Options of `rdh render-scenes`."""

    out: Path
    engine: str = "builtin"            # builtin | unity
    scenes: int = 10
    seed: int = 0
    resolution: int = 256
    spp: int = 64
    categories: tuple[str, ...] = CATEGORIES
    styles: tuple[int, ...] = tuple(range(1, 11))
    styles_file: Path | None = None
    workers: int = 1
    shard: tuple[int, int] = (0, 1)    # (i, N): render scene indices congruent to i mod N
    variant: str = "auto"              # builtin: auto | scalar | llvm
    min_fg_ratio: float = 0.01
    max_fg_ratio: float = 0.6
    assets_dir: Path | None = None     # builtin: user meshes (.obj/.ply) in <category>/ subfolders
    unity: UnityOptions = field(default_factory=UnityOptions)


@dataclass
class RenderSummary:
    rendered: int = 0                  # scenes rendered now
    skipped: int = 0                   # scenes finished before (resumed)
    images: int = 0                    # style images rendered now
    redraws: int = 0                   # layouts re-drawn for fg-ratio bounds
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    variant: str = ""


Progress = Callable[[int], None]       # called with the number of images just finished


def scene_id(index: int) -> str:
    """The capture-store id of scene `index` of a run."""
    return f"scene{index:06d}"


def scene_seed(base_seed: int, index: int) -> np.random.SeedSequence:
    """The seed of scene `index`, derived from the run's base seed alone."""
    return np.random.SeedSequence([int(base_seed) & 0xFFFFFFFF, int(index)])


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


def check_config(cfg: RenderConfig) -> None:
    if cfg.engine not in ("builtin", "unity"):
        raise RdhError(f"--engine {cfg.engine!r}: use builtin or unity")
    if cfg.scenes < 1:
        raise RdhError(f"--scenes {cfg.scenes}: use 1 or more")
    if not 16 <= cfg.resolution <= 4096:
        raise RdhError(f"--resolution {cfg.resolution}: use 16..4096")
    if cfg.spp < 1:
        raise RdhError(f"--spp {cfg.spp}: use 1 or more")
    if cfg.workers < 1:
        raise RdhError(f"--workers {cfg.workers}: use 1 or more")
    if cfg.variant not in ("auto", "scalar", "llvm"):
        raise RdhError(f"--variant {cfg.variant!r}: use auto, scalar or llvm")
    if not cfg.styles:
        raise RdhError("--styles selects no style")
    if not 0 <= cfg.min_fg_ratio < cfg.max_fg_ratio <= 1:
        raise RdhError("--min-fg-ratio/--max-fg-ratio: need 0 <= min < max <= 1")


def render(cfg: RenderConfig, progress: Progress | None = None) -> RenderSummary:
    """Render the scenes of cfg with its engine into the capture store cfg.out."""
    check_config(cfg)
    if cfg.engine == "builtin":
        from datagen import builtin as engine
    else:
        from datagen import unity_engine as engine
    return engine.render_scenes(cfg, progress or (lambda n: None))
