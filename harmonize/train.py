"""`rdh train`: iDIH or CharmNet on manifest rows, with validation, checkpoints, logs and resume.

train(cfg) reads the manifest (split=train rows to train, split=test rows to validate, after
--filter), builds the model, and runs optimizer steps until --max-steps or --epochs. Into the run
folder `cfg.out` it writes (rank 0 only under torchrun):

    last.pt, best.pt        checkpoints (harmonize.checkpoint), written atomically
    log.jsonl               one JSON object a line: "train" records (every loss term, averaged over
                            the last `log_every` steps), "val" records, "event" records
    samples/step_XXXXXXX.png  composite | output | target of a few validation images

A resumed run (`resume=True`) continues from RUN/last.pt with the run's saved data, model and
optimizer settings; the same seed gives the same weights as a run that was never stopped.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import sys
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from harmonize import dist as hdist
from harmonize import losses
from harmonize.blocks import NORMS, BlendingHead, UNetSpec
from harmonize.checkpoint import load_checkpoint, model_payload, save_checkpoint
from harmonize.classifiers import StyleClassifier
from harmonize.data import (DOMAIN_SALT, Augment, DomainStream, PairDataset, check_files, load_rows,
                            make_eval_loader, make_train_loader, pick_validation)
from harmonize.discriminator import DomainDiscriminator
from harmonize.models import MODEL_NAMES, build_generator
from harmonize.normalization import denormalize
from harmonize.steps import Batch, CharmNetStep, IDIHStep, StepSettings, to_batch
from manifests.atomic import write_bytes_atomic, write_text_atomic
from manifests.errors import RdhError
from manifests.schema import K

BEST_METRICS = ("fmse", "mse", "psnr")
SCHEDULES = ("constant", "cosine")
BLEND_INITS = ("official", "identity")


def lr_factor(cfg: "TrainConfig", step: int, total: int) -> float:
    """The multiplier of --lr at optimizer step `step` (1-based) of `total`: a pure function of the
    step, so a resumed run needs no scheduler state."""
    if cfg.schedule == "constant":
        return 1.0
    if step <= cfg.warmup_steps:
        return step / max(cfg.warmup_steps, 1)
    span = max(total - cfg.warmup_steps, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(step - cfg.warmup_steps, span) / span))


@dataclass
class TrainConfig:
    model: str                          # "idih" | "charmnet"
    manifest: Path
    out: Path                           # the RUN folder: last.pt, best.pt, log.jsonl, samples/
    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int = 8                 # per domain for CharmNet, per process under torchrun
    lr: float = 1e-4
    image_size: int = 256
    device: str = "auto"
    amp: bool = False                   # bf16 autocast on CUDA
    workers: int = 2
    seed: int = 0
    resume: bool = False
    init_from: Path | None = None
    filter: str | None = None           # e.g. "domain=real,novel=false"
    val_every: int = 500
    val_max: int = 200
    # model
    depth: int = 7
    width: int = 64
    unshared: int = 4                   # CharmNet: domain-specific encoder levels (and decoder blocks)
    norm: str = "batch"
    # losses (eq. 6)
    recon: str = "fmse"                 # "fmse" (official code) | "l1" (paper)
    min_area: float = 100.0
    lambda_rec: float | None = None     # None: 10 for fmse (official code), 1 for l1 (paper)
    lambda_adv: float = 1.0
    lambda_sty_rd: float = 1.0
    lambda_sty_rl: float = 0.5
    margin: float = 1.0
    sa_fixed_input: bool = True         # P_in is a fixed (detached) reference in eq. 4-5
    beta1: float = 0.9
    beta2: float = 0.999
    schedule: str = "constant"          # "constant" (the papers) | "cosine": linear warm-up, then cosine decay to 0
    warmup_steps: int = 0               # cosine: steps of linear warm-up from 0 to --lr
    blend_init: str = "official"        # "official" (random) | "identity": the blending head starts at a = keep_init
    augment: bool = True                # random resized crop (scale 0.5-1) + horizontal flip
    # run
    log_every: int = 10
    sample_every: int | None = None     # None: val_every
    checkpoint_every: int | None = None  # None: val_every
    val_batch_size: int | None = None   # None: batch_size
    best_metric: str = "fmse"
    channels_last: bool = False
    compile: bool = False


@dataclass
class TrainResult:
    last_path: Path
    best_path: Path
    steps: int
    log_path: Path
    best: dict = field(default_factory=dict)
    samples: list[Path] = field(default_factory=list)
    seconds: float = 0.0


# Settings a resumed run takes from the command; every other setting comes from the saved run.
COMMAND_SETTINGS = {"out", "resume", "init_from", "epochs", "max_steps", "val_every", "val_max", "workers",
                    "device", "amp", "compile", "channels_last", "log_every", "sample_every",
                    "checkpoint_every", "val_batch_size"}


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
    if cfg.workers < 0:
        raise RdhError("--workers must be 0 or more")
    if not cfg.lr > 0:
        raise RdhError("--lr must be positive")
    if cfg.norm not in NORMS:
        raise RdhError(f"--norm {cfg.norm!r}: use one of {', '.join(NORMS)}")
    if cfg.recon not in losses.RECON_KINDS:
        raise RdhError(f"--recon {cfg.recon!r}: use fmse (official code) or l1 (paper)")
    if cfg.schedule not in SCHEDULES:
        raise RdhError(f"--schedule {cfg.schedule!r}: use one of {', '.join(SCHEDULES)}")
    if cfg.warmup_steps < 0:
        raise RdhError("--warmup-steps must be 0 or more")
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


def config_from_saved(cfg: TrainConfig, saved: dict) -> tuple[TrainConfig, list[str]]:
    """cfg with the run's saved settings (all but COMMAND_SETTINGS); returns the names that changed."""
    changes, changed = {}, []
    for f in fields(cfg):
        if f.name in COMMAND_SETTINGS or f.name not in saved:
            continue
        v = saved[f.name]
        if f.name in ("manifest",) and v is not None:
            v = Path(v)
        if v != getattr(cfg, f.name):
            changed.append(f.name)
        changes[f.name] = v
    return replace(cfg, **changes), changed


