"""The demo's stages, each skipped when its work is on disk (a rerun resumes):

  1. render       novel-category scenes (rendered domain, held-out test, the upper bound's own) and
                  base-category scenes
  2. composites   rendered novel pairs, all ordered style pairs (D_tr,n^rd)
  3. stand-in     the STAND-IN real domain at --gap (0: datagen.photo_look, relit composites; 1-3:
                  datagen.standin, iHarmony4-like composites; 3 on scenes of datagen.builtin.second): base pairs for training, validation
                  and testing (D_tr,b^rl, D_te,b^rl), held-out novel test pairs (D_te,n^rl) and, for
                  the upper bound only, novel training pairs (D_tr,n^rl) from novel scenes that are
                  never rendered for the rendered domain
  4. manifest     all pairs in one rdh.manifest/1 file with the novel flag
  5. train        every method of Table 2 for the same number of steps
  6. evaluate     every model and the input composites on the novel and base test sets
  7. report       OUT/report.md, summary.json, grid.png, curves.png (reality_gap.report)
"""
from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import ContextManager, Protocol

from rdhcore.errors import RdhError
from rdhcore.locks import output_lock
from rdhcore.records import read_options, write_options
from rdhcore.progress import Progress, Quiet
from reality_gap.layout import Layout
from reality_gap.presets import GAP_NAMES, DemoConfig, Method, stage_steps
from reality_gap.report import write_report


class Reporter(Protocol):
    """How stages show progress: `task(description, total)` gives an rdhcore.progress.Progress for
    the duration of a `with` block."""

    def task(self, description: str, total: int | None) -> ContextManager[Progress]: ...


class Silent:
    @contextlib.contextmanager
    def task(self, description: str, total: int | None):
        yield Quiet()


def check_options(cfg: DemoConfig, paths: Layout) -> None:
    """A rerun into the same OUT must use the same sizes, seed and novel category (else stages would mix)."""
    from reality_gap.presets import CATEGORIES

    if cfg.size.steps < 2:
        raise RdhError(f"--steps {cfg.size.steps}: use 2 or more (the two-stage row splits its steps)")
    if cfg.novel_category not in CATEGORIES:
        raise RdhError(f"--novel-category {cfg.novel_category!r}: use one of {', '.join(CATEGORIES)}")
    if cfg.workers < 1:
        raise RdhError("--workers must be at least 1")
    if cfg.gap not in GAP_NAMES:
        raise RdhError(f"--gap {cfg.gap}: use one of {', '.join(map(str, GAP_NAMES))}")
    wanted = json.loads(json.dumps({"seed": cfg.seed, "novel_category": cfg.novel_category, "size": asdict(cfg.size),
                                    "gap": cfg.gap}))
    recorded = read_options(paths.options)
    if recorded is not None:
        if recorded != wanted:
            raise RdhError(f"{paths.root} holds a demo made with other options (--quick/--steps/--seed/--novel-category/--gap): "
                           "use another --out, or delete the folder to start over")
    elif paths.root.exists() and any(not p.name.startswith(".rdh-lock") for p in paths.root.iterdir()):
        raise RdhError(f"{paths.root} exists and is not a demo folder: use another --out")
    else:
        write_options(paths.options, wanted)


def layout_of(cfg: DemoConfig) -> Layout:
    """Where the demo of `cfg` writes (from gap 3 on, the stand-in's scenes have folders of their own)."""
    return Layout(cfg.out, cfg.novel_category, second_generator=cfg.standin_generator == "second")


def run_demo(cfg: DemoConfig, reporter: Reporter | None = None) -> Path:
    """Run (or resume) every stage; returns the path of report.md."""
    reporter = reporter or Silent()
    paths = layout_of(cfg)
    with output_lock(cfg.out, "rdh demo"):  # each stage also locks its own folder inside
        check_options(cfg, paths)
        return _run_stages(cfg, paths, reporter, write_report)


def prepare_data(cfg: DemoConfig, reporter: Reporter | None = None) -> Layout:
    """Only the data stages (render, composites, stand-in, manifest): what bench/colour_map.py measures."""
    paths = layout_of(cfg)
    with output_lock(cfg.out, "rdh demo"):
        check_options(cfg, paths)
        for _, stage in DATA_STAGES:
            stage(cfg, paths, reporter or Silent())
    return paths


