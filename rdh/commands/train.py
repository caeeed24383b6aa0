"""`rdh train`: train iDIH or CharmNet on a manifest (harmonize.train does the work)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rdh.commands.console import console, out

HELP = """Train the iDIH baseline or CharmNet on the pairs of a manifest.

Trains on split=train rows and validates every --val-every steps (at most
--val-max images) on split=val rows, or, when the manifest has none, on a
--val-fraction of the train scenes/photos set aside from training. split=test
rows are never read: they are for rdh evaluate. CharmNet draws one rendered
and one real batch per step (--batch-size each) and validates on real rows.
Writes RUN/last.pt and RUN/best.pt (atomic; they load with
weights_only=True), RUN/log.jsonl (every loss term, train and validation
fMSE), RUN/curves.png and RUN/samples/*.png (composite | output | target).
--resume continues RUN with its saved settings. Under torchrun each process
trains on its share (DDP).

--filter keeps rows matching COLUMN=VALUE or COLUMN!=VALUE terms on any
column (VALUE may be A|B); ',' ANDs terms and ';' ORs groups of them, e.g.
"domain=rendered;domain=real,novel=false": every rendered row, plus the real
rows that are not novel.

[bold]Examples[/bold]

  rdh train --model charmnet --manifest all.parquet --out runs/charm \\
      --max-steps 200000

  [dim]# dataset fusion; then two-stage training (rendered, then real)[/dim]
  rdh train --model idih --manifest all.parquet --out runs/fusion --epochs 60
  rdh train --model idih --manifest all.parquet --out runs/rd \\
      --filter domain=rendered --epochs 30
  rdh train --model idih --manifest all.parquet --out runs/two-stage \\
      --filter domain=real --init-from runs/rd/last.pt --epochs 30

  [dim]# dataset fusion without the novel real category[/dim]
  rdh train --model idih --manifest all.parquet --out runs/fusion-base \\
      --filter "domain=rendered;domain=real,novel=false" --epochs 60

  [dim]# a short run: identity blending start, 500 steps of warm-up, cosine decay[/dim]
  rdh train --model idih --manifest all.parquet --out runs/short \\
      --max-steps 5000 --lr 1e-3 --blend-init identity \\
      --schedule cosine --warmup-steps 500 --val-fraction 0.1

  rdh train --model charmnet --manifest all.parquet --out runs/charm \\
      --max-steps 400000 --resume

  torchrun --nproc_per_node 4 -m rdh.cli train --model charmnet \\
      --manifest all.parquet --out runs/c4 --max-steps 100000 --amp
"""


def register(app: typer.Typer) -> None:
    app.command("train", help=HELP, no_args_is_help=True)(train_cmd)


def train_cmd(
    model: str = typer.Option(..., "--model", help="idih or charmnet."),
    manifest: Path = typer.Option(..., "--manifest", help="Manifest (.parquet) or pair-dataset folder."),
    run: Path = typer.Option(..., "--out", help="Run folder for checkpoints, log and samples."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Passes over the larger domain's train rows."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Optimizer steps (with --epochs: whichever ends first)."),
    batch_size: int = typer.Option(8, "--batch-size", help="Images a batch (per domain for CharmNet, per process under torchrun)."),
    lr: float = typer.Option(1e-4, "--lr", help="Adam learning rate (G, classifiers and D)."),
    image_size: int = typer.Option(256, "--image-size", help="Training size (square)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    amp: bool = typer.Option(False, "--amp", help="bf16 autocast on CUDA."),
    workers: int = typer.Option(2, "--workers", "-j", help="Data-loader worker processes per training process."),
    seed: int = typer.Option(0, "--seed", help="Seed for weights, sampling and augmentation."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from last.pt."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="Start from this checkpoint's weights (same model), e.g. two-stage training."),
    filter: Optional[str] = typer.Option(None, "--filter", help="Use only matching rows: ',' ANDs terms, ';' ORs groups, e.g. domain=real,novel=false or \"domain=rendered;domain=real,novel=false\" or category!=human|cow."),
    val_every: int = typer.Option(500, "--val-every", help="Validate, save last.pt, curves.png and a sample grid every N steps."),
    val_max: int = typer.Option(200, "--val-max", help="At most this many validation images per validation (a fixed subset drawn with --seed)."),
    val_fraction: float = typer.Option(0.05, "--val-fraction", help="Without split=val rows: validate on this fraction of the train scenes/photos (CharmNet: real ones), not trained on; 0: no validation, best.pt = final weights."),
    depth: int = typer.Option(7, "--depth", help="U-Net depth (paper: 7)."),
    width: int = typer.Option(64, "--width", help="Channels of the first encoder level (paper: 64)."),
    unshared: int = typer.Option(4, "--unshared", help="CharmNet: domain-specific encoder levels / decoder blocks (paper: 4)."),
    norm: str = typer.Option("batch", "--norm", help="batch, instance or none."),
    recon: str = typer.Option("fmse", "--recon", help="Reconstruction loss: fmse (official code, weight 10) or l1 (paper, weight 1)."),
    lambda_rec: Optional[float] = typer.Option(None, "--lambda-rec", help="Weight of the reconstruction terms (default by --recon)."),
    lambda_adv: float = typer.Option(1.0, "--lambda-adv", help="lambda_adv of eq. 6."),
    lambda_sty_rd: float = typer.Option(1.0, "--lambda-sty-rd", help="lambda_sty^rd of eq. 6."),
    lambda_sty_rl: float = typer.Option(0.5, "--lambda-sty-rl", help="lambda_sty^rl of eq. 6."),
    margin: float = typer.Option(1.0, "--margin", help="m of eq. 5."),
    sa_loss: str = typer.Option("official", "--sa-loss", help="Style aggregation loss (eq. 4-5): official (the official code: the gradient reaches P_in, eq. 5 hinges the batch-mean entropies) or fixed-input (ablation: P_in detached, eq. 5 hinged per image)."),
    schedule: str = typer.Option("constant", "--schedule", help="Learning rate: constant (the papers) or cosine (linear warm-up, then cosine decay to 0 at the last step)."),
    warmup_steps: int = typer.Option(0, "--warmup-steps", help="With --schedule cosine: steps of linear warm-up from 0 to --lr."),
    blend_init: str = typer.Option("official", "--blend-init", help="Blending head start: official (random) or identity (output = 0.95 input + 0.05 to_rgb: starts at the composite)."),
    no_augment: bool = typer.Option(False, "--no-augment", help="No random crop or flip (resize only)."),
    log_every: int = typer.Option(10, "--log-every", help="Log the mean of every loss term every N steps."),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Save last.pt every N steps (default: --val-every)."),
    best_metric: str = typer.Option("fmse", "--best-metric", help="Validation metric that picks best.pt: fmse, mse or psnr."),
    channels_last: bool = typer.Option(False, "--channels-last", help="Channels-last memory format (faster convs on recent GPUs)."),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the training module."),
) -> None:
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from harmonize.train import TrainConfig, train

    cfg = TrainConfig(model=model, manifest=manifest, out=run, epochs=epochs, max_steps=max_steps,
                      batch_size=batch_size, lr=lr, image_size=image_size, device=device, amp=amp,
                      workers=workers, seed=seed, resume=resume, init_from=init_from, filter=filter,
                      val_every=val_every, val_max=val_max, val_fraction=val_fraction, depth=depth, width=width, unshared=unshared,
                      norm=norm, recon=recon, lambda_rec=lambda_rec, lambda_adv=lambda_adv,
                      lambda_sty_rd=lambda_sty_rd, lambda_sty_rl=lambda_sty_rl, margin=margin,
                      sa_loss=sa_loss, schedule=schedule, warmup_steps=warmup_steps,
                      blend_init=blend_init, augment=not no_augment, log_every=log_every,
                      checkpoint_every=checkpoint_every, best_metric=best_metric,
                      channels_last=channels_last, compile=compile)
    bar = Progress(TextColumn("[bold]train {task.fields[model]}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console)
    task = None
    shown = ("loss_G", "rec", "rec_rd", "rec_rl", "adv", "loss_D")

    def on_step(step: int, total: int, info: dict) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("train", total=total, completed=step - 1, model=model, stats="")
        parts = [f"{info['images_per_s']:.1f} img/s"] if "images_per_s" in info else []
        parts += [f"{k} {info[k]:.4g}" for k in shown if k in info]
        parts += [f"{k} {v:.4g}" for k, v in info.items() if k.startswith("val_")]
        bar.update(task, completed=step, stats="  ".join(parts))

    start = time.perf_counter()
    try:
        result = train(cfg, progress=on_step)
    finally:
        if task is not None:
            bar.stop()
    best = result.best or {}
    best_text = (f"{best['metric']} {best['value']:.2f} at step {best['step']}"
                 if best.get("value") is not None else "final weights (no validation rows)")
    out.print(f"trained {model}: {result.steps} steps in {time.perf_counter() - start:.1f} s")
    best_line = f"{result.best_path} ({best_text})" if result.best_path is not None else "not written (see the messages above)"
    out.print(f"  last: {result.last_path}\n  best: {best_line}\n  log:  {result.log_path}")
    if result.curves_path is not None:
        out.print(f"  curves: {result.curves_path}")
