"""The settings of `rdh train`: TrainConfig, their checks, the learning-rate schedule, and how a
resumed run takes its settings from the checkpoint it continues."""
from __future__ import annotations

import math
import types
import typing
from dataclasses import MISSING, fields, replace
from pathlib import Path

from harmonize import losses
from harmonize.blocks import NORMS, UNetSpec
from harmonize.models import MODEL_NAMES
from harmonize.options import TrainConfig
from manifests.schema import manifest_file
from rdhcore.errors import RdhError

BEST_METRICS = ("fmse", "mse", "psnr")
SCHEDULES = ("constant", "cosine")
BLEND_INITS = ("official", "identity")


# Settings a resumed run takes from the command; every other setting comes from the saved run.
COMMAND_SETTINGS = {"out", "resume", "init_from", "epochs", "max_steps", "val_every", "val_max", "workers", "threads",
                    "device", "amp", "compile", "channels_last", "log_every", "sample_every",
                    "checkpoint_every", "val_batch_size", "tensorboard", "max_pixels"}
# Settings that runs saved before they existed, at the value that reproduces those runs.
LEGACY_SETTINGS = {"val_fraction": 0.0}  # older runs trained on every split=train row


def _legacy_sa_loss(saved: dict) -> dict:
    """Runs saved before --sa-loss carry `sa_fixed_input` (default True, the detached P_in)."""
    if "sa_loss" in saved or "sa_fixed_input" not in saved:
        return saved
    fixed = saved["sa_fixed_input"] is not False
    saved = {k: v for k, v in saved.items() if k != "sa_fixed_input"}
    # --sa-input-grad (False) kept a per-image hinge that no setting has now; "official" is the nearest
    saved["sa_loss"] = "fixed-input" if fixed else "official"
    return saved


def lr_factor(cfg: TrainConfig, step: int, total: int) -> float:
    """The multiplier of --lr at optimizer step `step` (1-based) of `total`: a pure function of the
    step, so a resumed run needs no scheduler state."""
    if cfg.schedule == "constant":
        return 1.0
    if step <= cfg.warmup_steps:
        return step / max(cfg.warmup_steps, 1)
    span = max(total - cfg.warmup_steps, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(step - cfg.warmup_steps, span) / span))


def check_config(cfg: TrainConfig) -> None:
    """RdhError for a setting that cannot work, naming the option."""
    if cfg.model not in MODEL_NAMES:
        raise RdhError(f"--model {cfg.model!r}: use idih or charmnet")
    if cfg.epochs is None and cfg.max_steps is None:
        raise RdhError("say how long to train: --epochs N or --max-steps N")
    for name in ("epochs", "max_steps"):
        v = getattr(cfg, name)
        if v is not None and v < 1:
            raise RdhError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("batch_size", "val_every", "val_max", "log_every"):
        if getattr(cfg, name) < 1:
            raise RdhError(f"--{name.replace('_', '-')} must be at least 1")
    if cfg.norm == "batch" and cfg.batch_size < 2:
        raise RdhError(f"--batch-size {cfg.batch_size} with --norm batch: BatchNorm needs at least 2 images a batch "
                       "(its deepest features are 1x1): use --batch-size 2 or more, or --norm instance")
    if cfg.workers < 0:
        raise RdhError("--workers must be 0 or more")
    if cfg.threads is not None and cfg.threads < 1:
        raise RdhError(f"--threads {cfg.threads}: use 1 or more (or leave it out: the cores free at the start)")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise RdhError(f"--lr {cfg.lr}: use a positive finite number, e.g. 1e-4")
    for name in ("lambda_rec", "lambda_adv", "lambda_sty_rd", "lambda_sty_rl", "margin"):
        v = getattr(cfg, name)
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise RdhError(f"--{name.replace('_', '-')} {v}: use a finite number >= 0")
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise RdhError(f"--val-fraction {cfg.val_fraction}: use a fraction in [0, 1), e.g. 0.05 (0: no validation "
                       "rows carved from the train rows)")
    if cfg.norm not in NORMS:
        raise RdhError(f"--norm {cfg.norm!r}: use one of {', '.join(NORMS)}")
    if cfg.recon not in losses.RECON_KINDS:
        raise RdhError(f"--recon {cfg.recon!r}: use fmse (official code) or l1 (paper)")
    if cfg.sa_loss not in losses.SA_LOSSES:
        raise RdhError(f"--sa-loss {cfg.sa_loss!r}: use official (the official code) or fixed-input (P_in detached)")
    if cfg.schedule not in SCHEDULES:
        raise RdhError(f"--schedule {cfg.schedule!r}: use one of {', '.join(SCHEDULES)}")
    if cfg.warmup_steps < 0:
        raise RdhError("--warmup-steps must be 0 or more")
    if cfg.warmup_steps and cfg.schedule != "cosine":
        raise RdhError(f"--warmup-steps {cfg.warmup_steps} needs --schedule cosine (the constant schedule has no warm-up)")
    if cfg.blend_init not in BLEND_INITS:
        raise RdhError(f"--blend-init {cfg.blend_init!r}: use one of {', '.join(BLEND_INITS)}")
    if cfg.best_metric not in BEST_METRICS:
        raise RdhError(f"--best-metric {cfg.best_metric!r}: use one of {', '.join(BEST_METRICS)}")
    if cfg.depth < 2 or cfg.width < 4:
        raise RdhError("--depth must be at least 2 and --width at least 4")
    if cfg.model == "charmnet" and not 1 <= cfg.unshared < cfg.depth:
        raise RdhError(f"--unshared {cfg.unshared}: use 1 .. depth-1 ({cfg.depth - 1})")
    reason = spec_of(cfg).check_image_size(cfg.image_size)
    if reason:
        raise RdhError(f"--image-size: {reason}")


