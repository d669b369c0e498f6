"""The house rules of the code base, read from the source itself: no import circle, the
dependencies point one way, modules stay small, every module imports."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "ingest", "knowledge", "models", "prompts")
BELOW_SERVICE = ("ingest", "knowledge", "models", "prompts")
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or "corpus" in path.parts or path.stem == "__main__":
                continue  # Alembic's scripts, the corpus renderer and __main__ are run
            found[module_name(path)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Modules of ours that ``path`` imports, at import time or lazily in a function (a lazy
    import only hides a circle); imports for type checking alone do not count."""
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                targets.add(submodule if submodule in known else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {t for t in targets if t in known}


def import_graph() -> dict[str, set[str]]:
    modules = source_modules()
    known = set(modules)
    return {name: imports_of(path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_dependencies_point_one_way():
    graph = import_graph()
    upward = {
        (name, target)
        for name, targets in graph.items()
        if name.split(".")[0] in BELOW_SERVICE
        for target in targets
        if target.split(".")[0] == "service"
    }
    assert not upward, f"modules below service/ import it: {sorted(upward)}"


def test_no_module_in_service_is_over_400_lines():
    long = {
        name: n
        for name, path in source_modules().items()
        if name.startswith("service") and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules: {long}"


@pytest.mark.parametrize("name", sorted(source_modules()))
def test_every_module_imports(name):
    importlib.import_module(name)


# The fact extractors generation reads values with; the grounding verifier must not reuse
# them, or it repeats their mistakes (issue 15: "cyclophosphamide and vincristine 1.5 mg/m2"
# read as a cyclophosphamide dose, then verified by the same reading).
EXTRACTORS = (
    "knowledge.evidence",
    "knowledge.care_facts",
    "knowledge.facts",
    "knowledge.predisposition",
    "knowledge.radionuclides",
    "service.generation",
)
VERIFIER = (
    "service.validation.verifier",
    "service.validation.verifier_sources",
    "service.validation.grounding",
)
RECORD_MODEL = "service.records"  # data only: followed no further, its imports checked below


def _is_extractor(name: str) -> bool:
    return any(name == e or name.startswith(e + ".") for e in EXTRACTORS)


def test_the_grounding_verifier_imports_no_extractor():
    graph = import_graph()
    reached: set[str] = set()
    todo = list(VERIFIER)
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        if name != RECORD_MODEL:
            todo += graph[name]
    assert not sorted(filter(_is_extractor, reached)), "the verifier reaches an extractor"
    validation = [n for n in graph if n.startswith("service.validation")]
    direct = {(n, t) for n in validation for t in graph[n] if _is_extractor(t)}
    assert direct <= {("service.validation.clinical", "service.generation.identity")}


def test_the_record_model_takes_only_the_dose_unit_type_from_an_extractor():
    tree = ast.parse((ROOT / "service" / "records.py").read_text(encoding="utf-8"))
    taken = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and _is_extractor(node.module)
        for alias in node.names
    }
    assert taken <= {"DoseUnit"}
