"""`rdh demo`: the whole chain on the built-in engine, in minutes on a laptop CPU.

Stages, each skipped when its work is on disk (a rerun resumes):

  1. render       human scenes (the rendered novel category) and base-category scenes (Mitsuba 3)
  2. composites   rendered human pairs (datagen.compose): the rendered training set D_tr,n^rd
  3. stand-in     a STAND-IN real domain from renders (datagen.photo_look): base pairs for training
                  and testing (D_tr,b^rl, D_te,b^rl) and held-out human pairs for testing (D_te,n^rl)
  4. manifest     all pairs in one rdh.manifest/1 file with the novel flag (manifests.build)
  5. train        iDIH on both domains pooled (dataset fusion) and CharmNet, same number of steps
  6. evaluate     both models and the input composites on the novel and base test sets
  7. report       OUT/report.md (the table) and OUT/grid.png (composite | iDIH | CharmNet | target)
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional

import typer

from rdh.commands.console import console, out, progress_bar, rate_text

HELP = """Run the whole chain on the built-in renderer and write OUT/report.md with a result table and
an image grid: render scenes (human is the rendered novel category), build a STAND-IN real
domain from base-category renders (a photographic look and color-transfer composites: not real
photos), make composites, build the manifest, train iDIH (dataset fusion) and CharmNet for the
same short budget, and evaluate both on the novel and base test sets.

About 6 minutes on 2 idle CPU cores; --quick is a smaller run for CI (under 2 minutes). A rerun skips
finished stages. For the paper's protocol on iHarmony4 and RdHarmony see docs/reproduce.md.

[bold]Examples[/bold]

  rdh demo

  rdh demo --quick --out /tmp/demo

  rdh demo --out demo_gpu --device cuda --steps 3000
"""

NOVEL = "human"
BASE = ("bottle", "cake", "motorcycle", "cow", "couch")
STAND_IN_LINE = ("The real domain of this demo is a STAND-IN: rendered images passed through a photographic look "
                 "(tone curve, sensor noise, JPEG) with color-transfer composites. It is not real photographs.")


@dataclass(frozen=True)
class DemoSize:
    """How much the demo renders and trains."""

    resolution: int             # render size (square)
    spp: int                    # samples per pixel
    styles: tuple[int, ...]     # styles of the rendered-domain scenes
    standin_styles: tuple[int, ...]  # styles of the stand-in scenes: each becomes one stand-in photo
    novel_train_scenes: int     # human scenes -> rendered training pairs
    novel_test_scenes: int      # other human scenes -> stand-in real test pairs (novel)
    base_scenes: int            # base-category scenes -> stand-in real pairs (base), train and test
    base_test_fraction: float
    variants: int               # color-transfer composites per stand-in photo (cheap: no rendering)
    per_target: int | None      # rendered composites per ground truth (fg styles), None = all
    steps: int                  # training steps, the same for both models
    image_size: int             # training size
    depth: int
    width: int
    batch_size: int             # per domain for CharmNet


FULL = DemoSize(resolution=128, spp=16, styles=(2, 4, 8, 10), standin_styles=(2, 8), novel_train_scenes=10,
                novel_test_scenes=5, base_scenes=24, base_test_fraction=0.3, variants=8, per_target=None,
                steps=800, image_size=64, depth=5, width=32, batch_size=8)
QUICK = DemoSize(resolution=64, spp=4, styles=(2, 8, 10), standin_styles=(2, 8), novel_train_scenes=3,
                 novel_test_scenes=2, base_scenes=4, base_test_fraction=0.3, variants=2, per_target=None,
                 steps=60, image_size=64, depth=5, width=16, batch_size=4)


@dataclass
class DemoConfig:
    """Options of `rdh demo`."""

    out: Path = Path("demo")
    quick: bool = False
    seed: int = 0
    device: str = "auto"
    workers: int = 2            # render worker processes
    steps: int | None = None    # override the preset's training steps
    size: DemoSize = field(default=FULL)

    def __post_init__(self):
        if self.quick and self.size == FULL:
            self.size = QUICK
        if self.steps is not None:
            self.size = replace(self.size, steps=self.steps)


class Layout:
    """Where each stage writes, under OUT."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.captures_novel_train = self.root / "captures" / "human_rendered"
        self.captures_novel_test = self.root / "captures" / "human_standin"
        self.captures_base = self.root / "captures" / "base_standin"
        self.pairs_rendered = self.root / "pairs" / "rendered_human"
        self.pairs_real_base = self.root / "pairs" / "standin_real_base"
        self.pairs_real_novel = self.root / "pairs" / "standin_real_human"
        self.manifest = self.root / "manifest.parquet"
        self.runs = self.root / "runs"
        self.outputs = self.root / "outputs"
        self.results = self.root / "results"
        self.report = self.root / "report.md"
        self.grid = self.root / "grid.png"
        self.options = self.root / ".rdh-demo.json"


