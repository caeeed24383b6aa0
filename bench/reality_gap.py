"""Table 2 over several seeds: does the paper's ordering hold on the built-in engine's demo?

Runs (or resumes) `rdh demo` for each seed into OUT/seed<N>, then prints, per method, the mean and
spread over seeds of novel and base fMSE, and paired comparisons on the same test images (CharmNet
vs iDIH fusion, fusion vs base-only): the win rate (share of test images where the first has the
lower fMSE) and a bootstrap interval of the mean fMSE difference, resampling images within each
seed. Finally it says whether the paper's ordering, CharmNet < fusion < base-only in mean novel
fMSE, holds. A benchmark, not a test: it reports what it finds.

    python bench/reality_gap.py                      # 3 seeds, full demo (~5 min a seed on 2 cores)
    python bench/reality_gap.py --seeds 0 1 2 3 4 --novel-category cow
    python bench/reality_gap.py --quick --seeds 0 1  # a toy run of the machinery
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reality_gap.presets import CATEGORIES, DemoConfig  # noqa: E402
from reality_gap.stages import Layout, run_demo  # noqa: E402

PAIRS = (("charmnet", "idih_fusion"), ("idih_fusion", "idih_base"), ("charmnet", "charmnet_fixed_input"))


def per_image(paths: Layout, method: str) -> pd.DataFrame:
    df = pd.read_csv(paths.per_image(method), usecols=["pair_id", "novel", "fmse", "composite_fmse"])
    return df.set_index("pair_id")


def paired(frames: list[tuple[pd.DataFrame, pd.DataFrame]], novel: bool, draws: int, rng: np.random.Generator) -> dict:
    """Win rate of A over B and a 95% bootstrap interval of mean(fMSE_A - fMSE_B), images resampled per seed."""
    diffs = []
    for a, b in frames:
        a, b = a[a["novel"] == novel], b.loc[a[a["novel"] == novel].index]
        diffs.append((a["fmse"] - b["fmse"]).to_numpy())
    allv = np.concatenate(diffs)
    boots = np.empty(draws)
    for i in range(draws):
        boots[i] = np.concatenate([d[rng.integers(0, len(d), len(d))] for d in diffs]).mean()
    return {"images": int(allv.size), "win_rate": float((allv < 0).mean()), "ties": float((allv == 0).mean()),
            "mean_diff": float(allv.mean()), "ci95": [float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("bench_runs/reality_gap"), help="demo folders, one per seed")
    ap.add_argument("--novel-category", default="human", choices=CATEGORIES)
    ap.add_argument("--quick", action="store_true", help="the --quick preset (a smoke run of the benchmark)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--bootstrap", type=int, default=2000, help="bootstrap draws")
    ap.add_argument("--no-sa-ablation", action="store_true",
                    help="skip the extra CharmNet run with --sa-loss fixed-input (by default both SA losses are reported)")
    args = ap.parse_args()

    summaries, frames, seconds = {}, {}, {}
    for seed in args.seeds:
        cfg = DemoConfig(out=args.out / f"{args.novel_category}_seed{seed}", quick=args.quick, seed=seed,
                         novel_category=args.novel_category, device=args.device, steps=args.steps,
                         extra_methods=() if args.no_sa_ablation else ("charmnet_fixed_input",))
        paths = Layout(cfg.out, cfg.novel_category)
        start = time.perf_counter()
        run_demo(cfg)
        seconds[seed] = time.perf_counter() - start
        summaries[seed] = {r["method"]: r for r in json.loads(paths.summary.read_text())["rows"]}
        frames[seed] = {m.name: per_image(paths, m.name) for m in cfg.methods}
        print(f"seed {seed}: {seconds[seed]:.0f} s ({cfg.out})", flush=True)

    methods = list(summaries[args.seeds[0]])
    print(f"\nnovel = {args.novel_category}, {len(args.seeds)} seeds {args.seeds}; fMSE on the stand-in real test sets")
    print(f"{'method':<22}{'novel fMSE':>22}{'vs comp':>9}{'base fMSE':>22}{'vs comp':>9}")
    table = {}
    for m in methods:
        row = {}
        for side in ("novel", "base"):
            v = np.array([summaries[s][m][side]["fmse"] for s in args.seeds])
            rel = np.array([100 * (summaries[s][m][side]["fmse"] / summaries[s]["composite"][side]["fmse"] - 1)
                            for s in args.seeds])
            row[side] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                         "per_seed": v.tolist(), "change_pct_mean": float(rel.mean())}
        table[m] = row
        cells = "".join(f"{row[s]['mean']:>12.1f} ± {row[s]['std']:<7.1f}{row[s]['change_pct_mean']:>+8.1f}%"
                        for s in ("novel", "base"))
        print(f"{m:<22}{cells}")

    rng = np.random.default_rng(0)
    comparisons = {}
    print("\npaired, same test images (A - B; negative = A better):")
    for a, b in PAIRS:
        if a not in methods or b not in methods:
            continue
        for side, flag in (("novel", True), ("base", False)):
            res = paired([(frames[s][a], frames[s][b]) for s in args.seeds], flag, args.bootstrap, rng)
            comparisons[f"{a} vs {b} ({side})"] = res
            print(f"  {a} vs {b:<12} {side:<5}: win rate {100 * res['win_rate']:5.1f}% of {res['images']} images, "
                  f"mean diff {res['mean_diff']:+8.1f}, 95% CI [{res['ci95'][0]:+.1f}, {res['ci95'][1]:+.1f}]")

    mean = {m: table[m]["novel"]["mean"] for m in methods}
    holds = mean["charmnet"] < mean["idih_fusion"] < mean["idih_base"]
    win = comparisons["charmnet vs idih_fusion (novel)"]["win_rate"]
    print(f"\npaper's ordering CharmNet < fusion < base-only in mean novel fMSE: {'HOLDS' if holds else 'DOES NOT HOLD'} "
          f"({mean['charmnet']:.1f} / {mean['idih_fusion']:.1f} / {mean['idih_base']:.1f}); "
          f"CharmNet's paired win rate over fusion on novel images: {100 * win:.1f}% (target > 50%)")
    result = {"novel_category": args.novel_category, "seeds": args.seeds, "quick": args.quick, "table": table,
              "paired": comparisons, "ordering_holds": holds, "seconds_per_seed": seconds}
    (args.out / f"{args.novel_category}_summary.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