# ---------------------------------------------------------------- building

def build_step(cfg: TrainConfig, device: torch.device):
    """The model(s), optimizers and step function for cfg, on `device`."""
    spec = spec_of(cfg)
    settings = StepSettings(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), recon=cfg.recon, min_area=cfg.min_area,
                            weights=weights_of(cfg), sa_fixed_input=cfg.sa_fixed_input,
                            amp=cfg.amp and device.type == "cuda", device_type=device.type)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    gen = build_generator(cfg.model, spec, cfg.unshared)
    if cfg.blend_init == "identity":
        for module in gen.modules():
            if isinstance(module, BlendingHead):
                module.start_at_identity()
    if cfg.model == "idih":
        return IDIHStep(gen.to(device, memory_format=fmt), settings)
    c = gen.feature_channels
    head = cfg.width  # the official ndf (64) equals the default generator width
    return CharmNetStep(gen.to(device, memory_format=fmt),
                        DomainDiscriminator(c, head).to(device, memory_format=fmt),
                        StyleClassifier(c, head, K).to(device, memory_format=fmt),
                        StyleClassifier(c, head, K).to(device, memory_format=fmt), settings)


def load_weights(step, ckpt: dict, path: Path) -> None:
    """Model weights of a checkpoint into the step's modules (RdhError when they do not fit)."""
    for name, module in step.modules().items():
        state = ckpt.get(name)
        if module is None or state is None:
            continue
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise RdhError(f"{path}: its {name} does not fit this model ({first[:140]}): "
                           "use the same --depth/--width/--unshared/--norm as the run that wrote it") from None


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


# ---------------------------------------------------------------- rows

@dataclass
class Rows:
    train: dict            # stream name -> DataFrame
    val: object            # DataFrame (maybe empty)
    val_domain: str        # generator branch used for validation: "real", "rendered" or "all"


