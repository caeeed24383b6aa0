"""The demo's report: summary.json (rdh.demo/1), report.md (report_template.md), grid.png, curves.png."""
from __future__ import annotations

import json
from pathlib import Path
from string import Template

from rdhcore.atomic import write_text_atomic
from reality_gap.presets import DemoConfig, Method
from reality_gap.layout import Layout

SCHEMA = "rdh.demo/1"
TEMPLATE = Path(__file__).with_name("report_template.md")
SCORES = ("count", "mse", "fmse", "psnr")


def group_row(result: dict, novel: bool) -> dict:
    """The evaluation group novel=True or False of an rdh.eval result."""
    for g in result["groups"]:
        if g["group"] == "novel" and g["value"] is novel:
            return g
    raise KeyError(f"no novel={novel} group in the evaluation")


def summary_rows(cfg: DemoConfig, paths: Layout) -> list[dict]:
    """[{"method", "novel": {count, mse, fmse, psnr}, "base": {...}}], the composite first."""
    results = {m.name: json.loads(paths.result(m.name).read_text()) for m in cfg.methods}
    first = results[cfg.methods[0].name]
    rows = [{"method": "composite", **{side: {k: group_row(first, flag)["count"] if k == "count"
                                              else group_row(first, flag)[f"composite_{k}"] for k in SCORES}
                                       for side, flag in (("novel", True), ("base", False))}}]
    for m in cfg.methods:
        rows.append({"method": m.name, **{side: {k: group_row(results[m.name], flag)[k] for k in SCORES}
                                          for side, flag in (("novel", True), ("base", False))}})
    return rows


def write_summary(cfg: DemoConfig, paths: Layout, rows: list[dict]) -> None:
    data = {"schema": SCHEMA, "novel_category": cfg.novel_category, "seed": cfg.seed, "quick": cfg.size.quick,
            "steps": cfg.size.steps, "rows": rows}
    write_text_atomic(paths.summary, json.dumps(data, indent=2))


def change(row: dict, composite: dict, side: str) -> float:
    """fMSE change against the composite, in percent."""
    return 100.0 * (row[side]["fmse"] - composite[side]["fmse"]) / composite[side]["fmse"]


def labels(cfg: DemoConfig) -> dict[str, str]:
    return {"composite": "Input composite", **{m.name: m.label for m in cfg.methods}}


