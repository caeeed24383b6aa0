"""`rdh render-scenes --engine builtin`: render the run's scenes into a capture store.

A scene is the unit of work, of retry and of sharding: scene i gets its id and seed from
(--seed, i) alone, the shard renders the indices congruent to i mod N, finished scenes are
skipped, and each scene is written whole by `write_scene`. With --workers K > 1 the scenes go
to K spawned processes (each with its own Mitsuba and 1/K of the cores); images are reported
to `progress` as they finish.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

from datagen.builtin import assets
from datagen.builtin.plan import PlanOptions
from datagen.builtin.variant import VariantChoice, activate, choose_variant
from datagen.capture_store import rebuild_index, scene_exists
from datagen.render_config import Progress, RenderConfig, RenderSummary, scene_id, shard_indices
from datagen.styles import StyleConfig, load_style_config
from manifests.errors import RdhError


@dataclass(frozen=True)
class Job:
    """What every scene of a run shares (picklable, sent to the workers)."""

    out: str
    base_seed: int
    resolution: int
    spp: int
    min_ratio: float
    max_ratio: float
    opts: PlanOptions
    variant: str


@dataclass
class Outcome:
    scene_id: str
    images: int = 0
    redraws: int = 0
    error: str = ""


def plan_options(cfg: RenderConfig) -> PlanOptions:
    """Check the categories, styles file and user meshes of a run; RdhError naming the fault."""
    style_config = load_style_config(cfg.styles_file) if cfg.styles_file else StyleConfig()
    users = assets.scan_user_meshes(cfg.assets_dir)
    for path in (p for files in users.by_category.values() for p in files):
        assets.load_user_mesh(path)                     # a bad file fails the run now, not scene by scene
    for cat in cfg.categories:
        if cat not in assets.FOREGROUNDS and not users.get(cat):
            where = f" or add meshes under {users.root}/{cat}/" if users.root else " or pass --assets with <category>/ meshes"
            raise RdhError(f"--categories: {cat!r} has no built-in asset: use {', '.join(assets.FOREGROUNDS)}{where}")
    return PlanOptions(categories=tuple(cfg.categories), styles=tuple(cfg.styles), style_config=style_config,
                       user_meshes=users)


_NOTES_SHOWN: set[str] = set()


def render_scenes(cfg: RenderConfig, progress: Progress) -> RenderSummary:
    """Render the scenes of this shard that are not finished yet; rebuild the store's index."""
    start = time.perf_counter()
    opts = plan_options(cfg)
    choice = choose_variant(cfg.variant)
    if choice.note and choice.note not in _NOTES_SHOWN:  # once a process: the demo renders three stores
        _NOTES_SHOWN.add(choice.note)
        print(f"rdh: {choice.note}", file=sys.stderr)
    indices = shard_indices(cfg)
    todo = [i for i in indices if not scene_exists(cfg.out, scene_id(i))]
    summary = RenderSummary(skipped=len(indices) - len(todo), variant=choice.variant)
    job = Job(str(cfg.out), int(cfg.seed), int(cfg.resolution), int(cfg.spp), float(cfg.min_fg_ratio),
              float(cfg.max_fg_ratio), opts, choice.variant)
    if todo:
        run = _run_in_process if cfg.workers == 1 or len(todo) == 1 else _run_in_pool
        for outcome in run(job, todo, choice, cfg.workers, progress):
            if outcome.error:
                summary.failed.append(f"{outcome.scene_id}: {outcome.error}")
                print(f"rdh: scene {outcome.scene_id} failed: {outcome.error}", file=sys.stderr)
                continue
            summary.rendered += 1
            summary.images += outcome.images
            summary.redraws += outcome.redraws
    if cfg.out.exists():
        rebuild_index(cfg.out)
    summary.seconds = time.perf_counter() - start
    return summary


def render_index(job: Job, index: int, report: Progress) -> Outcome:
    """Render and write scene `index`; errors are returned, not raised, so a run goes on."""
    from datagen.builtin.scene_render import find_layout, render_plan, scene_meta
    from datagen.capture_store import write_scene

    sid = scene_id(index)
    try:
        plan, geo, mask, redraws = find_layout(index, job.base_seed, job.opts, job.resolution, job.min_ratio, job.max_ratio)
        scene = render_plan(plan, job.resolution, job.spp, geo=geo, mask=mask, progress=report)
        write_scene(job.out, scene_meta(scene, job.resolution, job.spp, job.variant), scene.images, {0: scene.mask})
        return Outcome(sid, len(scene.images), redraws)
    except RdhError as exc:
        return Outcome(sid, error=str(exc))
    except Exception as exc:  # a bug in one scene must not lose the others; the message names it
        return Outcome(sid, error=f"{type(exc).__name__}: {exc}")


def _run_in_process(job: Job, todo: list[int], choice: VariantChoice, workers: int, progress: Progress):
    activate(choice)
    _quiet_mitsuba()
    for index in todo:
        yield render_index(job, index, progress)


_REPORT = None


def _init_worker(choice: VariantChoice, threads: int, report_queue) -> None:
    global _REPORT
    activate(choice)
    _quiet_mitsuba()
    import drjit as dr

    dr.set_thread_count(threads)
    _REPORT = report_queue


def _worker(job: Job, index: int) -> Outcome:
    return render_index(job, index, lambda n: _REPORT.put(n))


def _run_in_pool(job: Job, todo: list[int], choice: VariantChoice, workers: int, progress: Progress):
    ctx = mp.get_context("spawn")                          # Mitsuba's threads do not survive fork
    reports = ctx.Queue()
    workers = min(workers, len(todo))
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(choice, threads, reports)) as pool:
        index_of = {pool.submit(_worker, job, i): i for i in todo}
        pending = set(index_of)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(reports, progress)
            for future in done:
                try:
                    yield future.result()
                except Exception as exc:  # a worker that died (out of memory, a crash in native code)
                    yield Outcome(scene_id(index_of[future]), error=f"worker failed: {type(exc).__name__}: {exc}")
    _drain(reports, progress)


def _drain(reports, progress: Progress) -> None:
    while True:
        try:
            progress(reports.get_nowait())
        except queue.Empty:
            return


def _quiet_mitsuba() -> None:
    """Mitsuba warns about texture values above 1 (our emission maps are linear radiance)."""
    import mitsuba as mi

    mi.set_log_level(mi.LogLevel.Error)
