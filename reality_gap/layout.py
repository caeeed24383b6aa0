"""Where each stage of the demo writes, under OUT (shared by the stages and the report)."""
from __future__ import annotations

from pathlib import Path


def bench_folder(root: Path, category: str, gap: int | str, seed: int) -> Path:
    """The demo folder of one (novel category, gap level, seed) under a benchmark's root: the one name
    bench/reality_gap.py and bench/colour_map.py share, so each reuses the other's data (gap "*": a glob)."""
    return Path(root) / f"{category}_gap{gap}_seed{seed}"


class Layout:
    """Where each stage writes, under OUT."""

    def __init__(self, root: Path, novel: str = "human", second_generator: bool = False):
        self.root = Path(root)
        self.captures_novel_train = self.root / "captures" / f"{novel}_rendered"
        # the stand-in's scenes; from gap 3 on rendered by the second generator, into folders of their own
        standin = self.root / "captures" / "second" if second_generator else self.root / "captures"
        self.captures_novel_test = standin / f"{novel}_test"
        self.captures_novel_upper = standin / f"{novel}_upper"   # the upper bound's own scenes
        self.captures_base = standin / "base"
        self.pairs_rendered = self.root / "pairs" / f"rendered_{novel}"
        self.pairs_real_base = self.root / "pairs" / "standin_real_base"
        self.pairs_real_novel_test = self.root / "pairs" / f"standin_real_{novel}_test"
        self.pairs_real_novel_train = self.root / "pairs" / f"standin_real_{novel}_train"
        self.manifest = self.root / "manifest.parquet"
        self.runs = self.root / "runs"
        self.outputs = self.root / "outputs"
        self.results = self.root / "results"
        self.report = self.root / "report.md"
        self.summary = self.root / "summary.json"
        self.grid = self.root / "grid.png"
        self.curves = self.root / "curves.png"
        self.options = self.root / ".rdh-demo.json"

    def result(self, method: str) -> Path:
        return self.results / f"{method}.json"

    def per_image(self, method: str) -> Path:
        return self.results / f"{method}_per_image.csv"