MODELS = (("idih", "idih_fusion", "iDIH (dataset fusion)"), ("charmnet", "charmnet", "CharmNet"))


# ---------------------------------------------------------------- the command

def register(app: typer.Typer) -> None:
    app.command("demo", help=HELP)(demo_cmd)


def demo_cmd(
    out_dir: Path = typer.Option(Path("demo"), "--out", help="Folder for everything the demo makes."),
    quick: bool = typer.Option(False, "--quick", help="A smaller run for CI (under 2 minutes on 2 CPU cores)."),
    seed: int = typer.Option(0, "--seed", help="Seed for scenes, stand-in photos, splits and training."),
    device: str = typer.Option("auto", "--device", help="Training device: auto, cpu or cuda."),
    workers: int = typer.Option(2, "--workers", "-j", help="Render worker processes."),
    steps: Optional[int] = typer.Option(None, "--steps", help=f"Training steps per model (default: {FULL.steps}, or {QUICK.steps} with --quick)."),
) -> None:
    cfg = DemoConfig(out=out_dir, quick=quick, seed=seed, device=device, workers=workers, steps=steps)
    check_options(cfg, Layout(cfg.out))  # a wrong --out fails before anything is printed or made
    console.print(f"[bold yellow]Note:[/bold yellow] {STAND_IN_LINE}")
    report = run_demo(cfg)
    out.print(f"\n[bold]report:[/bold] {report}\n[bold]grid:[/bold]   {Layout(cfg.out).grid}")


def run_demo(cfg: DemoConfig) -> Path:
    """Run (or resume) every stage; returns the path of report.md."""
    paths = Layout(cfg.out)
    check_options(cfg, paths)
    times: dict[str, float] = {}
    for name, stage in (("render", stage_render), ("composites", stage_composites), ("stand-in real", stage_stand_in),
                        ("manifest", stage_manifest), ("train", stage_train), ("evaluate", stage_evaluate)):
        start = time.perf_counter()
        stage(cfg, paths)
        times[name] = time.perf_counter() - start
    write_report(cfg, paths, times)
    return paths.report


def check_options(cfg: DemoConfig, paths: Layout) -> None:
    """A rerun into the same OUT must use the same sizes and seed (else its stages would mix)."""
    from manifests.atomic import write_text_atomic
    from manifests.errors import RdhError

    if cfg.size.steps < 1:
        raise RdhError(f"--steps {cfg.size.steps}: use 1 or more")
    wanted = {"seed": cfg.seed, "size": asdict(cfg.size)}
    wanted = json.loads(json.dumps(wanted))  # tuples as lists, as they come back from the file
    if paths.options.exists():
        previous = json.loads(paths.options.read_text())
        if previous != wanted:
            raise RdhError(f"{paths.root} holds a demo made with other options (--quick/--steps/--seed): "
                           "use another --out, or delete the folder to start over")
    else:
        write_text_atomic(paths.options, json.dumps(wanted, indent=2))