def select_rows(cfg: TrainConfig, world_size: int = 1) -> Rows:
    name = str(cfg.manifest)
    df = load_rows(cfg.manifest, cfg.filter)
    where = f" (after --filter {cfg.filter})" if cfg.filter else ""
    train = df[df["split"] == "train"]
    test = df[df["split"] == "test"]
    if cfg.model == "idih":
        streams = {"all": train}
        val, val_domain = test, "all"
        if len(train) == 0:
            raise RdhError(f"{name}: no split=train rows{where}: nothing to train on")
    else:
        streams = {d: train[train["domain"] == d] for d in ("rendered", "real")}
        for d, rows in streams.items():
            if len(rows) == 0:
                raise RdhError(f"{name}: CharmNet needs split=train rows of both domains and has no "
                               f"domain={d} rows{where}: add {d} pairs (e.g. with build-manifest) or train --model idih")
        rd = streams["rendered"]
        unlabeled = rd["composite_label"].isna() | rd["target_label"].isna()
        if unlabeled.any():
            raise RdhError(f"{name}: rendered pair {rd.loc[unlabeled, 'pair_id'].iloc[0]!r} has no style labels: "
                           "CharmNet's style losses need composite_label and target_label on rendered rows")
        real_test = test[test["domain"] == "real"]
        if len(real_test):
            val, val_domain = real_test, "real"
        else:
            val, val_domain = test[test["domain"] == "rendered"], "rendered"
    for d, rows in streams.items():
        if len(rows) < 2 * world_size:
            each = " per process" if world_size > 1 else ""
            raise RdhError(f"{name}: only {len(rows)} split=train row(s) for {d}{where}: need at least 2{each} "
                           "(batch norm needs two images a batch)")
    val = pick_validation(val, cfg.val_max, cfg.seed)
    for rows in list(streams.values()) + [val]:
        check_files(rows, name)
    return Rows({d: r.reset_index(drop=True) for d, r in streams.items()}, val, val_domain)


# ---------------------------------------------------------------- validation and samples

@torch.no_grad()
def validate(step, loader, device: torch.device, domain: str, channels_last: bool) -> dict:
    """Mean MSE, fMSE, PSNR (0-255 scale, at the training size) of the outputs and of the composites."""
    gen = step.generator
    was_training = gen.training
    gen.eval()
    sums = {"mse": 0.0, "fmse": 0.0, "psnr": 0.0, "composite_mse": 0.0, "composite_fmse": 0.0, "composite_psnr": 0.0}
    n = n_fg = 0
    try:
        for raw in loader:
            b = to_batch(raw, device, channels_last)
            with step.autocast():
                pred = step.harmonize(b, domain if domain != "all" else "real")
            target = raw["target"].to(device).float()
            mask = raw["mask"].to(device).float()
            for name, image in (("", pred.float()), ("composite_", b.composite)):
                img = (denormalize(image).clamp(0, 1) * 255.0)
                se = (img - target) ** 2
                mse = se.flatten(1).mean(1)
                area = mask.flatten(1).sum(1)
                fmse = (se * mask).flatten(1).sum(1) / (3 * area).clamp_min(1)
                sums[name + "mse"] += mse.sum().item()
                sums[name + "psnr"] += (10 * torch.log10(255.0 ** 2 / mse.clamp_min(1e-10))).sum().item()
                sums[name + "fmse"] += fmse[area > 0].sum().item()
            n += target.shape[0]
            n_fg += int((mask.flatten(1).sum(1) > 0).sum().item())
    finally:
        gen.train(was_training)
    out = {k: v / max(n if "fmse" not in k else n_fg, 1) for k, v in sums.items()}
    out["images"] = n
    return out


@torch.no_grad()
def sample_grid(step, raw: dict, device: torch.device, domain: str, channels_last: bool, count: int = 4) -> np.ndarray:
    """An RGB uint8 grid, one row per image: composite | output | target."""
    gen = step.generator
    was_training = gen.training
    gen.eval()
    try:
        raw = {k: v[:count] if torch.is_tensor(v) else v for k, v in raw.items()}
        b = to_batch(raw, device, channels_last)
        with step.autocast():
            pred = step.harmonize(b, domain if domain != "all" else "real").float()
    finally:
        gen.train(was_training)
    out = (denormalize(pred).clamp(0, 1) * 255).round().byte().cpu()
    rows = [torch.cat([raw["composite"][i], out[i], raw["target"][i]], dim=2) for i in range(out.shape[0])]
    return torch.cat(rows, dim=1).permute(1, 2, 0).numpy()