def share_renders(source: Path, cfg: DemoConfig) -> bool:
    """Hard-link the captures of demo folder `source` into the demo folder of `cfg` (same seed, size and
    category: the same renders, whatever the stand-in's gap level, except the second generator's stand-in
    scenes from gap 3 on); False when there is nothing to share."""
    import os
    import shutil

    target = layout_of(cfg)
    folders = [f for f in (target.captures_novel_train, target.captures_novel_test, target.captures_novel_upper,
                           target.captures_base) if (source / f.relative_to(target.root)).is_dir()]
    if (target.root / "captures").exists() or not folders:
        return False
    with output_lock(cfg.out, "rdh demo"):
        check_options(cfg, target)   # the folder becomes cfg's demo folder first
        for folder in folders:       # only the stores this gap level uses (gap 3 renders its stand-in's own)
            shutil.copytree(source / folder.relative_to(target.root), folder, copy_function=os.link)
    return True


def _run_stages(cfg: DemoConfig, paths: Layout, reporter: Reporter, write_report) -> Path:
    times: dict[str, float] = {}
    for name, stage in DATA_STAGES + MODEL_STAGES:
        start = time.perf_counter()
        stage(cfg, paths, reporter)
        times[name] = time.perf_counter() - start
    write_report(cfg, paths, times)
    return paths.report


# ---------------------------------------------------------------- data

def stage_render(cfg: DemoConfig, paths: Layout, reporter: Reporter) -> None:
    from datagen.render import render
    from datagen.render_config import BuiltinOptions, RenderConfig

    s = cfg.size
    novel = (cfg.novel_category,)
    standin = cfg.standin_generator
    jobs = ((paths.captures_novel_train, s.novel_train_scenes, novel, 1, "main", f"{cfg.novel_category} (rendered domain)"),
            (paths.captures_novel_test, s.novel_test_scenes, novel, 2, standin, f"{cfg.novel_category} (stand-in test)"),
            (paths.captures_novel_upper, s.novel_upper_scenes, novel, 4, standin, f"{cfg.novel_category} (upper bound's own)"),
            (paths.captures_base, s.base_scenes, cfg.base_categories, 3, standin, "base categories (stand-in)"))
    for folder, scenes, categories, salt, generator, what in jobs:
        rcfg = RenderConfig(out=folder, engine="builtin", scenes=scenes, seed=cfg.seed * 1000 + salt,
                            resolution=s.resolution, categories=categories, styles=s.styles,
                            workers=cfg.workers, builtin=BuiltinOptions(spp=s.spp, generator=generator))
        with reporter.task(f"render {what}", scenes * len(s.styles)) as progress:
            summary = render(rcfg, progress)
        if summary.failed:
            raise RdhError(f"{folder}: {len(summary.failed)} scene(s) failed to render ({summary.failed[0]}): "
                           "rerun the demo to retry them")


def stage_composites(cfg: DemoConfig, paths: Layout, reporter: Reporter) -> None:
    from datagen.compose import ComposeConfig, make_composites

    with reporter.task(f"composites of the rendered {cfg.novel_category} scenes", None):
        make_composites(ComposeConfig(captures=paths.captures_novel_train, out=paths.pairs_rendered, seed=cfg.seed,
                                      min_fg_change=2.0))


def stage_stand_in(cfg: DemoConfig, paths: Layout, reporter: Reporter) -> None:
    from datagen.photo_look import PhotoLookConfig, make_photo_look_pairs
    from datagen.standin import StandInConfig, make_standin_pairs

    s = cfg.size
    jobs = ((paths.captures_base, paths.pairs_real_base, dict(test_fraction=s.base_test_fraction,
                                                              val_fraction=s.base_val_fraction)),
            (paths.captures_novel_test, paths.pairs_real_novel_test, dict(all_test=True)),
            (paths.captures_novel_upper, paths.pairs_real_novel_train, {}))   # for the upper bound only
    with reporter.task(f"stand-in real domain (gap {cfg.gap}: {GAP_NAMES[cfg.gap]})", len(jobs)) as progress:
        for captures, out, options in jobs:
            if (out / "pairs.parquet").exists():
                pass
            elif cfg.gap == 0:
                make_photo_look_pairs(PhotoLookConfig(captures=captures, out=out, seed=cfg.seed, composites="relight",
                                                      photos_per_scene=None, min_fg_change=2.0, **options))
            else:
                make_standin_pairs(StandInConfig(captures=captures, out=out, gap=cfg.gap, seed=cfg.seed,
                                                 min_fg_change=2.0, **options))
            progress(1)


