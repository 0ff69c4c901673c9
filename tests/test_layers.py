"""The layering of the package, read from its import statements (module level and inside
functions alike):

- only the stages, the pipeline and the entry-point modules read the config (omegaconf, Hydra)
  or the run folder;
- the algorithm packages (tracking, eval, detection, masks, io, synthetic, viz) import neither the
  models, the training data nor anything above them; models and data import nothing above them;
- no two modules import each other, directly or through others.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "remots"
ENTRY = {"remots.pipeline", "remots.cli", "remots.config", "remots.sweep"}
ALGORITHMS = ("tracking", "eval", "detection", "masks", "io", "synthetic", "viz")
ABOVE = ("remots.stages", "remots.pipeline", "remots.cli", "remots.config", "remots.sweep")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    out = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = (package or module_name(path)).split(".")
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_stages_and_entry_points_read_the_config_or_the_run_folder(module):
    if within(module, ("remots.stages", *ENTRY, "remots.io.run_folder")):
        return
    bad = sorted(
        name
        for name in MODULES[module]
        if within(name, ("omegaconf", "hydra", "remots.io.run_folder"))
    )
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_algorithm_packages_import_nothing_above_them(module):
    if within(module, tuple(f"remots.{p}" for p in ALGORITHMS)):
        forbidden = ("remots.models", "remots.data", *ABOVE)
    elif within(module, ("remots.models", "remots.data")):
        forbidden = ABOVE
    else:
        return
    bad = sorted(name for name in MODULES[module] if within(name, forbidden))
    assert not bad, f"{module} imports {bad}"


def test_no_import_cycles():
    graph = {
        module: {
            target
            for target in MODULES
            if target != module
            and any(name == target for name in imports)
            and not module.startswith(target + ".")  # a package's own __init__ is no cycle
        }
        for module, imports in MODULES.items()
    }
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module):
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_rules_see_real_imports():
    """The parser finds what the rules are about, so a passing rule means something."""
    assert "omegaconf" in MODULES["remots.stages.short"]
    assert "remots.tracking.short_term" in MODULES["remots.stages.short"]
    assert "remots.models.embedding" in MODULES["remots.stages.embed"]  # inside a function
    assert "remots.io.instances" in MODULES["remots.io.mots"]
