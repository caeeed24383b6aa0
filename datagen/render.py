"""`rdh render-scenes`: the engine protocol and the one run loop both engines share.

An engine only renders scenes (Kubric's View: a backend behind one small interface). The run
loop owns the rest: which scene indices this shard holds, resume (a scene folder that exists is
finished: `write_scene` is atomic), progress (finished scenes count at once), the executor
(local processes or players, or a Ray task per scene), the index rebuild and the summary.
"""
from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Protocol

from datagen.capture_store import INDEX_NAME, has_scenes, rebuild_index, scene_exists, scenes_dir
from datagen.render_config import RenderConfig, RenderSummary, SceneOutcome, check_config, scene_id, shard_indices
from rdhcore.atomic import TEMP_MARK
from rdhcore.errors import RdhError
from rdhcore.files import read_regular
from rdhcore.records import changed_options, read_options, write_options
from rdhcore.locks import LOCK_NAME, brief_lock, describe, live_holders, output_lock
from rdhcore.outputs import Inputs
from rdhcore.sweep import named, sweep
from rdhcore.progress import Progress, as_progress

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
    """Render the scenes of this shard of cfg that are not in the capture store cfg.out yet.

    The shard's lock is held throughout (shards of one store may run side by side); the store's
    recorded options must match cfg's (a rerun with another --resolution would mix scenes)."""
    check_config(cfg)
    cfg = replace(cfg, builtin=cfg.builtin.for_size(cfg.resolution))   # sampling by image size, where unset
    inputs = Inputs().add_folder(cfg.builtin.assets_dir, "--assets").add_file(cfg.styles_file, "--styles-file")
    inputs.add_file(cfg.unity.build, "--unity-build").refuse([("OUT", cfg.out)])
    engine = make_engine(cfg)
    variant = engine.open()  # every option and input the engine checks, before OUT is touched
    i, n = cfg.shard
    part = "" if n == 1 else f"shard-{i}-of-{n}"
    with output_lock(cfg.out, "rdh render-scenes", part=part) as lock:
        # shards of one store run side by side; an unsharded run and a shard may not
        others = [(p, h) for p, h in live_holders(cfg.out, f"{LOCK_NAME}-shard-*" if not part else LOCK_NAME)
                  if p != lock.path]
        if others:
            raise RdhError(f"{cfg.out}: in use by {describe(others[0][1])}: an unsharded render and shards "
                           "cannot fill one store at once; wait for it, or use --shard i/N for every run")
        for sid in map(scene_id, shard_indices(cfg)):  # only this shard's leftovers: others may be writing
            for tmp in scenes_dir(cfg.out).glob(f".{sid}{TEMP_MARK}*"):
                shutil.rmtree(tmp, ignore_errors=True)
        if n == 1:  # alone in the store: the index's leftovers are ours too
            sweep(cfg.out, {"": named(INDEX_NAME), ".rdh": named(render_options_path(cfg.out).name)}, lock.path)
        with brief_lock(cfg.out, "rdh render-scenes (options)", part=OPTIONS_PART):
            check_rerun_options(cfg, lock.path)
        try:
            return _render(cfg, engine, variant, progress)
        except BaseException:
            with brief_lock(cfg.out, "rdh render-scenes (options)", part=OPTIONS_PART):
                forget_options_of_nothing(cfg.out, lock.path)
            raise


OPTIONS_PART = "options"  # the store-wide lock under which render-options.json is created and compared


def render_options_path(out: Path) -> Path:
    return Path(out) / ".rdh" / "render-options.json"


def other_renders(out: Path, own: Path) -> list[tuple[Path, dict]]:
    """The live renders into this store other than the one holding `own` (unsharded or shards)."""
    return [(p, h) for pattern in (LOCK_NAME, f"{LOCK_NAME}-shard-*") for p, h in live_holders(out, pattern)
            if p != own]


def check_rerun_options(cfg: RenderConfig, own: Path) -> None:
    """Record the options that decide a scene's pixels, or refuse a run whose options differ from
    the store's: its scenes, or a shard that runs now. Called under the store-wide options lock,
    so two shards started together cannot both record theirs."""
    path, wanted = render_options_path(cfg.out), render_options(cfg)
    rendered = has_scenes(cfg.out)
    previous = read_options(path)
    if previous is not None:
        changed = changed_options(previous, wanted)
        if not changed:
            return
        shown = ", ".join(f"{k} {previous.get(k)!r} -> {wanted.get(k)!r}" for k in changed)
        if rendered:
            raise RdhError(f"{cfg.out} was rendered with other options ({shown}): use a new OUT folder, "
                           "or the same options to add scenes to this store")
        running = other_renders(cfg.out, own)
        if running:
            raise RdhError(f"{cfg.out}: {describe(running[0][1])} renders into this store with other options "
                           f"({shown}): give every shard the same options, or use a new OUT folder")
        # the record of a run that rendered nothing and is gone binds nothing: ours replaces it
    elif rendered:
        return  # a store from an rdh that did not record options: nothing to compare with, record nothing
    write_options(path, wanted, sort_keys=True)


