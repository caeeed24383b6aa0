"""What the demo renders and trains: two presets, and the methods (rows) of the paper's Table 2."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from datagen.render_config import CATEGORIES
from datagen.standin import GAP_LEVELS, SECOND_GENERATOR_GAP
from rdhcore.options import opt


@dataclass(frozen=True)
class DemoSize:
    """How much the demo renders and trains."""

    resolution: int             # render size (square) = training size: no pixels rendered to be thrown away
    spp: int                    # samples per pixel
    styles: tuple[int, ...]     # styles rendered for every scene; all ordered pairs of them become composites
    novel_train_scenes: int     # novel-category scenes -> rendered training pairs
    novel_test_scenes: int      # other novel-category scenes -> stand-in real test pairs (novel)
    novel_upper_scenes: int     # further novel-category scenes -> stand-in real novel training pairs (upper bound only),
                                # never rendered for the rendered domain
    base_scenes: int            # base-category scenes -> stand-in real pairs (base): train, val and test
    base_test_fraction: float
    base_val_fraction: float    # validation scenes (split=val): every model validates on the same rows
    steps: int                  # training steps, the same for every model (two-stage: split between its stages)
    depth: int
    width: int
    unshared: int               # CharmNet's domain-specific levels: f_in at 16x16 and 3 shared levels, as the paper's 7/4 at 256
    batch_size: int             # per domain for CharmNet
    lr: float                   # peak learning rate of the demo's schedule (linear warm-up, cosine decay)
    warmup_steps: int
    quick: bool = False         # the CI-sized run: fewer rows of Table 2

    @property
    def image_size(self) -> int:
        return self.resolution


# The demo's recipe, not the paper's: a short budget on a CPU needs a warm-up + cosine schedule,
# a higher peak rate and a blending head that starts at the identity (docs/training.md). 8 spp, not
# the 24 of render-scenes at 64 px: the demo's time budget, and its benchmarks (docs/scale.md).
FULL = DemoSize(resolution=64, spp=8, styles=(1, 2, 6, 8, 10), novel_train_scenes=40, novel_test_scenes=16,
                novel_upper_scenes=40, base_scenes=80, base_test_fraction=0.25, base_val_fraction=0.1, steps=1000, depth=5, width=32,
                unshared=2, batch_size=8, lr=5e-4, warmup_steps=50)
QUICK = DemoSize(resolution=64, spp=4, styles=(2, 8, 10), novel_train_scenes=4, novel_test_scenes=3,
                 novel_upper_scenes=3, base_scenes=10,
                 base_test_fraction=0.3, base_val_fraction=0.2, steps=60, depth=5, width=16, unshared=2, batch_size=4, lr=5e-4,
                 warmup_steps=10, quick=True)


# The stand-in real domain (datagen.photo_look for 0, datagen.standin for 1 and 2)
GAP_NAMES = {0: "relit composites (the renders' own task with a photographic look)", **GAP_LEVELS}
DEFAULT_GAP = 0   # no level >= 1 meets the calibration target at the demo's budget (docs/training.md)


@dataclass(frozen=True)
class Stage:
    filter: str                 # rows trained on (harmonize.data --filter syntax: ';' = or, ',' = and)
    share: float = 1.0          # share of the method's steps


@dataclass(frozen=True)
class Method:
    """One row of Table 2: a model trained on some rows, in one or more stages (each starts from the last)."""

    name: str                   # the summary.json method name
    label: str                  # the report's row title
    model: str                  # idih | charmnet
    stages: tuple[Stage, ...]
    data: str                   # what it trains on, in words
    quick: bool                 # kept by --quick
    options: tuple[tuple[str, object], ...] = ()   # TrainConfig settings of this row (e.g. an ablation)
    extra: bool = False         # not a Table 2 row: only when asked for (bench/reality_gap.py)

    def run_names(self) -> list[str]:
        return [self.name] if len(self.stages) == 1 else [f"{self.name}_{i + 1}" for i in range(len(self.stages))]


RENDERED = "domain=rendered"
BASE_REAL = "domain=real,novel=false"
METHODS = (
    Method("idih_base", "iDIH, base real only", "idih", (Stage(BASE_REAL),),
           "real base", quick=True),
    Method("idih_fusion", "iDIH, dataset fusion", "idih", (Stage(f"{RENDERED};{BASE_REAL}"),),
           "rendered novel + real base, pooled", quick=True),
    Method("idih_two_stage", "iDIH, two-stage", "idih", (Stage(RENDERED, 0.5), Stage(BASE_REAL, 0.5)),
           "rendered novel, then real base", quick=False),
    Method("charmnet", "CharmNet", "charmnet", (Stage(f"{RENDERED};{BASE_REAL}"),),
           "rendered novel + real base, two domains", quick=True),
    Method("idih_upper", "iDIH + real novel (upper bound)", "idih", (Stage("domain=real"),),
           "real base + real novel (scenes of its own)", quick=False),
    # Table 1, column 4: rendered novel pairs only (the reality gap on its own)
    Method("idih_rendered", "iDIH, rendered novel only", "idih", (Stage(RENDERED),),
           "rendered novel", quick=False),
    # CharmNet with P_in fixed in eq. 4-5 and a per-image hinge (the ablation of --sa-loss)
    Method("charmnet_fixed_input", "CharmNet, SA loss fixed-input", "charmnet", (Stage(f"{RENDERED};{BASE_REAL}"),),
           "rendered novel + real base, two domains", quick=False, options=(("sa_loss", "fixed-input"),), extra=True),
)


def stage_steps(method: Method, steps: int) -> list[int]:
    """Steps of each stage of `method`, adding up to `steps`."""
    counts = [max(1, round(steps * s.share)) for s in method.stages]
    counts[-1] = max(1, steps - sum(counts[:-1]))
    return counts


@dataclass
class DemoConfig:
    """Options of `rdh demo`."""

    out: Path = opt(Path("demo"), "Folder for everything the demo makes.")
    quick: bool = opt(False, "A toy-sized run for CI (under 2 minutes on 2 CPU cores): composite, base-only, fusion "
                             "and CharmNet rows.")
    seed: int = opt(0, "Seed for scenes, stand-in photos, splits and weights.")
    novel_category: str = opt("human", f"The category seen only as renders: {', '.join(CATEGORIES)}.")
    device: str = opt("auto", "Training device: auto, cpu or cuda.")
    workers: int = opt(2, "Render worker processes.")
    steps: int | None = opt(None, f"Training steps per model (default: {FULL.steps}, or {QUICK.steps} with --quick).")
    gap: int = opt(DEFAULT_GAP, "The stand-in real domain, by how far it is from the renders: "
                                + "; ".join(f"{k} = {v}" for k, v in GAP_NAMES.items()) + ".")
    extra_methods: tuple[str, ...] = ()   # names of extra (non-Table 2) methods to run too
    only: tuple[str, ...] | None = None   # run only these methods (bench/reality_gap.py --idih-only calibrates the gap)
    size: DemoSize = field(default=FULL)

    def __post_init__(self):
        if self.quick and self.size == FULL:
            self.size = QUICK
        if self.steps is not None:
            self.size = replace(self.size, steps=self.steps)

    @property
    def standin_generator(self) -> str:
        """The scene generator of the stand-in's scenes: the second one from gap 3 on (datagen.builtin.second)."""
        return "second" if self.gap >= SECOND_GENERATOR_GAP else "main"

    @property
    def base_categories(self) -> tuple[str, ...]:
        return tuple(c for c in CATEGORIES if c != self.novel_category)

    @property
    def methods(self) -> tuple[Method, ...]:
        return tuple(m for m in METHODS if (m.quick or not self.size.quick) and (not m.extra or m.name in self.extra_methods)
                     and (self.only is None or m.name in self.only))
