"""The shape docs/design.md promises, checked on the source with `ast`: which package may import
which, no import cycle hidden in a function, short functions and short command modules."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rdhcore", "unity_bridge", "datagen", "manifests", "harmonize", "reality_gap", "rdh")
# docs/design.md's table: what each package may import besides itself (rdhcore is everyone's leaf).
ALLOWED = {
    "rdhcore": set(),
    "unity_bridge": {"rdhcore"},
    "datagen": {"rdhcore", "unity_bridge", "manifests"},
    "manifests": {"rdhcore"},
    "harmonize": {"rdhcore", "manifests"},
    "reality_gap": {"rdhcore", "datagen", "manifests", "harmonize"},
    "rdh": set(PACKAGES) - {"rdh"},
}
MAX_FUNCTION_LINES = 80
MAX_COMMAND_MODULE_LINES = 150


def modules() -> dict[str, Path]:
    """Every project module by dotted name (packages by their own name)."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = modules()


def targets(node: ast.AST, here: str) -> list[str]:
    """Project modules an import statement names (a package's __init__ only when it is named itself)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            base = ".".join(here.split(".")[: -node.level] + ([base] if base else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return [name for name in names if name in MODULES]


def imports(path: Path, name: str) -> tuple[set[str], list[tuple[int, str]]]:
    """(modules imported at module level, [(line, module)] imported inside functions)."""
    tree = ast.parse(path.read_text())
    top, inner = set(), []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for t in targets(child, name if path.name != "__init__.py" else name + ".x"):
                    if t != name:
                        (inner.append((child.lineno, t)) if in_function else top.add(t))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return top, inner


GRAPH = {name: imports(path, name) for name, path in MODULES.items()}


def reaches(start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m == goal:
            return True
        if m not in seen:
            seen.add(m)
            todo += GRAPH[m][0]
    return False


def test_packages_import_only_what_the_design_allows():
    bad = []
    for name, (top, inner) in GRAPH.items():
        pkg = name.split(".")[0]
        for target in top | {t for _, t in inner}:
            other = target.split(".")[0]
            if other != pkg and other not in ALLOWED[pkg]:
                bad.append(f"{name} imports {target}")
    assert not bad, "\n".join(bad)


def test_no_import_cycles_and_none_hidden_in_a_function():
    cycles = [f"{a} <-> {b}" for a, (top, _) in GRAPH.items() for b in top if a < b and reaches(b, a)]
    hidden = [f"{MODULES[a].relative_to(ROOT)}:{line} imports {t} inside a function, and {t} imports it back"
              for a, (_, inner) in GRAPH.items() for line, t in inner
              if not a.startswith(t + ".") and reaches(t, a)]
    assert not cycles and not hidden, "\n".join(cycles + hidden)


def function_lengths():
    for path in sorted({*MODULES.values(), *(ROOT / "bench").glob("*.py")}):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"


def test_every_function_is_under_80_lines():
    length, where = max(function_lengths())
    assert length < MAX_FUNCTION_LINES, f"{where} is {length} lines"


@pytest.mark.parametrize("path", sorted((ROOT / "rdh" / "commands").glob("*.py")), ids=lambda p: p.name)
def test_command_modules_are_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_COMMAND_MODULE_LINES, f"{path.name} has {lines} lines"


if __name__ == "__main__":  # python tests/test_code_shape.py: the numbers
    print("longest functions:", *sorted(function_lengths(), reverse=True)[:8], sep="\n  ")
    print("command modules:", *sorted((len(p.read_text().splitlines()), p.name)
                                      for p in (ROOT / "rdh" / "commands").glob("*.py")), sep="\n  ")
