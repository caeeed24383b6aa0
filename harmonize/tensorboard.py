"""`rdh train --tensorboard`: the run's numbers and sample grids as TensorBoard event files in
RUN/tensorboard (torch.utils.tensorboard; the `tensorboard` package is the rdh[tensorboard] extra).

The tags: train/<term> (every logged loss term and batch fMSE, plus lr and images_per_s),
val/<metric> (fmse, mse, psnr, ...) and samples (composite | output | target).
"""
from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from rdhcore.errors import RdhError

SKIPPED = ("step", "epoch", "best")  # the step is the x axis; epoch and best are bookkeeping


class TensorBoardLog:
    """Event files written by rank 0; a resumed run drops the events after its checkpoint's step."""

    def __init__(self, folder: Path, resumed_at: int | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
        except ImportError:
            raise RdhError("--tensorboard needs the tensorboard package: pip install tensorboard, or "
                           "pip install -e '.[tensorboard]' in the rdh checkout (or drop --tensorboard; log.jsonl has the same numbers)") from None
        self.folder = Path(folder)
        self.writer = SummaryWriter(str(self.folder), purge_step=None if resumed_at is None else resumed_at + 1)

    def scalars(self, prefix: str, record: dict, step: int) -> None:
        """Every number of a log record as `prefix/<key>` at `step`."""
        for key, value in record.items():
            if key not in SKIPPED and isinstance(value, numbers.Real) and not isinstance(value, bool):
                self.writer.add_scalar(f"{prefix}/{key}", float(value), step)

    def image(self, tag: str, grid: np.ndarray, step: int) -> None:
        """An HxWx3 uint8 image."""
        self.writer.add_image(tag, grid, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