def forget_options_of_nothing(out: Path, own: Path) -> None:
    """After a failed run: a store with no scene and no other live render keeps no options record."""
    if has_scenes(out) or other_renders(out, own):
        return
    render_options_path(out).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        render_options_path(out).parent.rmdir()
        scenes_dir(out).rmdir()


def render_options(cfg: RenderConfig) -> dict:
    """The options that decide what a scene looks like (not how many, where or how fast)."""
    styles_text = None
    if cfg.styles_file is not None:
        styles_text = hashlib.sha256(read_regular(cfg.styles_file, "styles file")).hexdigest()
    opts = {"engine": cfg.engine, "seed": cfg.seed, "resolution": cfg.resolution,
            "categories": list(cfg.categories), "styles": list(cfg.styles), "styles_file_sha256": styles_text,
            "min_fg_ratio": cfg.min_fg_ratio, "max_fg_ratio": cfg.max_fg_ratio}
    if cfg.engine == "builtin":
        b = cfg.builtin.for_size(cfg.resolution)   # what the sampling resolves to at this size
        opts.update(spp=b.spp, sampler=b.sampler, denoise=b.denoise, guides=b.guides,
                    assets_dir=None if b.assets_dir is None else str(b.assets_dir))
        if b.generator != "main":    # stores of the main generator keep the options they recorded
            opts["generator"] = b.generator
    else:
        opts.update(settle_frames=cfg.unity.settle_frames)
    return opts


def collect(outcomes: Iterable[SceneOutcome], summary: RenderSummary) -> None:
    """Count each scene's outcome into the summary; RdhError at the first environment fault (a full
    disk fails every scene after it too), while faults of one scene let the others go on."""
    for outcome in outcomes:
        summary.redraws += outcome.redraws
        if not outcome.error:
            summary.rendered += 1
            summary.images += outcome.images
            continue
        summary.failed.append(f"{outcome.scene_id}: {outcome.error}")
        if outcome.kind in ("crash", "bug"):
            summary.faults.append(summary.failed[-1])
        if outcome.kind == "environment":
            before = f" ({summary.rendered} scene(s) of this run were written before it)" if summary.rendered else ""
            raise RdhError(f"scene {outcome.scene_id}: {outcome.error}{before}")


def _render(cfg: RenderConfig, engine: Engine, variant: str, progress: Progress | None = None) -> RenderSummary:
    progress = as_progress(progress)
    start = time.perf_counter()
    summary = RenderSummary(variant=variant)
    indices = shard_indices(cfg)
    progress.start(len(indices) * len(cfg.styles))
    todo = [i for i in indices if not scene_exists(cfg.out, scene_id(i))]
    summary.skipped = len(indices) - len(todo)
    if summary.skipped:
        progress(summary.skipped * len(cfg.styles))          # resumed scenes count, so the bar ends at 100%
    if not todo:
        outcomes: Iterable[SceneOutcome] = []
    elif cfg.executor == "ray":
        from datagen.ray_executor import run_tasks

        outcomes = run_tasks(engine.task(), todo, cfg.ray, cfg.workers * cfg.ray.cpus_per_scene, progress, scene_id)
    else:
        outcomes = engine.render(todo, progress)
    stopping = True       # until collect returns: an error of the index is then not the run's first
    try:
        collect(outcomes, summary)
        stopping = False
    finally:
        getattr(outcomes, "close", lambda: None)()  # stopped early: workers start no other scene
        if has_scenes(cfg.out):
            try:
                rebuild_index(cfg.out)
            except OSError:
                if not stopping:
                    raise  # a run that stops already says why (a full disk fails the index too)
    if summary.failed and not summary.rendered:
        more = f" (and {len(summary.failed) - 1} more)" if len(summary.failed) > 1 else ""
        raise RdhError(f"{cfg.out}: no scene could be rendered: {summary.failed[0]}{more}")
    summary.seconds = time.perf_counter() - start
    return summary