def _bar(description: str, unit: str):
    """A progress bar with one task; returns (bar, advance(n), set_total(n))."""
    bar = progress_bar()
    task = bar.add_task(description, total=None, rate="")
    start = time.perf_counter()

    def advance(n: int = 1) -> None:
        bar.advance(task, n)
        bar.update(task, rate=rate_text(bar.tasks[0].completed, time.perf_counter() - start, unit))

    return bar, advance, lambda total: bar.update(task, total=total)


# ---------------------------------------------------------------- stages

def stage_render(cfg: DemoConfig, paths: Layout) -> None:
    from datagen.render_config import RenderConfig, render

    s = cfg.size
    jobs = ((paths.captures_novel_train, s.novel_train_scenes, (NOVEL,), s.styles, 1, "human (rendered domain)"),
            (paths.captures_novel_test, s.novel_test_scenes, (NOVEL,), s.standin_styles, 2, "human (stand-in test)"),
            (paths.captures_base, s.base_scenes, BASE, s.standin_styles, 3, "base categories (stand-in)"))
    for folder, scenes, categories, styles, salt, what in jobs:
        rcfg = RenderConfig(out=folder, engine="builtin", scenes=scenes, seed=cfg.seed * 1000 + salt,
                            resolution=s.resolution, spp=s.spp, categories=categories, styles=styles,
                            workers=cfg.workers)
        bar, advance, set_total = _bar(f"render {what}", "images")
        set_total(scenes * len(styles))
        with bar:
            render(rcfg, advance)


def stage_composites(cfg: DemoConfig, paths: Layout) -> None:
    from datagen.compose import ComposeConfig, make_composites

    with console.status("composites of the rendered human scenes"):
        make_composites(ComposeConfig(captures=paths.captures_novel_train, out=paths.pairs_rendered,
                                      per_target=cfg.size.per_target, seed=cfg.seed, min_fg_change=2.0))


def stage_stand_in(cfg: DemoConfig, paths: Layout) -> None:
    from datagen.photo_look import PhotoLookConfig, make_photo_look_pairs

    s = cfg.size
    common = dict(seed=cfg.seed, photos_per_scene=len(s.standin_styles), variants=s.variants)
    with console.status("stand-in real domain (photographic look + color transfer)"):
        make_photo_look_pairs(PhotoLookConfig(captures=paths.captures_base, out=paths.pairs_real_base,
                                              test_fraction=s.base_test_fraction, **common))
        make_photo_look_pairs(PhotoLookConfig(captures=paths.captures_novel_test, out=paths.pairs_real_novel,
                                              all_test=True, **common))


def stage_manifest(cfg: DemoConfig, paths: Layout) -> None:
    from manifests.build import BuildConfig, build_manifest

    with console.status("manifest"):
        build_manifest(BuildConfig(out=paths.manifest, prefix_pairs=True, novel_categories=[NOVEL], seed=cfg.seed,
                                   pairs=[paths.pairs_rendered, paths.pairs_real_base, paths.pairs_real_novel],
                                   workers=2))


def train_config(cfg: DemoConfig, paths: Layout, model: str, run: str):
    from harmonize.train import TrainConfig

    s = cfg.size
    return TrainConfig(model=model, manifest=paths.manifest, out=paths.runs / run, max_steps=s.steps,
                       batch_size=s.batch_size, image_size=s.image_size, depth=s.depth, width=s.width,
                       unshared=min(4, s.depth - 1), device=cfg.device, workers=0, seed=cfg.seed,
                       val_every=s.steps, val_max=16, log_every=max(1, min(10, s.steps)))


def finished_steps(run: Path) -> int:
    """Steps in RUN/last.pt, 0 when there is none."""
    from harmonize.checkpoint import load_checkpoint

    last = run / "last.pt"
    return int(load_checkpoint(last).get("step", 0)) if last.exists() else 0


