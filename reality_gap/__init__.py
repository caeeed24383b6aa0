"""The paper's Table 2 on the built-in engine: `rdh demo` and `bench/reality_gap.py`.

presets.py   how much is rendered and trained (full, quick), and the six methods of Table 2
stages.py    render -> composites -> stand-in real domain -> manifest -> train -> evaluate (resumable)
report.py    report.md (from report_template.md), summary.json (rdh.demo/1), grid.png, curves.png
"""
from reality_gap.presets import DemoConfig, DemoSize, FULL, METHODS, QUICK  # noqa: F401
from reality_gap.stages import Layout, run_demo  # noqa: F401
