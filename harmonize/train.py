"""`rdh train`: iDIH or CharmNet on manifest rows, with validation, checkpoints, logs and resume.

train(cfg) reads the manifest (split=train rows to train; split=val rows, or a group-disjoint
--val-fraction of the train rows, to validate: harmonize.train_rows), builds the model, and runs
optimizer steps until --max-steps or --epochs. Into the run folder `cfg.out` it writes (rank 0
only under torchrun):

    last.pt, best.pt        checkpoints (harmonize.checkpoint, harmonize.run_state), written atomically
    log.jsonl               one JSON object a line: "train" records (every loss term and the batch
                            fMSE, averaged over the last `log_every` steps), "val" records, "event" records
    curves.png              train and validation fMSE against steps (harmonize.curves)
    samples/step_XXXXXXX.png  composite | output | target of a few validation images

A resumed run (`resume=True`) continues from RUN/last.pt with the run's saved data, model and
optimizer settings; the same seed gives the same weights as a run that was never stopped.
"""
from __future__ import annotations

import contextlib
import math
import shutil
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import torch

from harmonize import dist as hdist
from harmonize.blocks import BlendingHead
from harmonize.checkpoint import load_checkpoint, save_checkpoint
from harmonize.curves import plot_runs
from harmonize.data import DOMAIN_SALT, Augment, DomainStream, PairDataset, make_eval_loader, make_train_loader
from harmonize.models import build_generator
from harmonize.run_state import load_weights, restore_run, run_payload
from harmonize.runlog import RunLog
from harmonize.steps import STEPS, Batch, StepSettings, to_batch
from harmonize.tensorboard import TensorBoardLog
from harmonize.train_config import (BEST_METRICS, BLEND_INITS, SCHEDULES, TrainConfig, check_config,  # noqa: F401
                                    check_resume_options, command_part, config_from_saved, lr_factor, spec_of,
                                    weights_of)
from harmonize.train_rows import Rows, select_rows  # noqa: F401
from harmonize.validation import sample_grid, validate, write_png
from rdhcore.atomic import atomic_path
from rdhcore.errors import RdhError
from rdhcore.imageio import within_budget
from rdhcore.locks import output_lock
from rdhcore.outputs import Inputs
from rdhcore.sweep import named, sweep
from manifests.schema import manifest_file
from rdhcore.progress import Progress, as_progress

RESUME_KEYS = ("optimizers", "streams", "rng", "config")  # what a resume needs beyond the weights


@dataclass
class TrainResult:
    last_path: Path
    best_path: Path
    steps: int
    log_path: Path
    best: dict = field(default_factory=dict)
    samples: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    curves_path: Path | None = None
    tensorboard_dir: Path | None = None


def build_step(cfg: TrainConfig, device: torch.device):
    """The model(s), optimizers and step function for cfg, on `device`."""
    spec = spec_of(cfg)
    settings = StepSettings(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), recon=cfg.recon, min_area=cfg.min_area,
                            weights=weights_of(cfg), sa_loss=cfg.sa_loss,
                            amp=cfg.amp and device.type == "cuda", device_type=device.type)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    gen = build_generator(cfg.model, spec, cfg.unshared)
    if cfg.blend_init == "identity":
        for module in gen.modules():
            if isinstance(module, BlendingHead):
                module.start_at_identity()
    # the official ndf (64) of D and the classifiers equals the default generator width
    return STEPS[cfg.model].build(gen, settings, cfg.width, lambda m: m.to(device, memory_format=fmt))


@within_budget  # --max-pixels, for this call only
def train(cfg: TrainConfig, progress: Progress | None = None, explicit: Collection[str] = ()) -> TrainResult:
    """Train cfg.model on cfg.manifest into cfg.out; returns where the checkpoints and log are.

    `progress` (rank 0) counts optimizer steps; each step reports the latest logged record's
    numbers ("images_per_s", the loss terms, "val_<metric>") as its stats. `explicit` names the
    settings the user gave (the CLI's command line): a --resume refuses one that differs from the run's.
    """
    check_config(command_part(cfg) if cfg.resume else cfg)  # a resume's other settings are checked once read
    info = hdist.setup(cfg.device)
    try:
        return Run(cfg, info, progress, frozenset(explicit)).execute()
    except RdhError as exc:
        raise RdhError(_worker_error(exc)) from None
    finally:
        hdist.teardown(info)