def spec_of(cfg: TrainConfig) -> UNetSpec:
    return UNetSpec(depth=cfg.depth, width=cfg.width, norm=cfg.norm)


def weights_of(cfg: TrainConfig) -> losses.LossWeights:
    rec = cfg.lambda_rec if cfg.lambda_rec is not None else (10.0 if cfg.recon == "fmse" else 1.0)
    return losses.LossWeights(rec=rec, adv=cfg.lambda_adv, sty_rd=cfg.lambda_sty_rd, sty_rl=cfg.lambda_sty_rl,
                              margin=cfg.margin)


def config_to_dict(cfg: TrainConfig) -> dict:
    out = {}
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = str(v) if isinstance(v, Path) else v
    return out


def config_from_saved(cfg: TrainConfig, saved: dict, path: Path | str = "checkpoint") -> tuple[TrainConfig, list[str]]:
    """cfg with the run's saved settings (all but COMMAND_SETTINGS); returns the names that changed.
    RdhError naming `path` when a saved value is not of its setting's type (a damaged or edited file)."""
    if not isinstance(saved, dict):
        raise RdhError(f"{path}: its saved settings are not a table: the checkpoint is damaged or was edited")
    saved = {**LEGACY_SETTINGS, **_legacy_sa_loss(saved)}
    hints = typing.get_type_hints(TrainConfig)
    changes, changed = {}, []
    for f in fields(cfg):
        if f.name in COMMAND_SETTINGS or f.name not in saved:
            continue
        v = saved[f.name]
        if not _fits_type(v, hints[f.name]):
            raise RdhError(f"{path}: its saved setting {f.name} {v!r} is not a valid --{f.name.replace('_', '-')}: "
                           "the checkpoint is damaged or was edited; resume from another copy or start a new run")
        if f.name in ("manifest",) and v is not None:
            v = Path(v)
        if v != getattr(cfg, f.name):
            changed.append(f.name)
        changes[f.name] = v
    return replace(cfg, **changes), changed


def _fits_type(value, hint) -> bool:
    """Whether a saved JSON-like value fits a TrainConfig field's type (Path saved as str, int for float)."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for t in options:
        if t is type(None) and value is None:
            return True
        if t is bool and isinstance(value, bool):
            return True
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if t in (str, Path) and isinstance(value, str):
            return True
        if t not in (type(None), bool, int, float, str, Path):
            return True  # a type saved runs do not hold: nothing to check
    return False


def command_part(cfg: TrainConfig) -> TrainConfig:
    """cfg with every setting a --resume takes from the run at its default: what can be checked
    before the run's own settings are read (checking --image-size against the default --depth
    would refuse a run's own value)."""
    defaults = {f.name: f.default if f.default_factory is MISSING else f.default_factory() for f in fields(cfg)
                if f.name not in COMMAND_SETTINGS and (f.default is not MISSING or f.default_factory is not MISSING)}
    return replace(cfg, **defaults)


def check_resume_options(given: TrainConfig, saved: TrainConfig, conflicts: list[str], out: Path) -> None:
    """RdhError when a --resume is given settings (on the command line) that differ from the run's:
    a resume continues the run as it was saved, so a new value would be silently ignored."""
    conflicts = [n for n in conflicts if not _same_path(getattr(given, n), getattr(saved, n))]
    if conflicts:
        shown = ", ".join(f"--{n.replace('_', '-')} {getattr(given, n)!r} (run: {getattr(saved, n)!r})" for n in conflicts)
        raise RdhError(f"{out}: --resume continues the run with its saved settings, and {shown} differs: "
                       "drop the option (or give the run's value), or train a new run in another --out "
                       "(--init-from its last.pt to start from its weights)")


def _same_path(a, b) -> bool:
    """Two paths that name one file (a manifest given as data/all.parquet or /abs/data/all.parquet, a
    pair dataset given as its folder or as its pairs.parquet)."""
    return isinstance(a, Path) and isinstance(b, Path) and manifest_file(a).resolve() == manifest_file(b).resolve()
