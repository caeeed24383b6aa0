"""The built-in engine behind `rdh render-scenes --engine builtin`: it renders scenes, and the run
loop of `datagen.render` does the rest (shards, resume, progress, index, summary).

Scene i gets its id and seed from (--seed, i) alone and is written whole by `write_scene`. With
--workers K > 1 the scenes go to K spawned processes (each with its own Mitsuba and 1/K of the
cores); images are reported to `progress` as they finish. `task()` is the same one-scene
function for executors that place scenes themselves (Ray).
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import queue
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

from datagen.builtin import assets
from datagen.builtin.plan import PlanOptions
from datagen.builtin.second import GENERATORS
from datagen.builtin.variant import VariantChoice, activate, choose_variant
from datagen.render_config import BuiltinOptions, RenderConfig, SceneOutcome, scene_id
from datagen.styles import StyleConfig, load_style_config
from rdhcore.errors import RdhError, os_error_message
from rdhcore.progress import Progress


@dataclass(frozen=True)
class Job:
    """What every scene of a run shares (picklable, sent to the workers)."""

    out: str
    base_seed: int
    resolution: int
    min_ratio: float
    max_ratio: float
    plan: PlanOptions
    render: BuiltinOptions
    variant: VariantChoice


def plan_options(cfg: RenderConfig) -> PlanOptions:
    """Check the categories, styles file and user meshes of a run; RdhError naming the fault."""
    if cfg.builtin.generator not in GENERATORS:
        raise RdhError(f"--generator {cfg.builtin.generator!r}: use one of {', '.join(GENERATORS)}")
    style_config = load_style_config(cfg.styles_file) if cfg.styles_file else StyleConfig()
    users = assets.scan_user_meshes(cfg.builtin.assets_dir)
    for path in (p for files in users.by_category.values() for p in files):
        assets.load_user_mesh(path)                     # a bad file fails the run now, not scene by scene
    for cat in cfg.categories:
        if cat not in assets.FOREGROUNDS and not users.get(cat):
            where = f" or add meshes under {users.root}/{cat}/" if users.root else " or pass --assets with <category>/ meshes"
            raise RdhError(f"--categories: {cat!r} has no built-in asset: use {', '.join(assets.FOREGROUNDS)}{where}")
    return PlanOptions(categories=tuple(cfg.categories), styles=tuple(cfg.styles), style_config=style_config,
                       user_meshes=users, generator=cfg.builtin.generator)


_NOTES_SHOWN: set[str] = set()


class BuiltinEngine:
    """Mitsuba 3 scenes from seeded plans (datagen.builtin.plan), rendered style by style."""

    def __init__(self, cfg: RenderConfig) -> None:
        self.cfg = cfg
        self.job: Job | None = None

    def open(self) -> str:
        cfg = self.cfg
        opts = plan_options(cfg)
        sampling = cfg.builtin.for_size(cfg.resolution)      # unset sampling options: the size's defaults
        if sampling.denoise:
            from datagen.builtin.denoise import check_denoiser

            check_denoiser()
        choice = choose_variant(cfg.builtin.variant, resolution=cfg.resolution)
        if choice.note and choice.note not in _NOTES_SHOWN:  # once a process: the demo renders three stores
            _NOTES_SHOWN.add(choice.note)
            print(f"rdh: {choice.note}", file=sys.stderr)
        self.job = Job(str(cfg.out), int(cfg.seed), int(cfg.resolution), float(cfg.min_fg_ratio),
                       float(cfg.max_fg_ratio), opts, sampling, choice)
        return choice.variant

    def render(self, todo: list[int], progress: Progress):
        if self.cfg.workers == 1 or len(todo) == 1:
            return _run_in_process(self.job, todo, progress)
        return _run_in_pool(self.job, todo, self.cfg.workers, progress)

    def task(self) -> "SceneTask":
        return SceneTask(self.job, max(1, int(self.cfg.ray.cpus_per_scene)))


@dataclass(frozen=True)
class SceneTask:
    """Render and write one scene of a job in whatever process calls it (picklable), on
    `threads` render threads (the CPUs the executor reserved for it)."""

    job: Job
    threads: int = 1

    def __call__(self, index: int, report: Progress) -> SceneOutcome:
        activate(self.job.variant)
        _quiet_mitsuba()
        import drjit as dr

        dr.set_thread_count(self.threads)
        return render_index(self.job, index, report)


def render_index(job: Job, index: int, report: Progress) -> SceneOutcome:
    """Render and write scene `index`; errors are returned, not raised, so a run goes on."""
    from datagen.builtin.scene_render import find_layout, render_plan, scene_meta
    from datagen.capture_store import write_scene

    sid = scene_id(index)
    try:
        plan, geo, mask, redraws = find_layout(index, job.base_seed, job.plan, job.resolution, job.min_ratio, job.max_ratio)
        scene = render_plan(plan, job.resolution, job.render, geo=geo, mask=mask, progress=report)
        write_scene(job.out, scene_meta(scene, job.resolution, job.render, job.variant.variant), scene.images,
                    {0: scene.mask})
        return SceneOutcome(sid, len(scene.images), redraws)
    except RdhError as exc:
        return SceneOutcome(sid, error=str(exc))
    except OSError as exc:  # a full disk, a read-only store: the run stops with one line naming the file
        return SceneOutcome(sid, error=os_error_message(exc) or f"{type(exc).__name__}: {exc}", kind="environment")
    except Exception as exc:  # a bug in one scene must not lose the others; the message names it
        return SceneOutcome(sid, error=f"{type(exc).__name__}: {exc}", kind="bug")


def _run_in_process(job: Job, todo: list[int], progress: Progress):
    activate(job.variant)
    _quiet_mitsuba()
    for index in todo:
        yield render_index(job, index, progress)


_REPORT = None


def _init_worker(choice: VariantChoice, threads: int, report_queue, denoise: bool) -> None:
    global _REPORT
    activate(choice)
    _quiet_mitsuba()
    import drjit as dr

    dr.set_thread_count(threads)
    _REPORT = report_queue
    import datagen.builtin.scene_render  # noqa: F401  (what every scene needs, imported once per worker)
    import datagen.capture_store  # noqa: F401
    if denoise:
        from datagen.builtin.denoise import check_denoiser

        check_denoiser()


def _worker(job: Job, index: int) -> SceneOutcome:
    return render_index(job, index, lambda n: _REPORT.put(n))


_POOL: dict = {}    # "pool": (key, executor, report queue): kept for the next run of this process


def _worker_pool(job: Job, workers: int, threads: int):
    """Worker processes for `workers` x `threads`, reused by later runs of this process (the
    demo renders three stores): spawning a worker and its imports costs seconds."""
    key = (job.variant, workers, threads, job.render.denoise)
    held = _POOL.get("pool")
    if held is not None and held[0] == key and not getattr(held[1], "_broken", False):
        return held[1], held[2]
    close_workers()
    ctx = mp.get_context("spawn")                          # Mitsuba's threads do not survive fork
    reports = ctx.Queue()
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(job.variant, threads, reports, job.render.denoise))
    _POOL["pool"] = (key, pool, reports)
    return pool, reports


def close_workers() -> None:
    """Stop the worker processes kept for later runs (at exit, or to free their memory)."""
    held = _POOL.pop("pool", None)
    if held is not None:
        held[1].shutdown(wait=True, cancel_futures=True)


atexit.register(close_workers)


def _run_in_pool(job: Job, todo: list[int], workers: int, progress: Progress):
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool, reports = _worker_pool(job, workers, threads)
    index_of = {pool.submit(_worker, job, i): i for i in todo}
    pending = set(index_of)
    try:
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(reports, progress)
            for future in done:
                try:
                    yield future.result()
                except Exception as exc:  # a worker that died (out of memory, a crash in native code)
                    yield SceneOutcome(scene_id(index_of[future]), kind="crash",
                                       error=f"worker failed: {type(exc).__name__}: {exc}")
    except BaseException:  # interrupted or stopped early (a full disk, GeneratorExit): close_workers cancels
        close_workers()    # every scene not started, and no scene may be written after the run
        raise
    _drain(reports, progress)


def _drain(reports, progress: Progress) -> None:
    while True:
        try:
            progress(reports.get_nowait())
        except queue.Empty:
            return


def _quiet_mitsuba() -> None:
    """Mitsuba warns about texture values above 1 (our ground maps are linear) and rounded sample counts."""
    import mitsuba as mi

    mi.set_log_level(mi.LogLevel.Error)
