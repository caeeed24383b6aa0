"""`rdh train`: train iDIH or CharmNet on a manifest (harmonize.train does the work)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer

from harmonize.options import TrainConfig as C
from rdh.commands.console import ProgressBar, say
from rdh.commands.options import given_on_command_line, option, refuse_inapplicable

HELP = """Train the iDIH baseline or CharmNet on the pairs of a manifest.

Trains on split=train rows and validates every --val-every steps (at most --val-max images) on split=val rows, or, when the manifest has none, on a --val-fraction of the train scenes/photos set aside from training (the run's first lines and log.jsonl say how many). split=test rows are never read: they are for rdh evaluate. CharmNet draws one rendered and one real batch per step (--batch-size each) and validates on real rows.

Writes RUN/last.pt and RUN/best.pt (atomic; they load with weights_only=True), RUN/log.jsonl (every loss term, train and validation fMSE), RUN/curves.png and RUN/samples/*.png (composite | output | target). --resume continues RUN with its saved settings. Under torchrun each process trains on its share (DDP). --json prints the run's files as JSON for scripts.

--filter keeps rows matching COLUMN=VALUE or COLUMN!=VALUE terms on any column (VALUE may be A|B); ',' ANDs terms and ';' ORs groups of them, e.g. "domain=rendered;domain=real,novel=false": every rendered row, plus the real rows that are not novel. On a manifest that holds real novel pairs (iHarmony4), every method but the upper bound needs such a filter.

[bold]Examples[/bold]

  [dim]# CharmNet: rendered pairs and the base (not novel) real pairs[/dim]
  rdh train --model charmnet --manifest all.parquet --out runs/charm \\
      --filter "domain=rendered;domain=real,novel=false" --max-steps 200000

  [dim]# dataset fusion without the novel real pairs[/dim]
  rdh train --model idih --manifest all.parquet --out runs/fusion \\
      --filter "domain=rendered;domain=real,novel=false" --epochs 60

  [dim]# two-stage: rendered pairs, then the base real pairs[/dim]
  rdh train --model idih --manifest all.parquet --out runs/rd \\
      --filter domain=rendered --epochs 30
  rdh train --model idih --manifest all.parquet --out runs/two-stage \\
      --filter domain=real,novel=false --init-from runs/rd/last.pt \\
      --epochs 30

  [dim]# a short run: identity blending start, warm-up, cosine decay[/dim]
  rdh train --model idih --manifest all.parquet --out runs/short \\
      --max-steps 5000 --lr 1e-3 --blend-init identity \\
      --schedule cosine --warmup-steps 500 --val-fraction 0.1

  rdh train --model charmnet --manifest all.parquet --out runs/charm \\
      --max-steps 400000 --resume

  torchrun --nproc_per_node 4 -m rdh.cli train --model charmnet \\
      --manifest all.parquet --out runs/c4 --max-steps 100000 --amp
"""


MODEL, LOSSES, OPTIM, RUN, PERF = "Model", "Losses (eq. 6)", "Optimization", "Run", "Performance"


def register(app: typer.Typer) -> None:
    app.command("train", help=HELP, no_args_is_help=True)(train_cmd)


def train_cmd(
    ctx: typer.Context,
    model: str = option(C, "model", panel=MODEL),
    depth: int = option(C, "depth", panel=MODEL),
    width: int = option(C, "width", panel=MODEL),
    unshared: int = option(C, "unshared", panel=MODEL),
    norm: str = option(C, "norm", panel=MODEL),
    blend_init: str = option(C, "blend_init", panel=MODEL),
    recon: str = option(C, "recon", panel=LOSSES),
    lambda_rec: Optional[float] = option(C, "lambda_rec", panel=LOSSES),
    lambda_adv: float = option(C, "lambda_adv", panel=LOSSES),
    lambda_sty_rd: float = option(C, "lambda_sty_rd", panel=LOSSES),
    lambda_sty_rl: float = option(C, "lambda_sty_rl", panel=LOSSES),
    margin: float = option(C, "margin", panel=LOSSES),
    sa_loss: str = option(C, "sa_loss", panel=LOSSES),
    epochs: Optional[int] = option(C, "epochs", panel=OPTIM),
    max_steps: Optional[int] = option(C, "max_steps", panel=OPTIM),
    batch_size: int = option(C, "batch_size", panel=OPTIM),
    lr: float = option(C, "lr", panel=OPTIM),
    image_size: int = option(C, "image_size", panel=OPTIM),
    seed: int = option(C, "seed", panel=OPTIM),
    schedule: str = option(C, "schedule", panel=OPTIM),
    warmup_steps: int = option(C, "warmup_steps", panel=OPTIM),
    augment: bool = option(C, "augment", "--augment/--no-augment", OPTIM),
    manifest: Path = option(C, "manifest", panel=RUN),
    out: Path = option(C, "out", panel=RUN),
    resume: bool = option(C, "resume", panel=RUN),
    init_from: Optional[Path] = option(C, "init_from", panel=RUN),
    filter: Optional[str] = option(C, "filter", panel=RUN),
    val_every: int = option(C, "val_every", panel=RUN),
    val_max: int = option(C, "val_max", panel=RUN),
    val_fraction: float = option(C, "val_fraction", panel=RUN),
    log_every: int = option(C, "log_every", panel=RUN),
    checkpoint_every: Optional[int] = option(C, "checkpoint_every", panel=RUN),
    best_metric: str = option(C, "best_metric", panel=RUN),
    tensorboard: bool = option(C, "tensorboard", panel=RUN),
    max_pixels: Optional[int] = option(C, "max_pixels", panel=RUN),
    device: str = option(C, "device", panel=PERF),
    amp: bool = option(C, "amp", panel=PERF),
    workers: int = option(C, "workers", "--workers|-j", PERF),
    threads: Optional[int] = option(C, "threads", panel=PERF),
    channels_last: bool = option(C, "channels_last", panel=PERF),
    compile: bool = option(C, "compile", panel=PERF),
    as_json: bool = typer.Option(False, "--json", rich_help_panel=RUN,
                                 help="Print the run's summary (steps, last, best, log, curves) as one JSON object on stdout, for scripts."),
) -> None:
    settings = dict(locals())  # every parameter but ctx and as_json is a TrainConfig field
    del settings["ctx"], settings["as_json"]
    refuse_inapplicable(ctx, {"model": model})
    from harmonize.train import train

    start = time.perf_counter()
    with ProgressBar(f"train {model}", "steps", show=show_stats) as progress:
        result = train(C(**settings), progress, explicit=[n for n in given_on_command_line(ctx) if n != "as_json"])
    if as_json:
        print(json.dumps(summary_of(model, result, time.perf_counter() - start)))
        return
    best = result.best or {}
    best_text = (f"{best['metric']} {best['value']:.2f} at step {best['step']}"
                 if best.get("value") is not None else "final weights (no validation rows)")
    say(f"trained {model}: {result.steps} steps in {time.perf_counter() - start:.1f} s")
    best_line = f"{result.best_path} ({best_text})" if result.best_path is not None else "not written (see the messages above)"
    say(f"  last: {result.last_path}", f"  best: {best_line}", f"  log:  {result.log_path}")
    if result.curves_path is not None:
        say(f"  curves: {result.curves_path}")
    if result.tensorboard_dir is not None:
        say(f"  tensorboard: {result.tensorboard_dir}")


def summary_of(model: str, result, seconds: float) -> dict:
    """What `--json` prints: the run's files (absolute paths; best is null when not written)."""
    def path(p):
        return str(Path(p).absolute()) if p is not None else None

    return {"model": model, "steps": result.steps, "seconds": round(seconds, 2), "last": path(result.last_path),
            "best": path(result.best_path), "best_score": result.best or None, "log": path(result.log_path),
            "curves": path(result.curves_path), "tensorboard": path(result.tensorboard_dir)}


SHOWN = ("loss_G", "rec", "rec_rd", "rec_rl", "adv", "loss_D")


def show_stats(info: dict) -> str:
    """The text beside the bar: speed, the main loss terms and the latest validation metric."""
    parts = [f"{info['images_per_s']:.1f} img/s"] if "images_per_s" in info else []
    parts += [f"{k} {info[k]:.4g}" for k in SHOWN if k in info]
    parts += [f"{k} {v:.4g}" for k, v in info.items() if k.startswith("val_")]
    return "  ".join(parts)
