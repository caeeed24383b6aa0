"""Learning curves from RUN/log.jsonl: read them, and plot one panel per run into a PNG.

A panel shows the training fMSE (the logged mean over each --log-every interval) and the
validation fMSE against the optimizer step, with the validation composites' own fMSE as a dashed
line: a model that learns ends well below that line. All values on the 0-255 scale.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from harmonize.runlog import read_records
from rdhcore.atomic import write_bytes_atomic
from rdhcore.errors import RdhError

# The training fMSE key per model: iDIH logs "fmse"; CharmNet's real batch ("fmse_rl") is the
# domain it is for, the rendered one ("fmse_rd") is a fallback for older logs.
TRAIN_FMSE_KEYS = ("fmse", "fmse_rl", "fmse_rd")


@dataclass
class Curves:
    train_steps: list[int] = field(default_factory=list)
    train_fmse: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_fmse: list[float] = field(default_factory=list)
    val_composite_fmse: list[float] = field(default_factory=list)

    @property
    def composite_reference(self) -> float | None:
        """The validation composites' fMSE (the same rows each time: the latest value)."""
        return self.val_composite_fmse[-1] if self.val_composite_fmse else None


def log_path_of(run: Path) -> Path:
    """RUN/log.jsonl for a run folder; a .jsonl path is taken as it is."""
    run = Path(run)
    return run if run.suffix == ".jsonl" else run / "log.jsonl"


def read_curves(log_path: Path) -> Curves:
    """The train and validation fMSE series of a log.jsonl (or of a run folder's log)."""
    path = log_path_of(log_path)
    if not path.is_file():
        raise RdhError(f"{path}: no training log: train the run first (rdh train --out {path.parent})")
    curves = Curves()
    for rec in read_records(path):
        if rec.get("kind") == "train":
            key = next((k for k in TRAIN_FMSE_KEYS if k in rec), None)
            if key is not None and _finite(rec[key]):
                curves.train_steps.append(int(rec["step"]))
                curves.train_fmse.append(float(rec[key]))
        elif rec.get("kind") == "val" and _finite(rec.get("fmse")):
            curves.val_steps.append(int(rec["step"]))
            curves.val_fmse.append(float(rec["fmse"]))
            curves.val_composite_fmse.append(float(rec.get("composite_fmse", math.nan)))
    return curves


def plot_runs(runs: dict[str, Path], out_png: Path, title: str | None = None) -> Path:
    """One panel per run (name -> run folder or log.jsonl), side by side, written atomically to out_png."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: `rdh --help` stays fast
    from matplotlib.figure import Figure

    if not runs:
        raise ValueError("plot_runs needs at least one run")
    curves = {name: read_curves(path) for name, path in runs.items()}
    cols = min(len(curves), 3)
    rows = math.ceil(len(curves) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, c) in zip(axes, curves.items()):
        _panel(ax, name, c)
    for ax in axes[len(curves):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_bytes_atomic(out_png, buf.getvalue())
    return Path(out_png)


def _panel(ax, name: str, c: Curves) -> None:
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("step")
    ax.set_ylabel("fMSE (0-255)")
    if c.train_steps:
        ax.plot(c.train_steps, c.train_fmse, color="tab:blue", lw=1.2, label="train")
    if c.val_steps:
        ax.plot(c.val_steps, c.val_fmse, color="tab:orange", lw=1.5, marker="o", ms=3, label="validation")
    ref = c.composite_reference
    if ref is not None and _finite(ref):
        ax.axhline(ref, color="tab:gray", ls="--", lw=1, label="validation composite")
    values = c.train_fmse + c.val_fmse + ([ref] if ref is not None else [])
    if not values:
        ax.text(0.5, 0.5, "no fMSE logged yet", ha="center", va="center", transform=ax.transAxes)
        return
    if min(values) > 0:
        ax.set_yscale("log")  # errors fall by orders of magnitude on an easy set
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