def stage_train(cfg: DemoConfig, paths: Layout) -> None:
    from harmonize.train import train

    for model, run, label in MODELS:
        tcfg = train_config(cfg, paths, model, run)
        done = finished_steps(tcfg.out)
        if done >= cfg.size.steps:
            continue
        bar = progress_bar()
        task = bar.add_task(f"train {label}", total=cfg.size.steps, completed=done, rate="")

        def progress(step: int, total: int, info: dict, bar=bar, task=task) -> None:
            rate = info.get("images_per_s")
            bar.update(task, completed=step, total=total, rate=f"{rate:.1f} images/s" if rate else "")

        with bar:
            train(replace(tcfg, resume=done > 0), progress=progress)


def result_path(paths: Layout, run: str) -> Path:
    return paths.results / f"{run}.json"


def stage_evaluate(cfg: DemoConfig, paths: Layout) -> None:
    from harmonize.evaluate import EvalConfig, evaluate

    for _, run, label in MODELS:
        ckpt, result = paths.runs / run / "last.pt", result_path(paths, run)
        if result.exists() and result.stat().st_mtime >= ckpt.stat().st_mtime:
            continue
        bar, advance, set_total = _bar(f"evaluate {label}", "images")
        with bar:
            res = evaluate(EvalConfig(manifest=paths.manifest, checkpoint=ckpt, filter="domain=real",
                                      device=cfg.device, save_outputs=paths.outputs / run),
                           progress=advance, started=set_total)
        res.write_csv(paths.results / f"{run}.csv")
        res.write_per_image(paths.results / f"{run}_per_image.csv")
        res.write_json(result)  # last: its presence marks the stage done


# ---------------------------------------------------------------- report

def load_results(paths: Layout) -> dict[str, dict]:
    return {run: json.loads(result_path(paths, run).read_text()) for _, run, _ in MODELS}


def group_row(result: dict, novel: bool) -> dict:
    for g in result["groups"]:
        if g["group"] == "novel" and g["value"] is novel:
            return g
    raise KeyError(f"no novel={novel} group in the evaluation")


def table_rows(results: dict[str, dict]) -> list[tuple[str, str, dict, dict]]:
    """(method, training data, novel scores, base scores) for the composite and both models."""
    first = results[MODELS[0][1]]
    composite = {k: {m: group_row(first, k)[f"composite_{m}"] for m in ("mse", "fmse", "psnr")} | {"count": group_row(first, k)["count"]}
                 for k in (True, False)}
    rows = [("Input composite", "-", composite[True], composite[False])]
    data = "rendered human + stand-in real base"
    for _, run, label in MODELS:
        rows.append((label, data, group_row(results[run], True), group_row(results[run], False)))
    return rows


def reading(rows) -> str:
    """One sentence per model on how its fMSE compares with the composite's, from the numbers."""
    (_, _, comp_n, comp_b), *models = rows
    parts = []
    for method, _, nov, base in models:
        change = [100.0 * (d["fmse"] - c["fmse"]) / c["fmse"] for d, c in ((nov, comp_n), (base, comp_b))]
        parts.append(f"{method} changes fMSE by {change[0]:+.1f}% on novel and {change[1]:+.1f}% on base pairs")
    return ("Relative to the input composites, " + "; ".join(parts) + " (negative is better). With a few hundred "
            "pairs and a few minutes of CPU training these numbers are a smoke test of the chain, not a comparison "
            "of the methods: small differences are not meaningful (rerun with another `--seed` to see how much "
            "they move), and the paper's ordering needs its data and budget.")


