"""`rdh harmonize`: harmonize your own composites (one image or a folder) with a trained checkpoint."""
from __future__ import annotations

from pathlib import Path

import typer

from rdh.commands.console import ProgressBar, console, out

HELP = """Harmonize a composite image with its foreground mask, at any resolution.

The model runs at its training size; its correction of the foreground is brought back to the
full resolution, background pixels are left exactly as they are, and the foreground edge gets
the same correction as its inside (no seam). Mask pixels >= 128 are foreground.

With folders, each composite's mask is found by name: the same name, or the name without its
last _N / -N parts (iHarmony4: a0001_1_3.jpg -> a0001_1.png). A rerun skips finished outputs.

[bold]Examples[/bold]

  rdh harmonize --checkpoint runs/charmnet/best.pt photo.jpg photo_mask.png -o photo_harmonized.png

  rdh harmonize --checkpoint best.pt composites/ masks/ -o harmonized/ --device cuda
"""


def register(app: typer.Typer) -> None:
    app.command("harmonize", help=HELP, no_args_is_help=True)(harmonize_cmd)


def harmonize_cmd(
    composite: Path = typer.Argument(..., metavar="COMPOSITE", help="Composite image, or a folder of them."),
    mask: Path = typer.Argument(..., metavar="MASK", help="Foreground mask (white = foreground), or a folder of masks."),
    output: Path = typer.Option(..., "--output", "-o", help="Output image (.png/.jpg), or a folder."),
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="Model checkpoint (RUN/best.pt of `rdh train`)."),
    batch_size: int = typer.Option(4, "--batch-size", help="Images per model call."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
    format: str = typer.Option("png", "--format", help="Format of outputs written into a folder: png or jpg."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Folder mode: redo outputs that exist."),
) -> None:
    from harmonize.inference import HarmonizeConfig, harmonize_files

    cfg = HarmonizeConfig(checkpoint=checkpoint, composite=composite, mask=mask, out=output,
                          batch_size=batch_size, device=device, format=format, overwrite=overwrite)
    with ProgressBar("harmonize", "images") as progress:
        summary = harmonize_files(cfg, progress)
    if len(summary.written) == 1 and not summary.skipped:
        out.print(f"wrote {summary.written[0]}")
    else:
        out.print(f"wrote {len(summary.written)} images to {output}"
                  + (f" ({summary.skipped} finished earlier, kept)" if summary.skipped else ""))
    console.print(f"{summary.seconds:.1f} s")
