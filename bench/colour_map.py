"""Is the stand-in real domain's task like iHarmony4's? Per domain and composite process, the share
of foreground error that a global colour map removes (reality_gap.colour_map), measured on the
demo's data before any training.

iHarmony4's composites are colour transfers (HCOCO, HFlickr) and expert retouches (HAdobe5k): a
global map removes nearly all of their error (over 99%). Relit renders keep a large share that no
global map removes (shading that moved). A stand-in close to iHarmony4 scores near 1; the
rendered domain stays far from it.

    python bench/colour_map.py                     # gap levels 0-3 of the full demo, seed 0
    python bench/colour_map.py --gaps 1 --seed 3 --limit 1000
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reality_gap.colour_map import removed_share  # noqa: E402
from reality_gap.layout import bench_folder  # noqa: E402
from reality_gap.presets import CATEGORIES, DemoConfig  # noqa: E402
from reality_gap.stages import prepare_data, share_renders  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gaps", default="0,1,2,3", help="stand-in gap levels, comma-separated (rdh demo --gap)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--novel-category", default="human", choices=CATEGORIES)
    ap.add_argument("--out", type=Path, default=Path("bench_runs/reality_gap"),
                    help="demo folders (shared with bench/reality_gap.py: its runs reuse these data)")
    ap.add_argument("--limit", type=int, default=400, help="pairs measured per domain and process")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()

    done = None
    for gap in [int(g) for g in args.gaps.split(",")]:
        cfg = DemoConfig(out=bench_folder(args.out, args.novel_category, gap, args.seed), seed=args.seed,
                         novel_category=args.novel_category, gap=gap, quick=args.quick)
        if done is not None:
            share_renders(done, cfg)
        paths = prepare_data(cfg)
        done = cfg.out
        table = removed_share(paths.manifest, group_by=("domain", "source"), limit=args.limit, seed=args.seed)
        print(f"\ngap {gap} ({cfg.out}): share of foreground error a global colour map removes")
        print(f"{'domain':<10}{'source':<22}{'pairs':>7}{'removed':>10}{'composite fMSE':>16}")
        for row in table.itertuples():
            print(f"{row.domain:<10}{row.source:<22}{row.pairs:>7}{100 * row.removed_share:>9.1f}%{row.composite_fmse:>16.1f}")


if __name__ == "__main__":
    main()
