"""`rdh demo --quick`: the whole chain on the built-in renderer, as CI runs it."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from datagen.imageio import read_rgb
from manifests.schema import read_manifest




def table_numbers(report: str) -> dict[str, list[float]]:
    """method -> the six numbers of its row in report.md's result table."""
    rows = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and re.fullmatch(r"-?\d+\.\d+", cells[2]):
            rows[cells[0]] = [float(c) for c in cells[2:]]
    return rows


def test_demo_quick_end_to_end_and_resume(tmp_path, rdh):
    out = tmp_path / "demo"
    code, stdout, err = rdh("demo", "--quick", "--out", out)
    assert code == 0, err
    assert "STAND-IN" in err and "CharmNet" in stdout

    report = (out / "report.md").read_text()
    assert "STAND-IN, not real photographs" in report
    rows = table_numbers(report)
    assert set(rows) == {"Input composite", "iDIH (dataset fusion)", "CharmNet"}
    for method, values in rows.items():
        mse_n, fmse_n, psnr_n, mse_b, fmse_b, psnr_b = values
        assert 0 < mse_n <= fmse_n and 0 < mse_b <= fmse_b, method       # fMSE: error over the foreground only
        assert 10 < psnr_n < 110 and 10 < psnr_b < 110, method

    # the table is the evaluation's numbers, and the composite row is each model's composite columns
    result = json.loads((out / "results" / "charmnet.json").read_text())
    novel = next(g for g in result["groups"] if g["group"] == "novel" and g["value"] is True)
    assert rows["CharmNet"][:3] == pytest.approx([round(novel[m], 2) for m in ("mse", "fmse", "psnr")], abs=0.006)
    assert rows["Input composite"][1] == pytest.approx(round(novel["composite_fmse"], 2), abs=0.006)
    assert result["filter"] == "domain=real" and result["checkpoint"].endswith("last.pt")

    df = read_manifest(out / "manifest.parquet")
    real = df[df["domain"] == "real"]
    assert real["stand_in"].all() and (real["source"] == "standin-photo-look").all()
    assert set(df.loc[df["domain"] == "rendered", "category"]) == {"human"}
    assert set(df.loc[df["domain"] == "rendered", "split"]) == {"train"}
    assert set(real.loc[real["novel"], "split"]) == {"test"}                       # human: only as renders in training
    assert {"train", "test"} <= set(real.loc[~real["novel"], "split"])
    assert novel["count"] == int(real["novel"].sum())

    grid = read_rgb(out / "grid.png")
    assert grid.shape[1] > 4 * 160 and grid.shape[0] > 2 * 160
    assert (out / "pairs" / "standin_real_base" / "STAND_IN.txt").exists()

    # a rerun finds every stage done: nothing is retrained or re-rendered
    stamps = {p: p.stat().st_mtime_ns for p in [*out.glob("runs/*/last.pt"), *out.glob("captures/*/scenes/*/scene.json")]}
    code, _, err = rdh("demo", "--quick", "--out", out)
    assert code == 0, err
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert table_numbers((out / "report.md").read_text()) == rows

    code, _, err = rdh("demo", "--quick", "--steps", "3", "--out", out)
    lines = [l for l in err.splitlines() if l.strip() and "error" in l]
    assert code == 2 and len(lines) == 1 and "other options" in lines[0], err
