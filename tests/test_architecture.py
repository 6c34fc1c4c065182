"""The package's layers depend one way: every import, at module or function level, points down.

Layer order (docs/architecture.md): core ← data ← model ← inference ← runs ← analysis ← decide
← surfaces (report, plots) ← api ← cli. An import of a higher layer, or any import cycle between
modules, fails here with the offending file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bayes_mmm"
LAYERS = ("core", "data", "model", "inference", "runs", "analysis", "decide", "surfaces", "api", "cli")
#: Modules that sit apart from their folder's layer: the CLI is above the API it calls.
SPECIAL = {"bayes_mmm.api": "api", "bayes_mmm.surfaces.cli": "cli", "bayes_mmm.__main__": "cli", "bayes_mmm": "core"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> int:
    if module in SPECIAL:
        return LAYERS.index(SPECIAL[module])
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        raise AssertionError(f"{module} lies outside every layer folder")
    return LAYERS.index(parts[1])


def imports_of(path: Path, known: set[str]) -> list[tuple[str, int]]:
    """``bayes_mmm`` modules imported anywhere in ``path`` (with line numbers)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.startswith("bayes_mmm")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bayes_mmm"):
            for a in node.names:  # `from bayes_mmm.core import atomic` imports a module
                sub = f"{node.module}.{a.name}"
                out.append((sub if sub in known else node.module, node.lineno))
    return out


def graph() -> dict[str, list[tuple[str, int]]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: imports_of(p, set(files)) for m, p in files.items()}


def test_every_import_points_down_the_layers() -> None:
    bad = [
        f"{m} (layer {LAYERS[layer_of(m)]}) imports {target} (layer {LAYERS[layer_of(target)]}) at line {line}"
        for m, targets in graph().items()
        for target, line in targets
        if layer_of(target) > layer_of(m)
    ]
    assert not bad, "\n".join(bad)


def test_no_import_cycle() -> None:
    edges = {m: {t for t, _ in ts if t != m} for m, ts in graph().items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                pytest.fail("import cycle: " + " → ".join([*path[path.index(t) :], t]) if t in path else t)
            if t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk finds function-level imports, so a hidden upward import cannot slip through."""
    src = tmp_path / "x.py"
    src.write_text("def f():\n    from bayes_mmm.decide.allocate import allocate_run\n")
    assert imports_of(src, {"bayes_mmm.decide.allocate"}) == [("bayes_mmm.decide.allocate", 2)]
    assert layer_of("bayes_mmm.decide.allocate") > layer_of("bayes_mmm.model.response")
