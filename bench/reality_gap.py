"""Table 2 over several seeds and stand-in gap levels: is there a reality gap to bridge, and does
the paper's ordering hold on the built-in engine's demo?

Runs (or resumes) `rdh demo` for each gap level and seed into OUT/<category>_gap<G>_seed<N> (the
renders of one seed are shared between gap levels through hard links), then prints per gap level:
per method, the mean and spread over seeds of novel and base fMSE; the gap's calibration figures
(fusion / upper bound and fusion against base-only in novel fMSE, mean of the per-seed ratios);
and paired comparisons on the same test images (CharmNet vs iDIH fusion, fusion vs base-only):
the win rate (share of test images where the first has the lower fMSE) and a bootstrap interval
of the mean fMSE difference, resampling images within each seed. A benchmark, not a test: it
reports what it finds.

    python bench/reality_gap.py                           # the demo's gap, 3 seeds (~6 min a seed on 2 idle cores)
    python bench/reality_gap.py --gaps 0,1,2,3 --idih-only  # calibrate the gap with the iDIH rows only
    python bench/reality_gap.py --seeds 0 1 2 3 4 --novel-category cow
    python bench/reality_gap.py --quick --seeds 0 1       # a toy run of the machinery
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

from reality_gap.presets import CATEGORIES, DEFAULT_GAP, DemoConfig  # noqa: E402
from reality_gap.layout import Layout, bench_folder  # noqa: E402
from reality_gap.stages import layout_of, run_demo, share_renders  # noqa: E402

PAIRS = (("charmnet", "idih_fusion"), ("idih_fusion", "idih_base"), ("idih_fusion", "idih_upper"),
         ("charmnet", "charmnet_fixed_input"))
IDIH_ROWS = ("idih_base", "idih_fusion", "idih_upper", "idih_rendered")   # the gap's calibration rows


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


def reuse_renders(out: Path, cfg: DemoConfig) -> None:
    """The renders of this seed, hard-linked from another gap level's folder with finished data (the same renders)."""
    for other in sorted(out.glob(bench_folder(out, cfg.novel_category, "*", cfg.seed).name)):
        if other != cfg.out and (other / "manifest.parquet").exists() and share_renders(other, cfg):
            return


def run_seeds(args, gap: int) -> tuple[dict, dict, dict, list]:
    summaries, frames, seconds = {}, {}, {}
    for seed in args.seeds:
        cfg = DemoConfig(out=bench_folder(args.out, args.novel_category, gap, seed), quick=args.quick, seed=seed,
                         novel_category=args.novel_category, device=args.device, steps=args.steps, gap=gap,
                         extra_methods=() if args.no_sa_ablation else ("charmnet_fixed_input",),
                         only=IDIH_ROWS if args.idih_only else None)
        reuse_renders(args.out, cfg)
        paths = layout_of(cfg)
        start = time.perf_counter()
        run_demo(cfg)
        seconds[seed] = time.perf_counter() - start
        summaries[seed] = {r["method"]: r for r in json.loads(paths.summary.read_text())["rows"]}
        frames[seed] = {m.name: per_image(paths, m.name) for m in cfg.methods}
        print(f"gap {gap}, seed {seed}: {seconds[seed]:.0f} s ({cfg.out})", flush=True)
    return summaries, frames, seconds, [m.name for m in cfg.methods]


def method_table(args, summaries: dict, methods: list[str]) -> dict:
    print(f"{'method':<22}{'novel fMSE':>22}{'vs comp':>9}{'base fMSE':>22}{'vs comp':>9}")
    table = {}
    for m in ["composite", *methods]:
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
    return table


def calibration(args, summaries: dict, methods: list[str]) -> dict:
    """fusion / upper bound and fusion vs base-only in novel fMSE, per seed and their means (issue 20's target:
    fusion >= 1.25x the upper bound and >= 5% below base-only)."""
    def novel(seed, m):
        return summaries[seed][m]["novel"]["fmse"]

    out = {}
    if {"idih_fusion", "idih_upper"} <= set(methods):
        ratios = [novel(s, "idih_fusion") / novel(s, "idih_upper") for s in args.seeds]
        out["fusion_over_upper"] = {"per_seed": ratios, "mean": float(np.mean(ratios))}
    if {"idih_fusion", "idih_base"} <= set(methods):
        below = [100 * (1 - novel(s, "idih_fusion") / novel(s, "idih_base")) for s in args.seeds]
        out["fusion_below_base_pct"] = {"per_seed": below, "mean": float(np.mean(below))}
    if "fusion_over_upper" in out and "fusion_below_base_pct" in out:
        out["meets_target"] = out["fusion_over_upper"]["mean"] >= 1.25 and out["fusion_below_base_pct"]["mean"] >= 5
        print(f"calibration: fusion / upper bound {out['fusion_over_upper']['mean']:.2f}x "
              f"(per seed {', '.join(f'{r:.2f}' for r in out['fusion_over_upper']['per_seed'])}; target >= 1.25, "
              f"paper 1.42); fusion below base-only {out['fusion_below_base_pct']['mean']:+.1f}% (per seed "
              f"{', '.join(f'{r:+.1f}' for r in out['fusion_below_base_pct']['per_seed'])}; target >= 5, paper 12): "
              f"{'MEETS' if out['meets_target'] else 'MISSES'} the target")
    return out


