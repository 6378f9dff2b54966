"""The folders show the architecture, and the imports keep to it (read with ``ast``, nothing imported).

* No cycle between subpackages (``loadgen.capacity``, ``loadgen.workload``, ``reports.render``, ...;
  a module at a package's root counts as a unit of its own).
* ``reference_app`` imports nothing of ``loadgen`` or ``reports``: the system under test does not
  know the tool that measures it.
* ``reports`` reads results files: it does not import what starts systems, seeds databases or
  drives load (``loadgen.sut``, ``loadgen.seed``, ``loadgen.workload``), nor the reference app, nor
  ``subprocess`` / ``multiprocessing``.

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a lazy import is
still a dependency. The checks run on a tree given as a folder, so the last tests can show that each
rule fails on a tree that breaks it.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("loadgen", "reports", "profiles", "reference_app")
FORBIDDEN = {
    "reference_app": ("loadgen", "reports"),
    "reports": ("loadgen.sut", "loadgen.seed", "loadgen.workload", "reference_app", "subprocess", "multiprocessing"),
}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path) -> dict[str, set[str]]:
    """Module -> the modules it imports (absolute names; relative imports resolved)."""
    out: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            name = module_name(root, path)
            is_package = path.name == "__init__.py"
            found: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                        target = ".".join(base + ([node.module] if node.module else []))
                    else:
                        target = node.module or ""
                    found.add(target)
                    # ``from pkg import sub`` may name a submodule
                    found.update(f"{target}.{a.name}" for a in node.names)
            out[name] = found
    return out


def unit_of(module: str, modules: set[str]) -> str | None:
    """The subpackage (or root module) a module belongs to; None outside our packages."""
    parts = module.split(".")
    if parts[0] not in PACKAGES:
        return None
    for n in (2, 1):  # loadgen.capacity.step -> loadgen.capacity; loadgen.errors -> loadgen.errors
        candidate = ".".join(parts[:n])
        if candidate in modules:
            return candidate
    return parts[0]


def unit_graph(imports: dict[str, set[str]]) -> dict[str, dict[str, tuple[str, str]]]:
    """unit -> {unit it depends on: (an importing module, the imported name) as the evidence}."""
    modules = set(imports)
    graph: dict[str, dict[str, tuple[str, str]]] = {}
    for module, targets in imports.items():
        src = unit_of(module, modules)
        for target in targets:
            dst = unit_of(target, modules)  # ``from pkg import name``: pkg.name falls back to pkg's unit
            if dst is None or dst == src:
                continue
            graph.setdefault(src, {}).setdefault(dst, (module, target))
    return graph


def find_cycle(graph: dict[str, dict[str, tuple[str, str]]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, {})):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state and (cycle := visit(v)):
                return cycle
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state and (cycle := visit(u)):
            return cycle
    return None


def describe_cycle(graph: dict, cycle: list[str]) -> str:
    return " -> ".join(cycle) + "; " + "; ".join(
        f"{graph[a][b][0]} imports {graph[a][b][1]}" for a, b in zip(cycle, cycle[1:]))


def forbidden_imports(imports: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(imports.items()):
        for owner, banned in FORBIDDEN.items():
            if module == owner or module.startswith(owner + "."):
                for target in sorted(targets):
                    if any(target == b or target.startswith(b + ".") for b in banned):
                        bad.append(f"{module} imports {target}")
    return bad


def test_no_cycle_between_subpackages():
    graph = unit_graph(imports_of(REPO))
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between subpackages: " + describe_cycle(graph, cycle)


def test_no_forbidden_import():
    assert forbidden_imports(imports_of(REPO)) == []


def test_loadgen_root_holds_a_handful_of_modules():
    root_modules = sorted(p.name for p in (REPO / "loadgen").glob("*.py"))
    assert len(root_modules) <= 4, root_modules


# --- the checks can fail -------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + "\n" + line + "\n")


def test_a_cycle_is_caught(tree: Path):
    # measure is below workload; a measure module importing the workload closes a loop
    _append(tree / "loadgen" / "measure" / "samples.py", "from loadgen.workload.plan import LoadPlan")
    graph = unit_graph(imports_of(tree))
    cycle = find_cycle(graph)
    assert cycle is not None and "loadgen.measure" in cycle and "loadgen.workload" in cycle


def test_a_lazy_import_cycle_is_caught(tree: Path):
    _append(tree / "loadgen" / "capacity" / "search.py",
            "def _late():\n    from loadgen.cli.sweep import register  # noqa: F401")
    assert find_cycle(unit_graph(imports_of(tree))) is not None


@pytest.mark.parametrize(("file", "line"), [
    ("reference_app/services/customers.py", "from loadgen.errors import JxcError"),
    ("reference_app/main.py", "import reports.render.markdown"),
    ("reports/render/markdown.py", "from loadgen.sut.launcher import SystemUnderTest"),
    ("reports/analysis/limiting.py", "from loadgen.seed import seed_database"),
    ("reports/analysis/limiting.py", "from loadgen.workload import load_run"),
    ("reports/render/verdict.py", "import subprocess"),
])
def test_a_forbidden_import_is_caught(tree: Path, file: str, line: str):
    _append(tree / file, line)
    assert forbidden_imports(imports_of(tree)), f"{file}: {line} went unnoticed"
