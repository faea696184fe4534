"""The job-runner modules depend on each other without a circle, counting imports made inside
functions too (a deferred import hides a circle from Python, not from a reader)."""

from __future__ import annotations

import ast
from pathlib import Path

import pipelines.runners.jobs as jobs_package

PACKAGE = "pipelines.runners.jobs"


def module_imports() -> dict[str, set[str]]:
    root = Path(jobs_package.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in sorted(root.glob("*.py")):
        name = f"{PACKAGE}.{path.stem}" if path.stem != "__init__" else PACKAGE
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
                targets.add(node.module)
                targets.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name.startswith(PACKAGE))
        graph[name] = targets
    return {name: {t for t in targets if t in graph and t != name} for name, targets in graph.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary circle once, starting from its smallest module."""
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            if target == path[0]:
                found.append([*path, target])
            elif target > path[0] and target not in path:
                visit(target, [*path, target])

    for start in sorted(graph):
        visit(start, [start])
    return found


def test_no_module_of_the_job_runners_imports_itself_back() -> None:
    graph = module_imports()
    assert graph.get(f"{PACKAGE}.training"), "the training runner imports its programs"
    assert circles({k: v - {PACKAGE} for k, v in graph.items() if k != PACKAGE}) == []
