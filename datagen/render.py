"""`rdh render-scenes`: the engine protocol and the one run loop both engines share.

An engine only renders scenes (Kubric's View: a backend behind one small interface). The run
loop owns the rest: which scene indices this shard holds, resume (a scene folder that exists is
finished: `write_scene` is atomic), progress (finished scenes count at once), the executor
(local processes or players, or a Ray task per scene), the index rebuild and the summary.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Iterable, Protocol

from datagen.capture_store import rebuild_index, scene_exists
from datagen.render_config import RenderConfig, RenderSummary, SceneOutcome, check_config, scene_id, shard_indices
from rdhcore.errors import RdhError
from rdhcore.progress import Progress, as_progress

log = logging.getLogger("rdh.render")


SceneTask = Callable[[int, Progress], SceneOutcome]   # picklable: render and write scene `index` in any process


class Engine(Protocol):
    def open(self) -> str:
        """Check the options and set up; RdhError before any scene. Returns what renders (e.g. the variant)."""

    def render(self, todo: list[int], progress: Progress) -> Iterable[SceneOutcome]:
        """Render and write these scenes on this machine (cfg.workers at a time), yielding each outcome
        as it finishes and reporting images to `progress`; raise only for faults that stop the run."""

    def task(self) -> SceneTask:
        """The one-scene function for executors that place scenes themselves (Ray)."""


def make_engine(cfg: RenderConfig) -> Engine:
    if cfg.engine == "builtin":
        from datagen.builtin.engine import BuiltinEngine

        return BuiltinEngine(cfg)
    from datagen.unity_engine import UnityEngine

    if cfg.executor != "local":
        raise RdhError(f"--executor {cfg.executor}: the Unity engine drives its players from this machine; "
                       "use --executor local (and --shard i/N per machine)")
    return UnityEngine(cfg)


def render(cfg: RenderConfig, progress: Progress | None = None) -> RenderSummary:
    """Render the scenes of this shard of cfg that are not in the capture store cfg.out yet."""
    check_config(cfg)
    progress = as_progress(progress)
    start = time.perf_counter()
    engine = make_engine(cfg)
    summary = RenderSummary(variant=engine.open())
    indices = shard_indices(cfg)
    progress.start(len(indices) * len(cfg.styles))
    todo = [i for i in indices if not scene_exists(cfg.out, scene_id(i))]
    summary.skipped = len(indices) - len(todo)
    if summary.skipped:
        progress(summary.skipped * len(cfg.styles))          # resumed scenes count, so the bar ends at 100%
    try:
        if not todo:
            outcomes: Iterable[SceneOutcome] = []
        elif cfg.executor == "ray":
            from datagen.ray_executor import run_tasks

            outcomes = run_tasks(engine.task(), todo, cfg.ray, cfg.workers * cfg.ray.cpus_per_scene, progress, scene_id)
        else:
            outcomes = engine.render(todo, progress)
        for outcome in outcomes:
            if outcome.error:
                log.warning("scene %s not rendered: %s", outcome.scene_id, outcome.error)
                summary.failed.append(f"{outcome.scene_id}: {outcome.error}")
                summary.redraws += outcome.redraws
                continue
            summary.rendered += 1
            summary.images += outcome.images
            summary.redraws += outcome.redraws
    finally:
        if any(Path(cfg.out).joinpath("scenes").glob("*/scene.json")):
            rebuild_index(cfg.out)
    summary.seconds = time.perf_counter() - start
    return summary
