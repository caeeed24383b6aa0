"""`rdh evaluate`: MSE, fMSE and PSNR of a model (or of saved predictions) on a manifest's test pairs."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from rdh.commands.console import console, out, progress_bar, rate_text

HELP = """Score split=test pairs of a manifest: MSE, fMSE, PSNR (optionally SSIM), overall and per
domain, source, category, novel and foreground ratio (0-5%, 5-15%, 15-100%). Each group also
shows the input composite's own scores (the "Input Composite" row of the paper's Table 2).

Default protocol: per image, 0-255 scale, 256x256, binary mask, PSNR peak 255 (docs/metrics.md).

[bold]Examples[/bold]

  rdh evaluate --checkpoint runs/charmnet/best.pt --manifest data/all.parquet --json scores.json

  rdh evaluate --predictions my_outputs/ --manifest data/all.parquet --filter domain=real --csv scores.csv

  rdh evaluate --checkpoint best.pt --manifest m.parquet --psnr-peak target-max --soft-mask --save-outputs out/
"""


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=HELP, no_args_is_help=True)(evaluate_cmd)


def evaluate_cmd(
    manifest: Path = typer.Option(..., "--manifest", "-m", help="Manifest (.parquet) or pair-dataset folder."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "-c", help="Model checkpoint (RUN/best.pt) to run."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Folder of <pair_id>.png at the target's size, instead of a model."),
    split: str = typer.Option("test", "--split", help="Rows to score: test, val, train or all."),
    filter: Optional[str] = typer.Option(None, "--filter", help="Keep matching rows: COLUMN=VALUE or COLUMN!=VALUE (VALUE may be A|B); ',' ANDs terms, ';' ORs groups, e.g. domain=real,novel=true or domain=rendered;novel=false."),
    novel: Optional[str] = typer.Option(None, "--novel", help="Categories counted as novel when the manifest has no novel column, e.g. human."),
    eval_size: int = typer.Option(256, "--eval-size", help="Score at this square size; 0 scores at the target's own size."),
    psnr_peak: str = typer.Option("255", "--psnr-peak", help="PSNR peak: 255, target-max (iDIH) or pred-range (iHarmony4/DoveNet)."),
    soft_mask: bool = typer.Option(False, "--soft-mask", help="Weight fMSE by the resized mask in [0, 1] instead of binarizing it."),
    resize_filter: str = typer.Option("bilinear", "--resize-filter", help="nearest, bilinear, bicubic, area or lanczos."),
    ssim: bool = typer.Option(False, "--ssim", help="Also compute SSIM."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write {overall, groups, protocol} here."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write overall and groups as CSV rows here."),
    per_image: Optional[Path] = typer.Option(None, "--per-image", help="Write every image's scores as CSV here."),
    save_outputs: Optional[Path] = typer.Option(None, "--save-outputs", help="With --checkpoint: write harmonized images as <pair_id>.png here."),
    raw_output: bool = typer.Option(False, "--raw-output", help="With --checkpoint: score the network's own output at its training size (iDIH/DoveNet protocol) instead of the full-resolution result with the background kept."),
    batch_size: int = typer.Option(8, "--batch-size", help="Images per model call."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda[:N]."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Score only the first N selected rows."),
) -> None:
    from harmonize.evaluate import EvalConfig, evaluate
    from harmonize.metrics import Protocol
    from manifests.errors import RdhError

    if save_outputs is not None and checkpoint is None:
        raise RdhError("--save-outputs needs --checkpoint: with --predictions the images exist already")
    if raw_output and checkpoint is None:
        raise RdhError("--raw-output needs --checkpoint")
    protocol = Protocol(size=eval_size or None, psnr_peak=psnr_peak, soft_mask=soft_mask,
                        resize_filter=resize_filter, ssim=ssim).check()
    cfg = EvalConfig(manifest=manifest, checkpoint=checkpoint, predictions=predictions, protocol=protocol,
                     split=split, filter=filter, batch_size=batch_size, device=device, save_outputs=save_outputs, raw_output=raw_output,
                     novel=tuple(c.strip() for c in (novel or "").split(",") if c.strip()), limit=limit)
    start = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("evaluate", total=None, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            bar.update(task, rate=rate_text(bar.tasks[0].completed, time.perf_counter() - start, "images"))

        result = evaluate(cfg, progress=advance, started=lambda total: bar.update(task, total=total))
    print_result(result)
    for path, write in ((json_path, result.write_json), (csv_path, result.write_csv), (per_image, result.write_per_image)):
        if path is not None:
            write(path)
            console.print(f"wrote {path}")


def print_result(result) -> None:
    from rich.table import Table

    what = result.source.get("checkpoint") or result.source.get("predictions")
    table = Table(title=f"evaluate {what} on {result.source['manifest']} ({result.source['split']})",
                  caption=f"protocol: {result.protocol.describe()}; composite = the input composite's own scores")
    metrics = [m for m in ("mse", "fmse", "psnr", "ssim") if m in result.overall]
    for col in ("group", "value", "count"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for m in metrics:
        name = "fMSE" if m == "fmse" else m.upper()
        table.add_column(name, justify="right")
        table.add_column(f"composite {name}", justify="right", style="dim")
    for row in result.table().to_dict("records"):
        cells = [str(row["group"]), str(row["value"]), str(row["count"])]
        for m in metrics:
            cells += [_fmt(row.get(m), m), _fmt(row.get(f"composite_{m}"), m)]
        table.add_row(*cells)
    out.print(table)
    n = result.overall["count"]
    console.print(f"{n} images in {result.seconds:.1f} s ({n / max(result.seconds, 1e-9):.1f} images/s)")


def _fmt(value, metric: str) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.4f}" if metric == "ssim" else f"{value:.2f}"