class Run:
    """One `rdh train` run, as its phases: open the run folder -> choose rows -> build the model ->
    make loaders -> restore -> loop of step / log / validate / save -> finish."""

    def __init__(self, cfg: TrainConfig, info: hdist.DistInfo, progress, explicit: frozenset[str] = frozenset()):
        self.cfg, self.info, self.explicit = cfg, info, explicit
        self.progress = as_progress(progress if info.is_main else None)
        self.device = info.device
        self.out = Path(cfg.out)
        self.last_path, self.best_path = self.out / "last.pt", self.out / "best.pt"
        self.log_path, self.curves_path = self.out / "log.jsonl", self.out / "curves.png"
        self.started = time.perf_counter()
        self.resume_ckpt: dict | None = None
        self.changed: list[str] = []
        self.streams: dict[str, DomainStream] = {}
        self.samples: list[Path] = []
        self.saved_step: int | None = None
        self.curves_step: int | None = None
        self.tb: TensorBoardLog | None = None

    def execute(self) -> TrainResult:
        """The whole run, holding the run folder's lock (rank 0: the other processes write nothing)."""
        if not self.info.is_main:
            return self._execute()
        inputs = Inputs().add_file(manifest_file(self.cfg.manifest), "--manifest").add_file(self.cfg.init_from, "--init-from")
        files = (self.last_path, self.best_path, self.log_path, self.curves_path)   # what a run writes in its folder
        inputs.refuse(("--out", p) for p in (self.out, *files))
        with output_lock(self.out, "rdh train") as lock:
            # these files and the sample grids, nothing deeper
            sweep(self.out, {"": named(*(p.name for p in files)),
                             "samples": lambda name: name.startswith("step_") and name.endswith(".png")}, lock.path)
            fresh = not self.cfg.resume
            before = {p for p in (self.log_path, self.curves_path, self.out / "samples") if p.exists()}
            try:
                return self._execute()
            except BaseException:
                if fresh and self.saved_step is None:  # stopped before its first checkpoint: no half run is left
                    self.remove_outputs(before)
                raise

    def remove_outputs(self, keep: set[Path]) -> None:
        """Remove what this run wrote (never a file that was there before it started)."""
        for path in [self.log_path, self.curves_path]:
            if path not in keep:
                path.unlink(missing_ok=True)
        for path in self.samples:
            path.unlink(missing_ok=True)
        if self.out / "samples" not in keep:
            with contextlib.suppress(OSError):
                (self.out / "samples").rmdir()

    def _execute(self) -> TrainResult:
        self.open_run_folder()
        self.rows = self.choose_rows()
        self.step = self.build_model()
        self.make_loaders()
        self.start_step, self.best = self.restore()
        self.wrap()
        self.log = RunLog(self.log_path, self.info.is_main)
        at = self.start_step
        try:
            self.log_start()
            self.begin_loop()
            for at in range(self.start_step + 1, self.total + 1):
                self.train_step(at)
                self.after_step(at)
            self.finish()
        finally:
            for s in self.streams.values():
                s.close()
            if self.info.is_main:
                end = self.saved_step if self.saved_step is not None else at
                self.log.write({"kind": "event", "event": "end", "step": end,
                                "seconds": round(time.perf_counter() - self.started, 2)})
            self.log.close()
            if self.tb is not None:
                self.tb.close()
        steps = self.total if self.start_step < self.total else self.start_step
        best_path = self.best_path if self.best_path.is_file() or not self.info.is_main else None
        return TrainResult(self.last_path, best_path, steps, self.log_path, self.best, self.samples,
                           time.perf_counter() - self.started, self.curves_path if self.curves_step is not None else None,
                           self.tb.folder if self.tb is not None else None)

    # ------------------------------------------------------------ setup

    def open_run_folder(self) -> None:
        """A resume takes the saved run's settings; a new run refuses a folder that holds one."""
        cfg = self.cfg
        if cfg.resume:
            if not self.last_path.exists():
                raise RdhError(f"{self.last_path}: nothing to resume (no checkpoint in {self.out}): "
                               "drop --resume to start a new run")
            self.resume_ckpt = load_checkpoint(self.last_path, model=cfg.model)
            missing = [k for k in RESUME_KEYS if k not in self.resume_ckpt]
            if missing:
                raise RdhError(f"{self.last_path}: holds model weights only (no {', '.join(missing)}), so there is "
                               "no training state to resume: start a new run with --init-from "
                               f"{self.last_path} and another --out")
            self.cfg, self.changed = config_from_saved(cfg, self.resume_ckpt.get("config", {}), self.last_path)
            check_resume_options(cfg, self.cfg, [n for n in self.changed if n in self.explicit], self.out)
            try:
                check_config(self.cfg)
            except RdhError as exc:  # the command's own settings passed: a saved one is wrong
                raise RdhError(f"{self.last_path}: the run's saved settings do not check out ({exc}): the checkpoint "
                               "is damaged or was edited; resume from another copy or start a new run") from None
            self.saved_step = int(self.resume_ckpt["step"])
        elif self.last_path.exists():
            raise RdhError(f"{self.out}: already holds a run (last.pt): pass --resume to continue it, "
                           "or choose a new --out")
        if self.device.type == "cpu":
            hdist.set_cpu_threads(self.cfg.threads, self.info.world_size)
        if self.cfg.amp and self.device.type != "cuda" and self.info.is_main:
            print("rdh train: --amp is bf16 autocast on CUDA; running in float32 on CPU", file=sys.stderr)

    def choose_rows(self) -> Rows:
        rows = select_rows(self.cfg, self.info.world_size)
        if rows.note and self.info.is_main:
            print(f"rdh train: note: {rows.note}", file=sys.stderr)
        return rows

    def build_model(self):
        cfg = self.cfg
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        torch.manual_seed(cfg.seed)  # the same initial weights on every process
        step = build_step(cfg, self.device)
        self.init_ckpt = None
        if cfg.init_from is not None and self.resume_ckpt is None:
            self.init_ckpt = load_checkpoint(cfg.init_from, model=cfg.model)
            load_weights(step, self.init_ckpt, Path(cfg.init_from))
        return step

    def make_loaders(self) -> None:
        """One endless stream per domain (CharmNet) or one for all rows (iDIH), and the validation loader."""
        cfg, info = self.cfg, self.info
        pin = self.device.type == "cuda"
        augment = Augment() if cfg.augment else None  # None: whole images, resized
        for d, df in self.rows.train.items():
            ds = PairDataset(df, cfg.image_size, augment, seed=cfg.seed, salt=DOMAIN_SALT[d])
            loader, sampler = make_train_loader(ds, cfg.batch_size, cfg.workers, info.world_size, info.rank,
                                                cfg.seed + DOMAIN_SALT[d], pin)
            self.streams[d] = DomainStream(loader, sampler, cfg.batch_size)
        self.val_loader = None
        if len(self.rows.val) and info.is_main:
            self.val_loader = make_eval_loader(PairDataset(self.rows.val, cfg.image_size),
                                               cfg.val_batch_size or cfg.batch_size, min(cfg.workers, 2), pin)
        steps_per_epoch = max(s.batches_per_epoch for s in self.streams.values())
        self.total = min(x for x in (cfg.max_steps, cfg.epochs * steps_per_epoch if cfg.epochs else None)
                         if x is not None)

    def restore(self) -> tuple[int, dict]:
        best = {"metric": self.cfg.best_metric, "value": None, "step": None}
        if self.resume_ckpt is None:
            return 0, best
        start, saved_best = restore_run(self.step, self.streams, self.resume_ckpt, self.last_path)
        saved_best = dict(saved_best or best)
        if self.info.is_main:
            saved_best = self.repair_best(start, saved_best, best)
        return start, saved_best

    def repair_best(self, start: int, saved: dict, fresh: dict) -> dict:
        """Make best.pt agree with the record in last.pt after a kill between the two saves.

        best.pt is saved before last.pt, so last.pt never records a best that is newer than best.pt;
        when it records its own step (a run of an older rdh, or a best.pt removed) best.pt is
        copied from last.pt; when the best it records is gone, the best is picked afresh."""
        if saved.get("step") is None:
            return saved
        have = None
        if self.best_path.is_file():
            try:
                have = int(load_checkpoint(self.best_path).get("step", -1))
            except RdhError:
                have = None  # a damaged best.pt is replaced below or at the next best
        if have is not None and have >= int(saved["step"]):
            return saved
        if int(saved["step"]) == start:
            with atomic_path(self.best_path) as tmp:
                shutil.copyfile(self.last_path, tmp)
            print(f"rdh train: {self.best_path} was missing or older than the best step {start}: restored from "
                  f"{self.last_path}", file=sys.stderr)
            return saved
        print(f"rdh train: {self.best_path} does not hold the best step {saved['step']} recorded in "
              f"{self.last_path}: the best is picked afresh from the next validation", file=sys.stderr)
        return {**fresh, "metric": saved.get("metric", fresh["metric"])}

    def wrap(self) -> None:
        """DDP across processes, then (optionally) torch.compile."""
        step, info = self.step, self.info
        if info.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            step.trainable = DDP(step.trainable, device_ids=ids)
            if step.disc is not None:
                step.disc = DDP(step.disc, device_ids=ids)
        if self.cfg.compile:
            step.trainable = torch.compile(step.trainable)

    def log_start(self) -> None:
        if not self.info.is_main:
            return
        cfg, rows = self.cfg, self.rows
        self.out.mkdir(parents=True, exist_ok=True)
        if cfg.tensorboard:
            self.tb = TensorBoardLog(self.out / "tensorboard", self.start_step if self.resume_ckpt is not None else None)
        if self.resume_ckpt is not None:
            self.log.truncate_after(self.start_step)
        else:  # a new run: records of one killed before its first checkpoint are not this run's
            self.log.truncate_after(-1)
        self.log.write({"kind": "event", "event": "resume" if self.resume_ckpt is not None else "start",
                        "step": self.start_step, "total_steps": self.total, "model": cfg.model,
                        "world_size": self.info.world_size, "device": str(self.device),
                        "cpu_threads": torch.get_num_threads() if self.device.type == "cpu" else None,
                        "train_rows": {d: len(r) for d, r in rows.train.items()}, "val_rows": len(rows.val),
                        "val_source": rows.val_source, "val_groups": rows.val_groups, "val_domain": rows.val_domain,
                        "val_note": rows.note,
                        "settings_from_run": self.changed,
                        "init_from": str(cfg.init_from) if self.init_ckpt is not None else None})

    def begin_loop(self) -> None:
        cfg = self.cfg
        self.sample_every = cfg.sample_every or cfg.val_every
        self.ckpt_every = cfg.checkpoint_every or cfg.val_every
        self.sample_raw = next(iter(self.val_loader)) if self.val_loader is not None else None
        self.images_per_step = cfg.batch_size * len(self.streams) * self.info.world_size
        self.main_stream = max(self.streams, key=lambda d: self.streams[d].batches_per_epoch)
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, torch.Tensor] = {}
        self.bad = torch.zeros((), dtype=torch.bool, device=self.device)
        self.interval_steps, self.interval_start = 0, time.perf_counter()
        self.latest: dict[str, torch.Tensor] = {}
        self.last_info: dict = {}
        self.progress.start(self.total, done=self.start_step)

    # ------------------------------------------------------------ the loop

    def train_step(self, at: int) -> None:
        """One optimizer step at the scheduled learning rate; its terms join the log interval."""
        cfg = self.cfg
        try:
            raws = {d: s.next() for d, s in self.streams.items()}
        except RdhError as exc:
            raise RdhError(_worker_error(exc)) from None
        batches: dict[str, Batch] = {d: to_batch(r, self.device, cfg.channels_last) for d, r in raws.items()}
        for opt in self.step.optimizers().values():
            if opt is not None:
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * lr_factor(cfg, at, self.total)
        if self.sample_raw is None:  # no validation rows: show training images
            raw = raws.get("real", raws.get("all"))
            self.sample_raw = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in raw.items()}
        try:
            self.latest = self.step(batches)
        except ValueError as exc:
            if "Expected more than 1 value per channel" not in str(exc):
                raise
            raise RdhError("a training batch holds one image, which BatchNorm cannot normalize (too few "
                           "train rows for --batch-size?): add rows, or use --norm instance") from None
        for k, v in self.latest.items():
            finite = torch.isfinite(v)
            # A batch without foreground has no fMSE (NaN): the interval mean skips it.
            value, seen = torch.where(finite, v, torch.zeros_like(v)), finite.float()
            self.sums[k] = self.sums[k] + value if k in self.sums else value.clone()
            self.counts[k] = self.counts[k] + seen if k in self.counts else seen
            if k.startswith("loss"):
                self.bad |= ~finite
        self.interval_steps += 1

    def after_step(self, at: int) -> None:
        cfg, info = self.cfg, self.info
        validating = at % cfg.val_every == 0 or at == self.total
        saving = at % self.ckpt_every == 0 or at == self.total or validating
        if at % cfg.log_every == 0 or at == self.total or saving:
            self.check_finite(at)
            self.write_train_record(at)
        is_best = self.run_validation(at) if validating and info.is_main else False
        if info.is_main and self.sample_raw is not None and (at % self.sample_every == 0 or at == self.total):
            self.write_samples(at)
        if saving:  # every validation is followed by a save, so best.pt is always a saved step
            self.save(at, is_best)
        if validating or saving:
            hdist.barrier(info)  # the other processes wait while rank 0 validates and writes
            self.interval_start = time.perf_counter()  # images/s counts training, not validation and writes
        self.progress(1, **{k: v for k, v in self.last_info.items() if isinstance(v, (int, float))})

    def check_finite(self, at: int) -> None:
        if hdist.any_rank(self.info, bool(self.bad.item())):
            bad_terms = [k for k, v in self.latest.items() if not math.isfinite(float(v))]
            self.log.write({"kind": "event", "event": "nan", "step": at, "terms": bad_terms})
            kept = (f"{self.last_path} (step {self.saved_step}) is kept" if self.saved_step is not None
                    else "no checkpoint was written")
            raise RdhError(f"loss became NaN or infinite by step {at} (terms: {', '.join(bad_terms) or 'earlier step'}); "
                           f"stopped, {kept}: lower --lr, check the data, or resume from the checkpoint")

    def write_train_record(self, at: int) -> None:
        """Every term's mean over the interval's steps (where it is defined) and over all processes."""
        now = time.perf_counter()
        main = self.streams[self.main_stream]
        rate = self.images_per_step * self.interval_steps / max(now - self.interval_start, 1e-9)
        record = {"kind": "train", "step": at,
                  "epoch": round(main.epoch + main.batches / max(main.batches_per_epoch, 1), 4),
                  "lr": self.step.optimizers()["G"].param_groups[0]["lr"], "images_per_s": round(rate, 2)}
        names = sorted(self.sums)
        totals = hdist.mean_over_ranks(self.info, torch.stack([self.sums[k].float() for k in names]
                                                              + [self.counts[k] for k in names]))
        means = totals[:len(names)] / totals[len(names):]  # 0/0 = NaN: no batch of the interval had a foreground
        record.update(dict(zip(names, means.tolist())))
        self.log.write(record)
        if self.tb is not None:
            self.tb.scalars("train", record, at)
        self.last_info = dict(record)
        self.sums, self.counts, self.interval_steps, self.interval_start = {}, {}, 0, now

    def run_validation(self, at: int) -> bool:
        """Validate (rank 0) and redraw curves.png; True when this step is the best so far."""
        cfg = self.cfg
        is_best = False
        if self.val_loader is not None:
            metrics = validate(self.step, self.val_loader, self.device, self.rows.val_domain, cfg.channels_last)
            value = metrics[cfg.best_metric]
            is_best = _better(cfg.best_metric, value, self.best.get("value"))
            if is_best:
                self.best = {"metric": cfg.best_metric, "value": value, "step": at}
            self.log.write({"kind": "val", "step": at, "domain": self.rows.val_domain, "best": is_best, **metrics})
            if self.tb is not None:
                self.tb.scalars("val", metrics, at)
            self.last_info.update({f"val_{cfg.best_metric}": value})
            self.write_curves(at)
        elif at == self.total:
            is_best = True  # no validation rows: best.pt is the final weights
            self.best = {"metric": None, "value": None, "step": at}
        return is_best

    def write_samples(self, at: int) -> None:
        domain = self.rows.val_domain if self.val_loader is not None else "real"
        grid = sample_grid(self.step, self.sample_raw, self.device, domain, self.cfg.channels_last)
        path = self.out / "samples" / f"step_{at:07d}.png"
        write_png(path, grid)
        if self.tb is not None:
            self.tb.image("samples", grid, at)
        self.samples.append(path)

    def write_curves(self, at: int) -> None:
        plot_runs({f"{self.cfg.model}: {self.out.name}": self.log_path}, self.curves_path)
        self.curves_step = at

    def save(self, at: int, also_best: bool) -> None:
        if self.info.is_main:
            payload = run_payload(self.cfg, self.step, at, self.streams, self.best, self.info.world_size)
            if also_best:  # best first: a kill before last.pt replays this step on resume and saves both
                save_checkpoint(payload, self.best_path)
            save_checkpoint(payload, self.last_path)
        self.saved_step = at

    def finish(self) -> None:
        """A run that was already done still gets best.pt; the curves show every step."""
        if not self.info.is_main:
            return
        if self.start_step >= self.total and not self.best_path.exists() and self.last_path.exists():
            with atomic_path(self.best_path) as tmp:
                shutil.copyfile(self.last_path, tmp)
        if self.curves_step != self.total and self.log_path.exists():
            self.write_curves(self.total)


def _better(metric: str, value: float, best: float | None) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value > best if metric == "psnr" else value < best


def _worker_error(exc: Exception) -> str:
    """The original message of an RdhError raised inside a DataLoader worker (last line of its text)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else str(exc)
    for prefix in ("rdhcore.errors.RdhError: ", "RdhError: "):
        if last.startswith(prefix):
            return last[len(prefix):]
    return last
