"""A lint-time check: no test reads anything outside this repository.

A fresh clone must pass ``make test`` with nothing beside it, so test code may not build paths
that leave the checkout: ``Path(__file__).parents[k]`` climbing above the repository root, a
``..`` segment joined onto a path, an absolute path literal into the machine, or the conformance
corpus. Only ``tests/conformance`` (run by ``make conformance``) reads ``../shared/corpus``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
TESTS = REPOSITORY / "tests"
ALLOWED = TESTS / "conformance"
_MACHINE_ROOTS = ("/work/", "/home/", "/root/", "/srv/")


def _escapes(tree: ast.AST, depth: int) -> Iterator[tuple[int, str]]:
    """(line, why) for each construct in ``tree`` that reaches outside the repository; ``depth``
    is how many folders the file sits below the repository root."""
    inner_chains = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "parent" and isinstance(node.value, ast.Attribute)
    }
    formatted = {
        id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "parents"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
            and node.slice.value >= depth
        ):
            yield node.lineno, f"parents[{node.slice.value}] climbs above the repository root"
        if isinstance(node, ast.Attribute) and node.attr == "parent" and id(node) not in inner_chains:
            chain, inner = 0, node
            while isinstance(inner, ast.Attribute) and inner.attr == "parent":
                chain, inner = chain + 1, inner.value
            if chain > depth:
                yield node.lineno, f".parent x{chain} climbs above the repository root"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            operand = node.right
            if (
                isinstance(operand, ast.Constant)
                and isinstance(operand.value, str)
                and ".." in operand.value.replace("\\", "/").split("/")
            ):
                yield node.lineno, f"joins {operand.value!r} onto a path"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in formatted:
            text = node.value
            if "shared/corpus" in text:
                yield node.lineno, "names the conformance corpus"
            if text.startswith(_MACHINE_ROOTS) and "\n" not in text:
                yield node.lineno, f"absolute path {text!r} into this machine"


def _test_files() -> list[Path]:
    return sorted(
        p for p in TESTS.rglob("*.py") if not p.is_relative_to(ALLOWED) and p != Path(__file__).resolve()
    )


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    depth = len(path.relative_to(REPOSITORY).parts)
    return [f"{path.relative_to(REPOSITORY)}:{line}: {why}" for line, why in _escapes(tree, depth)]


def test_no_test_reads_outside_the_repository() -> None:
    problems = [problem for path in _test_files() for problem in _violations(path)]
    assert problems == [], "tests must use the project's own fixtures:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        'CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"',
        "ROOT = Path(__file__).parents[3]",
        "ROOT = Path(__file__).parent.parent.parent.parent",
        'DATA = Path("/work/shared/seed/docs.md")',
        'DATA = here / "../../elsewhere"',
    ],
)
def test_the_check_catches_each_way_out(source: str) -> None:
    """A file two folders deep (like tests/area/test_x.py) that leaves the repository is caught."""
    folder = REPOSITORY / "tests" / "area"
    tree = ast.parse(source)
    depth = len((folder / "test_x.py").relative_to(REPOSITORY).parts)
    assert list(_escapes(tree, depth)), source


def test_paths_inside_the_repository_pass() -> None:
    tree = ast.parse('EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "abalone"')
    assert list(_escapes(tree, 3)) == []


# -- production code never reaches a mocking library ---------------------------------------------
PRODUCTION = (REPOSITORY / "shared", REPOSITORY / "functions")
RUNTIME_REQUIREMENTS = (REPOSITORY / "requirements.txt", REPOSITORY / "functions" / "requirements.txt")
MOCKING_LIBRARIES = frozenset({"moto", "responses"})


def _mocking_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, module) for each import of a mocking library in ``tree``, wherever it sits (inside
    functions and ``try`` blocks too) and however it is spelled (``importlib.import_module``)."""
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        for name in names:
            if name.split(".")[0] in MOCKING_LIBRARIES:
                yield node.lineno, name


def test_no_production_module_imports_a_mocking_library() -> None:
    sources = [p for root in PRODUCTION for p in root.rglob("*.py") if ".egg-info" not in str(p)]
    assert len(sources) > 100  # the walk sees the code base, not an empty folder
    problems = [
        f"{path.relative_to(REPOSITORY)}:{line}: imports {name}"
        for path in sources
        for line, name in _mocking_imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    ]
    assert problems == [], "production code (shared/, functions/) must not import moto:\n" + "\n".join(
        problems
    )


def test_the_detector_sees_every_spelling_of_a_mocking_import() -> None:
    source = (
        "import moto\nfrom moto.core import parse\ndef f():\n    import responses\n"
        "try:\n    from moto import mock_aws\nexcept ImportError:\n    pass\n"
        "importlib.import_module('moto.s3')\nimport motorcycle\nfrom pipelines import moto_free\n"
    )
    found = [name for _, name in _mocking_imports(ast.parse(source))]
    assert found == ["moto", "moto.core", "responses", "moto", "moto.s3"]


def test_runtime_requirements_do_not_install_a_mocking_library() -> None:
    for path in RUNTIME_REQUIREMENTS:
        names = [
            re.split(r"[\s\[<>=!~;]", line.strip(), maxsplit=1)[0].lower()
            for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        assert names and not MOCKING_LIBRARIES & set(names), path.name
