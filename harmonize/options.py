"""The options of the harmonize commands, each field with its default and its help: TrainConfig
(`rdh train`), EvalConfig (`rdh evaluate`) and HarmonizeConfig (`rdh harmonize`). Torch-free, so
the CLI reads them without importing torch; harmonize.train_config checks TrainConfig."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harmonize.metrics import Protocol
from rdhcore.image_header import MAX_PIXELS_HELP
from rdhcore.options import opt

CHARMNET = ("model", "charmnet")  # the CLI refuses these options with --model idih


@dataclass
class TrainConfig:
    model: str = opt(help="idih or charmnet.")
    manifest: Path = opt(help="Manifest (.parquet) or pair-dataset folder.")
    out: Path = opt(help="Run folder for checkpoints, log and samples.")
    epochs: int | None = opt(None, "Passes over the larger domain's train rows.")
    max_steps: int | None = opt(None, "Optimizer steps (with --epochs: whichever ends first).")
    batch_size: int = opt(8, "Images a batch (per domain for CharmNet, per process under torchrun).")
    lr: float = opt(1e-4, "Adam learning rate (G, classifiers and D).")
    image_size: int = opt(256, "Training size (square).")
    device: str = opt("auto", "auto, cpu or cuda.")
    amp: bool = opt(False, "bf16 autocast on CUDA.")
    workers: int = opt(2, "Data-loader worker processes per training process.")
    threads: int | None = opt(None, "CPU threads per training process (default: the cores that other programs "
                                    "leave free when the run starts).")
    seed: int = opt(0, "Seed for weights, sampling and augmentation.")
    resume: bool = opt(False, "Continue the run in --out from last.pt.")
    init_from: Path | None = opt(None, "Start from this checkpoint's weights (same model), e.g. two-stage training.")
    filter: str | None = opt(None, "Use only matching rows: ',' ANDs terms, ';' ORs groups, e.g. domain=real,novel=false "
                                   "or \"domain=rendered;domain=real,novel=false\" or category!=human|cow.")
    val_every: int = opt(500, "Validate, save last.pt, curves.png and a sample grid every N steps.")
    val_max: int = opt(200, "At most this many validation images per validation (a fixed subset drawn with --seed).")
    val_fraction: float = opt(0.05, "Without split=val rows: validate on this fraction of the train scenes/photos "
                                    "(CharmNet: real ones), not trained on; 0: no validation, best.pt = final weights.")
    # model
    depth: int = opt(7, "U-Net depth (paper: 7).")
    width: int = opt(64, "Channels of the first encoder level (paper: 64).")
    unshared: int = opt(4, "CharmNet: domain-specific encoder levels / decoder blocks (paper: 4).", applies=CHARMNET)
    norm: str = opt("batch", "batch, instance or none.")
    # losses (eq. 6)
    recon: str = opt("fmse", "Reconstruction loss: fmse (official code, weight 10) or l1 (paper, weight 1).")
    min_area: float = 100.0
    lambda_rec: float | None = opt(None, "Weight of the reconstruction terms (default by --recon: 10 for fmse, 1 for l1).")
    lambda_adv: float = opt(1.0, "lambda_adv of eq. 6.", applies=CHARMNET)
    lambda_sty_rd: float = opt(1.0, "lambda_sty^rd of eq. 6.", applies=CHARMNET)
    lambda_sty_rl: float = opt(0.5, "lambda_sty^rl of eq. 6.", applies=CHARMNET)
    margin: float = opt(1.0, "m of eq. 5.", applies=CHARMNET)
    sa_loss: str = opt("official", "Style aggregation loss (eq. 4-5): official (the official code: the gradient "
                                   "reaches P_in, eq. 5 hinges the batch-mean entropies) or fixed-input (ablation: "
                                   "P_in detached, eq. 5 hinged per image).", applies=CHARMNET)
    beta1: float = 0.9
    beta2: float = 0.999
    schedule: str = opt("constant", "Learning rate: constant (the papers) or cosine (linear warm-up, then cosine "
                                    "decay to 0 at the last step).")
    warmup_steps: int = opt(0, "With --schedule cosine: steps of linear warm-up from 0 to --lr.")
    blend_init: str = opt("official", "Blending head start: official (random) or identity (output = 0.95 input + "
                                      "0.05 to_rgb: starts at the composite).")
    augment: bool = opt(True, "Random resized crop (scale 0.5-1) and horizontal flip; --no-augment: resize only.")
    # run
    log_every: int = opt(10, "Log the mean of every loss term every N steps.")
    sample_every: int | None = None     # None: val_every
    checkpoint_every: int | None = opt(None, "Save last.pt every N steps (default: --val-every).")
    val_batch_size: int | None = None   # None: batch_size
    best_metric: str = opt("fmse", "Validation metric that picks best.pt: fmse, mse or psnr.")
    channels_last: bool = opt(False, "Channels-last memory format (faster convs on recent GPUs).")
    compile: bool = opt(False, "torch.compile the training module.")
    tensorboard: bool = opt(False, "Also write TensorBoard event files to RUN/tensorboard (pip install "
                                   "-e '.[tensorboard]' in the rdh checkout): losses, validation metrics, sample grids.")
    max_pixels: int | None = opt(None, MAX_PIXELS_HELP)


@dataclass
class EvalConfig:
    """Options of `rdh evaluate`."""

    manifest: Path = opt(help="Manifest (.parquet) or pair-dataset folder.")
    checkpoint: Path | None = opt(None, "Model checkpoint to run: a file, or a run folder (its last.pt).")
    predictions: Path | None = opt(None, "Folder of <pair_id>.png at the target's size (at --eval-size with "
                                         "--raw-output), instead of a model.")
    protocol: Protocol = field(default_factory=Protocol)
    split: str = opt("test", "Rows to score: test, val, train or all.")
    filter: str | None = opt(None, "Keep matching rows: COLUMN=VALUE or COLUMN!=VALUE (VALUE may be A|B); ',' ANDs "
                                   "terms, ';' ORs groups, e.g. domain=real,novel=true or domain=rendered;novel=false.")
    novel: tuple[str, ...] = opt((), "Categories counted as novel when the manifest has no novel column, e.g. human.")
    batch_size: int = opt(8, "Images per model call.")
    device: str = opt("auto", "auto, cpu or cuda[:N].")
    save_outputs: Path | None = opt(None, "With --checkpoint: write harmonized images as <pair_id>.png here.")
    best: bool = opt(False, "With a run folder as --checkpoint: score best.pt (chosen on validation rows) "
                            "instead of last.pt.")
    limit: int | None = opt(None, "Score only the first N selected rows.")
    max_pixels: int | None = opt(None, MAX_PIXELS_HELP)
    reports: tuple[tuple[str, Path], ...] = ()  # (flag, file) the CLI writes afterwards (--json ...): checked first


@dataclass
class HarmonizeConfig:
    """Options of `rdh harmonize`."""

    checkpoint: Path = opt(help="Model checkpoint (RUN/best.pt of `rdh train`).")
    composite: Path = opt(help="Composite image, or a folder of them.")
    mask: Path = opt(help="Foreground mask (white = foreground), or a folder of masks named like the composites.")
    out: Path = opt(help="Output image (.png/.jpg), or a folder.")
    batch_size: int = opt(4, "Images per model call.")
    device: str = opt("auto", "auto, cpu or cuda[:N].")
    format: str = opt("png", "Format of outputs written into a folder: png or jpg.")
    overwrite: bool = opt(False, "Folder mode: redo outputs that exist.")
    max_pixels: int | None = opt(None, MAX_PIXELS_HELP)
