"""pipelines.definition's validator imports the graph and the evaluator's tables; neither may
import the definition package back at import time, whichever module a program loads first."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "first",
    ["pipelines.graph", "pipelines.expressions", "pipelines.expressions.conditions", "pipelines.definition"],
)
def test_any_import_order_works(first: str) -> None:
    code = (
        f"import {first}\n"
        "import sys\n"
        "import pipelines.definition, pipelines.expressions, pipelines.graph\n"
        "assert pipelines.graph.PipelineGraph and pipelines.expressions.evaluate\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_expression_package_does_not_load_the_definition_package() -> None:
    code = (
        "import sys, pipelines.expressions, pipelines.graph\n"
        "print(sorted(m for m in sys.modules if m.startswith('pipelines.definition')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