def comparisons(args, frames: dict, methods: list[str]) -> dict:
    rng = np.random.default_rng(0)
    result = {}
    print("paired, same test images (A - B; negative = A better):")
    for a, b in PAIRS:
        if a not in methods or b not in methods:
            continue
        for side, flag in (("novel", True), ("base", False)):
            res = paired([(frames[s][a], frames[s][b]) for s in args.seeds], flag, args.bootstrap, rng)
            result[f"{a} vs {b} ({side})"] = res
            print(f"  {a} vs {b:<12} {side:<5}: win rate {100 * res['win_rate']:5.1f}% of {res['images']} images, "
                  f"mean diff {res['mean_diff']:+8.1f}, 95% CI [{res['ci95'][0]:+.1f}, {res['ci95'][1]:+.1f}]")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--gaps", default=str(DEFAULT_GAP), help="stand-in gap levels, comma-separated (rdh demo --gap)")
    ap.add_argument("--idih-only", action="store_true",
                    help="only the iDIH rows (base-only, fusion, upper bound, rendered-only): the gap's calibration")
    ap.add_argument("--out", type=Path, default=Path("bench_runs/reality_gap"), help="demo folders, one per gap and seed")
    ap.add_argument("--novel-category", default="human", choices=CATEGORIES)
    ap.add_argument("--quick", action="store_true", help="the --quick preset (a smoke run of the benchmark)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--bootstrap", type=int, default=2000, help="bootstrap draws")
    ap.add_argument("--no-sa-ablation", action="store_true",
                    help="skip the extra CharmNet run with --sa-loss fixed-input (by default both SA losses are reported)")
    args = ap.parse_args()
    gaps = [int(g) for g in args.gaps.split(",")]

    results = {}
    for gap in gaps:
        summaries, frames, seconds, methods = run_seeds(args, gap)
        print(f"\ngap {gap}: novel = {args.novel_category}, {len(args.seeds)} seeds {args.seeds}; "
              "fMSE on the stand-in real test sets")
        table = method_table(args, summaries, methods)
        calib = calibration(args, summaries, methods)
        paired_results = comparisons(args, frames, methods)
        result = {"gap": gap, "table": table, "calibration": calib, "paired": paired_results,
                  "seconds_per_seed": seconds}
        if {"charmnet", "idih_fusion", "idih_base"} <= set(methods):
            mean = {m: table[m]["novel"]["mean"] for m in methods}
            result["ordering_holds"] = mean["charmnet"] < mean["idih_fusion"] < mean["idih_base"]
            win = paired_results["charmnet vs idih_fusion (novel)"]
            print(f"paper's ordering CharmNet < fusion < base-only in mean novel fMSE: "
                  f"{'HOLDS' if result['ordering_holds'] else 'DOES NOT HOLD'} ({mean['charmnet']:.1f} / "
                  f"{mean['idih_fusion']:.1f} / {mean['idih_base']:.1f}); CharmNet's paired win rate over fusion on "
                  f"novel images: {100 * win['win_rate']:.1f}%, mean diff 95% CI [{win['ci95'][0]:+.1f}, {win['ci95'][1]:+.1f}]")
        results[gap] = result

    print(f"\nby gap level (novel = {args.novel_category}, seeds {args.seeds}):")
    for gap, r in results.items():
        c, p = r["calibration"], r["paired"].get("charmnet vs idih_fusion (novel)")
        line = f"  gap {gap}: fusion / upper {c.get('fusion_over_upper', {}).get('mean', float('nan')):.2f}x, " \
               f"fusion below base-only {c.get('fusion_below_base_pct', {}).get('mean', float('nan')):+.1f}%"
        if p is not None:
            line += f", CharmNet beats fusion on {100 * p['win_rate']:.1f}% of novel images " \
                    f"(mean diff {p['mean_diff']:+.1f}, 95% CI [{p['ci95'][0]:+.1f}, {p['ci95'][1]:+.1f}])"
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"{args.novel_category}_gaps{'-'.join(map(str, gaps))}{'_idih' if args.idih_only else ''}_summary.json"
    (args.out / name).write_text(json.dumps({"novel_category": args.novel_category, "seeds": args.seeds,
                                             "quick": args.quick, "gaps": results}, indent=2))


if __name__ == "__main__":
    main()
