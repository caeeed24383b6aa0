"""`rdh harmonize`: harmonize your own composites (one image or a folder) with a trained checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from harmonize.options import HarmonizeConfig as H
from rdh.commands.console import ProgressBar, console, say
from rdh.commands.options import help_of, option

HELP = """Harmonize a composite image with its foreground mask, at any resolution.

The model runs at its training size; its correction of the foreground is brought back to the full resolution, background pixels are left exactly as they are, and the foreground edge gets the same correction as its inside (no seam). Mask pixels >= 128 are foreground.

With folders, each composite's mask is found by name: the same name, or the name without its last _N / -N parts (iHarmony4: a0001_1_3.jpg -> a0001_1.png). A rerun skips finished outputs.

[bold]Examples[/bold]

  rdh harmonize --checkpoint runs/charm/best.pt photo.jpg mask.png \\
      -o photo_harmonized.png

  rdh harmonize --checkpoint best.pt composites/ masks/ -o harmonized/ \\
      --device cuda
"""


def register(app: typer.Typer) -> None:
    app.command("harmonize", help=HELP, no_args_is_help=True)(harmonize_cmd)


def harmonize_cmd(
    composite: Path = typer.Argument(..., metavar="COMPOSITE", help=help_of(H, "composite")),
    mask: Path = typer.Argument(..., metavar="MASK", help=help_of(H, "mask")),
    output: Path = option(H, "out", "--output|-o"),
    checkpoint: Path = option(H, "checkpoint", "--checkpoint|-c"),
    batch_size: int = option(H, "batch_size"),
    device: str = option(H, "device"),
    format: str = option(H, "format"),
    overwrite: bool = option(H, "overwrite"),
    max_pixels: Optional[int] = option(H, "max_pixels"),
) -> None:
    from harmonize.inference import harmonize_files

    cfg = H(checkpoint=checkpoint, composite=composite, mask=mask, out=output,
            batch_size=batch_size, device=device, format=format, overwrite=overwrite, max_pixels=max_pixels)
    with ProgressBar("harmonize", "images") as progress:
        summary = harmonize_files(cfg, progress)
    if len(summary.written) == 1 and not summary.skipped:
        say(f"wrote {summary.written[0]}")
    else:
        say(f"wrote {len(summary.written)} images to {output}"
            + (f" ({summary.skipped} finished earlier, kept)" if summary.skipped else ""))
    console.print(f"{summary.seconds:.1f} s")
