"""The code blocks a documentation page marks as tested: `<!-- tested: NAME (...) -->` on the line
before a fenced block. `doc_block("docs/unity.md", "hello reply")` returns the block's text, so a
test can hold the page to what the code does."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def doc_block(page: str, name: str) -> str:
    text = (ROOT / page).read_text()
    m = re.search(rf"<!-- tested: {re.escape(name)}[ (][^\n]*-->\n\s*```\w*\n(.*?)\n\s*```", text, re.S)
    if m is None:
        raise AssertionError(f"{page} has no block marked '<!-- tested: {name} ... -->'")
    return m.group(1)