def markdown_table(cfg: DemoConfig, rows: list[dict]) -> str:
    names = labels(cfg)
    comp = rows[0]
    lines = ["| method | novel MSE | novel fMSE | novel PSNR | novel fMSE change | base MSE | base fMSE | base PSNR | base fMSE change |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        cells = []
        for side in ("novel", "base"):
            d = row[side]
            delta = "-" if row is comp else f"{change(row, comp, side):+.1f}%"
            cells += [f"{d['mse']:.1f}", f"{d['fmse']:.1f}", f"{d['psnr']:.2f}", delta]
        lines.append(f"| {names[row['method']]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reading(cfg: DemoConfig, rows: list[dict]) -> str:
    """What the numbers say, computed from them: the paper's ordering, and the gain over the composite."""
    by = {r["method"]: r for r in rows}
    comp = by["composite"]
    novel = {m: by[m]["novel"]["fmse"] for m in by}
    parts = []
    order = ("charmnet", "idih_fusion", "idih_base")
    if all(m in novel for m in order):
        holds = novel["charmnet"] < novel["idih_fusion"] < novel["idih_base"]
        parts.append("The paper's ordering in novel fMSE, CharmNet < iDIH fusion < iDIH base-only, "
                     + ("**holds** here" if holds else "**does not hold** here") + " ("
                     + " / ".join(f"{novel[m]:.1f}" for m in order) + ").")
    if "idih_fusion" in novel and "idih_upper" in novel:
        parts.append(f"The reality gap: fusion's novel fMSE is {novel['idih_fusion'] / novel['idih_upper']:.2f}x the upper "
                     "bound's (the paper: 1.42x).")
    if "idih_rendered" in novel:
        parts.append(f"Trained on renders only, iDIH changes the novel composite's fMSE by "
                     f"{change(by['idih_rendered'], comp, 'novel'):+.1f}% (the paper's Table 1: +18.1%).")
    worst = max((change(by[m.name], comp, side), m.label, side) for m in cfg.methods for side in ("novel", "base"))
    best = min((change(by[m.name], comp, side), m.label, side) for m in cfg.methods for side in ("novel", "base"))
    parts.append(f"Every model changes the composite's fMSE by between {best[0]:+.1f}% ({best[1]}, {best[2]}) and "
                 f"{worst[0]:+.1f}% ({worst[1]}, {worst[2]}).")
    parts.append("One seed on a small test set: differences of a few percent between methods are within the spread "
                 "that `python bench/reality_gap.py` measures over seeds.")
    return " ".join(parts)


def curves(cfg: DemoConfig, paths: Layout) -> None:
    from harmonize.curves import plot_runs

    runs = {}
    for m in cfg.methods:
        names = m.run_names()
        for i, run in enumerate(names):
            label = m.label if len(names) == 1 else f"{m.label}: stage {i + 1} ({m.stages[i].filter})"
            runs[label] = paths.runs / run / "log.jsonl"
    plot_runs(runs, paths.curves, title=f"rdh demo: learning curves (fMSE, 0-255), novel = {cfg.novel_category}")


def pick_examples(cfg: DemoConfig, paths: Layout, manifest, per_group: int = 3):
    """Test pairs for the grid, per group (novel, base): the composites at the 90th, 70th and 50th
    percentile of fMSE, one pair per target photo."""
    import pandas as pd

    df = pd.read_csv(paths.per_image(cfg.methods[0].name))
    targets = manifest[["pair_id", "target_path"]]
    df = df.merge(targets, on="pair_id").sort_values(["composite_fmse", "pair_id"]).drop_duplicates("target_path")
    picks = []
    for flag in (True, False):
        group = df[df["novel"] == flag].reset_index(drop=True)
        quantiles = (0.9, 0.7, 0.5, 0.3, 0.1)[:max(per_group, 1)]
        at = sorted({round(q * (len(group) - 1)) for q in quantiles}, reverse=True) if len(group) else []
        picks.append(group.iloc[at])
    picks = pd.concat(picks)
    return picks["pair_id"].tolist(), dict(zip(picks["pair_id"], picks["novel"].astype(bool)))


def write_grid(cfg: DemoConfig, paths: Layout, manifest) -> None:
    """composite | every model | target, one row per pair, titled, with the stand-in notice."""
    import cv2
    import numpy as np

    from rdhcore.imageio import read_gray, read_rgb, write_image
    from manifests.schema import resolve_paths

    pair_ids, novel = pick_examples(cfg, paths, manifest)
    df = resolve_paths(manifest, paths.manifest).set_index("pair_id")
    cell, label_w = 128, 60
    titles = ["composite", *[m.name.removeprefix("idih_") for m in cfg.methods], "target"]
    rows = []
    for pid in pair_ids:
        row = df.loc[pid]
        mask = read_gray(row["mask_path"]) > 127
        images = [read_rgb(row["composite_path"]),
                  *[read_rgb(paths.outputs / m.name / f"{pid}.png") for m in cfg.methods], read_rgb(row["target_path"])]
        big_mask = cv2.resize(mask.astype(np.uint8), (cell, cell), interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(big_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cells = []
        for img in images:
            big = np.ascontiguousarray(cv2.resize(img, (cell, cell), interpolation=cv2.INTER_NEAREST))
            cv2.drawContours(big, contours, -1, (255, 0, 0), 1)   # the foreground, outlined in red
            cells.append(np.pad(big, ((2, 2), (2, 2), (0, 0)), constant_values=255))
        label = np.full((cell + 4, label_w, 3), 255, np.uint8)
        cv2.putText(label, "novel" if novel[pid] else "base", (4, cell // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1)
        rows.append(np.concatenate([label, *cells], axis=1))
    body = np.concatenate(rows, axis=0)
    header = np.full((26, body.shape[1], 3), 255, np.uint8)
    for i, title in enumerate(titles):
        cv2.putText(header, title[:16], (label_w + i * (cell + 4) + 4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1)
    footer = np.full((40, body.shape[1], 3), 255, np.uint8)
    cv2.putText(footer, "test pairs of the STAND-IN real domain (renders + photographic look), not real photos",
                (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (180, 0, 0), 1)
    cv2.putText(footer, f"foreground outlined in red; novel = {cfg.novel_category} (seen only as renders in training)",
                (6, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    write_image(paths.grid, np.concatenate([header, body, footer], axis=0))


def stand_in_text(cfg: DemoConfig) -> str:
    """The report's paragraph on what the stand-in real domain is, at the demo's gap level."""
    if cfg.gap == 0:
        return ("rendered images passed through a photographic look (white balance and exposure error, tone curve, "
                "saturation, lens softness, vignetting, sensor noise, JPEG), one look per scene. Its composites paste "
                "the foreground of the scene's photo under one light onto its photo under another (Hday2night's "
                "process): the renders' own task with a photographic look (gap level 0)")
    camera = (" developed per photo through a camera pipeline (auto exposure and white balance, highlight clipping, "
              "demosaicing, chroma noise) and") if cfg.gap >= 2 else ""
    scenes = ("rendered images of scenes from a second generator that the rendered domain never uses (warped meshes, "
              "patterned materials, cluttered backgrounds, a continuous sun and sky),") if cfg.gap >= 3 else "rendered images"
    return (scenes + camera + " passed through a photographic look (white balance and exposure error, tone "
            "curve, saturation, lens softness, vignetting, sensor noise, JPEG). Its composites are made the way "
            "iHarmony4's were, in its proportions: colour transfer toward another instance of the same category "
            "(HCOCO-like, HFlickr-like) and the foreground of one expert retouch on another (HAdobe5k-like), on the "
            f"clean developed image before noise and JPEG (gap level {cfg.gap})")


def data_counts(manifest) -> dict[str, int]:
    counts = manifest.groupby(["domain", "split", "novel"]).size()

    def count(domain, split, novel):
        return int(counts.get((domain, split, novel), 0))

    return {"n_rd": count("rendered", "train", True), "n_rl_b": count("real", "train", False),
            "n_rl_val": count("real", "val", False), "n_te_b": count("real", "test", False),
            "n_te_n": count("real", "test", True), "n_rl_n": count("real", "train", True)}


def method_line(cfg: DemoConfig, m: Method) -> str:
    filters = " then ".join(f"`{s.filter}`" for s in m.stages)
    return f"| {m.label} | {m.data} | {filters} |"


def write_report(cfg: DemoConfig, paths: Layout, times: dict[str, float]) -> None:
    """summary.json first (the numbers), then the figures and report.md, which are made from it."""
    from manifests.schema import read_manifest

    rows = summary_rows(cfg, paths)
    write_summary(cfg, paths, rows)
    manifest = read_manifest(paths.manifest)   # read once for the grid and the counts
    write_grid(cfg, paths, manifest)
    curves(cfg, paths)
    first = json.loads(paths.result(cfg.methods[0].name).read_text())
    s = cfg.size
    counts = data_counts(manifest)
    values = dict(
        quick_title=" (--quick)" if s.quick else "", stand_in=stand_in_text(cfg), novel=cfg.novel_category,
        novel_upper_scenes=s.novel_upper_scenes, base=", ".join(cfg.base_categories),
        table=markdown_table(cfg, rows), reading=reading(cfg, rows), novel_count=rows[0]["novel"]["count"],
        base_count=rows[0]["base"]["count"], protocol=first["protocol_text"], steps=s.steps, size=s.image_size,
        depth=s.depth, width=s.width, unshared=s.unshared, batch=s.batch_size, seed=cfg.seed, lr=f"{s.lr:g}", warmup=s.warmup_steps,
        val_count=counts["n_rl_val"], resolution=s.resolution, spp=s.spp, styles=", ".join(map(str, s.styles)),
        novel_train_scenes=s.novel_train_scenes, novel_test_scenes=s.novel_test_scenes, base_scenes=s.base_scenes,
        method_lines="\n".join(method_line(cfg, m) for m in cfg.methods),
        stage_lines="\n".join(f"| {name} | {sec:.1f} s |" for name, sec in times.items()),
        manifest=paths.manifest, **counts)
    write_text_atomic(paths.report, Template(TEMPLATE.read_text()).substitute(values))


def print_rows(cfg: DemoConfig, rows: list[dict]) -> list[list[str]]:
    """The table as text cells (method, then novel/base MSE, fMSE, PSNR), for the command's console."""
    names = labels(cfg)
    return [[names[r["method"]], *(f"{r[side][k]:.2f}" for side in ("novel", "base") for k in ("mse", "fmse", "psnr"))]
            for r in rows]