def write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise RdhError(f"{path}: could not encode the sample grid")
    write_bytes_atomic(path, buf.tobytes())


# ---------------------------------------------------------------- log

class RunLog:
    """log.jsonl: append one record a line (rank 0); a resume drops records past the checkpoint."""

    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled
        self._fh = None

    def truncate_after(self, step: int) -> None:
        if not self.enabled or not self.path.exists():
            return
        kept = []
        for line in self.path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            if rec.get("step", 0) <= step:
                kept.append(line)
        write_text_atomic(self.path, "".join(line + "\n" for line in kept))

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(record, allow_nan=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


# ---------------------------------------------------------------- the run

def _payload(cfg: TrainConfig, step, step_count: int, streams: dict, best: dict, world: int) -> dict:
    payload = model_payload(step.generator, cfg.model, cfg.image_size)
    for name, module in step.modules().items():
        if name != "generator":
            payload[name] = None if module is None else {k: v.detach().cpu() for k, v in module.state_dict().items()}
    payload["optimizers"] = {k: (None if o is None else o.state_dict()) for k, o in step.optimizers().items()}
    payload["scaler"] = step.scaler.state_dict()
    payload["step"] = step_count
    payload["streams"] = {d: s.state() for d, s in streams.items()}
    payload["rng"] = rng_state()
    payload["best"] = dict(best)
    payload["config"] = config_to_dict(cfg)
    payload["world_size"] = world
    from rdh import __version__

    payload["rdh_version"] = __version__
    return payload


def _better(metric: str, value: float, best: float | None) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value > best if metric == "psnr" else value < best


def _worker_error(exc: Exception) -> str:
    """The original message of an RdhError raised inside a DataLoader worker (last line of its text)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else str(exc)
    for prefix in ("manifests.errors.RdhError: ", "RdhError: "):
        if last.startswith(prefix):
            return last[len(prefix):]
    return last


def train(cfg: TrainConfig, progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train cfg.model on cfg.manifest into cfg.out; returns where the checkpoints and log are.

    progress(step, total_steps, info) is called after every step on rank 0; info holds
    "images_per_s" and the latest logged loss terms.
    """
    check_config(cfg)
    info = hdist.setup(cfg.device)
    try:
        return _train(cfg, info, progress)
    except RdhError as exc:
        raise RdhError(_worker_error(exc)) from None
    finally:
        hdist.teardown(info)


def _train(cfg: TrainConfig, info: hdist.DistInfo, progress) -> TrainResult:
    started = time.perf_counter()
    out = Path(cfg.out)
    last_path, best_path, log_path = out / "last.pt", out / "best.pt", out / "log.jsonl"
    device = info.device
    resume_ckpt = None
    changed: list[str] = []
    if cfg.resume:
        if not last_path.exists():
            raise RdhError(f"{last_path}: nothing to resume (no checkpoint in {out}): drop --resume to start a new run")
        resume_ckpt = load_checkpoint(last_path, model=cfg.model)
        cfg, changed = config_from_saved(cfg, resume_ckpt.get("config", {}))
        check_config(cfg)
    elif last_path.exists():
        raise RdhError(f"{out}: already holds a run (last.pt): pass --resume to continue it, or choose a new --out")
    if cfg.amp and device.type != "cuda" and info.is_main:
        print("rdh train: --amp is bf16 autocast on CUDA; running in float32 on CPU", file=sys.stderr)

    rows = select_rows(cfg, info.world_size)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.seed)  # the same initial weights on every process
    step = build_step(cfg, device)
    step.scaler = torch.amp.GradScaler("cuda", enabled=False)  # bf16 needs no loss scaling; kept for the format

    init_ckpt = None
    if cfg.init_from is not None and resume_ckpt is None:
        init_ckpt = load_checkpoint(cfg.init_from, model=cfg.model)
        load_weights(step, init_ckpt, Path(cfg.init_from))

    # Loaders: one endless stream per domain (CharmNet) or one for all rows (iDIH).
    pin = device.type == "cuda"
    augment = Augment() if cfg.augment else None  # None: whole images, resized
    streams: dict[str, DomainStream] = {}
    for d, df in rows.train.items():
        ds = PairDataset(df, cfg.image_size, augment, seed=cfg.seed, salt=DOMAIN_SALT[d])
        loader, sampler = make_train_loader(ds, cfg.batch_size, cfg.workers, info.world_size, info.rank,
                                            cfg.seed + DOMAIN_SALT[d], pin)
        streams[d] = DomainStream(loader, sampler, cfg.batch_size)
    val_loader = None
    if len(rows.val) and info.is_main:
        val_loader = make_eval_loader(PairDataset(rows.val, cfg.image_size), cfg.val_batch_size or cfg.batch_size,
                                      min(cfg.workers, 2), pin)
    steps_per_epoch = max(s.batches_per_epoch for s in streams.values())
    total = min(x for x in (cfg.max_steps, cfg.epochs * steps_per_epoch if cfg.epochs else None) if x is not None)

    start_step, best = 0, {"metric": cfg.best_metric, "value": None, "step": None}
    if resume_ckpt is not None:
        load_weights(step, resume_ckpt, last_path)
        for name, opt in step.optimizers().items():
            if opt is not None and resume_ckpt["optimizers"].get(name) is not None:
                opt.load_state_dict(resume_ckpt["optimizers"][name])
        if resume_ckpt.get("scaler"):
            step.scaler.load_state_dict(resume_ckpt["scaler"])
        for d, s in streams.items():
            s.restore(resume_ckpt["streams"][d])
        set_rng_state(resume_ckpt["rng"])
        start_step = int(resume_ckpt["step"])
        best = dict(resume_ckpt.get("best") or best)

    # Wrappers: DDP across processes, then (optionally) torch.compile.
    if info.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        step.trainable = DDP(step.trainable, device_ids=ids)
        if isinstance(step, CharmNetStep):
            step.disc = DDP(step.discriminator, device_ids=ids)
    if cfg.compile:
        step.trainable = torch.compile(step.trainable)

    log = RunLog(log_path, info.is_main)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        if resume_ckpt is not None:
            log.truncate_after(start_step)
        log.write({"kind": "event", "event": "resume" if resume_ckpt is not None else "start", "step": start_step,
                   "total_steps": total, "model": cfg.model, "world_size": info.world_size, "device": str(device),
                   "train_rows": {d: len(r) for d, r in rows.train.items()}, "val_rows": len(rows.val),
                   "val_domain": rows.val_domain, "settings_from_run": changed,
                   "init_from": str(cfg.init_from) if init_ckpt is not None else None})

    sample_every = cfg.sample_every or cfg.val_every
    ckpt_every = cfg.checkpoint_every or cfg.val_every
    samples: list[Path] = []
    sample_raw = None
    if val_loader is not None:
        sample_raw = next(iter(val_loader))
    images_per_step = cfg.batch_size * len(streams) * info.world_size
    sums: dict[str, torch.Tensor] = {}
    bad = torch.zeros((), dtype=torch.bool, device=device)
    interval_steps, interval_start = 0, time.perf_counter()
    last_info: dict = {}
    main = max(streams, key=lambda d: streams[d].batches_per_epoch)

    def check_finite(at: int) -> None:
        if hdist.any_rank(info, bool(bad.item())):
            bad_terms = [k for k, v in latest.items() if not math.isfinite(float(v))]
            log.write({"kind": "event", "event": "nan", "step": at, "terms": bad_terms})
            kept = f"{last_path} (step {saved_step}) is kept" if saved_step is not None else "no checkpoint was written"
            raise RdhError(f"loss became NaN or infinite by step {at} (terms: {', '.join(bad_terms) or 'earlier step'}); "
                           f"stopped, {kept}: lower --lr, check the data, or resume from the checkpoint")

    def save(at: int, also_best: bool) -> None:
        nonlocal saved_step
        if info.is_main:
            payload = _payload(cfg, step, at, streams, best, info.world_size)
            save_checkpoint(payload, last_path)
            if also_best:
                save_checkpoint(payload, best_path)
        saved_step = at

    saved_step = start_step if resume_ckpt is not None else None
    latest: dict[str, torch.Tensor] = {}
    at = start_step
    try:
        for at in range(start_step + 1, total + 1):
            try:
                raws = {d: s.next() for d, s in streams.items()}
            except RdhError as exc:
                raise RdhError(_worker_error(exc)) from None
            batches: dict[str, Batch] = {d: to_batch(r, device, cfg.channels_last) for d, r in raws.items()}
            for opt in step.optimizers().values():
                if opt is not None:
                    for group in opt.param_groups:
                        group["lr"] = cfg.lr * lr_factor(cfg, at, total)
            if sample_raw is None:
                sample_raw = raws.get("real", raws.get("all"))
                sample_raw = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in sample_raw.items()}
            latest = step(batches)
            for k, v in latest.items():
                sums[k] = sums[k] + v if k in sums else v.clone()
                if k.startswith("loss"):
                    bad |= ~torch.isfinite(v)
            interval_steps += 1

            validating = at % cfg.val_every == 0 or at == total
            saving = at % ckpt_every == 0 or at == total or validating
            if at % cfg.log_every == 0 or at == total or saving:
                check_finite(at)
                now = time.perf_counter()
                rate = images_per_step * interval_steps / max(now - interval_start, 1e-9)
                record = {"kind": "train", "step": at,
                          "epoch": round(streams[main].epoch + streams[main].batches / max(streams[main].batches_per_epoch, 1), 4),
                          "lr": step.optimizers()["G"].param_groups[0]["lr"], "images_per_s": round(rate, 2)}
                names = sorted(sums)
                means = hdist.mean_over_ranks(info, torch.stack([sums[k].float() for k in names])) / interval_steps
                record.update(dict(zip(names, means.tolist())))  # every loss term, mean over steps and processes
                log.write(record)
                last_info = dict(record)
                sums, interval_steps, interval_start = {}, 0, now

            is_best = False
            if validating and info.is_main and val_loader is not None:
                metrics = validate(step, val_loader, device, rows.val_domain, cfg.channels_last)
                value = metrics[cfg.best_metric]
                is_best = _better(cfg.best_metric, value, best.get("value"))
                if is_best:
                    best = {"metric": cfg.best_metric, "value": value, "step": at}
                log.write({"kind": "val", "step": at, "domain": rows.val_domain, "best": is_best, **metrics})
                last_info.update({f"val_{cfg.best_metric}": value})
            elif validating and info.is_main and val_loader is None and at == total:
                is_best = True  # no validation rows: best.pt is the final weights
                best = {"metric": None, "value": None, "step": at}
            if info.is_main and sample_raw is not None and (at % sample_every == 0 or at == total):
                grid = sample_grid(step, sample_raw, device, rows.val_domain if val_loader is not None else "real",
                                   cfg.channels_last)
                path = out / "samples" / f"step_{at:07d}.png"
                write_png(path, grid)
                samples.append(path)
            if saving:  # every validation is followed by a save, so best.pt is always a saved step
                save(at, is_best)
            if validating or saving:
                hdist.barrier(info)  # the other processes wait while rank 0 validates and writes
            if progress is not None and info.is_main:
                progress(at, total, last_info)
        if start_step >= total and info.is_main and not best_path.exists() and last_path.exists():
            shutil.copyfile(last_path, best_path)
    finally:
        for s in streams.values():
            s.close()
        if info.is_main:
            log.write({"kind": "event", "event": "end", "step": saved_step if saved_step is not None else at,
                       "seconds": round(time.perf_counter() - started, 2)})
        log.close()
    return TrainResult(last_path, best_path, total if start_step < total else start_step, log_path, best, samples,
                       time.perf_counter() - started)