def markdown_table(rows) -> str:
    lines = ["| method | training data | novel MSE | novel fMSE | novel PSNR | base MSE | base fMSE | base PSNR |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for method, data, nov, base in rows:
        cells = [f"{nov['mse']:.2f}", f"{nov['fmse']:.2f}", f"{nov['psnr']:.2f}",
                 f"{base['mse']:.2f}", f"{base['fmse']:.2f}", f"{base['psnr']:.2f}"]
        lines.append(f"| {method} | {data} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pick_examples(paths: Layout, per_group: int = 3):
    """Test pairs for the grid, per group (novel, base): typical to hard ones (the composites at the
    50th, 70th and 90th percentile of fMSE), one pair per stand-in photo."""
    import pandas as pd

    from manifests.schema import read_manifest

    df = pd.read_csv(paths.results / f"{MODELS[0][1]}_per_image.csv")
    targets = read_manifest(paths.manifest, columns=["pair_id", "target_path"])
    df = df.merge(targets, on="pair_id").sort_values(["composite_fmse", "pair_id"]).drop_duplicates("target_path")
    picks = []
    for flag in (True, False):
        group = df[df["novel"] == flag].reset_index(drop=True)
        quantiles = (0.9, 0.7, 0.5, 0.3, 0.1)[:max(per_group, 1)]
        rows = sorted({round(q * (len(group) - 1)) for q in quantiles}, reverse=True) if len(group) else []
        picks.append(group.iloc[rows])
    picks = pd.concat(picks)
    return picks["pair_id"].tolist(), dict(zip(picks["pair_id"], picks["novel"].astype(bool)))


def write_grid(paths: Layout, pair_ids: list[str], novel: dict[str, bool]) -> None:
    """composite | iDIH | CharmNet | target, one row per pair, titled, with the stand-in notice."""
    import cv2
    import numpy as np

    from datagen.imageio import read_gray, read_rgb, write_image
    from manifests.schema import read_manifest, resolve_paths

    df = resolve_paths(read_manifest(paths.manifest), paths.manifest).set_index("pair_id")
    cell = 160
    titles = ["composite", "iDIH (fusion)", "CharmNet", "target"]
    rows = []
    for pid in pair_ids:
        row = df.loc[pid]
        mask = read_gray(row["mask_path"]) > 127
        images = [read_rgb(row["composite_path"]), read_rgb(paths.outputs / MODELS[0][1] / f"{pid}.png"),
                  read_rgb(paths.outputs / MODELS[1][1] / f"{pid}.png"), read_rgb(row["target_path"])]
        big_mask = cv2.resize(mask.astype(np.uint8), (cell, cell), interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(big_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cells = []
        for img in images:
            big = np.ascontiguousarray(cv2.resize(img, (cell, cell), interpolation=cv2.INTER_NEAREST))
            cv2.drawContours(big, contours, -1, (255, 0, 0), 1)   # the foreground, outlined in red
            cells.append(big)
        label = np.full((cell + 4, 60, 3), 255, np.uint8)
        cv2.putText(label, "novel" if novel[pid] else "base", (4, cell // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        rows.append(np.concatenate([label, *[np.pad(c, ((2, 2), (2, 2), (0, 0)), constant_values=255) for c in cells]], axis=1))
    body = np.concatenate(rows, axis=0)
    header = np.full((26, body.shape[1], 3), 255, np.uint8)
    for i, title in enumerate(titles):
        cv2.putText(header, title, (60 + i * (cell + 4) + 6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    footer = np.full((40, body.shape[1], 3), 255, np.uint8)
    cv2.putText(footer, "test pairs of the STAND-IN real domain (renders + photographic look), not real photos",
                (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (180, 0, 0), 1)
    cv2.putText(footer, "foreground outlined in red; novel = human (seen only as renders in training)",
                (6, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    write_image(paths.grid, np.concatenate([header, body, footer], axis=0))


def write_report(cfg: DemoConfig, paths: Layout, times: dict[str, float]) -> None:
    from manifests.atomic import write_text_atomic
    from manifests.schema import read_manifest

    results = load_results(paths)
    rows = table_rows(results)
    pair_ids, novel = pick_examples(paths)
    write_grid(paths, pair_ids, novel)
    df = read_manifest(paths.manifest)
    counts = df.groupby(["domain", "split", "novel"]).size()

    def count(domain, split, novel):
        return int(counts.get((domain, split, novel), 0))

    s = cfg.size
    first = results[MODELS[0][1]]
    steps = {run: finished_steps(paths.runs / run) for _, run, _ in MODELS}
    stage_lines = "\n".join(f"| {name} | {sec:.1f} s |" for name, sec in times.items())
    text = f"""# rdh demo report{' (--quick)' if cfg.quick else ''}

> **The "real" domain of this demo is a STAND-IN, not real photographs.** It is made of rendered
> images passed through a photographic look (white balance and exposure error, tone curve,
> saturation, lens softness, vignetting, sensor noise, JPEG), with composites made by color
> transfer toward another stand-in photo, as iHarmony4's HCOCO subset was made. These numbers show
> that the chain works end to end on a tiny budget; they are not the paper's experiment and say
> nothing about real photographs. docs/reproduce.md is the recipe on iHarmony4 and RdHarmony.

## Results on the test sets of the stand-in real domain

Novel = human foregrounds (the models saw humans only as **renders** during training);
base = {', '.join(BASE)} (seen as stand-in real pairs during training).

{markdown_table(rows)}

{reading(rows)}

- Test pairs: {group_row(first, True)['count']} novel, {group_row(first, False)['count']} base.
- Protocol: {first['protocol_text']}; scores of the full-resolution outputs with the background kept
  (what `rdh harmonize` writes). Lower MSE/fMSE and higher PSNR are better.
- Both models trained for {s.steps} steps at {s.image_size}x{s.image_size} (U-Net depth {s.depth}, width {s.width}),
  batch {s.batch_size} (CharmNet: {s.batch_size} rendered + {s.batch_size} real a step), from scratch, seed {cfg.seed};
  evaluated at their last step ({', '.join(f'{run}: {n}' for run, n in steps.items())}), not at a checkpoint picked on the test set.
- iDIH (dataset fusion) trains on the pooled rendered and stand-in real pairs; CharmNet keeps the two
  domains apart (domain-specific encoder/decoder levels, domain discriminator, style losses).

![composite | iDIH | CharmNet | target](grid.png)

`grid.png`: per row a test pair, with the composite, the two models' outputs and the target; the
top rows are novel (human) pairs, the bottom rows base pairs: in each group the pairs whose composite error
(fMSE) is at the 90th, 70th and 50th percentile, hardest first.

## What ran

| data | pairs |
|---|---|
| rendered human training pairs (D_tr,n^rd) | {count('rendered', 'train', True)} |
| stand-in real base training pairs (D_tr,b^rl) | {count('real', 'train', False)} |
| stand-in real base test pairs (D_te,b^rl) | {count('real', 'test', False)} |
| stand-in real human test pairs (D_te,n^rl) | {count('real', 'test', True)} |

Renders: {s.resolution}x{s.resolution}, {s.spp} samples per pixel; styles {', '.join(map(str, s.styles))} for the rendered
domain, {', '.join(map(str, s.standin_styles))} for the stand-in scenes (each style of a scene is one stand-in photo);
{s.novel_train_scenes} human scenes for the rendered domain, {s.novel_test_scenes} other human scenes and
{s.base_scenes} base-category scenes for the stand-in real domain.

| stage | time (this run; 0 when resumed) |
|---|---|
{stage_lines}

Files: `manifest.parquet` (all pairs; `rdh inspect {paths.manifest}`), `runs/*/` (checkpoints, training
logs, sample grids), `results/*.json|csv` (every group: domain, source, category, novel, foreground
ratio), `outputs/*/` (harmonized test images), `pairs/standin_*/STAND_IN.txt`.

Re-score with another protocol, e.g.
`rdh evaluate --checkpoint {paths.runs / 'charmnet' / 'last.pt'} --manifest {paths.manifest} --filter domain=real --psnr-peak target-max`.
"""
    write_text_atomic(paths.report, text)
    print_table(rows)


def print_table(rows) -> None:
    from rich.table import Table

    table = Table(title="rdh demo: test sets of the STAND-IN real domain (not real photos)")
    for col in ("method", "novel MSE", "novel fMSE", "novel PSNR", "base MSE", "base fMSE", "base PSNR"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for method, _, nov, base in rows:
        table.add_row(method, *(f"{d[m]:.2f}" for d in (nov, base) for m in ("mse", "fmse", "psnr")))
    out.print(table)
