"""The options of `rdh evaluate` (EvalConfig), apart from harmonize.evaluate so the CLI reads
their defaults and help without importing torch."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harmonize.metrics import Protocol
from rdhcore.options import opt


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