def stage_manifest(cfg: DemoConfig, paths: Layout, reporter: Reporter) -> None:
    from manifests.build import BuildConfig, build_manifest

    if paths.manifest.exists():
        return
    with reporter.task("manifest", None):
        build_manifest(BuildConfig(out=paths.manifest, prefix_pairs=True, novel_categories=[cfg.novel_category],
                                   seed=cfg.seed, workers=2,
                                   pairs=[paths.pairs_rendered, paths.pairs_real_base, paths.pairs_real_novel_test,
                                          paths.pairs_real_novel_train]))


# ---------------------------------------------------------------- models

def train_config(cfg: DemoConfig, paths: Layout, method: Method, index: int):
    """The TrainConfig of stage `index` of `method`."""
    from harmonize.train import TrainConfig

    s = cfg.size
    runs = method.run_names()
    steps = stage_steps(method, s.steps)[index]
    return TrainConfig(**dict(method.options), model=method.model, manifest=paths.manifest, out=paths.runs / runs[index], max_steps=steps,
                       batch_size=s.batch_size, image_size=s.image_size, depth=s.depth, width=s.width,
                       unshared=s.unshared, device=cfg.device, workers=0, seed=cfg.seed,
                       filter=method.stages[index].filter, lr=s.lr, schedule="cosine",
                       warmup_steps=min(s.warmup_steps, steps // 4), blend_init="identity",
                       init_from=paths.runs / runs[index - 1] / "last.pt" if index else None,
                       val_every=max(1, steps // 10), val_max=200, log_every=max(1, min(10, steps // 10)),
                       val_fraction=0.0)   # a run without split=val rows (renders only) keeps all its scenes


def finished_steps(run: Path) -> int:
    """Steps in RUN/last.pt, 0 when there is none."""
    from harmonize.checkpoint import load_checkpoint

    last = run / "last.pt"
    return int(load_checkpoint(last).get("step", 0)) if last.exists() else 0


def final_checkpoint(paths: Layout, method: Method) -> Path:
    return paths.runs / method.run_names()[-1] / "last.pt"


def stage_train(cfg: DemoConfig, paths: Layout, reporter: Reporter) -> None:
    from harmonize.train import train

    for method in cfg.methods:
        for index in range(len(method.run_names())):
            tcfg = train_config(cfg, paths, method, index)
            done = finished_steps(tcfg.out)
            if done >= tcfg.max_steps:
                continue
            stage = f" (stage {index + 1}/{len(method.stages)})" if len(method.stages) > 1 else ""
            with reporter.task(f"train {method.label}{stage}", tcfg.max_steps) as progress:
                train(replace(tcfg, resume=done > 0), progress=progress)


def stage_evaluate(cfg: DemoConfig, paths: Layout, reporter: Reporter) -> None:
    from harmonize.evaluate import EvalConfig, evaluate

    for method in cfg.methods:
        ckpt, result = final_checkpoint(paths, method), paths.result(method.name)
        if result.exists() and result.stat().st_mtime >= ckpt.stat().st_mtime:
            continue
        with reporter.task(f"evaluate {method.label}", None) as progress:
            res = evaluate(EvalConfig(manifest=paths.manifest, checkpoint=ckpt, filter="domain=real",
                                      device=cfg.device, save_outputs=paths.outputs / method.name), progress)
        res.write_csv(paths.results / f"{method.name}.csv")
        res.write_per_image(paths.per_image(method.name))
        res.write_json(result)  # last: its presence marks the stage done


# the stages in order (defined after them): the data ones, then the models
DATA_STAGES = (("render", stage_render), ("composites", stage_composites), ("stand-in real", stage_stand_in),
               ("manifest", stage_manifest))
MODEL_STAGES = (("train", stage_train), ("evaluate", stage_evaluate))
